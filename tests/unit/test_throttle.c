/* SPDX-License-Identifier: Apache-2.0 */
/* throttle: per-minute windows (reset at the minute boundary, refused ones
 * counted, OpenWhisk's messages), in-flight slots (acquire/release pairs,
 * never below zero), namespaces shared by several keys, 0 = no limit, and
 * concurrent acquire/release from several threads. */
#include "controller/throttle.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness.h"

static struct cfg *two_ns(uint32_t per_minute, uint32_t concurrent)
{
	struct cfg *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	cfg_defaults(c);
	c->key_count = 3;
	memcpy(c->keys[1].namespace, "alice", 6);
	memcpy(c->keys[2].namespace, "guest", 6); /* a second key of guest */
	c->limits.invocations_per_minute = per_minute;
	c->limits.concurrent_invocations = concurrent;
	return c;
}

static void test_rate_window(void)
{
	struct cfg *c = two_ns(3, 0);
	struct throttle *l = NULL;
	struct err e = { 0 };
	uint64_t t0 = 1700000040000ull; /* 60000 * 28333334: a minute boundary */

	REQUIRE(c && throttle_new(c, &l, &e) == 0);
	CHECK_INT_EQ(throttle_rate_admit(l, "guest", t0, &e), 0);
	CHECK_INT_EQ(throttle_rate_admit(l, "guest", t0 + 1, &e), 0);
	CHECK_INT_EQ(throttle_rate_admit(l, "guest", t0 + 59999, &e), 0);
	err_clear(&e);
	CHECK_INT_EQ(throttle_rate_admit(l, "guest", t0 + 59999, &e), -EAGAIN);
	CHECK_STR_EQ(e.msg, "Too many requests in the last minute (count: 4, allowed: 3).");
	err_clear(&e);
	/* Refused ones count too. */
	CHECK_INT_EQ(throttle_rate_admit(l, "guest", t0 + 59999, &e), -EAGAIN);
	CHECK_STR_EQ(e.msg, "Too many requests in the last minute (count: 5, allowed: 3).");
	/* Another namespace has its own window. */
	CHECK_INT_EQ(throttle_rate_admit(l, "alice", t0 + 59999, &e), 0);
	/* Unknown namespaces are not limited. */
	for (int i = 0; i < 10; i++)
		CHECK_INT_EQ(throttle_rate_admit(l, "nobody", t0, &e), 0);
	/* The next minute starts afresh. */
	CHECK_INT_EQ(throttle_rate_admit(l, "guest", t0 + 60000, &e), 0);
	CHECK_INT_EQ(throttle_rate_admit(l, "guest", t0 + 60001, &e), 0);
	CHECK_INT_EQ(throttle_rate_admit(l, "guest", t0 + 60002, &e), 0);
	CHECK_INT_EQ(throttle_rate_admit(l, "guest", t0 + 60003, &e), -EAGAIN);
	throttle_free(l);
	free(c);
}

static void test_concurrent(void)
{
	struct cfg *c = two_ns(0, 2);
	struct throttle *l = NULL;
	struct err e = { 0 };

	REQUIRE(c && throttle_new(c, &l, &e) == 0);
	/* per_minute 0: no rate limit at all. */
	for (int i = 0; i < 1000; i++)
		CHECK_INT_EQ(throttle_rate_admit(l, "guest", 5, &e), 0);
	CHECK_INT_EQ(throttle_concurrent_acquire(l, "guest", &e), 0);
	CHECK_INT_EQ(throttle_concurrent_acquire(l, "guest", &e), 0);
	CHECK_INT_EQ(throttle_concurrent(l, "guest"), 2);
	err_clear(&e);
	CHECK_INT_EQ(throttle_concurrent_acquire(l, "guest", &e), -EAGAIN);
	CHECK_STR_EQ(e.msg, "Too many concurrent requests in flight (count: 2, allowed: 2).");
	CHECK_INT_EQ(throttle_concurrent(l, "guest"), 2); /* a refusal takes nothing */
	CHECK_INT_EQ(throttle_concurrent_acquire(l, "alice", &e), 0);
	throttle_concurrent_release(l, "guest");
	CHECK_INT_EQ(throttle_concurrent_acquire(l, "guest", &e), 0);
	throttle_concurrent_release(l, "guest");
	throttle_concurrent_release(l, "guest");
	throttle_concurrent_release(l, "guest"); /* extra: stays at 0 */
	CHECK_INT_EQ(throttle_concurrent(l, "guest"), 0);
	CHECK_INT_EQ(throttle_concurrent(l, "alice"), 1);
	CHECK_INT_EQ(throttle_concurrent(l, "nobody"), 0);
	throttle_concurrent_release(l, "nobody");
	throttle_free(l);
	free(c);
}

static void test_unlimited_and_null(void)
{
	struct cfg *c = two_ns(0, 0);
	struct throttle *l = NULL;
	struct err e = { 0 };

	REQUIRE(c && throttle_new(c, &l, &e) == 0);
	for (int i = 0; i < 5000; i++)
		CHECK_INT_EQ(throttle_concurrent_acquire(l, "guest", &e), 0);
	CHECK_INT_EQ(throttle_concurrent(l, "guest"), 5000);
	CHECK_INT_EQ(throttle_rate_admit(NULL, "guest", 0, &e), 0);
	CHECK_INT_EQ(throttle_concurrent_acquire(NULL, "guest", &e), 0);
	throttle_concurrent_release(NULL, "guest");
	throttle_free(NULL);
	throttle_free(l);
	free(c);
}

#define THREADS 4
#define ROUNDS 20000

static void *churn(void *arg)
{
	struct throttle *l = arg;

	for (int i = 0; i < ROUNDS; i++) {
		struct err e = { 0 };

		if (throttle_concurrent_acquire(l, "guest", &e) == 0)
			throttle_concurrent_release(l, "guest");
	}
	return NULL;
}

static void test_threads(void)
{
	struct cfg *c = two_ns(0, 3);
	struct throttle *l = NULL;
	struct err e = { 0 };
	pthread_t t[THREADS];

	REQUIRE(c && throttle_new(c, &l, &e) == 0);
	for (int i = 0; i < THREADS; i++)
		REQUIRE(pthread_create(&t[i], NULL, churn, l) == 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	/* Every acquire was released: nothing leaked, nothing went negative. */
	CHECK_INT_EQ(throttle_concurrent(l, "guest"), 0);
	throttle_free(l);
	free(c);
}

HARNESS_MAIN("throttle",
	     TEST_CASE(test_rate_window),
	     TEST_CASE(test_concurrent),
	     TEST_CASE(test_unlimited_and_null),
	     TEST_CASE(test_threads))
