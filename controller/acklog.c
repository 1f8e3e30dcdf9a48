/* SPDX-License-Identifier: Apache-2.0 */
/* The acknowledgement log (see acklog.h). A line:
 *   a TAB id TAB start TAB timeout TAB memory TAB logs TAB concurrency TAB
 *     ns TAB path TAB name TAB version TAB kind TAB cause-or-"-" LF
 * and a cancellation: c TAB id LF. Names, versions and kinds are checked
 * entity strings (no tab, no newline); the line is refused otherwise. */
/* 32-bit builds (armhf; under qemu-user on a 64-bit host too) need the
 * 64-bit directory interface, or readdir fails (EOVERFLOW) on large
 * inode numbers and directory offsets and the segments go unseen. */
#define _FILE_OFFSET_BITS 64

#include "controller/acklog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/log.h"

#define SEGMENT_BYTES (256u * 1024)
#define SEGMENT_READ_MAX (64u * 1024 * 1024)
#define LINE_MAX_BYTES 2048

struct segment {
	uint64_t num;
	uint32_t open;                /* accepted lines not yet released */
};

struct acklog {
	pthread_mutex_t mu;
	char dir[256];
	int fd;                       /* the current segment, -1 before the first */
	uint64_t cur;                 /* its number */
	size_t cur_bytes;
	uint64_t last_num;
	struct segment *segs;         /* every segment with a file, current included */
	uint32_t nsegs, cap;
};

static void seg_path(const char *dir, uint64_t num, char *out, size_t size)
{
	snprintf(out, size, "%s/acks-%" PRIu64 ".log", dir, num);
}

/* The number of a segment's file name, or 0 for any other file. */
static uint64_t seg_num(const char *name)
{
	char *end = NULL;
	unsigned long long v;

	if (strncmp(name, "acks-", 5) != 0 || name[5] < '0' || name[5] > '9')
		return 0;
	errno = 0;
	v = strtoull(name + 5, &end, 10);
	if (errno || !end || strcmp(end, ".log") != 0)
		return 0;
	return (uint64_t)v;
}

/* Segment numbers in dir, sorted; caller frees. */
static int list_segments(const char *dir, uint64_t **out, uint32_t *n, struct err *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	uint64_t *v = NULL;
	uint32_t cnt = 0, cap = 0;

	if (!d)
		return err_set(e, -errno, "acknowledgement log %s: %s", dir, strerror(errno));
	for (;;) {
		uint64_t num;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno) {
				int err = errno;

				closedir(d);
				free(v);
				return err_set(e, -err, "acknowledgement log %s: %s", dir,
					       strerror(err));
			}
			break;
		}
		num = seg_num(de->d_name);
		if (!num)
			continue;
		if (cnt == cap) {
			uint64_t *nv = realloc(v, (cap ? cap * 2 : 8) * sizeof(*v));

			if (!nv) {
				closedir(d);
				free(v);
				return err_set(e, -ENOMEM, "acknowledgement log: out of memory");
			}
			v = nv;
			cap = cap ? cap * 2 : 8;
		}
		v[cnt++] = num;
	}
	closedir(d);
	/* Few files: insertion sort. */
	for (uint32_t i = 1; i < cnt; i++)
		for (uint32_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint64_t t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	*out = v;
	*n = cnt;
	return 0;
}

int acklog_open(const char *dir, struct acklog **out, struct err *e)
{
	struct acklog *l;
	uint64_t *nums = NULL;
	uint32_t n = 0;
	int rc;

	if (strlen(dir) >= sizeof(l->dir) - 32)
		return err_set(e, -ENAMETOOLONG, "acknowledgement log: directory name too long");
	rc = list_segments(dir, &nums, &n, e);
	if (rc < 0)
		return rc;
	l = calloc(1, sizeof(*l));
	if (!l) {
		free(nums);
		return err_set(e, -ENOMEM, "acknowledgement log: out of memory");
	}
	pthread_mutex_init(&l->mu, NULL);
	snprintf(l->dir, sizeof(l->dir), "%s", dir);
	l->fd = -1;
	/* Never reuse an earlier run's number. */
	l->last_num = n ? nums[n - 1] : 0;
	free(nums);
	*out = l;
	return 0;
}

static struct segment *seg_find(struct acklog *l, uint64_t num)
{
	for (uint32_t i = 0; i < l->nsegs; i++)
		if (l->segs[i].num == num)
			return &l->segs[i];
	return NULL;
}

/* Remove segment s's file and entry (not the current one). Locked. */
static void seg_drop(struct acklog *l, struct segment *s)
{
	char path[300];

	seg_path(l->dir, s->num, path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("acklog", "remove %s: %s", path, strerror(errno));
	*s = l->segs[--l->nsegs];
}

/* Start a new current segment. Locked. */
static int rotate(struct acklog *l, struct err *e)
{
	struct segment *old = l->fd >= 0 ? seg_find(l, l->cur) : NULL;
	char path[300];
	uint64_t num = l->last_num + 1;
	int fd;

	if (l->nsegs == l->cap) {
		struct segment *ns = realloc(l->segs, (l->cap ? l->cap * 2 : 4) * sizeof(*ns));

		if (!ns)
			return err_set(e, -ENOMEM, "acknowledgement log: out of memory");
		l->segs = ns;
		l->cap = l->cap ? l->cap * 2 : 4;
		old = l->fd >= 0 ? seg_find(l, l->cur) : NULL;
	}
	seg_path(l->dir, num, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(e, errno == ENOSPC ? -ENOSPC : -errno, "acknowledgement log %s: %s",
			       path, strerror(errno));
	if (l->fd >= 0)
		close(l->fd);
	l->fd = fd;
	l->cur = l->last_num = num;
	l->cur_bytes = 0;
	l->segs[l->nsegs++] = (struct segment){ .num = num };
	if (old && old->open == 0)
		seg_drop(l, old);
	return 0;
}

/* Append one whole line or nothing. Locked. */
static int append(struct acklog *l, const char *line, size_t len, struct err *e)
{
	ssize_t n = write(l->fd, line, len);

	if (n == (ssize_t)len) {
		l->cur_bytes += len;
		return 0;
	}
	int err = n < 0 ? errno : ENOSPC;

	/* A torn line would glue itself to the next one: cut it back off. */
	if (n > 0 && ftruncate(l->fd, (off_t)l->cur_bytes) < 0)
		log_warn("acklog", "cut a short write back: %s", strerror(errno));
	return err_set(e, err == ENOSPC ? -ENOSPC : -EIO,
		       "acknowledgement log: %s", err == ENOSPC ? "database or disk is full"
							    : strerror(err));
}

static bool field_ok(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

int acklog_accept(struct acklog *l, const struct entity_activation_info *info, uint64_t start_ms,
		  uint64_t *ticket, struct err *e)
{
	const char *str[] = { info->activation_id, info->ns, info->path, info->name,
			      info->version, info->kind, info->cause };
	char line[LINE_MAX_BYTES];
	struct segment *s;
	int n, rc;

	for (size_t i = 0; i < sizeof(str) / sizeof(str[0]); i++)
		if ((i < 6 && !str[i]) || !field_ok(str[i]))
			return err_set(e, -EINVAL, "acknowledgement log: unusable activation fields");
	n = snprintf(line, sizeof(line),
		     "a\t%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
		     "\t%s\t%s\t%s\t%s\t%s\t%s\n",
		     info->activation_id, start_ms, info->timeout_ms, info->memory_mb,
		     info->logs_mb, info->concurrency, info->ns, info->path, info->name,
		     info->version, info->kind, info->cause ? info->cause : "-");
	if (n < 0 || (size_t)n >= sizeof(line))
		return err_set(e, -EINVAL, "acknowledgement log: activation fields too long");
	pthread_mutex_lock(&l->mu);
	rc = l->fd < 0 || l->cur_bytes >= SEGMENT_BYTES ? rotate(l, e) : 0;
	if (rc == 0)
		rc = append(l, line, (size_t)n, e);
	if (rc == 0) {
		s = seg_find(l, l->cur);
		s->open++;
		*ticket = l->cur;
	}
	pthread_mutex_unlock(&l->mu);
	return rc;
}

/* One line fewer to wait for in segment num. Locked. */
static void seg_release(struct acklog *l, uint64_t num)
{
	struct segment *s = seg_find(l, num);

	if (!s || s->open == 0)
		return;
	if (--s->open == 0 && num != l->cur)
		seg_drop(l, s);
}

void acklog_cancel(struct acklog *l, uint64_t ticket, const char *activation_id)
{
	char line[64];
	struct err e = { 0 };
	int n = snprintf(line, sizeof(line), "c\t%.32s\n", activation_id);

	pthread_mutex_lock(&l->mu);
	/* Its segment may go right after: the cancellation must be in a
	 * later one, which the current one is. */
	if (l->fd >= 0 && append(l, line, (size_t)n, &e) < 0)
		log_warn("acklog", "activation=%.32s: %s (recovery would record it failed)",
			 activation_id, e.msg);
	seg_release(l, ticket);
	pthread_mutex_unlock(&l->mu);
}

void acklog_release(struct acklog *l, uint64_t ticket)
{
	pthread_mutex_lock(&l->mu);
	seg_release(l, ticket);
	pthread_mutex_unlock(&l->mu);
}

uint32_t acklog_segments(struct acklog *l)
{
	uint32_t n;

	pthread_mutex_lock(&l->mu);
	n = l->nsegs;
	pthread_mutex_unlock(&l->mu);
	return n;
}

void acklog_close(struct acklog *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	for (uint32_t i = l->nsegs; i-- > 0;)
		if (l->segs[i].open == 0)
			seg_drop(l, &l->segs[i]);
	pthread_mutex_destroy(&l->mu);
	free(l->segs);
	free(l);
}

/* --- recovery --- */

/* Split line (NUL-terminated, no LF) at tabs into at most max fields. */
static int split_tabs(char *line, char **f, int max)
{
	int n = 0;

	f[n++] = line;
	for (char *p = line; *p && n < max; p++)
		if (*p == '\t') {
			*p = '\0';
			f[n++] = p + 1;
		}
	return n;
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end = NULL;
	unsigned long long x;

	if (!*s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*v = (uint64_t)x;
	return true;
}

/* Ids are 32 characters; a cancellation's is not NUL-terminated in the
 * text (the text is walked again afterwards). */
static int cmp_id(const void *a, const void *b)
{
	return memcmp(*(char *const *)a, *(char *const *)b, 32);
}

struct recovery {
	char **texts;                 /* segment contents */
	uint32_t ntexts;
	char **cancelled;             /* ids, sorted */
	uint32_t ncancel, capcancel;
};

/* First pass over a segment: note its cancellations. */
static int note_cancels(struct recovery *r, char *text, size_t len, struct err *e)
{
	char *p = text, *end = text + len;

	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			break; /* cut off */
		if (p[0] == 'c' && p[1] == '\t' && nl - p == 34) {
			if (r->ncancel == r->capcancel) {
				uint32_t cap = r->capcancel ? r->capcancel * 2 : 16;
				char **nc = realloc(r->cancelled, cap * sizeof(*nc));

				if (!nc)
					return err_set(e, -ENOMEM, "acknowledgement log: out of memory");
				r->cancelled = nc;
				r->capcancel = cap;
			}
			r->cancelled[r->ncancel++] = p + 2;
		}
		p = nl + 1;
	}
	return 0;
}

/* Second pass: hand each live accept line to fn. */
static int replay(struct recovery *r, char *text, size_t len, acklog_entry_fn fn, void *arg,
		  uint32_t *entries, uint32_t *bad)
{
	char *p = text, *end = text + len;

	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *f[13];
		struct entity_activation_info info = { 0 };
		uint64_t start = 0;
		int nf, rc;

		if (!nl)
			break;
		if (p[0] != 'a') {
			p = nl + 1;
			continue;
		}
		*nl = '\0';
		nf = split_tabs(p, f, 13);
		p = nl + 1;
		if (nf != 13 || strcmp(f[0], "a") != 0 || strlen(f[1]) != 32 ||
		    !parse_u64(f[2], &start) || !parse_u64(f[3], &info.timeout_ms) ||
		    !parse_u64(f[4], &info.memory_mb) || !parse_u64(f[5], &info.logs_mb) ||
		    !parse_u64(f[6], &info.concurrency)) {
			(*bad)++;
			continue;
		}
		if (r->ncancel && bsearch(&f[1], r->cancelled, r->ncancel, sizeof(char *), cmp_id))
			continue;
		info.activation_id = f[1];
		info.ns = f[7];
		info.path = f[8];
		info.name = f[9];
		info.version = f[10];
		info.kind = f[11];
		info.cause = strcmp(f[12], "-") == 0 ? NULL : f[12];
		rc = fn(arg, &info, start);
		if (rc != 0)
			return rc;
		(*entries)++;
	}
	return 0;
}

int acklog_recover(const char *dir, acklog_entry_fn fn, void *arg, uint32_t *entries,
		   uint32_t *bad, struct err *e)
{
	struct recovery r = { 0 };
	uint64_t *nums = NULL;
	size_t *lens = NULL;
	uint32_t n = 0;
	char path[300];
	int rc;

	*entries = 0;
	*bad = 0;
	rc = list_segments(dir, &nums, &n, e);
	if (rc < 0 || n == 0) {
		free(nums);
		return rc;
	}
	r.texts = calloc(n, sizeof(*r.texts));
	lens = calloc(n, sizeof(*lens));
	if (!r.texts || !lens) {
		rc = err_set(e, -ENOMEM, "acknowledgement log: out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < n; i++) {
		seg_path(dir, nums[i], path, sizeof(path));
		rc = file_read_all(path, SEGMENT_READ_MAX, &r.texts[i], &lens[i]);
		if (rc < 0) {
			rc = err_set(e, rc, "acknowledgement log %s: %s", path, strerror(-rc));
			goto out;
		}
		r.ntexts = i + 1;
		rc = note_cancels(&r, r.texts[i], lens[i], e);
		if (rc < 0)
			goto out;
	}
	if (r.ncancel)
		qsort(r.cancelled, r.ncancel, sizeof(char *), cmp_id);
	for (uint32_t i = 0; i < n && rc == 0; i++)
		rc = replay(&r, r.texts[i], lens[i], fn, arg, entries, bad);
	if (rc == 0)
		rc = fn(arg, NULL, 0);
	if (rc != 0) {
		rc = err_set(e, rc > 0 ? -EIO : rc,
			     "acknowledgement log: recording an unfinished activation failed: %s",
			     strerror(rc > 0 ? EIO : -rc));
		goto out;
	}
	for (uint32_t i = 0; i < n; i++) {
		seg_path(dir, nums[i], path, sizeof(path));
		if (unlink(path) < 0 && errno != ENOENT)
			log_warn("acklog", "remove %s: %s", path, strerror(errno));
	}
out:
	for (uint32_t i = 0; i < r.ntexts; i++)
		free(r.texts[i]);
	free(r.texts);
	free(r.cancelled);
	free(lens);
	free(nums);
	return rc;
}
