/* SPDX-License-Identifier: Apache-2.0 */
/* protocol: the /init and /run bodies and OpenWhisk's outcome classes,
 * without a container. */
#include "invoker/protocol.h"

#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "tests/harness.h"

static struct act_request request(cJSON *env)
{
	struct act_request q = {
		.activation_id = "0123456789abcdef0123456789abcdef",
		.transaction_id = "tx1",
		.namespace = "guest",
		.path = "guest/pkg",
		.name = "hello",
		.version = "0.0.2",
		.kind = "nodejs:20",
		.image = "img",
		.main = "main",
		.env = env,
		.timeout_ms = 1000,
		.memory_mb = 128,
		.logs_mb = 1,
		.value = "{\"name\": \"x\"}",
		.value_len = 13,
	};

	return q;
}

static cJSON *parsed(const char *text, size_t len)
{
	cJSON *j = NULL;

	if (!text || json_parse(text, len, &j, NULL) < 0)
		return NULL;
	return j;
}

static void test_init_body(void)
{
	_cleanup_json_ cJSON *env = parsed("{\"K\":\"v\",\"N\":3,\"O\":{\"a\":1}}", 27), *b = NULL;
	struct act_request q = request(env);
	const cJSON *v, *e;
	size_t len = 0;
	char *s = protocol_init_body(&q, "function main(){}", 1700000000000ull, &len);

	b = parsed(s, len);
	REQUIRE(b);
	v = json_get_object(b, "value");
	CHECK_STR_EQ(json_get_string(v, "code"), "function main(){}");
	CHECK_STR_EQ(json_get_string(v, "name"), "hello");
	CHECK_STR_EQ(json_get_string(v, "main"), "main");
	CHECK(!json_get_bool(v, "binary", true));
	e = json_get_object(v, "env");
	CHECK_STR_EQ(json_get_string(e, "__OW_NAMESPACE"), "guest");
	CHECK_STR_EQ(json_get_string(e, "__OW_ACTION_NAME"), "/guest/pkg/hello");
	CHECK_STR_EQ(json_get_string(e, "__OW_ACTIVATION_ID"), q.activation_id);
	CHECK_STR_EQ(json_get_string(e, "__OW_TRANSACTION_ID"), "tx1");
	CHECK_STR_EQ(json_get_string(e, "__OW_DEADLINE"), "1700000000000");
	CHECK(json_get_string(e, "__OW_API_KEY") == NULL);
	/* Init parameters become environment strings. */
	CHECK_STR_EQ(json_get_string(e, "K"), "v");
	CHECK_STR_EQ(json_get_string(e, "N"), "3");
	CHECK_STR_EQ(json_get_string(e, "O"), "{\"a\":1}");
	free(s);
	json_delete(b);
	/* No code (a blackbox image brings its own). */
	q.api_key = "u:k";
	s = protocol_init_body(&q, NULL, 1, &len);
	b = parsed(s, len);
	REQUIRE(b);
	CHECK(json_get_string(json_get_object(b, "value"), "code") == NULL);
	CHECK_STR_EQ(json_get_string(json_get_object(json_get_object(b, "value"), "env"),
				     "__OW_API_KEY"),
		     "u:k");
	free(s);
}

static void test_run_body(void)
{
	struct act_request q = request(NULL);
	_cleanup_json_ cJSON *b = NULL;
	size_t len = 0;
	char *s = protocol_run_body(&q, 42, &len);

	REQUIRE(s);
	/* The value bytes as they came, spaces included. */
	CHECK(strncmp(s, "{\"value\":{\"name\": \"x\"},", 23) == 0);
	b = parsed(s, len);
	REQUIRE(b);
	CHECK_STR_EQ(json_get_string(b, "action_name"), "/guest/pkg/hello");
	CHECK_STR_EQ(json_get_string(b, "deadline"), "42");
	CHECK_STR_EQ(json_get_string(b, "transaction_id"), "tx1");
	free(s);
	/* No value: {}. */
	q.value_len = 0;
	s = protocol_run_body(&q, 42, &len);
	REQUIRE(s);
	CHECK(strncmp(s, "{\"value\":{},", 12) == 0);
	free(s);
}

static void test_body_error(void)
{
	char *m = protocol_body_error("{\"error\":\"bad\"}", 15);

	CHECK_STR_EQ(m, "bad");
	free(m);
	m = protocol_body_error("{\"error\":{\"x\":1}}", 17);
	CHECK_STR_EQ(m, "{\"x\":1}");
	free(m);
	CHECK(protocol_body_error("oops", 4) == NULL);
	CHECK(protocol_body_error("{}", 2) == NULL);
	CHECK(protocol_body_error(NULL, 0) == NULL);
}

/* Classify `body` answered with `status` (the body is copied: the
 * outcome may take it). */
static void run(int status, const char *body, size_t full_len, uint64_t max,
		struct protocol_outcome *o)
{
	struct http_response r = { .status = status, .body = body ? strdup(body) : NULL,
				   .len = body ? strlen(body) : 0,
				   .full_len = full_len ? full_len : (body ? strlen(body) : 0) };

	memset(o, 0, sizeof(*o));
	o->status = ACT_WHISK_ERROR;
	protocol_run_outcome(&r, max, o);
	free(r.body);
}

static void test_run_outcomes(void)
{
	struct protocol_outcome o;

	run(200, "{\"ok\":true}", 0, 1000, &o);
	CHECK_INT_EQ(o.status, ACT_SUCCESS);
	CHECK(o.keep);
	CHECK_STR_EQ(o.result, "{\"ok\":true}");
	protocol_outcome_fini(&o);
	run(200, "[1,2]", 0, 1000, &o);
	CHECK_INT_EQ(o.status, ACT_SUCCESS);
	protocol_outcome_fini(&o);
	run(200, "{\"error\":\"boom\",\"other\":1}", 0, 1000, &o);
	CHECK_INT_EQ(o.status, ACT_APPLICATION_ERROR);
	CHECK(o.keep);
	CHECK_STR_EQ(o.result, "{\"error\":\"boom\"}");
	protocol_outcome_fini(&o);
	run(200, "\"just a string\"", 0, 1000, &o);
	CHECK_INT_EQ(o.status, ACT_DEVELOPER_ERROR);
	CHECK(!o.keep);
	CHECK_STR_CONTAINS(o.result, "did not produce a valid JSON or JSON Array response");
	protocol_outcome_fini(&o);
	run(502, "{\"error\":\"The action failed\"}", 0, 1000, &o);
	CHECK_INT_EQ(o.status, ACT_DEVELOPER_ERROR);
	CHECK_STR_EQ(o.result, "{\"error\":\"The action failed\"}");
	protocol_outcome_fini(&o);
	run(200, "{\"big\":1}", 5000, 1000, &o);
	CHECK_INT_EQ(o.status, ACT_APPLICATION_ERROR);
	CHECK_STR_CONTAINS(o.result, "exceeded the allowed length: 5000 > 1000 bytes");
	protocol_outcome_fini(&o);
}

static void test_init_outcomes(void)
{
	struct protocol_outcome o = { .status = ACT_SUCCESS, .keep = true };
	struct http_response ok = { .status = 200, .body = "OK", .len = 2, .full_len = 2 };
	struct http_response bad = { .status = 502, .body = "{\"error\":\"syntax error\"}",
				     .len = 24, .full_len = 24 };
	struct http_response raw = { .status = 500, .body = "crash", .len = 5, .full_len = 5 };

	protocol_init_outcome(&ok, &o);
	CHECK_INT_EQ(o.status, ACT_SUCCESS);
	CHECK(o.keep);
	protocol_init_outcome(&bad, &o);
	CHECK_INT_EQ(o.status, ACT_DEVELOPER_ERROR);
	CHECK(!o.keep);
	CHECK_STR_EQ(o.result, "{\"error\":\"syntax error\"}");
	protocol_init_outcome(&raw, &o);
	CHECK_STR_EQ(o.result, "{\"error\":\"The action failed during initialization: crash\"}");
	protocol_outcome_fini(&o);
	protocol_outcome_errorf(&o, ACT_WHISK_ERROR, "n=%d", 3);
	CHECK_STR_EQ(o.result, "{\"error\":\"n=3\"}");
	CHECK(!o.keep);
	protocol_outcome_fini(&o);
	CHECK(o.result == NULL);
}

HARNESS_MAIN("test_protocol", TEST_CASE(test_init_body), TEST_CASE(test_run_body),
	     TEST_CASE(test_body_error), TEST_CASE(test_run_outcomes), TEST_CASE(test_init_outcomes))
