/* SPDX-License-Identifier: Apache-2.0 */
/* Web actions (spec §7; see rest.h): /api/v1/web/{ns}/{pkg|default}/{name}
 * [.ext][/path]. Answered without credentials unless the action's
 * require-whisk-auth annotation asks for them; the request becomes the
 * action's arguments and its result the HTTP response (web.c, pure). The
 * action document decides authorization, so it is resolved first and
 * started second. */
#include "controller/rest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/access.h"
#include "controller/entity.h"
#include "controller/web.h"

#define WEB_WAIT_MS 60000

/* Request headers cannot be enumerated through every adapter (nng 1.5
 * cannot), so __ow_headers carries these. */
static const char *const web_header_names[] = {
	"accept", "accept-encoding", "accept-language", "cache-control", "content-length",
	"content-type", "cookie", "host", "if-none-match", "if-modified-since", "origin", "referer",
	"user-agent", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip",
	"x-request-id",
};
#define WEB_HEADERS (sizeof(web_header_names) / sizeof(web_header_names[0]))

struct web_waiter {
	struct rest_reply reply;
	enum web_ext ext;
	bool head;
	char id[33];
};

static const char *header(const struct rest_req *q, const char *name)
{
	return q->header ? q->header(q->header_ctx, name) : NULL;
}

static void web_done(void *arg, const struct dispatch_outcome *o)
{
	struct web_waiter *w = arg;
	struct web_response wr = { 0 };
	_cleanup_json_ cJSON *result = NULL;
	struct rest_header *hdrs = NULL;
	struct rest_response r = { 0 };
	char code[33];

	entity_activation_id(code);
	if (!o) {
		_cleanup_json_ cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "error", "Response not yet ready.");
		cJSON_AddStringToObject(j, "code", code);
		rest_reply_json(&w->reply, 202, j, w->id);
		free(w);
		return;
	}
	/* .json of a successful object or array is the result's bytes. */
	if (w->ext == WEB_JSON && o->status_code == 0 && o->result_len &&
	    (o->result[0] == '{' || o->result[0] == '[')) {
		r.status = 200;
		r.content_type = "application/json";
		r.body = o->result;
		r.body_len = o->result_len;
		r.activation_id = w->id;
		r.head = w->head;
		w->reply.send(w->reply.ctx, &r);
		free(w);
		return;
	}
	/* Otherwise the response is made from the result's fields: the one
	 * place the result is parsed, its tree bounded by its size (a denser
	 * result is not a valid response). */
	if (json_parse_bounded(o->result, o->result_len, &result, NULL) < 0)
		result = NULL;
	if (web_respond(w->ext, result, o->status_code, code, &wr) < 0 ||
	    (wr.header_count && !(hdrs = calloc(wr.header_count, sizeof(*hdrs))))) {
		w->reply.send(w->reply.ctx, NULL);
	} else {
		r.status = (uint16_t)wr.status;
		r.content_type = wr.content_type;
		r.body = wr.body;
		r.body_len = wr.body_len;
		r.activation_id = w->id;
		r.head = w->head;
		for (size_t i = 0; i < wr.header_count; i++) {
			hdrs[i].name = wr.headers[i].name;
			hdrs[i].value = wr.headers[i].value;
		}
		r.headers = hdrs;
		r.header_count = wr.header_count;
		w->reply.send(w->reply.ctx, &r);
	}
	free(hdrs);
	web_response_fini(&wr);
	free(w);
}

/* Web actions answer without credentials unless require-whisk-auth says
 * otherwise; false when the request was answered (401). A route's secure
 * key stands for the X-Require-Whisk-Auth header (the gateway adds it). */
static bool web_authorized(struct rest_req *q, const struct rest_web_call *wc,
			   const cJSON *action, const char **user)
{
	const struct cfg *c = q->env->cfg;
	const cJSON *it, *v = NULL;

	cJSON_ArrayForEach(it, json_get_array(action, "annotations")) {
		const char *k = json_get_string(it, "key");

		if (k && strcmp(k, "require-whisk-auth") == 0)
			v = cJSON_GetObjectItemCaseSensitive(it, "value");
	}
	*user = NULL;
	if (!v || cJSON_IsFalse(v) || cJSON_IsNull(v))
		return true;
	if (cJSON_IsTrue(v)) {
		int k = route_auth(c, header(q, "Authorization"));

		if (k >= 0) {
			*user = c->keys[k].namespace;
			return true;
		}
	} else if (cJSON_IsString(v) || cJSON_IsNumber(v)) {
		const char *given = wc->secure_key && wc->secure_key[0]
					    ? wc->secure_key
					    : header(q, "X-Require-Whisk-Auth");
		char want[64];

		if (cJSON_IsString(v))
			snprintf(want, sizeof(want), "%s", v->valuestring);
		else
			snprintf(want, sizeof(want), "%.0f", v->valuedouble);
		if (given && strcmp(given, want) == 0)
			return true;
	}
	rest_reply_error(q, 401, "The resource requires authentication, which was not supplied with "
				 "the request");
	return false;
}

/* The action's arguments from the request; answers and returns <0. */
static int web_args(struct rest_req *q, const struct rest_web_call *wc, const cJSON *action,
		    const char *user, struct buf *args)
{
	struct web_header hdrs[WEB_HEADERS];
	struct web_request wreq = { .user = user };
	const char *query = strchr(q->uri, '?');
	struct err e = { 0 };
	char path[2048];
	int rc;

	for (size_t i = 0; i < WEB_HEADERS; i++) {
		hdrs[wreq.header_count].name = web_header_names[i];
		hdrs[wreq.header_count].value = header(q, web_header_names[i]);
		if (hdrs[wreq.header_count].value)
			wreq.header_count++;
	}
	snprintf(path, sizeof(path), "%s", wc->path);
	wreq.method = q->method;
	wreq.headers = hdrs;
	wreq.query = query ? query + 1 : "";
	wreq.body = q->body;
	wreq.body_len = q->body_len;
	wreq.content_type = header(q, "Content-Type");
	wreq.path = path;
	wreq.raw_http = entity_annotation_true(action, "raw-http");
	rc = web_params(wc->params, &wreq, args, &e);
	if (rc < 0)
		rest_reply_err(q, rc, &e);
	return rc;
}

void rest_web_run(struct rest_req *q, const struct rest_web_call *wc)
{
	const struct rest_env *env = q->env;
	struct invoke_target t = { 0 };
	struct invoke_call call = { .caller_ns = wc->ns, .key = -1, .wait_ms = WEB_WAIT_MS };
	struct buf args = BUF_INIT;
	struct web_waiter *w = NULL;
	struct err e = { 0 };
	const char *user = NULL;
	int rc;

	if (q->body_len > env->cfg->limits.payload_bytes.max)
		return rest_reply_error(q, 413, "Request larger than allowed.");
	rc = invoke_resolve(env->invoke, wc->ns, wc->ns, wc->pkg, wc->name, &t, &e);
	if (rc == -ENOENT || rc == -EPERM)
		return rest_reply_not_found(q);
	if (rc < 0)
		return rest_reply_err(q, rc, &e);
	if (!entity_annotation_true(t.action, "web-export")) {
		rest_reply_not_found(q);
		goto out;
	}
	if (!web_authorized(q, wc, t.action, &user) || web_args(q, wc, t.action, user, &args) < 0)
		goto out;
	w = calloc(1, sizeof(*w));
	if (!w) {
		rest_reply_error(q, 500, "out of memory");
		goto out;
	}
	if (web_ext_parse(wc->ext, &w->ext) < 0)
		w->ext = WEB_HTTP;
	w->reply = q->reply;
	w->head = rest_is(q, "HEAD");
	entity_activation_id(call.id);
	snprintf(w->id, sizeof(w->id), "%s", call.id);
	call.args = args.data;
	call.args_len = args.len;
	call.done = web_done;
	call.arg = w;
	rc = invoke_start(env->invoke, &t, &call, &e);
	if (rc < 0) {
		free(w);
		rest_reply_err(q, rc, &e);
	}
out:
	buf_fini(&args);
	invoke_target_fini(&t);
}

void rest_web(struct rest_req *q)
{
	char path[2048];
	struct rest_web_call wc = { .ns = q->r.ns, .pkg = q->r.package, .name = q->r.name,
				    .ext = q->r.ext, .path = path };

	/* Route management is edgewhisk's own, not a container's. */
	if (strcmp(q->r.ns, ACCESS_SYSTEM_NS) == 0 &&
	    (strcmp(q->r.package, "apimgmt") == 0 || strcmp(q->r.package, "routemgmt") == 0))
		return rest_apimgmt(q);
	snprintf(path, sizeof(path), "%.*s", (int)q->r.web_path_len, q->r.web_path);
	rest_web_run(q, &wc);
}
