/* SPDX-License-Identifier: Apache-2.0 */
/* queue crash repair, white-box: a child process claims a ring slot through
 * the same lease bookkeeping the queue uses and is SIGKILLed inside the
 * claim -> commit window, which a black-box test can only hit by luck. The
 * supervisor's queue_reap() must unwedge the ring. Includes queue.c to reach
 * its internals; the linker then takes no queue.o from libcommon.a. */
#include "../../common/queue.c"

#include <pthread.h>
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

/* The child wins its CAS for a completion slot and dies before noting
 * CLAIMED: its record still says PUSH_TRY, as the record of a live client
 * that is about to CAS for the same slot (and lose) does. */
static void die_between_cas_and_note(struct queue_client *c)
{
	struct ring_op *op = &c->lease->op;
	struct queue_item it;
	uint32_t pos;

	if (queue_request_pop(c, 1000, &it) < 0)
		return;
	atomic_store(&op->ring, QUEUE_RING_CMP);
	atomic_store(&op->arg, ARENA_NO_BLOCK);
	if (!ring_push_claim(c->q->cmp, op, &pos))
		return;
	atomic_store_explicit(&op->state, RING_OP_PUSH_TRY, memory_order_release);
	raise(SIGKILL);
}

struct leave_try {
	struct ring_op *op;
	unsigned delay_ms;
};

/* The live client's CAS fails a moment later and it moves on. */
static void *leave_try_later(void *arg)
{
	struct leave_try *lt = arg;

	usleep(lt->delay_ms * 1000);
	atomic_store_explicit(&lt->op->state, RING_OP_IDLE, memory_order_release);
	return NULL;
}

static void reap_with_live_try(bool live_leaves)
{
	struct queue *q = make_queue();
	struct queue_client *ctl = NULL, *live = NULL, *inv = NULL;
	struct leave_try lt;
	struct queue_reap_stats st;
	struct queue_msg done = { .status = 0 };
	struct queue_item it;
	pthread_t th;
	uint64_t t0, waited_ms;
	pid_t pid;

	REQUIRE(q);
	REQUIRE(queue_client_open(q, QUEUE_ROLE_CONTROLLER, 0, 0, &ctl, NULL) == 0);
	REQUIRE(queue_client_open(q, QUEUE_ROLE_CONTROLLER, 0, 0, &live, NULL) == 0);
	CHECK_INT_EQ(push_small(ctl, "first"), 0);
	CHECK_INT_EQ(push_small(ctl, "second"), 0);
	pid = run_child(die_between_cas_and_note);
	REQUIRE(pid > 0);
	REQUIRE(ring_slot_state(q->cmp, 0) == RING_SLOT_PUSH_UNPUBLISHED);
	/* A live client noted TRY at the same completion slot. */
	atomic_store(&live->lease->op.ring, QUEUE_RING_CMP);
	atomic_store(&live->lease->op.pos, 0);
	atomic_store_explicit(&live->lease->op.state, RING_OP_PUSH_TRY, memory_order_release);
	lt = (struct leave_try){ .op = &live->lease->op, .delay_ms = 20 };
	if (live_leaves)
		REQUIRE(pthread_create(&th, NULL, leave_try_later, &lt) == 0);
	t0 = now_mono_ns();
	CHECK_INT_EQ(queue_reap(ctl, pid, NULL, NULL, &st), 0);
	waited_ms = (now_mono_ns() - t0) / 1000000;
	if (live_leaves)
		pthread_join(th, NULL);
	CHECK_INT_EQ(st.requeued, 1);  /* "first": popped, never started */
	if (!live_leaves) {
		/* Whose the slot is stays unknown: left alone, counted, after
		 * the whole wait. */
		CHECK_INT_EQ(st.tombstones, 0);
		CHECK_INT_EQ(st.undecided, 1);
		CHECK(waited_ms >= QUEUE_REPAIR_WAIT_NS / 1000000 - 1);
		atomic_store(&live->lease->op.state, RING_OP_IDLE);
		goto out;
	}
	CHECK_INT_EQ(st.tombstones, 1);
	CHECK_INT_EQ(st.undecided, 0);
	/* The completion ring moves on past the tombstone. */
	REQUIRE(queue_client_open(q, QUEUE_ROLE_INVOKER, 0, 4, &inv, NULL) == 0);
	REQUIRE(queue_request_pop(inv, 100, &it) == 0);
	CHECK_STR_EQ(it.msg->id, "second");
	CHECK_INT_EQ(queue_completion_push(inv, &it, &done, NULL), 0);
	REQUIRE(queue_completion_pop(ctl, 100, &it) == 0);
	CHECK_STR_EQ(it.msg->id, "second");
	queue_completion_done(ctl, &it);
out:
	queue_client_close(inv);
	queue_client_close(live);
	queue_client_close(ctl);
	queue_close(q);
}

static void test_dead_try_settled_when_live_try_moves_on(void)
{
	reap_with_live_try(true);
}

static void test_dead_try_left_while_live_try_stays(void)
{
	reap_with_live_try(false);
}

struct churn {
	struct queue_client *c;
	_Atomic int started, done;
	int failures;
};

/* A live client claiming slots as fast as it can: push, pop, complete. */
static void *churn_claims(void *arg)
{
	struct churn *ch = arg;
	struct queue_item it;

	atomic_store(&ch->started, 1);
	for (int i = 0; i < 20000; i++) {
		struct queue_msg m = { .home = 0 };

		snprintf(m.id, sizeof(m.id), "churn");
		if (queue_request_push(ch->c, &m, NULL) != 0)
			ch->failures++;
		else if (queue_request_pop(ch->c, 0, &it) != 0)
			ch->failures++;
		else
			queue_item_release(ch->c, &it);
	}
	atomic_store(&ch->done, 1);
	return NULL;
}

/* The supervisor reads live clients' claim records while they write them
 * (other_claim, from a reap racing live producers and consumers). Under
 * make test SAN=thread this is the case that shows whether those records
 * are read and written as atomics. */
static void test_supervisor_reads_live_claims(void)
{
	struct queue *q = make_queue();
	struct queue_client *ctl = NULL, *c = NULL;
	struct churn ch = { 0 };
	pthread_t th;
	uint32_t seen[3] = { 0 };

	REQUIRE(q);
	REQUIRE(queue_client_open(q, QUEUE_ROLE_CONTROLLER, 0, 0, &ctl, NULL) == 0);
	/* One client for both ends: a controller lease that pops as invoker 0
	 * needs the invoker role, so take that; it pushes requests as well. */
	REQUIRE(queue_client_open(q, QUEUE_ROLE_INVOKER, 0, 4, &c, NULL) == 0);
	ch.c = c;
	REQUIRE(pthread_create(&th, NULL, churn_claims, &ch) == 0);
	while (!atomic_load(&ch.started))
		sched_yield();
	do {
		uint32_t pos = atomic_load_explicit(&q->req[0]->enq, memory_order_relaxed);

		seen[other_claim(q, ctl->index, 1, 0, pos, true)]++;
		seen[other_claim(q, ctl->index, 1, 0, pos - 1, false)]++;
	} while (!atomic_load(&ch.done));
	pthread_join(th, NULL);
	CHECK_INT_EQ(ch.failures, 0);
	CHECK(seen[0] + seen[1] + seen[2] > 0);
	queue_client_close(c);
	queue_client_close(ctl);
	queue_close(q);
}

HARNESS_MAIN("queue_crash",
	     TEST_CASE(test_killed_inside_pop_window),
	     TEST_CASE(test_killed_inside_completion_push),
	     TEST_CASE(test_dead_try_settled_when_live_try_moves_on),
	     TEST_CASE(test_dead_try_left_while_live_try_stays),
	     TEST_CASE(test_supervisor_reads_live_claims))
