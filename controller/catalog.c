/* SPDX-License-Identifier: Apache-2.0 */
/* The system catalog (see catalog.h). The actions behave as OpenWhisk's
 * catalog (apache/openwhisk-catalog packages/utils) documents them: same
 * names, parameters and results; the code is ours. */
#include "controller/catalog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/now.h"
#include "controller/access.h"
#include "controller/entity.h"

/* Bumped with any change to an entity below (a changed document is
 * replaced either way; the version tells clients). */
#define CATALOG_VERSION "0.0.4"

struct catalog_action {
	const char *name;
	const char *description;
	const char *parameters;   /* JSON array for the "parameters" annotation, or NULL */
	const char *code;        /* NULL for a built-in action */
};

struct catalog_package {
	const char *name;
	const char *description;
	const char *kind;
	const struct catalog_action *actions;
	size_t action_count;
};

static const struct catalog_action utils_actions[] = {
	{ "echo", "Returns the input",
	  "[{\"name\":\"payload\",\"required\":false,\"description\":\"Any JSON entity\"}]",
	  "function main(params) {\n  return params || {};\n}\n" },
	{ "cat", "Concatenates input into a string",
	  "[{\"name\":\"lines\",\"required\":true,\"type\":\"array\","
	  "\"description\":\"An array of strings or numbers\"}]",
	  "function main(args) {\n"
	  "  const lines = args.lines || [];\n"
	  "  return { lines: lines, payload: lines.join('\\n') };\n"
	  "}\n" },
	{ "sort", "Sorts an array",
	  "[{\"name\":\"lines\",\"required\":true,\"type\":\"array\","
	  "\"description\":\"An array of strings\"}]",
	  /* JavaScript's default order (as strings), as the catalog's. */
	  "function main(args) {\n"
	  "  const lines = args.lines || [];\n"
	  "  lines.sort();\n"
	  "  return { lines: lines, length: lines.length };\n"
	  "}\n" },
	{ "head", "Extract prefix of an array",
	  "[{\"name\":\"lines\",\"required\":true,\"type\":\"array\","
	  "\"description\":\"An array of strings\"},"
	  "{\"name\":\"num\",\"required\":false,\"type\":\"integer\","
	  "\"description\":\"The length of the prefix\"}]",
	  "function main(args) {\n"
	  "  const lines = args.lines || [];\n"
	  "  const num = args.num || 1;\n"
	  "  return { lines: lines.slice(0, num), num: num };\n"
	  "}\n" },
	{ "split", "Split a string into an array",
	  "[{\"name\":\"payload\",\"required\":true,\"description\":\"A string\"},"
	  "{\"name\":\"separator\",\"required\":false,"
	  "\"description\":\"The character, or the regular expression, to use for splitting the "
	  "string\"}]",
	  "function main(args) {\n"
	  "  const text = String(args.payload);\n"
	  "  return { lines: text.split(args.separator || /\\r?\\n/), payload: args.payload };\n"
	  "}\n" },
	{ "date", "Current date and time", NULL,
	  "function main() {\n  return { date: new Date() };\n}\n" },
	{ "namespace", "Returns namespace for the authorization key used to invoke this action",
	  NULL, "function main() {\n  return { namespace: process.env.__OW_NAMESPACE };\n}\n" },
	{ "hosturl", "Returns the URL to activate an action or trigger",
	  "[{\"name\":\"web\",\"type\":\"boolean\",\"description\":\"True for web actions\"},"
	  "{\"name\":\"ext\",\"type\":\"string\","
	  "\"description\":\"Extension for web action, one of .html, .http, .json, .text\"},"
	  "{\"name\":\"trigger\",\"type\":\"boolean\","
	  "\"description\":\"True to construct path for trigger instead of action.\"},"
	  "{\"name\":\"path\",\"type\":\"string\","
	  "\"description\":\"The action name as just <action name> or <package name>/<action "
	  "name>.\"}]",
	  "function main(args) {\n"
	  "  const host = process.env.__OW_API_HOST;\n"
	  "  const ns = process.env.__OW_NAMESPACE;\n"
	  "  const web = args.web === true;\n"
	  "  const exts = ['.html', '.http', '.json', '.svg', '.text'];\n"
	  "  if (web && args.trigger)\n"
	  "    return { error: 'triggers are not allowed for web actions.' };\n"
	  "  if (web && args.ext && !exts.includes(args.ext))\n"
	  "    return { error: 'extension for web action must be one of [\"' + exts.join('\", \"') + '\"].' };\n"
	  "  if (!web && args.trigger && args.path && args.path.includes('/'))\n"
	  "    return { error: 'triggers are not allowed in packages.' };\n"
	  "  const base = web ? host + '/api/v1/web/' + ns\n"
	  "                   : host + '/api/v1/namespaces/' + ns + (args.trigger === true ? '/triggers' : '/actions');\n"
	  "  if (!args.path)\n"
	  "    return { url: base };\n"
	  "  const path = web && !args.path.includes('/') ? 'default/' + args.path : args.path;\n"
	  "  return { url: base + '/' + path + (web ? args.ext || '' : '') };\n"
	  "}\n" },
	{ "smash", "Nests all properties under given property",
	  "[{\"name\":\"$fieldName\",\"required\":true,\"type\":\"string\","
	  "\"description\":\"Name of property to nest object under\"}]",
	  "function main(args) {\n"
	  "  const field = args.$fieldName;\n"
	  "  if (typeof field !== 'string')\n"
	  "    return { error: \"Expected an argument '$fieldName' of type 'string'.\" };\n"
	  "  delete args.$fieldName;\n"
	  "  return { [field]: args };\n"
	  "}\n" },
};

/* Feed actions (annotation feed: true), run inside the controller
 * (feeds.h); their parameters as the alarms package documents them. */
static const struct catalog_action alarms_actions[] = {
	{ "alarm", "Fire trigger when alarm occurs",
	  "[{\"name\":\"cron\",\"required\":true,\"description\":\"A cron pattern: 5 fields, "
	  "or 6 with seconds first\"},"
	  "{\"name\":\"timezone\",\"required\":false,\"description\":\"An IANA time zone, "
	  "e.g. Europe/Berlin (default UTC)\"},"
	  "{\"name\":\"trigger_payload\",\"required\":false,\"description\":\"The parameters "
	  "of each fire (a string becomes {payload})\"},"
	  "{\"name\":\"startDate\",\"required\":false,\"description\":\"No fire before this "
	  "date\"},"
	  "{\"name\":\"stopDate\",\"required\":false,\"description\":\"No fire from this "
	  "date on\"},"
	  "{\"name\":\"strict\",\"required\":false,\"description\":\"Accepted; every fire is "
	  "on time\"}]",
	  NULL },
	{ "once", "Fire trigger once when alarm occurs",
	  "[{\"name\":\"date\",\"required\":true,\"description\":\"The date to fire at "
	  "(epoch ms or ISO-8601)\"},"
	  "{\"name\":\"trigger_payload\",\"required\":false,\"description\":\"The parameters "
	  "of the fire\"},"
	  "{\"name\":\"deleteAfterFire\",\"required\":false,\"description\":\"false, true "
	  "(delete the trigger) or rules (its rules too)\"}]",
	  NULL },
	{ "interval", "Fire trigger at specified interval",
	  "[{\"name\":\"minutes\",\"required\":true,\"description\":\"Minutes between "
	  "fires\"},"
	  "{\"name\":\"trigger_payload\",\"required\":false,\"description\":\"The parameters "
	  "of each fire\"},"
	  "{\"name\":\"startDate\",\"required\":false,\"description\":\"The first fire "
	  "(default 30 s after the call)\"},"
	  "{\"name\":\"stopDate\",\"required\":false,\"description\":\"No fire from this "
	  "date on\"}]",
	  NULL },
};

/* The MQTT feed (mqttfeed.h), run inside the controller; parameters as
 * mqttsub.h checks them. */
static const struct catalog_action mqtt_actions[] = {
	{ "subscribe", "Fire trigger for each message on MQTT topics",
	  "[{\"name\":\"url\",\"required\":true,\"description\":\"The broker: "
	  "mqtt://host:port, mqtts://host:port, ws:// or wss://\"},"
	  "{\"name\":\"topic\",\"required\":true,\"description\":\"A topic filter (+ and "
	  "# allowed) or an array of them\"},"
	  "{\"name\":\"qos\",\"required\":false,\"description\":\"0, 1 or 2 (default "
	  "1)\"},"
	  "{\"name\":\"clientId\",\"required\":false,\"description\":\"Default: the "
	  "same for the trigger across restarts\"},"
	  "{\"name\":\"cleanSession\",\"required\":false,\"description\":\"Default "
	  "false when qos > 0: the broker keeps what comes while the platform is down\"},"
	  "{\"name\":\"username\",\"required\":false},"
	  "{\"name\":\"password\",\"required\":false},"
	  "{\"name\":\"keepalive\",\"required\":false,\"description\":\"Seconds "
	  "(default 60)\"},"
	  "{\"name\":\"caCert\",\"required\":false,\"description\":\"PEM of the CA "
	  "for mqtts:// (default: the system's CAs)\"},"
	  "{\"name\":\"insecure\",\"required\":false,\"description\":\"true: do not "
	  "verify the broker's certificate\"},"
	  "{\"name\":\"payloadEncoding\",\"required\":false,\"description\":\"auto "
	  "(JSON, else UTF-8, else base64), utf8, base64 or json\"},"
	  "{\"name\":\"retained\",\"required\":false,\"description\":\"deliver "
	  "(default) or skip retained messages\"}]",
	  NULL },
};

static const struct catalog_package packages[] = {
	{ "utils", "Building blocks that format and assemble data", "nodejs:default", utils_actions,
	  sizeof(utils_actions) / sizeof(utils_actions[0]) },
	{ "alarms", "Alarms and periodic utility", "builtin", alarms_actions,
	  sizeof(alarms_actions) / sizeof(alarms_actions[0]) },
	{ "mqtt", "MQTT messages as trigger fires", "builtin", mqtt_actions,
	  sizeof(mqtt_actions) / sizeof(mqtt_actions[0]) },
};

#define PACKAGE_COUNT (sizeof(packages) / sizeof(packages[0]))

static cJSON *annotations_of(const char *description, const char *parameters, bool feed)
{
	cJSON *arr = cJSON_CreateArray(), *a;

	if (!arr)
		return NULL;
	a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "key", "description");
	cJSON_AddStringToObject(a, "value", description);
	cJSON_AddItemToArray(arr, a);
	if (parameters) {
		a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "key", "parameters");
		cJSON_AddItemToObject(a, "value", cJSON_Parse(parameters));
		cJSON_AddItemToArray(arr, a);
	}
	if (feed) {
		a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "key", "feed");
		cJSON_AddBoolToObject(a, "value", true);
		cJSON_AddItemToArray(arr, a);
	}
	return arr;
}

/* Equal but for when they were stored. */
static bool same_doc(const cJSON *a, const cJSON *b)
{
	_cleanup_json_ cJSON *x = cJSON_Duplicate(a, true), *y = cJSON_Duplicate(b, true);

	if (!x || !y)
		return false;
	cJSON_DeleteItemFromObject(x, "updated");
	cJSON_DeleteItemFromObject(y, "updated");
	return cJSON_Compare(x, y, true);
}

/* Store doc as coll/name of whisk.system unless it is stored already. */
static int put_if_changed(struct store *s, struct invoke *iv, const char *coll, const char *name,
			  const cJSON *doc, struct catalog_stats *st, struct err *e)
{
	_cleanup_json_ cJSON *old = NULL;
	int rc = store_entity_load(s, ACCESS_SYSTEM_NS, coll, name, &old, e);

	if (rc == -ENOENT)
		err_clear(e);
	else if (rc < 0)
		return rc;
	if (old && same_doc(old, doc)) {
		st->kept++;
		return 0;
	}
	rc = store_entity_save(s, ACCESS_SYSTEM_NS, coll, name, doc, now_epoch_ms(), true, e);
	if (rc < 0)
		return rc;
	if (old && iv && strcmp(coll, "actions") == 0)
		invoke_code_forget(iv, ACCESS_SYSTEM_NS, name, old);
	st->written++;
	return 0;
}

static int install_action(const struct cfg *c, struct store *s, struct invoke *iv,
			  const struct catalog_package *p, const struct catalog_action *a,
			  struct catalog_stats *st, struct err *e)
{
	_cleanup_json_ cJSON *body = cJSON_CreateObject(), *doc = NULL;
	char docns[2 * NAME_SIZE + 2], full[2 * NAME_SIZE + 2];
	cJSON *exec;
	struct err be = { 0 };
	int rc;

	if (!body)
		return err_set(e, -ENOMEM, "out of memory");
	exec = cJSON_AddObjectToObject(body, "exec");
	cJSON_AddStringToObject(exec, "kind", p->kind);
	if (a->code)
		cJSON_AddStringToObject(exec, "code", a->code);
	cJSON_AddStringToObject(body, "version", CATALOG_VERSION);
	cJSON_AddItemToObject(body, "annotations",
			      annotations_of(a->description, a->parameters, !a->code));
	snprintf(docns, sizeof(docns), "%s/%s", ACCESS_SYSTEM_NS, p->name);
	snprintf(full, sizeof(full), "%s/%s", p->name, a->name);
	rc = entity_action_build(c, docns, a->name, body, NULL, now_epoch_ms(), &doc, &be);
	if (rc == -EINVAL) {
		/* The configuration may have dropped the kind: the rest of the
		 * catalog still serves. */
		log_warn("catalog", "/%s/%s not installed: %s", ACCESS_SYSTEM_NS, full, be.msg);
		st->skipped++;
		return 0;
	}
	if (rc < 0) {
		*e = be;
		return rc;
	}
	return put_if_changed(s, iv, "actions", full, doc, st, e);
}

static int install_package(const struct cfg *c, struct store *s, struct invoke *iv,
			   const struct catalog_package *p, struct catalog_stats *st, struct err *e)
{
	_cleanup_json_ cJSON *body = cJSON_CreateObject(), *doc = NULL;
	int rc;

	if (!body)
		return err_set(e, -ENOMEM, "out of memory");
	cJSON_AddBoolToObject(body, "publish", true);
	cJSON_AddStringToObject(body, "version", CATALOG_VERSION);
	cJSON_AddItemToObject(body, "annotations", annotations_of(p->description, NULL, false));
	rc = entity_package_build(ACCESS_SYSTEM_NS, p->name, body, NULL, now_epoch_ms(), &doc, e);
	if (rc == 0)
		rc = put_if_changed(s, iv, "packages", p->name, doc, st, e);
	for (size_t i = 0; rc == 0 && i < p->action_count; i++)
		rc = install_action(c, s, iv, p, &p->actions[i], st, e);
	return rc;
}

/* Names of whisk.system's stored entities of one collection. */
struct stored_names {
	char (*v)[2 * NAME_SIZE + 2];
	size_t n, cap;
};

static int stored_row(void *arg, const char *doc, size_t len)
{
	struct stored_names *sn = arg;
	_cleanup_json_ cJSON *j = NULL;
	const char *ns, *name, *slash;

	if (json_parse(doc, len, &j, NULL) < 0)
		return 0;
	ns = json_get_string(j, "namespace");
	name = json_get_string(j, "name");
	if (!ns || !name)
		return 0;
	if (sn->n == sn->cap) {
		size_t cap = sn->cap ? sn->cap * 2 : 16;
		void *v = realloc(sn->v, cap * sizeof(*sn->v));

		if (!v)
			return -ENOMEM;
		sn->v = v;
		sn->cap = cap;
	}
	/* An action inside a package is "whisk.system/pkg" + "name". */
	slash = strchr(ns, '/');
	snprintf(sn->v[sn->n++], sizeof(sn->v[0]), "%s%s%s", slash ? slash + 1 : "",
		 slash ? "/" : "", name);
	return 0;
}

static bool in_catalog(const char *coll, const char *full)
{
	for (size_t i = 0; i < PACKAGE_COUNT; i++) {
		const struct catalog_package *p = &packages[i];
		size_t plen = strlen(p->name);

		if (strcmp(coll, "packages") == 0) {
			if (strcmp(full, p->name) == 0)
				return true;
			continue;
		}
		if (strncmp(full, p->name, plen) != 0 || full[plen] != '/')
			continue;
		for (size_t k = 0; k < p->action_count; k++)
			if (strcmp(full + plen + 1, p->actions[k].name) == 0)
				return true;
	}
	return false;
}

/* Actions first, so a package is never left holding removed ones. */
static int remove_stale(struct store *s, struct invoke *iv, const char *coll,
			struct catalog_stats *st, struct err *e)
{
	struct stored_names sn = { 0 };
	int rc = store_entity_list(s, ACCESS_SYSTEM_NS, coll, 0, 0, stored_row, &sn, e);

	for (size_t i = 0; rc == 0 && i < sn.n; i++) {
		char *text = NULL;
		size_t len = 0;

		if (in_catalog(coll, sn.v[i]))
			continue;
		rc = store_entity_delete(s, ACCESS_SYSTEM_NS, coll, sn.v[i], &text, &len, e);
		if (rc == 0 && iv && strcmp(coll, "actions") == 0) {
			_cleanup_json_ cJSON *old = NULL;

			if (json_parse(text, len, &old, NULL) == 0)
				invoke_code_forget(iv, ACCESS_SYSTEM_NS, sn.v[i], old);
		}
		free(text);
		if (rc == -ENOENT) {
			err_clear(e);
			rc = 0;
			continue;
		}
		if (rc == 0)
			st->removed++;
	}
	free(sn.v);
	return rc;
}

int catalog_install(const struct cfg *c, struct store *s, struct invoke *iv,
		    struct catalog_stats *stats, struct err *e)
{
	struct catalog_stats st = { 0 };
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < PACKAGE_COUNT; i++)
		rc = install_package(c, s, iv, &packages[i], &st, e);
	if (rc == 0)
		rc = remove_stale(s, iv, "actions", &st, e);
	if (rc == 0)
		rc = remove_stale(s, iv, "packages", &st, e);
	if (stats)
		*stats = st;
	return rc;
}
