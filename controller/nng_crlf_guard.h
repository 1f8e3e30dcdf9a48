/* SPDX-License-Identifier: Apache-2.0 */
/* Blank lines before a request line (RFC 9112 §2.2: a server should
 * ignore at least one). libnng 1.5.2 parses each as an empty request and
 * answers it with its own 400, so 1,000 CRLFs on a connection got 1,000
 * answers. The controller executable interposes accept/accept4, readv and
 * close (nng_crlf_guard.c): on the connections libnng accepts, CR and LF
 * bytes where a request line is due are dropped before nng sees them.
 * The tracker below follows the request framing as nng does (a head up
 * to its empty line, then the Content-Length nng would read) and is pure,
 * so it is unit-tested on its own. */
#ifndef EW_NNG_CRLF_GUARD_H
#define EW_NNG_CRLF_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* nng's body limit for our handler (api.c's MAX_BODY): a longer
 * Content-Length is refused by nng before it reads a byte of the body. */
#define CRLF_GUARD_MAX_BODY (64ull * 1024 * 1024)

struct crlf_track {
	uint8_t phase;         /* request line due, in the head, in the body */
	bool first_line;       /* the current head line is the request line */
	bool line_over;        /* it is longer than `line` keeps */
	bool http10, version_ok, host, cl_seen, cl_bad;
	uint8_t line_len, tail_len;
	uint64_t cl, body_left;
	char line[80];         /* the first bytes of the current head line */
	char tail[12];         /* its last bytes (the request line's version) */
};

/* A connection's tracker at its start. */
void crlf_track_init(struct crlf_track *t);

/* Feed the next n bytes read from the connection; drops the CR and LF
 * bytes that precede a request line, in place. Returns the bytes kept. */
size_t crlf_track_filter(struct crlf_track *t, char *buf, size_t n);

#endif
