/* SPDX-License-Identifier: Apache-2.0 */
/* Whole-file read and atomic write (see file.h). */
#include "common/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"

int file_read_all(const char *path, size_t max_bytes, char **buf_out, size_t *len_out)
{
	return file_read_all_at(AT_FDCWD, path, max_bytes, buf_out, len_out);
}

int file_read_all_at(int dirfd, const char *path, size_t max_bytes, char **buf_out,
		     size_t *len_out)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	size_t cap = 0, len = 0;
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			/* One byte past the limit is enough to tell "too big". */
			size_t ncap = cap ? cap * 2 : 4096;
			char *nbuf;

			if (cap > max_bytes)
				return -EFBIG;
			if (ncap > max_bytes + 1)
				ncap = max_bytes + 1;
			nbuf = realloc(buf, ncap + 1);
			if (!nbuf)
				return -ENOMEM;
			buf = nbuf;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max_bytes)
		return -EFBIG;
	if (!buf) {
		buf = malloc(1);
		if (!buf)
			return -ENOMEM;
	}
	buf[len] = '\0';
	*buf_out = TAKE_PTR(buf);
	if (len_out)
		*len_out = len;
	return 0;
}

int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	static _Atomic unsigned counter;
	const char *p = data;
	char tmp[4096];
	size_t off = 0;
	int fd, rc = 0, n;

	n = snprintf(tmp, sizeof(tmp), "%s.%d.%u.tmp", path, (int)getpid(),
		     atomic_fetch_add(&counter, 1));
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	while (rc == 0 && off < len) {
		ssize_t w = write(fd, p + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = w < 0 ? -errno : -EIO;
		else
			off += (size_t)w;
	}
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	/* Visible under its final name only when complete. */
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

int file_send_all(int fd, const void *data, size_t len)
{
	const char *c = data;

	while (len) {
		ssize_t w = send(fd, c, len, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EPIPE;
		c += w;
		len -= (size_t)w;
	}
	return 0;
}
