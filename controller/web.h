/* SPDX-License-Identifier: Apache-2.0 */
/* Web actions (spec §7): the pure halves of /api/v1/web — an HTTP request
 * turned into the action's arguments, and the action's result turned into
 * the HTTP response, for the extensions .http .json .html .svg .text. No
 * I/O, no nng (unit-tested; api.c does the transport). */
#ifndef EW_WEB_H
#define EW_WEB_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/json.h"

enum web_ext { WEB_HTTP = 0, WEB_JSON, WEB_HTML, WEB_SVG, WEB_TEXT };

/* "http" "json" "html" "svg" "text" -> 0 and *out; anything else -EINVAL. */
int web_ext_parse(const char *ext, enum web_ext *out) __attribute__((warn_unused_result));

struct web_header {
	const char *name;            /* any case; lower-cased into __ow_headers */
	const char *value;
};

struct web_request {
	const char *method;          /* "GET", "POST", ... (lower-cased into __ow_method) */
	const struct web_header *headers;
	size_t header_count;
	const char *query;           /* raw query after '?', without it; "" or NULL = none */
	const char *body;            /* raw body bytes (not NUL-terminated) */
	size_t body_len;
	const char *content_type;    /* NULL = none */
	const char *path;            /* __ow_path: what followed the extension, "" = none */
	const char *user;            /* __ow_user (caller namespace when authenticated), or NULL */
	bool raw_http;               /* the action is annotated raw-http: true */
};

/* The action's arguments (spec §7, upstream WebActions.scala):
 *  defaults (the merged package + action parameters, a {"key": value}
 *  object; NULL = none) < query parameters (percent-decoded, '+' = space;
 *  a repeated key: last wins) < body parameters, then __ow_method (lower
 *  case), __ow_headers (object, lower-cased names), __ow_path, and
 *  __ow_user when r->user is set.
 * Body: a JSON object (content type application/json or absent and the
 * body parses as an object) merges its keys; application/x-www-form-urlencoded
 * merges its fields as strings; any other non-empty body (or a JSON value
 * that is not an object) lands in __ow_body as a string (base64 when the
 * content type is not text-like: text/..., application/json, application/xml,
 * application/x-www-form-urlencoded, or contains "+json"/"+xml" are text).
 * With raw_http: no query/body parsing; __ow_query = the raw query string and
 * __ow_body = the body as above (JSON/text as a string, binary as base64),
 * both present only when non-empty.
 * A query or body key starting with "__ow_" -> -EINVAL "Request defines
 * parameters that are not allowed (e.g., reserved properties).". Malformed
 * JSON with a JSON content type -> -EINVAL "The request content was
 * malformed.". Bad %-escape in the query -> -EINVAL "malformed query".
 * -ENOMEM. The arguments are JSON object text in *out (the caller's,
 * buf_fini; written only on success): a JSON body's members and a form
 * body's fields are spliced (controller/args.h), never put in a tree, so
 * a 1 MB body costs about its size. */
int web_params(const cJSON *defaults, const struct web_request *r, struct buf *out, struct err *e)
	__attribute__((warn_unused_result));

/* What to send back. All strings and body owned by the response. */
struct web_response {
	int status;
	char *content_type;          /* NULL = no Content-Type header */
	struct web_header_owned {
		char *name, *value;
	} *headers;                  /* extra headers as given by an .http result */
	size_t header_count;
	char *body;
	size_t body_len;
};
void web_response_fini(struct web_response *w);

/* Turn an action's outcome into the response.
 *  result: response.result of the activation record (may be NULL).
 *  status_code: response.statusCode. 0 = success; an application error
 *  (1, result has "error") is transcoded like a result, using
 *  the value of "error" instead of the result; a developer or whisk error
 *  (statusCode 2/3) -> 400 {"error":"There was an error processing your
 *  request.","code":...}-shaped JSON body (code given by the caller in
 *  `code`, 32 hex chars).
 * Per extension (spec §7):
 *  .json: the object/array as application/json, 200.
 *  .html / .svg: the string in "body" (else "html" / "svg") as text/html /
 *   image/svg+xml, 200; missing or not a string -> 400 error body
 *   "Response type in header did not match generated content type.".
 *  .text: "body" (else "text") as text/plain, same error rule.
 *  .http: {"statusCode": int or numeric string (default 200 with a body,
 *   204 without), "headers": {name: string|number|bool|array of those},
 *   "body": ...}; a string body is sent as is, base64-decoded when the
 *   given Content-Type is not text-like (see web_params), text/html when no
 *   Content-Type is given; a non-string body (object/array/number/bool) is
 *   printed as JSON with application/json. An invalid statusCode (not
 *   100..599), bad headers (a name that is not an RFC 9110 token, a value
 *   with CR, LF, another control byte or DEL, a value that is not a
 *   string, number or boolean), or a binary body that is not valid base64
 *   -> 400 "The action did not produce a valid response.". Content-Length,
 *   Transfer-Encoding and Connection from the action are dropped: the
 *   server frames the response.
 * -ENOMEM only; every other outcome is a response. */
int web_respond(enum web_ext ext, const cJSON *result, int status_code, const char *code,
		struct web_response *out) __attribute__((warn_unused_result));

#endif
