/* SPDX-License-Identifier: Apache-2.0 */
/* arena: layout checks, class choice and fallback, exhaustion, owners and
 * reclaim, concurrent allocation. */
#include "common/arena.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "tests/harness.h"

static struct arena *arena_new(const uint32_t *sizes, const uint32_t *counts, uint32_t n)
{
	size_t bytes = arena_bytes(sizes, counts, n);
	struct arena *a = bytes ? aligned_alloc(4096, (bytes + 4095) & ~(size_t)4095) : NULL;

	if (a && arena_init(a, sizes, counts, n) != 0) {
		free(a);
		return NULL;
	}
	return a;
}

static void test_rejects_bad_layouts(void)
{
	uint32_t s_desc[] = { 128, 64 }, s_odd[] = { 100 }, c2[] = { 1, 1 }, c0[] = { 0 };
	uint32_t s1[] = { 64 };

	CHECK_INT_EQ(arena_bytes(s_desc, c2, 2), 0);
	CHECK_INT_EQ(arena_bytes(s_odd, c2, 1), 0);
	CHECK_INT_EQ(arena_bytes(s1, c0, 1), 0);
	CHECK_INT_EQ(arena_bytes(s1, c2, 0), 0);
	CHECK(arena_bytes(s1, c2, 1) > 0);
}

static void test_smallest_fitting_class_then_larger(void)
{
	uint32_t sizes[] = { 64, 4096 }, counts[] = { 2, 1 };
	struct arena *a = arena_new(sizes, counts, 2);
	uint32_t b1, b2, b3, b4;

	REQUIRE(a);
	CHECK_INT_EQ(arena_free_count(a), 3);
	CHECK_INT_EQ(arena_alloc(a, 10, 7, &b1), 0);
	CHECK_INT_EQ(arena_block_size(a, b1), 64);
	CHECK_INT_EQ(arena_alloc(a, 64, 7, &b2), 0);
	CHECK_INT_EQ(arena_block_size(a, b2), 64);
	CHECK(b1 != b2);
	/* Small class exhausted: fall back to the larger one. */
	CHECK_INT_EQ(arena_alloc(a, 10, 7, &b3), 0);
	CHECK_INT_EQ(arena_block_size(a, b3), 4096);
	CHECK_INT_EQ(arena_alloc(a, 10, 7, &b4), -ENOSPC);
	CHECK_INT_EQ(arena_alloc(a, 4097, 7, &b4), -EMSGSIZE);
	CHECK_INT_EQ(arena_alloc(a, 10, ARENA_OWNER_FREE, &b4), -EINVAL);
	/* Blocks do not overlap and are writable end to end. */
	memset(arena_block_data(a, b1), 1, 64);
	memset(arena_block_data(a, b2), 2, 64);
	memset(arena_block_data(a, b3), 3, 4096);
	CHECK_INT_EQ(((unsigned char *)arena_block_data(a, b1))[63], 1);
	CHECK_INT_EQ(((unsigned char *)arena_block_data(a, b2))[0], 2);
	CHECK(((uintptr_t)arena_block_data(a, b3) & 4095) == 0);
	CHECK(arena_block_data(a, 0x0f000000u) == NULL);
	arena_free(a, b2);
	CHECK_INT_EQ(arena_alloc(a, 1, 7, &b4), 0);
	CHECK_INT_EQ(b4, b2);
	free(a);
}

static void test_owner_and_reclaim(void)
{
	uint32_t sizes[] = { 64 }, counts[] = { 8 };
	struct arena *a = arena_new(sizes, counts, 1);
	uint32_t b[4];

	REQUIRE(a);
	CHECK_INT_EQ(arena_alloc(a, 1, 5, &b[0]), 0);
	CHECK_INT_EQ(arena_alloc(a, 1, 5, &b[1]), 0);
	CHECK_INT_EQ(arena_alloc(a, 1, 6, &b[2]), 0);
	CHECK_INT_EQ(arena_alloc(a, 1, 5, &b[3]), 0);
	arena_set_owner(a, b[3], ARENA_OWNER_QUEUED);   /* in a message now */
	CHECK_INT_EQ(arena_owner(a, b[0]), 5);
	CHECK_INT_EQ(arena_reclaim(a, 5), 2);
	CHECK_INT_EQ(arena_owner(a, b[0]), ARENA_OWNER_FREE);
	CHECK_INT_EQ(arena_owner(a, b[2]), 6);
	CHECK_INT_EQ(arena_owner(a, b[3]), ARENA_OWNER_QUEUED);
	CHECK_INT_EQ(arena_free_count(a), 6);
	free(a);
}

struct mt_arg {
	struct arena *a;
	uint32_t owner;
	_Atomic uint32_t *in_use;  /* per block: holders right now */
	_Atomic int *errors;
};

static void *mt_alloc_free(void *p)
{
	struct mt_arg *m = p;

	for (int i = 0; i < 100000; i++) {
		uint32_t blk;

		if (arena_alloc(m->a, 32, m->owner, &blk) != 0)
			continue;
		if (atomic_fetch_add(&m->in_use[blk], 1) != 0)
			atomic_fetch_add(m->errors, 1);
		atomic_fetch_sub(&m->in_use[blk], 1);
		arena_free(m->a, blk);
	}
	return NULL;
}

static void test_concurrent_alloc_is_exclusive(void)
{
	uint32_t sizes[] = { 64 }, counts[] = { 4 };
	struct arena *a = arena_new(sizes, counts, 1);
	_Atomic uint32_t in_use[4] = { 0 };
	_Atomic int errors = 0;
	struct mt_arg args[4];
	pthread_t th[4];

	REQUIRE(a);
	for (int i = 0; i < 4; i++) {
		args[i] = (struct mt_arg){ a, (uint32_t)i + 1, in_use, &errors };
		pthread_create(&th[i], NULL, mt_alloc_free, &args[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	CHECK_INT_EQ(atomic_load(&errors), 0);
	CHECK_INT_EQ(arena_free_count(a), 4);
	free(a);
}

HARNESS_MAIN("arena",
	     TEST_CASE(test_rejects_bad_layouts),
	     TEST_CASE(test_smallest_fitting_class_then_larger),
	     TEST_CASE(test_owner_and_reclaim),
	     TEST_CASE(test_concurrent_alloc_is_exclusive))
