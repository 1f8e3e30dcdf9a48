/* SPDX-License-Identifier: Apache-2.0 */
/* Invocations and sequences (see invoke.h). */
#include "controller/invoke.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/now.h"
#include "common/act.h"
#include "common/file.h"
#include "controller/access.h"

#define COMPONENT_GRACE_MS 60000     /* a component may run its timeout + this */
/* A wait that expired but could not be acknowledged (disk full) is tried
 * again this much later. */
#define ACK_RETRY_MS 1000
#define SEQUENCE_DEPTH_MAX 16        /* nesting, far below what 50 actions allow in practice */

struct seq;

/* A finished component (or an expired wait: rec NULL) for the worker. */
struct job {
	struct seq *s;
	char *record;                 /* the component's record text, or NULL */
	size_t record_len;
	struct job *next;
};

struct seq {
	struct invoke *iv;
	char id[33];
	struct entity_activation_info info;
	char ns[NAME_SIZE], path[2 * NAME_SIZE + 2], name[NAME_SIZE];
	char version[40], cause[33];
	int key;
	struct invoke_target *comps;  /* resolved components */
	uint32_t n, next;             /* count, index of the next to start */
	cJSON *ids;                   /* component activation ids so far */
	cJSON *response;              /* the last component's response */
	uint64_t start_ms, duration_ms, wait_ms, expires_ms;
	uint64_t ticket;              /* its acknowledgement line (dispatch_accept), 0 = none */
	bool accept_failed;           /* logged that the line could not be written */
	dispatch_done_fn done;
	void *arg;
	struct seq *prev, *nxt;       /* running list (worker only) */
};

struct invoke {
	const struct cfg *cfg;
	struct store *store;
	struct dispatch *dispatch;
	struct queue *queue;
	struct throttle *throttle;
	pthread_mutex_t lock;         /* jobs and the running list */
	pthread_cond_t cond;          /* a job, an earlier expiry, or the stop */
	uint64_t next_expiry_ms;      /* first waiting sequence's expiry, 0 = none */
	struct job *head, *tail;
	struct seq *running;
	invoke_builtin_fn builtin;
	void *builtin_arg;
	pthread_t thread;
	bool stop;
};

/* --- resolution --- */

void invoke_target_fini(struct invoke_target *t)
{
	if (!t)
		return;
	json_delete(t->action);
	t->action = NULL;
}

static int load_doc(struct invoke *iv, const char *ns, const char *coll, const char *name,
		    cJSON **out, struct err *e)
{
	return store_entity_load(iv->store, ns, coll, name, out, e);
}

int invoke_resolve(struct invoke *iv, const char *caller_ns, const char *ns, const char *pkg,
		   const char *name, struct invoke_target *t, struct err *e)
{
	_cleanup_json_ cJSON *package = NULL, *bound = NULL, *action = NULL;
	const char *real_ns = ns, *real_pkg = pkg;
	int rc;

	memset(t, 0, sizeof(*t));
	if (pkg[0]) {
		rc = load_doc(iv, ns, "packages", pkg, &package, e);
		if (rc < 0)
			return store_not_found(rc, e);
		if (strcmp(ns, caller_ns) != 0 && !json_get_bool(package, "publish", false))
			return err_set(e, -EPERM, "The package /%s/%s is not shared.", ns, pkg);
		if (entity_package_is_binding(package)) {
			const cJSON *b = json_get_object(package, "binding");

			real_ns = json_get_string(b, "namespace");
			real_pkg = json_get_string(b, "name");
			rc = load_doc(iv, real_ns, "packages", real_pkg, &bound, e);
			if (rc < 0)
				return store_not_found(rc, e);
			if (strcmp(real_ns, caller_ns) != 0 && !json_get_bool(bound, "publish", false))
				return err_set(e, -EPERM, "The package /%s/%s is not shared.", real_ns,
					       real_pkg);
		}
	} else if (strcmp(ns, caller_ns) != 0) {
		return store_not_found(-ENOENT, e);
	}
	snprintf(t->full, sizeof(t->full), "%s%s%s", real_pkg, real_pkg[0] ? "/" : "", name);
	rc = load_doc(iv, real_ns, "actions", t->full, &action, e);
	if (rc < 0)
		return store_not_found(rc, e);
	/* action < binding < package */
	if ((bound && entity_params_inherit(action, json_get_array(package, "parameters")) < 0) ||
	    entity_params_inherit(action, json_get_array(bound ? bound : package, "parameters")) < 0)
		return err_set(e, -ENOMEM, "out of memory");
	snprintf(t->store_ns, sizeof(t->store_ns), "%s", real_ns);
	snprintf(t->path, sizeof(t->path), "%s%s%s", real_ns, real_pkg[0] ? "/" : "", real_pkg);
	snprintf(t->name, sizeof(t->name), "%s", name);
	snprintf(t->fqn, sizeof(t->fqn), "/%s/%s%s%s", ns, pkg, pkg[0] ? "/" : "", name);
	t->action = action;
	action = NULL;
	return 0;
}

static bool is_sequence(const cJSON *action)
{
	const char *kind = json_get_string(json_get_object(action, "exec"), "kind");

	return kind && strcmp(kind, "sequence") == 0;
}

static int resolve_fqn(struct invoke *iv, const char *caller_ns, const char *fqn,
		       struct invoke_target *t, struct err *e)
{
	struct name_fqn f;

	if (name_fqn_parse(fqn, caller_ns, &f) < 0)
		return err_set(e, -EINVAL, "Sequence component does not exist.");
	return invoke_resolve(iv, caller_ns, f.ns, f.pkg, f.name, t, e);
}

/* Count atomic actions under a sequence's components, refusing self
 * reference; *count accumulates. */
static int walk_sequence(struct invoke *iv, const char *caller_ns, const char *self_fqn,
			 const cJSON *exec, uint32_t depth, uint32_t *count, struct err *e)
{
	const cJSON *it;

	if (depth > SEQUENCE_DEPTH_MAX)
		return err_set(e, -EINVAL, "Too many actions in the sequence.");
	cJSON_ArrayForEach(it, json_get_array(exec, "components")) {
		struct invoke_target t = { 0 };
		int rc;

		if (!cJSON_IsString(it))
			return err_set(e, -EINVAL, "Sequence component does not exist.");
		if (self_fqn && strcmp(it->valuestring, self_fqn) == 0)
			return err_set(e, -EINVAL, "Sequence may not refer to itself.");
		rc = resolve_fqn(iv, caller_ns, it->valuestring, &t, e);
		if (rc == -ENOENT || rc == -EPERM)
			return err_set(e, -EINVAL, "Sequence component does not exist.");
		if (rc < 0)
			return rc;
		if (is_sequence(t.action))
			rc = walk_sequence(iv, caller_ns, self_fqn, json_get_object(t.action, "exec"),
					   depth + 1, count, e);
		else if (++*count > ENTITY_SEQUENCE_MAX)
			rc = err_set(e, -EINVAL, "Too many actions in the sequence.");
		invoke_target_fini(&t);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int invoke_check_sequence(struct invoke *iv, const char *caller_ns, const char *self_fqn,
			  const cJSON *exec, struct err *e)
{
	uint32_t count = 0;

	return walk_sequence(iv, caller_ns, self_fqn, exec, 0, &count, e);
}

/* --- action code files --- */

/* Action code travels to invokers as a file under state_dir/code, one per
 * action revision, named by a hash of namespace/name@updated: written on
 * the first invocation of that revision, read by an invoker only when it
 * initialises a container. */
static void code_path(const struct invoke *iv, const char *ns, const char *full, uint64_t updated,
		      char *buf, size_t size)
{
	uint64_t h = 1469598103934665603ull;
	char key[NAME_SIZE * 3 + 32];

	snprintf(key, sizeof(key), "%s/%s@%llu", ns, full, (unsigned long long)updated);
	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	snprintf(buf, size, "%s/code/%016llx.code", iv->cfg->state_dir, (unsigned long long)h);
}

static int code_file_write(const char *path, const char *code, struct err *e)
{
	int rc = file_write_atomic(path, code, strlen(code), 0640);

	if (rc < 0)
		return err_set(e, rc, "write action code %s: %s", path, strerror(-rc));
	return 0;
}

void invoke_code_forget(struct invoke *iv, const char *store_ns, const char *full, const cJSON *doc)
{
	uint64_t updated = 0;
	char path[CFG_PATH_MAX + 64];

	if (!doc || json_get_u64(doc, "updated", &updated) < 0)
		return;
	code_path(iv, store_ns, full, updated, path, sizeof(path));
	unlink(path);
}

/* --- atomic actions --- */

static bool any_invoker_up(const struct invoke *iv)
{
	for (uint32_t i = 0; i < queue_invoker_count(iv->queue); i++)
		if (queue_invoker_pid(iv->queue, i))
			return true;
	return false;
}

/* Buffers a request's strings borrow while it is encoded. */
struct request_bufs {
	char rev[32], apikey[160], code_file[CFG_PATH_MAX + 64];
};

/* The act request of an action call (act.h's metadata): ids, the action,
 * its limits, its code as a file written once per revision, init
 * parameters, the API key when the action asks for it. -EIO / -ENOSPC when
 * the code file cannot be written. */
static int request_of(struct invoke *iv, const struct invoke_target *t, const struct invoke_call *c,
		      const cJSON *init_env, struct act_request *req, struct request_bufs *b,
		      struct err *e)
{
	const struct cfg *cfg = iv->cfg;
	const cJSON *action = t->action, *exec = json_get_object(action, "exec"),
		    *limits = json_get_object(action, "limits");
	const char *version = json_get_string(action, "version");
	uint64_t updated = 0;
	int rc;

	req->timeout_ms = 60000;
	req->memory_mb = 256;
	req->logs_mb = 10;
	(void)json_get_u64(limits, "timeout", &req->timeout_ms);
	(void)json_get_u64(limits, "memory", &req->memory_mb);
	(void)json_get_u64(limits, "logs", &req->logs_mb);
	(void)json_get_u64(action, "updated", &updated);
	snprintf(b->rev, sizeof(b->rev), "%llu", (unsigned long long)updated);
	req->activation_id = c->id;
	req->transaction_id = c->cause ? c->cause : c->id;
	req->namespace = c->caller_ns;
	req->path = t->path;
	req->name = t->name;
	req->version = version ? version : "0.0.1";
	req->rev = b->rev;
	req->main = json_get_string(exec, "main");
	req->binary = json_get_bool(exec, "binary", false);
	if (json_get_string(exec, "code")) {
		code_path(iv, t->store_ns, t->full, updated, b->code_file, sizeof(b->code_file));
		if (access(b->code_file, R_OK) != 0 &&
		    (rc = code_file_write(b->code_file, json_get_string(exec, "code"), e)) < 0) {
			/* A full disk is 503; any other write failure is ours (500). */
			if (rc != -ENOSPC && e)
				e->code = -EIO;
			return rc == -ENOSPC ? rc : -EIO;
		}
		req->code_file = b->code_file;
	}
	if (init_env && cJSON_GetArraySize(init_env) > 0)
		req->env = init_env;
	if (c->key >= 0 && (uint32_t)c->key < cfg->key_count &&
	    entity_annotation_true(action, "provide-api-key")) {
		snprintf(b->apikey, sizeof(b->apikey), "%s:%s", cfg->keys[c->key].uuid,
			 cfg->keys[c->key].key);
		req->api_key = b->apikey;
	}
	req->arrival_ms = now_epoch_ms();
	return 0;
}

static int start_action(struct invoke *iv, const struct invoke_target *t, struct invoke_call *c,
			struct err *e)
{
	_cleanup_json_ cJSON *init_env = NULL;
	_cleanup_buf_ struct buf params = BUF_INIT;
	struct act_request req = { 0 };
	struct dispatch_request dr = { 0 };
	struct request_bufs bufs;
	char *mtext = NULL;
	size_t mlen = 0;
	int rc;

	rc = entity_invoke_args(t->action, c->args, c->args_len, &params, &init_env, e);
	if (rc < 0)
		return rc;
	req.kind = json_get_string(json_get_object(t->action, "exec"), "kind");
	req.image = entity_action_image(iv->cfg, t->action);
	if (!req.image)
		return err_set(e, -EINVAL,
			       "The action's runtime '%s' is not configured on this platform.",
			       req.kind ? req.kind : "?");
	if (!any_invoker_up(iv))
		return err_set(e, -EHOSTDOWN, "No invoker is available to run the action.");
	rc = request_of(iv, t, c, init_env, &req, &bufs, e);
	if (rc < 0)
		return rc;
	mtext = act_request_meta_encode(&req, &mlen);
	if (!mtext)
		return err_set(e, -ENOMEM, "out of memory");
	dr.meta = mtext;
	dr.meta_len = mlen;
	dr.value = params.data;
	dr.value_len = params.len;
	dr.activation_id = c->id;
	dr.home = dispatch_home(t->path, t->name);
	dr.info = (struct entity_activation_info){
		.activation_id = c->id, .ns = c->caller_ns, .path = t->path, .name = t->name,
		.version = json_get_string(t->action, "version"), .kind = req.kind,
		.cause = c->cause, .timeout_ms = req.timeout_ms, .memory_mb = req.memory_mb,
		.logs_mb = req.logs_mb, .concurrency = 1,
	};
	dr.throttle = iv->throttle;
	dr.wait_ms = c->wait_ms;
	dr.done = c->wait_ms ? c->done : NULL;
	dr.arg = c->arg;
	rc = dispatch_submit(iv->dispatch, &dr, e);
	json_free(mtext);
	return rc;
}

/* --- sequences --- */

static void seq_free(struct seq *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->n; i++)
		invoke_target_fini(&s->comps[i]);
	free(s->comps);
	json_delete(s->ids);
	json_delete(s->response);
	free(s);
}

/* dispatch (or a nested sequence) reports a component: hand it to the
 * worker. Runs on the completion thread, maybe under dispatch's lock, so
 * it only copies and queues. */
static void seq_component_done(void *arg, const struct dispatch_outcome *o)
{
	struct seq *s = arg;
	struct invoke *iv = s->iv;
	struct job *j = calloc(1, sizeof(*j));

	if (j && o) {
		/* A copy for the worker, which parses it: this runs on
		 * dispatch's completion thread, under its lock. */
		j->record = malloc(o->record_len);
		if (j->record) {
			memcpy(j->record, o->record, o->record_len);
			j->record_len = o->record_len;
		}
	}
	if (!j || (o && !j->record)) {
		free(j);
		/* Nothing to tell the worker with; the sequence's waiter
		 * expires and the record is never written. */
		log_error("invoke", "sequence=%s: out of memory for a step", s->id);
		return;
	}
	j->s = s;
	pthread_mutex_lock(&iv->lock);
	if (iv->tail)
		iv->tail->next = j;
	else
		iv->head = j;
	iv->tail = j;
	pthread_cond_signal(&iv->cond);
	pthread_mutex_unlock(&iv->lock);
}

static void running_add(struct invoke *iv, struct seq *s)
{
	pthread_mutex_lock(&iv->lock);
	s->nxt = iv->running;
	if (iv->running)
		iv->running->prev = s;
	iv->running = s;
	/* The worker sleeps until the first expiry it knows of. */
	if (s->done && (!iv->next_expiry_ms || s->expires_ms < iv->next_expiry_ms)) {
		iv->next_expiry_ms = s->expires_ms;
		pthread_cond_signal(&iv->cond);
	}
	pthread_mutex_unlock(&iv->lock);
}

static void running_remove(struct invoke *iv, struct seq *s)
{
	pthread_mutex_lock(&iv->lock);
	if (s->prev)
		s->prev->nxt = s->nxt;
	else
		iv->running = s->nxt;
	if (s->nxt)
		s->nxt->prev = s->prev;
	pthread_mutex_unlock(&iv->lock);
}

/* A response for a step that could not run. */
static cJSON *whisk_error(const char *msg)
{
	cJSON *r = cJSON_CreateObject(), *res = cJSON_CreateObject();

	cJSON_AddStringToObject(r, "status", "whisk internal error");
	cJSON_AddNumberToObject(r, "statusCode", 3);
	cJSON_AddBoolToObject(r, "success", false);
	cJSON_AddStringToObject(res, "error", msg);
	cJSON_AddItemToObject(r, "result", res);
	return r;
}

static void seq_finish(struct seq *s)
{
	struct invoke *iv = s->iv;
	_cleanup_json_ cJSON *rec = NULL;
	struct entity_record r = { 0 };
	struct err e = { 0 };
	dispatch_done_fn done;
	void *arg;

	running_remove(iv, s);
	if (!s->response)
		s->response = whisk_error("The sequence did not run.");
	if (entity_sequence_record(&s->info, s->ids, s->response, s->start_ms, now_epoch_ms(),
				   s->duration_ms, s->wait_ms, &rec, &e) < 0 ||
	    entity_record_of(rec, &r, &e) < 0)
		log_error("invoke", "sequence=%s: record: %s", s->id, e.msg);
	pthread_mutex_lock(&iv->lock);
	done = s->done;
	arg = s->arg;
	s->done = NULL;
	pthread_mutex_unlock(&iv->lock);
	/* Answer first, as dispatch does with an early result: writing a
	 * megabyte record to the store should not delay the waiting client. */
	if (done) {
		struct dispatch_outcome o = {
			.record = r.text,
			.record_len = r.len,
			.result = r.text ? r.text + r.result_at : NULL,
			.result_len = r.result_len,
			.status_code = r.status_code,
		};

		done(arg, r.text ? &o : NULL);
	}
	if (r.text &&
	    dispatch_store_record_text(iv->store, s->ns, s->path, s->name, s->id, r.text, r.len,
				       s->start_ms, r.end_ms ? r.end_ms : s->start_ms, s->ticket, false,
				       &e) < 0)
		log_error("invoke", "sequence=%s: store: %s", s->id, e.msg);
	entity_record_fini(&r);
	seq_free(s);
}

static int start_target(struct invoke *iv, const struct invoke_target *t, struct invoke_call *c,
			struct err *e);

/* Start component s->next with args (the call every step makes). */
static int seq_start_component(struct seq *s, const char *args, size_t args_len, struct err *e)
{
	const struct invoke_target *t = &s->comps[s->next];
	struct invoke_call c = { 0 };
	uint64_t timeout = 60000;

	(void)json_get_u64(json_get_object(t->action, "limits"), "timeout", &timeout);
	c.caller_ns = s->ns;
	c.key = s->key;
	c.args = args;
	c.args_len = args_len;
	c.cause = s->id;
	c.wait_ms = (uint32_t)(timeout + COMPONENT_GRACE_MS);
	c.done = seq_component_done;
	c.arg = s;
	s->next++;
	return start_target(s->iv, t, &c, e);
}

/* The next step; false when it could not start (the sequence then ends
 * with that error). */
static bool seq_start_next(struct seq *s, const cJSON *args)
{
	struct err e = { 0 };
	size_t len = 0;
	char *text = cJSON_IsObject(args) ? json_print(args, &len) : NULL;
	int rc = cJSON_IsObject(args) && !text
			 ? err_set(&e, -ENOMEM, "out of memory")
			 : seq_start_component(s, text, len, &e);

	json_free(text);
	if (rc < 0) {
		json_delete(s->response);
		s->response = whisk_error(e.msg[0] ? e.msg : "A sequence component could not start.");
		return false;
	}
	return true;
}

static bool response_failed(const cJSON *resp)
{
	uint64_t sc = 3;
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(resp, "result");

	(void)json_get_u64(resp, "statusCode", &sc);
	return sc != 0 || (cJSON_IsObject(result) && cJSON_GetObjectItemCaseSensitive(result, "error"));
}

/* The worker's step: a component ended (rec) or its wait ran out (NULL). */
static void seq_step(struct seq *s, cJSON *rec)
{
	const cJSON *resp;
	uint64_t d = 0;

	if (!rec) {
		json_delete(s->response);
		s->response = whisk_error("A sequence component did not finish in time.");
		return seq_finish(s);
	}
	if (json_get_string(rec, "activationId"))
		cJSON_AddItemToArray(s->ids, cJSON_CreateString(json_get_string(rec, "activationId")));
	(void)json_get_u64(rec, "duration", &d);
	s->duration_ms += d;
	resp = json_get_object(rec, "response");
	json_delete(s->response);
	s->response = resp ? cJSON_DetachItemFromObjectCaseSensitive(rec, "response") : NULL;
	if (!s->response || response_failed(s->response) || s->next == s->n)
		return seq_finish(s);
	if (!seq_start_next(s, cJSON_GetObjectItemCaseSensitive(s->response, "result")))
		seq_finish(s);
}

/* Resolve every component now, on the caller's thread: the steps then
 * run without reading the store. *memory: the largest component's. */
static int seq_resolve(struct seq *s, const cJSON *components, const char *caller_ns,
		       uint64_t *memory, struct err *e)
{
	const cJSON *it;
	uint32_t i = 0;
	int rc = s->n ? 0 : err_set(e, -EINVAL, "No component specified for the sequence.");

	cJSON_ArrayForEach(it, components) {
		uint64_t m = 0;

		if (rc < 0)
			break;
		rc = cJSON_IsString(it)
			     ? resolve_fqn(s->iv, caller_ns, it->valuestring, &s->comps[i], e)
			     : -ENOENT;
		if (rc == -ENOENT || rc == -EPERM)
			rc = err_set(e, -EINVAL, "Sequence component does not exist.");
		if (rc == 0) {
			(void)json_get_u64(json_get_object(s->comps[i].action, "limits"), "memory", &m);
			*memory = m > *memory ? m : *memory;
		}
		i++;
	}
	return rc;
}

/* The sequence's own record fields, from its call and its document. */
static void seq_identity(struct seq *s, const struct invoke_target *t,
			 const struct invoke_call *c, uint64_t memory)
{
	const cJSON *limits = json_get_object(t->action, "limits");
	const char *version = json_get_string(t->action, "version");

	snprintf(s->id, sizeof(s->id), "%s", c->id);
	snprintf(s->ns, sizeof(s->ns), "%s", c->caller_ns);
	snprintf(s->path, sizeof(s->path), "%s", t->path);
	snprintf(s->name, sizeof(s->name), "%s", t->name);
	snprintf(s->version, sizeof(s->version), "%s", version ? version : "0.0.1");
	if (c->cause)
		snprintf(s->cause, sizeof(s->cause), "%s", c->cause);
	s->key = c->key;
	s->info.activation_id = s->id;
	s->info.ns = s->ns;
	s->info.path = s->path;
	s->info.name = s->name;
	s->info.version = s->version;
	s->info.kind = "sequence";
	s->info.cause = c->cause ? s->cause : NULL;
	s->info.timeout_ms = 60000;
	(void)json_get_u64(limits, "timeout", &s->info.timeout_ms);
	s->info.memory_mb = memory;
	s->info.logs_mb = 10;
	(void)json_get_u64(limits, "logs", &s->info.logs_mb);
}

static int start_sequence(struct invoke *iv, const struct invoke_target *t,
			  struct invoke_call *c, struct err *e)
{
	const cJSON *components = json_get_array(json_get_object(t->action, "exec"), "components");
	struct seq *s = calloc(1, sizeof(*s));
	uint64_t memory = 0;
	int rc;

	if (!s)
		return err_set(e, -ENOMEM, "out of memory");
	s->iv = iv;
	s->n = (uint32_t)cJSON_GetArraySize(components);
	s->comps = calloc(s->n ? s->n : 1, sizeof(*s->comps));
	s->ids = cJSON_CreateArray();
	if (!s->comps || !s->ids) {
		seq_free(s);
		return err_set(e, -ENOMEM, "out of memory");
	}
	rc = seq_resolve(s, components, c->caller_ns, &memory, e);
	if (rc < 0) {
		seq_free(s);
		return rc;
	}
	seq_identity(s, t, c, memory);
	s->start_ms = now_epoch_ms();
	if (c->wait_ms) {
		s->done = c->done;
		s->arg = c->arg;
		s->expires_ms = s->start_ms + c->wait_ms;
	} else {
		/* Acknowledged with its id before it ends: its line first. */
		rc = dispatch_accept(iv->dispatch, &s->info, &s->ticket, e);
		if (rc < 0) {
			seq_free(s);
			return rc;
		}
	}
	running_add(iv, s);
	/* The sequence's own parameters are not passed to its components
	 * (spec §6); the invocation's arguments are. */
	s->next = 0;
	rc = seq_start_component(s, c->args, c->args_len, e);
	if (rc < 0) {
		/* Nothing ran: the caller answers the error, no record. */
		running_remove(iv, s);
		dispatch_cancel(iv->dispatch, s->ticket, s->id);
		seq_free(s);
		return rc;
	}
	return 0;
}

/* --- built-in actions --- */

void invoke_set_builtin(struct invoke *iv, invoke_builtin_fn fn, void *arg)
{
	iv->builtin = fn;
	iv->builtin_arg = arg;
}

bool invoke_is_builtin(const cJSON *action)
{
	const char *kind = json_get_string(json_get_object(action, "exec"), "kind");

	return kind && strcmp(kind, "builtin") == 0;
}

static cJSON *builtin_response(bool ok, cJSON *result)
{
	cJSON *r = cJSON_CreateObject();

	if (!r)
		return NULL;
	cJSON_AddStringToObject(r, "status", ok ? "success" : "application error");
	cJSON_AddNumberToObject(r, "statusCode", ok ? 0 : 1);
	cJSON_AddBoolToObject(r, "success", ok);
	if (!cJSON_AddItemToObject(r, "result", result)) {
		cJSON_Delete(result);
		cJSON_Delete(r);
		return NULL;
	}
	return r;
}

/* Run it here and now; the record is whole before anyone is answered. */
static int start_builtin(struct invoke *iv, const struct invoke_target *t, struct invoke_call *c,
			 struct err *e)
{
	_cleanup_json_ cJSON *init_env = NULL, *args = NULL, *resp = NULL, *rec = NULL;
	_cleanup_json_ cJSON *logs = cJSON_CreateArray();
	_cleanup_buf_ struct buf params = BUF_INIT;
	struct entity_record r = { 0 };
	struct entity_activation_info info = {
		.activation_id = c->id, .ns = c->caller_ns, .path = t->path, .name = t->name,
		.version = json_get_string(t->action, "version"), .kind = "builtin",
		.cause = c->cause, .timeout_ms = 60000, .memory_mb = 0, .logs_mb = 0,
		.concurrency = 1,
	};
	cJSON *result = NULL;
	uint64_t start = now_epoch_ms(), end;
	bool ok;
	int rc;

	if (!logs)
		return err_set(e, -ENOMEM, "out of memory");
	if (!iv->builtin || strcmp(t->store_ns, ACCESS_SYSTEM_NS) != 0)
		return err_set(e, -EINVAL, "The action's runtime 'builtin' is not configured on this platform.");
	if (!info.version)
		info.version = "0.0.1";
	rc = entity_invoke_args(t->action, c->args, c->args_len, &params, &init_env, e);
	if (rc < 0)
		return rc;
	rc = json_parse(params.data, params.len, &args, e);
	if (rc < 0)
		return rc;
	ok = iv->builtin(iv->builtin_arg, t->full, c->caller_ns, args, &result);
	if (!result)
		return err_set(e, -ENOMEM, "out of memory");
	resp = builtin_response(ok, result);
	end = now_epoch_ms();
	if (!resp)
		return err_set(e, -ENOMEM, "out of memory");
	rc = entity_sequence_record(&info, logs, resp, start, end, end - start, 0, &rec, e);
	if (rc == 0)
		rc = entity_record_of(rec, &r, e);
	if (rc < 0)
		return rc;
	/* Nobody waits: the record is durable before the 202 goes out. A
	 * waiter's record goes with the next batch. */
	rc = dispatch_store_record_text(iv->store, c->caller_ns, t->path, t->name, c->id, r.text,
					r.len, start, end, 0, !c->wait_ms, e);
	if (rc == 0 && c->wait_ms) {
		struct dispatch_outcome o = {
			.record = r.text,
			.record_len = r.len,
			.result = r.text + r.result_at,
			.result_len = r.result_len,
			.status_code = r.status_code,
		};

		c->done(c->arg, &o);
	}
	entity_record_fini(&r);
	return rc;
}

static int start_target(struct invoke *iv, const struct invoke_target *t, struct invoke_call *c,
			struct err *e)
{
	if (!c->id[0])
		entity_activation_id(c->id);
	if (is_sequence(t->action))
		return start_sequence(iv, t, c, e);
	if (invoke_is_builtin(t->action))
		return start_builtin(iv, t, c, e);
	return start_action(iv, t, c, e);
}

int invoke_start(struct invoke *iv, const struct invoke_target *t, struct invoke_call *c,
		 struct err *e)
{
	/* The arguments are checked where they are spliced (entity_invoke_args). */
	return start_target(iv, t, c, e);
}

/* --- the worker --- */

/* Waits of sequences that expired are told so (they answer 202); sets
 * the next expiry to sleep until. */
static void expire(struct invoke *iv, uint64_t now)
{
	struct {
		dispatch_done_fn done;
		void *arg;
	} due[32];
	uint32_t n = 0;
	uint64_t next = 0;

	pthread_mutex_lock(&iv->lock);
	for (struct seq *s = iv->running; s; s = s->nxt) {
		struct err e = { 0 };

		if (!s->done)
			continue;
		if (s->expires_ms > now || n == 32) {
			/* Later, or more than one round takes: the next round. */
			uint64_t at = s->expires_ms > now ? s->expires_ms : now;

			if (!next || at < next)
				next = at;
			continue;
		}
		/* Answered 202 now: its line first; without one (disk full) the
		 * caller keeps waiting for the result. */
		if (!s->ticket && dispatch_accept(iv->dispatch, &s->info, &s->ticket, &e) < 0) {
			if (!s->accept_failed)
				log_warn("invoke", "sequence=%s: its wait expired, but %s: still waiting",
					 s->id, e.msg);
			s->accept_failed = true;
			if (!next || now + ACK_RETRY_MS < next)
				next = now + ACK_RETRY_MS;
			continue;
		}
		due[n].done = s->done;
		due[n].arg = s->arg;
		n++;
		s->done = NULL;
	}
	iv->next_expiry_ms = next;
	pthread_mutex_unlock(&iv->lock);
	for (uint32_t i = 0; i < n; i++)
		due[i].done(due[i].arg, NULL);
}

/* One job on the worker: the step needs the record as a tree (response,
 * id, duration, the next component's arguments), parsed here, off the
 * completion thread. */
static void job_run(struct job *j)
{
	_cleanup_json_ cJSON *rec = NULL;
	struct err e = { 0 };

	if (j->record && json_parse(j->record, j->record_len, &rec, &e) < 0)
		log_error("invoke", "sequence=%s: step record: %s", j->s->id, e.msg);
	free(j->record);
	seq_step(j->s, rec);
	free(j);
}

static void *worker_main(void *arg)
{
	struct invoke *iv = arg;

	pthread_mutex_lock(&iv->lock);
	while (!iv->stop) {
		struct job *j = iv->head;

		if (!j) {
			uint64_t due = iv->next_expiry_ms;

			/* No job: sleep until the first expiry, or until a job,
			 * an earlier expiry (running_add) or the stop comes. */
			if (due && due <= now_epoch_ms()) {
				pthread_mutex_unlock(&iv->lock);
				expire(iv, now_epoch_ms());
				pthread_mutex_lock(&iv->lock);
			} else if (due) {
				struct timespec ts = { .tv_sec = (time_t)(due / 1000),
						       .tv_nsec = (long)(due % 1000) * 1000000L };

				pthread_cond_timedwait(&iv->cond, &iv->lock, &ts);
			} else {
				pthread_cond_wait(&iv->cond, &iv->lock);
			}
			continue;
		}
		iv->head = j->next;
		if (!iv->head)
			iv->tail = NULL;
		pthread_mutex_unlock(&iv->lock);
		job_run(j);
		pthread_mutex_lock(&iv->lock);
	}
	pthread_mutex_unlock(&iv->lock);
	return NULL;
}

int invoke_new(const struct cfg *c, struct store *s, struct dispatch *d, struct queue *q,
	       struct throttle *th, struct invoke **out, struct err *e)
{
	struct invoke *iv = calloc(1, sizeof(*iv));

	if (!iv)
		return err_set(e, -ENOMEM, "allocate invoke");
	iv->cfg = c;
	iv->store = s;
	iv->dispatch = d;
	iv->queue = q;
	iv->throttle = th;
	pthread_mutex_init(&iv->lock, NULL);
	pthread_cond_init(&iv->cond, NULL);
	if (pthread_create(&iv->thread, NULL, worker_main, iv) != 0) {
		pthread_cond_destroy(&iv->cond);
		pthread_mutex_destroy(&iv->lock);
		free(iv);
		return err_set(e, -EAGAIN, "start the sequence worker");
	}
	*out = iv;
	return 0;
}

void invoke_stop(struct invoke *iv)
{
	bool join;

	if (!iv)
		return;
	pthread_mutex_lock(&iv->lock);
	join = !iv->stop;
	iv->stop = true;
	pthread_cond_signal(&iv->cond);
	pthread_mutex_unlock(&iv->lock);
	if (join)
		pthread_join(iv->thread, NULL);
}

void invoke_free(struct invoke *iv)
{
	if (!iv)
		return;
	invoke_stop(iv);
	while (iv->head) {
		struct job *j = iv->head;

		iv->head = j->next;
		free(j->record);
		free(j);
	}
	/* Sequences still running: their components may still complete
	 * through dispatch (stopped after this), so only tell the waiters. */
	while (iv->running) {
		struct seq *s = iv->running;

		iv->running = s->nxt;
		if (s->done)
			s->done(s->arg, NULL);
		seq_free(s);
	}
	pthread_cond_destroy(&iv->cond);
	pthread_mutex_destroy(&iv->lock);
	free(iv);
}

int invoke_action(struct invoke *iv, const char *caller_ns, const char *ns, const char *pkg,
		  const char *name, struct invoke_call *c, struct err *e)
{
	struct invoke_target t = { 0 };
	int rc = invoke_resolve(iv, caller_ns, ns, pkg, name, &t, e);

	if (rc == 0)
		rc = invoke_start(iv, &t, c, e);
	invoke_target_fini(&t);
	return rc;
}
