/* SPDX-License-Identifier: Apache-2.0 */
/* What the REST handlers share (see rest.h): the errno -> status table,
 * reason phrases, OpenWhisk's error body, request body and list helpers. */
#include "controller/rest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jscan.h"
#include "common/log.h"
#include "common/utf8.h"
#include "controller/entity.h"

int rest_status_of(int err)
{
	switch (err) {
	case -EINVAL:
		return 400;
	case -EACCES:
		return 401;
	case -EPERM:
		return 403;
	case -ENOENT:
		return 404;
	case -EEXIST:
		return 409;
	case -E2BIG:
	case -EMSGSIZE:
		return 413;
	case -EAGAIN:
		return 429;
	case -ENOSPC:
	case -EHOSTDOWN:
		return 503;
	default:
		return 500;
	}
}

const char *rest_reason(int status)
{
	/* RFC 9110 phrases of every status we or a web action may send;
	 * a web action's own code outside this list goes out as "Unknown". */
	static const struct {
		int status;
		const char *reason;
	} reasons[] = {
		{ 100, "Continue" }, { 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
		{ 203, "Non-Authoritative Information" }, { 204, "No Content" },
		{ 205, "Reset Content" }, { 206, "Partial Content" }, { 300, "Multiple Choices" },
		{ 301, "Moved Permanently" }, { 302, "Found" }, { 303, "See Other" },
		{ 304, "Not Modified" }, { 307, "Temporary Redirect" }, { 308, "Permanent Redirect" },
		{ 400, "Bad Request" }, { 401, "Unauthorized" }, { 402, "Payment Required" },
		{ 403, "Forbidden" }, { 404, "Not Found" }, { 405, "Method Not Allowed" },
		{ 406, "Not Acceptable" }, { 408, "Request Timeout" }, { 409, "Conflict" },
		{ 410, "Gone" }, { 411, "Length Required" }, { 412, "Precondition Failed" },
		{ 413, "Content Too Large" }, { 414, "URI Too Long" },
		{ 415, "Unsupported Media Type" }, { 416, "Range Not Satisfiable" },
		{ 417, "Expectation Failed" }, { 418, "I'm a teapot" },
		{ 421, "Misdirected Request" }, { 422, "Unprocessable Content" },
		{ 425, "Too Early" }, { 426, "Upgrade Required" }, { 428, "Precondition Required" },
		{ 429, "Too Many Requests" }, { 431, "Request Header Fields Too Large" },
		{ 451, "Unavailable For Legal Reasons" }, { 500, "Internal Server Error" },
		{ 501, "Not Implemented" }, { 502, "Bad Gateway" }, { 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" }, { 505, "HTTP Version Not Supported" },
		{ 507, "Insufficient Storage" }, { 511, "Network Authentication Required" },
	};

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "Unknown";
}

bool rest_is(const struct rest_req *q, const char *method)
{
	return strcmp(q->method, method) == 0;
}

void rest_reply_raw(const struct rest_reply *rp, uint16_t status, const char *type,
		    const char *body, size_t len, const char *activation_id)
{
	struct rest_response r = {
		.status = status,
		.content_type = type,
		.body = body,
		.body_len = len,
		.activation_id = activation_id,
	};

	rp->send(rp->ctx, &r);
}

void rest_reply_json(const struct rest_reply *rp, uint16_t status, const cJSON *j,
		     const char *activation_id)
{
	size_t len = 0;
	char *s = j ? json_print(j, &len) : NULL;

	if (!s) {
		rp->send(rp->ctx, NULL);
		return;
	}
	rest_reply_raw(rp, status, "application/json", s, len, activation_id);
	json_free(s);
}

/* OpenWhisk's error body: the message and a fresh code to quote. */
/* Messages quote clients' input (query values, names, body fields):
 * scrubbed, so the body is valid UTF-8 JSON whatever was sent. */
static cJSON *error_body(const char *msg)
{
	_cleanup_json_ cJSON *j = cJSON_CreateObject();
	char code[33], text[3 * ERR_MSG_MAX];

	entity_activation_id(code);
	utf8_scrub(msg, strlen(msg), text, sizeof(text));
	if (!j || !cJSON_AddStringToObject(j, "error", text) ||
	    !cJSON_AddStringToObject(j, "code", code))
		return NULL;
	return TAKE_PTR(j);
}

/* OpenWhisk's error body with status, plus extra headers (n may be 0). */
static void reply_error_with(const struct rest_req *q, int status, const char *msg,
			     const struct rest_header *headers, size_t n)
{
	_cleanup_json_ cJSON *j = error_body(msg);
	struct rest_response r = { .status = (uint16_t)status, .content_type = "application/json",
				   .headers = headers, .header_count = n };
	size_t len = 0;
	char *text = j ? json_print(j, &len) : NULL;

	if (!text) {
		q->reply.send(q->reply.ctx, NULL);
		return;
	}
	if (status >= 500)
		log_warn("api", "%s %s: %d %s", q->method, q->uri, status, msg);
	r.body = text;
	r.body_len = len;
	q->reply.send(q->reply.ctx, &r);
	json_free(text);
}

void rest_reply_error(const struct rest_req *q, int status, const char *msg)
{
	reply_error_with(q, status, msg, NULL, 0);
}

void rest_reply_err(const struct rest_req *q, int rc, const struct err *e)
{
	rest_reply_error(q, rest_status_of(rc), e && e->msg[0] ? e->msg : strerror(-rc));
}

void rest_reply_not_found(const struct rest_req *q)
{
	rest_reply_error(q, 404, "The requested resource does not exist.");
}

void rest_reply_method(const struct rest_req *q, const char *allowed)
{
	/* RFC 9110: a 405 lists what the resource takes. */
	const struct rest_header allow = { "Allow", allowed };
	char msg[128];

	snprintf(msg, sizeof(msg), "HTTP method not allowed, supported methods: %s", allowed);
	reply_error_with(q, 405, msg, &allow, 1);
}

void rest_reply_accepted(const struct rest_reply *rp, const char *id)
{
	_cleanup_json_ cJSON *j = cJSON_CreateObject();

	if (!j || !cJSON_AddStringToObject(j, "activationId", id)) {
		rp->send(rp->ctx, NULL);
		return;
	}
	rest_reply_json(rp, 202, j, id);
}

void rest_unauthorized(struct rest_req *q, int k)
{
	_cleanup_json_ cJSON *j = error_body(k == -ENOENT ? "The resource requires authentication, "
							   "which was not supplied with the request"
							 : "The supplied authentication is invalid");
	struct rest_response r = { .status = 401, .content_type = "application/json",
				   .auth_challenge = true };
	char *s = j ? json_print(j, &r.body_len) : NULL;

	r.body = s ? s : "";
	q->reply.send(q->reply.ctx, &r);
	json_free(s);
}

/* cJSON and the scanner pass any bytes through: refuse what would be
 * stored or passed on, and served back, as invalid UTF-8. */
static int body_utf8(const struct rest_req *q)
{
	char msg[96];
	size_t bad_at = 0;

	if (utf8_is_valid(q->body, q->body_len, &bad_at))
		return 0;
	snprintf(msg, sizeof(msg), "The request content was malformed:\ninvalid UTF-8 at byte %zu",
		 bad_at);
	rest_reply_error(q, 400, msg);
	return -EINVAL;
}

int rest_body_object(const struct rest_req *q, cJSON **out)
{
	struct err e = { 0 };
	char msg[ERR_MSG_MAX + 64];

	*out = NULL;
	if (q->body_len == 0)
		return 0;
	if (body_utf8(q) < 0)
		return -EINVAL;
	if (json_parse_bounded(q->body, q->body_len, out, &e) < 0) {
		if (e.code == -E2BIG) {
			snprintf(msg, sizeof(msg), "The request content is too dense: %s", e.msg);
			rest_reply_error(q, 413, msg);
			return -E2BIG;
		}
		snprintf(msg, sizeof(msg), "The request content was malformed:\n%s", e.msg);
		rest_reply_error(q, 400, msg);
		return -EINVAL;
	}
	if (!cJSON_IsObject(*out)) {
		json_delete(*out);
		*out = NULL;
		rest_reply_error(q, 400, "The request content was malformed:\nexpected a JSON object");
		return -EINVAL;
	}
	return 0;
}

int rest_body_object_text(const struct rest_req *q)
{
	struct jscan_iter it;

	if (q->body_len == 0)
		return 0;
	if (body_utf8(q) < 0)
		return -EINVAL;
	if (jscan_object_begin(&it, q->body, q->body_len) < 0) {
		rest_reply_error(q, 400, json_is_value(q->body, q->body_len)
					 ? "The request content was malformed:\nexpected a JSON object"
					 : "The request content was malformed:\ninvalid JSON");
		return -EINVAL;
	}
	return 0;
}

int rest_body_within_limit(const struct rest_req *q)
{
	uint64_t max = q->env->cfg->limits.payload_bytes.max;
	char msg[160];

	if (q->body_len <= max)
		return 0;
	snprintf(msg, sizeof(msg), "Request larger than allowed: %zu > %llu bytes.", q->body_len,
		 (unsigned long long)max);
	rest_reply_error(q, 413, msg);
	return -E2BIG;
}

int rest_put_body(const struct rest_req *q, bool *overwrite, cJSON **body)
{
	*body = NULL;
	if (route_query_bool(q->uri, "overwrite", false, overwrite) < 0) {
		rest_reply_error(q, 400, "The value of overwrite must be true or false.");
		return -EINVAL;
	}
	return rest_body_object(q, body);
}

void rest_entity_get_or_delete(struct rest_req *q, const char *coll)
{
	struct err e = { 0 };
	char *text = NULL;
	size_t len = 0;
	int rc = rest_is(q, "GET")
			 ? store_entity_get(q->env->store, q->ns, coll, q->r.name, &text, &len, &e)
			 : store_entity_delete(q->env->store, q->ns, coll, q->r.name, &text, &len, &e);

	rest_reply_stored(q, rc, &e, text, len);
}

void rest_reply_stored(struct rest_req *q, int rc, const struct err *e, char *text, size_t len)
{
	if (rc == -ENOENT)
		rest_reply_not_found(q);
	else if (rc < 0)
		rest_reply_err(q, rc, e);
	else
		rest_reply_raw(&q->reply, 200, "application/json", text, len, NULL);
	free(text);
}

int rest_query_limit(const struct rest_req *q, const char *what, uint64_t *limit, uint64_t *skip)
{
	char msg[128];

	if (route_query_u64(q->uri, "limit", 30, 0, 200, limit) < 0) {
		char v[32] = "";

		(void)route_query_get(q->uri, "limit", v, sizeof(v));
		snprintf(msg, sizeof(msg), "The value '%s' is not in the range of 0 to 200 for %s.", v,
			 what);
		rest_reply_error(q, 400, msg);
		return -EINVAL;
	}
	if (route_query_u64(q->uri, "skip", 0, 0, UINT32_MAX, skip) < 0) {
		rest_reply_error(q, 400, "The value of skip is not a whole number.");
		return -EINVAL;
	}
	if (*limit == 0)
		*limit = 200;
	return 0;
}

int rest_list_row(void *arg, const char *doc, size_t len)
{
	struct rest_list_ctx *l = arg;
	_cleanup_json_ cJSON *j = NULL;
	cJSON *item;

	if (json_parse(doc, len, &j, NULL) < 0)
		return 0;
	if (l->prefix) {
		const char *ns = json_get_string(j, "namespace");
		const char *slash = ns ? strchr(ns, '/') : NULL;

		/* "guest/pkg" documents belong to package "pkg". */
		if (!slash || strncmp(slash + 1, l->prefix, strlen(l->prefix)) != 0 ||
		    slash[1 + strlen(l->prefix)] != '\0')
			return 0;
	}
	if (l->coll)
		item = entity_summary(l->coll, j);
	else if (l->activations == 2)
		item = TAKE_PTR(j);
	else
		item = l->activations ? entity_activation_summary(j) : entity_action_summary(j);
	if (item)
		cJSON_AddItemToArray(l->arr, item);
	return 0;
}

/* {"<coll>": n} for ?count=true. */
static void reply_count(const struct rest_req *q, const char *coll, uint64_t n)
{
	_cleanup_json_ cJSON *j = cJSON_CreateObject();

	cJSON_AddNumberToObject(j, coll, (double)n);
	rest_reply_json(&q->reply, 200, j, NULL);
}

void rest_list(struct rest_req *q, const char *coll)
{
	_cleanup_json_ cJSON *arr = cJSON_CreateArray();
	struct rest_list_ctx l = { .arr = arr, .coll = coll };
	const char *prefix = NULL;
	struct err e = { 0 };
	uint64_t limit, skip;
	bool count;
	int rc;

	if (!rest_is(q, "GET"))
		return rest_reply_method(q, "GET");
	if (rest_query_limit(q, coll, &limit, &skip) < 0)
		return;
	if (route_query_bool(q->uri, "count", false, &count) < 0)
		return rest_reply_error(q, 400, "The value of count must be true or false.");
	if (count) {
		uint64_t n = 0;

		rc = store_entity_count(q->env->store, q->ns, coll, &n, &e);
		if (rc < 0)
			return rest_reply_err(q, rc, &e);
		return reply_count(q, coll, n);
	}
	/* Actions of one package: filtered after the query, so no paging. */
	if (strcmp(coll, "actions") == 0) {
		l.coll = NULL;
		prefix = l.prefix = q->r.package[0] ? q->r.package : NULL;
	}
	rc = store_entity_list(q->env->store, q->ns, coll, prefix ? 0 : (uint32_t)limit,
			       prefix ? 0 : (uint32_t)skip, rest_list_row, &l, &e);
	if (rc < 0)
		return rest_reply_err(q, rc, &e);
	rest_reply_json(&q->reply, 200, arr, NULL);
}
