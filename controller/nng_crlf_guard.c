/* SPDX-License-Identifier: Apache-2.0 */
/* Dropping blank lines before request lines on libnng's connections (see
 * nng_crlf_guard.h). nng's HTTP framing, as this follows it: a line ends
 * at LF (a CR before it is stripped); the head ends at an empty line; the
 * body is the Content-Length bytes nng reads only when the request got
 * that far: a version "HTTP/1.x", a Host header for HTTP/1.1, exactly one
 * Content-Length that strtoull takes whole and that is within the limit.
 * Where nng refuses a request before its body, the body bytes are parsed
 * as the next request by nng and here alike. Linked into the controller
 * executable in whole, as nng_uri_guard.o. */
#include "controller/nng_crlf_guard.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "controller/nng_uri_guard.h"

enum { PHASE_START, PHASE_HEAD, PHASE_BODY };

void crlf_track_init(struct crlf_track *t)
{
	memset(t, 0, sizeof(*t));
	t->phase = PHASE_START;
}

static void request_begin(struct crlf_track *t)
{
	crlf_track_init(t);
	t->phase = PHASE_HEAD;
	t->first_line = true;
}

/* Trim spaces and tabs around s[0..n), as nng trims a header value. */
static const char *trim(const char *s, size_t *n)
{
	while (*n && (*s == ' ' || *s == '\t'))
		s++, (*n)--;
	while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
		(*n)--;
	return s;
}

static void request_line_done(struct crlf_track *t)
{
	const char *sp = NULL;
	char v[sizeof(t->tail) + 1];

	for (size_t i = 0; i < t->tail_len; i++)
		if (t->tail[i] == ' ')
			sp = t->tail + i;
	if (!sp)
		return; /* no version in sight: nng refuses the request */
	memcpy(v, sp + 1, (size_t)(t->tail + t->tail_len - sp - 1));
	v[t->tail + t->tail_len - sp - 1] = '\0';
	t->version_ok = strncmp(v, "HTTP/1.", 7) == 0;
	t->http10 = strcmp(v, "HTTP/1.1") != 0;
}

static void header_line_done(struct crlf_track *t, size_t len)
{
	const char *colon = memchr(t->line, ':', len), *val;
	size_t klen, vlen;
	char num[sizeof(t->line)];
	char *end;

	if (!colon)
		return;
	klen = (size_t)(colon - t->line);
	vlen = len - klen - 1;
	if (klen == 4 && strncasecmp(t->line, "host", 4) == 0) {
		t->host = true;
		return;
	}
	if (klen != 14 || strncasecmp(t->line, "content-length", 14) != 0)
		return;
	if (t->cl_seen || t->line_over) {
		t->cl_bad = true; /* nng joins repeats with ", ": not a number */
		return;
	}
	t->cl_seen = true;
	val = trim(colon + 1, &vlen);
	memcpy(num, val, vlen);
	num[vlen] = '\0';
	t->cl = strtoull(num, &end, 10);
	if (*end != '\0' || t->cl > CRLF_GUARD_MAX_BODY)
		t->cl_bad = true;
}

/* The head's empty line: how much body nng will read. */
static uint64_t head_done(const struct crlf_track *t)
{
	if (!t->version_ok || (!t->http10 && !t->host) || !t->cl_seen || t->cl_bad)
		return 0;
	return t->cl;
}

size_t crlf_track_filter(struct crlf_track *t, char *buf, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++) {
		char c = buf[i];

		if (t->phase == PHASE_BODY) {
			size_t k = n - i < t->body_left ? n - i : (size_t)t->body_left;

			memmove(buf + w, buf + i, k);
			w += k;
			i += k - 1;
			if ((t->body_left -= k) == 0)
				t->phase = PHASE_START;
			continue;
		}
		if (t->phase == PHASE_START) {
			if (c == '\r' || c == '\n')
				continue; /* the point of this file */
			request_begin(t);
		}
		buf[w++] = c;
		if (c != '\n') {
			if (t->line_len < sizeof(t->line))
				t->line[t->line_len++] = c;
			else
				t->line_over = true;
			if (t->tail_len == sizeof(t->tail))
				memmove(t->tail, t->tail + 1, --t->tail_len);
			t->tail[t->tail_len++] = c;
			continue;
		}
		{
			size_t len = t->line_len;

			if (len && t->line[len - 1] == '\r' && !t->line_over)
				len--;
			if (t->tail_len && t->tail[t->tail_len - 1] == '\r')
				t->tail_len--;
			if (len == 0 && !t->line_over) {
				t->body_left = head_done(t);
				t->phase = t->body_left ? PHASE_BODY : PHASE_START;
			} else if (t->first_line) {
				request_line_done(t);
			} else {
				header_line_done(t, len);
			}
		}
		t->first_line = false;
		t->line_len = 0;
		t->tail_len = 0;
		t->line_over = false;
	}
	return w;
}

/* --- interposition --- */

/* One tracker per descriptor libnng accepted; others pass untouched. */
#define TRACKED_FDS 4096

static struct crlf_track tracks[TRACKED_FDS];
static bool tracked[TRACKED_FDS];

static void *next_fn(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

static int track_new(int fd, const void *caller)
{
	if (fd >= 0 && fd < TRACKED_FDS) {
		tracked[fd] = nng_caller_is_libnng(caller);
		if (tracked[fd])
			crlf_track_init(&tracks[fd]);
	}
	return fd;
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	static int (*real)(int, struct sockaddr *, socklen_t *);

	if (!real)
		real = (int (*)(int, struct sockaddr *, socklen_t *))next_fn("accept");
	return track_new(real(fd, addr, len), __builtin_return_address(0));
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	static int (*real)(int, struct sockaddr *, socklen_t *, int);

	if (!real)
		real = (int (*)(int, struct sockaddr *, socklen_t *, int))next_fn("accept4");
	return track_new(real(fd, addr, len, flags), __builtin_return_address(0));
}

int close(int fd)
{
	static int (*real)(int);

	if (!real)
		real = (int (*)(int))next_fn("close");
	if (fd >= 0 && fd < TRACKED_FDS)
		tracked[fd] = false;
	return real(fd);
}

ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
	static ssize_t (*real)(int, const struct iovec *, int);
	ssize_t n;

	if (!real)
		real = (ssize_t(*)(int, const struct iovec *, int))next_fn("readv");
	if (fd < 0 || fd >= TRACKED_FDS || !tracked[fd] || iovcnt < 1)
		return real(fd, iov, iovcnt);
	/* One buffer at a time (a short read is allowed), so the kept bytes
	 * stay contiguous. All dropped: read on, never report a false EOF;
	 * a non-blocking socket answers EAGAIN when there is no more. */
	do {
		n = real(fd, iov, 1);
		if (n > 0)
			n = (ssize_t)crlf_track_filter(&tracks[fd], iov[0].iov_base, (size_t)n);
		else
			return n;
	} while (n == 0);
	return n;
}
