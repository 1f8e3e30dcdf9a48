/* SPDX-License-Identifier: Apache-2.0 */
/* pool: warm reuse by action key, prewarm use by kind and memory, memory
 * budget with LRU eviction, pause and idle removal, failure removal. */
#include "invoker/pool.h"

#include <stdlib.h>

#include "tests/harness.h"

static struct pool *pool;

static void pool_drop(void)
{
	pool_free(pool);
	pool = NULL;
}

/* A fresh pool for each case; the last one goes at exit. */
static void pool_fresh(const struct pool_config *cfg)
{
	if (!pool)
		atexit(pool_drop);
	pool_free(pool);
	pool = NULL;
	REQUIRE(pool_new(cfg, &pool) == 0);
}

static void setup(uint32_t mem, uint64_t grace, uint64_t idle)
{
	struct pool_config cfg = { .user_memory_mb = mem, .pause_grace_ms = grace,
				   .idle_timeout_ms = idle };

	pool_fresh(&cfg);
}

/* Run an activation to the end: acquire, create if asked, release. */
static uint32_t run(const char *key, const char *kind, uint32_t mem, uint64_t now, bool keep,
		    enum pool_decision *how)
{
	struct pool_acquire a;

	pool_acquire(pool, key, kind, mem, now, &a);
	*how = a.decision;
	for (uint32_t i = 0; i < a.evict_count; i++)
		pool_removed(pool, a.evict[i]);
	if (a.decision == POOL_WAIT && a.evict_count) {
		pool_acquire(pool, key, kind, mem, now, &a);
		*how = a.decision;
	}
	if (a.decision == POOL_CREATE)
		pool_created(pool, a.slot, true, now);
	if (a.decision == POOL_CREATE || a.decision == POOL_USE)
		pool_release(pool, a.slot, key, keep, now);
	if (!keep && (a.decision == POOL_CREATE || a.decision == POOL_USE))
		pool_removed(pool, a.slot);
	return a.slot;
}

static void test_warm_reuse_same_key_only(void)
{
	enum pool_decision how;
	uint32_t s1, s2;

	setup(1024, 0, 0);
	s1 = run("guest/hello@1", "nodejs:20", 256, 10, true, &how);
	CHECK_INT_EQ(how, POOL_CREATE);
	s2 = run("guest/hello@1", "nodejs:20", 256, 20, true, &how);
	CHECK_INT_EQ(how, POOL_USE);
	CHECK_INT_EQ(s1, s2);
	/* A new revision of the action never reuses the old container. */
	run("guest/hello@2", "nodejs:20", 256, 30, true, &how);
	CHECK_INT_EQ(how, POOL_CREATE);
	CHECK_INT_EQ(pool_count(pool, POOL_WARM), 2);
	CHECK_INT_EQ(pool_used_mb(pool), 512);
}

static void test_busy_container_is_not_shared(void)
{
	struct pool_acquire a, b;

	setup(1024, 0, 0);
	pool_acquire(pool, "k", "nodejs:20", 256, 0, &a);
	REQUIRE(a.decision == POOL_CREATE);
	pool_created(pool, a.slot, true, 0);
	pool_acquire(pool, "k", "nodejs:20", 256, 0, &b);
	CHECK_INT_EQ(b.decision, POOL_CREATE);  /* concurrency 1: a second container */
	CHECK(a.slot != b.slot);
}

static void test_prewarm_used_by_kind_and_memory(void)
{
	struct pool_config cfg = { .user_memory_mb = 1024, .prewarm_count = 1,
				   .prewarm = { { "native", "img", 256, 2 } } };
	struct pool_tick t;
	struct pool_acquire a;

	pool_fresh(&cfg);
	pool_tick(pool, 0, &t);
	CHECK_INT_EQ(t.create_count, 2);
	for (uint32_t i = 0; i < t.create_count; i++)
		pool_created(pool, t.create[i], true, 0);
	CHECK_INT_EQ(pool_count(pool, POOL_PREWARM), 2);
	pool_tick(pool, 1, &t);
	CHECK_INT_EQ(t.create_count, 0);   /* topped up already */
	/* Other memory or kind: not a match. */
	pool_acquire(pool, "a", "native", 128, 2, &a);
	CHECK_INT_EQ(a.decision, POOL_CREATE);
	pool_created(pool, a.slot, false, 2);      /* creation failed: slot freed */
	pool_acquire(pool, "a", "python:3.11", 256, 2, &a);
	CHECK_INT_EQ(a.decision, POOL_CREATE);
	pool_created(pool, a.slot, false, 2);
	pool_acquire(pool, "a", "native", 256, 2, &a);
	CHECK_INT_EQ(a.decision, POOL_USE);
	CHECK(a.from_prewarm);
	CHECK_INT_EQ(pool_count(pool, POOL_PREWARM), 1);
	pool_release(pool, a.slot, "a", true, 3);
	/* The consumed stem cell is replaced on the next tick. */
	pool_tick(pool, 4, &t);
	CHECK_INT_EQ(t.create_count, 1);
	CHECK_STR_EQ(pool_slot(pool, t.create[0])->kind, "native");
	CHECK_INT_EQ(pool_used_mb(pool), 3 * 256);
}

static void test_memory_budget_evicts_lru_idle(void)
{
	enum pool_decision how;
	struct pool_acquire a;
	uint32_t sa, sb;

	setup(512, 0, 0);
	sa = run("a", "nodejs:20", 256, 10, true, &how);
	sb = run("b", "nodejs:20", 256, 20, true, &how);
	CHECK_INT_EQ(pool_used_mb(pool), 512);
	/* c needs 256: evict the least recently used idle one (a). */
	pool_acquire(pool, "c", "nodejs:20", 256, 30, &a);
	CHECK_INT_EQ(a.decision, POOL_WAIT);
	REQUIRE(a.evict_count == 1);
	CHECK_INT_EQ(a.evict[0], sa);
	CHECK_INT_EQ(pool_slot(pool, sa)->state, POOL_REMOVING);
	pool_removed(pool, sa);
	pool_acquire(pool, "c", "nodejs:20", 256, 30, &a);
	CHECK_INT_EQ(a.decision, POOL_CREATE);
	CHECK_INT_EQ(pool_slot(pool, sb)->state, POOL_WARM);   /* b survived */
	CHECK_INT_EQ(pool_used_mb(pool), 512);
}

static void test_busy_memory_makes_wait_and_too_big_fails(void)
{
	struct pool_acquire a, b;

	setup(256, 0, 0);
	pool_acquire(pool, "a", "nodejs:20", 256, 0, &a);
	REQUIRE(a.decision == POOL_CREATE);
	pool_created(pool, a.slot, true, 0);
	pool_acquire(pool, "b", "nodejs:20", 256, 0, &b);
	CHECK_INT_EQ(b.decision, POOL_WAIT);          /* a is busy: nothing to evict */
	CHECK_INT_EQ(b.evict_count, 0);
	pool_acquire(pool, "c", "nodejs:20", 512, 0, &b);
	CHECK_INT_EQ(b.decision, POOL_TOO_BIG);
	pool_release(pool, a.slot, "a", true, 5);
	pool_acquire(pool, "b", "nodejs:20", 256, 6, &b);
	CHECK_INT_EQ(b.decision, POOL_WAIT);
	CHECK_INT_EQ(b.evict_count, 1);
}

static void test_failure_removes_container(void)
{
	enum pool_decision how;
	struct pool_acquire a;

	setup(1024, 0, 0);
	run("a", "python:3.11", 256, 0, false, &how);
	CHECK_INT_EQ(pool_used_mb(pool), 0);
	CHECK_INT_EQ(pool_count(pool, POOL_WARM), 0);
	pool_acquire(pool, "a", "python:3.11", 256, 1, &a);
	CHECK_INT_EQ(a.decision, POOL_CREATE);
	pool_created(pool, a.slot, true, 1);
	pool_release(pool, a.slot, "a", false, 2);
	CHECK_INT_EQ(pool_slot(pool, a.slot)->state, POOL_REMOVING);
	CHECK_INT_EQ(pool_used_mb(pool), 256);   /* counted until the runner removed it */
	pool_removed(pool, a.slot);
	CHECK_INT_EQ(pool_used_mb(pool), 0);
}

static void test_pause_after_grace_then_remove_after_idle(void)
{
	enum pool_decision how;
	struct pool_tick t;
	struct pool_acquire a;
	uint32_t s;

	setup(1024, 100, 1000);
	s = run("a", "nodejs:20", 256, 0, true, &how);
	pool_tick(pool, 99, &t);
	CHECK_INT_EQ(t.pause_count, 0);
	pool_tick(pool, 100, &t);
	REQUIRE(t.pause_count == 1);
	CHECK_INT_EQ(t.pause[0], s);
	/* While pausing it is not handed out. */
	pool_acquire(pool, "a", "nodejs:20", 256, 101, &a);
	CHECK_INT_EQ(a.decision, POOL_CREATE);
	pool_created(pool, a.slot, false, 101);
	pool_paused(pool, s, true);
	CHECK_INT_EQ(pool_slot(pool, s)->state, POOL_PAUSED);
	/* Reuse of a paused container asks for an unpause. */
	pool_acquire(pool, "a", "nodejs:20", 256, 200, &a);
	CHECK_INT_EQ(a.decision, POOL_USE);
	CHECK(a.was_paused);
	pool_release(pool, a.slot, "a", true, 300);
	pool_tick(pool, 1299, &t);
	CHECK_INT_EQ(t.remove_count, 0);
	CHECK_INT_EQ(pool_slot(pool, s)->state, POOL_PAUSING);  /* re-paused after grace */
	pool_paused(pool, s, true);
	pool_tick(pool, 1300, &t);
	REQUIRE(t.remove_count == 1);
	CHECK_INT_EQ(t.remove[0], s);
	pool_removed(pool, s);
	CHECK_INT_EQ(pool_used_mb(pool), 0);
}

static void test_pause_failure_removes(void)
{
	enum pool_decision how;
	struct pool_tick t;
	uint32_t s;

	setup(1024, 10, 0);
	s = run("a", "nodejs:20", 256, 0, true, &how);
	pool_tick(pool, 10, &t);
	REQUIRE(t.pause_count == 1);
	pool_paused(pool, s, false);
	CHECK_INT_EQ(pool_slot(pool, s)->state, POOL_REMOVING);
}

static void test_prewarm_never_evicts_and_respects_budget(void)
{
	struct pool_config cfg = { .user_memory_mb = 512, .prewarm_count = 1,
				   .prewarm = { { "nodejs:20", "img", 256, 4 } } };
	enum pool_decision how;
	struct pool_tick t;

	pool_fresh(&cfg);
	run("a", "python:3.11", 256, 0, true, &how);
	pool_tick(pool, 1, &t);
	CHECK_INT_EQ(t.create_count, 1);   /* only one fits beside the warm one */
	CHECK_INT_EQ(pool_used_mb(pool), 512);
}

/* While one container of an action collects its logs, the next activation
 * of that action waits for it rather than cold-starting another. */
static void test_finishing_container_is_waited_for(void)
{
	struct pool_acquire a, b;

	setup(1024, 0, 0);
	pool_acquire(pool, "k", "nodejs:20", 256, 0, &a);
	REQUIRE(a.decision == POOL_CREATE);
	pool_created(pool, a.slot, true, 0);
	pool_finishing(pool, a.slot);
	CHECK_INT_EQ(pool_slot(pool, a.slot)->state, POOL_FINISHING);
	pool_acquire(pool, "k", "nodejs:20", 256, 1, &b);
	CHECK_INT_EQ(b.decision, POOL_WAIT);
	CHECK_INT_EQ(b.evict_count, 0);
	pool_acquire(pool, "other", "nodejs:20", 256, 1, &b);
	CHECK_INT_EQ(b.decision, POOL_CREATE);     /* other actions are not held up */
	pool_created(pool, b.slot, false, 1);
	pool_release(pool, a.slot, "k", true, 2);
	pool_acquire(pool, "k", "nodejs:20", 256, 3, &b);
	CHECK_INT_EQ(b.decision, POOL_USE);
	CHECK_INT_EQ(b.slot, a.slot);
}

HARNESS_MAIN("pool",
	     TEST_CASE(test_finishing_container_is_waited_for),
	     TEST_CASE(test_warm_reuse_same_key_only),
	     TEST_CASE(test_busy_container_is_not_shared),
	     TEST_CASE(test_prewarm_used_by_kind_and_memory),
	     TEST_CASE(test_memory_budget_evicts_lru_idle),
	     TEST_CASE(test_busy_memory_makes_wait_and_too_big_fails),
	     TEST_CASE(test_failure_removes_container),
	     TEST_CASE(test_pause_after_grace_then_remove_after_idle),
	     TEST_CASE(test_pause_failure_removes),
	     TEST_CASE(test_prewarm_never_evicts_and_respects_budget))
