/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP/1.1 client for action containers' runtime proxies (see proxy.h). One
 * kept-alive, non-blocking TCP connection per container, loopback only. A
 * request is one sendmsg() of head + body; the response is read into a
 * per-connection buffer with poll() against one deadline and parsed
 * incrementally (http_parser.c). */
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

#include "common/now.h"
#include "invoker/netns.h"

/* ------------------------------------------------------------------ */
/* Connection                                                          */
/* ------------------------------------------------------------------ */

#define PROXY_PATH_MAX 1024
#define PROXY_RBUF_SIZE (16 * 1024)

struct proxy_conn {
	int fd;                      /* -1 when closed; the next proxy_post reopens */
	bool reused;                 /* fd has carried a complete response */
	uint16_t port;
	int netns_fd;                /* borrowed: the namespace sockets are made in, -1 = ours */
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
	rc = netns_socket(c->netns_fd, AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, &fd,
			  NULL);
	if (rc < 0)
		return rc;
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
	return proxy_conn_open_in(-1, port, timeout_ms, out, e);
}

int proxy_conn_open_in(int netns_fd, uint16_t port, uint32_t timeout_ms, struct proxy_conn **out,
		       struct err *e)
{
	const char *where = netns_fd >= 0 ? " in the container's network namespace" : "";
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
	c->netns_fd = netns_fd;
	c->connect_timeout_ms = timeout_ms;
	rc = conn_connect(c, deadline_after_ms(timeout_ms));
	if (rc < 0) {
		free(c);
		if (rc == -ETIMEDOUT)
			return err_set(e, rc, "connect to 127.0.0.1:%u%s: timed out after %u ms",
				       (unsigned)port, where, timeout_ms);
		return err_set(e, rc, "connect to 127.0.0.1:%u%s: %s", (unsigned)port, where,
			       strerror(-rc));
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
	uint64_t sent_us;  /* when the last byte of the request went out, 0 = not all */
};

/* A kept-alive connection the runtime closed as the request went out
 * fails within a loopback round trip of the send; one that fails later
 * belonged to a container that read the request and died running it,
 * which must not run the action a second time. Generous for a loaded
 * board's scheduling, far below any action's run time. */
#define PROXY_STALE_WINDOW_US 20000

/* Send the request and read one response on c->fd by the deadline. While
 * the request is still going out the response is read as well: a server
 * may answer (413, say) before taking the whole body, and a client that
 * only writes would deadlock with it. */
static int conn_exchange(struct proxy_conn *c, const struct iovec req[2], uint64_t deadline_us,
			 struct http_parser *p, struct exchange *x)
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
				x->sent_us = now_mono_us();
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
				rc = http_parser_feed(p, c->rbuf, (size_t)n, &used);
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
				if (http_parser_eof(p) == 1) {
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

static const char *exchange_error(int rc, const struct http_parser *p)
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
	       uint32_t timeout_ms, size_t max_body, struct http_response *resp, struct err *e)
{
	char head[PROXY_HEAD_BUF];
	struct iovec req[2];
	struct http_parser p;
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
		http_parser_init(&p, max_body);
		t0 = now_mono_us();
		rc = conn_exchange(c, req, deadline_us, &p, &x);
		if (rc == 0) {
			http_parser_take(&p, resp);
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
		    (rc == -ECONNRESET || rc == -EPIPE || rc == -ECONNABORTED) &&
		    (!x.sent_us || now_mono_us() - x.sent_us <= PROXY_STALE_WINDOW_US)) {
			http_parser_fini(&p);
			retried = true;
			continue;
		}
		err_set(e, rc, "POST %s to 127.0.0.1:%u: %s (%zu response bytes, %u ms timeout%s)",
			path, (unsigned)c->port, exchange_error(rc, &p), x.got, timeout_ms,
			retried ? ", after reconnecting a stale connection" : "");
		http_parser_fini(&p);
		return rc;
	}
}
