/* SPDX-License-Identifier: Apache-2.0 */
/* The REST API's nng adapter (see api.h): one tree handler on "/" takes
 * every method, parses and routes the request (route.c), authenticates
 * it, and hands a struct rest_req to the handler of its resource family
 * (rest_*.c, nng-free). Handlers answer through rest_reply, which lands
 * in reply_send here: the one place that writes nng responses. */
#include "controller/api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "controller/rest.h"

#define MAX_BODY (64u * 1024 * 1024) /* nng refuses larger bodies itself */

struct api {
	struct rest_env env;
	nng_http_server *srv;
	nng_http_handler *h;
	char build[32];
};

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
	nng_aio *aio = ctx;
	nng_http_res *res = NULL;
	bool body;

	if (!r || nng_http_res_alloc(&res) != 0) {
		nng_aio_finish(aio, NNG_ENOMEM);
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
	body = r->body_len && !r->head;
	/* nng sets Content-Length only with data; an empty body needs it too
	 * or the client waits for more. */
	if (!body)
		nng_http_res_set_header(res, "Content-Length", "0");
	if (body && nng_http_res_copy_data(res, r->body, r->body_len) != 0) {
		nng_http_res_free(res);
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

static const char *req_header(void *ctx, const char *name)
{
	return nng_http_req_get_header(ctx, name);
}

/* Resolve the caller and the addressed namespace; answers the request and
 * returns false when it must stop here. */
static bool authorize(struct rest_req *q)
{
	const struct cfg *c = q->env->cfg;
	int k = route_auth(c, q->header(q->header_ctx, "Authorization"));

	if (k < 0) {
		rest_unauthorized(q, k);
		return false;
	}
	q->key = k;
	q->ns = c->keys[k].namespace;
	if (q->r.kind != ROUTE_NAMESPACES && strcmp(q->r.ns, "_") != 0 && strcmp(q->r.ns, q->ns) != 0) {
		char msg[NAME_SIZE * 3 + 96];

		snprintf(msg, sizeof(msg),
			 "The supplied authentication is not authorized to access '%s%s%s%s%s'.", q->r.ns,
			 q->r.package[0] ? "/" : "", q->r.package, q->r.name[0] ? "/" : "", q->r.name);
		rest_reply_error(q, 403, msg);
		return false;
	}
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

static void handle(nng_aio *aio)
{
	nng_http_req *http = nng_aio_get_input(aio, 0);
	nng_http_handler *h = nng_aio_get_input(aio, 1);
	struct api *a = nng_http_handler_get_data(h);
	struct rest_req q = {
		.env = &a->env,
		.key = -1,
		.header = req_header,
		.header_ctx = http,
		.reply = { reply_send, aio },
	};
	struct err e = { 0 };
	void *body = NULL;
	int rc;

	q.method = nng_http_req_get_method(http);
	q.uri = nng_http_req_get_uri(http);
	nng_http_req_get_data(http, &body, &q.body_len);
	q.body = body;
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
	free(a);
}
