/* SPDX-License-Identifier: Apache-2.0 */
/* Triggers and rules (see events.h). A rule's status lives in its
 * trigger's `rules` map ({"ns/rule": {"action", "status"}}), as upstream:
 * a fire reads one document to know what to start. */
#include "controller/events.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/now.h"
#include "controller/dispatch.h"
#include "controller/entity.h"

#define RULE_KEY_MAX (NAME_SIZE * 2 + 2)

struct events {
	struct store *store;
	struct invoke *invoke;
	struct throttle *throttle;
	events_deleted_fn on_delete;
	void *on_delete_arg;
	pthread_mutex_t lock;        /* rule <-> trigger links change together */
};

int events_new(struct store *s, struct invoke *iv, struct throttle *th, struct events **out,
	       struct err *e)
{
	struct events *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return err_set(e, -ENOMEM, "allocate events");
	ev->store = s;
	ev->invoke = iv;
	ev->throttle = th;
	pthread_mutex_init(&ev->lock, NULL);
	*out = ev;
	return 0;
}

void events_free(struct events *ev)
{
	if (!ev)
		return;
	pthread_mutex_destroy(&ev->lock);
	free(ev);
}

/* "ns" or "ns/pkg" into its parts. */
static void split_path(const char *path, char ns[NAME_SIZE], char pkg[NAME_SIZE])
{
	const char *slash = strchr(path, '/');

	snprintf(ns, NAME_SIZE, "%.*s", (int)strcspn(path, "/"), path);
	snprintf(pkg, NAME_SIZE, "%s", slash ? slash + 1 : "");
}

/* The trigger's rule map key for a rule of namespace ns. */
static void rule_key(const char *ns, const char *rule, char buf[RULE_KEY_MAX])
{
	snprintf(buf, RULE_KEY_MAX, "%s/%s", ns, rule ? rule : "");
}

/* A rule action that did not start: the caller's fault (statusCode 1) or
 * the platform's (3), as the HTTP status of the same error would say. */
static int fire_status_code(int rc)
{
	switch (rc) {
	case -EINVAL:
	case -EACCES:
	case -EPERM:
	case -ENOENT:
	case -EEXIST:
	case -E2BIG:
	case -EMSGSIZE:
	case -EAGAIN:
		return 1;
	default:
		return 3;
	}
}

int events_trigger_put(struct events *ev, const char *ns, const char *name, const cJSON *body,
		       bool overwrite, cJSON **out, struct err *e)
{
	_cleanup_json_ cJSON *old = NULL, *doc = NULL;
	int rc;

	pthread_mutex_lock(&ev->lock);
	/* Read under the lock: the rules map may just have changed. */
	rc = store_entity_load_old(ev->store, ns, "triggers", name, overwrite, &old, e);
	if (rc < 0)
		goto out;
	rc = entity_trigger_build(ns, name, body, old, now_epoch_ms(), &doc, e);
	if (rc == 0)
		rc = store_entity_save(ev->store, ns, "triggers", name, doc, now_epoch_ms(), overwrite,
				       e);
out:
	pthread_mutex_unlock(&ev->lock);
	if (rc == 0)
		*out = TAKE_PTR(doc);
	return rc;
}

/* Start one rule's action; its log line for the trigger record. */
static cJSON *fire_rule(struct events *ev, const char *ns, int key, const cJSON *rule,
			const struct buf *args)
{
	const cJSON *act = json_get_object(rule, "action");
	const char *path = json_get_string(act, "path"), *name = json_get_string(act, "name");
	struct invoke_call call = { .caller_ns = ns, .key = key, .args = args->data,
				    .args_len = args->len };
	char ans[NAME_SIZE], pkg[NAME_SIZE], action[NAME_FQN_SIZE];
	_cleanup_json_ cJSON *entry = cJSON_CreateObject();
	struct err e = { 0 };
	char *line;
	cJSON *s;
	int rc;

	split_path(path, ans, pkg);
	snprintf(action, sizeof(action), "%s/%s", path, name);
	rc = invoke_action(ev->invoke, ns, ans, pkg, name, &call, &e);
	cJSON_AddNumberToObject(entry, "statusCode", rc == 0 ? 0 : fire_status_code(rc));
	cJSON_AddBoolToObject(entry, "success", rc == 0);
	if (rc == 0)
		cJSON_AddStringToObject(entry, "activationId", call.id);
	cJSON_AddStringToObject(entry, "rule", rule->string);
	cJSON_AddStringToObject(entry, "action", action);
	if (rc < 0)
		cJSON_AddStringToObject(entry, "error", e.msg[0] ? e.msg : strerror(-rc));
	line = json_print(entry, NULL);
	s = line ? cJSON_CreateString(line) : NULL;
	json_free(line);
	return s;
}

int events_trigger_fire(struct events *ev, const char *ns, int key, const char *name,
			const char *payload, size_t payload_len, char id[33], struct err *e)
{
	_cleanup_json_ cJSON *trigger = NULL, *init_env = NULL, *logs = cJSON_CreateArray();
	struct entity_record rec = { 0 };
	struct buf args = BUF_INIT;
	const cJSON *rule;
	uint64_t start;
	int rc;

	if (!logs)
		return err_set(e, -ENOMEM, "out of memory");
	rc = throttle_fire_admit(ev->throttle, ns, now_epoch_ms(), e);
	if (rc < 0)
		return rc;
	rc = store_entity_load(ev->store, ns, "triggers", name, &trigger, e);
	if (rc < 0)
		return store_not_found(rc, e);
	/* The payload is spliced, never parsed: one copy per fire, however
	 * many rules (each action's own parameters are spliced under it). */
	rc = entity_invoke_args(trigger, payload, payload_len, &args, &init_env, e);
	if (rc < 0)
		return rc;
	entity_activation_id(id);
	cJSON_ArrayForEach(rule, json_get_object(trigger, "rules")) {
		const char *status = json_get_string(rule, "status");
		const cJSON *act = json_get_object(rule, "action");
		cJSON *line;

		if (!status || strcmp(status, "active") != 0 || !json_get_string(act, "path") ||
		    !json_get_string(act, "name"))
			continue;
		line = fire_rule(ev, ns, key, rule, &args);
		if (line)
			cJSON_AddItemToArray(logs, line);
	}
	/* Recorded even when no rule is active, so a fire is never lost
	 * without a trace. */
	buf_fini(&args);
	start = now_epoch_ms();
	rc = entity_trigger_record(id, ns, name, json_get_string(trigger, "version"), payload,
				   payload_len, logs, start, &rec, e);
	if (rc == 0)
		/* Durable: the fire is answered with this record's id. */
		rc = dispatch_store_record_text(ev->store, ns, ns, name, id, rec.text, rec.len, start,
						start, 0, true, e);
	entity_record_fini(&rec);
	return rc;
}

/* Link or unlink (status NULL) a rule of ns in its trigger's map. Caller
 * holds the lock. -ENOENT when the trigger is gone. */
static int trigger_link(struct events *ev, const char *ns, const cJSON *rule, const char *status,
			struct err *e)
{
	const cJSON *trig = json_get_object(rule, "trigger");
	const char *tns = json_get_string(trig, "path"), *tname = json_get_string(trig, "name");
	_cleanup_json_ cJSON *doc = NULL;
	char key[RULE_KEY_MAX];
	cJSON *rules;
	int rc;

	if (!tns || !tname)
		return -ENOENT;
	rc = store_entity_load(ev->store, tns, "triggers", tname, &doc, e);
	if (rc < 0)
		return rc;
	rule_key(ns, json_get_string(rule, "name"), key);
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
	return store_entity_save(ev->store, tns, "triggers", tname, doc, 0, true, e);
}

static void set_status(cJSON *doc, const char *status)
{
	cJSON_ReplaceItemInObjectCaseSensitive(doc, "status", cJSON_CreateString(status));
}

int events_rule_put(struct events *ev, const char *ns, const char *name, const cJSON *body,
		    bool overwrite, cJSON **out, struct err *e)
{
	_cleanup_json_ cJSON *old = NULL, *doc = NULL;
	struct invoke_target t = { 0 };
	const cJSON *trig, *act, *old_trig;
	const char *tpath, *tname, *apath, *aname;
	char ans[NAME_SIZE], pkg[NAME_SIZE];
	int rc;

	rc = store_entity_load_old(ev->store, ns, "rules", name, overwrite, &old, e);
	if (rc < 0)
		return rc;
	rc = entity_rule_build(ns, name, body, old, now_epoch_ms(), &doc, e);
	if (rc < 0)
		return rc;
	trig = json_get_object(doc, "trigger");
	tpath = json_get_string(trig, "path");
	tname = json_get_string(trig, "name");
	act = json_get_object(doc, "action");
	apath = json_get_string(act, "path");
	aname = json_get_string(act, "name");
	{
		char *text = NULL;

		rc = strcmp(tpath, ns) != 0
			     ? -ENOENT
			     : store_entity_get(ev->store, ns, "triggers", tname, &text, NULL, NULL);
		free(text);
	}
	if (rc < 0)
		return err_set(e, -EINVAL, "trigger /%s/%s does not exist", tpath, tname);
	split_path(apath, ans, pkg);
	rc = invoke_resolve(ev->invoke, ns, ans, pkg, aname, &t, e);
	invoke_target_fini(&t);
	if (rc == -ENOENT || rc == -EPERM) {
		err_clear(e);
		return err_set(e, -EINVAL, "action /%s/%s does not exist", apath, aname);
	}
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&ev->lock);
	rc = store_entity_save(ev->store, ns, "rules", name, doc, now_epoch_ms(), overwrite, e);
	if (rc == 0) {
		/* A rule moved to another trigger leaves the old one. */
		old_trig = json_get_object(old, "trigger");
		if (old_trig && strcmp(json_get_string(old_trig, "name"), tname) != 0)
			(void)trigger_link(ev, ns, old, NULL, NULL);
		rc = trigger_link(ev, ns, doc, "active", e);
	}
	pthread_mutex_unlock(&ev->lock);
	if (rc == 0)
		*out = TAKE_PTR(doc);
	return rc;
}

int events_rule_set_status(struct events *ev, const char *ns, const char *name,
			   const char *status, cJSON **out, struct err *e)
{
	_cleanup_json_ cJSON *doc = NULL;
	int rc;

	if (!status || (strcmp(status, "active") != 0 && strcmp(status, "inactive") != 0))
		return err_set(e, -EINVAL,
			       "'%.256s' is not a recognized rule state, must be one of ['active', "
			       "'inactive']",
			       status ? status : "");
	pthread_mutex_lock(&ev->lock);
	rc = store_entity_load(ev->store, ns, "rules", name, &doc, e);
	if (rc < 0) {
		rc = store_not_found(rc, e);
	} else {
		rc = trigger_link(ev, ns, doc, status, e);
		if (rc == -ENOENT) {
			err_clear(e);
			err_set(e, rc, "Only rules with existing triggers can be activated");
		}
	}
	pthread_mutex_unlock(&ev->lock);
	if (rc < 0)
		return rc;
	set_status(doc, status);
	*out = TAKE_PTR(doc);
	return 0;
}

int events_rule_get(struct events *ev, const char *ns, const char *name, cJSON **out,
		    struct err *e)
{
	_cleanup_json_ cJSON *doc = NULL, *t = NULL;
	const cJSON *trig;
	const char *tns, *tname, *status = "inactive";
	char key[RULE_KEY_MAX];
	int rc = store_entity_load(ev->store, ns, "rules", name, &doc, e);

	if (rc < 0)
		return store_not_found(rc, e);
	trig = json_get_object(doc, "trigger");
	tns = json_get_string(trig, "path");
	tname = json_get_string(trig, "name");
	rule_key(ns, json_get_string(doc, "name"), key);
	if (tns && tname && store_entity_load(ev->store, tns, "triggers", tname, &t, NULL) == 0) {
		const cJSON *link = json_get_object(json_get_object(t, "rules"), key);

		if (json_get_string(link, "status"))
			status = json_get_string(link, "status");
	}
	set_status(doc, status);
	*out = TAKE_PTR(doc);
	return 0;
}

int events_rule_delete(struct events *ev, const char *ns, const char *name, cJSON **out,
		       struct err *e)
{
	_cleanup_json_ cJSON *doc = NULL;
	char *text = NULL;
	size_t len = 0;
	int rc;

	pthread_mutex_lock(&ev->lock);
	rc = store_entity_delete(ev->store, ns, "rules", name, &text, &len, e);
	if (rc == 0 && json_parse(text, len, &doc, e) == 0) {
		(void)trigger_link(ev, ns, doc, NULL, NULL);
		set_status(doc, "inactive");
	}
	pthread_mutex_unlock(&ev->lock);
	free(text);
	if (rc < 0)
		return store_not_found(rc, e);
	if (!doc)
		return err_set(e, -EIO, "the deleted rule /%s/%s was unreadable", ns, name);
	*out = TAKE_PTR(doc);
	return 0;
}

void events_on_trigger_delete(struct events *ev, events_deleted_fn fn, void *arg)
{
	ev->on_delete = fn;
	ev->on_delete_arg = arg;
}

int events_trigger_delete(struct events *ev, const char *ns, const char *name, bool with_rules,
			  char **doc, size_t *len, struct err *e)
{
	_cleanup_json_ cJSON *trigger = NULL;
	const cJSON *rule;
	char *text = NULL;
	size_t n = 0;
	int rc;

	pthread_mutex_lock(&ev->lock);
	if (with_rules && store_entity_load(ev->store, ns, "triggers", name, &trigger, e) == 0) {
		size_t nslen = strlen(ns);

		/* Keys are "ns/rule": only this namespace's rules are ours. */
		cJSON_ArrayForEach(rule, json_get_object(trigger, "rules")) {
			const char *key = rule->string;

			if (key && strncmp(key, ns, nslen) == 0 && key[nslen] == '/') {
				char *rt = NULL;
				size_t rl = 0;
				struct err re = { 0 };

				if (store_entity_delete(ev->store, ns, "rules", key + nslen + 1, &rt, &rl,
							&re) < 0 && re.code != -ENOENT)
					log_warn("events", "rule /%s: %s", key, re.msg);
				free(rt);
			}
		}
	}
	err_clear(e);
	rc = store_entity_delete(ev->store, ns, "triggers", name, &text, &n, e);
	pthread_mutex_unlock(&ev->lock);
	if (rc < 0)
		return store_not_found(rc, e);
	if (ev->on_delete)
		ev->on_delete(ev->on_delete_arg, ns, name);
	if (doc) {
		*doc = text;
		if (len)
			*len = n;
	} else {
		free(text);
	}
	return 0;
}
