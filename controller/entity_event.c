/* SPDX-License-Identifier: Apache-2.0 */
/* Trigger, rule and package documents (see entity.h), their list
 * summaries, and the parameters a package or binding passes down. */
#include "controller/entity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/entity_impl.h"

/* ---- triggers, rules, packages --------------------------------------------- */

/* The fields every entity document has: namespace, name, version, publish,
 * parameters (unless params is false), annotations; `updated` is added by
 * the caller last so it stays at the end as upstream prints it. */
static int build_common(const char *ns, const char *name, const cJSON *body, const cJSON *old,
			bool with_params, cJSON **out, struct err *e)
{
	_cleanup_json_ cJSON *doc = NULL, *params = NULL, *ann = NULL;
	bool publish = false;
	char version[VERSION_BUF];
	int r;

	r = entity_build_head(body, old, version, &publish, e);
	if (r < 0)
		return r;
	if (with_params && (r = entity_build_parameters(opt(body, "parameters"), old, &params, e)) < 0)
		return r;
	r = entity_build_annotations_plain(body, old, true, &ann, e);
	if (r < 0)
		return r;
	doc = doc_head_new(ns, name, version, publish);
	if (!doc || (with_params && add_item(doc, "parameters", TAKE_PTR(params)) < 0) ||
	    add_item(doc, "annotations", TAKE_PTR(ann)) < 0)
		return enomem(e, "document");
	*out = TAKE_PTR(doc);
	return 0;
}

int entity_trigger_build(const char *ns, const char *name, const cJSON *body, const cJSON *old,
			 uint64_t now_ms, cJSON **out, struct err *e)
{
	_cleanup_json_ cJSON *doc = NULL;
	const cJSON *it, *rules = json_get_object(old, "rules");
	int r = build_common(ns, name, body, old, true, &doc, e);

	if (r < 0)
		return r;
	cJSON_ArrayForEach(it, json_get_array(doc, "annotations")) {
		const char *k = json_get_string(it, "key");
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, "value");
		struct name_fqn f;

		if (k && strcmp(k, "feed") == 0 &&
		    (!cJSON_IsString(v) || name_fqn_parse(v->valuestring, ns, &f) < 0))
			return err_set(e, -EINVAL, "Feed name is not valid");
	}
	if (add_item(doc, "limits", cJSON_CreateObject()) < 0 ||
	    (rules && add_dup(doc, "rules", rules) < 0) || add_num(doc, "updated", (double)now_ms) < 0)
		return enomem(e, "trigger");
	*out = TAKE_PTR(doc);
	return 0;
}

/* {"path": "ns[/pkg]", "name": name} from a client's entity name. */
static int path_name(const char *given, const char *ns, const char *what, cJSON **out,
		     struct err *e)
{
	struct name_fqn f;
	char path[NAME_SIZE * 2 + 2];
	cJSON *o;

	if (name_fqn_parse(given, ns, &f) < 0)
		return err_set(e, -EINVAL, "The %s name '%s' is not valid.", what, given);
	if (strcmp(what, "trigger") == 0 && f.pkg[0])
		return err_set(e, -EINVAL, "The trigger name '%s' is not valid.", given);
	snprintf(path, sizeof(path), "%s%s%s", f.ns, f.pkg[0] ? "/" : "", f.pkg);
	o = cJSON_CreateObject();
	if (!o || add_str(o, "path", path) < 0 || add_str(o, "name", f.name) < 0) {
		cJSON_Delete(o);
		return enomem(e, "rule");
	}
	*out = o;
	return 0;
}

int entity_rule_build(const char *ns, const char *name, const cJSON *body, const cJSON *old,
		      uint64_t now_ms, cJSON **out, struct err *e)
{
	_cleanup_json_ cJSON *doc = NULL, *trig = NULL, *act = NULL;
	const char *fields[2] = { "trigger", "action" };
	cJSON **dst[2] = { &trig, &act };
	int r = build_common(ns, name, body, old, false, &doc, e);

	if (r < 0)
		return r;
	for (int i = 0; i < 2; i++) {
		const cJSON *given = opt(body, fields[i]);

		if (given && !cJSON_IsString(given))
			return err_set(e, -EINVAL, "The rule's %s must be a string naming it.", fields[i]);
		if (given) {
			r = path_name(given->valuestring, ns, fields[i], dst[i], e);
			if (r < 0)
				return r;
		} else if (json_get_object(old, fields[i])) {
			*dst[i] = cJSON_Duplicate(json_get_object(old, fields[i]), true);
			if (!*dst[i])
				return enomem(e, "rule");
		} else {
			return err_set(e, -EINVAL, "The rule needs a %s.", fields[i]);
		}
	}
	if (add_str(doc, "status", "active") < 0 || add_item(doc, "trigger", TAKE_PTR(trig)) < 0 ||
	    add_item(doc, "action", TAKE_PTR(act)) < 0 || add_num(doc, "updated", (double)now_ms) < 0)
		return enomem(e, "rule");
	*out = TAKE_PTR(doc);
	return 0;
}

int entity_package_build(const char *ns, const char *name, const cJSON *body, const cJSON *old,
			 uint64_t now_ms, cJSON **out, struct err *e)
{
	_cleanup_json_ cJSON *doc = NULL, *binding = NULL;
	const cJSON *given = opt(body, "binding");
	int r = build_common(ns, name, body, old, true, &doc, e);

	if (r < 0)
		return r;
	if (given && !(cJSON_IsObject(given) && cJSON_GetArraySize(given) == 0)) {
		const char *bns = json_get_string(given, "namespace"), *bname = json_get_string(given, "name");
		struct name_fqn f;
		char full[NAME_FQN_SIZE];

		if (!bns || !bname)
			return err_set(e, -EINVAL, "binding must be {\"namespace\": ..., \"name\": ...}");
		snprintf(full, sizeof(full), "/%s/%s", bns, bname);
		if (name_fqn_parse(full, ns, &f) < 0 || f.pkg[0])
			return err_set(e, -EINVAL, "The binding's package name is not valid.");
		binding = cJSON_CreateObject();
		if (!binding || add_str(binding, "namespace", f.ns) < 0 ||
		    add_str(binding, "name", f.name) < 0)
			return enomem(e, "package");
	} else if (!given && json_get_object(old, "binding")) {
		binding = cJSON_Duplicate(json_get_object(old, "binding"), true);
	} else {
		binding = cJSON_CreateObject();
	}
	if (add_item(doc, "binding", TAKE_PTR(binding)) < 0 ||
	    add_num(doc, "updated", (double)now_ms) < 0)
		return enomem(e, "package");
	*out = TAKE_PTR(doc);
	return 0;
}

bool entity_annotation_true(const cJSON *doc, const char *key)
{
	return entity_kv_is_true(json_get_array(doc, "annotations"), key);
}

bool entity_package_is_binding(const cJSON *pkg)
{
	return json_get_string(json_get_object(pkg, "binding"), "name") != NULL;
}

cJSON *entity_summary(const char *coll, const cJSON *doc)
{
	static const char *const fields[] = { "namespace", "name", "version", "publish",
					      "annotations", "updated" };
	_cleanup_json_ cJSON *s = NULL;

	if (!cJSON_IsObject(doc))
		return NULL;
	if (strcmp(coll, "actions") == 0)
		return entity_action_summary(doc);
	if (strcmp(coll, "rules") == 0)
		return cJSON_Duplicate(doc, true);
	s = cJSON_CreateObject();
	if (!s)
		return NULL;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (copy_field(s, doc, fields[i]) < 0)
			return NULL;
	if (strcmp(coll, "packages") == 0) {
		const cJSON *b = json_get_object(doc, "binding");

		if (entity_package_is_binding(doc) ? add_dup(s, "binding", b) < 0
						   : add_bool(s, "binding", false) < 0)
			return NULL;
	}
	return TAKE_PTR(s);
}

int entity_params_inherit(cJSON *action, const cJSON *defaults)
{
	cJSON *params = cJSON_GetObjectItemCaseSensitive(action, "parameters");
	const cJSON *it;
	int pos = 0;

	if (!cJSON_IsArray(defaults) || cJSON_GetArraySize(defaults) == 0)
		return 0;
	if (!cJSON_IsArray(params)) {
		params = cJSON_CreateArray();
		if (!params || obj_set(action, "parameters", params) < 0)
			return -ENOMEM;
	}
	/* Defaults first, in their order; the action's own keys win. */
	cJSON_ArrayForEach(it, defaults) {
		const char *k = json_get_string(it, "key");
		cJSON *copy;

		if (!k || entity_kv_find(params, k))
			continue;
		copy = cJSON_Duplicate(it, true);
		if (!copy || !cJSON_InsertItemInArray(params, pos, copy)) {
			cJSON_Delete(copy);
			return -ENOMEM;
		}
		pos++;
	}
	return 0;
}
