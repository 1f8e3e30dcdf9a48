/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP/1.1 client for action containers' runtime proxies (see proxy.h). One
 * kept-alive, non-blocking TCP connection per container, loopback only. A
 * request is one sendmsg() of head + body; the response is read into a
 * per-connection buffer with poll() against one deadline and parsed
 * incrementally. The parser is pure and bounded: it is fed untrusted bytes
 * (and fuzzed), so every length is checked before it is used. */
#include "invoker/proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "common/codec.h"
#include "common/now.h"

/* ------------------------------------------------------------------ */
/* Parser                                                              */
/* ------------------------------------------------------------------ */

#define PROXY_HEAD_MAX 8192       /* status line + headers; trailers likewise */
#define PROXY_CHUNK_LINE_MAX 4096 /* chunk size + extensions + CRLF */
#define PROXY_BODY_GUESS 4096     /* first allocation when the length is unknown */

enum proxy_parser_state {
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

void proxy_parser_init(struct proxy_parser *p, size_t max_body)
{
	/* Zeroing line[] too costs ~20 ns; keeps the struct fully defined. */
	memset(p, 0, sizeof(*p));
	p->state = PS_STATUS;
	/* max_body + 1 (the NUL) must not overflow. */
	p->max_body = max_body < SIZE_MAX ? max_body : SIZE_MAX - 1;
}

void proxy_parser_fini(struct proxy_parser *p)
{
	if (!p)
		return;
	free(p->body);
	p->body = NULL;
	p->len = p->cap = 0;
}

void proxy_parser_take(struct proxy_parser *p, struct proxy_response *r)
{
	r->status = p->status;
	r->body = p->body;
	r->len = p->len;
	r->full_len = p->full_len;
	r->elapsed_us = 0;
	p->body = NULL;
	p->len = p->cap = 0;
}

void proxy_response_fini(struct proxy_response *r)
{
	if (!r)
		return;
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static int parser_fail(struct proxy_parser *p, const char *why)
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
	struct proxy_parser *p = arg;

	if (token_eq(t, n, "close"))
		p->close = 1;
	else if (token_eq(t, n, "keep-alive"))
		p->flags |= PF_KEEP_ALIVE;
}

static void te_token(const char *t, size_t n, void *arg)
{
	struct proxy_parser *p = arg;

	/* Only a final "chunked" frames the body (RFC 9112 6.3); the last
	 * token seen wins, across repeated header lines too. */
	p->chunked = token_eq(t, n, "chunked");
}

static int parse_status(struct proxy_parser *p, const char *s, size_t n)
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

static int parse_content_length(struct proxy_parser *p, const char *v, size_t n)
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
static int parse_header(struct proxy_parser *p, const char *s, size_t n, bool trunc)
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
static int body_reserve(struct proxy_parser *p, size_t more)
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
static int body_append(struct proxy_parser *p, const char *src, size_t n)
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
static int headers_done(struct proxy_parser *p)
{
	size_t guess = PROXY_BODY_GUESS;
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

static int parse_chunk_size(struct proxy_parser *p, const char *s, size_t n)
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
static int line_done(struct proxy_parser *p)
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
static int line_feed(struct proxy_parser *p, const char *data, size_t n, size_t *taken)
{
	const char *nl = memchr(data, '\n', n);
	size_t take = nl ? (size_t)(nl - data) + 1 : n;

	/* Limits before anything is stored: the line length and the head
	 * size are bounded whether or not a newline ever comes. */
	if (p->state == PS_CHUNK_SIZE || p->state == PS_CHUNK_END) {
		if (take > PROXY_CHUNK_LINE_MAX - p->line_len)
			return parser_fail(p, "chunk size line too long");
	} else {
		if (take > PROXY_HEAD_MAX - p->head_len)
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

int proxy_parser_feed(struct proxy_parser *p, const char *data, size_t len, size_t *consumed)
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

int proxy_parser_eof(struct proxy_parser *p)
{
	if (p->state == PS_BODY_EOF)
		p->state = PS_DONE;
	return p->state == PS_DONE;
}

/* ------------------------------------------------------------------ */
/* Connection                                                          */
/* ------------------------------------------------------------------ */

#define PROXY_PATH_MAX 1024
#define PROXY_RBUF_SIZE (16 * 1024)

struct proxy_conn {
	int fd;                      /* -1 when closed; the next proxy_post reopens */
	bool reused;                 /* fd has carried a complete response */
	uint16_t port;
	uint32_t connect_timeout_ms;
	char rbuf[PROXY_RBUF_SIZE];  /* read buffer, reused by every request */
};

static const char head_pre[] = "POST ";
static const char head_mid[] = " HTTP/1.1\r\n"
			       "Host: 127.0.0.1\r\n"
			       "Content-Type: application/json\r\n"
			       "Accept: application/json\r\n"
			       "Content-Length: ";
static const char head_end[] = "\r\n\r\n";
#define PROXY_HEAD_BUF \
	(sizeof(head_pre) + PROXY_PATH_MAX + sizeof(head_mid) + 20 + sizeof(head_end))

/* poll() one fd until an event or the deadline (EINTR retried here only).
 * Returns the revents (> 0), -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, uint64_t deadline_us)
{
	for (;;) {
		uint64_t now = now_mono_us(), left_ms;
		struct pollfd pfd = { .fd = fd, .events = events };
		int n;

		if (now >= deadline_us)
			return -ETIMEDOUT;
		/* Round up: waking early would only spin. */
		left_ms = (deadline_us - now + 999) / 1000;
		n = poll(&pfd, 1, left_ms > INT_MAX ? INT_MAX : (int)left_ms);
		if (n > 0)
			return pfd.revents;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static void conn_drop(struct proxy_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->reused = false;
}

/* Non-blocking connect to 127.0.0.1:port by the deadline. */
static int conn_connect(struct proxy_conn *c, uint64_t deadline_us)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(c->port) };
	int fd, one = 1, rc;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Head and body go out in one segment anyway; NODELAY keeps a
	 * second partial write (large bodies) from waiting for an ACK. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
		rc = -errno;
		goto fail;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		/* After EINTR the connect goes on asynchronously, as after
		 * EINPROGRESS. */
		if (errno != EINPROGRESS && errno != EINTR) {
			rc = -errno;
			goto fail;
		}
		rc = wait_fd(fd, POLLOUT, deadline_us);
		if (rc < 0)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) {
			rc = -errno;
			goto fail;
		}
		if (soerr != 0) {
			rc = -soerr;
			goto fail;
		}
	}
	c->fd = fd;
	c->reused = false;
	return 0;
fail:
	close(fd);
	return rc;
}

static uint64_t deadline_after_ms(uint32_t ms)
{
	return now_mono_us() + (uint64_t)ms * 1000u;
}

int proxy_conn_open(uint16_t port, uint32_t timeout_ms, struct proxy_conn **out, struct err *e)
{
	struct proxy_conn *c;
	int rc;

	if (!out || port == 0)
		return err_set(e, -EINVAL, "connect to 127.0.0.1:%u: invalid port or output",
			       (unsigned)port);
	c = malloc(sizeof(*c));
	if (!c)
		return err_set(e, -ENOMEM, "connect to 127.0.0.1:%u: out of memory", (unsigned)port);
	c->fd = -1;
	c->reused = false;
	c->port = port;
	c->connect_timeout_ms = timeout_ms;
	rc = conn_connect(c, deadline_after_ms(timeout_ms));
	if (rc < 0) {
		free(c);
		if (rc == -ETIMEDOUT)
			return err_set(e, rc, "connect to 127.0.0.1:%u: timed out after %u ms",
				       (unsigned)port, timeout_ms);
		return err_set(e, rc, "connect to 127.0.0.1:%u: %s", (unsigned)port, strerror(-rc));
	}
	*out = c;
	return 0;
}

void proxy_conn_close(struct proxy_conn *c)
{
	if (!c)
		return;
	conn_drop(c);
	free(c);
}

/* A kept-alive connection the peer has closed (its idle timeout), reset,
 * or sent unsolicited bytes on cannot carry the next request. One
 * non-blocking peek catches the common stale case before anything is sent,
 * so the request is not even written to a dead socket. */
static bool conn_idle_is_usable(int fd)
{
	char b;
	ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static int build_head(char *buf, const char *path, size_t body_len, size_t *out_len)
{
	char num[24];
	size_t plen = strnlen(path, PROXY_PATH_MAX + 1), nlen = 0, pos = 0;
	uint64_t v = body_len;

	if (plen == 0 || plen > PROXY_PATH_MAX || path[0] != '/')
		return -EINVAL;
	for (size_t i = 0; i < plen; i++) {
		unsigned char ch = (unsigned char)path[i];

		/* No space, CR/LF or other control: no request splitting. */
		if (ch <= 0x20 || ch >= 0x7f)
			return -EINVAL;
	}
	do {
		num[sizeof(num) - 1 - nlen++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	memcpy(buf + pos, head_pre, sizeof(head_pre) - 1);
	pos += sizeof(head_pre) - 1;
	memcpy(buf + pos, path, plen);
	pos += plen;
	memcpy(buf + pos, head_mid, sizeof(head_mid) - 1);
	pos += sizeof(head_mid) - 1;
	memcpy(buf + pos, num + sizeof(num) - nlen, nlen);
	pos += nlen;
	memcpy(buf + pos, head_end, sizeof(head_end) - 1);
	pos += sizeof(head_end) - 1;
	*out_len = pos;
	return 0;
}

struct exchange {
	size_t got;        /* response bytes received */
	bool close_after;  /* the connection cannot carry another request */
};

/* Send the request and read one response on c->fd by the deadline. While
 * the request is still going out the response is read as well: a server
 * may answer (413, say) before taking the whole body, and a client that
 * only writes would deadlock with it. */
static int conn_exchange(struct proxy_conn *c, const struct iovec req[2], uint64_t deadline_us,
			 struct proxy_parser *p, struct exchange *x)
{
	size_t total = req[0].iov_len + req[1].iov_len, sent = 0;
	int send_err = 0;

	for (;;) {
		short events = POLLIN;
		int rev;

		if (sent < total && send_err == 0) {
			struct iovec v[2];
			struct msghdr msg = { .msg_iov = v };
			size_t off = sent;
			ssize_t n;

			for (int k = 0; k < 2; k++) {
				if (off >= req[k].iov_len) {
					off -= req[k].iov_len;
					continue;
				}
				v[msg.msg_iovlen].iov_base = (char *)req[k].iov_base + off;
				v[msg.msg_iovlen].iov_len = req[k].iov_len - off;
				msg.msg_iovlen++;
				off = 0;
			}
			/* sendmsg = writev + MSG_NOSIGNAL: no SIGPIPE from a
			 * container that went away. */
			n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n >= 0) {
				sent += (size_t)n;
				if (sent < total)
					continue;
			} else if (errno == EINTR) {
				continue;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
				/* Read what the peer said before it went away. */
				send_err = -errno;
			}
		}
		if (sent < total && send_err == 0)
			events |= POLLOUT;
		rev = wait_fd(c->fd, events, deadline_us);
		if (rev < 0)
			return rev;
		if (!(rev & (POLLIN | POLLERR | POLLHUP)))
			continue;
		for (;;) {
			ssize_t n = recv(c->fd, c->rbuf, sizeof(c->rbuf), MSG_DONTWAIT);
			size_t used;
			int rc;

			if (n > 0) {
				x->got += (size_t)n;
				rc = proxy_parser_feed(p, c->rbuf, (size_t)n, &used);
				if (rc < 0)
					return rc;
				if (rc == 1) {
					/* Bytes past the response, or a request
					 * not fully sent: out of step, drop it. */
					if (used < (size_t)n || sent < total || p->close)
						x->close_after = true;
					return 0;
				}
				if ((size_t)n == sizeof(c->rbuf))
					continue; /* likely more queued */
				/* Part of a response, e.g. the head written
				 * apart from the body by a server without
				 * TCP_NODELAY: its Nagle holds the body until
				 * our ACK, which the kernel delays by 40 ms.
				 * Send the ACK now (costs nothing on the fast
				 * path, where one read gets it all). */
				setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &(int){ 1 },
					   sizeof(int));
				break;
			}
			if (n == 0) {
				if (proxy_parser_eof(p) == 1) {
					x->close_after = true;
					return 0;
				}
				return send_err ? send_err : -ECONNABORTED;
			}
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -errno;
		}
	}
}

static const char *exchange_error(int rc, const struct proxy_parser *p)
{
	switch (rc) {
	case -ETIMEDOUT:
		return "no complete response in time";
	case -ECONNABORTED:
		return "connection closed by the container";
	case -ECONNRESET:
		return "connection reset by the container";
	case -EPIPE:
		return "connection closed by the container while sending";
	case -EPROTO:
		return p->error ? p->error : "malformed response";
	case -ENOMEM:
		return "out of memory for the response";
	default:
		return strerror(-rc);
	}
}

int proxy_post(struct proxy_conn *c, const char *path, const char *body, size_t len,
	       uint32_t timeout_ms, size_t max_body, struct proxy_response *resp, struct err *e)
{
	char head[PROXY_HEAD_BUF];
	struct iovec req[2];
	struct proxy_parser p;
	uint64_t deadline_us = deadline_after_ms(timeout_ms);
	bool retried = false;
	size_t head_len;

	if (resp)
		memset(resp, 0, sizeof(*resp));
	if (!c || !resp || !path || (!body && len))
		return err_set(e, -EINVAL, "POST: invalid arguments");
	if (build_head(head, path, len, &head_len) < 0)
		return err_set(e, -EINVAL, "POST to 127.0.0.1:%u: invalid path", (unsigned)c->port);
	req[0].iov_base = head;
	req[0].iov_len = head_len;
	req[1].iov_base = (char *)body;
	req[1].iov_len = len;

	for (;;) {
		struct exchange x = { 0 };
		bool reused = false;
		uint64_t t0;
		int rc;

		if (c->fd >= 0 && c->reused) {
			if (conn_idle_is_usable(c->fd))
				reused = true;
			else
				conn_drop(c);
		}
		if (c->fd < 0) {
			uint64_t cdl = deadline_after_ms(c->connect_timeout_ms);

			rc = conn_connect(c, cdl < deadline_us ? cdl : deadline_us);
			if (rc < 0)
				return err_set(e, rc, "POST %s to 127.0.0.1:%u: connect: %s%s", path,
					       (unsigned)c->port,
					       rc == -ETIMEDOUT ? "timed out" : strerror(-rc),
					       retried ? " (reconnecting a stale connection)" : "");
		}
		proxy_parser_init(&p, max_body);
		t0 = now_mono_us();
		rc = conn_exchange(c, req, deadline_us, &p, &x);
		if (rc == 0) {
			proxy_parser_take(&p, resp);
			resp->elapsed_us = now_mono_us() - t0;
			if (x.close_after)
				conn_drop(c);
			else
				c->reused = true;
			return 0;
		}
		conn_drop(c);
		/* Stale keep-alive: the container closed the idle connection
		 * as the request went out. Nothing of a response came, so
		 * nothing is lost by sending it once more on a fresh one. */
		if (reused && x.got == 0 && !retried &&
		    (rc == -ECONNRESET || rc == -EPIPE || rc == -ECONNABORTED)) {
			proxy_parser_fini(&p);
			retried = true;
			continue;
		}
		err_set(e, rc, "POST %s to 127.0.0.1:%u: %s (%zu response bytes, %u ms timeout%s)",
			path, (unsigned)c->port, exchange_error(rc, &p), x.got, timeout_ms,
			retried ? ", after reconnecting a stale connection" : "");
		proxy_parser_fini(&p);
		return rc;
	}
}
