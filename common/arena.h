/* SPDX-License-Identifier: Apache-2.0 */
/* Payload arena in shared memory: fixed-size blocks in a few size classes,
 * each block with an owner word that is the only truth about who holds it.
 *
 * Why blocks and owner words: a payload larger than a ring slot is written
 * once, by its producer, straight into a block, and read in place by its
 * consumer; only the block id travels through the ring. No malloc and no
 * copy per hop. Allocation is a CAS of a block's owner word from FREE to the
 * caller's owner id (scanning from a per-class hint), so it is lock-free and
 * has no crash window: a block is always free, owned by a live or dead
 * client (reclaimed by arena_reclaim()), or in a queued message
 * (ARENA_OWNER_QUEUED, released by whoever consumes the message). */
#ifndef EW_ARENA_H
#define EW_ARENA_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define ARENA_MAX_CLASSES 4
#define ARENA_OWNER_FREE 0u
#define ARENA_OWNER_QUEUED 0xffffffffu
#define ARENA_NO_BLOCK 0xffffffffu
#define ARENA_RELEASE_MIN (256u * 1024) /* blocks this large give pages back on free */

struct arena_class {
	uint32_t block_size;       /* bytes, multiple of 64 */
	uint32_t count;            /* blocks */
	uint64_t owner_off;        /* from the arena start: uint32_t owner[count] */
	uint64_t data_off;         /* from the arena start: count * block_size */
	_Atomic uint32_t hint;     /* where the next scan starts */
	uint32_t pad;
};

struct arena {
	uint32_t class_count;
	uint32_t pad;
	uint64_t total_bytes;
	struct arena_class cls[ARENA_MAX_CLASSES];
};

/* Bytes for an arena of `n` classes, sizes ascending. */
size_t arena_bytes(const uint32_t *block_sizes, const uint32_t *counts, uint32_t n);

/* Lay out an arena with every block free. -EINVAL for bad sizes/counts
 * (sizes not ascending or not multiples of 64, a count of 0 or > 2^24, n
 * outside 1..ARENA_MAX_CLASSES). */
int arena_init(struct arena *a, const uint32_t *block_sizes, const uint32_t *counts, uint32_t n)
	__attribute__((warn_unused_result));

/* Take a free block of the smallest class that holds `len` bytes (a larger
 * class when that one is exhausted) for `owner` (1..0xfffffffe). Writes the
 * block id. -EMSGSIZE when len exceeds the largest class, -ENOSPC when every
 * fitting block is taken. Lock-free, multi-process safe. */
int arena_alloc(struct arena *a, uint32_t len, uint32_t owner, uint32_t *block_out)
	__attribute__((warn_unused_result));

/* Data of a block (block_size bytes), or NULL for an invalid id. */
void *arena_block_data(struct arena *a, uint32_t block);
uint32_t arena_block_size(const struct arena *a, uint32_t block);

/* Hand a block to a new owner (ARENA_OWNER_QUEUED when a message carrying
 * it is published). */
void arena_set_owner(struct arena *a, uint32_t block, uint32_t owner);
uint32_t arena_owner(const struct arena *a, uint32_t block);

/* Return a block to the free pool. The caller must hold it. A block of
 * ARENA_RELEASE_MIN bytes or more gives its pages back first (its data
 * reads as zeroes afterwards). */
void arena_free(struct arena *a, uint32_t block);

/* Free every block owned by `owner` (a client that died); returns how many. */
uint32_t arena_reclaim(struct arena *a, uint32_t owner);

/* Blocks currently free in all classes, a snapshot. */
uint32_t arena_free_count(const struct arena *a);

#endif
