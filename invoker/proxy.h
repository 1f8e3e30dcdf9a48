/* SPDX-License-Identifier: Apache-2.0 */
/* Client of an action container's runtime proxy (OpenWhisk /init and /run
 * on 127.0.0.1:8080 inside the container's network namespace, see netns.h): a minimal HTTP/1.1 client
 * over one kept-alive TCP connection per container, so a warm call costs
 * one write and one read. Requests are POST with a JSON body; responses are
 * read by Content-Length or chunked encoding, capped at a size limit.
 * Responses are parsed by http_parser.c (pure, unit-tested). */
#ifndef EW_PROXY_H
#define EW_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "invoker/http_parser.h"

struct proxy_conn;


/* Connect to 127.0.0.1:`port` (never another address). The connect itself
 * is non-blocking with timeout_ms. -ECONNREFUSED, -ETIMEDOUT, -EINVAL (port
 * 0), -ENOMEM, -errno. *out is set only on success; free with
 * proxy_conn_close. A connection is used by one thread at a time. */
int proxy_conn_open(uint16_t port, uint32_t timeout_ms, struct proxy_conn **out,
		    struct err *e) __attribute__((warn_unused_result));
/* The same inside network namespace `netns_fd` (borrowed: it must stay
 * open as long as the connection, which reopens sockets in it; -1 = the
 * invoker's own, as proxy_conn_open). Adds -EPERM (cannot enter it). */
int proxy_conn_open_in(int netns_fd, uint16_t port, uint32_t timeout_ms,
		       struct proxy_conn **out, struct err *e) __attribute__((warn_unused_result));
/* Close the socket and free `c`; NULL is a no-op. */
void proxy_conn_close(struct proxy_conn *c);

/* POST `path` (starts with '/', visible ASCII, at most 1024 bytes) with
 * `body` and wait up to timeout_ms for the whole response; blocks the
 * calling thread. Keeps at most `max_body` bytes of the body (the rest is
 * read and dropped, full_len tells how much came), so the connection stays
 * usable. If the connection was closed earlier (timeout, "Connection:
 * close", body ended by EOF) it is reopened within the same timeout.
 * Reconnects and resends once, transparently, only when a reused kept-alive
 * connection turns out closed before any byte of the response arrived
 * (stale keep-alive: EOF, EPIPE or ECONNRESET) while the request was going
 * out or within 20 ms of it; never after part of a response, and never
 * when the peer took the request and went away later (a container killed
 * while running it: the action must not run twice). Errors: -ETIMEDOUT (the connection is then closed),
 * -ECONNRESET / -EPIPE / -ECONNREFUSED / -ECONNABORTED (EOF) (peer closed
 * before a full response: treat as "container died"), -EPROTO (not HTTP),
 * -EINVAL (bad path), -ENOMEM. After any I/O error the connection is
 * closed (and reopened by the next call). On error *resp is left empty
 * (zeroed: http_response_fini is a no-op on it). */
int proxy_post(struct proxy_conn *c, const char *path, const char *body, size_t len,
	       uint32_t timeout_ms, size_t max_body, struct http_response *resp,
	       struct err *e) __attribute__((warn_unused_result));


#endif
