/* SPDX-License-Identifier: Apache-2.0 */
/* file: whole-file read with its limit, atomic write (no temporary left
 * behind, old content replaced whole), cleanup attributes, the clock; a
 * whole buffer sent on a socket larger than its buffer, and -EPIPE (no
 * signal) once the peer is gone. */
/* 32-bit builds (armhf, under qemu-user on a 64-bit host) need the
 * 64-bit directory interface, or readdir fails on large inode numbers. */
#define _FILE_OFFSET_BITS 64

#include "common/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/now.h"
#include "tests/harness.h"

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ew-test-file-XXXXXX");
	REQUIRE(mkdtemp(dir) != NULL);
}

static int count_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_write_then_read(void)
{
	char path[128], *buf = NULL;
	size_t len = 0;

	make_dir();
	snprintf(path, sizeof(path), "%s/f", dir);
	CHECK_INT_EQ(file_read_all(path, 100, &buf, &len), -ENOENT);
	REQUIRE(file_write_atomic(path, "first version", 13, 0600) == 0);
	REQUIRE(file_write_atomic(path, "second", 6, 0600) == 0);
	CHECK_INT_EQ(count_entries(), 1); /* no temporary left */
	REQUIRE(file_read_all(path, 100, &buf, &len) == 0);
	CHECK_INT_EQ(len, 6);
	CHECK_STR_EQ(buf, "second"); /* NUL-terminated, whole */
	free(buf);
	CHECK_INT_EQ(file_read_all(path, 5, &buf, &len), -EFBIG);
	REQUIRE(file_read_all(path, 6, &buf, &len) == 0);
	free(buf);
	REQUIRE(file_write_atomic(path, "", 0, 0600) == 0);
	REQUIRE(file_read_all(path, 6, &buf, &len) == 0);
	CHECK_INT_EQ(len, 0);
	CHECK_STR_EQ(buf, "");
	free(buf);
	CHECK_INT_EQ(file_read_all(dir, 100, &buf, &len), -EISDIR);
	unlink(path);
	rmdir(dir);
}

static void test_write_failure_leaves_nothing(void)
{
	char path[160];

	make_dir();
	snprintf(path, sizeof(path), "%s/missing/f", dir);
	CHECK_INT_EQ(file_write_atomic(path, "x", 1, 0600), -ENOENT);
	/* Renaming over a directory fails after the write: the temp goes. */
	snprintf(path, sizeof(path), "%s/sub", dir);
	REQUIRE(mkdir(path, 0700) == 0);
	CHECK(file_write_atomic(path, "x", 1, 0600) < 0);
	CHECK_INT_EQ(count_entries(), 1);
	rmdir(path);
	rmdir(dir);
}

static int closed_fd = -1;

static void take_ownership(void)
{
	_cleanup_close_ int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *p = strdup("kept");
	char *mine;

	REQUIRE(fd >= 0 && p);
	closed_fd = TAKE_FD(fd);
	CHECK_INT_EQ(fd, -1);
	mine = TAKE_PTR(p);
	CHECK(p == NULL);
	CHECK_STR_EQ(mine, "kept");
	free(mine);
}

static void test_cleanup_and_take(void)
{
	int fd;

	take_ownership();
	/* TAKE_FD kept the descriptor open past the scope. */
	CHECK(fcntl(closed_fd, F_GETFD) >= 0);
	close(closed_fd);
	{
		_cleanup_close_ int inner = open("/dev/null", O_RDONLY | O_CLOEXEC);

		fd = inner;
		REQUIRE(fd >= 0);
	}
	CHECK(fcntl(fd, F_GETFD) < 0 && errno == EBADF);
}

static void test_clock(void)
{
	uint64_t a = now_mono_ns(), b, ms = now_epoch_ms();

	usleep(2000);
	b = now_mono_ns();
	CHECK(b - a >= 2000000u);
	CHECK(now_mono_us() >= a / 1000);
	CHECK(now_mono_ms() >= a / 1000000);
	/* After 2020-01-01, before 2100. */
	CHECK(ms > 1577836800000ull && ms < 4102444800000ull);
}

/* Relative to a directory handle: a /proc file, whose size stat reports
 * as 0, is read whole. */
static void test_read_at(void)
{
	int dfd = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *buf = NULL;
	size_t len = 0;

	REQUIRE(dfd >= 0);
	REQUIRE(file_read_all_at(dfd, "status", 65536, &buf, &len) == 0);
	CHECK(len > 0 && strlen(buf) == len);
	CHECK(strncmp(buf, "Name:", 5) == 0);
	free(buf);
	CHECK_INT_EQ(file_read_all_at(dfd, "no-such-file", 100, &buf, &len), -ENOENT);
	close(dfd);
}

struct drain {
	int fd;
	size_t got;
	unsigned char last;
};

static void *drain_main(void *arg)
{
	struct drain *d = arg;
	unsigned char b[4096];
	ssize_t n;

	while ((n = read(d->fd, b, sizeof(b))) > 0) {
		d->got += (size_t)n;
		d->last = b[n - 1];
	}
	return NULL;
}

static void test_send_all(void)
{
	size_t len = 4u << 20; /* well past a socket buffer: short writes */
	unsigned char *big = malloc(len);
	struct drain d = { 0 };
	pthread_t t;
	int sv[2];

	REQUIRE(big);
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	memset(big, 'a', len);
	big[len - 1] = 'z';
	d.fd = sv[1];
	REQUIRE(pthread_create(&t, NULL, drain_main, &d) == 0);
	CHECK_INT_EQ(file_send_all(sv[0], big, len), 0);
	close(sv[0]);
	pthread_join(t, NULL);
	CHECK(d.got == len);
	CHECK_INT_EQ(d.last, 'z');
	close(sv[1]);

	/* The peer is gone: an error, and the process is still here. */
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	close(sv[1]);
	CHECK_INT_EQ(file_send_all(sv[0], "x", 1), -EPIPE);
	close(sv[0]);
	free(big);
}

HARNESS_MAIN("test_file", TEST_CASE(test_send_all), TEST_CASE(test_read_at), TEST_CASE(test_write_then_read),
	     TEST_CASE(test_write_failure_leaves_nothing), TEST_CASE(test_cleanup_and_take),
	     TEST_CASE(test_clock))
