/* SPDX-License-Identifier: Apache-2.0 */
/* Scope-bound cleanup (__attribute__((cleanup))) for plain C resources:
 * `_cleanup_free_ char *s = NULL;`, `_cleanup_close_ int fd = -1;`. Each
 * handler accepts the empty value (NULL, -1), so a variable is safe to
 * leave scope at any point after its declaration. Hand ownership out with
 * TAKE_PTR / TAKE_FD. Library-specific ones live with the module that owns
 * the library (_cleanup_json_ in json.h). libc only. */
#ifndef EW_CLEANUP_H
#define EW_CLEANUP_H

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cleanup_freep(void *p)
{
	free(*(void **)p);
}

static inline void cleanup_closep(const int *fd)
{
	if (*fd >= 0) {
		/* close(2) after EINTR leaves the fd closed on Linux: no retry. */
		int saved = errno;

		(void)close(*fd);
		errno = saved;
	}
}

#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))

/* Return *p and leave NULL behind, so the cleanup handler skips it. */
#define TAKE_PTR(p)                              \
	({                                       \
		__typeof__(p) take_ptr_tmp_ = (p); \
		(p) = NULL;                      \
		take_ptr_tmp_;                   \
	})

#define TAKE_FD(fd)                    \
	({                             \
		int take_fd_tmp_ = (fd); \
		(fd) = -1;             \
		take_fd_tmp_;          \
	})

#endif
