/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP routes to web actions, as OpenWhisk's API gateway and its route
 * management (`wsk api`, the openwhisk client's routes, the Serverless
 * Framework's http events) have them, served by edgewhisk itself.
 *
 * An API is one base path of one namespace, kept as a Swagger 2.0
 * document: paths[relpath][verb] = {operationId, "x-openwhisk": {url,
 * namespace, package, action}, responses}. It is stored in the store
 * (collection "apis", named by its base path) and served at
 * /api/<namespace>/<basePath>/<relPath>: the namespace is the gateway's
 * tenant. A relpath segment "{name}" matches any one segment and becomes
 * the parameter `name`. Only web actions are targets. The caller is always
 * the namespace of its key, never the document's: a key sees, changes and
 * deletes only its own APIs. nng-free; errors are a negative errno with
 * the message route management gives (-EINVAL 400, -ENOENT 404, -E2BIG
 * 413). */
#ifndef EW_GATEWAY_H
#define EW_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "common/json.h"
#include "controller/invoke.h"
#include "controller/name.h"
#include "controller/store.h"

#define GATEWAY_DOC_MAX (256u * 1024)  /* printed API document, bytes */
#define GATEWAY_PATH_MAX 2048

/* createApi: body {"apidoc": {...}} (an object, or JSON text). Either an
 * endpoint (namespace, gatewayBasePath, gatewayPath, gatewayMethod,
 * action {name, namespace, backendMethod, backendUrl, authkey[,
 * secureKey]}, optional apiName, id, pathParameters), added to the API of
 * that base path (made when missing), or a whole "swagger" document that
 * replaces it. responsetype: json (NULL = json), http, html, svg, text.
 * host_url: "http://host:port" as clients reach this controller (for
 * gwApiUrl and the x-openwhisk urls). The authkey is never stored.
 * *out: {"id", "key", "value": {"namespace", "gwApiActivated": true,
 * "tenantId", "gwApiUrl", "apidoc"}}. */
int gateway_create(struct store *s, struct invoke *iv, const char *caller, const cJSON *body,
		   const char *responsetype, const char *host_url, cJSON **out, struct err *e)
	__attribute__((warn_unused_result));

struct gateway_query {
	const char *basepath;    /* "/..." a base path, else an API name; NULL = all */
	const char *relpath;     /* NULL = any */
	const char *operation;   /* any case; NULL = any */
	uint64_t limit, skip;    /* limit 0 = no limit */
};

/* getApi: {"apis": [ the createApi shape, ... ]} of the caller's APIs that
 * match the query (an API with the relpath / operation, when given). */
int gateway_get(struct store *s, const char *caller, const struct gateway_query *qry,
		const char *host_url, cJSON **out, struct err *e) __attribute__((warn_unused_result));

/* deleteApi: the whole API of basepath (a base path or an API name), or
 * one relpath of it, or one operation of that relpath; an API left with no
 * path goes. -EINVAL when basepath is missing; -ENOENT when the API, path
 * or operation does not exist. */
int gateway_delete(struct store *s, const char *caller, const char *basepath, const char *relpath,
		   const char *operation, struct err *e) __attribute__((warn_unused_result));

/* What a request to /api/<tenant><path> runs. */
struct gateway_target {
	char ns[NAME_SIZE];
	char pkg[NAME_SIZE];          /* "" = default package */
	char name[NAME_SIZE];
	char ext[8];                  /* the response type */
	char rest[GATEWAY_PATH_MAX];  /* __ow_path: the path after the base path */
	char secure_key[128];         /* X-Require-Whisk-Auth the gateway adds, "" = none */
	cJSON *params;                /* path parameters {"name": "value"}, owned */
	char allow[64];               /* -EPERM: the verbs the path has ("GET, POST") */
};
void gateway_target_fini(struct gateway_target *t);

/* Match method + path (raw, "/..." after the tenant) against the tenant
 * namespace's APIs: the longest base path that is a segment prefix, then
 * the relpath template with the fewest parameters. -ENOENT when nothing
 * matches, -EPERM when the path matches but not the method (t->allow
 * says which do), -EINVAL for a bad %-escape. */
int gateway_match(struct store *s, const char *tenant, const char *method, const char *path,
		  size_t path_len, struct gateway_target *t, struct err *e)
	__attribute__((warn_unused_result));

#endif
