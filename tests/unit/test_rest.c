/* SPDX-License-Identifier: Apache-2.0 */
/* rest: the REST handlers without a socket. Each request is routed as the
 * adapter does and answered into a recording reply; the store, queue,
 * dispatch, invoke and events under them are real (no invoker attached).
 * Also the errno -> status table and the reason phrases. */
#include "controller/rest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "controller/access.h"
#include "tests/harness.h"
#include "tests/unit/controller_stack.h"

static struct stack st;
static struct rest_env env;

/* What a handler answered. */
struct answer {
	int calls;
	int status;                  /* -1: send(NULL), no response built */
	char *body;
	char id[40];
	char type[64];
	bool challenge;
};

static struct answer ans;

static void record(void *ctx, const struct rest_response *r)
{
	struct answer *a = ctx;

	a->calls++;
	free(a->body);
	a->body = NULL;
	if (!r) {
		a->status = -1;
		return;
	}
	a->status = r->status;
	a->body = strndup(r->body ? r->body : "", r->body_len);
	snprintf(a->id, sizeof(a->id), "%s", r->activation_id ? r->activation_id : "");
	snprintf(a->type, sizeof(a->type), "%s", r->content_type ? r->content_type : "");
	a->challenge = r->auth_challenge;
}

/* Route and authorize uri as the adapter does and run fn as a key of
 * namespace caller (key index 0). */
static int call_as(const char *caller, void (*fn)(struct rest_req *), const char *method,
		   const char *uri, const char *body)
{
	struct rest_req q = {
		.env = &env,
		.method = method,
		.uri = uri,
		.body = body,
		.body_len = body ? strlen(body) : 0,
		.caller = caller,
		.key = 0,
		.reply = { record, &ans },
	};
	struct access a;
	struct err e = { 0 };
	bool open;
	int rc;

	free(ans.body);
	memset(&ans, 0, sizeof(ans));
	if (route_parse(uri, &q.r, &e) < 0) {
		HARNESS_FAIL("route_parse %s: %s", uri, e.msg);
		return -1;
	}
	/* Open routes skip the check, as in the adapter. */
	open = q.r.kind == ROUTE_ROOT || q.r.kind == ROUTE_API_INFO || q.r.kind == ROUTE_PING ||
	       q.r.kind == ROUTE_HEALTH || q.r.kind == ROUTE_WEB;
	rc = open ? 0 : access_check(env.store, caller, &q.r, method, &a, &e);
	if (open) {
		fn(&q);
	} else if (rc < 0) {
		rest_reply_err(&q, rc, &e);
	} else {
		q.ns = a.ns;
		q.shared = a.shared;
		fn(&q);
	}
	if (ans.calls != 1)
		HARNESS_FAIL("%s %s answered %d times", method, uri, ans.calls);
	return ans.status;
}

static int call(void (*fn)(struct rest_req *), const char *method, const char *uri,
		const char *body)
{
	return call_as("guest", fn, method, uri, body);
}

/* jq-like check of the last body: field `key` of the object equals s. */
static const char *body_string(const char *key)
{
	static char out[512];
	cJSON *j = NULL;
	const char *v;

	out[0] = '\0';
	if (!ans.body || json_parse(ans.body, strlen(ans.body), &j, NULL) < 0)
		return out;
	v = json_get_string(j, key);
	snprintf(out, sizeof(out), "%s", v ? v : "");
	json_delete(j);
	return out;
}

#define NS "/api/v1/namespaces/_"

static void setup(void)
{
	REQUIRE(stack_open(&st) == 0);
	env = (struct rest_env){ .cfg = &st.cfg, .store = st.store, .dispatch = st.dispatch,
				 .queue = st.queue, .invoke = st.invoke, .events = st.events,
				 .build = "test" };
}

static void teardown(void)
{
	free(ans.body);
	ans.body = NULL;
	stack_close(&st);
}

static void test_status_table_and_reasons(void)
{
	CHECK_INT_EQ(rest_status_of(-EINVAL), 400);
	CHECK_INT_EQ(rest_status_of(-EACCES), 401);
	CHECK_INT_EQ(rest_status_of(-EPERM), 403);
	CHECK_INT_EQ(rest_status_of(-ENOENT), 404);
	CHECK_INT_EQ(rest_status_of(-EEXIST), 409);
	CHECK_INT_EQ(rest_status_of(-E2BIG), 413);
	CHECK_INT_EQ(rest_status_of(-EMSGSIZE), 413);
	CHECK_INT_EQ(rest_status_of(-EAGAIN), 429);
	CHECK_INT_EQ(rest_status_of(-ENOSPC), 503);
	CHECK_INT_EQ(rest_status_of(-EHOSTDOWN), 503);
	CHECK_INT_EQ(rest_status_of(-EIO), 500);
	CHECK_STR_EQ(rest_reason(200), "OK");
	CHECK_STR_EQ(rest_reason(202), "Accepted");
	CHECK_STR_EQ(rest_reason(413), "Content Too Large");
	CHECK_STR_EQ(rest_reason(429), "Too Many Requests");
	CHECK_STR_EQ(rest_reason(502), "Bad Gateway");
	CHECK_STR_EQ(rest_reason(503), "Service Unavailable");
	CHECK_STR_EQ(rest_reason(299), "Unknown");
}

static void test_system_routes(void)
{
	setup();
	CHECK_INT_EQ(call(rest_namespaces, "GET", "/api/v1/namespaces", NULL), 200);
	CHECK_STR_EQ(ans.body, "[\"guest\"]");
	CHECK_STR_EQ(ans.type, "application/json");
	CHECK_INT_EQ(call(rest_namespaces, "POST", "/api/v1/namespaces", NULL), 405);
	CHECK_STR_EQ(body_string("error"), "HTTP method not allowed, supported methods: GET");
	CHECK(strlen(body_string("code")) == 32);
	CHECK_INT_EQ(call(rest_limits, "GET", NS "/limits", NULL), 200);
	CHECK_STR_CONTAINS(ans.body, "\"maxActionMemory\":");
	CHECK_INT_EQ(call(rest_ping, "GET", "/ping", NULL), 200);
	CHECK_STR_EQ(ans.body, "pong");
	CHECK_INT_EQ(call(rest_info, "GET", "/api/v1", NULL), 200);
	CHECK_STR_EQ(body_string("build"), "test");
	/* No invoker attached: the platform says so. */
	CHECK_INT_EQ(call(rest_health, "GET", "/health", NULL), 503);
	CHECK_STR_EQ(body_string("status"), "down");
	teardown();
}

static void test_unauthorized_has_challenge(void)
{
	struct rest_req q = { .env = &env, .method = "GET", .uri = "/api/v1/namespaces",
			      .reply = { record, &ans } };

	free(ans.body);
	memset(&ans, 0, sizeof(ans));
	rest_unauthorized(&q, -ENOENT);
	CHECK_INT_EQ(ans.status, 401);
	CHECK(ans.challenge);
	CHECK_STR_EQ(body_string("error"),
		     "The resource requires authentication, which was not supplied with the request");
	rest_unauthorized(&q, -EACCES);
	CHECK_STR_EQ(body_string("error"), "The supplied authentication is invalid");
	free(ans.body);
	ans.body = NULL;
}

static const char *hello = "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"function main(){return {}}\"}}";

static void test_actions(void)
{
	setup();
	CHECK_INT_EQ(call(rest_action, "GET", NS "/actions/hello", NULL), 404);
	CHECK_STR_EQ(body_string("error"), "The requested resource does not exist.");
	CHECK_INT_EQ(call(rest_action, "PUT", NS "/actions/hello", hello), 200);
	CHECK_STR_EQ(body_string("name"), "hello");
	CHECK_INT_EQ(call(rest_action, "PUT", NS "/actions/hello", hello), 409);
	CHECK_STR_EQ(body_string("error"), "resource already exists");
	CHECK_INT_EQ(call(rest_action, "PUT", NS "/actions/hello?overwrite=maybe", hello), 400);
	CHECK_INT_EQ(call(rest_action, "PUT", NS "/actions/hello?overwrite=true", "{\"name\":"), 400);
	CHECK_STR_CONTAINS(body_string("error"), "The request content was malformed");
	CHECK_INT_EQ(call(rest_action, "GET", NS "/actions/hello?code=false", NULL), 200);
	CHECK(!strstr(ans.body, "function main"));
	CHECK_INT_EQ(call(rest_actions_list, "GET", NS "/actions", NULL), 200);
	CHECK_STR_CONTAINS(ans.body, "\"name\":\"hello\"");
	CHECK_INT_EQ(call(rest_actions_list, "GET", NS "/actions?count=true", NULL), 200);
	CHECK_STR_EQ(ans.body, "{\"actions\":1}");
	CHECK_INT_EQ(call(rest_actions_list, "GET", NS "/actions?limit=201", NULL), 400);
	/* No invoker is up: refused before anything is queued. */
	CHECK_INT_EQ(call(rest_action, "POST", NS "/actions/hello?blocking=true", "{}"), 503);
	CHECK_STR_EQ(body_string("error"), "No invoker is available to run the action.");
	CHECK_INT_EQ(call(rest_action, "POST", NS "/actions/nope", "{}"), 404);
	CHECK_INT_EQ(call(rest_action, "POST", NS "/actions/hello", "[1]"), 400);
	CHECK_INT_EQ(call(rest_action, "PATCH", NS "/actions/hello", NULL), 405);
	CHECK_INT_EQ(call(rest_action, "DELETE", NS "/actions/hello", NULL), 200);
	CHECK_STR_EQ(body_string("name"), "hello");
	CHECK_INT_EQ(call(rest_action, "DELETE", NS "/actions/hello", NULL), 404);
	teardown();
}

static void test_body_limit(void)
{
	size_t n = (size_t)st.cfg.limits.payload_bytes.max + 1;
	char *big;

	setup();
	n = (size_t)st.cfg.limits.payload_bytes.max + 1;
	big = malloc(n + 1);
	REQUIRE(big);
	memset(big, ' ', n);
	big[n] = '\0';
	CHECK_INT_EQ(call(rest_action, "POST", NS "/actions/hello", big), 413);
	CHECK_STR_CONTAINS(body_string("error"), "Request larger than allowed:");
	CHECK_INT_EQ(call(rest_trigger, "POST", NS "/triggers/t", big), 413);
	free(big);
	teardown();
}

static void test_triggers_and_rules(void)
{
	char id[40], uri[128];

	setup();
	CHECK_INT_EQ(call(rest_action, "PUT", NS "/actions/hello", hello), 200);
	CHECK_INT_EQ(call(rest_trigger, "PUT", NS "/triggers/t", "{}"), 200);
	CHECK_INT_EQ(call(rest_trigger, "PUT", NS "/triggers/hello", "{}"), 409);
	CHECK_STR_EQ(body_string("error"), "Resource by this name exists but is not in this collection.");
	CHECK_INT_EQ(call(rest_rule, "PUT", NS "/rules/r", "{\"trigger\":\"t\",\"action\":\"nope\"}"),
		     400);
	CHECK_STR_EQ(body_string("error"), "action /guest/nope does not exist");
	CHECK_INT_EQ(call(rest_rule, "PUT", NS "/rules/r", "{\"trigger\":\"u\",\"action\":\"hello\"}"),
		     400);
	CHECK_STR_EQ(body_string("error"), "trigger /guest/u does not exist");
	CHECK_INT_EQ(call(rest_rule, "PUT", NS "/rules/r", "{\"trigger\":\"t\",\"action\":\"hello\"}"),
		     200);
	CHECK_STR_EQ(body_string("status"), "active");
	CHECK_INT_EQ(call(rest_trigger, "GET", NS "/triggers/t", NULL), 200);
	CHECK_STR_CONTAINS(ans.body, "\"guest/r\":{\"action\":{\"path\":\"guest\",\"name\":\"hello\"},"
				     "\"status\":\"active\"}");
	CHECK_INT_EQ(call(rest_rule, "POST", NS "/rules/r", "{\"status\":\"paused\"}"), 400);
	CHECK_STR_CONTAINS(body_string("error"), "is not a recognized rule state");
	CHECK_INT_EQ(call(rest_rule, "POST", NS "/rules/r", "{\"status\":\"inactive\"}"), 200);
	CHECK_INT_EQ(call(rest_rule, "GET", NS "/rules/r", NULL), 200);
	CHECK_STR_EQ(body_string("status"), "inactive");
	CHECK_INT_EQ(call(rest_rule, "POST", NS "/rules/r", "{\"status\":\"active\"}"), 200);
	/* The fire is accepted and recorded; the rule's action cannot start
	 * without an invoker, which its log line says (statusCode 3). */
	CHECK_INT_EQ(call(rest_trigger, "POST", NS "/triggers/t", "{\"x\":1}"), 202);
	snprintf(id, sizeof(id), "%s", body_string("activationId"));
	CHECK_STR_EQ(ans.id, id);
	snprintf(uri, sizeof(uri), NS "/activations/%s", id);
	CHECK_INT_EQ(call(rest_activation, "GET", uri, NULL), 200);
	CHECK_STR_CONTAINS(ans.body, "\\\"statusCode\\\":3");
	CHECK_STR_CONTAINS(ans.body, "No invoker is available to run the action.");
	CHECK_STR_CONTAINS(ans.body, "\"result\":{\"x\":1}");
	snprintf(uri, sizeof(uri), NS "/activations/%s/logs", id);
	CHECK_INT_EQ(call(rest_activation, "GET", uri, NULL), 200);
	CHECK_STR_CONTAINS(ans.body, "\"logs\":[\"{");
	CHECK_INT_EQ(call(rest_trigger, "POST", NS "/triggers/none", "{}"), 404);
	CHECK_INT_EQ(call(rest_rules_list, "GET", NS "/rules?count=true", NULL), 200);
	CHECK_STR_EQ(ans.body, "{\"rules\":1}");
	CHECK_INT_EQ(call(rest_rule, "DELETE", NS "/rules/r", NULL), 200);
	CHECK_STR_EQ(body_string("status"), "inactive");
	CHECK_INT_EQ(call(rest_trigger, "GET", NS "/triggers/t", NULL), 200);
	CHECK(!strstr(ans.body, "guest/r"));
	CHECK_INT_EQ(call(rest_rule, "GET", NS "/rules/r", NULL), 404);
	CHECK_INT_EQ(call(rest_trigger, "DELETE", NS "/triggers/t", NULL), 200);
	CHECK_INT_EQ(call(rest_trigger, "GET", NS "/triggers/t", NULL), 404);
	teardown();
}

static void test_packages(void)
{
	setup();
	CHECK_INT_EQ(call(rest_package, "PUT", NS "/packages/p", "{\"publish\":true}"), 200);
	CHECK_INT_EQ(call(rest_package, "PUT", NS "/packages/b",
			  "{\"binding\":{\"namespace\":\"guest\",\"name\":\"none\"}}"),
		     400);
	CHECK_STR_EQ(body_string("error"), "Binding references a package that does not exist.");
	CHECK_INT_EQ(call(rest_package, "PUT", NS "/packages/b",
			  "{\"binding\":{\"namespace\":\"guest\",\"name\":\"p\"}}"),
		     200);
	CHECK_INT_EQ(call(rest_package, "PUT", NS "/packages/bb",
			  "{\"binding\":{\"namespace\":\"guest\",\"name\":\"b\"}}"),
		     400);
	CHECK_STR_EQ(body_string("error"), "Cannot bind to another package binding.");
	CHECK_INT_EQ(call(rest_action, "PUT", NS "/actions/b/a", hello), 400);
	CHECK_STR_EQ(body_string("error"), "Cannot create or update an action in a package binding.");
	CHECK_INT_EQ(call(rest_action, "PUT", NS "/actions/p/a", hello), 200);
	CHECK_INT_EQ(call(rest_package, "GET", NS "/packages/p", NULL), 200);
	CHECK_STR_CONTAINS(ans.body, "\"actions\":[{\"name\":\"a\"");
	CHECK_STR_CONTAINS(ans.body, "\"feeds\":[]");
	CHECK_INT_EQ(call(rest_package, "PUT", NS "/packages/p?overwrite=true",
			  "{\"binding\":{\"namespace\":\"guest\",\"name\":\"b\"}}"),
		     400);
	CHECK_INT_EQ(call(rest_package, "DELETE", NS "/packages/p", NULL), 409);
	CHECK_STR_EQ(body_string("error"), "Package not empty (contains 1 entities). Set force param or "
					   "delete package contents.");
	CHECK_INT_EQ(call(rest_package, "DELETE", NS "/packages/p?force=true", NULL), 200);
	CHECK_STR_EQ(body_string("name"), "p");
	CHECK_INT_EQ(call(rest_action, "GET", NS "/actions/p/a", NULL), 404);
	CHECK_INT_EQ(call(rest_package, "GET", NS "/packages/p", NULL), 404);
	CHECK_INT_EQ(call(rest_packages_list, "GET", NS "/packages", NULL), 200);
	CHECK_STR_CONTAINS(ans.body, "\"name\":\"b\"");
	teardown();
}

/* Alice shares "pub" (and has "priv" and a binding "bind"); guest reads
 * only the shared one, in listings too; an invocation of a shared action
 * reaches the invoke layer as guest's (here: no invoker, 503). */
static void test_shared_packages(void)
{
	setup();
	CHECK_INT_EQ(call_as("alice", rest_package, "PUT", "/api/v1/namespaces/_/packages/pub",
			     "{\"publish\":true,\"parameters\":[{\"key\":\"p\",\"value\":1}]}"),
		     200);
	CHECK_INT_EQ(call_as("alice", rest_package, "PUT", "/api/v1/namespaces/_/packages/priv", NULL),
		     200);
	CHECK_INT_EQ(call_as("alice", rest_package, "PUT", "/api/v1/namespaces/_/packages/bind",
			     "{\"publish\":true,\"binding\":{\"namespace\":\"alice\",\"name\":\"pub\"}}"),
		     200);
	CHECK_INT_EQ(call_as("alice", rest_action, "PUT", "/api/v1/namespaces/_/actions/pub/a", hello),
		     200);
	CHECK_INT_EQ(call(rest_package, "PUT", NS "/packages/mine", NULL), 200);

	CHECK_INT_EQ(call(rest_package, "GET", "/api/v1/namespaces/alice/packages/pub", NULL), 200);
	CHECK_STR_CONTAINS(ans.body, "\"actions\":[{\"name\":\"a\"");
	CHECK_INT_EQ(call(rest_action, "GET", "/api/v1/namespaces/alice/actions/pub/a", NULL), 200);
	CHECK_STR_EQ(body_string("namespace"), "alice/pub");
	CHECK_STR_CONTAINS(ans.body, "\"key\":\"p\"");
	CHECK_INT_EQ(call(rest_actions_list, "GET", "/api/v1/namespaces/alice/actions/pub/", NULL), 200);
	CHECK_STR_CONTAINS(ans.body, "\"name\":\"a\"");
	CHECK_INT_EQ(call(rest_action, "POST", "/api/v1/namespaces/alice/actions/pub/a", NULL), 503);
	CHECK_INT_EQ(call(rest_package, "GET", "/api/v1/namespaces/alice/packages/priv", NULL), 403);
	CHECK_INT_EQ(call(rest_package, "GET", "/api/v1/namespaces/alice/packages/bind", NULL), 403);

	/* Alice's list, seen by guest: the shared package only. */
	CHECK_INT_EQ(call(rest_packages_list, "GET", "/api/v1/namespaces/alice/packages", NULL), 200);
	CHECK_STR_CONTAINS(ans.body, "\"name\":\"pub\"");
	CHECK_INT_EQ(strstr(ans.body, "\"name\":\"priv\"") || strstr(ans.body, "\"name\":\"bind\""), false);
	CHECK_INT_EQ(call(rest_packages_list, "GET", "/api/v1/namespaces/alice/packages?count=true", NULL),
		     200);
	CHECK_STR_EQ(ans.body, "{\"packages\":1}");
	/* Guest's own with ?public=true: its own, then the others' shared. */
	CHECK_INT_EQ(call(rest_packages_list, "GET", NS "/packages?public=true", NULL), 200);
	CHECK_STR_CONTAINS(ans.body, "\"name\":\"mine\"");
	CHECK_STR_CONTAINS(ans.body, "\"name\":\"pub\"");
	CHECK_INT_EQ(strstr(ans.body, "\"name\":\"priv\"") || strstr(ans.body, "\"name\":\"bind\""), false);
	CHECK_INT_EQ(call(rest_packages_list, "GET", NS "/packages?public=true&skip=1&limit=1", NULL),
		     200);
	CHECK_STR_CONTAINS(ans.body, "\"name\":\"pub\"");
	CHECK_INT_EQ(strstr(ans.body, "\"name\":\"mine\"") != NULL, false);
	CHECK_INT_EQ(call(rest_packages_list, "GET", NS "/packages?public=maybe", NULL), 400);
	CHECK_INT_EQ(call(rest_packages_list, "GET", NS "/packages", NULL), 200);
	CHECK_INT_EQ(strstr(ans.body, "\"name\":\"pub\"") != NULL, false);
	teardown();
}

static void test_web_needs_export(void)
{
	setup();
	CHECK_INT_EQ(call(rest_action, "PUT", NS "/actions/hello", hello), 200);
	CHECK_INT_EQ(call(rest_web, "GET", "/api/v1/web/guest/default/hello.json", NULL), 404);
	CHECK_INT_EQ(call(rest_web, "GET", "/api/v1/web/guest/default/none.json", NULL), 404);
	CHECK_INT_EQ(call(rest_activations_list, "GET", NS "/activations?count=true&docs=true", NULL),
		     400);
	teardown();
}

HARNESS_MAIN("test_rest", TEST_CASE(test_status_table_and_reasons), TEST_CASE(test_system_routes),
	     TEST_CASE(test_unauthorized_has_challenge), TEST_CASE(test_actions),
	     TEST_CASE(test_body_limit), TEST_CASE(test_triggers_and_rules), TEST_CASE(test_packages),
	     TEST_CASE(test_shared_packages),
	     TEST_CASE(test_web_needs_export))
