/* SPDX-License-Identifier: Apache-2.0 */
/* The REST API's handlers behind an nng-free request/response interface:
 * api.c (the nng adapter) parses, routes and authenticates a request into
 * a struct rest_req and calls the handler of its resource family; the
 * handler answers once through req->reply, now or later from another
 * thread (blocking invocations). So a handler runs in a unit test with a
 * reply that records what it was given, no socket.
 *
 * One file per resource family: rest_system.c (info, ping, health,
 * namespaces, limits), rest_actions.c (actions and invocation),
 * rest_triggers.c, rest_rules.c, rest_packages.c, rest_activations.c,
 * rest_web.c; rest.c holds what they share: the errno -> status table,
 * reason phrases, error bodies, body and list helpers. Handlers validate
 * HTTP-level input (methods, queries, bodies) and call the domain modules
 * (invoke, events, packages, store) for the rest. */
#ifndef EW_REST_H
#define EW_REST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cfg.h"
#include "common/err.h"
#include "common/json.h"
#include "common/queue.h"
#include "controller/dispatch.h"
#include "controller/events.h"
#include "controller/invoke.h"
#include "controller/route.h"
#include "controller/store.h"
#include "controller/sup.h"
#include "controller/throttle.h"

/* What handlers work with; borrowed, outlives every request. */
struct rest_env {
	const struct cfg *cfg;
	struct store *store;
	struct dispatch *dispatch;
	struct queue *queue;
	struct sup *sup;             /* may be NULL (no supervised invokers) */
	struct invoke *invoke;
	struct throttle *throttle;   /* may be NULL (no limits) */
	struct events *events;
	const char *build;           /* GET /api/v1 "build" */
};

struct rest_header {
	const char *name;
	const char *value;
};

/* One response. Every pointer is borrowed for the send call only. */
struct rest_response {
	uint16_t status;
	const char *content_type;           /* NULL = no Content-Type */
	const char *body;
	size_t body_len;
	const char *activation_id;          /* x-openwhisk-activation-id, or NULL */
	bool auth_challenge;                /* WWW-Authenticate: Basic */
	bool head;                          /* HEAD: headers only */
	const struct rest_header *headers;  /* extra headers (web actions) */
	size_t header_count;
};

/* Where a request's one answer goes. send(ctx, NULL) means no response
 * could be built (out of memory): the adapter drops the connection. Called
 * exactly once per request; a copy may be kept to answer later. */
struct rest_reply {
	void (*send)(void *ctx, const struct rest_response *r);
	void *ctx;
};

struct rest_req {
	const struct rest_env *env;
	const char *method;
	const char *uri;
	const char *body;                   /* not NUL-terminated */
	size_t body_len;
	struct route r;
	const char *ns;                     /* the addressed namespace (after auth; "_" resolved) */
	const char *caller;                 /* the caller's namespace (after auth) */
	bool shared;                        /* ns is another's, granted as shared (access.h) */
	int key;                            /* the caller's key index, -1 = none */
	/* A request header's value, or NULL. */
	const char *(*header)(void *ctx, const char *name);
	void *header_ctx;
	struct rest_reply reply;
};

/* --- the handlers, one per route kind family --- */

void rest_info(struct rest_req *q);        /* ROUTE_ROOT, ROUTE_API_INFO */
void rest_ping(struct rest_req *q);
void rest_health(struct rest_req *q);
void rest_namespaces(struct rest_req *q);
void rest_limits(struct rest_req *q);
void rest_actions_list(struct rest_req *q);
void rest_action(struct rest_req *q);
void rest_triggers_list(struct rest_req *q);
void rest_trigger(struct rest_req *q);
void rest_rules_list(struct rest_req *q);
void rest_rule(struct rest_req *q);
void rest_packages_list(struct rest_req *q);
void rest_package(struct rest_req *q);
void rest_activations_list(struct rest_req *q);
void rest_activation(struct rest_req *q);  /* record, result, logs */
void rest_web(struct rest_req *q);         /* no caller key: answers 401 itself */
void rest_gateway(struct rest_req *q);     /* ROUTE_GATEWAY: an API route (gateway.h), open */
/* /whisk.system/apimgmt (and routemgmt) createApi, getApi, deleteApi:
 * route management served in-process, the caller known by its Basic key
 * (401 without one). Reached through rest_web. */
void rest_apimgmt(struct rest_req *q);

/* Answer a request whose credentials failed route_auth (k = its -ENOENT
 * or -EACCES) with OpenWhisk's 401 and the Basic challenge. */
void rest_unauthorized(struct rest_req *q, int k);

/* --- shared by the handler files --- */

/* A web action to run for a request (rest_web, rest_gateway). */
struct rest_web_call {
	const char *ns, *pkg, *name;  /* pkg "" = default */
	const char *ext;              /* "http" "json" ... */
	const char *path;             /* __ow_path */
	const cJSON *params;          /* lowest arguments (a route's path parameters), or NULL */
	const char *secure_key;       /* stands for X-Require-Whisk-Auth, or NULL */
};
/* Resolve it (404 unless web-exported), authorize, start it, and answer
 * from its result when it ends. */
void rest_web_run(struct rest_req *q, const struct rest_web_call *wc);

/* errno -> HTTP status, the one table (400, 401, 403, 404, 409, 413, 429,
 * 503, else 500). */
int rest_status_of(int err);

/* The standard reason phrase of a status ("Bad Gateway"); "Unknown" for
 * one we never send. */
const char *rest_reason(int status);

bool rest_is(const struct rest_req *q, const char *method);

/* Answers. rest_reply_error builds OpenWhisk's {"error","code"} body and
 * logs 5xx answers once; rest_reply_err maps rc through the table with
 * e's message (strerror when empty). */
void rest_reply_raw(const struct rest_reply *rp, uint16_t status, const char *type,
		    const char *body, size_t len, const char *activation_id);
void rest_reply_json(const struct rest_reply *rp, uint16_t status, const cJSON *j,
		     const char *activation_id);
void rest_reply_error(const struct rest_req *q, int status, const char *msg);
void rest_reply_err(const struct rest_req *q, int rc, const struct err *e);
void rest_reply_not_found(const struct rest_req *q);
void rest_reply_method(const struct rest_req *q, const char *allowed);
/* {"activationId": id} with 202 and the id header (non-blocking answers). */
void rest_reply_accepted(const struct rest_reply *rp, const char *id);

/* The request body as a JSON object: *out NULL for an empty body. Answers
 * 400 (invalid UTF-8, malformed JSON, not an object) and returns -EINVAL,
 * or 413 for more values than a tree may take for the body's size
 * (json_parse_bounded) and returns -E2BIG. */
int rest_body_object(const struct rest_req *q, cJSON **out) __attribute__((warn_unused_result));

/* The same checks without a tree (the scanner), for a body that is passed
 * on as bytes (invoke arguments, trigger payloads): 0 when it is empty or
 * one JSON object. */
int rest_body_object_text(const struct rest_req *q) __attribute__((warn_unused_result));

/* Refuse a body over limits.payload_bytes.max with 413; -E2BIG. */
int rest_body_within_limit(const struct rest_req *q) __attribute__((warn_unused_result));

/* ?limit (0..200, 0 = 200, default 30) and ?skip; answers 400 and returns
 * -EINVAL when malformed. `what` names the collection in the message. */
int rest_query_limit(const struct rest_req *q, const char *what, uint64_t *limit,
		     uint64_t *skip) __attribute__((warn_unused_result));

/* A PUT's ?overwrite and body object; answers 400 and returns -EINVAL
 * when either is malformed. */
int rest_put_body(const struct rest_req *q, bool *overwrite, cJSON **body)
	__attribute__((warn_unused_result));

/* GET or DELETE of entity q->r.name of coll, answered with the stored
 * text as it is (404 when missing). */
void rest_entity_get_or_delete(struct rest_req *q, const char *coll);
/* The answer of a store read or delete that gave rc and, on success, the
 * stored text (freed here): 200 with it, 404, or the error. */
void rest_reply_stored(struct rest_req *q, int rc, const struct err *e, char *text, size_t len);

/* GET of a collection of actions, triggers, rules or packages (list or
 * ?count; actions of one package when the route names it). */
void rest_list(struct rest_req *q, const char *coll);

/* List rows: each stored document turned into its list entry. */
struct rest_list_ctx {
	cJSON *arr;
	const char *coll;            /* triggers, rules, packages: entity_summary */
	const char *prefix;          /* package listing: "pkg" */
	int activations;             /* 0 actions, 1 activation summaries, 2 full records */
};
int rest_list_row(void *arg, const char *doc, size_t len);

#endif
