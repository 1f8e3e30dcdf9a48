/* SPDX-License-Identifier: Apache-2.0 */
/* logs: per-activation collection from real json-file logs in a temp dir —
 * split at the sentinel pair across warm reuse, waiting for a late
 * sentinel, giving up, the byte limit, Docker's partial records, garbage,
 * records split across reads, truncated and rotated files, line format. */
#include "invoker/logs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness.h"

#define SENT LOGS_SENTINEL
#define MSG_FAILURE "There was an issue while collecting your logs. Data might be missing."

static char dir[64];

static void dir_cleanup(void)
{
	DIR *d;
	struct dirent *de;
	char p[512];

	if (!dir[0] || !(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

/* A fresh file path in the test directory. */
static const char *file_path(const char *name)
{
	static char p[8][256];
	static int i;
	char *out = p[i++ % 8];

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/test_logs.XXXXXX");
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			exit(1);
		}
		atexit(dir_cleanup);
	}
	snprintf(out, 256, "%s/%s-json.log", dir, name);
	unlink(out);
	return out;
}

/* Docker's RFC3339Nano times: 30 characters with all 9 digits. */
static const char *T(int sec)
{
	static char buf[16][40];
	static int i;
	char *out = buf[i++ % 16];

	snprintf(out, 40, "2026-11-26T14:53:%02d.525594048Z", sec);
	return out;
}

/* One json-file record exactly as Docker writes it, "\n" included. */
static char *rec(const char *time, const char *stream, const char *text, size_t *len)
{
	size_t tl = strlen(text), cap = tl * 6 + strlen(time) + 64, n = 0;
	char *b = malloc(cap);

	if (!b)
		abort();
	n += (size_t)snprintf(b + n, cap - n, "{\"log\":\"");
	for (size_t i = 0; i < tl; i++) {
		unsigned char ch = (unsigned char)text[i];

		if (ch == '"' || ch == '\\') {
			b[n++] = '\\';
			b[n++] = (char)ch;
		} else if (ch == '\n') {
			b[n++] = '\\';
			b[n++] = 'n';
		} else if (ch < 0x20) {
			n += (size_t)snprintf(b + n, cap - n, "\\u%04x", ch);
		} else {
			b[n++] = (char)ch;
		}
	}
	n += (size_t)snprintf(b + n, cap - n, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n", stream, time);
	*len = n;
	return b;
}

static void append_raw(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		perror(path);
		exit(1);
	}
	close(fd);
}

/* Append a record; returns its length in bytes. */
static size_t put(const char *path, const char *time, const char *stream, const char *text)
{
	size_t len;
	char *b = rec(time, stream, text, &len);

	append_raw(path, b, len);
	free(b);
	return len;
}

/* The runtime's end of an activation: sentinel on stdout, then stderr. */
static size_t put_sentinels(const char *path, int sec)
{
	return put(path, T(sec), "stdout", SENT "\n") + put(path, T(sec), "stderr", SENT "\n");
}

static uint64_t size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static const char *line_at(const struct logs_result *res, int i)
{
	const cJSON *it = cJSON_GetArrayItem(res->lines, i);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static int nlines(const struct logs_result *res)
{
	return cJSON_GetArraySize(res->lines);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- pure formatting ---- */

static void test_format_line_exact(void)
{
	const char *l1 = "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-26T14:53:33.525594048Z\"}";
	const char *l2 = "{\"log\":\"oops: \\\"x\\\"\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-26T14:53:33.5255Z\"}";
	const char *l3 = "{\"log\":\"no newline\",\"stream\":\"stdout\",\"time\":\"2026-11-26T14:53:33Z\"}";
	const char *l4 = "{\"log\":\"  indented \\n\",\"stream\":\"stdout\",\"time\":\"2026-11-26T14:53:33.525594048123Z\"}";
	const char *l5 = "{\"log\":\"a\\r\\nb\\r\\r\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-26T14:53:33.525594048Z\"}";
	bool sent = true;
	int stream = 0;
	char *s;

	/* A full 30-character time: exactly one space before the stream. */
	s = logs_format_line(l1, strlen(l1), &sent, &stream);
	CHECK_STR_EQ(s, "2026-11-26T14:53:33.525594048Z stdout: hello");
	CHECK(!sent);
	CHECK_INT_EQ(stream, 1);
	free(s);
	/* Docker trims trailing zeros: the time is padded to 30. */
	s = logs_format_line(l2, strlen(l2), &sent, &stream);
	CHECK_STR_EQ(s, "2026-11-26T14:53:33.5255Z      stderr: oops: \"x\"");
	CHECK_INT_EQ(stream, 2);
	free(s);
	s = logs_format_line(l3, strlen(l3), &sent, &stream);
	CHECK_STR_EQ(s, "2026-11-26T14:53:33Z           stdout: no newline");
	free(s);
	/* Longer than 30: no padding, no cut; leading blanks of the text stay. */
	s = logs_format_line(l4, strlen(l4), &sent, &stream);
	CHECK_STR_EQ(s, "2026-11-26T14:53:33.525594048123Z stdout:   indented ");
	free(s);
	/* CRLF goes as a whole, like upstream's stripLineEnd; inner ones stay. */
	s = logs_format_line(l5, strlen(l5), &sent, &stream);
	CHECK_STR_EQ(s, "2026-11-26T14:53:33.525594048Z stdout: a\r\nb\r");
	free(s);
	/* Only `len` bytes are read: the same record cut short is not one. */
	CHECK(logs_format_line(l1, strlen(l1) - 1, &sent, &stream) == NULL);
}

static void test_format_line_sentinel_and_garbage(void)
{
	const char *s1 = "{\"log\":\"" SENT "\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-26T14:53:33.525594048Z\"}";
	const char *s2 = "{\"log\":\"partial" SENT "\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-26T14:53:33.525594048Z\"}";
	const char *s3 = "{\"log\":\"" SENT " and more\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-26T14:53:33.525594048Z\"}";
	const char *bad[] = {
		"",
		"not json at all",
		"{\"log\":\"x\\n\",\"stream\":\"stdout\"",
		"{\"log\":\"x\\n\",\"stream\":\"stdin\",\"time\":\"t\"}",
		"{\"log\":\"x\\n\",\"stream\":\"stdout\"}",
		"{\"log\":1,\"stream\":\"stdout\",\"time\":\"t\"}",
		"[\"log\",\"stream\",\"time\"]",
		"{\"log\":\"x\\n\",\"stream\":\"stdout\",\"time\":\"t\"} trailing",
	};
	bool sent = false;
	int stream = 0;
	char *s;

	s = logs_format_line(s1, strlen(s1), &sent, &stream);
	CHECK(s == NULL);
	CHECK(sent);
	CHECK_INT_EQ(stream, 2);
	/* Output without a newline right before the runtime's sentinel. */
	sent = false;
	s = logs_format_line(s2, strlen(s2), &sent, &stream);
	CHECK(sent);
	CHECK_STR_EQ(s, "2026-11-26T14:53:33.525594048Z stdout: partial");
	free(s);
	/* The sentinel must end the text. */
	s = logs_format_line(s3, strlen(s3), &sent, &stream);
	CHECK(!sent);
	CHECK_STR_EQ(s, "2026-11-26T14:53:33.525594048Z stdout: " SENT " and more");
	free(s);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sent = true;
		s = logs_format_line(bad[i], strlen(bad[i]), &sent, &stream);
		if (s)
			HARNESS_FAIL("garbage %zu formatted as \"%s\"", i, s);
		CHECK(!sent);
		free(s);
	}
	CHECK(logs_format_line(NULL, 0, NULL, NULL) == NULL);
}

/* ---- collection ---- */

static void test_two_activations_back_to_back(void)
{
	const char *path = file_path("b2b");
	struct logs_reader r;
	struct logs_result res;
	struct err e = { 0 };
	uint64_t end_a;

	put(path, T(1), "stdout", "a1\n");
	put(path, T(2), "stderr", "a2\n");
	put(path, T(3), "stdout", "a3\n");
	put_sentinels(path, 4);
	end_a = size_of(path);
	put(path, T(5), "stdout", "b1\n");
	put(path, T(6), "stderr", "b2\n");
	put_sentinels(path, 7);

	logs_reader_init(&r);
	REQUIRE(logs_collect(&r, path, 1 << 20, true, 2000, 10000, &res, &e) == 0);
	CHECK_INT_EQ(nlines(&res), 3);
	CHECK_STR_EQ(line_at(&res, 0), "2026-11-26T14:53:01.525594048Z stdout: a1");
	CHECK_STR_EQ(line_at(&res, 1), "2026-11-26T14:53:02.525594048Z stderr: a2");
	CHECK_STR_EQ(line_at(&res, 2), "2026-11-26T14:53:03.525594048Z stdout: a3");
	CHECK(res.complete);
	CHECK(!res.truncated);
	CHECK_INT_EQ(res.bytes, 6);
	CHECK_INT_EQ(r.offset, end_a);
	/* B's bytes were read with A's and wait in the buffer, unconsumed. */
	CHECK_INT_EQ(r.offset + r.partial_len, size_of(path));
	logs_result_fini(&res);
	CHECK(res.lines == NULL);

	REQUIRE(logs_collect(&r, path, 1 << 20, true, 2000, 10000, &res, &e) == 0);
	CHECK_INT_EQ(nlines(&res), 2);
	CHECK_STR_EQ(line_at(&res, 0), "2026-11-26T14:53:05.525594048Z stdout: b1");
	CHECK_STR_EQ(line_at(&res, 1), "2026-11-26T14:53:06.525594048Z stderr: b2");
	CHECK(res.complete);
	CHECK_INT_EQ(r.offset, size_of(path));
	CHECK_INT_EQ(r.partial_len, 0);
	logs_result_fini(&res);

	/* Nothing new, not waiting: empty, incomplete, no notice. */
	REQUIRE(logs_collect(&r, path, 1 << 20, false, 0, 0, &res, &e) == 0);
	CHECK_INT_EQ(nlines(&res), 0);
	CHECK(!res.complete);
	CHECK_INT_EQ(r.offset, size_of(path));
	logs_result_fini(&res);
	logs_reader_fini(&r);
	CHECK_INT_EQ(r.fd, -1);
	CHECK(r.partial == NULL);
}

struct late_writer {
	const char *path;
	unsigned delay_ms;
};

static void *late_writer_main(void *arg)
{
	struct late_writer *w = arg;

	nanosleep(&(struct timespec){ .tv_nsec = (long)w->delay_ms * 1000000L }, NULL);
	put(w->path, T(9), "stderr", "late\n");
	put(w->path, T(9), "stderr", SENT "\n");
	put(w->path, T(10), "stdout", "next activation\n");
	return NULL;
}

static void test_sentinel_arrives_later(void)
{
	const char *path = file_path("late");
	struct late_writer w = { path, 40 };
	struct logs_reader r;
	struct logs_result res;
	struct err e = { 0 };
	pthread_t th;
	uint64_t t0;

	put(path, T(1), "stdout", "early\n");
	put(path, T(2), "stdout", SENT "\n");
	logs_reader_init(&r);
	REQUIRE(pthread_create(&th, NULL, late_writer_main, &w) == 0);
	t0 = now_ms();
	REQUIRE(logs_collect(&r, path, 1 << 20, true, 2000, 10000, &res, &e) == 0);
	pthread_join(th, NULL);
	CHECK(now_ms() - t0 < 2000);
	CHECK(res.complete);
	CHECK_INT_EQ(nlines(&res), 2);
	CHECK_STR_EQ(line_at(&res, 0), "2026-11-26T14:53:01.525594048Z stdout: early");
	CHECK_STR_EQ(line_at(&res, 1), "2026-11-26T14:53:09.525594048Z stderr: late");
	/* The next activation's line stays in the file for the next call. */
	{
		size_t len;
		char *next = rec(T(10), "stdout", "next activation\n", &len);

		CHECK_INT_EQ(r.offset, size_of(path) - len);
		free(next);
	}
	logs_result_fini(&res);
	REQUIRE(logs_collect(&r, path, 1 << 20, false, 0, 0, &res, &e) == 0);
	CHECK_INT_EQ(nlines(&res), 1);
	CHECK_STR_EQ(line_at(&res, 0), "2026-11-26T14:53:10.525594048Z stdout: next activation");
	logs_result_fini(&res);
	logs_reader_fini(&r);
}

static void test_missing_sentinel_gives_up(void)
{
	const char *path = file_path("missing");
	struct logs_reader r;
	struct logs_result res;
	struct err e = { 0 };
	uint64_t t0, dt;
	const char *last;

	put(path, T(1), "stdout", "only\n");
	put(path, T(2), "stdout", SENT "\n");
	logs_reader_init(&r);
	t0 = now_ms();
	REQUIRE(logs_collect(&r, path, 1 << 20, true, 60, 10000, &res, &e) == 0);
	dt = now_ms() - t0;
	CHECK(dt >= 55);
	CHECK(dt < 1500);
	CHECK(!res.complete);
	REQUIRE(nlines(&res) == 2);
	CHECK_STR_EQ(line_at(&res, 0), "2026-11-26T14:53:01.525594048Z stdout: only");
	last = line_at(&res, 1);
	REQUIRE(last != NULL);
	/* "<now, 30 chars> stderr: <notice>" */
	CHECK_INT_EQ(strlen(last), 30 + strlen(" stderr: " MSG_FAILURE));
	CHECK_STR_EQ(last + 30, " stderr: " MSG_FAILURE);
	CHECK(last[4] == '-' && last[10] == 'T' && last[29] == 'Z');
	CHECK_INT_EQ(r.offset, size_of(path));
	logs_result_fini(&res);

	/* total_ms caps the wait even while idle_ms would allow more. */
	t0 = now_ms();
	REQUIRE(logs_collect(&r, path, 1 << 20, true, 5000, 50, &res, &e) == 0);
	dt = now_ms() - t0;
	CHECK(dt >= 45);
	CHECK(dt < 1500);
	CHECK(!res.complete);
	CHECK_INT_EQ(nlines(&res), 1);
	CHECK_STR_CONTAINS(line_at(&res, 0), MSG_FAILURE);
	logs_result_fini(&res);

	/* Not waiting (blackbox): no notice. */
	put(path, T(3), "stdout", "bb\n");
	REQUIRE(logs_collect(&r, path, 1 << 20, false, 0, 0, &res, &e) == 0);
	CHECK(!res.complete);
	CHECK_INT_EQ(nlines(&res), 1);
	CHECK_STR_EQ(line_at(&res, 0), "2026-11-26T14:53:03.525594048Z stdout: bb");
	logs_result_fini(&res);
	logs_reader_fini(&r);
}

static void test_limit_truncates_with_notice(void)
{
	const char *path = file_path("limit");
	struct logs_reader r;
	struct logs_result res;
	struct err e = { 0 };

	put(path, T(1), "stdout", "aaaa\n");   /* 4 */
	put(path, T(2), "stderr", "bbbbbb\n"); /* 6: exactly at the limit */
	put(path, T(3), "stdout", "cc\n");     /* would pass it */
	put(path, T(4), "stdout", "d\n");      /* would fit, but the cut is final */
	put_sentinels(path, 5);
	put(path, T(6), "stdout", "next\n");
	logs_reader_init(&r);
	REQUIRE(logs_collect(&r, path, 10, true, 2000, 10000, &res, &e) == 0);
	REQUIRE(nlines(&res) == 3);
	CHECK_STR_EQ(line_at(&res, 0), "2026-11-26T14:53:01.525594048Z stdout: aaaa");
	CHECK_STR_EQ(line_at(&res, 1), "2026-11-26T14:53:02.525594048Z stderr: bbbbbb");
	CHECK_STR_EQ(line_at(&res, 2), "2026-11-26T14:53:03.525594048Z stderr: Logs were truncated "
				       "because the total bytes size exceeds the limit of 10 bytes.");
	CHECK(res.truncated);
	CHECK(res.complete);
	CHECK_INT_EQ(res.bytes, 10);
	logs_result_fini(&res);
	/* Consumed up to the sentinels anyway. */
	REQUIRE(logs_collect(&r, path, 10, false, 0, 0, &res, &e) == 0);
	CHECK_INT_EQ(nlines(&res), 1);
	CHECK_STR_EQ(line_at(&res, 0), "2026-11-26T14:53:06.525594048Z stdout: next");
	CHECK(!res.truncated);
	logs_result_fini(&res);
	logs_reader_fini(&r);

	/* Even the first line can be over the limit (OpenWhisk keeps "1 bytes"). */
	path = file_path("limit2");
	put(path, T(1), "stdout", "xx\n");
	put_sentinels(path, 2);
	logs_reader_init(&r);
	REQUIRE(logs_collect(&r, path, 1, true, 2000, 10000, &res, &e) == 0);
	REQUIRE(nlines(&res) == 1);
	CHECK_STR_EQ(line_at(&res, 0), "2026-11-26T14:53:01.525594048Z stderr: Logs were truncated "
				       "because the total bytes size exceeds the limit of 1 bytes.");
	CHECK_INT_EQ(res.bytes, 0);
	logs_result_fini(&res);
	logs_reader_fini(&r);
}

static void test_limit_zero_skips_to_sentinels(void)
{
	const char *path = file_path("zero");
	struct logs_reader r;
	struct logs_result res;
	struct err e = { 0 };
	uint64_t end_a;

	put(path, T(1), "stdout", "hidden\n");
	put(path, T(2), "stderr", "hidden too\n");
	put_sentinels(path, 3);
	end_a = size_of(path);
	put(path, T(4), "stdout", "b\n");
	put_sentinels(path, 5);
	logs_reader_init(&r);
	REQUIRE(logs_collect(&r, path, 0, true, 2000, 10000, &res, &e) == 0);
	CHECK_INT_EQ(nlines(&res), 0);
	CHECK(res.complete);
	CHECK(!res.truncated);
	CHECK_INT_EQ(res.bytes, 0);
	CHECK_INT_EQ(r.offset, end_a);
	logs_result_fini(&res);
	REQUIRE(logs_collect(&r, path, 100, true, 2000, 10000, &res, &e) == 0);
	CHECK_INT_EQ(nlines(&res), 1);
	CHECK_STR_EQ(line_at(&res, 0), "2026-11-26T14:53:04.525594048Z stdout: b");
	logs_result_fini(&res);
	logs_reader_fini(&r);
}

static void test_partial_records_joined(void)
{
	const char *path = file_path("partial");
	struct logs_reader r;
	struct logs_result res;
	struct err e = { 0 };
	size_t big = 3 * 16384 + 100;
	char *chunk = malloc(16385);
	const char *l;

	REQUIRE(chunk);
	/* Interleaved with a whole stderr line; joined per stream. */
	put(path, T(1), "stdout", "abc");
	put(path, T(2), "stderr", "err1\n");
	put(path, T(3), "stdout", "def");
	put(path, T(4), "stdout", "ghi\n");
	/* A long line in 16 KiB records (more than one read buffer). */
	for (int i = 0; i < 3; i++) {
		memset(chunk, 'a' + i, 16384);
		chunk[16384] = '\0';
		put(path, T(5 + i), "stderr", chunk);
	}
	memset(chunk, 'z', 100);
	chunk[100] = '\n';
	chunk[101] = '\0';
	put(path, T(8), "stderr", chunk);
	/* Text without a newline right before the sentinel. */
	put(path, T(9), "stdout", "no newline" SENT "\n");
	put(path, T(9), "stderr", SENT "\n");
	logs_reader_init(&r);
	REQUIRE(logs_collect(&r, path, 1 << 20, true, 2000, 10000, &res, &e) == 0);
	CHECK(res.complete);
	REQUIRE(nlines(&res) == 4);
	CHECK_STR_EQ(line_at(&res, 0), "2026-11-26T14:53:02.525594048Z stderr: err1");
	CHECK_STR_EQ(line_at(&res, 1), "2026-11-26T14:53:01.525594048Z stdout: abcdefghi");
	l = line_at(&res, 2);
	REQUIRE(l);
	CHECK_INT_EQ(strlen(l), 30 + strlen(" stderr: ") + big);
	CHECK(strncmp(l, "2026-11-26T14:53:05.525594048Z stderr: aaaa", 43) == 0);
	CHECK(l[39 + 16383] == 'a' && l[39 + 16384] == 'b' && l[39 + 32768] == 'c');
	CHECK(l[39 + 49152] == 'z' && l[39 + big - 1] == 'z');
	CHECK_STR_EQ(line_at(&res, 3), "2026-11-26T14:53:09.525594048Z stdout: no newline");
	CHECK_INT_EQ(res.bytes, 4 + 9 + big + 10);
	CHECK_INT_EQ(r.offset, size_of(path));
	logs_result_fini(&res);
	logs_reader_fini(&r);

	/* The joined line counts whole against the limit. */
	logs_reader_init(&r);
	REQUIRE(logs_collect(&r, path, 20000, true, 2000, 10000, &res, &e) == 0);
	REQUIRE(nlines(&res) == 3);
	CHECK_STR_EQ(line_at(&res, 2), "2026-11-26T14:53:05.525594048Z stderr: Logs were truncated "
				       "because the total bytes size exceeds the limit of 20000 bytes.");
	CHECK(res.complete);
	CHECK_INT_EQ(r.offset, size_of(path));
	logs_result_fini(&res);
	logs_reader_fini(&r);
	free(chunk);
}

static void test_garbage_skipped(void)
{
	const char *path = file_path("garbage");
	struct logs_reader r;
	struct logs_result res;
	struct err e = { 0 };
	size_t huge = 3u << 20;
	char *junk = malloc(huge + 1);
	static const char lines[] =
		"not json\n"
		"\n"
		"{broken\n"
		"{}\n"
		"[1,2,3]\n"
		"{\"log\":\"x\\n\",\"stream\":\"stdin\",\"time\":\"t\"}\n"
		"{\"log\":\"x\\n\",\"stream\":\"stdout\"}\n"
		"\x01\xff\xfe binary\n";

	REQUIRE(junk);
	put(path, T(1), "stdout", "one\n");
	append_raw(path, lines, sizeof(lines) - 1);
	/* A "line" of 3 MiB without a newline, then one. */
	memset(junk, '{', huge);
	junk[huge] = '\n';
	append_raw(path, junk, huge + 1);
	put(path, T(2), "stderr", "two\n");
	append_raw(path, "{\"log\":\"" SENT "\\n\"}\n", strlen("{\"log\":\"" SENT "\\n\"}\n"));
	put_sentinels(path, 3);
	logs_reader_init(&r);
	REQUIRE(logs_collect(&r, path, 1 << 20, true, 2000, 10000, &res, &e) == 0);
	CHECK(res.complete);
	REQUIRE(nlines(&res) == 2);
	CHECK_STR_EQ(line_at(&res, 0), "2026-11-26T14:53:01.525594048Z stdout: one");
	CHECK_STR_EQ(line_at(&res, 1), "2026-11-26T14:53:02.525594048Z stderr: two");
	CHECK_INT_EQ(r.offset, size_of(path));
	/* The big line did not pin a big buffer. */
	CHECK(r.partial_cap <= 64 * 1024);
	logs_result_fini(&res);
	logs_reader_fini(&r);
	free(junk);

	/* A file of only garbage and no newline at all, not waiting. */
	path = file_path("garbage2");
	junk = malloc(huge);
	REQUIRE(junk);
	memset(junk, 'x', huge);
	append_raw(path, junk, huge);
	logs_reader_init(&r);
	REQUIRE(logs_collect(&r, path, 1 << 20, false, 0, 0, &res, &e) == 0);
	CHECK_INT_EQ(nlines(&res), 0);
	CHECK(!res.complete);
	CHECK(r.offset + r.partial_len == huge);
	logs_result_fini(&res);
	logs_reader_fini(&r);
	free(junk);
}

static void test_record_split_across_reads(void)
{
	const char *path = file_path("split");
	struct logs_reader r;
	struct logs_result res;
	struct err e = { 0 };
	size_t len, half;
	char *b = rec(T(1), "stdout", "split record\n", &len);

	half = len / 2;
	append_raw(path, b, half);
	logs_reader_init(&r);
	REQUIRE(logs_collect(&r, path, 1 << 20, false, 0, 0, &res, &e) == 0);
	CHECK_INT_EQ(nlines(&res), 0);
	CHECK_INT_EQ(r.offset, 0);
	CHECK_INT_EQ(r.partial_len, half);
	logs_result_fini(&res);

	append_raw(path, b + half, len - half);
	put_sentinels(path, 2);
	REQUIRE(logs_collect(&r, path, 1 << 20, true, 2000, 10000, &res, &e) == 0);
	CHECK(res.complete);
	REQUIRE(nlines(&res) == 1);
	CHECK_STR_EQ(line_at(&res, 0), "2026-11-26T14:53:01.525594048Z stdout: split record");
	CHECK_INT_EQ(r.offset, size_of(path));
	logs_result_fini(&res);
	logs_reader_fini(&r);
	free(b);
}

struct split_writer {
	const char *path;
	const char *rest;
	size_t rest_len;
};

static void *split_writer_main(void *arg)
{
	struct split_writer *w = arg;

	nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000000L }, NULL);
	append_raw(w->path, w->rest, w->rest_len);
	nanosleep(&(struct timespec){ .tv_nsec = 5 * 1000000L }, NULL);
	put_sentinels(w->path, 2);
	return NULL;
}

/* The same while waiting: the writer finishes the record later. */
static void test_record_split_while_waiting(void)
{
	const char *path = file_path("split2");
	struct logs_reader r;
	struct logs_result res;
	struct err e = { 0 };
	size_t len;
	char *b = rec(T(1), "stderr", "waited for\n", &len);
	struct split_writer w = { path, b + 10, len - 10 };
	pthread_t th;

	append_raw(path, b, 10);
	logs_reader_init(&r);
	REQUIRE(pthread_create(&th, NULL, split_writer_main, &w) == 0);
	REQUIRE(logs_collect(&r, path, 1 << 20, true, 2000, 10000, &res, &e) == 0);
	pthread_join(th, NULL);
	CHECK(res.complete);
	REQUIRE(nlines(&res) == 1);
	CHECK_STR_EQ(line_at(&res, 0), "2026-11-26T14:53:01.525594048Z stderr: waited for");
	CHECK_INT_EQ(r.offset, size_of(path));
	logs_result_fini(&res);
	logs_reader_fini(&r);
	free(b);
}

/* More than one read buffer of lines in one activation. */
static void test_many_lines(void)
{
	const char *path = file_path("many");
	struct logs_reader r;
	struct logs_result res;
	struct err e = { 0 };
	size_t cap = 6000 * 120, n = 0;
	char *all = malloc(cap), text[32];

	REQUIRE(all);
	for (int i = 0; i < 5000; i++) {
		size_t len;
		char *b;

		snprintf(text, sizeof(text), "line %d\n", i);
		b = rec(T(i % 60), i % 2 ? "stderr" : "stdout", text, &len);
		memcpy(all + n, b, len);
		n += len;
		free(b);
	}
	append_raw(path, all, n);
	put_sentinels(path, 1);
	put(path, T(2), "stdout", "after\n");
	logs_reader_init(&r);
	REQUIRE(logs_collect(&r, path, 1 << 20, true, 2000, 10000, &res, &e) == 0);
	CHECK(res.complete);
	REQUIRE(nlines(&res) == 5000);
	CHECK_STR_EQ(line_at(&res, 0), "2026-11-26T14:53:00.525594048Z stdout: line 0");
	CHECK_STR_EQ(line_at(&res, 4999), "2026-11-26T14:53:19.525594048Z stderr: line 4999");
	{
		size_t len;
		char *b = rec(T(2), "stdout", "after\n", &len);

		CHECK_INT_EQ(r.offset, size_of(path) - len);
		free(b);
	}
	logs_result_fini(&res);
	logs_reader_fini(&r);
	free(all);
}

static void test_truncated_file(void)
{
	const char *path = file_path("trunc");
	struct logs_reader r;
	struct logs_result res;
	struct err e = { 0 };
	int fd;

	for (int i = 0; i < 20; i++)
		put(path, T(1), "stdout", "padding padding padding\n");
	put_sentinels(path, 2);
	logs_reader_init(&r);
	REQUIRE(logs_collect(&r, path, 1 << 20, true, 2000, 10000, &res, &e) == 0);
	CHECK(res.complete);
	CHECK_INT_EQ(nlines(&res), 20);
	logs_result_fini(&res);

	/* copytruncate: the file starts over under our offset. */
	fd = open(path, O_WRONLY | O_TRUNC);
	REQUIRE(fd >= 0);
	close(fd);
	put(path, T(3), "stdout", "after truncation\n");
	put_sentinels(path, 4);
	REQUIRE(logs_collect(&r, path, 1 << 20, true, 200, 10000, &res, &e) == 0);
	CHECK(!res.complete);
	REQUIRE(nlines(&res) == 2);
	CHECK_STR_EQ(line_at(&res, 0), "2026-11-26T14:53:03.525594048Z stdout: after truncation");
	CHECK_STR_CONTAINS(line_at(&res, 1), " stderr: " MSG_FAILURE);
	CHECK_INT_EQ(r.offset, size_of(path));
	logs_result_fini(&res);

	/* And the next activation is whole again. */
	put(path, T(5), "stdout", "fine\n");
	put_sentinels(path, 6);
	REQUIRE(logs_collect(&r, path, 1 << 20, true, 200, 10000, &res, &e) == 0);
	CHECK(res.complete);
	CHECK_INT_EQ(nlines(&res), 1);
	CHECK_STR_EQ(line_at(&res, 0), "2026-11-26T14:53:05.525594048Z stdout: fine");
	logs_result_fini(&res);
	logs_reader_fini(&r);
}

static void test_rotated_file(void)
{
	const char *path = file_path("rot");
	struct logs_reader r;
	struct logs_result res;
	struct err e = { 0 };
	char old[300];

	put(path, T(1), "stdout", "a\n");
	put_sentinels(path, 1);
	logs_reader_init(&r);
	REQUIRE(logs_collect(&r, path, 1 << 20, true, 2000, 10000, &res, &e) == 0);
	CHECK(res.complete);
	logs_result_fini(&res);

	/* Docker's rotation: the rest of B goes to the renamed file, C starts
	 * the new one. */
	put(path, T(2), "stdout", "b1\n");
	snprintf(old, sizeof(old), "%s.1", path);
	REQUIRE(rename(path, old) == 0);
	put(old, T(3), "stderr", "b2\n");
	put_sentinels(old, 3);
	put(path, T(4), "stdout", "c1\n");
	put_sentinels(path, 5);

	REQUIRE(logs_collect(&r, path, 1 << 20, true, 2000, 10000, &res, &e) == 0);
	CHECK(res.complete);
	REQUIRE(nlines(&res) == 2);
	CHECK_STR_EQ(line_at(&res, 0), "2026-11-26T14:53:02.525594048Z stdout: b1");
	CHECK_STR_EQ(line_at(&res, 1), "2026-11-26T14:53:03.525594048Z stderr: b2");
	logs_result_fini(&res);
	REQUIRE(logs_collect(&r, path, 1 << 20, true, 2000, 10000, &res, &e) == 0);
	CHECK(res.complete);
	REQUIRE(nlines(&res) == 1);
	CHECK_STR_EQ(line_at(&res, 0), "2026-11-26T14:53:04.525594048Z stdout: c1");
	CHECK_INT_EQ(r.offset, size_of(path));
	logs_result_fini(&res);

	/* Removed under us while waiting: gives up at once with the notice. */
	REQUIRE(unlink(path) == 0);
	{
		uint64_t t0 = now_ms();

		REQUIRE(logs_collect(&r, path, 1 << 20, true, 5000, 10000, &res, &e) == 0);
		CHECK(now_ms() - t0 < 1000);
	}
	CHECK(!res.complete);
	REQUIRE(nlines(&res) == 1);
	CHECK_STR_CONTAINS(line_at(&res, 0), MSG_FAILURE);
	logs_result_fini(&res);
	logs_reader_fini(&r);
}

static void test_missing_file_is_an_error(void)
{
	const char *path = file_path("absent");
	struct logs_reader r;
	struct logs_result res = { .lines = NULL };
	struct err e = { 0 };

	logs_reader_init(&r);
	CHECK_INT_EQ(logs_collect(&r, path, 1 << 20, true, 10, 10, &res, &e), -ENOENT);
	CHECK_INT_EQ(e.code, -ENOENT);
	CHECK_STR_CONTAINS(e.msg, path);
	CHECK(res.lines == NULL);
	CHECK_INT_EQ(r.fd, -1);
	logs_reader_fini(&r);
}

HARNESS_MAIN("logs",
	     TEST_CASE(test_format_line_exact),
	     TEST_CASE(test_format_line_sentinel_and_garbage),
	     TEST_CASE(test_two_activations_back_to_back),
	     TEST_CASE(test_sentinel_arrives_later),
	     TEST_CASE(test_missing_sentinel_gives_up),
	     TEST_CASE(test_limit_truncates_with_notice),
	     TEST_CASE(test_limit_zero_skips_to_sentinels),
	     TEST_CASE(test_partial_records_joined),
	     TEST_CASE(test_garbage_skipped),
	     TEST_CASE(test_record_split_across_reads),
	     TEST_CASE(test_record_split_while_waiting),
	     TEST_CASE(test_many_lines),
	     TEST_CASE(test_truncated_file),
	     TEST_CASE(test_rotated_file),
	     TEST_CASE(test_missing_file_is_an_error))
