/* SPDX-License-Identifier: Apache-2.0 */
/* Per-activation logs from a container's json-file log (see logs.h). The
 * reader keeps one read buffer for the container's life: bytes past
 * `offset` that were read but not consumed stay there, so nothing is read
 * twice and the bytes after the sentinels wait for the next activation.
 * Called by the invoker after every activation, one collector per reader. */
#include "invoker/logs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "common/now.h"

/* One pread; the buffer grows only while a single line needs it. */
#define LOGS_CHUNK ((size_t)64 * 1024)
/* Docker cuts lines into records of 16 KiB of text; even fully \u-escaped
 * that stays far below 1 MiB of JSON, so a longer "line" is not Docker's and
 * is dropped rather than buffered without bound. */
#define LOGS_LINE_MAX ((size_t)1024 * 1024)
/* Most text of one joined line we hold; beyond it the line counts as over
 * the limit (limits.logs is at most 10 MB). */
#define LOGS_JOIN_MAX ((size_t)16 * 1024 * 1024)
/* Docker's log copier writes the sentinels 50-200 us after the runtime
 * printed them: poll from 20 us, doubling to 1 ms, so a warm call waits
 * about as long as the copier needs and an idle wait stays cheap. */
#define LOGS_POLL_MIN_NS 20000L
#define LOGS_POLL_MAX_NS 1000000L
#define LOGS_TIME_PAD 30
/* Restarts of the file (rotation, truncation) followed in one collection. */
#define LOGS_RESTARTS_MAX 4
#define SENTINEL_LEN (sizeof(LOGS_SENTINEL) - 1)

#define MSG_FAILURE "There was an issue while collecting your logs. Data might be missing."

enum { STREAM_STDOUT = 1, STREAM_STDERR = 2 };

/* One json-file record; strings borrowed from the parsed tree. */
struct rec {
	const char *time;
	const char *text;
	size_t text_len; /* without the trailing newline */
	int stream;
	bool eol;        /* ended with "\n"; false for Docker's partial records */
};

/* Text of a line Docker split into partial records, per stream. */
struct pend {
	char *buf;
	size_t len, cap;         /* stored bytes: the first ones of the text */
	uint64_t total;          /* text bytes seen; > len when not all stored */
	char tail[SENTINEL_LEN]; /* last bytes, to spot a sentinel at the end */
	size_t tail_len;
	char time[64];           /* of the first record */
	bool active;
};

struct collect {
	struct logs_reader *r;
	uint64_t limit;
	cJSON *lines;
	uint64_t bytes;
	bool truncated;
	int sentinels;
	bool skipping;           /* dropping the rest of an over-long line */
	size_t scanned;          /* leading buffer bytes known to hold no '\n' */
	struct pend pend[2];
	char *scratch;           /* for formatted lines too big for the stack */
	size_t scratch_cap;
};

static const char *stream_name(int stream)
{
	return stream == STREAM_STDERR ? "stderr" : "stdout";
}

static size_t line_size(size_t time_len, size_t text_len)
{
	size_t pad = time_len < LOGS_TIME_PAD ? LOGS_TIME_PAD : time_len;

	return pad + 1 + 6 + 2 + text_len + 1;
}

/* "<time padded to 30> <stream>: <text>" into buf (line_size bytes). */
static void line_build(char *buf, const char *time, size_t time_len, int stream,
		       const char *text, size_t text_len)
{
	size_t p = time_len;

	memcpy(buf, time, time_len);
	while (p < LOGS_TIME_PAD)
		buf[p++] = ' ';
	buf[p++] = ' ';
	memcpy(buf + p, stream_name(stream), 6);
	p += 6;
	buf[p++] = ':';
	buf[p++] = ' ';
	memcpy(buf + p, text, text_len);
	buf[p + text_len] = '\0';
}

/* Parse one line (no newline). On success *root holds the tree the strings
 * in *out borrow from; -EINVAL for anything that is not a log record. */
static int rec_parse(const char *line, size_t len, cJSON **root, struct rec *out)
{
	cJSON *j = NULL;
	const char *text, *stream, *time;
	size_t n;
	int s;

	if (len == 0 || json_parse(line, len, &j, NULL) < 0)
		return -EINVAL;
	text = json_get_string(j, "log");
	stream = json_get_string(j, "stream");
	time = json_get_string(j, "time");
	if (!text || !stream || !time)
		goto bad;
	if (strcmp(stream, "stdout") == 0)
		s = STREAM_STDOUT;
	else if (strcmp(stream, "stderr") == 0)
		s = STREAM_STDERR;
	else
		goto bad;
	/* Upstream's stripLineEnd: one "\n" or "\r\n" goes. */
	n = strlen(text);
	out->eol = n > 0 && text[n - 1] == '\n';
	if (out->eol)
		n -= n >= 2 && text[n - 2] == '\r' ? 2 : 1;
	out->text_len = n;
	out->text = text;
	out->time = time;
	out->stream = s;
	*root = j;
	return 0;
bad:
	json_delete(j);
	return -EINVAL;
}

static bool ends_with_sentinel(const char *text, size_t len)
{
	return len >= SENTINEL_LEN && memcmp(text + len - SENTINEL_LEN, LOGS_SENTINEL, SENTINEL_LEN) == 0;
}

char *logs_format_line(const char *line, size_t len, bool *is_sentinel, int *stream)
{
	cJSON *root = NULL;
	struct rec rec;
	size_t text_len;
	char *buf;
	bool sentinel;

	if (is_sentinel)
		*is_sentinel = false;
	if (!line || rec_parse(line, len, &root, &rec) < 0)
		return NULL;
	text_len = rec.text_len;
	sentinel = ends_with_sentinel(rec.text, text_len);
	if (sentinel)
		text_len -= SENTINEL_LEN;
	if (is_sentinel)
		*is_sentinel = sentinel;
	if (stream)
		*stream = rec.stream;
	if (sentinel && text_len == 0) {
		json_delete(root);
		return NULL;
	}
	buf = malloc(line_size(strlen(rec.time), text_len));
	if (buf)
		line_build(buf, rec.time, strlen(rec.time), rec.stream, rec.text, text_len);
	json_delete(root);
	return buf;
}

/* Append a formatted line to the output array. */
static int out_append(struct collect *c, const char *time, int stream, const char *text, size_t len)
{
	char stack[512];
	char *buf = stack;
	size_t time_len = strlen(time), need = line_size(time_len, len);
	cJSON *item;

	if (need > sizeof(stack)) {
		if (need > c->scratch_cap) {
			char *p = realloc(c->scratch, need);

			if (!p)
				return -ENOMEM;
			c->scratch = p;
			c->scratch_cap = need;
		}
		buf = c->scratch;
	}
	line_build(buf, time, time_len, stream, text, len);
	item = cJSON_CreateString(buf);
	if (!item)
		return -ENOMEM;
	if (!cJSON_AddItemToArray(c->lines, item)) {
		cJSON_Delete(item);
		return -ENOMEM;
	}
	return 0;
}

/* Keep a line of `total` text bytes of which `stored` are in `text` (fewer
 * only when the line is too long to keep anyway), or cut the logs here. */
static int keep_text(struct collect *c, const char *time, int stream, const char *text,
		     size_t stored, uint64_t total)
{
	char msg[128];

	if (c->limit == 0 || c->truncated)
		return 0;
	if (stored == total && total <= c->limit - c->bytes) {
		c->bytes += total;
		return out_append(c, time, stream, text, stored);
	}
	c->truncated = true;
	snprintf(msg, sizeof(msg),
		 "Logs were truncated because the total bytes size exceeds the limit of %" PRIu64 " bytes.",
		 c->limit);
	return out_append(c, time, STREAM_STDERR, msg, strlen(msg));
}

/* A whole line: drop a sentinel at its end (keeping text written before it
 * without a newline), keep the rest. */
static int finish_line(struct collect *c, const char *time, int stream, const char *text,
		       size_t stored, uint64_t total, bool tail_is_sentinel)
{
	bool sentinel = stored == total ? ends_with_sentinel(text, stored) : tail_is_sentinel;
	int rc = 0;

	if (sentinel) {
		total -= SENTINEL_LEN;
		if (stored > total)
			stored = (size_t)total;
	}
	if (!sentinel || total > 0)
		rc = keep_text(c, time, stream, text, stored, total);
	if (sentinel)
		c->sentinels++;
	return rc;
}

static void pend_reset(struct pend *p)
{
	p->len = 0;
	p->total = 0;
	p->tail_len = 0;
	p->active = false;
}

static int pend_add(struct collect *c, struct pend *p, const char *text, size_t n)
{
	uint64_t room = c->limit > c->bytes ? c->limit - c->bytes : 0;
	size_t want, take;

	/* Hold what could still be kept plus a sentinel: a longer line is cut
	 * whatever its end holds, so its text is not needed. */
	if (c->limit == 0 || c->truncated)
		want = 0;
	else
		want = (room < LOGS_JOIN_MAX ? (size_t)room : LOGS_JOIN_MAX) + SENTINEL_LEN + 1;
	take = p->len < want ? want - p->len : 0;
	if (take > n)
		take = n;
	if (take) {
		if (p->len + take > p->cap) {
			size_t cap = p->cap ? p->cap : 4096;
			char *b;

			while (cap < p->len + take)
				cap *= 2;
			b = realloc(p->buf, cap);
			if (!b)
				return -ENOMEM;
			p->buf = b;
			p->cap = cap;
		}
		memcpy(p->buf + p->len, text, take);
		p->len += take;
	}
	p->total += n;
	if (n >= SENTINEL_LEN) {
		memcpy(p->tail, text + n - SENTINEL_LEN, SENTINEL_LEN);
		p->tail_len = SENTINEL_LEN;
	} else {
		size_t keep = p->tail_len < SENTINEL_LEN - n ? p->tail_len : SENTINEL_LEN - n;

		memmove(p->tail, p->tail + p->tail_len - keep, keep);
		memcpy(p->tail + keep, text, n);
		p->tail_len = keep + n;
	}
	return 0;
}

static int pend_flush(struct collect *c, struct pend *p, int stream)
{
	bool tail_sentinel = p->tail_len == SENTINEL_LEN &&
			     memcmp(p->tail, LOGS_SENTINEL, SENTINEL_LEN) == 0;
	int rc;

	if (!p->active)
		return 0;
	rc = finish_line(c, p->time, stream, p->buf ? p->buf : "", p->len, p->total, tail_sentinel);
	pend_reset(p);
	return rc;
}

/* One json-file line. Non-records are skipped. */
static int handle_line(struct collect *c, const char *line, size_t len)
{
	cJSON *root = NULL;
	struct rec rec;
	struct pend *p;
	int rc;

	if (rec_parse(line, len, &root, &rec) < 0)
		return 0;
	p = &c->pend[rec.stream - 1];
	if (!rec.eol || p->active) {
		/* Docker's partial records: the line goes on in the next record
		 * of the same stream (other streams may come in between). */
		if (!p->active) {
			snprintf(p->time, sizeof(p->time), "%s", rec.time);
			p->active = true;
		}
		rc = pend_add(c, p, rec.text, rec.text_len);
		if (rc == 0 && rec.eol)
			rc = pend_flush(c, p, rec.stream);
	} else {
		rc = finish_line(c, rec.time, rec.stream, rec.text, rec.text_len, rec.text_len, false);
	}
	json_delete(root);
	return rc;
}

/* Consume the whole lines in the buffer, up to the second sentinel. */
static int consume(struct collect *c)
{
	struct logs_reader *r = c->r;
	size_t start = 0;
	bool no_newline = false;
	int rc = 0;

	while (start < r->partial_len && c->sentinels < 2) {
		const char *line = r->partial + start;
		size_t avail = r->partial_len - start, from = start == 0 ? c->scanned : 0;
		const char *nl = from < avail ? memchr(line + from, '\n', avail - from) : NULL;
		size_t n;

		if (!nl) {
			no_newline = true;
			break;
		}
		n = (size_t)(nl - line);
		if (c->skipping)
			c->skipping = false;
		else
			rc = handle_line(c, line, n);
		start += n + 1;
		r->offset += n + 1;
		if (rc < 0)
			break;
	}
	if (start) {
		memmove(r->partial, r->partial + start, r->partial_len - start);
		r->partial_len -= start;
	}
	c->scanned = no_newline ? r->partial_len : 0;
	return rc;
}

static ssize_t pread_retry(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n;

	do
		n = pread(fd, buf, len, (off_t)off);
	while (n < 0 && errno == EINTR);
	return n;
}

/* Read what follows the buffered bytes. *got = bytes read, *short_read when
 * fewer than asked (the end of the file at that moment). */
static int fill(struct collect *c, const char *path, size_t *got, bool *short_read, struct err *e)
{
	struct logs_reader *r = c->r;
	size_t want;
	ssize_t n;

	if (r->partial_len >= LOGS_LINE_MAX) {
		/* Not a json-file line: drop it and what remains of it. */
		r->offset += r->partial_len;
		r->partial_len = 0;
		c->scanned = 0;
		c->skipping = true;
	}
	if (r->partial_cap - r->partial_len < LOGS_CHUNK / 2) {
		size_t cap = r->partial_cap ? r->partial_cap * 2 : LOGS_CHUNK;
		char *b = realloc(r->partial, cap);

		if (!b)
			return err_set(e, -ENOMEM, "read container log %s: out of memory", path);
		r->partial = b;
		r->partial_cap = cap;
	}
	want = r->partial_cap - r->partial_len;
	n = pread_retry(r->fd, r->partial + r->partial_len, want, r->offset + r->partial_len);
	if (n < 0)
		return err_set(e, -errno, "read container log %s at byte %" PRIu64 ": %s", path,
			       r->offset + r->partial_len, strerror(errno));
	r->partial_len += (size_t)n;
	*got = (size_t)n;
	*short_read = (size_t)n < want;
	return 0;
}

enum file_state { FILE_SAME, FILE_ROTATED, FILE_SHRUNK, FILE_GONE };

/* What happened to the file when reads come back empty: Docker's json-file
 * rotation renames it and starts a new one at `path`; a copytruncate
 * shrinks it under us; container removal unlinks it. */
static enum file_state file_check(const struct logs_reader *r, const char *path)
{
	struct stat fst, pst;

	if (fstat(r->fd, &fst) < 0 || stat(path, &pst) < 0)
		return FILE_GONE;
	if (fst.st_dev != pst.st_dev || fst.st_ino != pst.st_ino)
		return FILE_ROTATED;
	if ((uint64_t)fst.st_size < r->offset + r->partial_len)
		return FILE_SHRUNK;
	return FILE_SAME;
}

static uint64_t file_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static int reader_open(struct logs_reader *r, const char *path, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return err_set(e, -errno, "open container log %s: %s", path, strerror(errno));
	if (r->fd >= 0)
		close(r->fd);
	r->fd = fd;
	return 0;
}

/* RFC 3339 with nanoseconds, like Docker's times. */
static void time_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)ts.tv_nsec);
}

void logs_reader_init(struct logs_reader *r)
{
	r->fd = -1;
	r->offset = 0;
	r->partial = NULL;
	r->partial_len = 0;
	r->partial_cap = 0;
}

void logs_reader_fini(struct logs_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	free(r->partial);
	logs_reader_init(r);
}

void logs_result_fini(struct logs_result *res)
{
	json_delete(res->lines);
	res->lines = NULL;
}

static void collect_fini(struct collect *c)
{
	for (int i = 0; i < 2; i++)
		free(c->pend[i].buf);
	free(c->scratch);
	json_delete(c->lines);
}

/* logs_collect's loop state. */
struct collect_loop {
	const char *path;
	bool wait;                   /* for the sentinels (else: what is there now) */
	bool at_eof, lost, gave_up;
	uint64_t start_ns, last_ns, end_pos;
	uint32_t idle_ms, total_ms;
	long poll_ns;
	int restarts;
};

enum loop_step { LOOP_STOP, LOOP_AGAIN, LOOP_READ };

/* At the end of what there is: a rotated file is drained and the new one
 * opened, a truncated one read again from the start (LOOP_AGAIN); a gone
 * file, the end of "what is there now", or the idle / total time ends the
 * collection (LOOP_STOP); else wait a poll step and read (LOOP_READ). */
static int at_end(struct collect *c, struct collect_loop *l, struct err *e)
{
	struct logs_reader *r = c->r;
	enum file_state st = file_check(r, l->path);
	uint64_t now_ns;
	size_t got = 0;
	bool short_read = false;
	int rc;

	if ((st == FILE_ROTATED || st == FILE_SHRUNK) && l->restarts < LOGS_RESTARTS_MAX) {
		l->restarts++;
		if (st == FILE_ROTATED) {
			/* The old file is final now: drain it, then go on at
			 * the start of the new one. */
			do {
				rc = fill(c, l->path, &got, &short_read, e);
				if (rc == 0)
					rc = consume(c);
				if (rc < 0)
					return rc;
			} while (got > 0 && c->sentinels < 2);
			if (c->sentinels >= 2)
				return LOOP_STOP;
			rc = reader_open(r, l->path, e);
			if (rc < 0)
				return rc;
		} else {
			/* Whatever was written between our last read and the
			 * truncation is gone. */
			l->lost = true;
		}
		r->offset = 0;
		r->partial_len = 0;
		c->scanned = 0;
		c->skipping = false;
		l->at_eof = false;
		if (!l->wait)
			l->end_pos = file_size(r->fd);
		return LOOP_AGAIN;
	}
	if (st == FILE_GONE) {
		l->gave_up = l->wait;
		return LOOP_STOP;
	}
	if (!l->wait)
		return LOOP_STOP;
	now_ns = now_mono_ns();
	if (now_ns - l->last_ns >= (uint64_t)l->idle_ms * 1000000u ||
	    now_ns - l->start_ns >= (uint64_t)l->total_ms * 1000000u) {
		l->gave_up = true;
		return LOOP_STOP;
	}
	nanosleep(&(struct timespec){ .tv_nsec = l->poll_ns }, NULL);
	if (l->poll_ns < LOGS_POLL_MAX_NS)
		l->poll_ns = l->poll_ns * 2 > LOGS_POLL_MAX_NS ? LOGS_POLL_MAX_NS : l->poll_ns * 2;
	return LOOP_READ;
}

/* Read until both sentinels are seen or at_end says stop. */
static int collect_loop_run(struct collect *c, struct collect_loop *l, struct err *e)
{
	struct logs_reader *r = c->r;
	int rc;

	for (;;) {
		size_t got = 0;
		bool short_read = false;

		/* Bytes left from the previous collection come first: the
		 * sentinels are often there already and no syscall is needed. */
		rc = consume(c);
		if (rc < 0 || c->sentinels >= 2)
			return rc;
		if (l->at_eof) {
			rc = at_end(c, l, e);
			if (rc < 0 || rc == LOOP_STOP)
				return rc < 0 ? rc : 0;
			if (rc == LOOP_AGAIN)
				continue;
		}
		rc = fill(c, l->path, &got, &short_read, e);
		if (rc < 0)
			return rc;
		l->at_eof = short_read || r->offset + r->partial_len >= l->end_pos;
		if (got > 0 && l->wait) {
			l->last_ns = now_mono_ns();
			l->poll_ns = LOGS_POLL_MIN_NS;
			/* A file that never stops growing ends here too. */
			if (l->last_ns - l->start_ns >= (uint64_t)l->total_ms * 1000000u) {
				rc = consume(c);
				l->gave_up = c->sentinels < 2;
				return rc;
			}
		}
	}
}

/* The collection's end: unfinished lines flushed, the failure notice when
 * lines may be missing, the reader's buffer trimmed, the result out. */
static int collect_finish(struct collect *c, const struct collect_loop *l, struct logs_result *out)
{
	struct logs_reader *r = c->r;
	int rc;

	/* A line Docker left unfinished ends with this activation: the
	 * consumed offset cannot point into the middle of it. */
	for (int i = 0; i < 2; i++) {
		rc = pend_flush(c, &c->pend[i], i + 1);
		if (rc < 0)
			return rc;
	}
	if ((l->gave_up || l->lost) && c->limit > 0) {
		char now[64];

		time_now(now, sizeof(now));
		rc = out_append(c, now, STREAM_STDERR, MSG_FAILURE, sizeof(MSG_FAILURE) - 1);
		if (rc < 0)
			return rc;
	}
	/* One long line must not pin a big buffer for the container's life. */
	if (r->partial_cap > LOGS_CHUNK && r->partial_len <= LOGS_CHUNK / 2) {
		char *b = realloc(r->partial, LOGS_CHUNK);

		if (b) {
			r->partial = b;
			r->partial_cap = LOGS_CHUNK;
		}
	}
	out->lines = c->lines;
	out->bytes = (size_t)c->bytes;
	out->truncated = c->truncated;
	out->complete = c->sentinels >= 2 && !l->lost;
	c->lines = NULL;
	return 0;
}

int logs_collect(struct logs_reader *r, const char *path, uint64_t limit_bytes,
		 bool wait_sentinels, uint32_t idle_ms, uint32_t total_ms,
		 struct logs_result *out, struct err *e)
{
	struct collect c = { .r = r, .limit = limit_bytes };
	struct collect_loop l = { .path = path, .wait = wait_sentinels, .end_pos = UINT64_MAX,
				  .idle_ms = idle_ms, .total_ms = total_ms,
				  .poll_ns = LOGS_POLL_MIN_NS };
	int rc;

	if (r->fd < 0) {
		rc = reader_open(r, path, e);
		if (rc < 0)
			return rc;
	}
	c.lines = cJSON_CreateArray();
	if (!c.lines)
		return err_set(e, -ENOMEM, "collect logs of %s: out of memory", path);
	l.start_ns = l.last_ns = now_mono_ns();
	/* Without waiting, read "what is there now": a file growing as fast
	 * as we read must not keep us here. */
	if (!wait_sentinels)
		l.end_pos = file_size(r->fd);
	rc = collect_loop_run(&c, &l, e);
	if (rc == 0)
		rc = collect_finish(&c, &l, out);
	collect_fini(&c);
	return rc;
}
