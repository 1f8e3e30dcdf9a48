/* SPDX-License-Identifier: Apache-2.0 */
/* gateway: route management on a real store — createApi's shape and its
 * refusals (missing and mistyped fields, unknown methods, a target that
 * is no web action, a huge document) storing nothing; getApi's filters
 * and namespaces; matching a request to a route (path parameters, the
 * longest base path, literal before template, the wrong method);
 * deleteApi of an operation, a path, an API. */
#include "controller/gateway.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness.h"
#include "tests/unit/controller_stack.h"

static struct stack st;
static const char *const HOST = "http://127.0.0.1:3233";

static cJSON *obj(const char *text)
{
	cJSON *j = NULL;

	if (json_parse(text, strlen(text), &j, NULL) < 0)
		HARNESS_FAIL("bad test JSON %s", text);
	return j;
}

static void put_action(const char *ns, const char *name, bool web)
{
	_cleanup_json_ cJSON *b = obj(web ? "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"function main(){}\"},"
					    "\"annotations\":[{\"key\":\"web-export\",\"value\":true}]}"
					  : "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"function main(){}\"}}");
	_cleanup_json_ cJSON *doc = NULL;
	struct err e = { 0 };

	REQUIRE(entity_action_build(&st.cfg, ns, name, b, NULL, 1, &doc, &e) == 0);
	REQUIRE(store_entity_save(st.store, ns, "actions", name, doc, 1, true, &e) == 0);
}

/* createApi of one endpoint as the openwhisk client sends it. */
static int create(const char *caller, const char *bp, const char *rel, const char *verb,
		  const char *action, const char *extra, cJSON **out, struct err *e)
{
	char text[2048];
	_cleanup_json_ cJSON *body = NULL, *res = NULL;
	int rc;

	snprintf(text, sizeof(text),
		 "{\"apidoc\":{\"namespace\":\"_\",\"gatewayBasePath\":\"%s\",\"gatewayPath\":\"%s\","
		 "\"gatewayMethod\":\"%s\",\"id\":\"API:_:%s\",\"action\":{\"name\":\"%s\","
		 "\"namespace\":\"_\",\"backendMethod\":\"GET\",\"backendUrl\":\"%s/api/v1/namespaces/_/"
		 "actions/%s\",\"authkey\":\"uuid:SECRETKEY\"%s}}}",
		 bp, rel, verb, bp, action, HOST, action, extra ? extra : "");
	body = obj(text);
	err_clear(e);
	rc = gateway_create(st.store, st.invoke, caller, body, NULL, HOST, out ? out : &res, e);
	return rc;
}

/* j printed, in a buffer of this file's (valid until the next call). */
static const char *printed(const cJSON *j)
{
	static char out[8192];
	char *t = cJSON_PrintUnformatted(j);

	snprintf(out, sizeof(out), "%s", t ? t : "");
	free(t);
	return out;
}

static int count_apis(const char *ns)
{
	uint64_t n = 0;

	if (store_entity_count(st.store, ns, "apis", &n, NULL) < 0)
		return -1;
	return (int)n;
}

static void test_create_get(void)
{
	_cleanup_json_ cJSON *res = NULL, *got = NULL;
	struct gateway_query all = { 0 }, by = { .basepath = "/testing", .relpath = "/foo/{id}",
						 .operation = "GET" };
	const cJSON *doc, *op;
	struct err e = { 0 };
	char *text = NULL;

	REQUIRE(stack_open(&st) == 0);
	put_action("guest", "web", true);
	put_action("guest", "plain", false);

	CHECK_INT_EQ(create("guest", "/testing", "/foo", "GET", "nope", NULL, NULL, &e), -EINVAL);
	CHECK_STR_EQ(e.msg, "Action '/guest/nope' does not exist.");
	CHECK_INT_EQ(create("guest", "/testing", "/foo", "GET", "plain", NULL, NULL, &e), -EINVAL);
	CHECK_STR_CONTAINS(e.msg, "is not a web action");
	CHECK_INT_EQ(count_apis("guest"), 0);

	REQUIRE(create("guest", "/testing", "/foo/{id}", "GET", "web", ",\"secureKey\":\"s3\"", &res,
		       &e) == 0);
	CHECK_STR_EQ(json_get_string(res, "id"), "API:guest:/testing");
	doc = json_get_object(res, "value");
	CHECK_STR_EQ(json_get_string(doc, "gwApiUrl"), "http://127.0.0.1:3233/api/guest");
	CHECK_STR_EQ(json_get_string(doc, "tenantId"), "guest");
	CHECK_INT_EQ(json_get_bool(doc, "gwApiActivated", false), true);
	doc = json_get_object(doc, "apidoc");
	CHECK_STR_EQ(json_get_string(doc, "swagger"), "2.0");
	CHECK_STR_EQ(json_get_string(doc, "basePath"), "/testing");
	op = json_get_object(json_get_object(json_get_object(doc, "paths"), "/foo/{id}"), "get");
	CHECK_STR_EQ(json_get_string(op, "operationId"), "get_/foo/{id}");
	CHECK_STR_EQ(json_get_string(json_get_object(op, "x-openwhisk"), "action"), "web");
	CHECK_STR_EQ(json_get_string(json_get_object(op, "x-openwhisk"), "namespace"), "guest");
	CHECK_STR_EQ(json_get_string(json_get_object(op, "x-openwhisk"), "url"),
		     "http://127.0.0.1:3233/api/v1/web/guest/default/web.json");
	CHECK_INT_EQ(cJSON_GetArraySize(json_get_array(op, "parameters")), 1);
	/* The caller's key is never kept; the secure key is, but not shown. */
	REQUIRE(store_entity_get(st.store, "guest", "apis", "/testing", &text, NULL, &e) == 0);
	CHECK_INT_EQ(strstr(text, "SECRETKEY") != NULL, false);
	CHECK_STR_CONTAINS(text, "\"s3\"");
	free(text);
	CHECK_INT_EQ(strstr(printed(res), "s3") != NULL, false);

	REQUIRE(create("guest", "/testing", "/bar", "post", "web", NULL, NULL, &e) == 0);
	if (create("guest", "/other", "/x", "PUT", "/_/web", NULL, NULL, &e) != 0)
		HARNESS_FAIL("/_/web: %s", e.msg);
	CHECK_INT_EQ(count_apis("guest"), 2);
	REQUIRE(gateway_get(st.store, "guest", &all, HOST, &got, &e) == 0);
	CHECK_INT_EQ(cJSON_GetArraySize(json_get_array(got, "apis")), 2);
	json_delete(got);
	got = NULL;
	REQUIRE(gateway_get(st.store, "guest", &by, HOST, &got, &e) == 0);
	CHECK_INT_EQ(cJSON_GetArraySize(json_get_array(got, "apis")), 1);
	json_delete(got);
	got = NULL;
	by.operation = "post";
	REQUIRE(gateway_get(st.store, "guest", &by, HOST, &got, &e) == 0);
	CHECK_INT_EQ(cJSON_GetArraySize(json_get_array(got, "apis")), 0);
	json_delete(got);
	got = NULL;
	/* Another namespace sees none of them. */
	REQUIRE(gateway_get(st.store, "alice", &all, HOST, &got, &e) == 0);
	CHECK_INT_EQ(cJSON_GetArraySize(json_get_array(got, "apis")), 0);
	stack_close(&st);
}

static void test_bad_apidocs_store_nothing(void)
{
	static const char *const bad[] = {
		"{}",
		"{\"apidoc\":5}",
		"{\"apidoc\":\"{not json\"}",
		"{\"apidoc\":{\"gatewayBasePath\":\"/a\"}}",
		"{\"apidoc\":{\"namespace\":\"_\",\"gatewayBasePath\":\"/a\",\"gatewayPath\":\"/b\","
		"\"gatewayMethod\":\"GET\"}}",
		"{\"apidoc\":{\"namespace\":\"_\",\"gatewayBasePath\":\"/a\",\"gatewayPath\":7,"
		"\"gatewayMethod\":\"GET\",\"action\":{}}}",
		"{\"apidoc\":{\"namespace\":\"_\",\"gatewayBasePath\":\"a\",\"gatewayPath\":\"/b\","
		"\"gatewayMethod\":\"GET\",\"action\":{\"name\":\"web\",\"namespace\":\"_\","
		"\"backendMethod\":\"GET\",\"backendUrl\":\"u\",\"authkey\":\"k\"}}}",
		"{\"apidoc\":{\"namespace\":\"_\",\"gatewayBasePath\":\"/a\",\"gatewayPath\":\"/b c\","
		"\"gatewayMethod\":\"GET\",\"action\":{\"name\":\"web\",\"namespace\":\"_\","
		"\"backendMethod\":\"GET\",\"backendUrl\":\"u\",\"authkey\":\"k\"}}}",
		"{\"apidoc\":{\"namespace\":\"_\",\"gatewayBasePath\":\"/a\",\"gatewayPath\":\"/b\","
		"\"gatewayMethod\":\"FETCH\",\"action\":{\"name\":\"web\",\"namespace\":\"_\","
		"\"backendMethod\":\"GET\",\"backendUrl\":\"u\",\"authkey\":\"k\"}}}",
		"{\"apidoc\":{\"namespace\":\"_\",\"gatewayBasePath\":\"/a\",\"gatewayPath\":\"/b\","
		"\"gatewayMethod\":\"GET\",\"action\":{\"name\":\"we/b/x/y\",\"namespace\":\"_\","
		"\"backendMethod\":\"GET\",\"backendUrl\":\"u\",\"authkey\":\"k\"}}}",
		"{\"apidoc\":{\"namespace\":\"_\",\"gatewayBasePath\":\"/a\",\"swagger\":{}}}",
		"{\"apidoc\":{\"namespace\":\"_\",\"swagger\":{\"basePath\":\"/a\",\"paths\":{}}}}",
		"{\"apidoc\":{\"namespace\":\"_\",\"swagger\":{\"basePath\":\"/a\",\"info\":{},"
		"\"paths\":{\"/p\":{\"fetch\":{}}}}}}",
		"{\"apidoc\":{\"namespace\":\"_\",\"swagger\":{\"basePath\":\"/a\",\"info\":{},"
		"\"paths\":{\"/p\":{\"get\":{\"x-openwhisk\":{\"namespace\":\"_\",\"action\":\"plain\"}}}}}}}",
	};
	struct err e = { 0 };

	REQUIRE(stack_open(&st) == 0);
	put_action("guest", "web", true);
	put_action("guest", "plain", false);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		_cleanup_json_ cJSON *body = obj(bad[i]), *out = NULL;
		int rc;

		err_clear(&e);
		rc = gateway_create(st.store, st.invoke, "guest", body, NULL, HOST, &out, &e);
		if (rc != -EINVAL || !e.msg[0])
			HARNESS_FAIL("apidoc %zu: rc %d (%s), want -EINVAL with a message", i, rc, e.msg);
	}
	{
		_cleanup_json_ cJSON *body =
			obj("{\"apidoc\":{\"namespace\":\"_\",\"gatewayBasePath\":\"/a\",\"gatewayPath\":"
			    "\"/b\",\"gatewayMethod\":\"GET\",\"action\":{\"name\":\"web\",\"namespace\":"
			    "\"_\",\"backendMethod\":\"GET\",\"backendUrl\":\"u\",\"authkey\":\"k\"}}}");
		_cleanup_json_ cJSON *out = NULL;

		CHECK_INT_EQ(gateway_create(st.store, st.invoke, "guest", body, "xml", HOST, &out, &e),
			     -EINVAL);
		CHECK_STR_CONTAINS(e.msg, "responsetype");
	}
	/* A document past the size limit: many paths. */
	for (int i = 0; i < 2000; i++) {
		char rel[64];
		int rc;

		snprintf(rel, sizeof(rel), "/path-number-%d/with/some/length", i);
		rc = create("guest", "/big", rel, "GET", "web", NULL, NULL, &e);
		if (rc == -E2BIG) {
			CHECK_STR_CONTAINS(e.msg, "larger than");
			break;
		}
		if (rc < 0) {
			HARNESS_FAIL("path %d: %d %s", i, rc, e.msg);
			break;
		}
		if (i == 1999)
			HARNESS_FAIL("no size limit reached");
	}
	CHECK_INT_EQ(count_apis("guest"), 1);  /* /big, as it was before the refused one */
	stack_close(&st);
}

static void test_match(void)
{
	struct gateway_target t;
	struct err e = { 0 };
	const char *p;

	REQUIRE(stack_open(&st) == 0);
	put_action("guest", "web", true);
	put_action("guest", "lit", true);
	put_action("guest", "deep", true);
	REQUIRE(create("guest", "/sensors", "/{id}", "GET", "web", ",\"secureKey\":\"k1\"", NULL, &e) == 0);
	REQUIRE(create("guest", "/sensors", "/all", "GET", "lit", NULL, NULL, &e) == 0);
	REQUIRE(create("guest", "/sensors/v2", "/{id}", "GET", "deep", NULL, NULL, &e) == 0);
	REQUIRE(create("guest", "/sensors", "/{id}/reading/{kind}", "POST", "web", NULL, NULL, &e) == 0);

	p = "/sensors/42";
	REQUIRE(gateway_match(st.store, "guest", "GET", p, strlen(p), &t, &e) == 0);
	CHECK_STR_EQ(t.name, "web");
	CHECK_STR_EQ(t.ext, "json");
	CHECK_STR_EQ(t.rest, "/42");
	CHECK_STR_EQ(t.secure_key, "k1");
	CHECK_STR_EQ(json_get_string(t.params, "id"), "42");
	gateway_target_fini(&t);

	p = "/sensors/all";
	REQUIRE(gateway_match(st.store, "guest", "GET", p, strlen(p), &t, &e) == 0);
	CHECK_STR_EQ(t.name, "lit");
	CHECK_STR_EQ(t.secure_key, "");
	gateway_target_fini(&t);

	p = "/sensors/v2/7";
	REQUIRE(gateway_match(st.store, "guest", "GET", p, strlen(p), &t, &e) == 0);
	CHECK_STR_EQ(t.name, "deep");
	CHECK_STR_EQ(t.rest, "/7");
	gateway_target_fini(&t);

	p = "/sensors/a%20b/reading/temp/";
	REQUIRE(gateway_match(st.store, "guest", "POST", p, strlen(p), &t, &e) == 0);
	CHECK_STR_EQ(json_get_string(t.params, "id"), "a b");
	CHECK_STR_EQ(json_get_string(t.params, "kind"), "temp");
	gateway_target_fini(&t);

	p = "/sensors/42";
	CHECK_INT_EQ(gateway_match(st.store, "guest", "DELETE", p, strlen(p), &t, &e), -EPERM);
	CHECK_STR_EQ(t.allow, "GET");
	gateway_target_fini(&t);
	p = "/sensors/42/nope";
	CHECK_INT_EQ(gateway_match(st.store, "guest", "GET", p, strlen(p), &t, &e), -ENOENT);
	gateway_target_fini(&t);
	p = "/sensors/42";
	CHECK_INT_EQ(gateway_match(st.store, "alice", "GET", p, strlen(p), &t, &e), -ENOENT);
	gateway_target_fini(&t);
	p = "/sensors/%zz";
	CHECK_INT_EQ(gateway_match(st.store, "guest", "GET", p, strlen(p), &t, &e), -EINVAL);
	gateway_target_fini(&t);
	stack_close(&st);
}

static void test_delete(void)
{
	_cleanup_json_ cJSON *got = NULL;
	struct gateway_query all = { 0 };
	struct gateway_target t;
	struct err e = { 0 };
	const char *p = "/b/x";

	REQUIRE(stack_open(&st) == 0);
	put_action("guest", "web", true);
	REQUIRE(create("guest", "/b", "/x", "GET", "web", NULL, NULL, &e) == 0);
	REQUIRE(create("guest", "/b", "/x", "POST", "web", NULL, NULL, &e) == 0);
	REQUIRE(create("guest", "/b", "/y", "GET", "web", NULL, NULL, &e) == 0);

	CHECK_INT_EQ(gateway_delete(st.store, "guest", NULL, NULL, NULL, &e), -EINVAL);
	CHECK_INT_EQ(gateway_delete(st.store, "guest", "/none", NULL, NULL, &e), -ENOENT);
	CHECK_INT_EQ(gateway_delete(st.store, "alice", "/b", NULL, NULL, &e), -ENOENT);
	CHECK_INT_EQ(gateway_delete(st.store, "guest", "/b", "/z", NULL, &e), -ENOENT);
	CHECK_INT_EQ(gateway_delete(st.store, "guest", "/b", "/x", "put", &e), -ENOENT);
	REQUIRE(gateway_delete(st.store, "guest", "/b", "/x", "post", &e) == 0);
	CHECK_INT_EQ(gateway_match(st.store, "guest", "POST", p, strlen(p), &t, &e), -EPERM);
	gateway_target_fini(&t);
	REQUIRE(gateway_match(st.store, "guest", "GET", p, strlen(p), &t, &e) == 0);
	gateway_target_fini(&t);
	REQUIRE(gateway_delete(st.store, "guest", "/b", "/x", NULL, &e) == 0);
	CHECK_INT_EQ(gateway_match(st.store, "guest", "GET", p, strlen(p), &t, &e), -ENOENT);
	gateway_target_fini(&t);
	CHECK_INT_EQ(count_apis("guest"), 1);
	/* Its last path gone, the API goes. */
	REQUIRE(gateway_delete(st.store, "guest", "/b", "/y", "get", &e) == 0);
	CHECK_INT_EQ(count_apis("guest"), 0);
	REQUIRE(create("guest", "/c", "/x", "GET", "web", NULL, NULL, &e) == 0);
	REQUIRE(gateway_delete(st.store, "guest", "/c", NULL, NULL, &e) == 0);
	REQUIRE(gateway_get(st.store, "guest", &all, HOST, &got, &e) == 0);
	CHECK_INT_EQ(cJSON_GetArraySize(json_get_array(got, "apis")), 0);
	stack_close(&st);
}

static void test_swagger_document(void)
{
	_cleanup_json_ cJSON *body = obj(
		"{\"apidoc\":{\"namespace\":\"_\",\"swagger\":{\"swagger\":\"2.0\",\"basePath\":\"/sw\","
		"\"info\":{\"title\":\"mine\",\"version\":\"1.0\"},\"paths\":{\"/h/{n}\":{\"get\":{"
		"\"operationId\":\"hello\",\"x-openwhisk\":{\"namespace\":\"_\",\"package\":\"default\","
		"\"action\":\"web\",\"url\":\"https://elsewhere/api/v1/web/_/default/web.http\"}}}}}}}");
	_cleanup_json_ cJSON *out = NULL, *got = NULL;
	struct gateway_query byname = { .basepath = "mine" };
	struct gateway_target t;
	struct err e = { 0 };
	const char *p = "/sw/h/1";

	REQUIRE(stack_open(&st) == 0);
	put_action("guest", "web", true);
	REQUIRE(gateway_create(st.store, st.invoke, "guest", body, NULL, HOST, &out, &e) == 0);
	CHECK_STR_CONTAINS(printed(out),
			   "\"url\":\"http://127.0.0.1:3233/api/v1/web/guest/default/web.http\"");
	REQUIRE(gateway_match(st.store, "guest", "GET", p, strlen(p), &t, &e) == 0);
	CHECK_STR_EQ(t.ext, "http");
	CHECK_STR_EQ(json_get_string(t.params, "n"), "1");
	gateway_target_fini(&t);
	REQUIRE(gateway_get(st.store, "guest", &byname, HOST, &got, &e) == 0);
	CHECK_INT_EQ(cJSON_GetArraySize(json_get_array(got, "apis")), 1);
	stack_close(&st);
}

HARNESS_MAIN("test_gateway", TEST_CASE(test_create_get), TEST_CASE(test_bad_apidocs_store_nothing),
	     TEST_CASE(test_match), TEST_CASE(test_delete), TEST_CASE(test_swagger_document))
