/* SPDX-License-Identifier: Apache-2.0 */
/* access: OpenWhisk's entitlements on a real store — everything in one's
 * own namespace; in another only reads and invocations of a published
 * package that is no binding, and the package list; a missing package
 * refused like an unshared one; whisk.system never written through the
 * API, not even by its own key. */
#include "controller/access.h"

#include <errno.h>
#include <string.h>

#include "controller/packages.h"
#include "tests/harness.h"
#include "tests/unit/controller_stack.h"

static struct stack st;

static void put_package(const char *ns, const char *name, const char *body)
{
	_cleanup_json_ cJSON *b = NULL, *doc = NULL;
	struct err e = { 0 };

	REQUIRE(json_parse(body, strlen(body), &b, NULL) == 0);
	if (packages_put(st.store, ns, name, b, false, &doc, &e) < 0)
		HARNESS_FAIL("put package %s/%s: %s", ns, name, e.msg);
}

/* The status access gives caller for method uri: 0 or the errno; *shared
 * and the resolved namespace written. */
static int check(const char *caller, const char *method, const char *uri, bool *shared,
		 char *ns_out, struct err *e)
{
	struct route r;
	struct access a = { 0 };
	int rc;

	err_clear(e);
	if (route_parse(uri, &r, e) < 0) {
		HARNESS_FAIL("route_parse %s: %s", uri, e->msg);
		return -1;
	}
	rc = access_check(st.store, caller, &r, method, &a, e);
	if (shared)
		*shared = a.shared;
	if (ns_out)
		snprintf(ns_out, NAME_SIZE, "%s", a.ns ? a.ns : "");
	return rc;
}

static void test_own_and_foreign(void)
{
	struct err e = { 0 };
	char ns[NAME_SIZE];
	bool shared = true;

	REQUIRE(stack_open(&st) == 0);
	put_package("alice", "pub", "{\"publish\":true}");
	put_package("alice", "priv", "{}");
	put_package("alice", "bind", "{\"publish\":true,\"binding\":{\"namespace\":\"alice\",\"name\":\"pub\"}}");

	/* Own namespace, named or as "_": every right, nothing shared. */
	CHECK_INT_EQ(check("alice", "DELETE", "/api/v1/namespaces/_/packages/priv", &shared, ns, &e), 0);
	CHECK_STR_EQ(ns, "alice");
	CHECK_INT_EQ(shared, false);
	CHECK_INT_EQ(check("alice", "PUT", "/api/v1/namespaces/alice/actions/x", NULL, ns, &e), 0);
	CHECK_STR_EQ(ns, "alice");
	CHECK_INT_EQ(check("guest", "GET", "/api/v1/namespaces", NULL, ns, &e), 0);
	CHECK_STR_EQ(ns, "guest");

	/* Another's published package: read, list its actions, read and
	 * invoke them; shared. */
	CHECK_INT_EQ(check("guest", "GET", "/api/v1/namespaces/alice/packages/pub", &shared, ns, &e), 0);
	CHECK_STR_EQ(ns, "alice");
	CHECK_INT_EQ(shared, true);
	CHECK_INT_EQ(check("guest", "GET", "/api/v1/namespaces/alice/actions/pub/", &shared, NULL, &e), 0);
	CHECK_INT_EQ(shared, true);
	CHECK_INT_EQ(check("guest", "GET", "/api/v1/namespaces/alice/actions/pub/a", NULL, NULL, &e), 0);
	CHECK_INT_EQ(check("guest", "POST", "/api/v1/namespaces/alice/actions/pub/a?blocking=true",
			   NULL, NULL, &e), 0);
	CHECK_INT_EQ(check("guest", "GET", "/api/v1/namespaces/alice/packages", &shared, NULL, &e), 0);
	CHECK_INT_EQ(shared, true);

	/* ... but never written. */
	CHECK_INT_EQ(check("guest", "PUT", "/api/v1/namespaces/alice/packages/pub", NULL, NULL, &e), -EPERM);
	CHECK_STR_EQ(e.msg, "The supplied authentication is not authorized to access 'alice/pub'.");
	CHECK_INT_EQ(check("guest", "DELETE", "/api/v1/namespaces/alice/packages/pub", NULL, NULL, &e),
		     -EPERM);
	CHECK_INT_EQ(check("guest", "PUT", "/api/v1/namespaces/alice/actions/pub/a", NULL, NULL, &e),
		     -EPERM);
	CHECK_STR_EQ(e.msg, "The supplied authentication is not authorized to access 'alice/pub/a'.");
	CHECK_INT_EQ(check("guest", "DELETE", "/api/v1/namespaces/alice/actions/pub/a", NULL, NULL, &e),
		     -EPERM);

	/* Unpublished, a binding (even a published one), missing, outside
	 * any package, other collections: refused alike. */
	CHECK_INT_EQ(check("guest", "GET", "/api/v1/namespaces/alice/packages/priv", &shared, NULL, &e),
		     -EPERM);
	CHECK_INT_EQ(shared, false);
	CHECK_INT_EQ(check("guest", "POST", "/api/v1/namespaces/alice/actions/priv/a", NULL, NULL, &e),
		     -EPERM);
	CHECK_INT_EQ(check("guest", "GET", "/api/v1/namespaces/alice/packages/bind", NULL, NULL, &e),
		     -EPERM);
	CHECK_INT_EQ(check("guest", "POST", "/api/v1/namespaces/alice/actions/bind/a", NULL, NULL, &e),
		     -EPERM);
	CHECK_INT_EQ(check("guest", "GET", "/api/v1/namespaces/alice/packages/nope", NULL, NULL, &e),
		     -EPERM);
	CHECK_STR_EQ(e.msg, "The supplied authentication is not authorized to access 'alice/nope'.");
	CHECK_INT_EQ(check("guest", "GET", "/api/v1/namespaces/alice/actions", NULL, NULL, &e), -EPERM);
	CHECK_INT_EQ(check("guest", "POST", "/api/v1/namespaces/alice/actions/a", NULL, NULL, &e), -EPERM);
	CHECK_INT_EQ(check("guest", "GET", "/api/v1/namespaces/alice/triggers", NULL, NULL, &e), -EPERM);
	CHECK_INT_EQ(check("guest", "POST", "/api/v1/namespaces/alice/triggers/t", NULL, NULL, &e), -EPERM);
	CHECK_INT_EQ(check("guest", "GET", "/api/v1/namespaces/alice/rules", NULL, NULL, &e), -EPERM);
	CHECK_INT_EQ(check("guest", "GET", "/api/v1/namespaces/alice/limits", NULL, NULL, &e), -EPERM);
	CHECK_INT_EQ(check("guest", "GET", "/api/v1/namespaces/alice/activations", NULL, NULL, &e), -EPERM);
	CHECK_INT_EQ(check("guest", "POST", "/api/v1/namespaces/alice/packages", NULL, NULL, &e), -EPERM);
	stack_close(&st);
}

static void test_system_namespace_read_only(void)
{
	struct err e = { 0 };

	REQUIRE(stack_open(&st) == 0);
	put_package(ACCESS_SYSTEM_NS, "utils", "{\"publish\":true}");
	CHECK_INT_EQ(check("guest", "GET", "/api/v1/namespaces/whisk.system/packages/utils", NULL, NULL, &e), 0);
	CHECK_INT_EQ(check("guest", "POST", "/api/v1/namespaces/whisk.system/actions/utils/echo", NULL,
			   NULL, &e), 0);
	CHECK_INT_EQ(check("guest", "PUT", "/api/v1/namespaces/whisk.system/packages/utils", NULL, NULL, &e),
		     -EPERM);
	/* Its own key may read and run, never write. */
	CHECK_INT_EQ(check(ACCESS_SYSTEM_NS, "GET", "/api/v1/namespaces/_/actions", NULL, NULL, &e), 0);
	CHECK_INT_EQ(check(ACCESS_SYSTEM_NS, "POST", "/api/v1/namespaces/_/actions/utils/echo", NULL,
			   NULL, &e), 0);
	CHECK_INT_EQ(check(ACCESS_SYSTEM_NS, "PUT", "/api/v1/namespaces/_/packages/utils", NULL, NULL, &e),
		     -EPERM);
	CHECK_STR_CONTAINS(e.msg, "managed by edgewhisk");
	CHECK_INT_EQ(check(ACCESS_SYSTEM_NS, "DELETE", "/api/v1/namespaces/whisk.system/actions/utils/echo",
			   NULL, NULL, &e), -EPERM);
	CHECK_INT_EQ(check(ACCESS_SYSTEM_NS, "POST", "/api/v1/namespaces/_/rules/r", NULL, NULL, &e),
		     -EPERM);
	stack_close(&st);
}

HARNESS_MAIN("test_access", TEST_CASE(test_own_and_foreign),
	     TEST_CASE(test_system_namespace_read_only))
