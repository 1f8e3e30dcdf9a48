/* SPDX-License-Identifier: Apache-2.0 */
/* Minimal HTTP/1.1 server for the action proxy: one connection at a time,
 * keep-alive, Content-Length or chunked request bodies, Expect: 100-continue,
 * responses always with Content-Length. While a request is being read, a new
 * connection on the listening socket replaces the current one, so an invoker
 * that lost its old connection (paused container, restart) is never stuck
 * behind it. Requests are handled synchronously in the calling thread. */
#ifndef EW_HTTPD_H
#define EW_HTTPD_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct httpd_req {
	const char *method;  /* "POST", ... NUL-terminated, borrowed */
	const char *path;    /* target without query string, borrowed */
	char *body;          /* NUL-terminated; handler may modify in place */
	size_t body_len;
};

struct httpd_resp {
	int status;          /* HTTP status; handler must set it */
	struct buf body;     /* JSON text; httpd frees it after sending */
};

/* Called once per request; fills resp. Must not keep pointers into req. */
typedef void (*httpd_handler_fn)(void *ctx, struct httpd_req *req, struct httpd_resp *resp);

/* Called about once a second while no request is being handled (reaping). */
typedef void (*httpd_tick_fn)(void *ctx);

/* Open a listening TCP socket on 0.0.0.0:port (SO_REUSEADDR, CLOEXEC).
 * Writes *out_fd on success; returns 0 or a negative errno. */
int httpd_listen(uint16_t port, int *out_fd) __attribute__((warn_unused_result));

/* Serve requests on listen_fd until *stop becomes non-zero. Bodies larger
 * than max_body_bytes get 413 and the connection is closed. Returns 0 when
 * stopped, or a negative errno if accept fails persistently. May block. */
int httpd_serve(int listen_fd, size_t max_body_bytes, httpd_handler_fn handler,
		httpd_tick_fn tick, void *ctx, volatile sig_atomic_t *stop);

#endif
