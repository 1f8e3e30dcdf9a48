/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP/1.1 response parser, pure and bounded: fed the untrusted bytes an
 * action container answers with (and fuzzed), so every length is checked
 * before it is used. Content-Length, chunked, or a body ended by EOF;
 * 1xx interim responses skipped; the body kept up to a limit and the rest
 * counted. Used by the proxy client (proxy.c). */
#ifndef EW_HTTP_PARSER_H
#define EW_HTTP_PARSER_H

#include <stddef.h>
#include <stdint.h>

struct http_response {
	int status;            /* HTTP status */
	char *body;            /* NUL-terminated, malloc'd (free with http_response_fini) */
	size_t len;            /* body bytes kept */
	size_t full_len;       /* body bytes the container sent (> len when truncated) */
	uint64_t elapsed_us;   /* from writing the request to the end of the response */
};

/* Free r->body and zero *r; accepts a zeroed response. */
void http_response_fini(struct http_response *r);

/* Incremental HTTP/1.1 response parser state. Limits: status line plus
 * headers 8 KiB (trailers 8 KiB), chunk-size line 4 KiB; longer -> -EPROTO.
 * Only the first sizeof(line) bytes of a line are kept: a longer line is
 * accepted only where its tail does not matter (reason phrase, an unknown
 * header's value, chunk extensions). 1xx interim responses are skipped. */
struct http_parser {
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

void http_parser_init(struct http_parser *p, size_t max_body);
/* Feed bytes; returns 1 when the response is complete (*consumed says how
 * many bytes of `data` belong to it), 0 when more are needed, -EPROTO on a
 * malformed response, -ENOMEM. After an error every call fails. */
int http_parser_feed(struct http_parser *p, const char *data, size_t len, size_t *consumed)
	__attribute__((warn_unused_result));
/* The peer closed the connection: returns 1 when that completes the
 * response (a body delimited by EOF, or a response already complete), 0
 * when the response is truncated. */
int http_parser_eof(struct http_parser *p) __attribute__((warn_unused_result));
/* Hand the finished body to *r (the parser gives up ownership). */
void http_parser_take(struct http_parser *p, struct http_response *r);
void http_parser_fini(struct http_parser *p);

#endif
