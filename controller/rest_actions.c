/* SPDX-License-Identifier: Apache-2.0 */
/* Actions (spec §2, §3; see rest.h): list, create/update (validated by
 * entity_action_build, sequences checked by invoke), get (through a
 * package: parameters merged), delete, and invocation. A blocking
 * invocation keeps a copy of the reply and answers from the completion
 * thread, so no server thread waits. */
#include "controller/rest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/now.h"
#include "controller/entity.h"

#define BLOCKING_WAIT_MAX_MS 60000

void rest_actions_list(struct rest_req *q)
{
	rest_list(q, "actions");
}

/* "name" or "pkg/name" as stored, and the document namespace. */
static void action_names(const struct rest_req *q, char *full, size_t fsize, char *docns,
			 size_t nsize)
{
	if (q->r.package[0]) {
		snprintf(full, fsize, "%s/%s", q->r.package, q->r.name);
		snprintf(docns, nsize, "%s/%s", q->ns, q->r.package);
	} else {
		snprintf(full, fsize, "%s", q->r.name);
		snprintf(docns, nsize, "%s", q->ns);
	}
}

/* An action inside a package: the package must exist and be no binding. */
static int check_package(const struct rest_req *q, struct err *e)
{
	_cleanup_json_ cJSON *pkg = NULL;
	int rc = store_entity_load(q->env->store, q->ns, "packages", q->r.package, &pkg, e);

	if (rc < 0)
		return store_not_found(rc, e);
	if (entity_package_is_binding(pkg))
		return err_set(e, -EINVAL, "Cannot create or update an action in a package binding.");
	return 0;
}

static void action_put(struct rest_req *q, const char *full, const char *docns)
{
	const struct rest_env *env = q->env;
	_cleanup_json_ cJSON *body = NULL, *old = NULL, *doc = NULL;
	struct err e = { 0 };
	const cJSON *exec;
	bool overwrite;
	int rc;

	if (rest_put_body(q, &overwrite, &body) < 0)
		return;
	if (q->r.package[0] && (rc = check_package(q, &e)) < 0)
		return rest_reply_err(q, rc, &e);
	rc = store_entity_load_old(env->store, q->ns, "actions", full, overwrite, &old, &e);
	if (rc < 0)
		return rest_reply_err(q, rc, &e);
	rc = entity_action_build(env->cfg, docns, q->r.name, body, old, now_epoch_ms(), &doc, &e);
	if (rc < 0)
		return rest_reply_err(q, rc, &e);
	exec = json_get_object(doc, "exec");
	if (strcmp(json_get_string(exec, "kind"), "sequence") == 0) {
		char self[NAME_FQN_SIZE];

		snprintf(self, sizeof(self), "/%s/%s", q->ns, full);
		rc = invoke_check_sequence(env->invoke, q->ns, self, exec, &e);
		if (rc < 0)
			return rest_reply_err(q, rc, &e);
	}
	rc = store_entity_save(env->store, q->ns, "actions", full, doc, now_epoch_ms(), overwrite, &e);
	if (rc < 0)
		return rest_reply_err(q, rc, &e);
	invoke_code_forget(env->invoke, q->ns, full, old);
	rest_reply_json(&q->reply, 200, doc, NULL);
}

/* A blocking invocation waiting for its record. */
struct waiter {
	struct rest_reply reply;
	bool result_only;
	char id[33];
};

/* Answer with the record's text or its result's bytes as stored: nothing
 * is parsed or printed again on the way out. */
static void waiter_done(void *arg, const struct dispatch_outcome *o)
{
	struct waiter *w = arg;
	uint16_t status;

	if (!o) {
		rest_reply_accepted(&w->reply, w->id);
		free(w);
		return;
	}
	status = o->status_code == 0 ? 200 : o->status_code == 3 ? 500 : 502;
	/* A bare array result is returned as such (spec §3). The stored
	 * result is compact: its first byte says what it is. */
	if (w->result_only || (o->result_len && o->result[0] == '['))
		rest_reply_raw(&w->reply, status, "application/json", o->result, o->result_len, w->id);
	else
		rest_reply_raw(&w->reply, status, "application/json", o->record, o->record_len, w->id);
	free(w);
}

static void action_invoke(struct rest_req *q)
{
	const struct rest_env *env = q->env;
	/* A shared action runs for, and is counted to, its caller (the
	 * record's namespace and subject are the caller's), as upstream. */
	struct invoke_call call = { .caller_ns = q->caller, .key = q->key };
	struct waiter *w = NULL;
	struct err e = { 0 };
	bool blocking, result_only;
	uint64_t wait_ms;
	int rc;

	/* Throttles first, as OpenWhisk's entitlement check does. */
	rc = throttle_rate_admit(env->throttle, q->caller, now_epoch_ms(), &e);
	if (rc < 0)
		return rest_reply_err(q, rc, &e);
	if (route_query_bool(q->uri, "blocking", false, &blocking) < 0 ||
	    route_query_bool(q->uri, "result", false, &result_only) < 0)
		return rest_reply_error(q, 400,
					"The values of blocking and result must be true or false.");
	if (route_query_u64(q->uri, "timeout", BLOCKING_WAIT_MAX_MS, 1, BLOCKING_WAIT_MAX_MS,
			    &wait_ms) < 0)
		return rest_reply_error(q, 400, "Timeout must be number of milliseconds up to 60000.");
	if (rest_body_within_limit(q) < 0 || rest_body_object_text(q) < 0)
		return;
	call.args = q->body;
	call.args_len = q->body_len;
	entity_activation_id(call.id);
	if (blocking) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return rest_reply_error(q, 500, "out of memory");
		w->reply = q->reply;
		w->result_only = result_only;
		snprintf(w->id, sizeof(w->id), "%s", call.id);
		call.wait_ms = (uint32_t)wait_ms;
		call.done = waiter_done;
		call.arg = w;
	}
	rc = invoke_action(env->invoke, q->caller, q->ns, q->r.package, q->r.name, &call, &e);
	if (rc < 0) {
		free(w);
		return rest_reply_err(q, rc, &e);
	}
	/* Blocking: waiter_done answers from the completion side. */
	if (!blocking)
		rest_reply_accepted(&q->reply, call.id);
}

static void action_get(struct rest_req *q)
{
	_cleanup_json_ cJSON *lean = NULL;
	struct invoke_target t = { 0 };
	struct err e = { 0 };
	bool code;
	int rc;

	if (route_query_bool(q->uri, "code", true, &code) < 0)
		return rest_reply_error(q, 400, "The value of code must be true or false.");
	/* Through a package: its parameters shown merged, as upstream. */
	rc = invoke_resolve(q->env->invoke, q->caller, q->ns, q->r.package, q->r.name, &t, &e);
	if (rc < 0)
		return rest_reply_err(q, rc, &e);
	lean = code ? NULL : entity_action_without_code(t.action);
	rest_reply_json(&q->reply, 200, lean ? lean : t.action, NULL);
	invoke_target_fini(&t);
}

static void action_delete(struct rest_req *q, const char *full)
{
	_cleanup_json_ cJSON *doc = NULL;
	struct err e = { 0 };
	char *text = NULL;
	size_t len = 0;
	int rc = store_entity_delete(q->env->store, q->ns, "actions", full, &text, &len, &e);

	if (rc == -ENOENT)
		return rest_reply_not_found(q);
	if (rc < 0)
		return rest_reply_err(q, rc, &e);
	if (json_parse(text, len, &doc, NULL) == 0)
		invoke_code_forget(q->env->invoke, q->ns, full, doc);
	rest_reply_raw(&q->reply, 200, "application/json", text, len, NULL);
	free(text);
}

void rest_action(struct rest_req *q)
{
	char full[NAME_SIZE * 2 + 2], docns[NAME_SIZE * 2 + 2];

	action_names(q, full, sizeof(full), docns, sizeof(docns));
	if (rest_is(q, "PUT"))
		return action_put(q, full, docns);
	if (rest_is(q, "POST"))
		return action_invoke(q);
	if (rest_is(q, "GET"))
		return action_get(q);
	if (rest_is(q, "DELETE"))
		return action_delete(q, full);
	rest_reply_method(q, "GET, PUT, POST, DELETE");
}
