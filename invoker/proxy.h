/* SPDX-License-Identifier: Apache-2.0 */
/* Client of an action container's runtime proxy (OpenWhisk /init and /run
 * on the container's published port on 127.0.0.1): a minimal HTTP/1.1 client
 * over one kept-alive TCP connection per container, so a warm call costs
 * one write and one read. Requests are POST with a JSON body; responses are
 * read by Content-Length or chunked encoding, capped at a size limit.
 * Response parsing (proxy_parser_*) is pure and unit-tested. */
#ifndef EW_PROXY_H
#define EW_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct proxy_conn;

struct proxy_response {
	int status;            /* HTTP status */
	char *body;            /* NUL-terminated, malloc'd (free with proxy_response_fini) */
	size_t len;            /* body bytes kept */
	size_t full_len;       /* body bytes the container sent (> len when truncated) */
	uint64_t elapsed_us;   /* from writing the request to the end of the response */
};

/* Connect to 127.0.0.1:`port` (never another address). The connect itself
 * is non-blocking with timeout_ms. -ECONNREFUSED, -ETIMEDOUT, -EINVAL (port
 * 0), -ENOMEM, -errno. *out is set only on success; free with
 * proxy_conn_close. A connection is used by one thread at a time. */
int proxy_conn_open(uint16_t port, uint32_t timeout_ms, struct proxy_conn **out,
		    struct err *e) __attribute__((warn_unused_result));
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
 * (stale keep-alive: EOF, EPIPE or ECONNRESET); never after part of a
 * response. Errors: -ETIMEDOUT (the connection is then closed),
 * -ECONNRESET / -EPIPE / -ECONNREFUSED / -ECONNABORTED (EOF) (peer closed
 * before a full response: treat as "container died"), -EPROTO (not HTTP),
 * -EINVAL (bad path), -ENOMEM. After any I/O error the connection is
 * closed (and reopened by the next call). On error *resp is left empty
 * (zeroed: proxy_response_fini is a no-op on it). */
int proxy_post(struct proxy_conn *c, const char *path, const char *body, size_t len,
	       uint32_t timeout_ms, size_t max_body, struct proxy_response *resp,
	       struct err *e) __attribute__((warn_unused_result));

/* Free r->body and zero *r; accepts a zeroed response. */
void proxy_response_fini(struct proxy_response *r);

/* --- pure parsing, for tests and fuzzing --- */

/* Incremental HTTP/1.1 response parser state. Limits: status line plus
 * headers 8 KiB (trailers 8 KiB), chunk-size line 4 KiB; longer -> -EPROTO.
 * Only the first sizeof(line) bytes of a line are kept: a longer line is
 * accepted only where its tail does not matter (reason phrase, an unknown
 * header's value, chunk extensions). 1xx interim responses are skipped. */
struct proxy_parser {
	int state;
	int status;
	int chunked;
	int close;               /* "Connection: close" seen (or HTTP/1.0, or body ends at EOF) */
	size_t content_length;   /* when not chunked */
	size_t chunk_left;
	size_t max_body;
	char *body;
	size_t len, full_len, cap;
	char line[512];          /* header/chunk-size line being assembled */
	size_t line_len;         /* bytes of the current line so far (may exceed sizeof(line)) */
	size_t head_len;         /* bytes of the head (or of the trailers) so far */
	unsigned flags;          /* internal header bookkeeping */
	const char *error;       /* static text saying why -EPROTO was returned */
};

void proxy_parser_init(struct proxy_parser *p, size_t max_body);
/* Feed bytes; returns 1 when the response is complete (*consumed says how
 * many bytes of `data` belong to it), 0 when more are needed, -EPROTO on a
 * malformed response, -ENOMEM. After an error every call fails. */
int proxy_parser_feed(struct proxy_parser *p, const char *data, size_t len, size_t *consumed)
	__attribute__((warn_unused_result));
/* The peer closed the connection: returns 1 when that completes the
 * response (a body delimited by EOF, or a response already complete), 0
 * when the response is truncated. */
int proxy_parser_eof(struct proxy_parser *p) __attribute__((warn_unused_result));
/* Hand the finished body to *r (the parser gives up ownership). */
void proxy_parser_take(struct proxy_parser *p, struct proxy_response *r);
void proxy_parser_fini(struct proxy_parser *p);

#endif
