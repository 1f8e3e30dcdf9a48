/* SPDX-License-Identifier: Apache-2.0 */
/* Size-class block arena with per-block owner words (see arena.h).
 * Ordering: an owner word is the only synchronisation. Stores that hand a
 * block on (arena_set_owner, arena_free, arena_reclaim) are releases; the
 * allocating CAS and arena_owner() are acquires, so whoever takes a block
 * next sees the previous holder done with it. A message's payload reaches
 * its consumer through the ring slot's seq (ring.c), not through here. */
#include "common/arena.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ARENA_INDEX_BITS 24
#define ARENA_INDEX_MASK ((1u << ARENA_INDEX_BITS) - 1)

_Static_assert(sizeof(struct arena_class) == 32, "arena_class layout changed");

static inline _Atomic uint32_t *owner_word(const struct arena *a, uint32_t cls, uint32_t idx)
{
	const char *base = (const char *)a + a->cls[cls].owner_off;

	return (_Atomic uint32_t *)(uintptr_t)base + idx;
}

static inline int split(const struct arena *a, uint32_t block, uint32_t *cls, uint32_t *idx)
{
	*cls = block >> ARENA_INDEX_BITS;
	*idx = block & ARENA_INDEX_MASK;
	if (*cls >= a->class_count || *idx >= a->cls[*cls].count)
		return -EINVAL;
	return 0;
}

static size_t align64(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

/* Blocks of a page or more start on a page (the arena itself is mapped
 * page-aligned): a large payload then spans the fewest pages. */
static size_t data_align(size_t off, uint32_t block_size)
{
	return block_size >= 4096 ? (off + 4095) & ~(size_t)4095 : align64(off);
}

static int check_classes(const uint32_t *sizes, const uint32_t *counts, uint32_t n)
{
	if (n < 1 || n > ARENA_MAX_CLASSES)
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++) {
		if (sizes[i] == 0 || sizes[i] % 64 != 0 || counts[i] == 0 ||
		    counts[i] > ARENA_INDEX_MASK)
			return -EINVAL;
		if (i > 0 && sizes[i] <= sizes[i - 1])
			return -EINVAL;
	}
	return 0;
}

size_t arena_bytes(const uint32_t *sizes, const uint32_t *counts, uint32_t n)
{
	size_t off = align64(sizeof(struct arena));

	if (check_classes(sizes, counts, n) < 0)
		return 0;
	for (uint32_t i = 0; i < n; i++)
		off = align64(off + (size_t)counts[i] * sizeof(uint32_t));
	for (uint32_t i = 0; i < n; i++)
		off = data_align(off, sizes[i]) + (size_t)counts[i] * sizes[i];
	return off;
}

int arena_init(struct arena *a, const uint32_t *sizes, const uint32_t *counts, uint32_t n)
{
	size_t off = align64(sizeof(struct arena));

	if (check_classes(sizes, counts, n) < 0)
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	a->class_count = n;
	for (uint32_t i = 0; i < n; i++) {
		a->cls[i].block_size = sizes[i];
		a->cls[i].count = counts[i];
		a->cls[i].owner_off = off;
		off = align64(off + (size_t)counts[i] * sizeof(uint32_t));
		/* Plain initialisation: published by the queue header's
		 * release store of its magic (queue.c). */
		for (uint32_t j = 0; j < counts[i]; j++)
			atomic_init(owner_word(a, i, j), ARENA_OWNER_FREE);
	}
	for (uint32_t i = 0; i < n; i++) {
		off = data_align(off, sizes[i]);
		a->cls[i].data_off = off;
		off += (size_t)counts[i] * sizes[i];
	}
	a->total_bytes = off;
	return 0;
}

static int alloc_in_class(struct arena *a, uint32_t cls, uint32_t owner, uint32_t *block_out)
{
	struct arena_class *c = &a->cls[cls];
	/* Relaxed: the hint is where to start looking, nothing more. */
	uint32_t start = atomic_load_explicit(&c->hint, memory_order_relaxed);

	for (uint32_t k = 0; k < c->count; k++) {
		uint32_t idx = (start + k) % c->count;
		_Atomic uint32_t *w = owner_word(a, cls, idx);
		uint32_t expect = ARENA_OWNER_FREE;

		/* Relaxed: a cheap filter; the CAS below decides. */
		if (atomic_load_explicit(w, memory_order_relaxed) != ARENA_OWNER_FREE)
			continue;
		/* Acquire pairs with the release in arena_free(): the previous
		 * holder's reads of the block are done before we overwrite it. */
		if (atomic_compare_exchange_strong_explicit(w, &expect, owner,
							    memory_order_acquire,
							    memory_order_relaxed)) {
			/* Relaxed: a hint; a stale one costs a longer scan. */
			atomic_store_explicit(&c->hint, (idx + 1) % c->count, memory_order_relaxed);
			*block_out = (cls << ARENA_INDEX_BITS) | idx;
			return 0;
		}
	}
	return -ENOSPC;
}

int arena_alloc(struct arena *a, uint32_t len, uint32_t owner, uint32_t *block_out)
{
	int rc = -EMSGSIZE;

	if (owner == ARENA_OWNER_FREE || owner == ARENA_OWNER_QUEUED)
		return -EINVAL;
	for (uint32_t cls = 0; cls < a->class_count; cls++) {
		if (a->cls[cls].block_size < len)
			continue;
		rc = alloc_in_class(a, cls, owner, block_out);
		if (rc == 0)
			return 0;
	}
	return rc;
}

void *arena_block_data(struct arena *a, uint32_t block)
{
	uint32_t cls, idx;

	if (split(a, block, &cls, &idx) < 0)
		return NULL;
	return (char *)a + a->cls[cls].data_off + (size_t)idx * a->cls[cls].block_size;
}

uint32_t arena_block_size(const struct arena *a, uint32_t block)
{
	uint32_t cls, idx;

	if (split(a, block, &cls, &idx) < 0)
		return 0;
	return a->cls[cls].block_size;
}

void arena_set_owner(struct arena *a, uint32_t block, uint32_t owner)
{
	uint32_t cls, idx;

	if (split(a, block, &cls, &idx) < 0)
		return;
	/* Release, pairs with arena_owner()'s acquire (the supervisor checks a
	 * dead claim's block) and, for FREE, with the allocating CAS: the old
	 * owner's writes and reads of the block come before the hand-over. */
	atomic_store_explicit(owner_word(a, cls, idx), owner, memory_order_release);
}

uint32_t arena_owner(const struct arena *a, uint32_t block)
{
	uint32_t cls, idx;

	if (split(a, block, &cls, &idx) < 0)
		return ARENA_OWNER_FREE;
	/* Acquire, pairs with arena_set_owner()'s release. */
	return atomic_load_explicit(owner_word(a, cls, idx), memory_order_acquire);
}

/* A large block's pages go back to the system before it is free: after
 * a burst of 1 MB payloads the shared memory would otherwise stay
 * resident in every process that touched it. Done while the caller still
 * owns the block, so no new owner's data is dropped. MADV_REMOVE frees
 * the tmpfs pages under a shared mapping (next use faults in zeroes); on
 * memory that is not shared it fails, harmlessly. */
static void release_pages(struct arena *a, uint32_t block)
{
	long page = sysconf(_SC_PAGESIZE);
	uint32_t size = arena_block_size(a, block);
	uintptr_t start, end;

	if (size < ARENA_RELEASE_MIN || page <= 0)
		return;
	start = (uintptr_t)arena_block_data(a, block);
	end = (start + size) & ~((uintptr_t)page - 1);
	start = (start + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
	if (end > start)
		(void)madvise((void *)start, end - start, MADV_REMOVE);
}

void arena_free(struct arena *a, uint32_t block)
{
	release_pages(a, block);
	arena_set_owner(a, block, ARENA_OWNER_FREE);
}

uint32_t arena_reclaim(struct arena *a, uint32_t owner)
{
	uint32_t n = 0;

	for (uint32_t cls = 0; cls < a->class_count; cls++) {
		for (uint32_t idx = 0; idx < a->cls[cls].count; idx++) {
			_Atomic uint32_t *w = owner_word(a, cls, idx);
			uint32_t expect = owner;

			/* Release on success, pairs with the allocating CAS as
			 * arena_free's store does; the dead owner's own writes
			 * were ordered before us by the caller's waitpid(). A
			 * failed CAS reads a word we do not touch: relaxed. */
			if (atomic_compare_exchange_strong_explicit(w, &expect, ARENA_OWNER_FREE,
								    memory_order_release,
								    memory_order_relaxed))
				n++;
		}
	}
	return n;
}

uint32_t arena_free_count(const struct arena *a)
{
	uint32_t n = 0;

	for (uint32_t cls = 0; cls < a->class_count; cls++)
		for (uint32_t idx = 0; idx < a->cls[cls].count; idx++)
			/* Relaxed: a count for stats and tests, no data read. */
			if (atomic_load_explicit(owner_word(a, cls, idx), memory_order_relaxed) ==
			    ARENA_OWNER_FREE)
				n++;
	return n;
}
