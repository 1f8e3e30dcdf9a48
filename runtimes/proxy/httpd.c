/* SPDX-License-Identifier: Apache-2.0 */
/* One-connection-at-a-time HTTP/1.1 server (see httpd.h). Headers are read
 * into a small connection buffer (HTTPD_HEADER_MAX); a Content-Length body is
 * received straight into its own exactly-sized buffer so a 64 MB /init is held
 * once, and freed as soon as its response is sent. */
#include "runtimes/proxy/httpd.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/jscan.h"

#define HTTPD_HEADER_MAX (64 * 1024)
#define HTTPD_READ_CHUNK (64 * 1024)
#define HTTPD_TICK_MS 1000

struct conn {
	int fd;
	struct buf in;  /* received, not yet consumed */
};

/* Outcome of a read attempt on the current connection. */
enum {
	CONN_DATA = 1,      /* bytes arrived */
	CONN_GONE = 0,      /* peer closed or error: connection closed */
	CONN_REPLACED = -1, /* a new connection replaced the old one */
	CONN_STOP = -2,     /* *stop was set */
};

struct server {
	int listen_fd;
	size_t max_body;
	httpd_handler_fn handler;
	httpd_tick_fn tick;
	void *ctx;
	volatile sig_atomic_t *stop;
};

int httpd_listen(uint16_t port, int *out_fd)
{
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	*out_fd = fd;
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	buf_clear(&c->in, HTTPD_HEADER_MAX + HTTPD_READ_CHUNK);
}

static int conn_accept(struct server *s, struct conn *c)
{
	int one = 1;
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	conn_close(c);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	return 0;
}

/* Wait until the connection is readable, replacing it if a new connection
 * arrives first. Returns CONN_DATA (readable), CONN_REPLACED or CONN_STOP. */
static int conn_wait(struct server *s, struct conn *c)
{
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = c->fd, .events = POLLIN },
			{ .fd = s->listen_fd, .events = POLLIN },
		};
		if (*s->stop)
			return CONN_STOP;
		int n = poll(p, 2, HTTPD_TICK_MS);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return CONN_STOP;
		}
		if (n == 0) {
			if (s->tick)
				s->tick(s->ctx);
			continue;
		}
		if (p[0].revents)
			return CONN_DATA;
		if (p[1].revents & POLLIN) {
			if (conn_accept(s, c) == 0)
				return CONN_REPLACED;
		}
	}
}

/* Read into dst (up to cap bytes). Returns bytes read (> 0), or a CONN_*
 * value <= 0; on CONN_GONE the connection is closed. */
static ssize_t conn_read(struct server *s, struct conn *c, char *dst, size_t cap)
{
	int w = conn_wait(s, c);
	if (w != CONN_DATA)
		return w;
	for (;;) {
		ssize_t n = recv(c->fd, dst, cap, 0);
		if (n > 0)
			return n;
		if (n < 0 && errno == EINTR)
			continue;
		conn_close(c);
		return CONN_GONE;
	}
}

/* Read more bytes into c->in. Returns CONN_DATA or another CONN_* value. */
static int conn_fill(struct server *s, struct conn *c)
{
	if (buf_reserve(&c->in, HTTPD_READ_CHUNK) < 0) {
		conn_close(c);
		return CONN_GONE;
	}
	ssize_t n = conn_read(s, c, c->in.data + c->in.len, HTTPD_READ_CHUNK);
	if (n <= 0)
		return (int)n;
	c->in.len += (size_t)n;
	c->in.data[c->in.len] = '\0';
	return CONN_DATA;
}

static int send_all(int fd, struct iovec *iov, int cnt)
{
	while (cnt > 0) {
		ssize_t n = writev(fd, iov, cnt);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		size_t left = (size_t)n;
		while (cnt > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	return 0;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

static int send_response(struct conn *c, int status, const char *body, size_t len, bool keep_alive)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n%s\r\n",
			 status, reason(status), len,
			 keep_alive ? "" : "Connection: close\r\n");
	if (n < 0 || (size_t)n >= sizeof(head))
		return -EINVAL;
	struct iovec iov[2] = {
		{ .iov_base = head, .iov_len = (size_t)n },
		{ .iov_base = (void *)body, .iov_len = len },
	};
	return send_all(c->fd, iov, len ? 2 : 1);
}

/* Reply with {"error": msg} and close: used for requests we cannot parse. */
static void fail_and_close(struct conn *c, int status, const char *msg)
{
	struct buf b = BUF_INIT;
	if (buf_puts(&b, "{\"error\":") == 0 && jscan_quote(&b, msg, strlen(msg)) == 0 &&
	    buf_puts(&b, "}") == 0)
		(void)send_response(c, status, b.data, b.len, false);
	buf_fini(&b);
	conn_close(c);
}

/* Header block parsed from c->in[0..hdr_len). */
struct head {
	char method[16];
	char path[1024];
	int minor;
	bool keep_alive;
	bool chunked;
	bool expect_continue;
	bool has_length;
	size_t length;
	size_t hdr_len;
};

/* Find the blank line ending the header block; returns its total length
 * including the terminator, or 0 if not complete yet. Accepts bare LF. */
static size_t header_end(const char *d, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (d[i] != '\n')
			continue;
		if (d[i + 1] == '\n')
			return i + 2;
		if (d[i + 1] == '\r' && i + 2 < len && d[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static bool token_in_list(const char *v, const char *tok)
{
	size_t tl = strlen(tok);
	while (*v) {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		size_t n = strcspn(v, ",");
		size_t m = n;
		while (m > 0 && (v[m - 1] == ' ' || v[m - 1] == '\t'))
			m--;
		if (m == tl && strncasecmp(v, tok, tl) == 0)
			return true;
		v += n;
	}
	return false;
}

/* Parse the header block in place (it is NUL-separated as a side effect).
 * Returns 0, or an HTTP status for a malformed request with *why set. */
static int parse_head(char *d, size_t hdr_len, struct head *h, const char **why)
{
	bool conn_close_tok = false, conn_keep_tok = false;
	char *end = d + hdr_len;
	char *line = d;
	char *nl = memchr(line, '\n', (size_t)(end - line));

	memset(h, 0, sizeof(*h));
	h->hdr_len = hdr_len;
	*why = "malformed request line";
	if (!nl)
		return 400;
	*nl = '\0';
	if (nl > line && nl[-1] == '\r')
		nl[-1] = '\0';
	char *sp1 = strchr(line, ' ');
	char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || (size_t)(sp1 - line) >= sizeof(h->method) || sp1 == line)
		return 400;
	memcpy(h->method, line, (size_t)(sp1 - line));
	h->method[sp1 - line] = '\0';
	size_t plen = strcspn(sp1 + 1, " ?");
	if (plen >= sizeof(h->path)) {
		*why = "request target too long";
		return 400;
	}
	memcpy(h->path, sp1 + 1, plen);
	h->path[plen] = '\0';
	if (strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || (sp2[8] != '0' && sp2[8] != '1') || sp2[9] != '\0') {
		*why = "unsupported HTTP version";
		return 400;
	}
	h->minor = sp2[8] - '0';

	for (line = nl + 1; line < end; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			break;
		*nl = '\0';
		if (nl > line && nl[-1] == '\r')
			nl[-1] = '\0';
		if (*line == '\0')
			break;
		char *colon = strchr(line, ':');
		if (!colon) {
			*why = "malformed header line";
			return 400;
		}
		*colon = '\0';
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		size_t vl = strlen(v);
		while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			v[--vl] = '\0';
		if (strcasecmp(line, "Content-Length") == 0) {
			if (vl == 0 || vl > 18 || strspn(v, "0123456789") != vl) {
				*why = "bad Content-Length";
				return 400;
			}
			size_t n = (size_t)strtoull(v, NULL, 10);
			if (h->has_length && n != h->length) {
				*why = "conflicting Content-Length headers";
				return 400;
			}
			h->has_length = true;
			h->length = n;
		} else if (strcasecmp(line, "Transfer-Encoding") == 0) {
			if (strcasecmp(v, "chunked") != 0) {
				*why = "unsupported Transfer-Encoding";
				return 501;
			}
			h->chunked = true;
		} else if (strcasecmp(line, "Connection") == 0) {
			conn_close_tok |= token_in_list(v, "close");
			conn_keep_tok |= token_in_list(v, "keep-alive");
		} else if (strcasecmp(line, "Expect") == 0) {
			if (strcasecmp(v, "100-continue") == 0)
				h->expect_continue = true;
		}
	}
	if (h->chunked && h->has_length) {
		*why = "both Content-Length and Transfer-Encoding";
		return 400;
	}
	h->keep_alive = h->minor == 1 ? !conn_close_tok : conn_keep_tok;
	return 0;
}

/* Receive a Content-Length body into body (exactly sized). */
static int read_body_length(struct server *s, struct conn *c, size_t len, struct buf *body)
{
	if (buf_reserve(body, len) < 0)
		return CONN_GONE;
	size_t have = c->in.len < len ? c->in.len : len;
	if (buf_append(body, c->in.data, have) < 0)
		return CONN_GONE;
	buf_consume(&c->in, have);
	while (body->len < len) {
		ssize_t n = conn_read(s, c, body->data + body->len, len - body->len);
		if (n <= 0)
			return (int)n;
		body->len += (size_t)n;
	}
	body->data[body->len] = '\0';
	return CONN_DATA;
}

/* Wait until c->in holds a full line; returns its length including LF. */
static int need_line(struct server *s, struct conn *c, size_t *line_len)
{
	for (;;) {
		char *nl = c->in.len ? memchr(c->in.data, '\n', c->in.len) : NULL;
		if (nl) {
			*line_len = (size_t)(nl - c->in.data) + 1;
			return CONN_DATA;
		}
		if (c->in.len > 4096)
			return CONN_GONE;
		int r = conn_fill(s, c);
		if (r != CONN_DATA)
			return r;
	}
}

/* Receive a chunked body (RFC 9112 section 7.1), trailers discarded. Returns
 * CONN_DATA, another CONN_* value, or 413 / 400 for an oversized or broken
 * body (connection left open for the error reply). */
static int read_body_chunked(struct server *s, struct conn *c, struct buf *body)
{
	size_t ll;
	int r;

	for (;;) {
		if ((r = need_line(s, c, &ll)) != CONN_DATA)
			return r == CONN_GONE && c->fd >= 0 ? 400 : r;
		char *end;
		errno = 0;
		unsigned long long sz = strtoull(c->in.data, &end, 16);
		if (end == c->in.data || errno || (*end != ';' && *end != '\r' && *end != '\n'))
			return 400;
		buf_consume(&c->in, ll);
		if (sz == 0)
			break;
		if (sz > s->max_body || body->len + sz > s->max_body)
			return 413;
		if (buf_reserve(body, (size_t)sz) < 0)
			return 413;
		size_t left = (size_t)sz;
		while (left > 0) {
			if (c->in.len == 0 && (r = conn_fill(s, c)) != CONN_DATA)
				return r;
			size_t take = c->in.len < left ? c->in.len : left;
			if (buf_append(body, c->in.data, take) < 0)
				return 413;
			buf_consume(&c->in, take);
			left -= take;
		}
		if ((r = need_line(s, c, &ll)) != CONN_DATA)
			return r == CONN_GONE && c->fd >= 0 ? 400 : r;
		buf_consume(&c->in, ll);  /* CRLF after the chunk data */
	}
	for (;;) {  /* trailer section up to the empty line */
		if ((r = need_line(s, c, &ll)) != CONN_DATA)
			return r == CONN_GONE && c->fd >= 0 ? 400 : r;
		bool empty = ll == 1 || (ll == 2 && c->in.data[0] == '\r');
		buf_consume(&c->in, ll);
		if (empty)
			break;
	}
	if (buf_reserve(body, 0) < 0)
		return 413;
	return CONN_DATA;
}

/* Read, handle and answer one request on c. */
static void serve_one(struct server *s, struct conn *c)
{
	size_t hl;
	int r;
	struct head h;
	const char *why;

	for (;;) {
		/* Tolerate stray CRLFs between requests (RFC 9112 section 2.2). */
		size_t lead = 0;
		while (lead < c->in.len && (c->in.data[lead] == '\r' || c->in.data[lead] == '\n'))
			lead++;
		buf_consume(&c->in, lead);
		if ((hl = header_end(c->in.data ? c->in.data : "", c->in.len)) != 0)
			break;
		if (c->in.len >= HTTPD_HEADER_MAX) {
			fail_and_close(c, 431, "request header too large");
			return;
		}
		if (conn_fill(s, c) != CONN_DATA)
			return;
	}
	int st = parse_head(c->in.data, hl, &h, &why);
	if (st) {
		fail_and_close(c, st, why);
		return;
	}
	buf_consume(&c->in, hl);
	if (h.has_length && h.length > s->max_body) {
		fail_and_close(c, 413, "request body too large");
		return;
	}

	struct buf body = BUF_INIT;
	if (h.expect_continue && c->in.len == 0 && (h.chunked || h.length > 0)) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		struct iovec iov = { .iov_base = (void *)cont, .iov_len = sizeof(cont) - 1 };
		if (send_all(c->fd, &iov, 1) < 0) {
			conn_close(c);
			return;
		}
	}
	if (h.chunked)
		r = read_body_chunked(s, c, &body);
	else
		r = read_body_length(s, c, h.has_length ? h.length : 0, &body);
	if (r != CONN_DATA) {
		buf_fini(&body);
		if (r == 413)
			fail_and_close(c, 413, "request body too large");
		else if (r == 400 || r == 501)
			fail_and_close(c, r, "malformed chunked body");
		else if (r == CONN_GONE)
			conn_close(c);
		return;
	}
	if (!body.data && buf_reserve(&body, 0) < 0) {
		fail_and_close(c, 500, "out of memory");
		return;
	}

	struct httpd_req req = {
		.method = h.method, .path = h.path, .body = body.data, .body_len = body.len,
	};
	struct httpd_resp resp = { .status = 500, .body = BUF_INIT };
	s->handler(s->ctx, &req, &resp);
	buf_fini(&body);
	if (send_response(c, resp.status, resp.body.data, resp.body.len, h.keep_alive) < 0 ||
	    !h.keep_alive)
		conn_close(c);
	buf_fini(&resp.body);
}

int httpd_serve(int listen_fd, size_t max_body_bytes, httpd_handler_fn handler,
		httpd_tick_fn tick, void *ctx, volatile sig_atomic_t *stop)
{
	struct server s = {
		.listen_fd = listen_fd, .max_body = max_body_bytes, .handler = handler,
		.tick = tick, .ctx = ctx, .stop = stop,
	};
	struct conn c = { .fd = -1, .in = BUF_INIT };
	int accept_errors = 0;

	while (!*stop) {
		if (c.fd >= 0) {
			serve_one(&s, &c);
			continue;
		}
		struct pollfd p = { .fd = listen_fd, .events = POLLIN };
		int n = poll(&p, 1, HTTPD_TICK_MS);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0) {
			if (tick)
				tick(ctx);
			continue;
		}
		if (conn_accept(&s, &c) < 0) {
			/* EMFILE and friends: back off instead of spinning. */
			if (++accept_errors > 1000) {
				conn_close(&c);
				buf_fini(&c.in);
				return -EIO;
			}
			usleep(10000);
			continue;
		}
		accept_errors = 0;
	}
	conn_close(&c);
	buf_fini(&c.in);
	return 0;
}
