/* SPDX-License-Identifier: Apache-2.0 */
/* Multi-process stress of the activation queue: producer processes push
 * ~1,000,000 requests of mixed sizes (mostly <= 1 KiB, some up to 1 MiB)
 * with checksums; invoker processes pop, verify and push completions; the
 * parent collects completions and acts as the supervisor. Every message must
 * arrive exactly once and intact. The second case SIGKILLs one invoker mid
 * run: the parent reaps it, and the rest must drain everything, each message
 * either completed or reported lost (started by the dead invoker).
 *   stress_queue [--messages N]   (default 1000000 per case) */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/stress/stress_payload.h"
#include "common/queue.h"

#define MAX_PROCS 8

static uint32_t total_messages = 1000000;

struct shared {
	_Atomic uint32_t go;
	_Atomic uint32_t stop;
	_Atomic uint64_t corrupt;     /* checksum or length mismatches seen by consumers */
	_Atomic uint64_t dup_deliveries;
	_Atomic uint64_t bytes;
	_Atomic uint8_t seen[];       /* deliveries per message, counted by consumers */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void wait_go(struct shared *sh)
{
	while (!atomic_load(&sh->go))
		usleep(1000);
}

static int producer(const char *qname, struct shared *sh, uint32_t me, uint32_t nprod,
		    uint32_t ninv)
{
	struct queue_client *c = NULL;
	struct queue *q = NULL;

	if (queue_attach(qname, &q, NULL) < 0 ||
	    queue_client_open(q, QUEUE_ROLE_CONTROLLER, 0, 0, &c, NULL) < 0)
		return 1;
	wait_go(sh);
	for (uint32_t n = me; n < total_messages; n += nprod) {
		struct queue_msg m = { .cookie = n, .home = (uint32_t)(stress_mix(n * 7u) % ninv) };
		uint32_t len = stress_size_of(n);
		struct queue_buf b;
		int rc;

		while ((rc = queue_buf_alloc(c, len, &b)) == -ENOSPC)
			sched_yield();
		if (rc < 0)
			return 1;
		stress_fill(n, b.data, len);
		snprintf(m.id, sizeof(m.id), "%032x", n);
		while ((rc = queue_request_push(c, &m, &b)) == -EAGAIN) {
			if (atomic_load(&sh->stop))
				return 1;
			sched_yield();
		}
		if (rc < 0)
			return 1;
	}
	queue_client_close(c);
	queue_close(q);
	return 0;
}

static int consumer(const char *qname, struct shared *sh, uint32_t id)
{
	struct queue_client *c = NULL;
	struct queue *q = NULL;

	if (queue_attach(qname, &q, NULL) < 0 ||
	    queue_client_open(q, QUEUE_ROLE_INVOKER, id, 4, &c, NULL) < 0)
		return 1;
	wait_go(sh);
	while (!atomic_load(&sh->stop)) {
		struct queue_item batch[3];
		int got = 0, rc;

		/* Hold up to 3 at once, as an invoker running several
		 * activations does, so a kill finds requests in every state. */
		while (got < 3 && (rc = queue_request_pop(c, got ? 0 : 100, &batch[got])) == 0)
			got++;
		if (got == 0 && rc != -ETIMEDOUT)
			return 1;
		for (int k = 0; k < got; k++) {
			struct queue_item *it = &batch[k];
			struct queue_msg done = { 0 };
			uint32_t n = (uint32_t)it->msg->cookie;

			queue_item_start(c, it);
			if (n >= total_messages || !stress_payload_ok(n, it->payload, it->msg->len))
				atomic_fetch_add(&sh->corrupt, 1);
			else if (atomic_fetch_add(&sh->seen[n], 1) != 0)
				atomic_fetch_add(&sh->dup_deliveries, 1);
			atomic_fetch_add_explicit(&sh->bytes, it->msg->len, memory_order_relaxed);
			done.cookie = n;
			while ((rc = queue_completion_push(c, it, &done, NULL)) == -EAGAIN)
				sched_yield();
			if (rc < 0)
				return 1;
		}
	}
	queue_client_close(c);
	queue_close(q);
	return 0;
}

struct tally {
	uint8_t *completed;   /* completions per message */
	uint8_t *lost;        /* reported lost by the reaper */
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

static void run_case(uint32_t nprod, uint32_t ninv, bool kill_one)
{
	size_t sh_bytes = sizeof(struct shared) + total_messages;
	struct queue_client *ctl = NULL;
	struct queue_params p;
	struct queue *q = NULL;
	struct err e = { 0 };
	struct tally t = { 0 };
	struct shared *sh;
	pid_t pids[MAX_PROCS];
	uint32_t nprocs = nprod + ninv, free0, seen_ok = 0;
	uint64_t start, last_progress, elapsed;
	bool killed = false, stalled = false;
	char qname[64];
	int failed_children = 0;

	sh = mmap(NULL, sh_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	t.completed = calloc(total_messages, 1);
	t.lost = calloc(total_messages, 1);
	REQUIRE(sh != MAP_FAILED && t.completed && t.lost);
	snprintf(qname, sizeof(qname), "/ewstress-%d", (int)getpid());
	queue_params_defaults(&p);
	p.name = qname;
	p.invokers = ninv;
	p.slots = 1024;
	p.big_blocks = 16;
	REQUIRE(queue_create(&p, &q, &e) == 0);
	REQUIRE(queue_client_open(q, QUEUE_ROLE_CONTROLLER, 0, 0, &ctl, &e) == 0);
	free0 = queue_arena_free(q);

	for (uint32_t i = 0; i < nprocs; i++) {
		pids[i] = fork();
		REQUIRE(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(i < nprod ? producer(qname, sh, i, nprod, ninv)
					: consumer(qname, sh, i - nprod));
	}
	start = last_progress = now_ns();
	atomic_store(&sh->go, 1);
	while (t.accounted < total_messages) {
		struct queue_item it;
		int rc = queue_completion_pop(ctl, 100, &it);

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
		} else if (now_ns() - last_progress > 30ull * 1000000000ull) {
			stalled = true;
			break;
		}
		if (kill_one && !killed && t.accounted >= total_messages / 3) {
			struct queue_reap_stats st;
			pid_t victim = pids[nprod];   /* invoker 0 */
			int status;

			/* Prefer a moment when it holds requests. */
			for (int spin = 0; spin < 100000 && queue_invoker_inflight(q, 0) < 2; spin++)
				sched_yield();
			kill(victim, SIGKILL);
			waitpid(victim, &status, 0);
			CHECK_INT_EQ(queue_reap(ctl, victim, on_lost, &t, &st), 0);
			printf("  killed invoker 0 (pid %d) at %llu completions: reaped %u lease(s), "
			       "%u re-queued, %u lost, %u tombstone(s), %u slot(s) released, %u block(s) freed\n",
			       (int)victim, (unsigned long long)t.completions, st.leases, st.requeued,
			       st.lost, st.tombstones, st.released, st.blocks);
			CHECK_INT_EQ(st.leases, 1);
			pids[nprod] = 0;
			killed = true;
		}
	}
	elapsed = now_ns() - start;
	atomic_store(&sh->stop, 1);
	for (uint32_t i = 0; i < nprocs; i++) {
		int status;

		if (pids[i] == 0)
			continue;
		if (stalled)
			kill(pids[i], SIGKILL);
		waitpid(pids[i], &status, 0);
		if (!stalled && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
			failed_children++;
	}
	for (uint32_t n = 0; n < total_messages; n++) {
		if (t.completed[n] > 1 || t.lost[n] > 1)
			t.dups++;
		else if (t.completed[n] && t.lost[n])
			t.dups++;
		if (atomic_load(&sh->seen[n]) == 1 || t.lost[n])
			seen_ok++;
	}
	printf("  %u producers -> %u invokers%s: %u messages, %.1f MB in %.2f s (%.0f msgs/s); "
	       "%llu completed, %llu lost, %llu completed-and-lost\n",
	       nprod, ninv, kill_one ? " (one killed)" : "", total_messages,
	       (double)atomic_load(&sh->bytes) / 1e6, (double)elapsed / 1e9,
	       (double)total_messages / ((double)elapsed / 1e9),
	       (unsigned long long)t.completions, (unsigned long long)t.lost_count,
	       (unsigned long long)t.dups);
	CHECK(!stalled);
	CHECK_INT_EQ(failed_children, 0);
	CHECK_INT_EQ(t.accounted, total_messages);
	CHECK_INT_EQ(atomic_load(&sh->corrupt), 0);
	CHECK_INT_EQ(atomic_load(&sh->dup_deliveries), 0);
	CHECK_INT_EQ(seen_ok, total_messages);
	if (kill_one) {
		CHECK(killed);
		/* Only what the dead invoker had started may be lost (it holds <= 3). */
		CHECK(t.lost_count <= 3);
		CHECK(t.dups <= t.lost_count);
	} else {
		CHECK_INT_EQ(t.lost_count, 0);
		CHECK_INT_EQ(t.dups, 0);
		CHECK_INT_EQ(t.completions, total_messages);
	}
	CHECK_INT_EQ(queue_arena_free(q), free0);
	queue_client_close(ctl);
	queue_close(q);
	free(t.completed);
	free(t.lost);
	munmap(sh, sh_bytes);
}

static void test_two_producers_two_invokers(void)
{
	run_case(2, 2, false);
}

static void test_one_invoker_killed_midrun(void)
{
	run_case(2, 3, true);
}

int main(int argc, char **argv)
{
	static const struct harness_case cases[] = {
		TEST_CASE(test_two_producers_two_invokers),
		TEST_CASE(test_one_invoker_killed_midrun),
	};

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
	return harness_run("stress_queue", cases, sizeof(cases) / sizeof(cases[0]));
}
