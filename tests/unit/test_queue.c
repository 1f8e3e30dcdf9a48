/* SPDX-License-Identifier: Apache-2.0 */
/* queue: header validation, payload paths (inline and arena), routing and
 * stealing, completions, timeouts, and reaping a SIGKILLed invoker. */
#include "common/queue.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/arena.h"
#include "tests/harness.h"
#include "common/shm.h"

static char qname[64];

static struct queue *make_queue(uint32_t invokers, uint32_t slots)
{
	struct queue_params p;
	struct queue *q = NULL;
	struct err e = { 0 };

	queue_params_defaults(&p);
	snprintf(qname, sizeof(qname), "/ewtest-queue-%d", (int)getpid());
	p.name = qname;
	p.invokers = invokers;
	p.slots = slots;
	p.big_blocks = 4;
	if (queue_create(&p, &q, &e) < 0) {
		fprintf(stderr, "queue_create: %s\n", e.msg);
		return NULL;
	}
	return q;
}

static struct queue_client *open_client(struct queue *q, enum queue_role role, uint32_t id,
					uint32_t cap)
{
	struct queue_client *c = NULL;
	struct err e = { 0 };

	if (queue_client_open(q, role, id, cap, &c, &e) < 0)
		fprintf(stderr, "client_open: %s\n", e.msg);
	return c;
}

static int push_bytes(struct queue_client *c, uint32_t home, const char *id, uint32_t len, char fill)
{
	struct queue_msg m = { .home = home };
	struct queue_buf b;
	int rc = queue_buf_alloc(c, len, &b);

	if (rc < 0)
		return rc;
	memset(b.data, fill, len);
	snprintf(m.id, sizeof(m.id), "%s", id);
	rc = queue_request_push(c, &m, &b);
	if (rc < 0)
		queue_buf_free(c, &b);
	return rc;
}

static bool all_bytes(const void *p, uint32_t len, char fill)
{
	const char *s = p;

	for (uint32_t i = 0; i < len; i++)
		if (s[i] != fill)
			return false;
	return true;
}

static void test_attach_errors(void)
{
	struct queue *q = make_queue(1, 16), *a = NULL;
	struct err e = { 0 };
	uint32_t *version;
	void *raw = NULL;
	size_t raw_len = 0;

	REQUIRE(q);
	CHECK_INT_EQ(queue_attach("/ewtest-does-not-exist", &a, &e), -ENOENT);
	CHECK_INT_EQ(queue_attach(qname, &a, &e), 0);
	REQUIRE(a);
	CHECK_INT_EQ(queue_generation(a), 1);
	CHECK_INT_EQ(queue_invoker_count(a), 1);
	/* Tamper with the layout version as a different build would have it. */
	REQUIRE(shm_region_attach(qname, 64, &raw, &raw_len, NULL) == 0);
	version = (uint32_t *)(void *)((char *)raw + 8); /* after the 64-bit magic */
	*version = 99;
	CHECK_INT_EQ(queue_attach(qname, &a, &e), -EPROTO);
	CHECK_STR_CONTAINS(e.msg, "layout version 99");
	CHECK_STR_CONTAINS(e.msg, "speaks version 1");
	*version = QUEUE_LAYOUT_VERSION;
	shm_region_unmap(raw, raw_len);
	queue_close(a);
	queue_close(q);
}

static void test_recreate_retires_old(void)
{
	struct queue *q1 = make_queue(1, 16), *q2;

	REQUIRE(q1);
	CHECK(!queue_is_retired(q1));
	q2 = make_queue(1, 16);
	REQUIRE(q2);
	CHECK(queue_is_retired(q1));
	CHECK_INT_EQ(queue_generation(q2), 2);
	queue_close(q1);  /* the old creator must not unlink the new object... */
	queue_close(q2);
}

static void test_inline_and_arena_payloads(void)
{
	struct queue *q = make_queue(1, 16);
	struct queue_client *ctl, *inv;
	uint32_t free0;
	struct queue_item it;

	REQUIRE(q);
	ctl = open_client(q, QUEUE_ROLE_CONTROLLER, 0, 0);
	inv = open_client(q, QUEUE_ROLE_INVOKER, 0, 4);
	REQUIRE(ctl && inv);
	free0 = queue_arena_free(q);
	CHECK_INT_EQ(push_bytes(ctl, 0, "a1", 10, 'x'), 0);
	CHECK_INT_EQ(queue_arena_free(q), free0);       /* inline: no block */
	CHECK_INT_EQ(push_bytes(ctl, 0, "a2", 1024 * 1024, 'y'), 0);
	CHECK_INT_EQ(queue_arena_free(q), free0 - 1);
	CHECK_INT_EQ(push_bytes(ctl, 0, "a3", 1024 * 1024 + 1, 'z'), -EMSGSIZE);

	REQUIRE(queue_request_pop(inv, 100, &it) == 0);
	CHECK_STR_EQ(it.msg->id, "a1");
	CHECK_INT_EQ(it.msg->len, 10);
	CHECK_INT_EQ(it.msg->block, ARENA_NO_BLOCK);
	CHECK(all_bytes(it.payload, 10, 'x'));
	queue_item_release(inv, &it);
	REQUIRE(queue_request_pop(inv, 100, &it) == 0);
	CHECK_STR_EQ(it.msg->id, "a2");
	CHECK_INT_EQ(it.msg->len, 1024 * 1024);
	CHECK(it.msg->block != ARENA_NO_BLOCK);
	CHECK(all_bytes(it.payload, 1024 * 1024, 'y'));
	CHECK_INT_EQ(queue_invoker_inflight(q, 0), 1);
	queue_item_release(inv, &it);
	CHECK_INT_EQ(queue_invoker_inflight(q, 0), 0);
	CHECK_INT_EQ(queue_arena_free(q), free0);
	queue_client_close(inv);
	queue_client_close(ctl);
	queue_close(q);
}

static void test_full_ring_and_arena(void)
{
	struct queue *q = make_queue(1, 16);
	struct queue_client *ctl, *inv;
	struct queue_buf bufs[8];
	int n = 0, rc;

	REQUIRE(q);
	ctl = open_client(q, QUEUE_ROLE_CONTROLLER, 0, 0);
	inv = open_client(q, QUEUE_ROLE_INVOKER, 0, 1);
	REQUIRE(ctl && inv);
	for (int i = 0; i < 16; i++)
		CHECK_INT_EQ(push_bytes(ctl, 0, "f", 8, 'f'), 0);
	CHECK_INT_EQ(push_bytes(ctl, 0, "f", 8, 'f'), -EAGAIN);
	/* 4 big blocks: the 5th 1 MiB buffer has nowhere to go. */
	while ((rc = queue_buf_alloc(ctl, 1024 * 1024, &bufs[n])) == 0 && n < 7)
		n++;
	CHECK_INT_EQ(n, 4);
	CHECK_INT_EQ(rc, -ENOSPC);
	for (int i = 0; i < n; i++)
		queue_buf_free(ctl, &bufs[i]);
	queue_client_close(inv);
	queue_client_close(ctl);
	queue_close(q);
}

static void test_pop_times_out(void)
{
	struct queue *q = make_queue(1, 16);
	struct queue_client *inv;
	struct queue_item it;
	struct timespec a, b;
	long ms;

	REQUIRE(q);
	inv = open_client(q, QUEUE_ROLE_INVOKER, 0, 1);
	REQUIRE(inv);
	clock_gettime(CLOCK_MONOTONIC, &a);
	CHECK_INT_EQ(queue_request_pop(inv, 50, &it), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	CHECK(ms >= 45 && ms < 1000);
	queue_client_close(inv);
	queue_close(q);
}

static void test_routing_home_overflow_offline(void)
{
	struct queue *q = make_queue(2, 16);
	struct queue_client *ctl, *i0, *i1;
	struct queue_item it;

	REQUIRE(q);
	ctl = open_client(q, QUEUE_ROLE_CONTROLLER, 0, 0);
	i0 = open_client(q, QUEUE_ROLE_INVOKER, 0, 1);
	i1 = open_client(q, QUEUE_ROLE_INVOKER, 1, 1);
	REQUIRE(ctl && i0 && i1);
	/* Home has room: the request waits for its home. */
	CHECK_INT_EQ(push_bytes(ctl, 1, "h1", 4, 'a'), 0);
	CHECK_INT_EQ(queue_invoker_depth(q, 1), 1);
	CHECK_INT_EQ(queue_invoker_depth(q, 0), 0);
	/* Home full (1 queued, capacity 1): overflow to the other. */
	CHECK_INT_EQ(push_bytes(ctl, 1, "h2", 4, 'b'), 0);
	CHECK_INT_EQ(queue_invoker_depth(q, 0), 1);
	/* Each takes its own. */
	REQUIRE(queue_request_pop(i1, 100, &it) == 0);
	CHECK_STR_EQ(it.msg->id, "h1");
	queue_item_release(i1, &it);
	REQUIRE(queue_request_pop(i0, 100, &it) == 0);
	CHECK_STR_EQ(it.msg->id, "h2");
	queue_item_release(i0, &it);
	/* Home offline: go elsewhere. */
	queue_client_close(i1);
	CHECK_INT_EQ(queue_invoker_pid(q, 1), 0);
	CHECK_INT_EQ(push_bytes(ctl, 1, "h3", 4, 'c'), 0);
	CHECK_INT_EQ(queue_invoker_depth(q, 0), 1);
	queue_client_close(i0);
	queue_client_close(ctl);
	queue_close(q);
}

static void test_steal_only_from_saturated(void)
{
	struct queue *q = make_queue(2, 16);
	struct queue_client *ctl, *i0, *i1;
	struct queue_item a, b;

	REQUIRE(q);
	ctl = open_client(q, QUEUE_ROLE_CONTROLLER, 0, 0);
	i0 = open_client(q, QUEUE_ROLE_INVOKER, 0, 1);
	i1 = open_client(q, QUEUE_ROLE_INVOKER, 1, 1);
	REQUIRE(ctl && i0 && i1);
	CHECK_INT_EQ(push_bytes(ctl, 0, "s1", 4, 'a'), 0);
	/* Owner 0 has room: invoker 1 leaves it alone. */
	CHECK_INT_EQ(queue_request_pop(i1, 0, &b), -ETIMEDOUT);
	REQUIRE(queue_request_pop(i0, 100, &a) == 0);
	/* Owner 0 busy; a request that was already in its ring gets stolen. */
	CHECK_INT_EQ(push_bytes(ctl, 0, "s2", 4, 'b'), 0);
	CHECK_INT_EQ(queue_invoker_depth(q, 1), 1); /* routed away: home was saturated */
	REQUIRE(queue_request_pop(i1, 100, &b) == 0);
	CHECK_STR_EQ(b.msg->id, "s2");
	queue_item_release(i1, &b);
	queue_item_release(i0, &a);
	/* Force a backlog on ring 0 while 0 is saturated, then steal it. */
	CHECK_INT_EQ(push_bytes(ctl, 0, "s3", 4, 'c'), 0);
	REQUIRE(queue_request_pop(i0, 100, &a) == 0);
	CHECK_STR_EQ(a.msg->id, "s3");
	queue_client_close(i1);       /* 1 offline: the next one lands on 0 */
	CHECK_INT_EQ(push_bytes(ctl, 0, "s4", 4, 'd'), 0);
	CHECK_INT_EQ(queue_invoker_depth(q, 0), 1);
	i1 = open_client(q, QUEUE_ROLE_INVOKER, 1, 1);
	REQUIRE(i1);
	REQUIRE(queue_request_pop(i1, 100, &b) == 0);
	CHECK_STR_EQ(b.msg->id, "s4");
	queue_item_release(i1, &b);
	queue_item_release(i0, &a);
	queue_client_close(i1);
	queue_client_close(i0);
	queue_client_close(ctl);
	queue_close(q);
}

static void test_completion_roundtrip(void)
{
	struct queue *q = make_queue(1, 16);
	struct queue_client *ctl, *inv;
	struct queue_msg done = { .status = 2, .cookie = 0xfeedull };
	struct queue_item it, ci;
	struct queue_buf b;
	uint32_t free0;

	REQUIRE(q);
	ctl = open_client(q, QUEUE_ROLE_CONTROLLER, 0, 0);
	inv = open_client(q, QUEUE_ROLE_INVOKER, 0, 2);
	REQUIRE(ctl && inv);
	free0 = queue_arena_free(q);
	CHECK_INT_EQ(push_bytes(ctl, 0, "c1", 100000, 'p'), 0);
	REQUIRE(queue_request_pop(inv, 100, &it) == 0);
	queue_item_start(inv, &it);
	REQUIRE(queue_buf_alloc(inv, 70000, &b) == 0);
	memset(b.data, 'r', 70000);
	CHECK_INT_EQ(queue_completion_push(inv, &it, &done, &b), 0);
	CHECK_INT_EQ(queue_invoker_inflight(q, 0), 0);
	CHECK_INT_EQ(queue_arena_free(q), free0 - 1); /* request freed, result queued */
	CHECK_INT_EQ(queue_request_pop(inv, 0, &it), -ETIMEDOUT);
	REQUIRE(queue_completion_pop(ctl, 100, &ci) == 0);
	CHECK_STR_EQ(ci.msg->id, "c1");
	CHECK_INT_EQ(ci.msg->type, QUEUE_MSG_COMPLETION);
	CHECK_INT_EQ(ci.msg->status, 2);
	CHECK(ci.msg->cookie == 0xfeedull);
	CHECK_INT_EQ(ci.msg->len, 70000);
	CHECK(all_bytes(ci.payload, 70000, 'r'));
	queue_completion_done(ctl, &ci);
	CHECK_INT_EQ(queue_arena_free(q), free0);
	CHECK_INT_EQ(queue_completion_pop(ctl, 0, &ci), -ETIMEDOUT);
	queue_client_close(inv);
	queue_client_close(ctl);
	queue_close(q);
}

/* An early result keeps the request held; the final completion releases. */
static void test_result_push_keeps_item(void)
{
	struct queue *q = make_queue(1, 16);
	struct queue_client *ctl, *inv;
	struct queue_msg early = { .status = 0 }, fin = { .status = 0 };
	struct queue_item it, ci;

	REQUIRE(q);
	ctl = open_client(q, QUEUE_ROLE_CONTROLLER, 0, 0);
	inv = open_client(q, QUEUE_ROLE_INVOKER, 0, 1);
	REQUIRE(ctl && inv);
	CHECK_INT_EQ(push_bytes(ctl, 0, "e1", 4, 'e'), 0);
	REQUIRE(queue_request_pop(inv, 100, &it) == 0);
	queue_item_start(inv, &it);
	CHECK_INT_EQ(queue_result_push(inv, &it, &early, NULL), 0);
	CHECK_INT_EQ(queue_invoker_inflight(q, 0), 1);    /* still held */
	REQUIRE(queue_completion_pop(ctl, 100, &ci) == 0);
	CHECK_STR_EQ(ci.msg->id, "e1");
	queue_completion_done(ctl, &ci);
	CHECK_INT_EQ(queue_completion_push(inv, &it, &fin, NULL), 0);
	CHECK_INT_EQ(queue_invoker_inflight(q, 0), 0);
	REQUIRE(queue_completion_pop(ctl, 100, &ci) == 0);
	CHECK_STR_EQ(ci.msg->id, "e1");
	queue_completion_done(ctl, &ci);
	queue_client_close(inv);
	queue_client_close(ctl);
	queue_close(q);
}

struct lost_log {
	int n;
	char ids[4][QUEUE_ID_LEN + 8];
};

static void on_lost(void *arg, const struct queue_msg *m, const void *payload)
{
	struct lost_log *l = arg;

	(void)payload;
	if (l->n < 4)
		snprintf(l->ids[l->n], sizeof(l->ids[0]), "%s", m->id);
	l->n++;
}

/* A real invoker process holds two requests, has started one, and is
 * SIGKILLed: the started one is reported lost, the other re-queued. */
static void test_reap_killed_invoker(void)
{
	struct queue *q = make_queue(1, 16);
	struct queue_client *ctl, *inv;
	struct queue_reap_stats st;
	struct lost_log lost = { 0 };
	struct queue_item it;
	uint32_t free0;
	int pipefd[2], status;
	pid_t pid;
	char ch;

	REQUIRE(q);
	ctl = open_client(q, QUEUE_ROLE_CONTROLLER, 0, 0);
	REQUIRE(ctl);
	free0 = queue_arena_free(q);
	CHECK_INT_EQ(push_bytes(ctl, 0, "started", 5000, 's'), 0);
	CHECK_INT_EQ(push_bytes(ctl, 0, "waiting", 50000, 'w'), 0);
	REQUIRE(pipe(pipefd) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct queue *cq = NULL;
		struct queue_client *c = NULL;
		struct queue_item a, b;

		if (queue_attach(qname, &cq, NULL) < 0 ||
		    queue_client_open(cq, QUEUE_ROLE_INVOKER, 0, 2, &c, NULL) < 0 ||
		    queue_request_pop(c, 1000, &a) < 0 || queue_request_pop(c, 1000, &b) < 0)
			_exit(1);
		queue_item_start(c, &a);
		if (write(pipefd[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pipefd[1]);
	CHECK_INT_EQ(read(pipefd[0], &ch, 1), 1);
	close(pipefd[0]);
	CHECK_INT_EQ(queue_invoker_pid(q, 0), pid);
	CHECK_INT_EQ(queue_invoker_inflight(q, 0), 2);
	kill(pid, SIGKILL);
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status));
	CHECK_INT_EQ(queue_reap(ctl, pid, on_lost, &lost, &st), 0);
	CHECK_INT_EQ(st.leases, 1);
	CHECK_INT_EQ(st.lost, 1);
	CHECK_INT_EQ(st.requeued, 1);
	CHECK_INT_EQ(lost.n, 1);
	CHECK_STR_EQ(lost.ids[0], "started");
	CHECK_INT_EQ(queue_invoker_pid(q, 0), 0);
	/* A restarted invoker gets the request that never ran. */
	inv = open_client(q, QUEUE_ROLE_INVOKER, 0, 2);
	REQUIRE(inv);
	REQUIRE(queue_request_pop(inv, 100, &it) == 0);
	CHECK_STR_EQ(it.msg->id, "waiting");
	CHECK_INT_EQ(it.msg->attempt, 1);
	CHECK(all_bytes(it.payload, 50000, 'w'));
	queue_item_release(inv, &it);
	CHECK_INT_EQ(queue_arena_free(q), free0);
	queue_client_close(inv);
	queue_client_close(ctl);
	queue_close(q);
}

static void test_invoker_id_taken(void)
{
	struct queue *q = make_queue(2, 16);
	struct queue_client *a, *b = NULL;
	struct err e = { 0 };
	pid_t pid;
	int status;

	REQUIRE(q);
	a = open_client(q, QUEUE_ROLE_INVOKER, 0, 1);
	REQUIRE(a);
	CHECK_INT_EQ(queue_client_open(q, QUEUE_ROLE_INVOKER, 2, 1, &b, &e), -EINVAL);
	CHECK_INT_EQ(queue_client_open(q, QUEUE_ROLE_INVOKER, 1, 0, &b, &e), -EINVAL);
	/* Another live process cannot claim invoker 0. */
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct queue *cq = NULL;
		struct queue_client *c = NULL;

		if (queue_attach(qname, &cq, NULL) < 0)
			_exit(2);
		_exit(queue_client_open(cq, QUEUE_ROLE_INVOKER, 0, 1, &c, NULL) == -EBUSY ? 0 : 1);
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	queue_client_close(a);
	queue_close(q);
}

static void test_close_requeues_unstarted(void)
{
	struct queue *q = make_queue(2, 16);
	struct queue_client *ctl, *i0, *i1;
	struct queue_item a, b;

	REQUIRE(q);
	ctl = open_client(q, QUEUE_ROLE_CONTROLLER, 0, 0);
	i0 = open_client(q, QUEUE_ROLE_INVOKER, 0, 2);
	i1 = open_client(q, QUEUE_ROLE_INVOKER, 1, 2);
	REQUIRE(ctl && i0 && i1);
	CHECK_INT_EQ(push_bytes(ctl, 0, "ran", 4, 'r'), 0);
	CHECK_INT_EQ(push_bytes(ctl, 0, "queued", 300, 'q'), 0);
	REQUIRE(queue_request_pop(i0, 100, &a) == 0);
	REQUIRE(queue_request_pop(i0, 100, &b) == 0);
	queue_item_start(i0, &a);
	queue_client_close(i0);
	CHECK_INT_EQ(queue_invoker_depth(q, 1), 1);
	REQUIRE(queue_request_pop(i1, 100, &b) == 0);
	CHECK_STR_EQ(b.msg->id, "queued");
	CHECK(all_bytes(b.payload, 300, 'q'));
	queue_item_release(i1, &b);
	CHECK_INT_EQ(queue_request_pop(i1, 0, &b), -ETIMEDOUT);
	queue_client_close(i1);
	queue_client_close(ctl);
	queue_close(q);
}

HARNESS_MAIN("queue",
	     TEST_CASE(test_close_requeues_unstarted),
	     TEST_CASE(test_attach_errors),
	     TEST_CASE(test_recreate_retires_old),
	     TEST_CASE(test_inline_and_arena_payloads),
	     TEST_CASE(test_full_ring_and_arena),
	     TEST_CASE(test_pop_times_out),
	     TEST_CASE(test_routing_home_overflow_offline),
	     TEST_CASE(test_steal_only_from_saturated),
	     TEST_CASE(test_completion_roundtrip),
	     TEST_CASE(test_result_push_keeps_item),
	     TEST_CASE(test_reap_killed_invoker),
	     TEST_CASE(test_invoker_id_taken))
