/* SPDX-License-Identifier: Apache-2.0 */
/* REST API handlers on nng's HTTP server (see api.h). One tree handler on
 * "/" takes every method and routes itself (route.c), so paths and
 * methods are decided in one place. */
#include "controller/api.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "controller/entity.h"
#include "common/json.h"
#include "common/log.h"
#include "controller/route.h"
#include "controller/web.h"
#include "common/now.h"

#define MAX_BODY (64u * 1024 * 1024) /* nng refuses larger bodies itself */
#define BLOCKING_WAIT_MAX_MS 60000

struct api {
	struct api_deps d;
	pthread_mutex_t ev_lock;     /* rule <-> trigger links change together */
	nng_http_server *srv;
	nng_http_handler *h;
	char build[32];
};

/* Per-request context the handlers share. */
struct req {
	struct api *a;
	nng_aio *aio;
	nng_http_req *http;
	const char *method;
	const char *uri;
	const char *body;
	size_t body_len;
	struct route r;
	const char *ns;              /* the caller's namespace */
	int key;                     /* index of the caller's key */
};

int api_status_of(int err)
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

/* --- responses --- */

static void set_cors(nng_http_res *res)
{
	nng_http_res_set_header(res, "Access-Control-Allow-Origin", "*");
	nng_http_res_set_header(res, "Access-Control-Allow-Methods", "GET, DELETE, POST, PUT, HEAD");
	nng_http_res_set_header(res, "Access-Control-Allow-Headers",
				"Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent");
}

static void respond_raw(nng_aio *aio, uint16_t status, const char *type, const char *body,
			size_t len, const char *activation_id, bool auth_challenge)
{
	nng_http_res *res = NULL;

	if (nng_http_res_alloc(&res) != 0) {
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	nng_http_res_set_status(res, status);
	set_cors(res);
	if (type)
		nng_http_res_set_header(res, "Content-Type", type);
	if (activation_id)
		nng_http_res_set_header(res, "x-openwhisk-activation-id", activation_id);
	if (auth_challenge)
		nng_http_res_set_header(res, "WWW-Authenticate", "Basic realm=\"OpenWhisk secure realm\"");
	/* nng sets Content-Length only with data; an empty body needs it too
	 * or the client waits for more. */
	if (!len)
		nng_http_res_set_header(res, "Content-Length", "0");
	if (len && nng_http_res_copy_data(res, body, len) != 0) {
		nng_http_res_free(res);
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

static void respond_json(nng_aio *aio, uint16_t status, const cJSON *j, const char *activation_id)
{
	size_t len = 0;
	char *s = json_print(j, &len);

	if (!s) {
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	respond_raw(aio, status, "application/json", s, len, activation_id, false);
	json_free(s);
}

static void respond_error(struct req *q, int status, const char *msg)
{
	_cleanup_json_ cJSON *j = cJSON_CreateObject();
	char code[33];

	entity_activation_id(code);
	if (!j || !cJSON_AddStringToObject(j, "error", msg) || !cJSON_AddStringToObject(j, "code", code)) {
		nng_aio_finish(q->aio, NNG_ENOMEM);
		return;
	}
	if (status >= 500)
		log_warn("api", "%s %s: %d %s", q->method, q->uri, status, msg);
	respond_json(q->aio, (uint16_t)status, j, NULL);
}

static void respond_err(struct req *q, int rc, const struct err *e)
{
	respond_error(q, api_status_of(rc), e && e->msg[0] ? e->msg : strerror(-rc));
}

static void respond_not_found(struct req *q)
{
	respond_error(q, 404, "The requested resource does not exist.");
}

static void respond_method(struct req *q, const char *allowed)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "HTTP method not allowed, supported methods: %s", allowed);
	respond_error(q, 405, msg);
}

static bool is(const struct req *q, const char *m)
{
	return strcmp(q->method, m) == 0;
}

/* --- info, health --- */

static void handle_info(struct req *q)
{
	_cleanup_json_ cJSON *j = cJSON_CreateObject();
	cJSON *paths;

	if (!is(q, "GET") && !is(q, "HEAD"))
		return respond_method(q, "GET");
	if (q->r.kind == ROUTE_ROOT) {
		cJSON_AddStringToObject(j, "description", "OpenWhisk");
		paths = cJSON_AddArrayToObject(j, "api_paths");
		cJSON_AddItemToArray(paths, cJSON_CreateString("/api/v1"));
	} else {
		cJSON_AddStringToObject(j, "description", "OpenWhisk API");
		cJSON_AddStringToObject(j, "api_version", "1.0.0");
		cJSON_AddStringToObject(j, "api_version_path", "v1");
		cJSON_AddStringToObject(j, "build", q->a->build);
		cJSON_AddStringToObject(j, "buildno", "edgewhisk");
		paths = cJSON_AddObjectToObject(j, "swagger_paths");
		cJSON_AddStringToObject(paths, "ui", "/docs");
		cJSON_AddStringToObject(paths, "api-docs", "/api-docs");
	}
	respond_json(q->aio, 200, j, NULL);
}

static void handle_health(struct req *q)
{
	_cleanup_json_ cJSON *j = cJSON_CreateObject();
	struct api *a = q->a;
	uint32_t n = queue_invoker_count(a->d.queue), up = 0;
	cJSON *arr = cJSON_AddArrayToObject(j, "invokers");

	for (uint32_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		struct sup_invoker_state st = { 0 };
		pid_t pid = queue_invoker_pid(a->d.queue, i);

		if (a->d.sup)
			(void)sup_state(a->d.sup, i, &st);
		cJSON_AddNumberToObject(o, "id", i);
		cJSON_AddStringToObject(o, "state", pid ? "up" : "down");
		cJSON_AddNumberToObject(o, "pid", pid);
		cJSON_AddNumberToObject(o, "restarts", st.restarts);
		cJSON_AddNumberToObject(o, "queued", queue_invoker_depth(a->d.queue, i));
		cJSON_AddNumberToObject(o, "running", queue_invoker_inflight(a->d.queue, i));
		cJSON_AddItemToArray(arr, o);
		up += pid != 0;
	}
	cJSON_AddStringToObject(j, "status", up == n ? "ok" : up ? "degraded" : "down");
	cJSON_AddNumberToObject(j, "activationsInFlight", dispatch_inflight(a->d.dispatch));
	respond_json(q->aio, up ? 200 : 503, j, NULL);
}

/* --- auth and namespaces --- */

/* Resolve the caller and the addressed namespace; answers the request and
 * returns false when it must stop here. */
static bool authorize(struct req *q)
{
	const struct cfg *c = q->a->d.cfg;
	const char *hdr = nng_http_req_get_header(q->http, "Authorization");
	int k = route_auth(c, hdr);

	if (k < 0) {
		_cleanup_json_ cJSON *j = cJSON_CreateObject();
		char code[33];

		entity_activation_id(code);
		cJSON_AddStringToObject(j, "error",
					k == -ENOENT ? "The resource requires authentication, which was not "
						       "supplied with the request"
						     : "The supplied authentication is invalid");
		cJSON_AddStringToObject(j, "code", code);
		{
			size_t len = 0;
			char *s = json_print(j, &len);

			respond_raw(q->aio, 401, "application/json", s ? s : "", s ? len : 0, NULL, true);
			json_free(s);
		}
		return false;
	}
	q->key = k;
	q->ns = c->keys[k].namespace;
	if (q->r.kind != ROUTE_NAMESPACES && strcmp(q->r.ns, "_") != 0 && strcmp(q->r.ns, q->ns) != 0) {
		char msg[ROUTE_NAME_MAX * 3 + 96];

		snprintf(msg, sizeof(msg),
			 "The supplied authentication is not authorized to access '%s%s%s%s%s'.", q->r.ns,
			 q->r.package[0] ? "/" : "", q->r.package, q->r.name[0] ? "/" : "", q->r.name);
		respond_error(q, 403, msg);
		return false;
	}
	return true;
}

static void handle_namespaces(struct req *q)
{
	_cleanup_json_ cJSON *j = cJSON_CreateArray();

	if (!is(q, "GET"))
		return respond_method(q, "GET");
	cJSON_AddItemToArray(j, cJSON_CreateString(q->ns));
	respond_json(q->aio, 200, j, NULL);
}

static void handle_limits(struct req *q)
{
	const struct cfg *c = q->a->d.cfg;
	_cleanup_json_ cJSON *j = cJSON_CreateObject();
	char size[32];

	if (!is(q, "GET"))
		return respond_method(q, "GET");
	snprintf(size, sizeof(size), "%llu MB",
		 (unsigned long long)(c->limits.payload_bytes.max >> 20));
	/* 0 = unlimited: OpenWhisk has no such value, so the key is left out. */
	if (c->limits.invocations_per_minute)
		cJSON_AddNumberToObject(j, "invocationsPerMinute",
					(double)c->limits.invocations_per_minute);
	if (c->limits.concurrent_invocations)
		cJSON_AddNumberToObject(j, "concurrentInvocations",
					(double)c->limits.concurrent_invocations);
	cJSON_AddNumberToObject(j, "maxActionMemory", (double)c->limits.memory_mb.max);
	cJSON_AddNumberToObject(j, "minActionMemory", (double)c->limits.memory_mb.min);
	cJSON_AddNumberToObject(j, "maxActionTimeout", (double)c->limits.timeout_ms.max);
	cJSON_AddNumberToObject(j, "minActionTimeout", (double)c->limits.timeout_ms.min);
	cJSON_AddNumberToObject(j, "maxActionLogs", (double)c->limits.logs_mb.max);
	cJSON_AddNumberToObject(j, "minActionLogs", (double)c->limits.logs_mb.min);
	cJSON_AddNumberToObject(j, "maxActionConcurrency", 1);
	cJSON_AddNumberToObject(j, "minActionConcurrency", 1);
	cJSON_AddStringToObject(j, "maxParameterSize", size);
	respond_json(q->aio, 200, j, NULL);
}

/* --- actions --- */

/* "name" or "pkg/name" as stored, and the document namespace. */
static void action_names(const struct req *q, char *full, size_t fsize, char *docns, size_t nsize)
{
	if (q->r.package[0]) {
		snprintf(full, fsize, "%s/%s", q->r.package, q->r.name);
		snprintf(docns, nsize, "%s/%s", q->ns, q->r.package);
	} else {
		snprintf(full, fsize, "%s", q->r.name);
		snprintf(docns, nsize, "%s", q->ns);
	}
}

static int load_entity(struct req *q, const char *coll, const char *name, cJSON **out,
		       struct err *e)
{
	char *doc = NULL;
	size_t len = 0;
	int rc = store_entity_get(q->a->d.store, q->ns, coll, name, &doc, &len, e);

	if (rc < 0)
		return rc;
	rc = json_parse(doc, len, out, e);
	free(doc);
	return rc;
}

static int load_action(struct req *q, const char *full, cJSON **out, struct err *e)
{
	return load_entity(q, "actions", full, out, e);
}

struct list_ctx {
	cJSON *arr;
	const char *coll;            /* triggers, rules, packages: entity_summary */
	const char *prefix;          /* package listing: "pkg/" */
	int activations;             /* 0 actions, 1 activation summaries, 2 full records */
};

static int list_row(void *arg, const char *doc, size_t len)
{
	struct list_ctx *l = arg;
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
	if (l->coll) {
		item = entity_summary(l->coll, j);
	} else if (l->activations == 2) {
		item = j;
		j = NULL;
	} else {
		item = l->activations ? entity_activation_summary(j) : entity_action_summary(j);
	}
	if (item)
		cJSON_AddItemToArray(l->arr, item);
	return 0;
}

static int query_limit(struct req *q, const char *what, uint64_t *limit, uint64_t *skip)
{
	char msg[128];

	if (route_query_u64(q->uri, "limit", 30, 0, 200, limit) < 0) {
		char v[32] = "";

		(void)route_query_get(q->uri, "limit", v, sizeof(v));
		snprintf(msg, sizeof(msg), "The value '%s' is not in the range of 0 to 200 for %s.", v,
			 what);
		respond_error(q, 400, msg);
		return -EINVAL;
	}
	if (route_query_u64(q->uri, "skip", 0, 0, UINT32_MAX, skip) < 0) {
		respond_error(q, 400, "The value of skip is not a whole number.");
		return -EINVAL;
	}
	if (*limit == 0)
		*limit = 200;
	return 0;
}

static void handle_actions_list(struct req *q)
{
	_cleanup_json_ cJSON *arr = cJSON_CreateArray();
	struct list_ctx l = { .arr = arr, .prefix = q->r.package[0] ? q->r.package : NULL };
	struct err e = { 0 };
	uint64_t limit, skip;
	bool count;
	int rc;

	if (!is(q, "GET"))
		return respond_method(q, "GET");
	if (query_limit(q, "actions", &limit, &skip) < 0)
		return;
	if (route_query_bool(q->uri, "count", false, &count) < 0)
		return respond_error(q, 400, "The value of count must be true or false.");
	if (count) {
		_cleanup_json_ cJSON *j = cJSON_CreateObject();
		uint64_t n = 0;

		rc = store_entity_count(q->a->d.store, q->ns, "actions", &n, &e);
		if (rc < 0)
			return respond_err(q, rc, &e);
		cJSON_AddNumberToObject(j, "actions", (double)n);
		return respond_json(q->aio, 200, j, NULL);
	}
	/* A package listing filters after the query: fetch without paging. */
	rc = store_entity_list(q->a->d.store, q->ns, "actions", l.prefix ? 0 : (uint32_t)limit,
			       l.prefix ? 0 : (uint32_t)skip, list_row, &l, &e);
	if (rc < 0)
		return respond_err(q, rc, &e);
	respond_json(q->aio, 200, arr, NULL);
}

static int parse_body_object(struct req *q, cJSON **out)
{
	struct err e = { 0 };
	char msg[ERR_MSG_MAX + 64];
	size_t bad_at = 0;

	*out = NULL;
	if (q->body_len == 0)
		return 0;
	/* cJSON passes any bytes through: refuse what would be stored and
	 * served back as invalid UTF-8. */
	if (!json_utf8_is_valid(q->body, q->body_len, &bad_at)) {
		snprintf(msg, sizeof(msg), "The request content was malformed:\ninvalid UTF-8 at byte %zu",
			 bad_at);
		respond_error(q, 400, msg);
		return -EINVAL;
	}
	if (json_parse(q->body, q->body_len, out, &e) < 0) {
		snprintf(msg, sizeof(msg), "The request content was malformed:\n%s", e.msg);
		respond_error(q, 400, msg);
		return -EINVAL;
	}
	if (!cJSON_IsObject(*out)) {
		json_delete(*out);
		*out = NULL;
		respond_error(q, 400, "The request content was malformed:\nexpected a JSON object");
		return -EINVAL;
	}
	return 0;
}

static void handle_action_put(struct req *q, const char *full, const char *docns)
{
	_cleanup_json_ cJSON *body = NULL, *old = NULL, *doc = NULL;
	struct err e = { 0 };
	bool overwrite;
	size_t len = 0;
	char *text;
	int rc;

	if (route_query_bool(q->uri, "overwrite", false, &overwrite) < 0)
		return respond_error(q, 400, "The value of overwrite must be true or false.");
	if (parse_body_object(q, &body) < 0)
		return;
	if (q->r.package[0]) {
		_cleanup_json_ cJSON *pkg = NULL;

		rc = load_entity(q, "packages", q->r.package, &pkg, &e);
		if (rc == -ENOENT)
			return respond_not_found(q);
		if (rc < 0)
			return respond_err(q, rc, &e);
		if (entity_package_is_binding(pkg))
			return respond_error(q, 400, "Cannot create or update an action in a package binding.");
	}
	if (overwrite) {
		rc = load_action(q, full, &old, &e);
		if (rc < 0 && rc != -ENOENT)
			return respond_err(q, rc, &e);
		err_clear(&e);
	}
	rc = entity_action_build(q->a->d.cfg, docns, q->r.name, body, old, now_epoch_ms(), &doc, &e);
	if (rc < 0)
		return respond_err(q, rc, &e);
	if (strcmp(json_get_string(json_get_object(doc, "exec"), "kind"), "sequence") == 0) {
		char self[ENTITY_FQN_MAX];

		snprintf(self, sizeof(self), "/%s/%s", q->ns, full);
		rc = invoke_check_sequence(q->a->d.invoke, q->ns, self, json_get_object(doc, "exec"), &e);
		if (rc < 0)
			return respond_err(q, rc, &e);
	}
	text = json_print(doc, &len);
	if (!text)
		return respond_error(q, 500, "out of memory");
	rc = store_entity_put(q->a->d.store, q->ns, "actions", full, text, len, now_epoch_ms(),
			      overwrite, &e);
	json_free(text);
	if (rc == 0)
		invoke_code_forget(q->a->d.invoke, q->ns, full, old);
	if (rc == -EEXIST) {
		char coll[32] = "";

		if (store_entity_collection(q->a->d.store, q->ns, full, coll, sizeof(coll), NULL) < 0)
			coll[0] = '\0';
		return respond_error(q, 409, coll[0] && strcmp(coll, "actions") != 0
				     ? "Resource by this name exists but is not in this collection."
				     : "resource already exists");
	}
	if (rc < 0)
		return respond_err(q, rc, &e);
	respond_json(q->aio, 200, doc, NULL);
}

/* A blocking invocation waiting for its record. */
struct waiter {
	nng_aio *aio;
	bool result_only;
	char id[33];
};

static void waiter_done(void *arg, const cJSON *record)
{
	struct waiter *w = arg;
	const cJSON *resp, *result;
	uint64_t sc = 3;
	uint16_t status;

	if (!record) {
		_cleanup_json_ cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "activationId", w->id);
		respond_json(w->aio, 202, j, w->id);
		free(w);
		return;
	}
	resp = json_get_object(record, "response");
	result = resp ? cJSON_GetObjectItemCaseSensitive(resp, "result") : NULL;
	(void)json_get_u64(resp, "statusCode", &sc);
	status = sc == 0 ? 200 : sc == 3 ? 500 : 502;
	/* A bare array result is returned as such (spec §3). */
	if ((w->result_only || cJSON_IsArray(result)) && result)
		respond_json(w->aio, status, result, w->id);
	else
		respond_json(w->aio, status, record, w->id);
	free(w);
}

/* Resolve [pkg/]name in the caller's namespace; answers and returns <0 on
 * failure. */
static int resolve_target(struct req *q, struct invoke_target *t)
{
	struct err e = { 0 };
	int rc = invoke_resolve(q->a->d.invoke, q->ns, q->ns, q->r.package, q->r.name, t, &e);

	if (rc == -ENOENT)
		respond_not_found(q);
	else if (rc == -EACCES)
		respond_error(q, 403, e.msg);
	else if (rc < 0)
		respond_err(q, rc, &e);
	return rc;
}

static void handle_invoke(struct req *q)
{
	const struct cfg *c = q->a->d.cfg;
	_cleanup_json_ cJSON *body = NULL;
	struct invoke_target t = { 0 };
	struct invoke_call call = { 0 };
	struct waiter *w = NULL;
	struct err e = { 0 };
	bool blocking, result_only;
	uint64_t wait_ms;
	char msg[160];
	int rc;

	/* Throttles first, as OpenWhisk's entitlement check does. */
	rc = throttle_rate_admit(q->a->d.throttle, q->ns, now_epoch_ms(), &e);
	if (rc < 0)
		return respond_err(q, rc, &e);
	if (route_query_bool(q->uri, "blocking", false, &blocking) < 0 ||
	    route_query_bool(q->uri, "result", false, &result_only) < 0)
		return respond_error(q, 400, "The values of blocking and result must be true or false.");
	if (route_query_u64(q->uri, "timeout", BLOCKING_WAIT_MAX_MS, 1, BLOCKING_WAIT_MAX_MS,
			    &wait_ms) < 0)
		return respond_error(q, 400, "Timeout must be number of milliseconds up to 60000.");
	if (q->body_len > c->limits.payload_bytes.max) {
		snprintf(msg, sizeof(msg), "Request larger than allowed: %zu > %llu bytes.", q->body_len,
			 (unsigned long long)c->limits.payload_bytes.max);
		return respond_error(q, 413, msg);
	}
	if (parse_body_object(q, &body) < 0)
		return;
	if (resolve_target(q, &t) < 0)
		return;
	call.caller_ns = q->ns;
	call.key = q->key;
	call.args = body;
	entity_activation_id(call.id);
	if (blocking) {
		w = calloc(1, sizeof(*w));
		if (!w) {
			invoke_target_fini(&t);
			return respond_error(q, 500, "out of memory");
		}
		w->aio = q->aio;
		w->result_only = result_only;
		snprintf(w->id, sizeof(w->id), "%s", call.id);
		call.wait_ms = (uint32_t)wait_ms;
		call.done = waiter_done;
		call.arg = w;
	}
	rc = invoke_start(q->a->d.invoke, &t, &call, &e);
	invoke_target_fini(&t);
	if (rc < 0) {
		free(w);
		return respond_err(q, rc, &e);
	}
	if (!blocking) {
		_cleanup_json_ cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "activationId", call.id);
		respond_json(q->aio, 202, j, call.id);
	}
	/* Blocking: the completion side finishes the aio via waiter_done. */
}

static void handle_action(struct req *q)
{
	_cleanup_json_ cJSON *doc = NULL;
	struct err e = { 0 };
	char full[ROUTE_NAME_MAX * 2 + 2], docns[ROUTE_NAME_MAX * 2 + 2];
	char *text = NULL;
	size_t len = 0;
	int rc;

	action_names(q, full, sizeof(full), docns, sizeof(docns));
	if (is(q, "PUT"))
		return handle_action_put(q, full, docns);
	if (is(q, "POST"))
		return handle_invoke(q);
	if (is(q, "GET")) {
		struct invoke_target t;
		bool code;

		if (route_query_bool(q->uri, "code", true, &code) < 0)
			return respond_error(q, 400, "The value of code must be true or false.");
		/* Through a package: its parameters shown merged, as upstream. */
		if (resolve_target(q, &t) < 0)
			return;
		doc = t.action;
		t.action = NULL;
		if (!code) {
			_cleanup_json_ cJSON *lean = entity_action_without_code(doc);

			return respond_json(q->aio, 200, lean ? lean : doc, NULL);
		}
		return respond_json(q->aio, 200, doc, NULL);
	}
	if (is(q, "DELETE")) {
		rc = store_entity_delete(q->a->d.store, q->ns, "actions", full, &text, &len, &e);
		if (rc == -ENOENT)
			return respond_not_found(q);
		if (rc < 0)
			return respond_err(q, rc, &e);
		if (json_parse(text, len, &doc, NULL) == 0)
			invoke_code_forget(q->a->d.invoke, q->ns, full, doc);
		respond_raw(q->aio, 200, "application/json", text, len, NULL, false);
		free(text);
		return;
	}
	respond_method(q, "GET, PUT, POST, DELETE");
}


/* --- triggers, rules, packages (spec §5, §7) --- */

/* Store a document built for PUT, answering 409 like actions do. */
static int put_doc(struct req *q, const char *coll, const char *name, const cJSON *doc,
		   bool overwrite)
{
	struct err e = { 0 };
	size_t len = 0;
	char *text = json_print(doc, &len);
	int rc;

	if (!text) {
		respond_error(q, 500, "out of memory");
		return -ENOMEM;
	}
	rc = store_entity_put(q->a->d.store, q->ns, coll, name, text, len, now_epoch_ms(), overwrite, &e);
	json_free(text);
	if (rc == -EEXIST) {
		char other[32] = "";

		if (store_entity_collection(q->a->d.store, q->ns, name, other, sizeof(other), NULL) < 0)
			other[0] = '\0';
		respond_error(q, 409, other[0] && strcmp(other, coll) != 0
				      ? "Resource by this name exists but is not in this collection."
				      : "resource already exists");
	} else if (rc < 0) {
		respond_err(q, rc, &e);
	}
	return rc;
}

/* Write a document back (links), without answering. */
static int save_doc(struct api *a, const char *ns, const char *coll, const char *name,
		    const cJSON *doc, struct err *e)
{
	size_t len = 0;
	char *text = json_print(doc, &len);
	uint64_t updated = 0;
	int rc;

	if (!text)
		return err_set(e, -ENOMEM, "out of memory");
	(void)json_get_u64(doc, "updated", &updated);
	rc = store_entity_put(a->d.store, ns, coll, name, text, len, updated ? updated : now_epoch_ms(),
			      true, e);
	json_free(text);
	return rc;
}

static void handle_list(struct req *q, const char *coll)
{
	_cleanup_json_ cJSON *arr = cJSON_CreateArray();
	struct list_ctx l = { .arr = arr, .coll = coll };
	struct err e = { 0 };
	uint64_t limit, skip;
	bool count;
	int rc;

	if (!is(q, "GET"))
		return respond_method(q, "GET");
	if (query_limit(q, coll, &limit, &skip) < 0)
		return;
	if (route_query_bool(q->uri, "count", false, &count) < 0)
		return respond_error(q, 400, "The value of count must be true or false.");
	if (count) {
		_cleanup_json_ cJSON *j = cJSON_CreateObject();
		uint64_t n = 0;

		rc = store_entity_count(q->a->d.store, q->ns, coll, &n, &e);
		if (rc < 0)
			return respond_err(q, rc, &e);
		cJSON_AddNumberToObject(j, coll, (double)n);
		return respond_json(q->aio, 200, j, NULL);
	}
	rc = store_entity_list(q->a->d.store, q->ns, coll, (uint32_t)limit, (uint32_t)skip, list_row,
			       &l, &e);
	if (rc < 0)
		return respond_err(q, rc, &e);
	respond_json(q->aio, 200, arr, NULL);
}

/* GET and DELETE of a plain entity document; true when handled. */
static bool get_or_delete(struct req *q, const char *coll, cJSON **deleted)
{
	struct err e = { 0 };
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (is(q, "GET"))
		rc = store_entity_get(q->a->d.store, q->ns, coll, q->r.name, &text, &len, &e);
	else if (is(q, "DELETE"))
		rc = store_entity_delete(q->a->d.store, q->ns, coll, q->r.name, &text, &len, &e);
	else
		return false;
	if (rc == -ENOENT) {
		respond_not_found(q);
		return true;
	}
	if (rc < 0) {
		respond_err(q, rc, &e);
		return true;
	}
	if (deleted && is(q, "DELETE") && json_parse(text, len, deleted, NULL) < 0)
		*deleted = NULL;
	respond_raw(q->aio, 200, "application/json", text, len, NULL, false);
	free(text);
	return true;
}

static int put_prelude(struct req *q, const char *coll, bool *overwrite, cJSON **body, cJSON **old)
{
	struct err e = { 0 };
	int rc;

	if (route_query_bool(q->uri, "overwrite", false, overwrite) < 0) {
		respond_error(q, 400, "The value of overwrite must be true or false.");
		return -EINVAL;
	}
	if (parse_body_object(q, body) < 0)
		return -EINVAL;
	*old = NULL;
	if (*overwrite) {
		rc = load_entity(q, coll, q->r.name, old, &e);
		if (rc < 0 && rc != -ENOENT) {
			respond_err(q, rc, &e);
			return rc;
		}
	}
	return 0;
}

/* The trigger's rule map key for a rule of this namespace. */
static void rule_key(const struct req *q, const char *rule, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", q->ns, rule);
}

/* Fire: every active rule's action, non-blocking, with the trigger's
 * parameters under the payload; the trigger's record lists what each
 * rule did. */
static void trigger_fire(struct req *q)
{
	struct api *a = q->a;
	_cleanup_json_ cJSON *trigger = NULL, *body = NULL, *args = NULL, *init_env = NULL,
			     *logs = cJSON_CreateArray(), *rec = NULL;
	struct err e = { 0 };
	const cJSON *rule;
	uint64_t start;
	char id[33], msg[160];
	int rc;

	if (q->body_len > a->d.cfg->limits.payload_bytes.max) {
		snprintf(msg, sizeof(msg), "Request larger than allowed: %zu > %llu bytes.", q->body_len,
			 (unsigned long long)a->d.cfg->limits.payload_bytes.max);
		return respond_error(q, 413, msg);
	}
	if (parse_body_object(q, &body) < 0)
		return;
	rc = load_entity(q, "triggers", q->r.name, &trigger, &e);
	if (rc == -ENOENT)
		return respond_not_found(q);
	if (rc < 0)
		return respond_err(q, rc, &e);
	rc = entity_invoke_params(trigger, body, &args, &init_env, &e);
	if (rc < 0)
		return respond_err(q, rc, &e);
	entity_activation_id(id);
	cJSON_ArrayForEach(rule, json_get_object(trigger, "rules")) {
		const cJSON *act = json_get_object(rule, "action");
		const char *path = json_get_string(act, "path"), *name = json_get_string(act, "name");
		struct invoke_target t = { 0 };
		struct invoke_call call = { 0 };
		char ns[ROUTE_NAME_MAX] = "", pkg[ROUTE_NAME_MAX] = "", action[ENTITY_FQN_MAX];
		_cleanup_json_ cJSON *entry = cJSON_CreateObject();
		char *line;

		if (strcmp(json_get_string(rule, "status") ? json_get_string(rule, "status") : "", "active") != 0)
			continue;
		if (!path || !name)
			continue;
		snprintf(ns, sizeof(ns), "%.*s", (int)strcspn(path, "/"), path);
		if (strchr(path, '/'))
			snprintf(pkg, sizeof(pkg), "%s", strchr(path, '/') + 1);
		snprintf(action, sizeof(action), "%s/%s", path, name);
		err_clear(&e);
		rc = invoke_resolve(a->d.invoke, q->ns, ns, pkg, name, &t, &e);
		call.caller_ns = q->ns;
		call.key = q->key;
		call.args = args;
		call.cause = NULL;
		if (rc == 0)
			rc = invoke_start(a->d.invoke, &t, &call, &e);
		invoke_target_fini(&t);
		cJSON_AddNumberToObject(entry, "statusCode",
					rc == 0 ? 0 : api_status_of(rc) >= 500 ? 3 : 1);
		cJSON_AddBoolToObject(entry, "success", rc == 0);
		if (rc == 0)
			cJSON_AddStringToObject(entry, "activationId", call.id);
		cJSON_AddStringToObject(entry, "rule", rule->string);
		cJSON_AddStringToObject(entry, "action", action);
		if (rc < 0)
			cJSON_AddStringToObject(entry, "error", e.msg[0] ? e.msg : strerror(-rc));
		line = json_print(entry, NULL);
		if (line)
			cJSON_AddItemToArray(logs, cJSON_CreateString(line));
		json_free(line);
	}
	/* Recorded even when no rule is active, so a fire is never lost
	 * without a trace. */
	start = now_epoch_ms();
	rc = entity_trigger_record(id, q->ns, q->r.name, json_get_string(trigger, "version"), body,
				   logs, start, &rec, &e);
	if (rc == 0)
		rc = dispatch_store_record(a->d.store, q->ns, q->ns, q->r.name, rec, start, start, &e);
	if (rc < 0)
		return respond_err(q, rc, &e);
	{
		_cleanup_json_ cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "activationId", id);
		respond_json(q->aio, 202, j, id);
	}
}

static void handle_trigger(struct req *q)
{
	_cleanup_json_ cJSON *body = NULL, *old = NULL, *doc = NULL;
	struct err e = { 0 };
	bool overwrite;
	int rc;

	if (is(q, "POST"))
		return trigger_fire(q);
	if (is(q, "PUT")) {
		if (put_prelude(q, "triggers", &overwrite, &body, &old) < 0)
			return;
		pthread_mutex_lock(&q->a->ev_lock);
		/* Re-read under the lock: the rules map may just have changed. */
		if (overwrite) {
			json_delete(old);
			old = NULL;
			(void)load_entity(q, "triggers", q->r.name, &old, NULL);
		}
		rc = entity_trigger_build(q->ns, q->r.name, body, old, now_epoch_ms(), &doc, &e);
		if (rc < 0)
			respond_err(q, rc, &e);
		else if (put_doc(q, "triggers", q->r.name, doc, overwrite) == 0)
			respond_json(q->aio, 200, doc, NULL);
		pthread_mutex_unlock(&q->a->ev_lock);
		return;
	}
	/* Rules that named a deleted trigger stay, inactive, as upstream. */
	if (!get_or_delete(q, "triggers", NULL))
		respond_method(q, "GET, PUT, POST, DELETE");
}

/* Link or unlink (status NULL) a rule in its trigger's map. Caller holds
 * ev_lock. -ENOENT when the trigger is gone. */
static int trigger_link(struct req *q, const cJSON *rule, const char *status, struct err *e)
{
	const cJSON *trig = json_get_object(rule, "trigger");
	const char *tns = json_get_string(trig, "path"), *tname = json_get_string(trig, "name");
	_cleanup_json_ cJSON *doc = NULL;
	char *text = NULL, key[ROUTE_NAME_MAX * 2 + 2];
	size_t len = 0;
	cJSON *rules;
	int rc;

	if (!tns || !tname)
		return -ENOENT;
	rc = store_entity_get(q->a->d.store, tns, "triggers", tname, &text, &len, e);
	if (rc < 0)
		return rc;
	rc = json_parse(text, len, &doc, e);
	free(text);
	if (rc < 0)
		return rc;
	rule_key(q, json_get_string(rule, "name"), key, sizeof(key));
	rules = cJSON_GetObjectItemCaseSensitive(doc, "rules");
	if (!cJSON_IsObject(rules)) {
		cJSON_DeleteItemFromObjectCaseSensitive(doc, "rules");
		rules = cJSON_AddObjectToObject(doc, "rules");
	}
	cJSON_DeleteItemFromObjectCaseSensitive(rules, key);
	if (status) {
		cJSON *link = cJSON_AddObjectToObject(rules, key);

		cJSON_AddItemToObject(link, "action",
				      cJSON_Duplicate(json_get_object(rule, "action"), true));
		cJSON_AddStringToObject(link, "status", status);
	}
	return save_doc(q->a, tns, "triggers", tname, doc, e);
}

/* The rule's status as its trigger says (inactive when the trigger is
 * gone), written into doc. */
static void rule_status_from_trigger(struct req *q, cJSON *doc)
{
	const cJSON *trig = json_get_object(doc, "trigger");
	const char *tns = json_get_string(trig, "path"), *tname = json_get_string(trig, "name");
	_cleanup_json_ cJSON *t = NULL;
	char *text = NULL, key[ROUTE_NAME_MAX * 2 + 2];
	const char *status = "inactive";
	size_t len = 0;

	rule_key(q, json_get_string(doc, "name"), key, sizeof(key));
	if (tns && tname &&
	    store_entity_get(q->a->d.store, tns, "triggers", tname, &text, &len, NULL) == 0 &&
	    json_parse(text, len, &t, NULL) == 0) {
		const cJSON *link = json_get_object(json_get_object(t, "rules"), key);

		if (json_get_string(link, "status"))
			status = json_get_string(link, "status");
	}
	free(text);
	cJSON_ReplaceItemInObjectCaseSensitive(doc, "status", cJSON_CreateString(status));
}

static void rule_put(struct req *q)
{
	_cleanup_json_ cJSON *body = NULL, *old = NULL, *doc = NULL;
	struct invoke_target t = { 0 };
	struct err e = { 0 };
	const cJSON *trig, *act;
	const char *path;
	char ns[ROUTE_NAME_MAX] = "", pkg[ROUTE_NAME_MAX] = "", msg[ENTITY_FQN_MAX + 64];
	bool overwrite;
	int rc;

	if (put_prelude(q, "rules", &overwrite, &body, &old) < 0)
		return;
	rc = entity_rule_build(q->ns, q->r.name, body, old, now_epoch_ms(), &doc, &e);
	if (rc < 0)
		return respond_err(q, rc, &e);
	trig = json_get_object(doc, "trigger");
	act = json_get_object(doc, "action");
	{
		char *text = NULL;

		rc = strcmp(json_get_string(trig, "path"), q->ns) != 0
			     ? -ENOENT
			     : store_entity_get(q->a->d.store, q->ns, "triggers",
						json_get_string(trig, "name"), &text, NULL, NULL);
		free(text);
	}
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "trigger /%s/%s does not exist", json_get_string(trig, "path"),
			 json_get_string(trig, "name"));
		return respond_error(q, 400, msg);
	}
	path = json_get_string(act, "path");
	snprintf(ns, sizeof(ns), "%.*s", (int)strcspn(path, "/"), path);
	if (strchr(path, '/'))
		snprintf(pkg, sizeof(pkg), "%s", strchr(path, '/') + 1);
	rc = invoke_resolve(q->a->d.invoke, q->ns, ns, pkg, json_get_string(act, "name"), &t, &e);
	invoke_target_fini(&t);
	if (rc == -ENOENT || rc == -EACCES) {
		snprintf(msg, sizeof(msg), "action /%s/%s does not exist", path,
			 json_get_string(act, "name"));
		return respond_error(q, 400, msg);
	}
	if (rc < 0)
		return respond_err(q, rc, &e);
	pthread_mutex_lock(&q->a->ev_lock);
	rc = put_doc(q, "rules", q->r.name, doc, overwrite);
	if (rc == 0) {
		/* A rule moved to another trigger leaves the old one. */
		if (old && json_get_object(old, "trigger") &&
		    (strcmp(json_get_string(json_get_object(old, "trigger"), "name"),
			    json_get_string(trig, "name")) != 0))
			(void)trigger_link(q, old, NULL, NULL);
		rc = trigger_link(q, doc, "active", &e);
		if (rc < 0)
			respond_err(q, rc, &e);
		else
			respond_json(q->aio, 200, doc, NULL);
	}
	pthread_mutex_unlock(&q->a->ev_lock);
}

static void rule_set_status(struct req *q)
{
	_cleanup_json_ cJSON *body = NULL, *doc = NULL;
	struct err e = { 0 };
	const char *status;
	char msg[ROUTE_NAME_MAX + 96];
	int rc;

	if (parse_body_object(q, &body) < 0)
		return;
	status = json_get_string(body, "status");
	if (!status || (strcmp(status, "active") != 0 && strcmp(status, "inactive") != 0)) {
		snprintf(msg, sizeof(msg),
			 "'%.256s' is not a recognized rule state, must be one of ['active', 'inactive']",
			 status ? status : "");
		return respond_error(q, 400, msg);
	}
	pthread_mutex_lock(&q->a->ev_lock);
	rc = load_entity(q, "rules", q->r.name, &doc, &e);
	if (rc == -ENOENT) {
		respond_not_found(q);
	} else if (rc < 0) {
		respond_err(q, rc, &e);
	} else {
		rc = trigger_link(q, doc, status, &e);
		if (rc == -ENOENT)
			respond_error(q, 404, "Only rules with existing triggers can be activated");
		else if (rc < 0)
			respond_err(q, rc, &e);
		else {
			cJSON_ReplaceItemInObjectCaseSensitive(doc, "status", cJSON_CreateString(status));
			respond_json(q->aio, 200, doc, NULL);
		}
	}
	pthread_mutex_unlock(&q->a->ev_lock);
}

static void handle_rule(struct req *q)
{
	_cleanup_json_ cJSON *doc = NULL;
	struct err e = { 0 };
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (is(q, "PUT"))
		return rule_put(q);
	if (is(q, "POST"))
		return rule_set_status(q);
	if (is(q, "GET")) {
		rc = load_entity(q, "rules", q->r.name, &doc, &e);
		if (rc == -ENOENT)
			return respond_not_found(q);
		if (rc < 0)
			return respond_err(q, rc, &e);
		rule_status_from_trigger(q, doc);
		return respond_json(q->aio, 200, doc, NULL);
	}
	if (!is(q, "DELETE"))
		return respond_method(q, "GET, PUT, POST, DELETE");
	pthread_mutex_lock(&q->a->ev_lock);
	rc = store_entity_delete(q->a->d.store, q->ns, "rules", q->r.name, &text, &len, &e);
	if (rc == 0 && json_parse(text, len, &doc, &e) == 0) {
		(void)trigger_link(q, doc, NULL, NULL);
		cJSON_ReplaceItemInObjectCaseSensitive(doc, "status", cJSON_CreateString("inactive"));
	}
	pthread_mutex_unlock(&q->a->ev_lock);
	free(text);
	if (rc == -ENOENT)
		return respond_not_found(q);
	if (rc < 0)
		return respond_err(q, rc, &e);
	respond_json(q->aio, 200, doc, NULL);
}

/* Actions stored in package `pkg` of the caller's namespace. */
struct pkg_actions {
	cJSON *arr;                  /* summaries, or NULL to only count */
	const char *docns;           /* "ns/pkg" */
	char (*names)[ROUTE_NAME_MAX * 2 + 2];
	uint32_t n, cap;
};

static int pkg_action_row(void *arg, const char *doc, size_t len)
{
	struct pkg_actions *p = arg;
	_cleanup_json_ cJSON *j = NULL;
	const char *ns, *name;

	if (json_parse(doc, len, &j, NULL) < 0)
		return 0;
	ns = json_get_string(j, "namespace");
	name = json_get_string(j, "name");
	if (!ns || !name || strcmp(ns, p->docns) != 0)
		return 0;
	if (p->arr) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "name", name);
		cJSON_AddStringToObject(o, "version", json_get_string(j, "version")
							  ? json_get_string(j, "version") : "0.0.1");
		cJSON_AddItemToObject(o, "annotations",
				      cJSON_Duplicate(json_get_array(j, "annotations"), true));
		cJSON_AddItemToArray(p->arr, o);
	}
	if (p->n == p->cap) {
		uint32_t cap = p->cap ? p->cap * 2 : 8;
		void *nn = realloc(p->names, cap * sizeof(*p->names));

		if (!nn)
			return -ENOMEM;
		p->names = nn;
		p->cap = cap;
	}
	snprintf(p->names[p->n++], sizeof(p->names[0]), "%s/%s", strchr(p->docns, '/') + 1, name);
	return 0;
}

static int package_actions(struct req *q, struct pkg_actions *p, struct err *e)
{
	char docns[ROUTE_NAME_MAX * 2 + 2];

	snprintf(docns, sizeof(docns), "%s/%s", q->ns, q->r.name);
	p->docns = docns;
	return store_entity_list(q->a->d.store, q->ns, "actions", 0, 0, pkg_action_row, p, e);
}

static void package_put(struct req *q)
{
	_cleanup_json_ cJSON *body = NULL, *old = NULL, *doc = NULL;
	struct err e = { 0 };
	bool overwrite;
	int rc;

	if (put_prelude(q, "packages", &overwrite, &body, &old) < 0)
		return;
	rc = entity_package_build(q->ns, q->r.name, body, old, now_epoch_ms(), &doc, &e);
	if (rc < 0)
		return respond_err(q, rc, &e);
	if (entity_package_is_binding(doc)) {
		const cJSON *b = json_get_object(doc, "binding");
		const char *bns = json_get_string(b, "namespace"), *bname = json_get_string(b, "name");
		_cleanup_json_ cJSON *target = NULL;
		struct pkg_actions mine = { 0 };
		char *text = NULL;
		size_t len = 0;

		rc = store_entity_get(q->a->d.store, bns, "packages", bname, &text, &len, NULL);
		if (rc == 0)
			rc = json_parse(text, len, &target, NULL);
		free(text);
		if (rc < 0 || (strcmp(bns, q->ns) != 0 && !json_get_bool(target, "publish", false)))
			return respond_error(q, 400, "Binding references a package that does not exist.");
		if (entity_package_is_binding(target))
			return respond_error(q, 400, "Cannot bind to another package binding.");
		if (old && package_actions(q, &mine, &e) == 0 && mine.n > 0) {
			free(mine.names);
			return respond_error(q, 400, "Cannot bind a package that contains actions.");
		}
		free(mine.names);
	}
	if (put_doc(q, "packages", q->r.name, doc, overwrite) == 0)
		respond_json(q->aio, 200, doc, NULL);
}

static void package_delete(struct req *q)
{
	struct pkg_actions p = { 0 };
	struct err e = { 0 };
	bool force;
	char msg[160];
	int rc;

	if (route_query_bool(q->uri, "force", false, &force) < 0)
		return respond_error(q, 400, "The value of force must be true or false.");
	rc = package_actions(q, &p, &e);
	if (rc == 0 && p.n > 0 && !force) {
		snprintf(msg, sizeof(msg),
			 "Package not empty (contains %u entities). Set force param or delete package "
			 "contents.",
			 p.n);
		free(p.names);
		return respond_error(q, 409, msg);
	}
	for (uint32_t i = 0; rc == 0 && i < p.n; i++) {
		char *text = NULL;
		size_t len = 0;
		_cleanup_json_ cJSON *doc = NULL;

		if (store_entity_delete(q->a->d.store, q->ns, "actions", p.names[i], &text, &len, NULL) == 0 &&
		    json_parse(text, len, &doc, NULL) == 0)
			invoke_code_forget(q->a->d.invoke, q->ns, p.names[i], doc);
		free(text);
	}
	free(p.names);
	if (rc < 0)
		return respond_err(q, rc, &e);
	(void)get_or_delete(q, "packages", NULL);
}

static void handle_package(struct req *q)
{
	_cleanup_json_ cJSON *doc = NULL;
	struct pkg_actions p = { 0 };
	struct err e = { 0 };
	int rc;

	if (is(q, "PUT"))
		return package_put(q);
	if (is(q, "DELETE"))
		return package_delete(q);
	if (!is(q, "GET"))
		return respond_method(q, "GET, PUT, DELETE");
	rc = load_entity(q, "packages", q->r.name, &doc, &e);
	if (rc == -ENOENT)
		return respond_not_found(q);
	if (rc < 0)
		return respond_err(q, rc, &e);
	p.arr = cJSON_AddArrayToObject(doc, "actions");
	rc = entity_package_is_binding(doc) ? 0 : package_actions(q, &p, &e);
	free(p.names);
	if (rc < 0)
		return respond_err(q, rc, &e);
	cJSON_AddArrayToObject(doc, "feeds");
	respond_json(q->aio, 200, doc, NULL);
}

/* --- web actions (spec §7) --- */

/* nng cannot enumerate request headers, so __ow_headers carries these. */
static const char *const web_header_names[] = {
	"accept", "accept-encoding", "accept-language", "cache-control", "content-length",
	"content-type", "cookie", "host", "if-none-match", "if-modified-since", "origin", "referer",
	"user-agent", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip",
	"x-request-id",
};
#define WEB_HEADERS (sizeof(web_header_names) / sizeof(web_header_names[0]))

struct web_waiter {
	nng_aio *aio;
	enum web_ext ext;
	bool head;
	char id[33];
};

static void web_send(nng_aio *aio, const struct web_response *wr, const char *id, bool head)
{
	nng_http_res *res = NULL;

	if (nng_http_res_alloc(&res) != 0) {
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	nng_http_res_set_status(res, (uint16_t)wr->status);
	set_cors(res);
	for (size_t i = 0; i < wr->header_count; i++)
		nng_http_res_add_header(res, wr->headers[i].name, wr->headers[i].value);
	if (wr->content_type)
		nng_http_res_set_header(res, "Content-Type", wr->content_type);
	if (id)
		nng_http_res_set_header(res, "x-openwhisk-activation-id", id);
	if (!wr->body_len || head)
		nng_http_res_set_header(res, "Content-Length", "0");
	if (wr->body_len && !head && nng_http_res_copy_data(res, wr->body, wr->body_len) != 0) {
		nng_http_res_free(res);
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

static void web_done(void *arg, const cJSON *record)
{
	struct web_waiter *w = arg;
	struct web_response wr = { 0 };
	const cJSON *resp = json_get_object(record, "response");
	uint64_t sc = 3;
	char code[33];

	if (!record) {
		_cleanup_json_ cJSON *j = cJSON_CreateObject();

		entity_activation_id(code);
		cJSON_AddStringToObject(j, "error", "Response not yet ready.");
		cJSON_AddStringToObject(j, "code", code);
		respond_json(w->aio, 202, j, w->id);
		free(w);
		return;
	}
	(void)json_get_u64(resp, "statusCode", &sc);
	entity_activation_id(code);
	if (web_respond(w->ext, cJSON_GetObjectItemCaseSensitive(resp, "result"), (int)sc, code,
			&wr) < 0)
		nng_aio_finish(w->aio, NNG_ENOMEM);
	else
		web_send(w->aio, &wr, w->id, w->head);
	web_response_fini(&wr);
	free(w);
}

/* Web actions answer without credentials unless require-whisk-auth says
 * otherwise; false when the request was answered (401). */
static bool web_authorized(struct req *q, const cJSON *action, const char **user)
{
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
		int k = route_auth(q->a->d.cfg, nng_http_req_get_header(q->http, "Authorization"));

		if (k >= 0) {
			*user = q->a->d.cfg->keys[k].namespace;
			return true;
		}
	} else if (cJSON_IsString(v) || cJSON_IsNumber(v)) {
		const char *given = nng_http_req_get_header(q->http, "X-Require-Whisk-Auth");
		char want[64];

		if (cJSON_IsString(v))
			snprintf(want, sizeof(want), "%s", v->valuestring);
		else
			snprintf(want, sizeof(want), "%.0f", v->valuedouble);
		if (given && strcmp(given, want) == 0)
			return true;
	}
	respond_error(q, 401, "The resource requires authentication, which was not supplied with "
			      "the request");
	return false;
}

static void handle_web(struct req *q)
{
	struct api *a = q->a;
	struct invoke_target t = { 0 };
	struct invoke_call call = { 0 };
	struct web_header hdrs[WEB_HEADERS];
	struct web_request wreq = { 0 };
	_cleanup_json_ cJSON *args = NULL;
	struct web_waiter *w;
	struct err e = { 0 };
	char path[2048];
	const char *query = strchr(q->uri, '?');
	int rc;

	if (q->body_len > a->d.cfg->limits.payload_bytes.max)
		return respond_error(q, 413, "Request larger than allowed.");
	rc = invoke_resolve(a->d.invoke, q->r.ns, q->r.ns, q->r.package, q->r.name, &t, &e);
	if (rc == -ENOENT || rc == -EACCES)
		return respond_not_found(q);
	if (rc < 0)
		return respond_err(q, rc, &e);
	if (!entity_annotation_true(t.action, "web-export")) {
		invoke_target_fini(&t);
		return respond_not_found(q);
	}
	if (!web_authorized(q, t.action, &wreq.user)) {
		invoke_target_fini(&t);
		return;
	}
	for (size_t i = 0; i < WEB_HEADERS; i++) {
		hdrs[wreq.header_count].name = web_header_names[i];
		hdrs[wreq.header_count].value = nng_http_req_get_header(q->http, web_header_names[i]);
		if (hdrs[wreq.header_count].value)
			wreq.header_count++;
	}
	snprintf(path, sizeof(path), "%.*s", (int)q->r.web_path_len, q->r.web_path);
	wreq.method = q->method;
	wreq.headers = hdrs;
	wreq.query = query ? query + 1 : "";
	wreq.body = q->body;
	wreq.body_len = q->body_len;
	wreq.content_type = nng_http_req_get_header(q->http, "Content-Type");
	wreq.path = path;
	wreq.raw_http = entity_annotation_true(t.action, "raw-http");
	rc = web_params(NULL, &wreq, &args, &e);
	if (rc < 0) {
		invoke_target_fini(&t);
		return respond_err(q, rc, &e);
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		invoke_target_fini(&t);
		return respond_error(q, 500, "out of memory");
	}
	if (web_ext_parse(q->r.ext, &w->ext) < 0)
		w->ext = WEB_HTTP;
	w->aio = q->aio;
	w->head = is(q, "HEAD");
	entity_activation_id(call.id);
	snprintf(w->id, sizeof(w->id), "%s", call.id);
	call.caller_ns = q->r.ns;
	call.key = -1;
	call.args = args;
	call.wait_ms = BLOCKING_WAIT_MAX_MS;
	call.done = web_done;
	call.arg = w;
	rc = invoke_start(a->d.invoke, &t, &call, &e);
	invoke_target_fini(&t);
	if (rc < 0) {
		free(w);
		if (rc == -EINVAL)
			return respond_error(q, 400, e.msg);
		return respond_err(q, rc, &e);
	}
}

/* --- activations --- */

static void handle_activations_list(struct req *q)
{
	_cleanup_json_ cJSON *arr = cJSON_CreateArray();
	struct list_ctx l = { .arr = arr, .activations = 1 };
	struct err e = { 0 };
	uint64_t limit, skip, since, upto;
	char name[ROUTE_NAME_MAX * 2 + 2] = "";
	bool docs, count;
	int rc;

	if (!is(q, "GET"))
		return respond_method(q, "GET");
	if (query_limit(q, "activations", &limit, &skip) < 0)
		return;
	if (route_query_u64(q->uri, "since", 0, 0, UINT64_MAX, &since) < 0 ||
	    route_query_u64(q->uri, "upto", 0, 0, UINT64_MAX, &upto) < 0 ||
	    route_query_bool(q->uri, "docs", false, &docs) < 0 ||
	    route_query_bool(q->uri, "count", false, &count) < 0)
		return respond_error(q, 400, "The values of since, upto, docs or count are malformed.");
	if (count && docs)
		return respond_error(q, 400, "The parameters 'count' and 'docs' cannot be combined.");
	rc = route_query_get(q->uri, "name", name, sizeof(name));
	if (rc == -ENAMETOOLONG)
		return respond_error(q, 400, "The name of the entity contains illegal characters.");
	if (count) {
		_cleanup_json_ cJSON *j = cJSON_CreateObject();
		uint64_t n = 0;

		rc = store_activation_count(q->a->d.store, q->ns, name[0] ? name : NULL, since, upto, &n,
					    &e);
		if (rc < 0)
			return respond_err(q, rc, &e);
		cJSON_AddNumberToObject(j, "activations", (double)n);
		return respond_json(q->aio, 200, j, NULL);
	}
	l.activations = docs ? 2 : 1;
	rc = store_activation_list(q->a->d.store, q->ns, name[0] ? name : NULL, since, upto,
				   (uint32_t)limit, (uint32_t)skip, list_row, &l, &e);
	if (rc < 0)
		return respond_err(q, rc, &e);
	respond_json(q->aio, 200, arr, NULL);
}

static void handle_activation(struct req *q)
{
	_cleanup_json_ cJSON *rec = NULL, *j = NULL;
	struct err e = { 0 };
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (!is(q, "GET"))
		return respond_method(q, "GET");
	rc = store_activation_get(q->a->d.store, q->ns, q->r.name, &text, &len, &e);
	if (rc == -ENOENT)
		return respond_not_found(q);
	if (rc < 0)
		return respond_err(q, rc, &e);
	if (q->r.kind == ROUTE_ACTIVATION) {
		respond_raw(q->aio, 200, "application/json", text, len, NULL, false);
		free(text);
		return;
	}
	rc = json_parse(text, len, &rec, &e);
	free(text);
	if (rc < 0)
		return respond_error(q, 500, "The stored activation record is unreadable.");
	if (q->r.kind == ROUTE_ACTIVATION_RESULT) {
		const cJSON *resp = json_get_object(rec, "response");

		return resp ? respond_json(q->aio, 200, resp, NULL) : respond_not_found(q);
	}
	j = cJSON_CreateObject();
	{
		const cJSON *logs = json_get_array(rec, "logs");

		cJSON_AddItemToObject(j, "logs", logs ? cJSON_Duplicate(logs, 1) : cJSON_CreateArray());
	}
	respond_json(q->aio, 200, j, NULL);
}

/* --- dispatch --- */

static void handle(nng_aio *aio)
{
	nng_http_req *http = nng_aio_get_input(aio, 0);
	nng_http_handler *h = nng_aio_get_input(aio, 1);
	struct req q = { .a = nng_http_handler_get_data(h), .aio = aio, .http = http };
	struct err e = { 0 };
	void *body = NULL;
	int rc;

	q.method = nng_http_req_get_method(http);
	q.uri = nng_http_req_get_uri(http);
	nng_http_req_get_data(http, &body, &q.body_len);
	q.body = body;
	if (is(&q, "OPTIONS"))
		return respond_raw(aio, 200, NULL, NULL, 0, NULL, false);
	rc = route_parse(q.uri, &q.r, &e);
	if (rc < 0)
		return respond_err(&q, rc, &e);
	switch (q.r.kind) {
	case ROUTE_NONE:
		return respond_not_found(&q);
	case ROUTE_ROOT:
	case ROUTE_API_INFO:
		return handle_info(&q);
	case ROUTE_PING:
		if (!is(&q, "GET") && !is(&q, "HEAD"))
			return respond_method(&q, "GET");
		return respond_raw(aio, 200, "text/plain", "pong", 4, NULL, false);
	case ROUTE_HEALTH:
		if (!is(&q, "GET") && !is(&q, "HEAD"))
			return respond_method(&q, "GET");
		return handle_health(&q);
	case ROUTE_WEB:
		return handle_web(&q);
	default:
		break;
	}
	if (!authorize(&q))
		return;
	switch (q.r.kind) {
	case ROUTE_NAMESPACES:
		return handle_namespaces(&q);
	case ROUTE_LIMITS:
		return handle_limits(&q);
	case ROUTE_ACTIONS:
		return handle_actions_list(&q);
	case ROUTE_ACTION:
		return handle_action(&q);
	case ROUTE_ACTIVATIONS:
		return handle_activations_list(&q);
	case ROUTE_TRIGGERS:
		return handle_list(&q, "triggers");
	case ROUTE_RULES:
		return handle_list(&q, "rules");
	case ROUTE_PACKAGES:
		return handle_list(&q, "packages");
	case ROUTE_TRIGGER:
		return handle_trigger(&q);
	case ROUTE_RULE:
		return handle_rule(&q);
	case ROUTE_PACKAGE:
		return handle_package(&q);
	case ROUTE_ACTIVATION:
	case ROUTE_ACTIVATION_RESULT:
	case ROUTE_ACTIVATION_LOGS:
		return handle_activation(&q);
	default:
		return respond_not_found(&q);
	}
}

/* Requests nng rejects itself (malformed request line or headers, bad
 * Content-Length, HTTP version) get OpenWhisk's error shape too, not
 * nng's HTML page. nng keeps its text/html Content-Type for these; the
 * code is fixed since no handler ran. */
static int set_error_pages(nng_http_server *srv)
{
	static const struct {
		uint16_t status;
		const char *msg;
	} pages[] = {
		{ 400, "The request could not be parsed." },
		{ 404, "The requested resource does not exist." },
		{ 405, "The request method is not supported." },
		{ 413, "The request is larger than allowed." },
		{ 500, "Internal server error." },
		{ 505, "The HTTP version is not supported." },
	};
	char body[160];
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < sizeof(pages) / sizeof(pages[0]); i++) {
		snprintf(body, sizeof(body), "{\"error\":\"%s\",\"code\":\"http%u\"}", pages[i].msg,
			 pages[i].status);
		rc = nng_http_server_set_error_page(srv, pages[i].status, body);
	}
	return rc;
}

int api_start(const struct api_deps *deps, struct api **out, struct err *e)
{
	struct api *a = calloc(1, sizeof(*a));
	char url[256];
	nng_url *u = NULL;
	int rc;

	if (!a)
		return err_set(e, -ENOMEM, "allocate api");
	a->d = *deps;
	pthread_mutex_init(&a->ev_lock, NULL);
	snprintf(a->build, sizeof(a->build), "%s", __DATE__);
	snprintf(url, sizeof(url), "http://%s:%u", deps->cfg->api.address, deps->cfg->api.port);
	rc = nng_url_parse(&u, url);
	if (rc == 0)
		rc = nng_http_server_hold(&a->srv, u);
	if (rc == 0)
		rc = nng_http_handler_alloc(&a->h, "/", handle);
	if (rc == 0)
		rc = nng_http_handler_set_method(a->h, NULL);
	if (rc == 0)
		rc = nng_http_handler_set_tree(a->h);
	if (rc == 0)
		rc = nng_http_handler_collect_body(a->h, true, MAX_BODY);
	if (rc == 0)
		rc = nng_http_handler_set_data(a->h, a, NULL);
	if (rc == 0) {
		rc = nng_http_server_add_handler(a->srv, a->h);
		if (rc == 0)
			a->h = NULL; /* the server owns it now */
	}
	if (rc == 0)
		rc = set_error_pages(a->srv);
	if (rc == 0)
		rc = nng_http_server_start(a->srv);
	nng_url_free(u);
	if (rc != 0) {
		err_set(e, rc == NNG_EADDRINUSE ? -EADDRINUSE : -EIO, "listen on %s: %s", url,
			nng_strerror(rc));
		if (a->h)
			nng_http_handler_free(a->h);
		if (a->srv)
			nng_http_server_release(a->srv);
		free(a);
		return e ? e->code : -EIO;
	}
	*out = a;
	return 0;
}

void api_stop(struct api *a)
{
	if (!a)
		return;
	nng_http_server_stop(a->srv);
	nng_http_server_release(a->srv);
	pthread_mutex_destroy(&a->ev_lock);
	free(a);
}
