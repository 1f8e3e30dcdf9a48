/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP routes (see rest.h, gateway.h): the route management web actions
 * /whisk.system/apimgmt/{createApi,getApi,deleteApi} as `wsk api` and the
 * openwhisk client call them, and /api/<tenant>/<path> served by running
 * the route's web action as /api/v1/web would. */
#include "controller/rest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "controller/gateway.h"

/* How clients reach this controller: its Host header, else the address it
 * listens on. */
static void host_url(const struct rest_req *q, char *buf, size_t size)
{
	const char *host = q->header ? q->header(q->header_ctx, "Host") : NULL;
	bool plain = host && host[0] && strlen(host) < 256;

	for (const char *c = host; plain && *c; c++)
		plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			(*c >= '0' && *c <= '9') || strchr(".-:[]", *c);
	if (plain)
		snprintf(buf, size, "http://%s", host);
	else
		snprintf(buf, size, "http://%s:%u", q->env->cfg->api.address, q->env->cfg->api.port);
}

/* Query parameter key, NULL when absent or empty; false when malformed
 * (answered 400). */
static bool query(const struct rest_req *q, const char *key, char *buf, size_t size,
		  const char **out)
{
	int rc = route_query_get(q->uri, key, buf, size);

	*out = rc == 0 && buf[0] ? buf : NULL;
	if (rc == 0 || rc == -ENOENT)
		return true;
	rest_reply_error(q, 400, rc == -ENAMETOOLONG ? "A query parameter is too long."
						     : "malformed query");
	return false;
}

static void create_api(struct rest_req *q, const char *caller, const char *url)
{
	_cleanup_json_ cJSON *body = NULL, *out = NULL;
	char rt[16];
	const char *responsetype;
	struct err e = { 0 };
	int rc;

	if (!rest_is(q, "POST") && !rest_is(q, "PUT"))
		return rest_reply_method(q, "POST");
	if (q->body_len > GATEWAY_DOC_MAX)
		return rest_reply_error(q, 413, "The API document is larger than 262144 bytes.");
	if (!query(q, "responsetype", rt, sizeof(rt), &responsetype) ||
	    rest_body_object(q, &body) < 0)
		return;
	if (!body)
		return rest_reply_error(q, 400, "apidoc is required.");
	rc = gateway_create(q->env->store, q->env->invoke, caller, body, responsetype, url, &out, &e);
	if (rc < 0)
		return rest_reply_err(q, rc, &e);
	rest_reply_json(&q->reply, 200, out, NULL);
}

static void get_api(struct rest_req *q, const char *caller, const char *url)
{
	char bp[GATEWAY_PATH_MAX], name[GATEWAY_PATH_MAX], rel[GATEWAY_PATH_MAX], op[16];
	struct gateway_query qry = { 0 };
	_cleanup_json_ cJSON *out = NULL;
	struct err e = { 0 };
	const char *apiname;
	int rc;

	if (!rest_is(q, "GET"))
		return rest_reply_method(q, "GET");
	if (!query(q, "basepath", bp, sizeof(bp), &qry.basepath) ||
	    !query(q, "apiname", name, sizeof(name), &apiname) ||
	    !query(q, "relpath", rel, sizeof(rel), &qry.relpath) ||
	    !query(q, "operation", op, sizeof(op), &qry.operation))
		return;
	if (!qry.basepath)
		qry.basepath = apiname;
	if (route_query_u64(q->uri, "limit", 0, 0, 1000000, &qry.limit) < 0 ||
	    route_query_u64(q->uri, "skip", 0, 0, UINT64_MAX >> 1, &qry.skip) < 0)
		return rest_reply_error(q, 400, "limit and skip must be non-negative integers.");
	rc = gateway_get(q->env->store, caller, &qry, url, &out, &e);
	if (rc < 0)
		return rest_reply_err(q, rc, &e);
	rest_reply_json(&q->reply, 200, out, NULL);
}

static void delete_api(struct rest_req *q, const char *caller)
{
	char bp[GATEWAY_PATH_MAX], rel[GATEWAY_PATH_MAX], op[16];
	const char *basepath, *relpath, *operation;
	_cleanup_json_ cJSON *empty = cJSON_CreateObject();
	struct err e = { 0 };
	int rc;

	if (!rest_is(q, "DELETE"))
		return rest_reply_method(q, "DELETE");
	if (!query(q, "basepath", bp, sizeof(bp), &basepath) ||
	    !query(q, "relpath", rel, sizeof(rel), &relpath) ||
	    !query(q, "operation", op, sizeof(op), &operation))
		return;
	rc = gateway_delete(q->env->store, caller, basepath, relpath, operation, &e);
	if (rc < 0)
		return rest_reply_err(q, rc, &e);
	rest_reply_json(&q->reply, 200, empty, NULL);
}

void rest_apimgmt(struct rest_req *q)
{
	const struct cfg *c = q->env->cfg;
	int k = route_auth(c, q->header ? q->header(q->header_ctx, "Authorization") : NULL);
	char url[300];

	if (k < 0)
		return rest_unauthorized(q, k);
	host_url(q, url, sizeof(url));
	if (strcmp(q->r.name, "createApi") == 0)
		return create_api(q, c->keys[k].namespace, url);
	if (strcmp(q->r.name, "getApi") == 0)
		return get_api(q, c->keys[k].namespace, url);
	if (strcmp(q->r.name, "deleteApi") == 0)
		return delete_api(q, c->keys[k].namespace);
	rest_reply_not_found(q);
}

void rest_gateway(struct rest_req *q)
{
	struct gateway_target t;
	struct err e = { 0 };
	int rc = gateway_match(q->env->store, q->r.ns, q->method, q->r.web_path, q->r.web_path_len,
			       &t, &e);

	if (rc == -ENOENT)
		rest_reply_not_found(q);
	else if (rc == -EPERM)
		rest_reply_method(q, t.allow);
	else if (rc < 0)
		rest_reply_err(q, rc, &e);
	else
		rest_web_run(q, &(struct rest_web_call){ .ns = t.ns, .pkg = t.pkg, .name = t.name,
							  .ext = t.ext, .path = t.rest,
							  .params = t.params,
							  .secure_key = t.secure_key });
	gateway_target_fini(&t);
}
