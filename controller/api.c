/* SPDX-License-Identifier: Apache-2.0 */
/* The REST API's nng adapter (see api.h): one tree handler on "/" takes
 * every method, parses and routes the request (route.c), authenticates
 * it, and hands a struct rest_req to the handler of its resource family
 * (rest_*.c, nng-free). Handlers answer through rest_reply, which lands
 * in reply_send here: the one place that writes nng responses. */
#include "controller/api.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "common/mem.h"
#include "controller/access.h"
#include "controller/rest.h"

#define MAX_BODY (64u * 1024 * 1024) /* larger bodies are refused unread */

struct api {
	struct rest_env env;
	nng_http_server *srv;
	nng_http_handler *h;
	_Atomic uint64_t inflight;    /* body bytes of the requests being handled */
	char build[32];
};

/* One request: its body (read here, not by nng, so the in-flight budget
 * is checked before a byte of it is allocated) and its reply. Two
 * references: the handler's and the reply's, which may come first from
 * another thread. */
struct call {
	struct api *a;
	nng_aio *aio;                 /* the server's; finished by reply_send */
	nng_http_req *req;
	nng_aio *rx;                  /* reading the body */
	char *body;
	size_t len;
	uint64_t reserved;            /* of a->inflight */
	bool close;                   /* the body was left unread */
	_Atomic int refs;
};

/* Set while body_read runs: there, c->rx may only be reaped (freeing an
 * aio waits for its callback to return). Elsewhere (the reply of a
 * blocking call, sent from the completion thread) it is freed at once,
 * which spares a wake-up of nng's reaper thread per request. */
static _Thread_local const struct call *in_rx_callback;

static void call_drop(struct call *c, int refs)
{
	if (atomic_fetch_sub(&c->refs, refs) != refs)
		return;
	if (c->reserved)
		atomic_fetch_sub(&c->a->inflight, c->reserved);
	if (c->rx && in_rx_callback == c)
		nng_aio_reap(c->rx);
	else if (c->rx)
		nng_aio_free(c->rx);
	free(c->body);
	free(c);
}

static void call_unref(struct call *c)
{
	call_drop(c, 1);
}

static void set_cors(nng_http_res *res)
{
	nng_http_res_set_header(res, "Access-Control-Allow-Origin", "*");
	nng_http_res_set_header(res, "Access-Control-Allow-Methods", "GET, DELETE, POST, PUT, HEAD");
	nng_http_res_set_header(res, "Access-Control-Allow-Headers",
				"Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent");
}

/* The one response writer: every answer, now or from the completion
 * thread, is a rest_response turned into an nng response here. nng 1.5
 * names only the statuses it knows ("Unknown HTTP Status" for 413, 502,
 * ...), so the reason phrase is always set from rest_reason. */
static void reply_send(void *ctx, const struct rest_response *r)
{
	struct call *c = ctx;
	nng_aio *aio = c->aio;
	nng_http_res *res = NULL;
	bool body;

	if (!r || nng_http_res_alloc(&res) != 0) {
		nng_aio_finish(aio, NNG_ENOMEM);
		call_unref(c);
		return;
	}
	nng_http_res_set_status(res, r->status);
	nng_http_res_set_reason(res, rest_reason(r->status));
	set_cors(res);
	for (size_t i = 0; i < r->header_count; i++)
		nng_http_res_add_header(res, r->headers[i].name, r->headers[i].value);
	if (r->content_type)
		nng_http_res_set_header(res, "Content-Type", r->content_type);
	if (r->activation_id)
		nng_http_res_set_header(res, "x-openwhisk-activation-id", r->activation_id);
	if (r->auth_challenge)
		nng_http_res_set_header(res, "WWW-Authenticate", "Basic realm=\"OpenWhisk secure realm\"");
	if (c->close)
		nng_http_res_set_header(res, "Connection", "close");
	body = r->body_len && !r->head;
	/* nng sets Content-Length only with data; an empty body needs it too
	 * or the client waits for more. */
	if (!body)
		nng_http_res_set_header(res, "Content-Length", "0");
	if (body && nng_http_res_copy_data(res, r->body, r->body_len) != 0) {
		nng_http_res_free(res);
		nng_aio_finish(aio, NNG_ENOMEM);
		call_unref(c);
		return;
	}
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
	call_unref(c);
	mem_give_back();
}

static const char *req_header(void *ctx, const char *name)
{
	return nng_http_req_get_header(ctx, name);
}

/* Resolve the caller and the addressed namespace, and decide whether the
 * one may touch the other (access.h); answers the request and returns
 * false when it must stop here. */
static bool authorize(struct rest_req *q)
{
	const struct cfg *c = q->env->cfg;
	int k = route_auth(c, q->header(q->header_ctx, "Authorization"));
	struct access a;
	struct err e = { 0 };
	int rc;

	if (k < 0) {
		rest_unauthorized(q, k);
		return false;
	}
	q->key = k;
	q->caller = c->keys[k].namespace;
	rc = access_check(q->env->store, q->caller, &q->r, q->method, &a, &e);
	if (rc < 0) {
		rest_reply_err(q, rc, &e);
		return false;
	}
	q->ns = a.ns;
	q->shared = a.shared;
	return true;
}

typedef void (*rest_handler_fn)(struct rest_req *q);

/* Route kind -> handler; `open` routes need no key. */
static const struct {
	rest_handler_fn fn;
	bool open;
} handlers[] = {
	[ROUTE_ROOT] = { rest_info, true },
	[ROUTE_API_INFO] = { rest_info, true },
	[ROUTE_PING] = { rest_ping, true },
	[ROUTE_HEALTH] = { rest_health, true },
	[ROUTE_WEB] = { rest_web, true },
	[ROUTE_GATEWAY] = { rest_gateway, true },
	[ROUTE_NAMESPACES] = { rest_namespaces, false },
	[ROUTE_LIMITS] = { rest_limits, false },
	[ROUTE_ACTIONS] = { rest_actions_list, false },
	[ROUTE_ACTION] = { rest_action, false },
	[ROUTE_ACTIVATIONS] = { rest_activations_list, false },
	[ROUTE_ACTIVATION] = { rest_activation, false },
	[ROUTE_ACTIVATION_RESULT] = { rest_activation, false },
	[ROUTE_ACTIVATION_LOGS] = { rest_activation, false },
	[ROUTE_TRIGGERS] = { rest_triggers_list, false },
	[ROUTE_TRIGGER] = { rest_trigger, false },
	[ROUTE_RULES] = { rest_rules_list, false },
	[ROUTE_RULE] = { rest_rule, false },
	[ROUTE_PACKAGES] = { rest_packages_list, false },
	[ROUTE_PACKAGE] = { rest_package, false },
};

/* Route and answer a request whose body (if any) is in c. */
static void dispatch_call(struct call *c)
{
	struct rest_req q = {
		.env = &c->a->env,
		.key = -1,
		.header = req_header,
		.header_ctx = c->req,
		.reply = { reply_send, c },
		.body = c->body,
		.body_len = c->len,
	};
	struct err e = { 0 };
	int rc;

	q.method = nng_http_req_get_method(c->req);
	q.uri = nng_http_req_get_uri(c->req);
	if (rest_is(&q, "OPTIONS"))
		return rest_reply_raw(&q.reply, 200, NULL, NULL, 0, NULL);
	rc = route_parse(q.uri, &q.r, &e);
	if (rc < 0)
		return rest_reply_err(&q, rc, &e);
	if ((size_t)q.r.kind >= sizeof(handlers) / sizeof(handlers[0]) || !handlers[q.r.kind].fn)
		return rest_reply_not_found(&q);
	if (!handlers[q.r.kind].open && !authorize(&q))
		return;
	handlers[q.r.kind].fn(&q);
}

static void body_read(void *arg)
{
	struct call *c = arg;
	int rv = nng_aio_result(c->rx);

	in_rx_callback = c;
	if (rv != 0) {
		/* The client went away mid-body: nothing to answer, so the
		 * reply's reference goes with the handler's. */
		nng_aio_finish(c->aio, rv);
		call_drop(c, 2);
	} else {
		dispatch_call(c);
		call_unref(c);
	}
	in_rx_callback = NULL;
}

/* Refuse without reading the body (the connection closes after); the
 * handler is done with c. */
static void refuse_unread(struct call *c, int status, const char *msg)
{
	struct rest_req q = { .env = &c->a->env, .reply = { reply_send, c } };

	q.method = nng_http_req_get_method(c->req);
	q.uri = nng_http_req_get_uri(c->req);
	c->close = true;
	rest_reply_error(&q, status, msg);
	call_unref(c);
}

/* Content-Length: digits only, no sign or space; -1 when malformed. */
static long long content_length(nng_http_req *req)
{
	const char *v = nng_http_req_get_header(req, "Content-Length");
	char *end;
	unsigned long long n;

	if (!v)
		return 0;
	if (*v < '0' || *v > '9')
		return -1;
	n = strtoull(v, &end, 10);
	return *end || n > (unsigned long long)LLONG_MAX ? -1 : (long long)n;
}

static void handle(nng_aio *aio)
{
	nng_http_handler *h = nng_aio_get_input(aio, 1);
	nng_http_conn *conn = nng_aio_get_input(aio, 2);
	struct api *a = nng_http_handler_get_data(h);
	struct call *c = calloc(1, sizeof(*c));
	long long len;
	uint64_t budget = a->env.cfg->api.inflight_body_bytes, before;
	nng_iov iov;

	if (!c) {
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	c->a = a;
	c->aio = aio;
	c->req = nng_aio_get_input(aio, 0);
	atomic_init(&c->refs, 2);
	/* nng does not decode chunked request bodies: the chunks would be
	 * read as the next request. */
	if (nng_http_req_get_header(c->req, "Transfer-Encoding")) {
		refuse_unread(c, 411, "A request body needs a Content-Length (chunked bodies "
				      "are not taken).");
		return;
	}
	len = content_length(c->req);
	if (len < 0) {
		refuse_unread(c, 400, "The request has an invalid Content-Length.");
		return;
	}
	if (len == 0) {
		dispatch_call(c);
		call_unref(c);
		return;
	}
	if ((unsigned long long)len > MAX_BODY) {
		refuse_unread(c, 413, "The request is larger than allowed.");
		return;
	}
	/* The budget: one request always fits, more only within it. */
	before = atomic_fetch_add(&a->inflight, (uint64_t)len);
	c->reserved = (uint64_t)len;
	if (before && before + (uint64_t)len > budget) {
		refuse_unread(c, 503, "Too many large requests at once; retry shortly.");
		return;
	}
	c->len = (size_t)len;
	c->body = malloc(c->len);
	if (!c->body || nng_aio_alloc(&c->rx, body_read, c) != 0) {
		refuse_unread(c, 503, "Out of memory for the request body; retry shortly.");
		return;
	}
	mem_note(c->len);
	iov.iov_buf = c->body;
	iov.iov_len = c->len;
	nng_aio_set_iov(c->rx, 1, &iov);
	nng_http_conn_read_all(conn, c->rx);
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

int api_start(const struct rest_env *env, struct api **out, struct err *e)
{
	struct api *a = calloc(1, sizeof(*a));
	char url[256];
	nng_url *u = NULL;
	int rc;

	if (!a)
		return err_set(e, -ENOMEM, "allocate api");
	snprintf(a->build, sizeof(a->build), "%s", __DATE__);
	a->env = *env;
	a->env.build = a->build;
	snprintf(url, sizeof(url), "http://%s:%u", env->cfg->api.address, env->cfg->api.port);
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
		rc = nng_http_handler_collect_body(a->h, false, 0);
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
	free(a);
}
