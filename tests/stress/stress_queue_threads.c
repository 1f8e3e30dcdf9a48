/* SPDX-License-Identifier: Apache-2.0 */
/* Threaded stress of the activation queue, for ThreadSanitizer (which sees
 * one process only): producer threads and invoker threads share one
 * mapping of the queue, exactly the layout processes share, each thread a
 * client of its own with an owner id of its own (queue_client_open_as).
 * Producers push requests of mixed sizes (16 B .. 1 MiB) with checksums;
 * invokers pop, verify and push completions; the main thread collects
 * completions and supervises. Every message must arrive exactly once and
 * intact, and every arena block must come back.
 *
 * The second case stops invoker threads where they stand, one at a time,
 * FREEZES times over the run: a signal whose handler never returns, so the
 * thread is frozen wherever it was (holding requests, possibly inside a
 * ring claim), as a SIGKILLed process would be. The main thread then reaps
 * its owner id while the others keep running, so the repair path runs
 * concurrently with live producers and consumers, the case TSan can judge,
 * and starts a new invoker thread for that id, as the supervisor restarts
 * an invoker. What a frozen thread wrote before it stopped is published by
 * one release store in the handler: the stand-in for the waitpid() that
 * orders a real supervisor after a dead process.
 *   stress_queue_threads [--messages N]   (default 200000 per case) */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/stress/stress_payload.h"
#include "common/queue.h"

#define MAX_THREADS 8
#define FREEZES 12
/* Above any pid_max (2^22), so no live process is taken for a client. */
#define OWNER_BASE 0x40000000

static uint32_t total_messages = 200000;

struct run {
	struct queue *q;
	uint32_t nprod, ninv;
	_Atomic uint32_t go, stop, failed;
	_Atomic uint64_t corrupt, dup_deliveries, bytes;
	_Atomic uint8_t *seen;        /* deliveries per message, counted by invokers */
};

struct worker {
	struct run *run;
	uint32_t index;               /* producer number, or invoker id */
	pid_t owner;
	pthread_t thread;
};

/* The frozen thread's release store; the supervisor acquires it. */
static _Atomic int frozen;

static void freeze_here(int sig)
{
	(void)sig;
	atomic_store_explicit(&frozen, 1, memory_order_release);
	for (;;)
		pause();
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void wait_go(struct run *r)
{
	while (!atomic_load(&r->go))
		sched_yield();
}

static void *producer(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	struct queue_client *c = NULL;

	if (queue_client_open_as(r->q, QUEUE_ROLE_CONTROLLER, 0, 0, w->owner, &c, NULL) < 0) {
		atomic_fetch_add(&r->failed, 1);
		return NULL;
	}
	wait_go(r);
	for (uint32_t n = w->index; n < total_messages && !atomic_load(&r->stop); n += r->nprod) {
		struct queue_msg m = { .cookie = n,
				       .home = (uint32_t)(stress_mix(n * 7u) % r->ninv) };
		uint32_t len = stress_size_of(n);
		struct queue_buf b;
		int rc;

		while ((rc = queue_buf_alloc(c, len, &b)) == -ENOSPC && !atomic_load(&r->stop))
			sched_yield();
		if (rc < 0)
			break;
		stress_fill(n, b.data, len);
		snprintf(m.id, sizeof(m.id), "%032x", n);
		while ((rc = queue_request_push(c, &m, &b)) == -EAGAIN && !atomic_load(&r->stop))
			sched_yield();
		if (rc < 0) {
			queue_buf_free(c, &b);
			break;
		}
	}
	queue_client_close(c);
	return NULL;
}

static void *invoker(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	struct queue_client *c = NULL;

	if (queue_client_open_as(r->q, QUEUE_ROLE_INVOKER, w->index, 4, w->owner, &c, NULL) < 0) {
		atomic_fetch_add(&r->failed, 1);
		return NULL;
	}
	wait_go(r);
	while (!atomic_load(&r->stop)) {
		struct queue_item batch[3];
		int got = 0, rc;

		/* Hold up to 3 at once, as an invoker running several
		 * activations does, so a freeze finds requests in every state. */
		while (got < 3 && (rc = queue_request_pop(c, got ? 0 : 50, &batch[got])) == 0)
			got++;
		if (got == 0 && rc != -ETIMEDOUT) {
			atomic_fetch_add(&r->failed, 1);
			break;
		}
		for (int k = 0; k < got; k++) {
			struct queue_item *it = &batch[k];
			struct queue_msg done = { 0 };
			uint32_t n = (uint32_t)it->msg->cookie;

			queue_item_start(c, it);
			if (n >= total_messages || !stress_payload_ok(n, it->payload, it->msg->len))
				atomic_fetch_add(&r->corrupt, 1);
			else if (atomic_fetch_add(&r->seen[n], 1) != 0)
				atomic_fetch_add(&r->dup_deliveries, 1);
			atomic_fetch_add_explicit(&r->bytes, it->msg->len, memory_order_relaxed);
			done.cookie = n;
			while ((rc = queue_completion_push(c, it, &done, NULL)) == -EAGAIN)
				sched_yield();
			if (rc < 0)
				atomic_fetch_add(&r->failed, 1);
		}
	}
	queue_client_close(c);
	return NULL;
}

struct tally {
	uint8_t *completed;           /* completions per message */
	uint8_t *lost;                /* reported lost by the reaper */
	uint64_t accounted, completions, lost_count, dups;
};

static void on_lost(void *arg, const struct queue_msg *m, const void *payload)
{
	struct tally *t = arg;
	uint32_t n = (uint32_t)m->cookie;

	(void)payload;
	if (n >= total_messages)
		return;
	t->lost_count++;
	if (t->completed[n] == 0 && t->lost[n] == 0)
		t->accounted++;
	t->lost[n]++;
}

/* Freeze worker `v` (an invoker), preferably while it holds requests, reap
 * it as the supervisor would a dead process, and add up what the reap did.
 * Returns 0 once it is reaped. */
static int freeze_and_reap(struct run *r, struct queue_client *ctl, struct worker *v,
			   struct tally *t, struct queue_reap_stats *sum)
{
	struct queue_reap_stats st;
	uint64_t until = now_ns() + 10ull * 1000000000ull;

	for (int spin = 0; spin < 100000 && queue_invoker_inflight(r->q, v->index) < 2; spin++)
		sched_yield();
	atomic_store(&frozen, 0);
	if (pthread_kill(v->thread, SIGUSR1) != 0)
		return -1;
	while (!atomic_load_explicit(&frozen, memory_order_acquire) && now_ns() < until)
		sched_yield();
	if (!atomic_load_explicit(&frozen, memory_order_acquire))
		return -1;
	if (queue_reap(ctl, v->owner, on_lost, t, &st) != 0 || st.leases != 1 ||
	    queue_invoker_pid(r->q, v->index) != 0)
		return -1;
	sum->leases += st.leases;
	sum->requeued += st.requeued;
	sum->lost += st.lost;
	sum->tombstones += st.tombstones;
	sum->released += st.released;
	sum->blocks += st.blocks;
	sum->undecided += st.undecided;
	return 0;
}

static void run_case(uint32_t nprod, uint32_t ninv, bool freeze_one)
{
	struct run r = { .nprod = nprod, .ninv = ninv };
	struct worker w[MAX_THREADS + FREEZES];
	struct queue_reap_stats sum = { 0 };
	struct queue_client *ctl = NULL;
	struct queue_params p;
	struct err e = { 0 };
	struct tally t = { 0 };
	uint32_t nthreads = nprod + ninv, free0, seen_ok = 0, freezes = 0;
	uint64_t start, last_progress, elapsed;
	bool frozen_at[MAX_THREADS + FREEZES] = { false };
	bool stalled = false, reap_failed = false;
	char qname[64];

	REQUIRE(nthreads <= MAX_THREADS);
	r.seen = calloc(total_messages, sizeof(*r.seen));
	t.completed = calloc(total_messages, 1);
	t.lost = calloc(total_messages, 1);
	REQUIRE(r.seen && t.completed && t.lost);
	snprintf(qname, sizeof(qname), "/ewstress-thr-%d", (int)getpid());
	queue_params_defaults(&p);
	p.name = qname;
	p.invokers = ninv;
	p.slots = 256;          /* small rings: many laps, full rings, wrap-around */
	p.big_blocks = 8;
	REQUIRE(queue_create(&p, &r.q, &e) == 0);
	REQUIRE(queue_client_open(r.q, QUEUE_ROLE_CONTROLLER, 0, 0, &ctl, &e) == 0);
	free0 = queue_arena_free(r.q);

	for (uint32_t i = 0; i < nthreads; i++) {
		w[i] = (struct worker){ .run = &r, .index = i < nprod ? i : i - nprod,
					.owner = OWNER_BASE + (pid_t)i };
		REQUIRE(pthread_create(&w[i].thread, NULL, i < nprod ? producer : invoker,
				       &w[i]) == 0);
	}
	start = last_progress = now_ns();
	atomic_store(&r.go, 1);
	while (t.accounted < total_messages) {
		struct queue_item it;
		int rc = queue_completion_pop(ctl, 50, &it);

		if (rc == 0) {
			uint32_t n = (uint32_t)it.msg->cookie;

			if (n < total_messages) {
				t.completions++;
				if (t.completed[n] == 0 && t.lost[n] == 0)
					t.accounted++;
				t.completed[n]++;
			}
			queue_completion_done(ctl, &it);
			last_progress = now_ns();
		} else if (now_ns() - last_progress > 60ull * 1000000000ull) {
			stalled = true;
			break;
		}
		/* Freeze number f at f/(FREEZES+1) of the run, invokers in turn;
		 * its replacement takes the same invoker id. */
		if (freeze_one && freezes < FREEZES && !reap_failed &&
		    t.accounted >= (uint64_t)total_messages * (freezes + 1) / (FREEZES + 1)) {
			uint32_t victim = nprod + freezes % ninv, fresh = nthreads;

			/* The live worker of that invoker id is the newest one. */
			for (uint32_t i = nprod; i < nthreads; i++)
				if (!frozen_at[i] && w[i].index == freezes % ninv)
					victim = i;
			if (freeze_and_reap(&r, ctl, &w[victim], &t, &sum) < 0) {
				reap_failed = true;
				continue;
			}
			frozen_at[victim] = true;
			w[fresh] = (struct worker){ .run = &r, .index = w[victim].index,
						    .owner = OWNER_BASE + (pid_t)fresh };
			if (pthread_create(&w[fresh].thread, NULL, invoker, &w[fresh]) != 0) {
				reap_failed = true;
				continue;
			}
			nthreads++;
			freezes++;
		}
	}
	elapsed = now_ns() - start;
	atomic_store(&r.stop, 1);
	for (uint32_t i = 0; i < nthreads; i++) {
		/* A frozen thread never returns: left blocked in its handler. */
		if (frozen_at[i])
			pthread_detach(w[i].thread);
		else
			pthread_join(w[i].thread, NULL);
	}
	for (uint32_t n = 0; n < total_messages; n++) {
		if (t.completed[n] > 1 || t.lost[n] > 1 || (t.completed[n] && t.lost[n]))
			t.dups++;
		if (atomic_load(&r.seen[n]) == 1 || t.lost[n])
			seen_ok++;
	}
	if (freeze_one)
		printf("  %u invoker threads frozen and reaped: %u re-queued, %u lost, "
		       "%u tombstone(s), %u slot(s) released, %u block(s) freed, %u undecided\n",
		       freezes, sum.requeued, sum.lost, sum.tombstones, sum.released, sum.blocks,
		       sum.undecided);
	printf("  %u producer threads -> %u invoker threads%s: %u messages, %.1f MB in %.2f s "
	       "(%.0f msgs/s); %llu completed, %llu lost, %llu completed-and-lost\n",
	       nprod, ninv, freeze_one ? " (frozen and replaced)" : "", total_messages,
	       (double)atomic_load(&r.bytes) / 1e6, (double)elapsed / 1e9,
	       (double)total_messages / ((double)elapsed / 1e9),
	       (unsigned long long)t.completions, (unsigned long long)t.lost_count,
	       (unsigned long long)t.dups);
	CHECK(!stalled);
	CHECK_INT_EQ(atomic_load(&r.failed), 0);
	CHECK_INT_EQ(t.accounted, total_messages);
	CHECK_INT_EQ(atomic_load(&r.corrupt), 0);
	CHECK_INT_EQ(atomic_load(&r.dup_deliveries), 0);
	CHECK_INT_EQ(seen_ok, total_messages);
	if (freeze_one) {
		CHECK(!reap_failed);
		CHECK_INT_EQ(freezes, FREEZES);
		CHECK_INT_EQ(sum.undecided, 0);
		/* Only what a frozen invoker had started may be lost (each holds <= 3). */
		CHECK(t.lost_count <= 3 * FREEZES);
		CHECK_INT_EQ(t.lost_count, sum.lost);
		CHECK(t.dups <= t.lost_count);
	} else {
		CHECK_INT_EQ(t.lost_count, 0);
		CHECK_INT_EQ(t.dups, 0);
		CHECK_INT_EQ(t.completions, total_messages);
	}
	CHECK_INT_EQ(queue_arena_free(r.q), free0);
	queue_client_close(ctl);
	queue_close(r.q);
	free(r.seen);
	free(t.completed);
	free(t.lost);
}

static void test_two_producer_threads_two_invoker_threads(void)
{
	run_case(2, 2, false);
}

static void test_invoker_threads_frozen_reaped_and_replaced(void)
{
	run_case(2, 3, true);
}

int main(int argc, char **argv)
{
	static const struct harness_case cases[] = {
		TEST_CASE(test_two_producer_threads_two_invoker_threads),
		TEST_CASE(test_invoker_threads_frozen_reaped_and_replaced),
	};
	struct sigaction sa = { .sa_handler = freeze_here };

	for (int i = 1; i + 1 < argc; i++) {
		if (strcmp(argv[i], "--messages") == 0) {
			char *end;
			unsigned long v = strtoul(argv[++i], &end, 10);

			if (*end || v < 1000 || v > 100000000) {
				fprintf(stderr, "--messages: 1000..100000000\n");
				return 2;
			}
			total_messages = (uint32_t)v;
		}
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	return harness_run("stress_queue_threads", cases, sizeof(cases) / sizeof(cases[0]));
}
