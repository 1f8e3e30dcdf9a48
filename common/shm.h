/* SPDX-License-Identifier: Apache-2.0 */
/* POSIX shared-memory regions: create (exclusive, 0600), attach, unmap,
 * unlink. Knows nothing of what is inside; the queue lays out and validates
 * its own header. */
#ifndef EW_SHM_H
#define EW_SHM_H

#include <stddef.h>

#include "common/err.h"

/* Create `name` ("/edgewhisk-act-v1") of `bytes`, zero-filled, and map it
 * read-write. -EEXIST when it exists (the caller decides whether to retire
 * and unlink it), other -errno from shm_open/ftruncate/mmap. */
int shm_region_create(const char *name, size_t bytes, void **base_out, struct err *e)
	__attribute__((warn_unused_result));

/* Map an existing region whole; its size goes to *bytes_out. -ENOENT when
 * it does not exist, -EPROTO when it is smaller than `min_bytes`. */
int shm_region_attach(const char *name, size_t min_bytes, void **base_out, size_t *bytes_out,
		      struct err *e) __attribute__((warn_unused_result));

/* Unmap (NULL is ignored). */
void shm_region_unmap(void *base, size_t bytes);

/* Remove the name; mappings stay valid. 0, or -errno (-ENOENT ignored by
 * most callers). */
int shm_region_unlink(const char *name);

#endif
