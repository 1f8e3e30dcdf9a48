/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP routes (see gateway.h). A stored API:
 *   {"namespace", "name": basePath, "apiName", "swagger": {...},
 *    "secure": {"<verb> <relpath>": secureKey}}
 * The swagger is what getApi hands back; "secure" never leaves. */
#include "controller/gateway.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/codec.h"
#include "common/now.h"
#include "controller/entity.h"
#include "controller/web.h"

#define COLL "apis"

static const char *const verbs[] = { "get", "post", "put", "delete", "patch", "head", "options" };
#define VERB_COUNT (sizeof(verbs) / sizeof(verbs[0]))


void gateway_target_fini(struct gateway_target *t)
{
	json_delete(t->params);
	t->params = NULL;
}

/* Object member k of o, to change. */
static cJSON *member(cJSON *o, const char *k)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsObject(v) ? v : NULL;
}

/* The verb's index in verbs[] (any case), -1 when it is none of them. */
static int verb_index(const char *v)
{
	for (size_t i = 0; v && i < VERB_COUNT; i++)
		if (strcasecmp(v, verbs[i]) == 0)
			return (int)i;
	return -1;
}

/* Member `key` of o as a string: 0 and *out (NULL when absent and not
 * required); -EINVAL naming the field otherwise. */
static int str_of(const cJSON *o, const char *what, const char *key, bool required,
		  const char **out, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	*out = NULL;
	if (!v || cJSON_IsNull(v)) {
		if (required)
			return err_set(e, -EINVAL, "%s is missing the %s field.", what, key);
		return 0;
	}
	if (!cJSON_IsString(v) || !v->valuestring)
		return err_set(e, -EINVAL, "%s field %s must be a string.", what, key);
	if (required && !v->valuestring[0])
		return err_set(e, -EINVAL, "%s is missing the %s field.", what, key);
	*out = v->valuestring;
	return 0;
}

/* A base path or relpath: "/" then printable ASCII without spaces, '?' or
 * '#', at most GATEWAY_PATH_MAX - 1 bytes. */
static int check_path(const char *what, const char *p, struct err *e)
{
	size_t n = p ? strlen(p) : 0;

	if (!n)
		return err_set(e, -EINVAL, "%s must not be empty.", what);
	if (p[0] != '/')
		return err_set(e, -EINVAL, "%s '%.64s' must begin with '/'.", what, p);
	if (n >= GATEWAY_PATH_MAX)
		return err_set(e, -EINVAL, "%s is longer than %u characters.", what,
			       GATEWAY_PATH_MAX - 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c <= ' ' || c >= 0x7f || c == '?' || c == '#')
			return err_set(e, -EINVAL, "%s '%.64s' holds a character a path may not.", what, p);
		if (c == '/' && p[i + 1] == '/')
			return err_set(e, -EINVAL, "%s '%.64s' has an empty segment.", what, p);
	}
	return 0;
}

/* The target must be a web action (as wsk api create demands). */
static int check_web_action(struct invoke *iv, const char *ns, const char *pkg, const char *name,
			    struct err *e)
{
	struct invoke_target t = { 0 };
	struct err re = { 0 };
	bool web;
	/* Web actions answer anyone; resolve as their owner. */
	int rc = invoke_resolve(iv, ns, ns, pkg, name, &t, &re);

	if (rc == -ENOENT || rc == -EPERM)
		return err_set(e, -EINVAL, "Action '/%s/%s%s%s' does not exist.", ns, pkg,
			       pkg[0] ? "/" : "", name);
	if (rc < 0) {
		*e = re;
		return rc;
	}
	web = entity_annotation_true(t.action, "web-export");
	invoke_target_fini(&t);
	if (!web)
		return err_set(e, -EINVAL,
			       "Action '/%s/%s%s%s' is not a web action. Issue 'wsk action update "
			       "\"%s%s%s\" --web true' to convert the action to a web action.",
			       ns, pkg, pkg[0] ? "/" : "", name, pkg, pkg[0] ? "/" : "", name);
	return 0;
}

static void web_url(char *buf, size_t size, const char *host_url, const char *ns, const char *pkg,
		    const char *name, const char *ext)
{
	snprintf(buf, size, "%s/api/v1/web/%s/%s/%s.%s", host_url, ns, pkg[0] ? pkg : "default",
		 name, ext);
}

/* The operation object of one endpoint. */
static cJSON *operation_new(const char *verb, const char *relpath, const char *url, const char *ns,
			    const char *pkg, const char *name)
{
	cJSON *op = cJSON_CreateObject(), *x, *params = NULL;
	char id[GATEWAY_PATH_MAX + 16];

	if (!op)
		return NULL;
	snprintf(id, sizeof(id), "%s_%s", verb, relpath);
	cJSON_AddStringToObject(op, "operationId", id);
	/* {name} segments are path parameters. */
	for (const char *p = strchr(relpath, '{'); p; p = strchr(p + 1, '{')) {
		const char *close = strchr(p, '}');
		char pname[NAME_SIZE], desc[NAME_SIZE + 32];
		cJSON *pp;

		if (!close || (size_t)(close - p - 1) >= sizeof(pname))
			break;
		snprintf(pname, sizeof(pname), "%.*s", (int)(close - p - 1), p + 1);
		if (!params)
			params = cJSON_AddArrayToObject(op, "parameters");
		pp = cJSON_CreateObject();
		cJSON_AddStringToObject(pp, "name", pname);
		cJSON_AddStringToObject(pp, "in", "path");
		snprintf(desc, sizeof(desc), "Default description for '%s'", pname);
		cJSON_AddStringToObject(pp, "description", desc);
		cJSON_AddBoolToObject(pp, "required", true);
		cJSON_AddStringToObject(pp, "type", "string");
		cJSON_AddItemToArray(params, pp);
	}
	x = cJSON_AddObjectToObject(op, "x-openwhisk");
	cJSON_AddStringToObject(x, "url", url);
	cJSON_AddStringToObject(x, "namespace", ns);
	cJSON_AddStringToObject(x, "package", pkg);
	cJSON_AddStringToObject(x, "action", name);
	cJSON_AddItemToObject(op, "responses",
			      cJSON_Parse("{\"default\":{\"description\":\"Default response\"}}"));
	return op;
}

static cJSON *swagger_base(const char *basepath, const char *title)
{
	cJSON *sw = cJSON_CreateObject(), *info;

	if (!sw)
		return NULL;
	cJSON_AddStringToObject(sw, "swagger", "2.0");
	info = cJSON_AddObjectToObject(sw, "info");
	cJSON_AddStringToObject(info, "title", title ? title : basepath);
	cJSON_AddStringToObject(info, "version", "1.0.0");
	cJSON_AddStringToObject(sw, "basePath", basepath);
	cJSON_AddObjectToObject(sw, "paths");
	return sw;
}

static int load_api(struct store *s, const char *ns, const char *basepath, cJSON **out,
		    struct err *e)
{
	int rc = store_entity_load(s, ns, COLL, basepath, out, e);

	if (rc == -ENOENT) {
		err_clear(e);
		*out = NULL;
		return 0;
	}
	return rc;
}

static int save_api(struct store *s, const char *ns, const char *basepath, cJSON *doc,
		    struct err *e)
{
	size_t len = 0;
	char *text = json_print(doc, &len);
	int rc;

	if (!text)
		return err_set(e, -ENOMEM, "out of memory");
	rc = len > GATEWAY_DOC_MAX
		     ? err_set(e, -E2BIG, "The API document is larger than %u bytes.", GATEWAY_DOC_MAX)
		     : store_entity_put(s, ns, COLL, basepath, text, len, now_epoch_ms(), true, e);
	json_free(text);
	return rc;
}

/* The createApi / getApi shape of a stored API. */
static cJSON *cli_api(const cJSON *doc, const char *host_url)
{
	const char *ns = json_get_string(doc, "namespace"), *bp = json_get_string(doc, "name");
	cJSON *o = cJSON_CreateObject(), *v;
	char id[NAME_SIZE + GATEWAY_PATH_MAX + 8], url[512];

	if (!o || !ns || !bp) {
		cJSON_Delete(o);
		return NULL;
	}
	snprintf(id, sizeof(id), "API:%s:%s", ns, bp);
	snprintf(url, sizeof(url), "%s/api/%s", host_url, ns);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "key", id);
	v = cJSON_AddObjectToObject(o, "value");
	cJSON_AddStringToObject(v, "namespace", ns);
	cJSON_AddBoolToObject(v, "gwApiActivated", true);
	cJSON_AddStringToObject(v, "tenantId", ns);
	cJSON_AddStringToObject(v, "gwApiUrl", url);
	cJSON_AddItemToObject(v, "apidoc",
			      cJSON_Duplicate(json_get_object(doc, "swagger"), true));
	return o;
}

/* "_" and the apidoc's own namespace mean the caller's (route management
 * replaces them with __ow_user). */
static const char *own_ns(const char *ns, const char *doc_ns, const char *caller)
{
	return !ns || strcmp(ns, "_") == 0 || (doc_ns && strcmp(ns, doc_ns) == 0) ? caller : ns;
}

/* An endpoint added to the API of its base path (made when missing). */
static int create_endpoint(struct store *s, struct invoke *iv, const char *caller,
			   const cJSON *doc, const char *ext, const char *host_url, cJSON **api,
			   struct err *e)
{
	const char *doc_ns, *bp, *rel, *method, *api_name, *aname, *ans, *authkey, *secure_key, *bm,
		*bu;
	const cJSON *action = json_get_object(doc, "action");
	_cleanup_json_ cJSON *stored = NULL;
	struct name_fqn f;
	cJSON *sw, *paths, *path, *op, *secure;
	char url[1024], skey[GATEWAY_PATH_MAX + 16];
	int rc, verb;

	if ((rc = str_of(doc, "apidoc", "namespace", true, &doc_ns, e)) < 0 ||
	    (rc = str_of(doc, "apidoc", "gatewayBasePath", true, &bp, e)) < 0 ||
	    (rc = str_of(doc, "apidoc", "gatewayPath", true, &rel, e)) < 0 ||
	    (rc = str_of(doc, "apidoc", "gatewayMethod", true, &method, e)) < 0 ||
	    (rc = str_of(doc, "apidoc", "apiName", false, &api_name, e)) < 0)
		return rc;
	if (!cJSON_IsObject(action))
		return err_set(e, -EINVAL, "apidoc is missing the action field.");
	if ((rc = str_of(action, "action", "name", true, &aname, e)) < 0 ||
	    (rc = str_of(action, "action", "namespace", true, &ans, e)) < 0 ||
	    (rc = str_of(action, "action", "backendMethod", true, &bm, e)) < 0 ||
	    (rc = str_of(action, "action", "backendUrl", true, &bu, e)) < 0 ||
	    (rc = str_of(action, "action", "authkey", true, &authkey, e)) < 0 ||
	    (rc = str_of(action, "action", "secureKey", false, &secure_key, e)) < 0)
		return rc;
	/* The caller is its Basic key; the key in the document is not kept. */
	(void)authkey;
	(void)bm;
	(void)bu;
	if (secure_key && strlen(secure_key) >= sizeof(((struct gateway_target *)0)->secure_key))
		return err_set(e, -EINVAL, "action field secureKey is too long.");
	if ((rc = check_path("gatewayBasePath", bp, e)) < 0 ||
	    (rc = check_path("gatewayPath", rel, e)) < 0)
		return rc;
	verb = verb_index(method);
	if (verb < 0)
		return err_set(e, -EINVAL,
			       "gatewayMethod '%.16s' is not one of GET, POST, PUT, DELETE, PATCH, HEAD, "
			       "OPTIONS.", method);
	if (!aname || name_fqn_parse(aname, own_ns(ans, doc_ns, caller), &f) < 0)
		return err_set(e, -EINVAL, "action name '%.64s' is not a valid action name.", aname);
	if (aname[0] == '/' && own_ns(f.ns, doc_ns, caller) == caller)
		snprintf(f.ns, sizeof(f.ns), "%s", caller);
	rc = check_web_action(iv, f.ns, f.pkg, f.name, e);
	if (rc < 0)
		return rc;

	rc = load_api(s, caller, bp, &stored, e);
	if (rc < 0)
		return rc;
	if (!stored) {
		stored = cJSON_CreateObject();
		if (!stored)
			return err_set(e, -ENOMEM, "out of memory");
		cJSON_AddStringToObject(stored, "namespace", caller);
		cJSON_AddStringToObject(stored, "name", bp);
		cJSON_AddItemToObject(stored, "swagger", swagger_base(bp, api_name));
		cJSON_AddObjectToObject(stored, "secure");
	}
	sw = member(stored, "swagger");
	paths = member(sw, "paths");
	secure = member(stored, "secure");
	if (!paths || !secure)
		return err_set(e, -ENOMEM, "out of memory");
	path = member(paths, rel);
	if (!path)
		path = cJSON_AddObjectToObject(paths, rel);
	web_url(url, sizeof(url), host_url, f.ns, f.pkg, f.name, ext);
	op = operation_new(verbs[verb], rel, url, f.ns, f.pkg, f.name);
	if (!path || !op) {
		cJSON_Delete(op);
		return err_set(e, -ENOMEM, "out of memory");
	}
	cJSON_DeleteItemFromObjectCaseSensitive(path, verbs[verb]);
	cJSON_AddItemToObject(path, verbs[verb], op);
	snprintf(skey, sizeof(skey), "%s %s", verbs[verb], rel);
	cJSON_DeleteItemFromObjectCaseSensitive(secure, skey);
	if (secure_key)
		cJSON_AddStringToObject(secure, skey, secure_key);
	rc = save_api(s, caller, bp, stored, e);
	if (rc == 0)
		*api = TAKE_PTR(stored);
	return rc;
}

/* The response type an x-openwhisk url names ("....json"), else json. */
static const char *url_ext(const char *url)
{
	const char *dot = url ? strrchr(url, '.') : NULL;
	enum web_ext ext;

	return dot && web_ext_parse(dot + 1, &ext) == 0 ? dot + 1 : "json";
}

/* A whole swagger document replacing the API of its base path: each
 * operation's x-openwhisk names a web action; its url is made ours. */
static int create_swagger(struct store *s, struct invoke *iv, const char *caller, cJSON *doc,
			  const char *host_url, cJSON **api, struct err *e)
{
	cJSON *given = cJSON_GetObjectItemCaseSensitive(doc, "swagger"), *sw, *paths, *path, *op;
	_cleanup_json_ cJSON *parsed = NULL, *stored = NULL;
	const char *bp, *doc_ns;
	int rc;

	if (cJSON_GetObjectItemCaseSensitive(doc, "gatewayBasePath"))
		return err_set(e, -EINVAL, "swagger and gatewayBasePath are mutually exclusive and "
					   "cannot be specified together.");
	if ((rc = str_of(doc, "apidoc", "namespace", true, &doc_ns, e)) < 0)
		return rc;
	if (cJSON_IsString(given)) {
		if (json_parse_bounded(given->valuestring, strlen(given->valuestring), &parsed, NULL) < 0)
			return err_set(e, -EINVAL, "swagger field cannot be parsed. Ensure it is valid JSON.");
		given = parsed;
	}
	if (!cJSON_IsObject(given))
		return err_set(e, -EINVAL, "swagger field should be an object or a JSON string.");
	if ((rc = str_of(given, "swagger", "basePath", true, &bp, e)) < 0)
		return rc;
	if (!cJSON_IsObject(json_get_object(given, "paths")))
		return err_set(e, -EINVAL, "swagger is missing the paths field.");
	if (!cJSON_IsObject(json_get_object(given, "info")))
		return err_set(e, -EINVAL, "swagger is missing the info field.");
	if ((rc = check_path("basePath", bp, e)) < 0)
		return rc;
	sw = cJSON_Duplicate(given, true);
	stored = cJSON_CreateObject();
	if (!sw || !stored) {
		cJSON_Delete(sw);
		return err_set(e, -ENOMEM, "out of memory");
	}
	cJSON_AddStringToObject(stored, "namespace", caller);
	cJSON_AddStringToObject(stored, "name", bp);
	cJSON_AddItemToObject(stored, "swagger", sw);
	cJSON_AddObjectToObject(stored, "secure");
	paths = member(sw, "paths");
	cJSON_ArrayForEach(path, paths) {
		if ((rc = check_path("path", path->string, e)) < 0)
			return rc;
		if (!cJSON_IsObject(path))
			return err_set(e, -EINVAL, "path '%.64s' must be an object.", path->string);
		cJSON_ArrayForEach(op, path) {
			cJSON *x = cJSON_GetObjectItemCaseSensitive(op, "x-openwhisk");
			const char *ans, *pkg, *aname, *url;
			char ns[NAME_SIZE], full[1024];

			if (strcmp(op->string, "parameters") == 0)
				continue;
			if (verb_index(op->string) < 0)
				return err_set(e, -EINVAL, "path '%.64s': '%.16s' is not an HTTP method.",
					       path->string, op->string);
			if (!cJSON_IsObject(x))
				return err_set(e, -EINVAL, "path '%.64s' %s is missing x-openwhisk.",
					       path->string, op->string);
			if ((rc = str_of(x, "x-openwhisk", "namespace", true, &ans, e)) < 0 ||
			    (rc = str_of(x, "x-openwhisk", "action", true, &aname, e)) < 0 ||
			    (rc = str_of(x, "x-openwhisk", "package", false, &pkg, e)) < 0 ||
			    (rc = str_of(x, "x-openwhisk", "url", false, &url, e)) < 0)
				return rc;
			snprintf(ns, sizeof(ns), "%s", own_ns(ans, doc_ns, caller));
			pkg = pkg && strcmp(pkg, "default") != 0 ? pkg : "";
			if (!name_is_valid(ns) || (pkg[0] && !name_is_valid(pkg)) ||
			    !name_is_valid(aname))
				return err_set(e, -EINVAL, "path '%.64s' %s names no valid action.",
					       path->string, op->string);
			rc = check_web_action(iv, ns, pkg, aname, e);
			if (rc < 0)
				return rc;
			web_url(full, sizeof(full), host_url, ns, pkg, aname, url_ext(url));
			cJSON_ReplaceItemInObjectCaseSensitive(x, "namespace", cJSON_CreateString(ns));
			cJSON_DeleteItemFromObjectCaseSensitive(x, "url");
			cJSON_AddStringToObject(x, "url", full);
		}
	}
	rc = save_api(s, caller, bp, stored, e);
	if (rc == 0)
		*api = TAKE_PTR(stored);
	return rc;
}

int gateway_create(struct store *s, struct invoke *iv, const char *caller, const cJSON *body,
		   const char *responsetype, const char *host_url, cJSON **out, struct err *e)
{
	const cJSON *given = cJSON_GetObjectItemCaseSensitive(body, "apidoc");
	_cleanup_json_ cJSON *parsed = NULL, *api = NULL;
	const char *ext = responsetype ? responsetype : "json";
	enum web_ext kind;
	cJSON *doc;
	int rc;

	if (web_ext_parse(ext, &kind) < 0)
		return err_set(e, -EINVAL, "responsetype '%.16s' is not one of json, http, html, svg, "
					   "text.", responsetype);
	if (!given || cJSON_IsNull(given))
		return err_set(e, -EINVAL, "apidoc is required.");
	if (cJSON_IsString(given)) {
		if (json_parse_bounded(given->valuestring, strlen(given->valuestring), &parsed, NULL) < 0)
			return err_set(e, -EINVAL, "apidoc field cannot be parsed. Ensure it is valid JSON.");
		doc = parsed;
	} else {
		/* Copied: the namespaces in it are rewritten. */
		doc = parsed = cJSON_Duplicate(given, true);
		if (!doc)
			return err_set(e, -ENOMEM, "out of memory");
	}
	if (!cJSON_IsObject(doc))
		return err_set(e, -EINVAL, "apidoc field should be a JSON object or a JSON string.");
	rc = cJSON_GetObjectItemCaseSensitive(doc, "swagger")
		     ? create_swagger(s, iv, caller, doc, host_url, &api, e)
		     : create_endpoint(s, iv, caller, doc, ext, host_url, &api, e);
	if (rc < 0)
		return rc;
	*out = cli_api(api, host_url);
	return *out ? 0 : err_set(e, -ENOMEM, "out of memory");
}

/* Every stored API of a namespace, parsed. */
static int api_row(void *arg, const char *doc, size_t len)
{
	cJSON *arr = arg, *j = NULL;

	if (json_parse(doc, len, &j, NULL) < 0)
		return 0;
	cJSON_AddItemToArray(arr, j);
	return 0;
}

static int list_apis(struct store *s, const char *ns, cJSON **out, struct err *e)
{
	cJSON *arr = cJSON_CreateArray();
	int rc;

	if (!arr)
		return err_set(e, -ENOMEM, "out of memory");
	rc = store_entity_list(s, ns, COLL, 0, 0, api_row, arr, e);
	if (rc < 0) {
		cJSON_Delete(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

/* basepath names this API: its base path, or (not starting with '/') its
 * title. */
static bool api_named(const cJSON *api, const char *basepath)
{
	const cJSON *sw = json_get_object(api, "swagger");
	const char *bp = json_get_string(api, "name");
	const char *title = json_get_string(json_get_object(sw, "info"), "title");

	if (basepath[0] == '/')
		return bp && strcmp(bp, basepath) == 0;
	return title && strcmp(title, basepath) == 0;
}

static bool api_has(const cJSON *api, const char *relpath, const char *operation)
{
	const cJSON *paths = json_get_object(json_get_object(api, "swagger"), "paths"), *p, *op;

	cJSON_ArrayForEach(p, paths) {
		if (relpath && strcmp(p->string, relpath) != 0)
			continue;
		if (!operation)
			return true;
		cJSON_ArrayForEach(op, p)
			if (strcasecmp(op->string, operation) == 0)
				return true;
	}
	return false;
}

int gateway_get(struct store *s, const char *caller, const struct gateway_query *qry,
		const char *host_url, cJSON **out, struct err *e)
{
	_cleanup_json_ cJSON *all = NULL, *res = cJSON_CreateObject();
	const cJSON *api;
	cJSON *arr;
	uint64_t i = 0;
	int rc;

	if (!res || !(arr = cJSON_AddArrayToObject(res, "apis")))
		return err_set(e, -ENOMEM, "out of memory");
	rc = list_apis(s, caller, &all, e);
	if (rc < 0)
		return rc;
	cJSON_ArrayForEach(api, all) {
		cJSON *item;

		if (qry->basepath && qry->basepath[0] && !api_named(api, qry->basepath))
			continue;
		if ((qry->relpath || qry->operation) && !api_has(api, qry->relpath, qry->operation))
			continue;
		if (i++ < qry->skip)
			continue;
		if (qry->limit && (uint64_t)cJSON_GetArraySize(arr) >= qry->limit)
			break;
		item = cli_api(api, host_url);
		if (!item)
			return err_set(e, -ENOMEM, "out of memory");
		cJSON_AddItemToArray(arr, item);
	}
	*out = TAKE_PTR(res);
	return 0;
}

/* Drop the secure keys of relpath (all its verbs, or one). */
static void drop_secure(cJSON *api, const char *relpath, const char *verb)
{
	cJSON *secure = member(api, "secure");

	for (size_t i = 0; i < VERB_COUNT; i++) {
		char key[GATEWAY_PATH_MAX + 16];

		if (verb && strcasecmp(verb, verbs[i]) != 0)
			continue;
		snprintf(key, sizeof(key), "%s %s", verbs[i], relpath);
		cJSON_DeleteItemFromObjectCaseSensitive(secure, key);
	}
}

int gateway_delete(struct store *s, const char *caller, const char *basepath, const char *relpath,
		   const char *operation, struct err *e)
{
	_cleanup_json_ cJSON *all = NULL;
	cJSON *api = NULL, *it, *paths, *path;
	char bp[GATEWAY_PATH_MAX];
	int rc;

	if (!basepath || !basepath[0])
		return err_set(e, -EINVAL, "basepath is required.");
	rc = list_apis(s, caller, &all, e);
	if (rc < 0)
		return rc;
	cJSON_ArrayForEach(it, all) {
		if (api_named(it, basepath)) {
			api = it;
			break;
		}
	}
	if (!api)
		return err_set(e, -ENOENT, "API '%.256s' does not exist.", basepath);
	snprintf(bp, sizeof(bp), "%s", json_get_string(api, "name"));
	paths = member(member(api, "swagger"), "paths");
	if (relpath && relpath[0]) {
		path = member(paths, relpath);
		if (!path)
			return err_set(e, -ENOENT, "path %.256s does not exist in the API.", relpath);
		if (operation && operation[0]) {
			if (!cJSON_GetObjectItem(path, operation))
				return err_set(e, -ENOENT,
					       "path %.256s with operation %.16s does not exist in the API.",
					       relpath, operation);
			cJSON_DeleteItemFromObject(path, operation);
			drop_secure(api, relpath, operation);
			if (cJSON_GetArraySize(path) == 0)
				cJSON_DeleteItemFromObjectCaseSensitive(paths, relpath);
		} else {
			cJSON_DeleteItemFromObjectCaseSensitive(paths, relpath);
			drop_secure(api, relpath, NULL);
		}
		if (cJSON_GetArraySize(paths) > 0)
			return save_api(s, caller, bp, api, e);
	}
	rc = store_entity_delete(s, caller, COLL, bp, NULL, NULL, e);
	return rc == -ENOENT ? 0 : rc;
}

/* ---- serving ----------------------------------------------------------- */

#define SEGS_MAX 64

struct segs {
	char buf[GATEWAY_PATH_MAX];   /* decoded segments, NUL-separated */
	const char *seg[SEGS_MAX];
	size_t raw_off[SEGS_MAX];     /* where each starts in the raw path */
	size_t n;
};

/* Split "/a/b%20c/" into decoded segments (one trailing slash dropped). */
static int split_raw(const char *path, size_t len, struct segs *out)
{
	const char *p = path, *end = path + len;
	size_t w = 0;

	out->n = 0;
	if (len && end[-1] == '/')
		end--;
	while (p < end) {
		const char *seg_end;

		if (*p != '/')
			return -ENOENT;
		p++;
		seg_end = memchr(p, '/', (size_t)(end - p));
		if (!seg_end)
			seg_end = end;
		if (seg_end == p || out->n == SEGS_MAX)
			return -ENOENT;
		out->raw_off[out->n] = (size_t)(p - 1 - path);
		out->seg[out->n++] = out->buf + w;
		for (const char *q = p;;) {
			unsigned char c;
			int r = codec_pct_next(&q, seg_end, false, &c);

			if (r < 0)
				return -EINVAL;
			if (r == 0)
				break;
			if (c == '\0' || w + 2 > sizeof(out->buf))
				return -ENOENT;
			out->buf[w++] = (char)c;
		}
		out->buf[w++] = '\0';
		p = seg_end;
	}
	return 0;
}

/* A template path ("/a/{id}") split the same way, not decoded. */
static int split_template(const char *t, struct segs *out)
{
	size_t n = strlen(t);

	if (n >= sizeof(out->buf))
		return -ENOENT;
	memcpy(out->buf, t, n + 1);
	out->n = 0;
	for (char *p = out->buf; *p;) {
		char *slash;

		if (*p != '/')
			return -ENOENT;
		*p++ = '\0';
		if (!*p)
			break;
		if (out->n == SEGS_MAX)
			return -ENOENT;
		out->seg[out->n++] = p;
		slash = strchr(p, '/');
		if (!slash)
			break;
		p = slash;
	}
	return 0;
}

static bool is_param(const char *seg)
{
	size_t n = strlen(seg);

	return n > 2 && seg[0] == '{' && seg[n - 1] == '}';
}

/* Does template t match request segments [from, r->n)? Its number of
 * parameters (lower is more specific), or -1. */
static int template_match(const struct segs *t, const struct segs *r, size_t from)
{
	int params = 0;

	if (t->n != r->n - from)
		return -1;
	for (size_t i = 0; i < t->n; i++) {
		if (is_param(t->seg[i]))
			params++;
		else if (strcmp(t->seg[i], r->seg[from + i]) != 0)
			return -1;
	}
	return params;
}

static int target_of(const cJSON *api, const char *relpath, const struct segs *tpl,
		     const struct segs *req, size_t from, const cJSON *op, const char *verb,
		     const char *raw, size_t raw_len, struct gateway_target *t, struct err *e)
{
	const cJSON *x = json_get_object(op, "x-openwhisk");
	const char *ns = json_get_string(x, "namespace"), *pkg = json_get_string(x, "package");
	const char *name = json_get_string(x, "action"), *key;
	char skey[GATEWAY_PATH_MAX + 16];
	size_t off = from < req->n ? req->raw_off[from] : raw_len;

	if (!ns || !name || !name_is_valid(ns) || !name_is_valid(name))
		return err_set(e, -ENOENT, "The requested resource does not exist.");
	snprintf(t->ns, sizeof(t->ns), "%s", ns);
	snprintf(t->pkg, sizeof(t->pkg), "%s", pkg && strcmp(pkg, "default") != 0 ? pkg : "");
	snprintf(t->name, sizeof(t->name), "%s", name);
	snprintf(t->ext, sizeof(t->ext), "%s", url_ext(json_get_string(x, "url")));
	snprintf(t->rest, sizeof(t->rest), "%.*s", (int)(raw_len - off), raw + off);
	snprintf(skey, sizeof(skey), "%s %s", verb, relpath);
	key = json_get_string(json_get_object(api, "secure"), skey);
	snprintf(t->secure_key, sizeof(t->secure_key), "%s", key ? key : "");
	t->params = cJSON_CreateObject();
	if (!t->params)
		return err_set(e, -ENOMEM, "out of memory");
	for (size_t i = 0; i < tpl->n; i++) {
		char pname[NAME_SIZE];

		if (!is_param(tpl->seg[i]))
			continue;
		snprintf(pname, sizeof(pname), "%.*s", (int)strlen(tpl->seg[i]) - 2, tpl->seg[i] + 1);
		cJSON_AddStringToObject(t->params, pname, req->seg[from + i]);
	}
	return 0;
}

int gateway_match(struct store *s, const char *tenant, const char *method, const char *path,
		  size_t path_len, struct gateway_target *t, struct err *e)
{
	_cleanup_json_ cJSON *all = NULL;
	struct segs *req = NULL, *bp = NULL, *tpl = NULL;
	const cJSON *best_api = NULL, *best_op = NULL, *api, *list;
	const char *best_rel = NULL;
	size_t best_from = 0;
	int best_params = -1, rc, verb = verb_index(method);
	char allow[64] = "";

	memset(t, 0, sizeof(*t));
	rc = list_apis(s, tenant, &all, e);
	if (rc < 0)
		return rc;
	req = calloc(3, sizeof(*req));
	if (!req)
		return err_set(e, -ENOMEM, "out of memory");
	bp = req + 1;
	tpl = req + 2;
	rc = split_raw(path, path_len, req);
	if (rc == -EINVAL) {
		free(req);
		return err_set(e, -EINVAL, "malformed URI");
	}
	/* A path no template can match (too long, %00): nothing to walk. */
	list = rc == 0 ? all : NULL;
	cJSON_ArrayForEach(api, list) {
		const cJSON *paths = json_get_object(json_get_object(api, "swagger"), "paths"), *p;
		const char *base = json_get_string(api, "name");
		size_t from;

		if (!base || split_template(base, bp) < 0 || bp->n > req->n)
			continue;
		for (from = 0; from < bp->n; from++)
			if (strcmp(bp->seg[from], req->seg[from]) != 0)
				break;
		if (from < bp->n || (best_api && from < best_from))
			continue;
		cJSON_ArrayForEach(p, paths) {
			const cJSON *op;
			int params;

			if (split_template(p->string, tpl) < 0)
				continue;
			params = template_match(tpl, req, from);
			if (params < 0)
				continue;
			op = verb >= 0 ? cJSON_GetObjectItemCaseSensitive(p, verbs[verb]) : NULL;
			if (!op) {
				/* The path is there for other methods. */
				allow[0] = '\0';
				for (size_t i = 0; i < VERB_COUNT; i++) {
					if (!cJSON_GetObjectItemCaseSensitive(p, verbs[i]))
						continue;
					size_t n = strlen(allow);
					snprintf(allow + n, sizeof(allow) - n, "%s%s", n ? ", " : "", verbs[i]);
				}
				continue;
			}
			if (best_op && from == best_from && params >= best_params)
				continue;
			best_api = api;
			best_op = op;
			best_rel = p->string;
			best_from = from;
			best_params = params;
		}
	}
	if (best_op) {
		if (split_template(best_rel, tpl) < 0)
			rc = err_set(e, -ENOENT, "The requested resource does not exist.");
		else
			rc = target_of(best_api, best_rel, tpl, req, best_from, best_op, verbs[verb], path,
				       path_len, t, e);
	} else if (allow[0]) {
		for (char *c = allow; *c; c++)
			if (*c >= 'a' && *c <= 'z')
				*c = (char)(*c - 'a' + 'A');
		snprintf(t->allow, sizeof(t->allow), "%s", allow);
		rc = err_set(e, -EPERM, "The requested method is not allowed on this path.");
	} else {
		rc = err_set(e, -ENOENT, "The requested resource does not exist.");
	}
	free(req);
	return rc;
}
