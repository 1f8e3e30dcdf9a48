/* SPDX-License-Identifier: Apache-2.0 */
/* Whole files: read one into memory, write one so that readers see the
 * old content or the new, never a part; and a whole buffer onto a socket.
 * Negative errno, no messages (the caller names the file in its own);
 * libc only. */
#ifndef EW_FILE_H
#define EW_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Read all of `path` (at most max_bytes) into a malloc'd buffer with a NUL
 * after the last byte; the caller frees *buf_out. -ENOENT, -EACCES, ...
 * from open/read, -EISDIR, -EFBIG (larger than max_bytes), -ENOMEM. */
int file_read_all(const char *path, size_t max_bytes, char **buf_out, size_t *len_out)
	__attribute__((warn_unused_result));
/* The same with `path` relative to directory handle `dirfd` (openat;
 * AT_FDCWD is file_read_all), e.g. a file of one /proc/<pid>. */
int file_read_all_at(int dirfd, const char *path, size_t max_bytes, char **buf_out,
		     size_t *len_out) __attribute__((warn_unused_result));

/* Write data[0..len) to `path` through a unique temporary file beside it,
 * renamed over `path` when complete (a crash leaves the old file or none,
 * never a torn one). Not fsynced: a file that can be rewritten from the
 * store after a power loss does not need it. -errno from open, write,
 * close or rename; the temporary file is removed on failure. */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
	__attribute__((warn_unused_result));

/* Send all of data[0..len) on socket fd, through short writes and EINTR.
 * MSG_NOSIGNAL: a peer that went away is -EPIPE, not a SIGPIPE. -errno. */
int file_send_all(int fd, const void *data, size_t len) __attribute__((warn_unused_result));

#endif
