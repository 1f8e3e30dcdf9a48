/* SPDX-License-Identifier: Apache-2.0 */
/* Heap memory given back after bursts (glibc). By default glibc raises
 * its mmap threshold to the largest block freed so far, so after one
 * 1 MB request every later one is carved from the heap, and freed heap
 * memory below live allocations is never returned: an idle controller
 * stayed at 150 MB after two large fires. */
#ifndef EW_MEM_H
#define EW_MEM_H

#include <stddef.h>

/* Once, at start, before threads: blocks of 128 KiB and more are mapped
 * and unmapped on their own (the threshold no longer moves), the top of
 * the heap is trimmed past 256 KiB free, at most two malloc arenas. */
void mem_tune(void);

/* A transient allocation of `bytes` happened (a request body, a
 * payload); only those of 64 KiB or more count. Thread-safe. */
void mem_note(size_t bytes);

/* Give free heap pages back to the system (malloc_trim) when 1 MiB or
 * more was noted since the last time; cheap otherwise. Thread-safe. */
void mem_give_back(void);

#endif
