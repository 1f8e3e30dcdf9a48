/* SPDX-License-Identifier: Apache-2.0 */
/* REST API handlers on nng's HTTP server (see api.h). One tree handler on
 * "/" takes every method and routes itself (route.c), so paths and
 * methods are decided in one place. */
#include "api.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "act.h"
#include "entity.h"
#include "json.h"
#include "log.h"
#include "route.h"

#define MAX_BODY (64u * 1024 * 1024) /* nng refuses larger bodies itself */
#define BLOCKING_WAIT_MAX_MS 60000

struct api {
	struct api_deps d;
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

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

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

static int load_action(struct req *q, const char *full, cJSON **out, struct err *e)
{
	char *doc = NULL;
	size_t len = 0;
	int rc = store_entity_get(q->a->d.store, q->ns, "actions", full, &doc, &len, e);

	if (rc < 0)
		return rc;
	rc = json_parse(doc, len, out, e);
	free(doc);
	return rc;
}

/* Action code travels to invokers as a file under state_dir/code, one per
 * action revision, named by a hash of namespace/name@updated: written on
 * the first invocation of that revision, read by an invoker only when it
 * initialises a container. */
static void code_path(const struct api *a, const char *ns, const char *full, uint64_t updated,
		      char *buf, size_t size)
{
	uint64_t h = 1469598103934665603ull;
	char key[ROUTE_NAME_MAX * 3 + 32];

	snprintf(key, sizeof(key), "%s/%s@%llu", ns, full, (unsigned long long)updated);
	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	snprintf(buf, size, "%s/code/%016llx.code", a->d.cfg->state_dir, (unsigned long long)h);
}

static int code_file_write(const char *path, const char *code, struct err *e)
{
	static _Atomic unsigned counter;
	char tmp[CFG_PATH_MAX + 96];
	size_t len = strlen(code), off = 0;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.%d.%u.tmp", path, (int)getpid(), atomic_fetch_add(&counter, 1));
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return err_set(e, -errno, "write action code %s: %s", tmp, strerror(errno));
	while (off < len) {
		ssize_t n = write(fd, code + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int rc = n < 0 ? -errno : -EIO;

			close(fd);
			unlink(tmp);
			return err_set(e, rc, "write action code: %s", strerror(-rc));
		}
		off += (size_t)n;
	}
	/* Visible under its final name only when complete. */
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		int rc = -errno;

		unlink(tmp);
		return err_set(e, rc, "write action code %s: %s", path, strerror(-rc));
	}
	return 0;
}

static void code_file_remove(const struct api *a, const char *ns, const char *full,
			     const cJSON *doc)
{
	uint64_t updated = 0;
	char path[CFG_PATH_MAX + 64];

	if (!doc || json_get_u64(doc, "updated", &updated) < 0)
		return;
	code_path(a, ns, full, updated, path, sizeof(path));
	unlink(path);
}

struct list_ctx {
	cJSON *arr;
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
	if (l->activations == 2) {
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

	*out = NULL;
	if (q->body_len == 0)
		return 0;
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
	if (overwrite) {
		rc = load_action(q, full, &old, &e);
		if (rc < 0 && rc != -ENOENT)
			return respond_err(q, rc, &e);
		err_clear(&e);
	}
	rc = entity_action_build(q->a->d.cfg, docns, q->r.name, body, old, now_ms(), &doc, &e);
	if (rc < 0)
		return respond_err(q, rc, &e);
	text = json_print(doc, &len);
	if (!text)
		return respond_error(q, 500, "out of memory");
	rc = store_entity_put(q->a->d.store, q->ns, "actions", full, text, len, now_ms(),
			      overwrite, &e);
	json_free(text);
	if (rc == 0)
		code_file_remove(q->a, q->ns, full, old);
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

static bool any_invoker_up(const struct api *a)
{
	for (uint32_t i = 0; i < queue_invoker_count(a->d.queue); i++)
		if (queue_invoker_pid(a->d.queue, i))
			return true;
	return false;
}

static bool annotation_true(const cJSON *doc, const char *key)
{
	const cJSON *a;

	cJSON_ArrayForEach(a, json_get_array(doc, "annotations")) {
		const char *k = json_get_string(a, "key");

		if (k && strcmp(k, key) == 0)
			return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "value"));
	}
	return false;
}

static void handle_invoke(struct req *q, const char *full, const char *docns)
{
	struct api *a = q->a;
	const struct cfg *c = a->d.cfg;
	_cleanup_json_ cJSON *body = NULL, *action = NULL, *params = NULL, *init_env = NULL,
			     *meta = NULL;
	const cJSON *exec, *limits;
	struct dispatch_request dr = { 0 };
	struct waiter *w = NULL;
	struct err e = { 0 };
	bool blocking, result_only;
	uint64_t wait_ms, timeout = 60000, memory = 256, logs = 10, updated = 0;
	const char *image;
	char id[33], rev[32], msg[160], apikey[160];
	char *ptext = NULL, *mtext = NULL;
	size_t plen = 0, len = 0;
	int rc;

	/* Throttles first, as OpenWhisk's entitlement check does. */
	rc = throttle_rate_admit(a->d.throttle, q->ns, now_ms(), &e);
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
	rc = load_action(q, full, &action, &e);
	if (rc == -ENOENT)
		return respond_not_found(q);
	if (rc < 0)
		return respond_err(q, rc, &e);
	rc = entity_invoke_params(action, body, &params, &init_env, &e);
	if (rc < 0)
		return respond_err(q, rc, &e);
	exec = json_get_object(action, "exec");
	limits = json_get_object(action, "limits");
	image = entity_action_image(c, action);
	if (!image) {
		snprintf(msg, sizeof(msg), "The action's runtime '%s' is not configured on this platform.",
			 json_get_string(exec, "kind") ? json_get_string(exec, "kind") : "?");
		return respond_error(q, 400, msg);
	}
	if (!any_invoker_up(a))
		return respond_error(q, 503, "No invoker is available to run the action.");
	(void)json_get_u64(limits, "timeout", &timeout);
	(void)json_get_u64(limits, "memory", &memory);
	(void)json_get_u64(limits, "logs", &logs);
	(void)json_get_u64(action, "updated", &updated);
	snprintf(rev, sizeof(rev), "%llu", (unsigned long long)updated);
	entity_activation_id(id);

	meta = cJSON_CreateObject();
	{
		cJSON *act = cJSON_AddObjectToObject(meta, "action"), *lim;

		cJSON_AddStringToObject(meta, "activationId", id);
		cJSON_AddStringToObject(meta, "transactionId", id);
		cJSON_AddStringToObject(meta, "namespace", q->ns);
		cJSON_AddStringToObject(act, "path", docns);
		cJSON_AddStringToObject(act, "name", q->r.name);
		cJSON_AddStringToObject(act, "version", json_get_string(action, "version")
							       ? json_get_string(action, "version") : "0.0.1");
		cJSON_AddStringToObject(act, "rev", rev);
		cJSON_AddStringToObject(act, "kind", json_get_string(exec, "kind"));
		cJSON_AddStringToObject(act, "image", image);
		if (json_get_string(exec, "main"))
			cJSON_AddStringToObject(act, "main", json_get_string(exec, "main"));
		cJSON_AddBoolToObject(act, "binary", json_get_bool(exec, "binary", false));
		if (json_get_string(exec, "code")) {
			char path[CFG_PATH_MAX + 64];

			code_path(a, q->ns, full, updated, path, sizeof(path));
			if (access(path, R_OK) != 0 &&
			    (rc = code_file_write(path, json_get_string(exec, "code"), &e)) < 0)
				return respond_err(q, rc == -ENOSPC ? -ENOSPC : -EIO, &e);
			cJSON_AddStringToObject(act, "codeFile", path);
		}
		if (init_env && cJSON_GetArraySize(init_env) > 0) {
			cJSON_AddItemToObject(act, "env", init_env);
			init_env = NULL;
		}
		lim = cJSON_AddObjectToObject(act, "limits");
		cJSON_AddNumberToObject(lim, "timeout", (double)timeout);
		cJSON_AddNumberToObject(lim, "memory", (double)memory);
		cJSON_AddNumberToObject(lim, "logs", (double)logs);
		if (annotation_true(action, "provide-api-key")) {
			snprintf(apikey, sizeof(apikey), "%s:%s", c->keys[q->key].uuid, c->keys[q->key].key);
			cJSON_AddStringToObject(meta, "apiKey", apikey);
		}
		cJSON_AddNumberToObject(meta, "arrival", (double)now_ms());
	}
	ptext = json_print(params, &plen);
	mtext = ptext ? json_print(meta, &len) : NULL;
	if (!mtext) {
		json_free(ptext);
		return respond_error(q, 500, "out of memory");
	}
	dr.meta = mtext;
	dr.meta_len = len;
	dr.value = ptext;
	dr.value_len = plen;
	dr.activation_id = id;
	dr.home = dispatch_home(docns, q->r.name);
	dr.info.activation_id = id;
	dr.info.ns = q->ns;
	dr.info.path = docns;
	dr.info.name = q->r.name;
	dr.info.version = json_get_string(action, "version");
	dr.info.kind = json_get_string(exec, "kind");
	dr.info.timeout_ms = timeout;
	dr.info.memory_mb = memory;
	dr.info.logs_mb = logs;
	dr.info.concurrency = 1;
	dr.throttle = a->d.throttle;
	if (blocking) {
		w = calloc(1, sizeof(*w));
		if (!w) {
			json_free(mtext);
			json_free(ptext);
			return respond_error(q, 500, "out of memory");
		}
		w->aio = q->aio;
		w->result_only = result_only;
		snprintf(w->id, sizeof(w->id), "%s", id);
		dr.wait_ms = (uint32_t)wait_ms;
		dr.done = waiter_done;
		dr.arg = w;
	}
	rc = dispatch_submit(a->d.dispatch, &dr, &e);
	json_free(mtext);
	json_free(ptext);
	if (rc < 0) {
		free(w);
		return respond_err(q, rc, &e);
	}
	if (!blocking) {
		_cleanup_json_ cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "activationId", id);
		respond_json(q->aio, 202, j, id);
	}
	/* Blocking: the completion thread finishes the aio via waiter_done. */
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
	/* Packages are not implemented yet: nothing can live in one. */
	if (q->r.package[0])
		return respond_not_found(q);
	if (is(q, "PUT"))
		return handle_action_put(q, full, docns);
	if (is(q, "POST"))
		return handle_invoke(q, full, docns);
	if (is(q, "GET")) {
		bool code;

		if (route_query_bool(q->uri, "code", true, &code) < 0)
			return respond_error(q, 400, "The value of code must be true or false.");
		rc = load_action(q, full, &doc, &e);
		if (rc == -ENOENT)
			return respond_not_found(q);
		if (rc < 0)
			return respond_err(q, rc, &e);
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
			code_file_remove(q->a, q->ns, full, doc);
		respond_raw(q->aio, 200, "application/json", text, len, NULL, false);
		free(text);
		return;
	}
	respond_method(q, "GET, PUT, POST, DELETE");
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
		return respond_raw(aio, 200, "text/plain", "pong", 4, NULL, false);
	case ROUTE_HEALTH:
		return handle_health(&q);
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
	case ROUTE_ACTIVATION:
	case ROUTE_ACTIVATION_RESULT:
	case ROUTE_ACTIVATION_LOGS:
		return handle_activation(&q);
	default:
		return respond_not_found(&q);
	}
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
	free(a);
}
