/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP/1.1 response parser (see http_parser.h). */
#include "invoker/http_parser.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"

#define HTTP_HEAD_MAX 8192       /* status line + headers; trailers likewise */
#define HTTP_CHUNK_LINE_MAX 4096 /* chunk size + extensions + CRLF */
#define HTTP_BODY_GUESS 4096     /* first allocation when the length is unknown */

enum http_parser_state {
	PS_STATUS,
	PS_HEADER,
	PS_BODY_LEN,
	PS_BODY_EOF,
	PS_CHUNK_SIZE,
	PS_CHUNK_DATA,
	PS_CHUNK_END,
	PS_TRAILER,
	PS_DONE,
	PS_ERROR,
};

enum {
	PF_HAS_LEN = 1u << 0,    /* Content-Length seen */
	PF_HTTP10 = 1u << 1,     /* HTTP/1.0 response: close unless keep-alive */
	PF_KEEP_ALIVE = 1u << 2, /* "Connection: keep-alive" */
	PF_TE = 1u << 3,         /* Transfer-Encoding seen */
};

void http_parser_init(struct http_parser *p, size_t max_body)
{
	/* Zeroing line[] too costs ~20 ns; keeps the struct fully defined. */
	memset(p, 0, sizeof(*p));
	p->state = PS_STATUS;
	/* max_body + 1 (the NUL) must not overflow. */
	p->max_body = max_body < SIZE_MAX ? max_body : SIZE_MAX - 1;
}

void http_parser_fini(struct http_parser *p)
{
	if (!p)
		return;
	free(p->body);
	p->body = NULL;
	p->len = p->cap = 0;
}

void http_parser_take(struct http_parser *p, struct http_response *r)
{
	r->status = p->status;
	r->body = p->body;
	r->len = p->len;
	r->full_len = p->full_len;
	r->elapsed_us = 0;
	p->body = NULL;
	p->len = p->cap = 0;
}

void http_response_fini(struct http_response *r)
{
	if (!r)
		return;
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static int parser_fail(struct http_parser *p, const char *why)
{
	p->state = PS_ERROR;
	p->error = why;
	return -EPROTO;
}

static bool is_line_state(int state)
{
	return state == PS_STATUS || state == PS_HEADER || state == PS_CHUNK_SIZE ||
	       state == PS_CHUNK_END || state == PS_TRAILER;
}

static int ascii_lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch;
}

/* Case-insensitive equality of s[0..n) with the lower-case literal `lit`;
 * locale-free on purpose (strncasecmp follows LC_CTYPE). */
static bool token_eq(const char *s, size_t n, const char *lit)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lit[i] == '\0' || ascii_lower((unsigned char)s[i]) != lit[i])
			return false;
	return lit[i] == '\0';
}

static bool is_ows(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* RFC 9110 tchar. */
static bool is_tchar(unsigned char ch)
{
	if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
		return true;
	return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* Control characters other than HTAB (and DEL) have no place in a head. */
static bool has_ctl(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return true;
	}
	return false;
}

/* Calls fn(token, len, arg) for each comma-separated, OWS-trimmed,
 * non-empty element of a header value. */
static void for_each_token(const char *s, size_t n, void (*fn)(const char *, size_t, void *),
			   void *arg)
{
	size_t i = 0;

	while (i < n) {
		size_t start, end;

		while (i < n && (is_ows(s[i]) || s[i] == ','))
			i++;
		start = i;
		while (i < n && s[i] != ',')
			i++;
		end = i;
		while (end > start && is_ows(s[end - 1]))
			end--;
		if (end > start)
			fn(s + start, end - start, arg);
	}
}

static void connection_token(const char *t, size_t n, void *arg)
{
	struct http_parser *p = arg;

	if (token_eq(t, n, "close"))
		p->close = 1;
	else if (token_eq(t, n, "keep-alive"))
		p->flags |= PF_KEEP_ALIVE;
}

static void te_token(const char *t, size_t n, void *arg)
{
	struct http_parser *p = arg;

	/* Only a final "chunked" frames the body (RFC 9112 6.3); the last
	 * token seen wins, across repeated header lines too. */
	p->chunked = token_eq(t, n, "chunked");
}

static int parse_status(struct http_parser *p, const char *s, size_t n)
{
	int status;

	/* "HTTP/1.x SSS[ reason]": the first 12 bytes are always stored. */
	if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9' || s[8] != ' ')
		return parser_fail(p, "bad status line");
	for (int i = 9; i < 12; i++)
		if (s[i] < '0' || s[i] > '9')
			return parser_fail(p, "bad status code");
	if (n > 12 && s[12] != ' ')
		return parser_fail(p, "bad status code");
	status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	if (status < 100 || status > 599)
		return parser_fail(p, "status code out of range");
	p->status = status;
	if (s[7] == '0')
		p->flags |= PF_HTTP10;
	p->state = PS_HEADER;
	return 0;
}

static int parse_content_length(struct http_parser *p, const char *v, size_t n)
{
	size_t val = 0;

	if (n == 0)
		return parser_fail(p, "empty Content-Length");
	for (size_t i = 0; i < n; i++) {
		unsigned d;

		if (v[i] < '0' || v[i] > '9')
			return parser_fail(p, "bad Content-Length");
		d = (unsigned)(v[i] - '0');
		if (val > (SIZE_MAX - d) / 10)
			return parser_fail(p, "Content-Length too large");
		val = val * 10 + d;
	}
	if ((p->flags & PF_HAS_LEN) && val != p->content_length)
		return parser_fail(p, "conflicting Content-Length headers");
	p->content_length = val;
	p->flags |= PF_HAS_LEN;
	return 0;
}

/* One header line (without line ending). `trunc`: only the first n bytes
 * of a longer line were kept. */
static int parse_header(struct http_parser *p, const char *s, size_t n, bool trunc)
{
	const char *colon, *v;
	size_t name_len, vlen;

	if (is_ows(s[0]))
		return parser_fail(p, "obsolete header line folding");
	colon = memchr(s, ':', n);
	if (!colon)
		return parser_fail(p, trunc ? "header name too long" : "header line without colon");
	name_len = (size_t)(colon - s);
	if (name_len == 0)
		return parser_fail(p, "empty header name");
	for (size_t i = 0; i < name_len; i++)
		if (!is_tchar((unsigned char)s[i]))
			return parser_fail(p, "bad header name");
	v = colon + 1;
	vlen = n - name_len - 1;
	while (vlen > 0 && is_ows(v[0])) {
		v++;
		vlen--;
	}
	while (vlen > 0 && is_ows(v[vlen - 1]))
		vlen--;

	if (token_eq(s, name_len, "content-length")) {
		if (trunc)
			return parser_fail(p, "Content-Length too long");
		return parse_content_length(p, v, vlen);
	}
	if (token_eq(s, name_len, "transfer-encoding")) {
		if (trunc)
			return parser_fail(p, "Transfer-Encoding too long");
		if (vlen == 0)
			return parser_fail(p, "empty Transfer-Encoding");
		p->flags |= PF_TE;
		p->chunked = 0;
		for_each_token(v, vlen, te_token, p);
		return 0;
	}
	if (token_eq(s, name_len, "connection")) {
		if (trunc)
			return parser_fail(p, "Connection header too long");
		for_each_token(v, vlen, connection_token, p);
	}
	return 0;
}

/* Make room for `more` body bytes plus the NUL; never beyond max_body + 1. */
static int body_reserve(struct http_parser *p, size_t more)
{
	size_t need = p->len + more + 1, cap = p->cap ? p->cap : 64;
	char *nb;

	if (need <= p->cap)
		return 0;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
	if (cap > p->max_body + 1)
		cap = p->max_body + 1;
	nb = realloc(p->body, cap);
	if (!nb) {
		p->state = PS_ERROR;
		p->error = "out of memory";
		return -ENOMEM;
	}
	p->body = nb;
	p->cap = cap;
	return 0;
}

/* Count n body bytes, keep what fits under max_body (the rest is drained). */
static int body_append(struct http_parser *p, const char *src, size_t n)
{
	size_t keep = p->max_body - p->len;

	if (n > SIZE_MAX - p->full_len)
		return parser_fail(p, "body too large");
	p->full_len += n;
	if (keep > n)
		keep = n;
	if (keep == 0)
		return 0;
	if (body_reserve(p, keep) < 0)
		return -ENOMEM;
	memcpy(p->body + p->len, src, keep);
	p->len += keep;
	p->body[p->len] = '\0';
	return 0;
}

/* The blank line after the headers: choose how the body is framed
 * (RFC 9112 6.3) and allocate it, so even an empty body is a "" string. */
static int headers_done(struct http_parser *p)
{
	size_t guess = HTTP_BODY_GUESS;
	int next;

	if (p->status < 200) {
		/* Interim response; we never ask to switch protocols. */
		if (p->status == 101)
			return parser_fail(p, "unexpected 101 Switching Protocols");
		p->status = 0;
		p->flags = 0;
		p->chunked = 0;
		p->close = 0;
		p->content_length = 0;
		p->state = PS_STATUS;
		return 0;
	}
	if ((p->flags & PF_HTTP10) && !(p->flags & PF_KEEP_ALIVE))
		p->close = 1;
	if (p->status == 204 || p->status == 304) {
		next = PS_DONE;
		guess = 0;
	} else if (p->flags & PF_TE) {
		/* A non-chunked coding runs to EOF; with Content-Length too the
		 * framing is suspect, so do not reuse the connection. */
		next = p->chunked ? PS_CHUNK_SIZE : PS_BODY_EOF;
		if (!p->chunked || (p->flags & PF_HAS_LEN))
			p->close = 1;
	} else if (p->flags & PF_HAS_LEN) {
		next = p->content_length ? PS_BODY_LEN : PS_DONE;
		guess = p->content_length;
	} else {
		next = PS_BODY_EOF;
		p->close = 1;
	}
	if (guess > p->max_body)
		guess = p->max_body;
	if (body_reserve(p, guess) < 0)
		return -ENOMEM;
	p->body[0] = '\0';
	p->state = next;
	return 0;
}

static int parse_chunk_size(struct http_parser *p, const char *s, size_t n)
{
	size_t i = 0, val = 0;
	int d;

	while (i < n && (d = codec_hex_value((unsigned char)s[i])) >= 0) {
		if (val > (SIZE_MAX >> 4))
			return parser_fail(p, "chunk size too large");
		val = (val << 4) | (size_t)d;
		i++;
	}
	if (i == 0)
		return parser_fail(p, "bad chunk size");
	while (i < n && is_ows(s[i]))
		i++;
	/* Chunk extensions (";name=value") are ignored. */
	if (i < n && s[i] != ';')
		return parser_fail(p, "bad chunk size");
	if (val > SIZE_MAX - p->full_len)
		return parser_fail(p, "chunked body too large");
	if (val == 0) {
		p->head_len = 0; /* the trailer section gets its own budget */
		p->state = PS_TRAILER;
	} else {
		p->chunk_left = val;
		p->state = PS_CHUNK_DATA;
	}
	return 0;
}

/* A complete line sits in p->line (its first sizeof(line) bytes). */
static int line_done(struct http_parser *p)
{
	size_t n = p->line_len - 1; /* without '\n' */
	bool trunc = n > sizeof(p->line);
	const char *s = p->line;

	if (trunc)
		n = sizeof(p->line);
	else if (n > 0 && s[n - 1] == '\r')
		n--;
	switch (p->state) {
	case PS_STATUS:
		if (has_ctl(s, n))
			return parser_fail(p, "control character in status line");
		return parse_status(p, s, n);
	case PS_HEADER:
		if (n == 0)
			return headers_done(p);
		if (has_ctl(s, n))
			return parser_fail(p, "control character in header");
		return parse_header(p, s, n, trunc);
	case PS_CHUNK_SIZE:
		return parse_chunk_size(p, s, n);
	case PS_CHUNK_END:
		if (n != 0)
			return parser_fail(p, "chunk data longer than its size");
		p->state = PS_CHUNK_SIZE;
		return 0;
	case PS_TRAILER:
		/* Trailer fields are tolerated and ignored. */
		if (n == 0)
			p->state = PS_DONE;
		return 0;
	default:
		return parser_fail(p, "internal parser state");
	}
}

/* Take bytes of the current line up to and including '\n'. */
static int line_feed(struct http_parser *p, const char *data, size_t n, size_t *taken)
{
	const char *nl = memchr(data, '\n', n);
	size_t take = nl ? (size_t)(nl - data) + 1 : n;

	/* Limits before anything is stored: the line length and the head
	 * size are bounded whether or not a newline ever comes. */
	if (p->state == PS_CHUNK_SIZE || p->state == PS_CHUNK_END) {
		if (take > HTTP_CHUNK_LINE_MAX - p->line_len)
			return parser_fail(p, "chunk size line too long");
	} else {
		if (take > HTTP_HEAD_MAX - p->head_len)
			return parser_fail(p, p->state == PS_TRAILER ? "trailers too large"
								     : "response head too large");
		p->head_len += take;
	}
	if (p->line_len < sizeof(p->line)) {
		size_t room = sizeof(p->line) - p->line_len;

		memcpy(p->line + p->line_len, data, take < room ? take : room);
	}
	p->line_len += take;
	*taken = take;
	if (!nl)
		return 0;
	{
		int rc = line_done(p);

		p->line_len = 0;
		return rc;
	}
}

int http_parser_feed(struct http_parser *p, const char *data, size_t len, size_t *consumed)
{
	size_t i = 0;
	int rc;

	*consumed = 0;
	if (p->state == PS_DONE)
		return 1;
	if (p->state == PS_ERROR)
		return -EPROTO;
	while (i < len) {
		size_t n = len - i;

		switch (p->state) {
		case PS_BODY_LEN:
			if (n > p->content_length - p->full_len)
				n = p->content_length - p->full_len;
			rc = body_append(p, data + i, n);
			if (rc == 0 && p->full_len == p->content_length)
				p->state = PS_DONE;
			break;
		case PS_CHUNK_DATA:
			if (n > p->chunk_left)
				n = p->chunk_left;
			rc = body_append(p, data + i, n);
			p->chunk_left -= n;
			if (rc == 0 && p->chunk_left == 0)
				p->state = PS_CHUNK_END;
			break;
		case PS_BODY_EOF:
			rc = body_append(p, data + i, n);
			break;
		default:
			if (!is_line_state(p->state)) {
				rc = parser_fail(p, "internal parser state");
				n = 0;
				break;
			}
			rc = line_feed(p, data + i, n, &n);
			break;
		}
		i += n;
		*consumed = i;
		if (rc < 0)
			return rc;
		if (p->state == PS_DONE)
			return 1;
	}
	return 0;
}

int http_parser_eof(struct http_parser *p)
{
	if (p->state == PS_BODY_EOF)
		p->state = PS_DONE;
	return p->state == PS_DONE;
}
