/* SPDX-License-Identifier: Apache-2.0 */
/* queue crash repair, white-box: a child process claims a ring slot through
 * the same lease bookkeeping the queue uses and is SIGKILLed inside the
 * claim -> commit window, which a black-box test can only hit by luck. The
 * supervisor's queue_reap() must unwedge the ring. Includes queue.c to reach
 * its internals; the linker then takes no queue.o from libcommon.a. */
#include "../../common/queue.c"

#include <sys/wait.h>

#include "tests/harness.h"

static char qname[64];

static struct queue *make_queue(void)
{
	struct queue_params p;
	struct queue *q = NULL;

	queue_params_defaults(&p);
	snprintf(qname, sizeof(qname), "/ewtest-crash-%d", (int)getpid());
	p.name = qname;
	p.slots = 16;
	p.big_blocks = 2;
	return queue_create(&p, &q, NULL) == 0 ? q : NULL;
}

static int push_small(struct queue_client *c, const char *id)
{
	struct queue_msg m = { .home = 0 };
	struct queue_buf b;

	if (queue_buf_alloc(c, 4, &b) < 0)
		return -1;
	memcpy(b.data, "data", 4);
	snprintf(m.id, sizeof(m.id), "%s", id);
	return queue_request_push(c, &m, &b);
}

/* Fork a child that attaches as invoker 0 and runs `fn`, which must end by
 * killing itself; wait for it. */
static pid_t run_child(void (*fn)(struct queue_client *))
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct queue *q = NULL;
		struct queue_client *c = NULL;

		if (queue_attach(qname, &q, NULL) < 0 ||
		    queue_client_open(q, QUEUE_ROLE_INVOKER, 0, 4, &c, NULL) < 0)
			_exit(1);
		fn(c);
		_exit(1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFSIGNALED(status))
		return -1;
	return pid;
}

static void die_inside_pop(struct queue_client *c)
{
	struct ring_op *op = &c->lease->op;
	uint32_t pos;

	op->ring = 0;
	op->arg = 0;
	if (ring_pop_claim(c->q->req[0], op, &pos))
		raise(SIGKILL);    /* claimed, never copied, never released */
}

static void test_killed_inside_pop_window(void)
{
	struct queue *q = make_queue();
	struct queue_client *ctl = NULL, *inv = NULL;
	struct queue_reap_stats st;
	struct queue_item it;
	pid_t pid;

	REQUIRE(q);
	REQUIRE(queue_client_open(q, QUEUE_ROLE_CONTROLLER, 0, 0, &ctl, NULL) == 0);
	CHECK_INT_EQ(push_small(ctl, "first"), 0);
	CHECK_INT_EQ(push_small(ctl, "second"), 0);
	pid = run_child(die_inside_pop);
	REQUIRE(pid > 0);
	/* The slot is claimed and unreleased: fill the ring to show it is stuck. */
	for (int i = 0; i < 14; i++)
		CHECK_INT_EQ(push_small(ctl, "fill"), 0);
	CHECK_INT_EQ(push_small(ctl, "over"), -EAGAIN);
	CHECK_INT_EQ(queue_reap(ctl, pid, NULL, NULL, &st), 0);
	CHECK_INT_EQ(st.released, 1);
	CHECK_INT_EQ(st.requeued, 1);   /* it never started: queued again */
	CHECK_INT_EQ(st.lost, 0);
	REQUIRE(queue_client_open(q, QUEUE_ROLE_INVOKER, 0, 4, &inv, NULL) == 0);
	REQUIRE(queue_request_pop(inv, 100, &it) == 0);
	CHECK_STR_EQ(it.msg->id, "second");
	queue_item_release(inv, &it);
	for (int i = 0; i < 14; i++) {
		REQUIRE(queue_request_pop(inv, 100, &it) == 0);
		CHECK_STR_EQ(it.msg->id, "fill");
		queue_item_release(inv, &it);
	}
	REQUIRE(queue_request_pop(inv, 100, &it) == 0);
	CHECK_STR_EQ(it.msg->id, "first");
	CHECK_INT_EQ(it.msg->attempt, 1);
	queue_item_release(inv, &it);
	CHECK_INT_EQ(queue_request_pop(inv, 0, &it), -ETIMEDOUT);
	queue_client_close(inv);
	queue_client_close(ctl);
	queue_close(q);
}

static void die_inside_completion_push(struct queue_client *c)
{
	struct ring_op *op = &c->lease->op;
	struct queue_item it;
	struct queue_buf b;
	uint32_t pos;
	char *slot;

	if (queue_request_pop(c, 1000, &it) < 0 || queue_buf_alloc(c, 100000, &b) < 0)
		return;
	queue_item_start(c, &it);
	op->ring = QUEUE_RING_CMP;
	op->arg = b.block;
	slot = ring_push_claim(c->q->cmp, op, &pos);
	if (!slot)
		return;
	memset(slot, 0x5a, 16);  /* half-written message */
	arena_set_owner(c->q->arena, b.block, ARENA_OWNER_QUEUED);
	raise(SIGKILL);
}

struct lost_ids {
	int n;
	char id[QUEUE_ID_LEN + 8];
};

static void on_lost(void *arg, const struct queue_msg *m, const void *payload)
{
	struct lost_ids *l = arg;

	(void)payload;
	l->n++;
	snprintf(l->id, sizeof(l->id), "%s", m->id);
}

static void test_killed_inside_completion_push(void)
{
	struct queue *q = make_queue();
	struct queue_client *ctl = NULL, *inv = NULL;
	struct queue_reap_stats st;
	struct lost_ids lost = { 0 };
	struct queue_msg done = { .status = 0 };
	struct queue_item it;
	uint32_t free0;
	pid_t pid;

	REQUIRE(q);
	REQUIRE(queue_client_open(q, QUEUE_ROLE_CONTROLLER, 0, 0, &ctl, NULL) == 0);
	free0 = queue_arena_free(q);
	CHECK_INT_EQ(push_small(ctl, "doomed"), 0);
	CHECK_INT_EQ(push_small(ctl, "later"), 0);
	pid = run_child(die_inside_completion_push);
	REQUIRE(pid > 0);
	CHECK_INT_EQ(queue_reap(ctl, pid, on_lost, &lost, &st), 0);
	CHECK_INT_EQ(st.tombstones, 1);
	CHECK_INT_EQ(st.lost, 1);
	CHECK_INT_EQ(lost.n, 1);
	CHECK_STR_EQ(lost.id, "doomed");
	CHECK_INT_EQ(queue_arena_free(q), free0);  /* the result block came back */
	/* The completion ring moves on past the tombstone. */
	REQUIRE(queue_client_open(q, QUEUE_ROLE_INVOKER, 0, 4, &inv, NULL) == 0);
	REQUIRE(queue_request_pop(inv, 100, &it) == 0);
	CHECK_STR_EQ(it.msg->id, "later");
	CHECK_INT_EQ(queue_completion_push(inv, &it, &done, NULL), 0);
	REQUIRE(queue_completion_pop(ctl, 100, &it) == 0);
	CHECK_STR_EQ(it.msg->id, "later");
	queue_completion_done(ctl, &it);
	queue_client_close(inv);
	queue_client_close(ctl);
	queue_close(q);
}

HARNESS_MAIN("queue_crash",
	     TEST_CASE(test_killed_inside_pop_window),
	     TEST_CASE(test_killed_inside_completion_push))
