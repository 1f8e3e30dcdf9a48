/* SPDX-License-Identifier: Apache-2.0 */
/* route: every route kind with its fields, percent-decoding, OpenWhisk's
 * name rule and messages, activation ids, unknown paths, query parameters,
 * Basic auth against the default guest key, and a random-input loop that
 * must never crash (run under ASan in `make test SAN=1`). */
#include "controller/route.h"

#include <errno.h>
#include <stdlib.h>

#include "tests/harness.h"

#define NS "/api/v1/namespaces/"
#define ID "c7bb1339cb4f40e3a6ccead6c99f804e"

#define GUEST_UUID "23bc46b1-71f6-4ed5-8c54-816aa4f8c502"
#define GUEST_KEY "123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
/* whisk.system's well-known key (spec §1) */
#define SYS_UUID "789c46b1-71f6-4ed5-8c54-816aa4f8c502"
#define SYS_KEY "abczO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
/* `printf '%s' uuid:key | base64 -w0`, computed outside this file. */
#define GUEST_B64                                                                          \
	"MjNiYzQ2YjEtNzFmNi00ZWQ1LThjNTQtODE2YWE0ZjhjNTAyOjEyM3pPM3haQ0xyTU42djJCS0sx" \
	"ZFhZRnBYbFBrY2NPRnFtMTJDZEFzTWdSVTRWck5aOWx5R1ZDR3VNREdJd1A="

/* Parse uri expecting success; returns the route (kind ROUTE_NONE and a
 * test failure if parsing failed). */
static struct route parse_ok(const char *uri, int line)
{
	struct route r;
	struct err e = { 0 };
	int rc;

	memset(&r, 0xa5, sizeof(r));
	rc = route_parse(uri, &r, &e);
	if (rc != 0) {
		HARNESS_FAIL("line %d: route_parse(\"%s\") = %d (%s), want 0", line, uri, rc,
			     e.msg);
		memset(&r, 0, sizeof(r));
	}
	return r;
}

#define PARSE_OK(uri) parse_ok((uri), __LINE__)

#define CHECK_ROUTE(uri, kind_, ns_, pkg_, name_)                                   \
	do {                                                                        \
		struct route rt_ = PARSE_OK(uri);                                   \
		CHECK_INT_EQ(rt_.kind, (kind_));                                    \
		CHECK_STR_EQ(rt_.ns, (ns_));                                        \
		CHECK_STR_EQ(rt_.package, (pkg_));                                  \
		CHECK_STR_EQ(rt_.name, (name_));                                    \
	} while (0)

/* Expect -EINVAL with exactly `msg`, and *r untouched. */
#define CHECK_PARSE_ERR(uri, want_)                                                   \
	do {                                                                        \
		struct route rt_;                                                   \
		struct err e_ = { 0 };                                              \
		memset(&rt_, 0x5a, sizeof(rt_));                                    \
		CHECK_INT_EQ(route_parse((uri), &rt_, &e_), -EINVAL);               \
		CHECK_INT_EQ(e_.code, -EINVAL);                                     \
		CHECK_STR_EQ(e_.msg, (want_));                                        \
		CHECK_INT_EQ(((unsigned char *)&rt_)[0], 0x5a);                     \
	} while (0)

#define CHECK_NONE(uri) CHECK_ROUTE((uri), ROUTE_NONE, "", "", "")

#define MSG_NAME "The name of the entity contains illegal characters."
#define MSG_PKG_DEFAULT "The package name 'default' is reserved."

static void test_info_routes(void)
{
	CHECK_ROUTE("/", ROUTE_ROOT, "", "", "");
	CHECK_ROUTE("/?x=1", ROUTE_ROOT, "", "", "");
	CHECK_ROUTE("/api/v1", ROUTE_API_INFO, "", "", "");
	CHECK_ROUTE("/api/v1/", ROUTE_API_INFO, "", "", "");
	CHECK_ROUTE("/api/v1/namespaces", ROUTE_NAMESPACES, "", "", "");
	CHECK_ROUTE("/api/v1/namespaces/", ROUTE_NAMESPACES, "", "", "");
	CHECK_ROUTE("/ping", ROUTE_PING, "", "", "");
	CHECK_ROUTE("/health", ROUTE_HEALTH, "", "", "");
	CHECK_ROUTE("/health/", ROUTE_HEALTH, "", "", "");
	CHECK_ROUTE(NS "_/limits", ROUTE_LIMITS, "_", "", "");
	CHECK_ROUTE(NS "guest/limits", ROUTE_LIMITS, "guest", "", "");
}

static void test_action_routes(void)
{
	CHECK_ROUTE(NS "_/actions", ROUTE_ACTIONS, "_", "", "");
	CHECK_ROUTE(NS "_/actions/", ROUTE_ACTIONS, "_", "", "");
	CHECK_ROUTE(NS "_/actions?limit=30&skip=0", ROUTE_ACTIONS, "_", "", "");
	CHECK_ROUTE(NS "guest/actions/hello", ROUTE_ACTION, "guest", "", "hello");
	CHECK_ROUTE(NS "_/actions/hello?blocking=true&result=true", ROUTE_ACTION, "_", "", "hello");
	CHECK_ROUTE(NS "_/actions/hello#frag", ROUTE_ACTION, "_", "", "hello");
	CHECK_ROUTE(NS "_/actions/demo/hello", ROUTE_ACTION, "_", "demo", "hello");
	CHECK_ROUTE(NS "_/actions/demo/hello/", ROUTE_ACTION, "_", "demo", "hello");
	CHECK_ROUTE(NS "whisk.system/actions/utils/echo", ROUTE_ACTION, "whisk.system", "utils",
		    "echo");
	/* actions/{pkg}/ lists one package */
	CHECK_ROUTE(NS "_/actions/demo/", ROUTE_ACTIONS, "_", "demo", "");
	CHECK_ROUTE(NS "_/actions/demo/?limit=5", ROUTE_ACTIONS, "_", "demo", "");
}

static void test_activation_routes(void)
{
	CHECK_ROUTE(NS "_/activations", ROUTE_ACTIVATIONS, "_", "", "");
	CHECK_ROUTE(NS "_/activations?limit=1&skip=0", ROUTE_ACTIVATIONS, "_", "", "");
	CHECK_ROUTE(NS "_/activations/" ID, ROUTE_ACTIVATION, "_", "", ID);
	CHECK_ROUTE(NS "guest/activations/" ID "/", ROUTE_ACTIVATION, "guest", "", ID);
	CHECK_ROUTE(NS "_/activations/" ID "/result", ROUTE_ACTIVATION_RESULT, "_", "", ID);
	CHECK_ROUTE(NS "_/activations/" ID "/logs", ROUTE_ACTIVATION_LOGS, "_", "", ID);
	CHECK_ROUTE(NS "_/activations/" ID "/logs?x", ROUTE_ACTIVATION_LOGS, "_", "", ID);
}

static void test_event_routes(void)
{
	CHECK_ROUTE(NS "_/triggers", ROUTE_TRIGGERS, "_", "", "");
	CHECK_ROUTE(NS "_/triggers/", ROUTE_TRIGGERS, "_", "", "");
	CHECK_ROUTE(NS "guest/triggers/t1?overwrite=true", ROUTE_TRIGGER, "guest", "", "t1");
	CHECK_ROUTE(NS "_/rules", ROUTE_RULES, "_", "", "");
	CHECK_ROUTE(NS "_/rules/r1", ROUTE_RULE, "_", "", "r1");
	CHECK_ROUTE(NS "_/packages", ROUTE_PACKAGES, "_", "", "");
	CHECK_ROUTE(NS "_/packages/utils", ROUTE_PACKAGE, "_", "", "utils");
	CHECK_PARSE_ERR(NS "_/packages/default", "The package name 'default' is reserved.");
	CHECK_PARSE_ERR(NS "_/triggers/.x",
			  "The name of the entity contains illegal characters.");
}

static void check_web(const char *uri, const char *ns, const char *pkg, const char *name,
		      const char *ext, const char *path)
{
	struct route r;
	struct err e = { 0 };

	CHECK_INT_EQ(route_parse(uri, &r, &e), 0);
	CHECK_INT_EQ(r.kind, ROUTE_WEB);
	CHECK_STR_EQ(r.ns, ns);
	CHECK_STR_EQ(r.package, pkg);
	CHECK_STR_EQ(r.name, name);
	CHECK_STR_EQ(r.ext, ext);
	CHECK_INT_EQ((int)r.web_path_len, (int)strlen(path));
	CHECK(r.web_path_len == 0 || strncmp(r.web_path, path, r.web_path_len) == 0);
}

static void test_web_routes(void)
{
	struct route r;
	struct err e = { 0 };

	check_web("/api/v1/web/guest/default/hello.json", "guest", "", "hello", "json", "");
	check_web("/api/v1/web/guest/default/hello", "guest", "", "hello", "http", "");
	check_web("/api/v1/web/guest/demo/page.html?x=1", "guest", "demo", "page", "html", "");
	check_web("/api/v1/web/guest/default/a.b.text", "guest", "", "a.b", "text", "");
	check_web("/api/v1/web/guest/default/my.action", "guest", "", "my.action", "http", "");
	check_web("/api/v1/web/guest/default/x.http/a/b%20c", "guest", "", "x", "http", "/a/b%20c");
	check_web("/api/v1/web/guest/default/x.svg/", "guest", "", "x", "svg", "/");
	CHECK_INT_EQ(route_parse("/api/v1/web/guest/default/.json", &r, &e), -EINVAL);
	CHECK_INT_EQ(route_parse("/api/v1/web/gu%zzest/default/a", &r, &e), -EINVAL);
	CHECK_INT_EQ(route_parse("/api/v1/web/..%2f/default/a", &r, &e), -EINVAL);
}

/* /api/{tenant}/...: a namespace's HTTP routes; /api/v1 stays the API. */
static void test_gateway_routes(void)
{
	struct route r;
	struct err e = { 0 };

	REQUIRE(route_parse("/api/guest/sensors/42?x=1", &r, &e) == 0);
	CHECK_INT_EQ(r.kind, ROUTE_GATEWAY);
	CHECK_STR_EQ(r.ns, "guest");
	CHECK_INT_EQ(r.web_path_len, strlen("/sensors/42"));
	CHECK_INT_EQ(strncmp(r.web_path, "/sensors/42", r.web_path_len), 0);
	REQUIRE(route_parse("/api/my%20ns/a%2Fb/", &r, &e) == 0);
	CHECK_INT_EQ(r.kind, ROUTE_GATEWAY);
	CHECK_STR_EQ(r.ns, "my ns");
	CHECK_INT_EQ(r.web_path_len, strlen("/a%2Fb/"));
	REQUIRE(route_parse("/api/v1/namespaces", &r, &e) == 0);
	CHECK_INT_EQ(r.kind, ROUTE_NAMESPACES);
	REQUIRE(route_parse("/api/v1/x", &r, &e) == 0);
	CHECK_INT_EQ(r.kind, ROUTE_NONE);
	REQUIRE(route_parse("/api/guest", &r, &e) == 0);
	CHECK_INT_EQ(r.kind, ROUTE_NONE);
	REQUIRE(route_parse("/api/guest/", &r, &e) == 0);
	CHECK_INT_EQ(r.kind, ROUTE_NONE);
	REQUIRE(route_parse("/api/bad$name/x", &r, &e) == 0);
	CHECK_INT_EQ(r.kind, ROUTE_NONE);
	CHECK_INT_EQ(route_parse("/api/gu%zz/x", &r, &e), -EINVAL);
}

static void test_activation_id_checks(void)
{
	char uri[512];

	CHECK_PARSE_ERR(NS "_/activations/abc1234", "Activation id length is 7 but must be 32.");
	CHECK_PARSE_ERR(NS "_/activations/" ID "0/logs",
			"Activation id length is 33 but must be 32.");
	/* right length, not lowercase hex */
	CHECK_PARSE_ERR(NS "_/activations/C7BB1339CB4F40E3A6CCEAD6C99F804E",
			"The activation id is not valid.");
	CHECK_PARSE_ERR(NS "_/activations/g7bb1339cb4f40e3a6ccead6c99f804e/result",
			"The activation id is not valid.");
	CHECK_PARSE_ERR(NS "_/activations/c7bb1339-cb4f-40e3-a6cc-ead6c99f",
			"The activation id is not valid.");
	/* the length counts decoded bytes: %61 is one 'a' */
	CHECK_ROUTE(NS "_/activations/%61" "7bb1339cb4f40e3a6ccead6c99f804e", ROUTE_ACTIVATION, "_",
		    "", "a7bb1339cb4f40e3a6ccead6c99f804e");
	CHECK_PARSE_ERR(NS "_/activations/%00" "7bb1339cb4f40e3a6ccead6c99f804e",
			"The activation id is not valid.");
	/* an id longer than any buffer still gets its real length */
	snprintf(uri, sizeof(uri), NS "_/activations/%0300d", 0);
	CHECK_PARSE_ERR(uri, "Activation id length is 300 but must be 32.");
	/* the namespace is checked first */
	CHECK_PARSE_ERR(NS "b!d/activations/xyz", MSG_NAME);
}

static void test_percent_decoding(void)
{
	CHECK_ROUTE(NS "_/actions/hello%20world", ROUTE_ACTION, "_", "", "hello world");
	CHECK_ROUTE(NS "_/actions/my%2Dpkg/a%40b", ROUTE_ACTION, "_", "my-pkg", "a@b");
	CHECK_ROUTE(NS "%5F/actions/x", ROUTE_ACTION, "_", "", "x");
	/* literal segments are matched after decoding, '+' stays '+' in a path */
	CHECK_ROUTE("/api/v1/namespaces/_/%61ctions/x", ROUTE_ACTION, "_", "", "x");
	CHECK_PARSE_ERR(NS "_/actions/a+b", MSG_NAME);
	/* malformed escapes */
	CHECK_PARSE_ERR(NS "_/actions/a%zz", "malformed URI");
	CHECK_PARSE_ERR(NS "_/actions/a%2", "malformed URI");
	CHECK_PARSE_ERR(NS "_/actions/a%", "malformed URI");
	CHECK_PARSE_ERR(NS "_/actions/%g0", "malformed URI");
	/* an encoded '/' is a character of the name, not a separator */
	CHECK_PARSE_ERR(NS "_/actions/a%2Fb", MSG_NAME);
	CHECK_PARSE_ERR(NS "_/actions/a%2fb/c", MSG_NAME);
	/* %00 is never a name character */
	CHECK_PARSE_ERR(NS "_/actions/a%00b", MSG_NAME);
	CHECK_PARSE_ERR(NS "_/actions/%00", MSG_NAME);
	/* '?' and '#' end the path even right after a '%' */
	CHECK_PARSE_ERR(NS "_/actions/a%?x=1", "malformed URI");
	CHECK_ROUTE(NS "_/actions/a?x=%zz", ROUTE_ACTION, "_", "", "a");
}

static void test_name_errors(void)
{
	char uri[1024], name[300];

	CHECK_PARSE_ERR(NS "_/actions/-a", MSG_NAME);
	CHECK_PARSE_ERR(NS "_/actions/a%20", MSG_NAME);
	CHECK_PARSE_ERR(NS "b%21d/actions", MSG_NAME);
	CHECK_PARSE_ERR(NS "%20/limits", MSG_NAME);
	CHECK_PARSE_ERR(NS "_/actions/pkg%20/x", MSG_NAME);
	CHECK_PARSE_ERR(NS "_/actions/-pkg/", MSG_NAME);
	CHECK_PARSE_ERR(NS "_/actions/%C3%A4", MSG_NAME);
	/* "default" is reserved only where a package is addressed */
	CHECK_PARSE_ERR(NS "_/actions/default/x", MSG_PKG_DEFAULT);
	CHECK_PARSE_ERR(NS "_/actions/default/", MSG_PKG_DEFAULT);
	CHECK_ROUTE(NS "_/actions/default", ROUTE_ACTION, "_", "", "default");
	CHECK_ROUTE(NS "_/actions/Default/x", ROUTE_ACTION, "_", "Default", "x");
	/* bad package name wins over the reserved-name rule and a bad action */
	CHECK_PARSE_ERR(NS "_/actions/default/-x", MSG_NAME);
	CHECK_PARSE_ERR(NS "_/actions/-p/default", MSG_NAME);

	/* 256 chars fit exactly; 257 (or 300, encoded or not) are a name error */
	memset(name, 'n', 256);
	name[256] = '\0';
	snprintf(uri, sizeof(uri), NS "_/actions/%s/%s", name, name);
	CHECK_ROUTE(uri, ROUTE_ACTION, "_", name, name);
	snprintf(uri, sizeof(uri), NS "%s/actions/x", name);
	CHECK_ROUTE(uri, ROUTE_ACTION, name, "", "x");
	snprintf(uri, sizeof(uri), NS "_/actions/%sn", name);
	CHECK_PARSE_ERR(uri, MSG_NAME);
	snprintf(uri, sizeof(uri), NS "_/actions/%sn/x", name);
	CHECK_PARSE_ERR(uri, MSG_NAME);
	snprintf(uri, sizeof(uri), NS "%sn/limits", name);
	CHECK_PARSE_ERR(uri, MSG_NAME);
	snprintf(uri, sizeof(uri), NS "_/actions/%s%%41", name);
	CHECK_PARSE_ERR(uri, MSG_NAME);
	/* the decoded length counts, not the raw one: 255 escapes + 1 char fit */
	{
		size_t n = (size_t)snprintf(uri, sizeof(uri), NS "_/actions/");
		struct route r;

		for (int i = 0; i < 255; i++)
			n += (size_t)snprintf(uri + n, sizeof(uri) - n, "%%41");
		snprintf(uri + n, sizeof(uri) - n, "b");
		r = PARSE_OK(uri);
		CHECK_INT_EQ(r.kind, ROUTE_ACTION);
		CHECK_INT_EQ(strlen(r.name), 256);
		snprintf(uri + n, sizeof(uri) - n, "%%41b");
		CHECK_PARSE_ERR(uri, MSG_NAME);
	}
}

static void test_unknown_paths(void)
{
	char uri[4096];

	CHECK_NONE("");
	CHECK_NONE("api/v1");
	CHECK_NONE("?a=1");
	CHECK_NONE("//");
	CHECK_NONE("/api");
	CHECK_NONE("/api/v2");
	CHECK_NONE("/api/v2/");       /* "/api/v2/x" is namespace v2's route */
	CHECK_NONE("/API/v1");
	CHECK_NONE("/api/v1//");
	CHECK_NONE("/api//v1");
	CHECK_NONE("/ping/x");
	CHECK_NONE("/pingx");
	CHECK_NONE("/api/v1/namespaces/_");
	CHECK_NONE("/api/v1/namespaces/_/");
	CHECK_NONE("/api/v1/namespaces/_/foo");
	CHECK_NONE("/api/v1/namespaces/_/triggers/t/x");
	CHECK_NONE("/api/v1/namespaces/_/rules/r/x");
	CHECK_NONE("/api/v1/web/guest");
	CHECK_NONE("/api/v1/web/guest/default");
	CHECK_NONE("/api/v1/web/guest/default/");
	CHECK_NONE("/api/v1/namespaces/_/limits/x");
	CHECK_NONE("/api/v1/namespaces/_/actions/a/b/c");
	CHECK_NONE("/api/v1/namespaces/_/actions/a/b//");
	CHECK_NONE("/api/v1/namespaces/_/actions//b");
	CHECK_NONE("/api/v1/namespaces/_/actions//");
	CHECK_NONE("/api/v1/namespaces//actions");
	CHECK_NONE("/api/v1/namespaces/_/activations/" ID "/foo");
	CHECK_NONE("/api/v1/namespaces/_/activations/" ID "/logs/x");
	CHECK_NONE("/api/v1/namespaces/_/actions/../../../etc/passwd");
	CHECK_NONE("/api/v1/namespaces/_/actions/..");
	CHECK_NONE("/api/v1/namespaces/_/actions/./x");
	CHECK_NONE("/api/v1/namespaces/../actions/x");
	CHECK_NONE("/api/v1/../v1/namespaces");
	CHECK_NONE("/api/v1/namespaces/_/actions/%2e%2e");
	/* unknown shapes win over bad names: 404, not 400 */
	CHECK_NONE("/api/v1/namespaces/b!d/foo");
	CHECK_NONE("/api/v1/namespaces/_/activations/short/foo");
	/* an oversized segment where a literal belongs is just unknown */
	memset(uri, 0, sizeof(uri));
	memcpy(uri, "/api/", 5);
	memset(uri + 5, 'v', 3000);
	CHECK_NONE(uri);
	/* many segments */
	for (size_t i = 0; i + 2 < sizeof(uri); i += 2)
		memcpy(uri + i, "/a", 2);
	uri[sizeof(uri) - 1] = '\0';
	CHECK_NONE(uri);
	{
		struct route r;

		CHECK_INT_EQ(route_parse(NULL, &r, NULL), 0);
		CHECK_INT_EQ(r.kind, ROUTE_NONE);
	}
	/* NULL err is fine on errors too */
	{
		struct route r;

		CHECK_INT_EQ(route_parse(NS "_/actions/-a", &r, NULL), -EINVAL);
	}
}

static void test_query_get(void)
{
	const char *uri = NS "_/actions?limit=30&skip=0&name=b%20c+d&flag&empty=&dup=1&dup=2"
			  "&a%3Db=x&p%2Bq=y#limit=99";
	char buf[64];

	CHECK_INT_EQ(route_query_get(uri, "limit", buf, sizeof(buf)), 0);
	CHECK_STR_EQ(buf, "30");
	CHECK_INT_EQ(route_query_get(uri, "skip", buf, sizeof(buf)), 0);
	CHECK_STR_EQ(buf, "0");
	CHECK_INT_EQ(route_query_get(uri, "name", buf, sizeof(buf)), 0);
	CHECK_STR_EQ(buf, "b c d");
	CHECK_INT_EQ(route_query_get(uri, "flag", buf, sizeof(buf)), 0);
	CHECK_STR_EQ(buf, "");
	CHECK_INT_EQ(route_query_get(uri, "empty", buf, sizeof(buf)), 0);
	CHECK_STR_EQ(buf, "");
	CHECK_INT_EQ(route_query_get(uri, "dup", buf, sizeof(buf)), 0);
	CHECK_STR_EQ(buf, "1");
	/* keys are decoded too */
	CHECK_INT_EQ(route_query_get(uri, "a=b", buf, sizeof(buf)), 0);
	CHECK_STR_EQ(buf, "x");
	CHECK_INT_EQ(route_query_get(uri, "p+q", buf, sizeof(buf)), 0);
	CHECK_STR_EQ(buf, "y");
	/* absent: not there, a prefix, after the fragment, no query at all */
	CHECK_INT_EQ(route_query_get(uri, "missing", buf, sizeof(buf)), -ENOENT);
	CHECK_INT_EQ(route_query_get(uri, "lim", buf, sizeof(buf)), -ENOENT);
	CHECK_INT_EQ(route_query_get(uri, "limits", buf, sizeof(buf)), -ENOENT);
	CHECK_INT_EQ(route_query_get(uri, "", buf, sizeof(buf)), -ENOENT);
	CHECK_INT_EQ(route_query_get(NS "_/actions", "limit", buf, sizeof(buf)), -ENOENT);
	CHECK_INT_EQ(route_query_get(NS "_/actions#?limit=1", "limit", buf, sizeof(buf)), -ENOENT);
	CHECK_INT_EQ(route_query_get(NULL, "limit", buf, sizeof(buf)), -ENOENT);
	CHECK_INT_EQ(route_query_get("/?&&limit=4&", "limit", buf, sizeof(buf)), 0);
	CHECK_STR_EQ(buf, "4");
	/* does not fit: "30" needs 3 bytes */
	CHECK_INT_EQ(route_query_get(uri, "limit", buf, 3), 0);
	CHECK_INT_EQ(route_query_get(uri, "limit", buf, 2), -ENAMETOOLONG);
	CHECK_INT_EQ(route_query_get(uri, "flag", buf, 0), -ENAMETOOLONG);
	CHECK_INT_EQ(route_query_get(uri, "flag", buf, 1), 0);
	/* malformed value; a malformed key elsewhere does not matter */
	CHECK_INT_EQ(route_query_get("/?a=%zz", "a", buf, sizeof(buf)), -EINVAL);
	CHECK_INT_EQ(route_query_get("/?a=%4", "a", buf, sizeof(buf)), -EINVAL);
	CHECK_INT_EQ(route_query_get("/?a=x%00y", "a", buf, sizeof(buf)), -EINVAL);
	CHECK_INT_EQ(route_query_get("/?%zz=1&a=2", "a", buf, sizeof(buf)), 0);
	CHECK_STR_EQ(buf, "2");
}

static void test_query_u64(void)
{
	uint64_t v = 7;

	CHECK_INT_EQ(route_query_u64("/x?limit=30&skip=0", "limit", 30, 0, 200, &v), 0);
	CHECK_INT_EQ(v, 30);
	CHECK_INT_EQ(route_query_u64("/x?limit=30&skip=0", "skip", 9, 0, UINT64_MAX, &v), 0);
	CHECK_INT_EQ(v, 0);
	CHECK_INT_EQ(route_query_u64("/x?limit=30", "skip", 9, 0, 10, &v), 0);
	CHECK_INT_EQ(v, 9);
	CHECK_INT_EQ(route_query_u64("/x", "skip", 11, 0, 10, &v), 0);  /* default unchecked */
	CHECK_INT_EQ(v, 11);
	v = 7;
	CHECK_INT_EQ(route_query_u64("/x?limit=201", "limit", 30, 0, 200, &v), -EINVAL);
	CHECK_INT_EQ(route_query_u64("/x?limit=0", "limit", 30, 1, 200, &v), -EINVAL);
	CHECK_INT_EQ(route_query_u64("/x?limit=", "limit", 30, 0, 200, &v), -EINVAL);
	CHECK_INT_EQ(route_query_u64("/x?limit", "limit", 30, 0, 200, &v), -EINVAL);
	CHECK_INT_EQ(route_query_u64("/x?limit=-1", "limit", 30, 0, 200, &v), -EINVAL);
	CHECK_INT_EQ(route_query_u64("/x?limit=+1", "limit", 30, 0, 200, &v), -EINVAL);
	CHECK_INT_EQ(route_query_u64("/x?limit=%201", "limit", 30, 0, 200, &v), -EINVAL);
	CHECK_INT_EQ(route_query_u64("/x?limit=1x", "limit", 30, 0, 200, &v), -EINVAL);
	CHECK_INT_EQ(route_query_u64("/x?limit=0x10", "limit", 30, 0, 200, &v), -EINVAL);
	CHECK_INT_EQ(route_query_u64("/x?limit=1e2", "limit", 30, 0, 200, &v), -EINVAL);
	CHECK_INT_EQ(route_query_u64("/x?limit=%zz", "limit", 30, 0, 200, &v), -EINVAL);
	CHECK_INT_EQ(v, 7);   /* untouched on errors */
	/* the edge of uint64 */
	CHECK_INT_EQ(route_query_u64("/x?n=18446744073709551615", "n", 0, 0, UINT64_MAX, &v), 0);
	CHECK(v == UINT64_MAX);
	CHECK_INT_EQ(route_query_u64("/x?n=18446744073709551616", "n", 0, 0, UINT64_MAX, &v),
		     -EINVAL);
	CHECK_INT_EQ(route_query_u64("/x?n=99999999999999999999", "n", 0, 0, UINT64_MAX, &v),
		     -EINVAL);
	/* too long to be a number we take, even if its value is small */
	CHECK_INT_EQ(route_query_u64("/x?n=000000000000000000000000000000000000000001", "n", 0, 0,
				     UINT64_MAX, &v), -EINVAL);
	CHECK_INT_EQ(route_query_u64("/x?n=0042", "n", 0, 0, 100, &v), 0);
	CHECK_INT_EQ(v, 42);
}

static void test_query_bool(void)
{
	bool b = false;

	CHECK_INT_EQ(route_query_bool("/x?blocking=true&result=false", "blocking", false, &b), 0);
	CHECK(b);
	CHECK_INT_EQ(route_query_bool("/x?blocking=true&result=false", "result", true, &b), 0);
	CHECK(!b);
	CHECK_INT_EQ(route_query_bool("/x?blocking=true", "result", true, &b), 0);
	CHECK(b);
	CHECK_INT_EQ(route_query_bool("/x", "result", false, &b), 0);
	CHECK(!b);
	b = true;
	CHECK_INT_EQ(route_query_bool("/x?blocking=yes", "blocking", false, &b), -EINVAL);
	CHECK_INT_EQ(route_query_bool("/x?blocking=1", "blocking", false, &b), -EINVAL);
	CHECK_INT_EQ(route_query_bool("/x?blocking=", "blocking", false, &b), -EINVAL);
	CHECK_INT_EQ(route_query_bool("/x?blocking", "blocking", false, &b), -EINVAL);
	CHECK_INT_EQ(route_query_bool("/x?blocking=truex", "blocking", false, &b), -EINVAL);
	CHECK_INT_EQ(route_query_bool("/x?blocking=trueeeeeeeee", "blocking", false, &b), -EINVAL);
	CHECK_INT_EQ(route_query_bool("/x?blocking=%zz", "blocking", false, &b), -EINVAL);
	CHECK(b);
	CHECK_INT_EQ(route_query_bool("/x?blocking=%74rue", "blocking", false, &b), 0);
	CHECK(b);
}

/* Standard base64 with padding, for building headers. */
static void b64(const char *in, char *out, size_t size)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t len = strlen(in), o = 0;

	for (size_t i = 0; i < len && o + 5 < size; i += 3) {
		unsigned v = (unsigned char)in[i] << 16;

		if (i + 1 < len)
			v |= (unsigned char)in[i + 1] << 8;
		if (i + 2 < len)
			v |= (unsigned char)in[i + 2];
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = i + 1 < len ? tab[v >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? tab[v & 63] : '=';
	}
	out[o] = '\0';
}

static int auth_plain(const struct cfg *c, const char *prefix, const char *creds)
{
	char enc[512], hdr[600];

	b64(creds, enc, sizeof(enc));
	snprintf(hdr, sizeof(hdr), "%s%s", prefix, enc);
	return route_auth(c, hdr);
}

static void test_auth(void)
{
	struct cfg c;
	char enc[512];

	cfg_defaults(&c);
	b64(GUEST_UUID ":" GUEST_KEY, enc, sizeof(enc));
	CHECK_STR_EQ(enc, GUEST_B64);   /* the test encoder agrees with base64(1) */

	CHECK_INT_EQ(route_auth(&c, "Basic " GUEST_B64), 0);
	CHECK_INT_EQ(route_auth(&c, "basic " GUEST_B64), 0);
	CHECK_INT_EQ(route_auth(&c, "BASIC " GUEST_B64), 0);
	CHECK_INT_EQ(route_auth(&c, "  Basic \t  " GUEST_B64 "  "), 0);

	/* absent or empty */
	CHECK_INT_EQ(route_auth(&c, NULL), -ENOENT);
	CHECK_INT_EQ(route_auth(&c, ""), -ENOENT);
	CHECK_INT_EQ(route_auth(&c, "   "), -ENOENT);

	/* wrong key: last char, first char, shorter, longer, empty */
	CHECK_INT_EQ(auth_plain(&c, "Basic ", GUEST_UUID ":" GUEST_KEY "x"), -EACCES);
	CHECK_INT_EQ(auth_plain(&c, "Basic ",
				GUEST_UUID ":123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4V"
					   "rNZ9lyGVCGuMDGIwQ"),
		     -EACCES);
	CHECK_INT_EQ(auth_plain(&c, "Basic ",
				GUEST_UUID ":023zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4V"
					   "rNZ9lyGVCGuMDGIwP"),
		     -EACCES);
	CHECK_INT_EQ(auth_plain(&c, "Basic ", GUEST_UUID ":123zO3xZ"), -EACCES);
	CHECK_INT_EQ(auth_plain(&c, "Basic ", GUEST_UUID ":"), -EACCES);
	CHECK_INT_EQ(auth_plain(&c, "Basic ", GUEST_UUID), -EACCES);
	/* wrong uuid with the right key, the key of another uuid */
	CHECK_INT_EQ(auth_plain(&c, "Basic ", "23bc46b1-71f6-4ed5-8c54-816aa4f8c503:" GUEST_KEY),
		     -EACCES);
	CHECK_INT_EQ(auth_plain(&c, "Basic ", ":" GUEST_KEY), -EACCES);
	CHECK_INT_EQ(auth_plain(&c, "Basic ", GUEST_KEY ":" GUEST_UUID), -EACCES);
	/* malformed base64 */
	CHECK_INT_EQ(route_auth(&c, "Basic !!!!"), -EACCES);
	CHECK_INT_EQ(route_auth(&c, "Basic " GUEST_B64 "="), -EACCES);
	CHECK_INT_EQ(route_auth(&c, "Basic =" GUEST_B64), -EACCES);
	CHECK_INT_EQ(route_auth(&c, "Basic YQ"), -EACCES);       /* unpadded "a" */
	CHECK_INT_EQ(route_auth(&c, "Basic YR=="), -EACCES);     /* non-zero pad bits */
	/* the guest token with its last "d1A=" spelt "d1B=": same bytes, but
	 * non-canonical pad bits */
	{
		char alt[] = "Basic " GUEST_B64;

		CHECK_INT_EQ(alt[sizeof(alt) - 3], 'A');
		alt[sizeof(alt) - 3] = 'B';
		CHECK_INT_EQ(route_auth(&c, alt), -EACCES);
		alt[sizeof(alt) - 3] = 'A';
		CHECK_INT_EQ(route_auth(&c, alt), 0);
	}
	CHECK_INT_EQ(route_auth(&c, "Basic YQ=a"), -EACCES);     /* data after '=' */
	CHECK_INT_EQ(route_auth(&c, "Basic ===="), -EACCES);
	CHECK_INT_EQ(route_auth(&c, "Basic Y==="), -EACCES);
	CHECK_INT_EQ(route_auth(&c, "Basic YWI6Yw==YWI6Yw=="), -EACCES);
	/* "23bc...:<key>\0" and a NUL inside: the decoded bytes are not a C string */
	CHECK_INT_EQ(route_auth(&c, "Basic YTpiAA=="), -EACCES);
	/* no "Basic", another scheme, no token, two tokens */
	CHECK_INT_EQ(route_auth(&c, GUEST_B64), -EACCES);
	CHECK_INT_EQ(route_auth(&c, "Bearer " GUEST_B64), -EACCES);
	CHECK_INT_EQ(route_auth(&c, "Basic" GUEST_B64), -EACCES);
	CHECK_INT_EQ(route_auth(&c, "Basic"), -EACCES);
	CHECK_INT_EQ(route_auth(&c, "Basic   "), -EACCES);
	CHECK_INT_EQ(route_auth(&c, "Basic " GUEST_B64 " " GUEST_B64), -EACCES);
	CHECK_INT_EQ(route_auth(&c, "Basicx " GUEST_B64), -EACCES);
	/* a huge header */
	{
		static char big[20000];

		memcpy(big, "Basic ", 6);
		memset(big + 6, 'Q', sizeof(big) - 7);
		big[sizeof(big) - 1] = '\0';
		CHECK_INT_EQ(route_auth(&c, big), -EACCES);
	}
}

static void test_auth_many_keys(void)
{
	struct cfg c;

	cfg_defaults(&c);
	c.keys[1] = c.keys[0];
	memcpy(c.keys[1].uuid, SYS_UUID, sizeof(SYS_UUID));
	memcpy(c.keys[1].key, SYS_KEY, sizeof(SYS_KEY));
	c.key_count = 2;
	CHECK_INT_EQ(auth_plain(&c, "Basic ", GUEST_UUID ":" GUEST_KEY), 0);
	CHECK_INT_EQ(auth_plain(&c, "Basic ", SYS_UUID ":" SYS_KEY), 1);
	/* a key is bound to its uuid */
	CHECK_INT_EQ(auth_plain(&c, "Basic ", SYS_UUID ":" GUEST_KEY),
		     -EACCES);
	c.key_count = 1;
	CHECK_INT_EQ(auth_plain(&c, "Basic ", SYS_UUID ":" SYS_KEY), -EACCES);
	c.key_count = 0;
	CHECK_INT_EQ(route_auth(&c, "Basic " GUEST_B64), -EACCES);
}

/* xorshift64*: reproducible without touching rand()'s global state. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static bool str_fits(const char *s)
{
	return memchr(s, '\0', NAME_SIZE) != NULL;
}

/* Up to two byte edits (replace, insert a piece, delete, truncate). */
static size_t mutate(char *buf, size_t len, size_t cap, uint64_t *seed,
		     const char *const *pieces, size_t npieces)
{
	size_t edits = rng_next(seed) % 3;   /* 0: the valid URI itself */

	for (size_t i = 0; i < edits && len > 0; i++) {
		size_t at = rng_next(seed) % len;
		const char *p;
		size_t n;

		switch (rng_next(seed) % 4) {
		case 0:
			buf[at] = (char)(rng_next(seed) % 255 + 1);
			break;
		case 1:
			p = pieces[rng_next(seed) % npieces];
			n = strlen(p);
			if (len + n < cap) {
				memmove(buf + at + n, buf + at, len - at);
				memcpy(buf + at, p, n);
				len += n;
			}
			break;
		case 2:
			memmove(buf + at, buf + at + 1, len - at - 1);
			len--;
			break;
		default:
			len = at;
			break;
		}
	}
	return len;
}

/* 100k random inputs: raw bytes, strings of path-like pieces, and small
 * mutations of valid URIs so the deep routes are reached. Each result
 * must be 0 or -EINVAL with a message, and a parsed route must hold
 * terminated, valid fields. */
static void test_random_inputs(void)
{
	static const char *const pieces[] = {
		"/", "/", "/", "api", "v1", "namespaces", "_", "guest", "actions", "activations",
		"limits", "result", "logs", "ping", "health", "default", "triggers", "rules",
		"packages", "web", ".json", ".http", "%", "%2", "%2F", "%00",
		"%41", "%zz", "?", "#", "&", "=", "..", ".", " ", "+", "-", "@", ID, "\xc3\xa4",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	static const char *const valid[] = {
		"/", "/api/v1", "/api/v1/namespaces", NS "_/limits", NS "_/actions",
		NS "_/actions/hello", NS "guest/actions/demo/hello?blocking=true",
		NS "_/actions/demo/", NS "_/activations?limit=1", NS "_/activations/" ID,
		NS "_/activations/" ID "/result",
		NS "_/activations/" ID "/logs", "/ping", "/health", NS "_/triggers",
		NS "_/triggers/t", NS "_/rules", NS "_/rules/r", NS "_/packages", NS "_/packages/p",
		"/api/v1/web/guest/default/hello.json", "/api/v1/web/guest/p/a.http/x/y",
	};
	const size_t npieces = sizeof(pieces) / sizeof(pieces[0]);
	const size_t nvalid = sizeof(valid) / sizeof(valid[0]);
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	static char buf[1200];
	size_t kinds[ROUTE_HEALTH + 1] = { 0 };
	size_t errors = 0;

	for (int iter = 0; iter < 100000; iter++) {
		struct route r;
		struct err e = { 0 };
		size_t len = 0, want = rng_next(&seed) % 1100;
		uint64_t mode = rng_next(&seed) % 3;
		int rc;

		if (mode == 0) {
			while (len < want) {
				char ch = (char)(rng_next(&seed) & 0xff);

				buf[len++] = ch ? ch : '/';
			}
		} else if (mode == 1) {
			buf[len++] = '/';
			while (len < want) {
				const char *p = pieces[rng_next(&seed) % npieces];
				size_t n = strlen(p);

				if (len + n >= sizeof(buf) - 1)
					break;
				memcpy(buf + len, p, n);
				len += n;
			}
		} else {
			const char *v = valid[rng_next(&seed) % nvalid];

			len = strlen(v);
			memcpy(buf, v, len);
			len = mutate(buf, len, sizeof(buf) - 1, &seed, pieces, npieces);
		}
		buf[len] = '\0';
		rc = route_parse(buf, &r, &e);
		if (rc == -EINVAL) {
			errors++;
			if (e.code != -EINVAL || e.msg[0] == '\0') {
				HARNESS_FAIL("no message for \"%s\"", buf);
				return;
			}
			continue;
		}
		if (rc != 0 || (unsigned)r.kind > ROUTE_HEALTH || !str_fits(r.ns) ||
		    !str_fits(r.package) || !str_fits(r.name)) {
			HARNESS_FAIL("bad result %d for \"%s\"", rc, buf);
			return;
		}
		kinds[r.kind]++;
		if (r.kind == ROUTE_ACTION && !name_is_valid(r.name)) {
			HARNESS_FAIL("invalid name accepted from \"%s\"", buf);
			return;
		}
		if (r.kind >= ROUTE_LIMITS && r.kind <= ROUTE_ACTIVATION_LOGS &&
		    !name_is_valid(r.ns)) {
			HARNESS_FAIL("invalid namespace accepted from \"%s\"", buf);
			return;
		}
		if (r.package[0] && (!name_is_valid(r.package) ||
				     strcmp(r.package, "default") == 0)) {
			HARNESS_FAIL("invalid package accepted from \"%s\"", buf);
			return;
		}
		/* the other entry points take the same input */
		{
			char q[16];
			uint64_t u;
			bool b;

			int qr = route_query_get(buf, "a", q, sizeof(q));

			if ((qr != 0 && qr != -ENOENT && qr != -EINVAL && qr != -ENAMETOOLONG) ||
			    (qr == 0 && !memchr(q, '\0', sizeof(q)))) {
				HARNESS_FAIL("route_query_get = %d for \"%s\"", qr, buf);
				return;
			}
			qr = route_query_u64(buf, "limit", 0, 0, UINT64_MAX, &u);
			CHECK(qr == 0 || qr == -EINVAL);
			qr = route_query_bool(buf, "blocking", false, &b);
			CHECK(qr == 0 || qr == -EINVAL);
		}
	}
	/* the generator must reach the interesting places */
	CHECK(errors > 1000);
	CHECK(kinds[ROUTE_NONE] > 1000);
	for (int k = ROUTE_ROOT; k <= ROUTE_HEALTH; k++) {
		if (kinds[k] == 0)
			HARNESS_FAIL("kind %d never produced", k);
	}
}

static void test_random_auth(void)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \t";
	struct cfg c;
	uint64_t seed = 12345;
	char hdr[700];

	cfg_defaults(&c);
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = rng_next(&seed) % (sizeof(hdr) - 7), o = 6;
		int rc;

		memcpy(hdr, "Basic ", 6);
		while (o < len + 6)
			hdr[o++] = alphabet[rng_next(&seed) % (sizeof(alphabet) - 1)];
		hdr[o] = '\0';
		rc = route_auth(&c, hdr);
		if (rc != -EACCES) {
			HARNESS_FAIL("route_auth(\"%s\") = %d", hdr, rc);
			return;
		}
	}
}

HARNESS_MAIN("route",
	     TEST_CASE(test_info_routes),
	     TEST_CASE(test_action_routes),
	     TEST_CASE(test_activation_routes), TEST_CASE(test_event_routes), TEST_CASE(test_web_routes), TEST_CASE(test_gateway_routes),
	     TEST_CASE(test_activation_id_checks),
	     TEST_CASE(test_percent_decoding),
	     TEST_CASE(test_name_errors),
	     TEST_CASE(test_unknown_paths),
	     
	     TEST_CASE(test_query_get),
	     TEST_CASE(test_query_u64),
	     TEST_CASE(test_query_bool),
	     TEST_CASE(test_auth),
	     TEST_CASE(test_auth_many_keys),
	     TEST_CASE(test_random_inputs),
	     TEST_CASE(test_random_auth))
