/* SPDX-License-Identifier: Apache-2.0 */
/* ring: FIFO order, full/empty, cursor wrap-around, MPMC threads, and the
 * crash-repair primitives. */
#include "common/ring.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "tests/harness.h"

static struct ring *ring_new(uint32_t cap, uint32_t data)
{
	uint32_t slot = ring_slot_size_for(data);
	struct ring *r = aligned_alloc(EW_CACHELINE, ring_bytes(cap, slot));

	if (r && ring_init(r, cap, slot) != 0) {
		free(r);
		return NULL;
	}
	return r;
}

static void test_init_rejects_bad_sizes(void)
{
	struct ring *r = aligned_alloc(EW_CACHELINE, ring_bytes(8, 64));

	REQUIRE(r);
	CHECK_INT_EQ(ring_init(r, 6, 64), -EINVAL);
	CHECK_INT_EQ(ring_init(r, 1, 64), -EINVAL);
	CHECK_INT_EQ(ring_init(r, 8, 100), -EINVAL);
	CHECK_INT_EQ(ring_init(r, 8, 64), 0);
	CHECK_INT_EQ(r->data_size, 64 - RING_SLOT_HDR);
	CHECK_INT_EQ(ring_slot_size_for(56), 64);
	CHECK_INT_EQ(ring_slot_size_for(57), 128);
	free(r);
}

static void test_fifo_full_empty(void)
{
	struct ring *r = ring_new(8, 8);
	uint64_t v, out;

	REQUIRE(r);
	CHECK_INT_EQ(ring_pop(r, NULL, &out, sizeof(out)), -EAGAIN);
	for (v = 0; v < 8; v++)
		CHECK_INT_EQ(ring_push(r, NULL, &v, sizeof(v)), 0);
	CHECK_INT_EQ(ring_count(r), 8);
	v = 99;
	CHECK_INT_EQ(ring_push(r, NULL, &v, sizeof(v)), -EAGAIN);
	for (v = 0; v < 8; v++) {
		CHECK_INT_EQ(ring_pop(r, NULL, &out, sizeof(out)), 0);
		CHECK_INT_EQ(out, v);
	}
	CHECK_INT_EQ(ring_pop(r, NULL, &out, sizeof(out)), -EAGAIN);
	CHECK_INT_EQ(ring_count(r), 0);
	free(r);
}

static void test_too_big_message(void)
{
	struct ring *r = ring_new(4, 56);
	char big[57] = { 0 };

	REQUIRE(r);
	CHECK_INT_EQ(ring_push(r, NULL, big, sizeof(big)), -EMSGSIZE);
	CHECK_INT_EQ(ring_push(r, NULL, big, 56), 0);
	free(r);
}

/* Start the cursors just below 2^32 so they wrap during the test. */
static void test_cursor_wraparound(void)
{
	struct ring *r = ring_new(4, 8);
	uint32_t start = UINT32_MAX - 5;
	uint64_t v, out;

	REQUIRE(r);
	for (uint32_t p = start; p != start + 4; p++) {
		_Atomic uint32_t *seq = (_Atomic uint32_t *)(void *)((char *)r + sizeof(*r) +
								     (size_t)(p & r->mask) * r->slot_size);
		atomic_store(seq, p);
	}
	atomic_store(&r->enq, start);
	atomic_store(&r->deq, start);
	for (v = 0; v < 40; v++) {
		CHECK_INT_EQ(ring_push(r, NULL, &v, sizeof(v)), 0);
		CHECK_INT_EQ(ring_count(r), 1);
		CHECK_INT_EQ(ring_pop(r, NULL, &out, sizeof(out)), 0);
		CHECK_INT_EQ(out, v);
	}
	CHECK((int32_t)(atomic_load(&r->enq) - start) == 40);
	CHECK(atomic_load(&r->enq) < start); /* it did wrap */
	free(r);
}

#define MT_PER_PRODUCER 200000
#define MT_PRODUCERS 2
#define MT_CONSUMERS 2

struct mt {
	struct ring *r;
	int id;
	_Atomic uint32_t *seen;   /* per value: times received */
	_Atomic uint64_t *taken;
};

static void *mt_producer(void *arg)
{
	struct mt *m = arg;

	for (uint64_t i = 0; i < MT_PER_PRODUCER; i++) {
		uint64_t v = (uint64_t)m->id * MT_PER_PRODUCER + i;

		while (ring_push(m->r, NULL, &v, sizeof(v)) == -EAGAIN)
			sched_yield();
	}
	return NULL;
}

static void *mt_consumer(void *arg)
{
	struct mt *m = arg;
	const uint64_t total = (uint64_t)MT_PRODUCERS * MT_PER_PRODUCER;
	uint64_t buf[8];

	while (atomic_load(m->taken) < total) {
		if (ring_pop(m->r, NULL, buf, sizeof(buf)) == 0) {
			if (buf[0] < total)
				atomic_fetch_add(&m->seen[buf[0]], 1);
			atomic_fetch_add(m->taken, 1);
		} else {
			sched_yield();
		}
	}
	return NULL;
}

static void test_mpmc_threads_exactly_once(void)
{
	const uint64_t total = (uint64_t)MT_PRODUCERS * MT_PER_PRODUCER;
	struct ring *r = ring_new(64, 8);
	_Atomic uint32_t *seen = calloc(total, sizeof(*seen));
	_Atomic uint64_t taken = 0;
	pthread_t th[MT_PRODUCERS + MT_CONSUMERS];
	struct mt args[MT_PRODUCERS + MT_CONSUMERS];
	uint64_t bad = 0;

	REQUIRE(r && seen);
	for (int i = 0; i < MT_PRODUCERS + MT_CONSUMERS; i++) {
		args[i] = (struct mt){ .r = r, .id = i, .seen = seen, .taken = &taken };
		pthread_create(&th[i], NULL, i < MT_PRODUCERS ? mt_producer : mt_consumer, &args[i]);
	}
	for (int i = 0; i < MT_PRODUCERS + MT_CONSUMERS; i++)
		pthread_join(th[i], NULL);
	for (uint64_t i = 0; i < total; i++)
		bad += atomic_load(&seen[i]) != 1;
	CHECK_INT_EQ(bad, 0);
	CHECK_INT_EQ(atomic_load(&taken), total);
	free(seen);
	free(r);
}

static void test_repair_unpublished_push(void)
{
	struct ring *r = ring_new(4, 8);
	struct ring_op op = { 0 };
	uint64_t v = 7, out;
	uint32_t pos;
	void *slot;

	REQUIRE(r);
	slot = ring_push_claim(r, &op, &pos);
	REQUIRE(slot);
	CHECK_INT_EQ(atomic_load(&op.state), RING_OP_PUSH_CLAIMED);
	CHECK_INT_EQ(op.pos, pos);
	/* A later push succeeds, but consumers are stuck behind the claim. */
	CHECK_INT_EQ(ring_push(r, NULL, &v, sizeof(v)), 0);
	CHECK_INT_EQ(ring_pop(r, NULL, &out, sizeof(out)), -EAGAIN);
	CHECK_INT_EQ(ring_slot_state(r, pos), RING_SLOT_PUSH_UNPUBLISHED);
	CHECK_INT_EQ(ring_slot_state(r, pos + 1), RING_SLOT_SETTLED);
	memset(ring_slot_data(r, pos), 0xee, 8);
	ring_slot_force_publish(r, pos);
	CHECK_INT_EQ(ring_slot_state(r, pos), RING_SLOT_SETTLED);
	CHECK_INT_EQ(ring_pop(r, NULL, &out, sizeof(out)), 0);
	CHECK(out == 0xeeeeeeeeeeeeeeeeull);
	CHECK_INT_EQ(ring_pop(r, NULL, &out, sizeof(out)), 0);
	CHECK_INT_EQ(out, 7);
	free(r);
}

static void test_repair_unreleased_pop(void)
{
	struct ring *r = ring_new(2, 8);
	struct ring_op op = { 0 };
	uint64_t v = 1;
	uint32_t pos;

	REQUIRE(r);
	CHECK_INT_EQ(ring_push(r, NULL, &v, sizeof(v)), 0);
	CHECK_INT_EQ(ring_push(r, NULL, &v, sizeof(v)), 0);
	REQUIRE(ring_pop_claim(r, &op, &pos));
	CHECK_INT_EQ(atomic_load(&op.state), RING_OP_POP_CLAIMED);
	CHECK_INT_EQ(ring_slot_state(r, pos), RING_SLOT_POP_UNRELEASED);
	/* Producers cannot reuse the slot until it is released. */
	CHECK_INT_EQ(ring_push(r, NULL, &v, sizeof(v)), -EAGAIN);
	ring_slot_force_release(r, pos);
	CHECK_INT_EQ(ring_slot_state(r, pos), RING_SLOT_SETTLED);
	CHECK_INT_EQ(ring_push(r, NULL, &v, sizeof(v)), 0);
	free(r);
}

HARNESS_MAIN("ring",
	     TEST_CASE(test_init_rejects_bad_sizes),
	     TEST_CASE(test_fifo_full_empty),
	     TEST_CASE(test_too_big_message),
	     TEST_CASE(test_cursor_wraparound),
	     TEST_CASE(test_mpmc_threads_exactly_once),
	     TEST_CASE(test_repair_unpublished_push),
	     TEST_CASE(test_repair_unreleased_pop))
