/* SPDX-License-Identifier: Apache-2.0 */
/* The common part of feed registrations (see feedreg.h). */
#include "controller/feedreg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/now.h"

#define DOC_PREFIX "#feed:"
#define DOC_NAME_SIZE (NAME_SIZE + sizeof(DOC_PREFIX))

static void doc_name(const char *trigger, char out[DOC_NAME_SIZE])
{
	snprintf(out, DOC_NAME_SIZE, DOC_PREFIX "%s", trigger);
}

void feedreg_fini(struct feedreg *r)
{
	cJSON_Delete(r->reason);
	r->reason = NULL;
}

cJSON *feedreg_status(const struct feedreg *r)
{
	cJSON *s = cJSON_CreateObject();
	char iso[80];
	time_t t = (time_t)(r->changed_ms / 1000);
	struct tm tm;

	if (!s)
		return NULL;
	gmtime_r(&t, &tm);
	snprintf(iso, sizeof(iso), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(r->changed_ms % 1000));
	if (!cJSON_AddBoolToObject(s, "active", r->active) ||
	    !cJSON_AddNumberToObject(s, "dateChanged", (double)r->changed_ms) ||
	    !cJSON_AddStringToObject(s, "dateChangedISO", iso) ||
	    (r->reason && !cJSON_AddItemToObject(s, "reason", cJSON_Duplicate(r->reason, true)))) {
		cJSON_Delete(s);
		return NULL;
	}
	return s;
}

void feedreg_set_inactive(struct feedreg *r, const char *kind, int status_code, const char *msg)
{
	cJSON *reason = cJSON_CreateObject();

	r->active = false;
	r->changed_ms = now_epoch_ms();
	cJSON_Delete(r->reason);
	r->reason = reason;
	if (reason) {
		cJSON_AddStringToObject(reason, "kind", kind);
		if (status_code)
			cJSON_AddNumberToObject(reason, "statusCode", status_code);
		cJSON_AddStringToObject(reason, "message", msg);
	}
}

void feedreg_set_active(struct feedreg *r)
{
	r->active = true;
	r->changed_ms = now_epoch_ms();
	cJSON_Delete(r->reason);
	r->reason = NULL;
}

int feedreg_save(struct store *s, const struct feedreg *r, cJSON *params, struct err *e)
{
	_cleanup_json_ cJSON *doc = cJSON_CreateObject();
	char name[DOC_NAME_SIZE];

	if (!doc || !cJSON_AddStringToObject(doc, "namespace", r->ns) ||
	    !cJSON_AddStringToObject(doc, "name", r->name) ||
	    !cJSON_AddStringToObject(doc, "feed", r->feed) ||
	    !cJSON_AddStringToObject(doc, "key", r->key_uuid) || !params ||
	    !cJSON_AddItemToObject(doc, "params", params)) {
		cJSON_Delete(params);
		return err_set(e, -ENOMEM, "out of memory");
	}
	if (!cJSON_AddItemToObject(doc, "status", feedreg_status(r)))
		return err_set(e, -ENOMEM, "out of memory");
	doc_name(r->name, name);
	return store_entity_save(s, r->ns, FEEDREG_COLL, name, doc, now_epoch_ms(), true, e);
}

void feedreg_unstore(struct store *s, const char *ns, const char *name)
{
	char dn[DOC_NAME_SIZE], *text = NULL;
	size_t len = 0;
	struct err e = { 0 };

	doc_name(name, dn);
	if (store_entity_delete(s, ns, FEEDREG_COLL, dn, &text, &len, &e) < 0 && e.code != -ENOENT)
		log_warn("feeds", "/%s/%s: registration not removed: %s", ns, name, e.msg);
	free(text);
}

int feedreg_key_of_uuid(const struct cfg *c, const char *ns, const char *uuid)
{
	for (uint32_t i = 0; i < c->key_count; i++)
		if (strcmp(c->keys[i].uuid, uuid) == 0 && strcmp(c->keys[i].namespace, ns) == 0)
			return (int)i;
	return -1;
}

int feedreg_from_doc(struct feedreg *r, const cJSON *doc, const struct cfg *c,
		     const cJSON **params, struct err *e)
{
	const char *ns = json_get_string(doc, "namespace"), *name = json_get_string(doc, "name");
	const char *feed = json_get_string(doc, "feed"), *key = json_get_string(doc, "key");
	const cJSON *status = json_get_object(doc, "status");

	memset(r, 0, sizeof(*r));
	if (!ns || !name || !feed || !key || !name_is_valid(name) || strlen(ns) >= NAME_SIZE ||
	    strlen(feed) >= sizeof(r->feed) || strlen(key) >= sizeof(r->key_uuid))
		return err_set(e, -EINVAL, "not a registration");
	snprintf(r->ns, sizeof(r->ns), "%s", ns);
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->feed, sizeof(r->feed), "%s", feed);
	snprintf(r->key_uuid, sizeof(r->key_uuid), "%s", key);
	r->key = feedreg_key_of_uuid(c, ns, key);
	r->active = json_get_bool(status, "active", true);
	(void)json_get_u64(status, "dateChanged", &r->changed_ms);
	if (json_get_object(status, "reason"))
		r->reason = cJSON_Duplicate(json_get_object(status, "reason"), true);
	*params = json_get_object(doc, "params");
	return 0;
}

cJSON *feedreg_error(const char *fmt, ...)
{
	cJSON *o = cJSON_CreateObject();
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o && !cJSON_AddStringToObject(o, "error", msg)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

cJSON *feedreg_success(void)
{
	cJSON *o = cJSON_CreateObject();

	if (o && !cJSON_AddStringToObject(o, "status", "success")) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}
