/* SPDX-License-Identifier: Apache-2.0 */
/* Heap tuning and trimming (see mem.h). */
#include "common/mem.h"

#include <malloc.h>
#include <stdatomic.h>

#define NOTE_MIN_BYTES (64u * 1024)  /* smaller ones leave no heap behind */
#define NOTE_TRIM_BYTES (1u << 20)

static _Atomic size_t noted;

void mem_tune(void)
{
	(void)mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	(void)mallopt(M_TRIM_THRESHOLD, 256 * 1024);
	(void)mallopt(M_ARENA_MAX, 2);
}

void mem_note(size_t bytes)
{
	/* Relaxed: a hint for when to trim, ordering nothing. */
	if (bytes >= NOTE_MIN_BYTES)
		atomic_fetch_add_explicit(&noted, bytes, memory_order_relaxed);
}

void mem_give_back(void)
{
	if (atomic_load_explicit(&noted, memory_order_relaxed) < NOTE_TRIM_BYTES)
		return;
	if (atomic_exchange_explicit(&noted, 0, memory_order_relaxed) >= NOTE_TRIM_BYTES)
		(void)malloc_trim(0);
}
