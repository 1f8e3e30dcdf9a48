/* SPDX-License-Identifier: Apache-2.0 */
/* acklog: accept/release/cancel, segments rotate and go once every line
 * in them is released, recovery hands back exactly the live lines with
 * every field (cancelled, cut-off and malformed lines skipped) and removes
 * the files, a failing callback keeps them, unusable fields are refused,
 * and a short write (RLIMIT_FSIZE) is cut back so no torn line remains.
 * Real files in a temp dir under /tmp. */
/* 32-bit builds (armhf; under qemu-user on a 64-bit host too) need the
 * 64-bit directory interface, or readdir fails (EOVERFLOW) on large
 * inode numbers and directory offsets and the segments go unseen. */
#define _FILE_OFFSET_BITS 64

#include "controller/acklog.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/tmpdir.h"

/* A fresh empty directory per case. */
static const char *fresh_dir(const char *name)
{
	static char p[256];

	snprintf(p, sizeof(p), "%s/%s", tmpdir_root("test_acklog"), name);
	mkdir(p, 0700);
	return p;
}

static int files_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "acks-", 5) == 0)
			n++;
	closedir(d);
	return n;
}

static struct entity_activation_info info_of(int i, char *id)
{
	snprintf(id, 33, "%032x", i);
	return (struct entity_activation_info){
		.activation_id = id, .ns = "guest", .path = "guest/utils", .name = "echo it",
		.version = "0.0.3", .kind = "nodejs:20", .cause = (i % 2) ? NULL : id,
		.timeout_ms = 60000 + (uint64_t)i, .memory_mb = 256, .logs_mb = 10, .concurrency = 1,
	};
}

struct seen {
	int n;
	int ids[64];
	bool fields_ok;
	int fail_at;                  /* return -EIO at this entry (0 = never) */
	int synced;                   /* calls with info NULL */
};

static int on_entry(void *arg, const struct entity_activation_info *info, uint64_t start_ms)
{
	struct seen *s = arg;
	char want_id[33];
	int i;
	struct entity_activation_info w;

	if (!info) {
		s->synced++;
		return 0;
	}
	i = (int)strtol(info->activation_id, NULL, 16);
	w = info_of(i, want_id);
	if (s->fail_at && s->n + 1 == s->fail_at)
		return -EIO;
	if (strcmp(info->activation_id, want_id) != 0 || strcmp(info->ns, w.ns) != 0 ||
	    strcmp(info->path, w.path) != 0 || strcmp(info->name, w.name) != 0 ||
	    strcmp(info->version, w.version) != 0 || strcmp(info->kind, w.kind) != 0 ||
	    (w.cause == NULL) != (info->cause == NULL) ||
	    (w.cause && strcmp(info->cause, want_id) != 0) || info->timeout_ms != w.timeout_ms ||
	    info->memory_mb != 256 || info->logs_mb != 10 || info->concurrency != 1 ||
	    start_ms != 5000 + (uint64_t)i)
		s->fields_ok = false;
	if (s->n < 64)
		s->ids[s->n] = i;
	s->n++;
	return 0;
}

static uint64_t accept_one(struct acklog *l, int i)
{
	char id[33];
	struct entity_activation_info info = info_of(i, id);
	struct err e = { 0 };
	uint64_t t = 0;

	if (acklog_accept(l, &info, 5000 + (uint64_t)i, &t, &e) != 0)
		HARNESS_FAIL("accept %d: %s", i, e.msg);
	return t;
}

static void test_recover_hands_back_live_lines(void)
{
	const char *dir = fresh_dir("recover");
	struct acklog *l = NULL;
	struct seen s = { .fields_ok = true };
	struct err e = { 0 };
	uint32_t n = 0, bad = 0;
	uint64_t t[6];
	char id[33];

	REQUIRE(acklog_open(dir, &l, &e) == 0);
	for (int i = 0; i < 6; i++)
		t[i] = accept_one(l, i + 1);
	CHECK(t[0] != 0);
	snprintf(id, sizeof(id), "%032x", 3);
	acklog_cancel(l, t[2], id);
	/* A released line stays in its file: recovery still sees it (the
	 * controller then finds its record and skips it). */
	acklog_release(l, t[4]);
	acklog_close(l);   /* a crash: nothing else happens */
	CHECK_INT_EQ(files_in(dir), 1);
	CHECK_INT_EQ(acklog_recover(dir, on_entry, &s, &n, &bad, &e), 0);
	CHECK_INT_EQ(n, 5);
	CHECK_INT_EQ(bad, 0);
	CHECK_INT_EQ(s.n, 5);
	CHECK(s.fields_ok);
	CHECK_INT_EQ(s.ids[0], 1);
	CHECK_INT_EQ(s.ids[1], 2);
	CHECK_INT_EQ(s.ids[2], 4);
	CHECK_INT_EQ(s.ids[4], 6);
	CHECK_INT_EQ(s.synced, 1);
	CHECK_INT_EQ(files_in(dir), 0);
	s.n = 0;
	CHECK_INT_EQ(acklog_recover(dir, on_entry, &s, &n, &bad, &e), 0);
	CHECK_INT_EQ(n, 0);
}

static void test_segments_rotate_and_go(void)
{
	const char *dir = fresh_dir("rotate");
	struct acklog *l = NULL;
	struct err e = { 0 };
	static uint64_t t[6000];
	int i;

	REQUIRE(acklog_open(dir, &l, &e) == 0);
	/* ~130 bytes a line: 6000 lines fill three 256 KiB segments and more. */
	for (i = 0; i < 6000; i++)
		t[i] = accept_one(l, i);
	CHECK(t[5999] > t[0]);
	CHECK(acklog_segments(l) >= 3);
	CHECK_INT_EQ(files_in(dir), (int)acklog_segments(l));
	for (i = 0; i < 5999; i++)
		acklog_release(l, t[i]);
	/* Released segments are gone; the current one stays. */
	CHECK_INT_EQ(acklog_segments(l), 1);
	CHECK_INT_EQ(files_in(dir), 1);
	acklog_close(l);   /* one line still open: its segment stays */
	CHECK_INT_EQ(files_in(dir), 1);
	/* A new log numbers after the old files; lines it released all go
	 * with it when it closes, the old file is recovery's. */
	REQUIRE(acklog_open(dir, &l, &e) == 0);
	t[0] = accept_one(l, 1);
	CHECK(t[0] > t[5999]);
	acklog_release(l, t[0]);
	CHECK_INT_EQ(files_in(dir), 2);
	acklog_release(l, t[0]);  /* once too often: harmless */
	acklog_close(l);
	CHECK_INT_EQ(files_in(dir), 1);
}

static void test_bad_lines_and_failing_callback(void)
{
	const char *dir = fresh_dir("bad");
	struct acklog *l = NULL;
	struct seen s = { .fields_ok = true, .fail_at = 2 };
	struct err e = { 0 };
	uint32_t n = 0, bad = 0;
	char path[300];
	FILE *f;

	REQUIRE(acklog_open(dir, &l, &e) == 0);
	accept_one(l, 1);
	accept_one(l, 2);
	acklog_close(l);
	snprintf(path, sizeof(path), "%s/acks-1.log", dir);
	f = fopen(path, "a");
	REQUIRE(f);
	fputs("a\tnot-an-id\t1\n", f);                                    /* malformed */
	fputs("a\t00000000000000000000000000000009\t5009\t600", f);     /* cut off */
	fclose(f);
	/* The callback fails at the second line: error, files kept. */
	CHECK(acklog_recover(dir, on_entry, &s, &n, &bad, &e) < 0);
	CHECK_STR_CONTAINS(e.msg, "failed");
	CHECK_INT_EQ(files_in(dir), 1);
	s = (struct seen){ .fields_ok = true };
	CHECK_INT_EQ(acklog_recover(dir, on_entry, &s, &n, &bad, &e), 0);
	CHECK_INT_EQ(n, 2);
	CHECK_INT_EQ(bad, 1);
	CHECK(s.fields_ok);
	CHECK_INT_EQ(files_in(dir), 0);
}

static void test_unusable_fields_refused(void)
{
	const char *dir = fresh_dir("fields");
	struct acklog *l = NULL;
	struct err e = { 0 };
	char id[33];
	struct entity_activation_info info = info_of(1, id);
	uint64_t t;

	REQUIRE(acklog_open(dir, &l, &e) == 0);
	info.name = "tab\there";
	CHECK_INT_EQ(acklog_accept(l, &info, 1, &t, &e), -EINVAL);
	info = info_of(1, id);
	info.kind = NULL;
	CHECK_INT_EQ(acklog_accept(l, &info, 1, &t, &e), -EINVAL);
	CHECK_INT_EQ(files_in(dir), 0);
	acklog_close(l);
}

static void test_short_write_cut_back(void)
{
	const char *dir = fresh_dir("short");
	struct acklog *l = NULL;
	struct seen s = { .fields_ok = true };
	struct rlimit old, lim;
	struct err e = { 0 };
	uint32_t n = 0, bad = 0;
	char path[300], id[33];
	struct entity_activation_info info = info_of(2, id);
	struct stat st;
	uint64_t t;
	int rc;

	REQUIRE(acklog_open(dir, &l, &e) == 0);
	accept_one(l, 1);
	snprintf(path, sizeof(path), "%s/acks-1.log", dir);
	REQUIRE(stat(path, &st) == 0);
	/* Room for a part of the next line only. */
	signal(SIGXFSZ, SIG_IGN);
	REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
	lim = old;
	lim.rlim_cur = (rlim_t)st.st_size + 20;
	REQUIRE(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	rc = acklog_accept(l, &info, 5002, &t, &e);
	setrlimit(RLIMIT_FSIZE, &old);
	CHECK(rc < 0);
	{
		struct stat st2;

		REQUIRE(stat(path, &st2) == 0);
		CHECK_INT_EQ(st2.st_size, st.st_size);
	}
	accept_one(l, 3);
	acklog_close(l);
	CHECK_INT_EQ(acklog_recover(dir, on_entry, &s, &n, &bad, &e), 0);
	CHECK_INT_EQ(n, 2);
	CHECK_INT_EQ(bad, 0);
	CHECK(s.fields_ok);
	CHECK_INT_EQ(s.ids[1], 3);
}

HARNESS_MAIN("acklog",
	     TEST_CASE(test_recover_hands_back_live_lines),
	     TEST_CASE(test_segments_rotate_and_go),
	     TEST_CASE(test_bad_lines_and_failing_callback),
	     TEST_CASE(test_unusable_fields_refused),
	     TEST_CASE(test_short_write_cut_back))
