/* SPDX-License-Identifier: Apache-2.0 */
/* wake: timeouts, no lost wake-up, cross-process wake through shared
 * memory, and a sleeping waiter uses no CPU. */
#include "common/wake.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness.h"

static long ms_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

static void test_wait_times_out(void)
{
	struct wake w = { 0 };
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	wake_arm(&w);
	CHECK_INT_EQ(atomic_load(&w.armed), 1);
	CHECK_INT_EQ(wake_wait(&w, 30), -ETIMEDOUT);
	CHECK(ms_since(&t0) >= 25);
	CHECK_INT_EQ(wake_wait(&w, 0), -ETIMEDOUT);
	wake_disarm(&w);
	CHECK_INT_EQ(atomic_load(&w.armed), 0);
}

static void test_signal_between_arm_and_wait_is_not_lost(void)
{
	struct wake w = { 0 };
	struct timespec t0;

	wake_arm(&w);
	wake_signal(&w);
	CHECK_INT_EQ(atomic_load(&w.armed), 0);
	CHECK_INT_EQ(atomic_load(&w.signals), 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT_EQ(wake_wait(&w, 5000), 0);
	CHECK(ms_since(&t0) < 1000);
}

/* A child sleeps on a wake word in shared memory; the parent wakes it. The
 * child reports how long it slept and how much CPU it used meanwhile. */
static void test_cross_process_wake_and_idle_cpu(void)
{
	struct shared {
		struct wake w;
		_Atomic int ready;
		long slept_ms, cpu_us;
		int rc;
	} *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid;
	int status;

	REQUIRE(sh != MAP_FAILED);
	memset(sh, 0, sizeof(*sh));
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct rusage r0, r1;
		struct timespec t0;

		wake_arm(&sh->w);

		getrusage(RUSAGE_SELF, &r0);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		atomic_store(&sh->ready, 1);
		sh->rc = wake_wait(&sh->w, 10000);
		sh->slept_ms = ms_since(&t0);
		getrusage(RUSAGE_SELF, &r1);
		sh->cpu_us = (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) * 1000000L +
			     (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) +
			     (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1000000L +
			     (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec);
		_exit(0);
	}
	while (!atomic_load(&sh->ready))
		usleep(1000);
	usleep(300000);  /* the child sleeps in the futex meanwhile */
	wake_signal(&sh->w);
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_INT_EQ(sh->rc, 0);
	CHECK(sh->slept_ms >= 250 && sh->slept_ms < 5000);
	/* 300 ms asleep: a spinning waiter would burn ~300000 us. */
	CHECK(sh->cpu_us < 20000);
	munmap(sh, sizeof(*sh));
}

/* Only the first signal after an arm makes a syscall. */
static void test_one_futex_wake_per_sleep(void)
{
	struct wake w = { 0 };

	wake_signal(&w);
	CHECK_INT_EQ(atomic_load(&w.signals), 0);
	wake_arm(&w);
	wake_signal(&w);
	wake_signal(&w);
	wake_signal(&w);
	CHECK_INT_EQ(atomic_load(&w.signals), 1);
	wake_arm(&w);
	wake_reset(&w);
	wake_signal(&w);
	CHECK_INT_EQ(atomic_load(&w.signals), 1);
}

HARNESS_MAIN("wake",
	     TEST_CASE(test_wait_times_out),
	     TEST_CASE(test_signal_between_arm_and_wait_is_not_lost),
	     TEST_CASE(test_cross_process_wake_and_idle_cpu),
	     TEST_CASE(test_one_futex_wake_per_sleep))
