/* SPDX-License-Identifier: Apache-2.0 */
/* json helpers and the activation payload framing. */
#include "common/act.h"
#include "common/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/jscan.h"
#include "tests/harness.h"

static void test_budget(void)
{
	struct act_budget b;

	/* The defaults: 1 MiB of parameters. */
	REQUIRE(act_budget_of(1024 * 1024, &b) == 0);
	CHECK_INT_EQ(b.queue_payload, 1024 * 1024 + ACT_META_HEADROOM);
	CHECK_INT_EQ(b.result_max, 1032192);
	/* Larger parameters: results stay at OpenWhisk's 1 MiB. */
	REQUIRE(act_budget_of(8u << 20, &b) == 0);
	CHECK_INT_EQ(b.result_max, ACT_RESULT_MAX);
	/* Tiny limits keep half for the completion's metadata. */
	REQUIRE(act_budget_of(20000, &b) == 0);
	CHECK_INT_EQ(b.result_max, 10000);
	CHECK_INT_EQ(act_budget_of(UINT32_MAX, &b), -EINVAL);
}

static void test_request_encode_roundtrip(void)
{
	_cleanup_json_ cJSON *env = NULL;
	struct act_request in = {
		.activation_id = "0123456789abcdef0123456789abcdef",
		.transaction_id = "tx",
		.namespace = "guest",
		.path = "guest/pkg",
		.name = "hello",
		.version = "0.0.2",
		.rev = "17",
		.kind = "nodejs:20",
		.image = "edgewhisk/action-nodejs:1",
		.code_file = "/var/lib/edgewhisk/code/1.code",
		.api_key = "u:k",
		.binary = true,
		.timeout_ms = 3000,
		.memory_mb = 128,
		.logs_mb = 5,
		.arrival_ms = 1700000000000ull,
	}, out;
	struct err e = { 0 };
	size_t len = 0;
	char *p;

	REQUIRE(json_parse("{\"K\":1}", 7, &env, &e) == 0);
	in.env = env;
	p = act_request_encode(&in, "{\"a\": 1}", 8, &len);
	REQUIRE(p);
	CHECK_INT_EQ(strlen(p), len);
	REQUIRE(act_request_parse(p, len, &out, &e) == 0);
	CHECK_STR_EQ(out.activation_id, in.activation_id);
	CHECK_STR_EQ(out.transaction_id, "tx");
	CHECK_STR_EQ(out.path, "guest/pkg");
	CHECK_STR_EQ(out.rev, "17");
	CHECK_STR_EQ(out.code_file, in.code_file);
	CHECK(out.code == NULL);
	CHECK_STR_EQ(out.api_key, "u:k");
	CHECK(out.binary);
	CHECK_INT_EQ(out.timeout_ms, 3000);
	CHECK_INT_EQ(out.memory_mb, 128);
	CHECK_INT_EQ(out.logs_mb, 5);
	CHECK_INT_EQ(out.arrival_ms, 1700000000000ull);
	CHECK_INT_EQ(json_get_u64(out.env, "K", &(uint64_t){ 0 }), 0);
	/* The value travels as the bytes given. */
	CHECK_INT_EQ(out.value_len, 8);
	CHECK(memcmp(out.value, "{\"a\": 1}", 8) == 0);
	CHECK_STR_EQ(out.main, "main");
	act_request_fini(&out);
	free(p);
	/* Optional fields left out stay out. */
	in.transaction_id = in.rev = in.code_file = in.api_key = NULL;
	in.env = NULL;
	in.arrival_ms = 0;
	in.code = "x";
	p = act_request_encode(&in, "{}", 2, &len);
	REQUIRE(p);
	CHECK(!strstr(p, "transactionId") && !strstr(p, "apiKey") && !strstr(p, "arrival") &&
	      !strstr(p, "codeFile") && strstr(p, "\"code\":\"x\""));
	free(p);
}

static void test_result_within_budget(void)
{
	struct act_result r = { .status = ACT_SUCCESS, .start_ms = 1, .end_ms = 2, .result = "{}",
				.result_len = 2 };
	char line[100], *p;
	size_t len = 0, full = 0;
	int rc = 0;

	r.logs = cJSON_CreateArray();
	REQUIRE(r.logs);
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	for (int i = 0; i < 100; i++)
		cJSON_AddItemToArray(r.logs, cJSON_CreateString(line));
	p = act_result_encode_within(&r, 1u << 20, &full, &rc);
	REQUIRE(p && rc == 0);
	CHECK_INT_EQ(cJSON_GetArraySize(r.logs), 100);
	free(p);
	/* Half the room: the first lines that fit, and the notice. */
	p = act_result_encode_within(&r, full / 2, &len, &rc);
	REQUIRE(p && rc == 0);
	CHECK(len <= full / 2);
	CHECK(cJSON_GetArraySize(r.logs) > 10 && cJSON_GetArraySize(r.logs) < 60);
	CHECK_STR_CONTAINS(cJSON_GetArrayItem(r.logs, cJSON_GetArraySize(r.logs) - 1)->valuestring,
			   "Logs were cut");
	free(p);
	/* Not even the result fits. */
	CHECK(act_result_encode_within(&r, 10, &len, &rc) == NULL);
	CHECK_INT_EQ(rc, -EMSGSIZE);
	act_result_fini(&r);
}

static void test_is_value_and_compact(void)
{
	const char *in = " { \"a b\" : [ 1 , \"x \\\" y\" , {} ] ,\n\"s\":\"0123456789 abcdef\" } ";
	char out[128];

	CHECK(json_is_value(in, strlen(in)));
	CHECK(!json_is_value("{} {}", 5));
	CHECK(!json_is_value("{\"a\":", 5));
	CHECK(!json_is_value("", 0));
	out[jscan_copy_compact(in, strlen(in), out)] = '\0';
	CHECK_STR_EQ(out, "{\"a b\":[1,\"x \\\" y\",{}],\"s\":\"0123456789 abcdef\"}");
	/* Lone surrogates (valid JSON, refused by cJSON) become U+FFFD; a
	 * pair and other escapes stay. Found by the act fuzzer: a record
	 * holding "\udce9" could not be read back. */
	{
		static const struct {
			const char *in, *want;
		} c[] = {
			{ "\"\\udCe9\"", "\"\\ufffd\"" },
			{ "\"a\\ud800b\"", "\"a\\ufffdb\"" },
			{ "\"\\ud83d\\ude00\"", "\"\\ud83d\\ude00\"" },
			{ "\"\\ud83d\\u0041\"", "\"\\ufffd\\u0041\"" },
			{ "\"\\u00e9\\n\\\\u\"", "\"\\u00e9\\n\\\\u\"" },
		};
		cJSON *j = NULL;

		for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
			out[jscan_copy_compact(c[i].in, strlen(c[i].in), out)] = '\0';
			CHECK_STR_EQ(out, c[i].want);
			CHECK_INT_EQ(json_parse(out, strlen(out), &j, NULL), 0);
			json_delete(j);
			j = NULL;
		}
	}
}

static void test_json_parse_and_getters(void)
{
	_cleanup_json_ cJSON *j = NULL;
	struct err e = { 0 };
	uint64_t u;
	int64_t i;

	CHECK_INT_EQ(json_parse("{\"a\":1}", 7, &j, &e), 0);
	json_delete(j);
	j = NULL;
	CHECK_INT_EQ(json_parse("{\"a\":1} x", 9, &j, &e), -EINVAL);
	CHECK_STR_CONTAINS(e.msg, "after the value");
	CHECK_INT_EQ(json_parse("{\"a\":", 5, &j, &e), -EINVAL);
	CHECK_STR_CONTAINS(e.msg, "invalid JSON at byte");
	/* Length-bounded: the bytes after len are not read. */
	CHECK_INT_EQ(json_parse("{\"s\":\"x\",\"n\":-3,\"b\":true,\"f\":1.5,\"big\":1e300}GARBAGE", 45,
				&j, &e), 0);
	REQUIRE(j);
	CHECK_STR_EQ(json_get_string(j, "s"), "x");
	CHECK(json_get_string(j, "n") == NULL);
	CHECK_INT_EQ(json_get_i64(j, "n", &i), 0);
	CHECK_INT_EQ(i, -3);
	CHECK_INT_EQ(json_get_u64(j, "n", &u), -EINVAL);
	CHECK_INT_EQ(json_get_u64(j, "f", &u), -EINVAL);
	CHECK_INT_EQ(json_get_u64(j, "big", &u), -EINVAL);
	CHECK_INT_EQ(json_get_u64(j, "missing", &u), -ENOENT);
	CHECK(json_get_bool(j, "b", false));
	CHECK(json_get_bool(j, "s", true));   /* wrong type: the default */
	CHECK(json_get_object(j, "s") == NULL);
}

static const char *const request =
	"{\"activationId\":\"0123456789abcdef0123456789abcdef\",\"namespace\":\"guest\","
	"\"action\":{\"path\":\"guest\",\"name\":\"hello\",\"version\":\"0.0.2\",\"rev\":\"7\","
	"\"kind\":\"nodejs:20\",\"image\":\"edgewhisk/action-nodejs:1\",\"code\":\"function main(){}\","
	"\"limits\":{\"timeout\":3000,\"memory\":256,\"logs\":10}},\"arrival\":1700000000000}\n"
	"{\"name\":\"a\\nb\"}";

static void test_request_parse(void)
{
	struct act_request r;
	struct err e = { 0 };
	char key[128];

	REQUIRE(act_request_parse(request, strlen(request), &r, &e) == 0);
	CHECK_STR_EQ(r.activation_id, "0123456789abcdef0123456789abcdef");
	CHECK_STR_EQ(r.transaction_id, r.activation_id);
	CHECK_STR_EQ(r.kind, "nodejs:20");
	CHECK_STR_EQ(r.main, "main");
	CHECK(!r.binary);
	CHECK(r.api_key == NULL);
	CHECK_INT_EQ(r.timeout_ms, 3000);
	CHECK_INT_EQ(r.memory_mb, 256);
	CHECK_INT_EQ(r.arrival_ms, 1700000000000ull);
	CHECK_INT_EQ(r.value_len, strlen("{\"name\":\"a\\nb\"}"));
	CHECK(memcmp(r.value, "{\"name\":\"a\\nb\"}", r.value_len) == 0);
	CHECK_INT_EQ(act_request_key(&r, key, sizeof(key)), 0);
	CHECK_STR_EQ(key, "guest/hello@0.0.2#7");
	CHECK_INT_EQ(act_request_key(&r, key, 8), -ENAMETOOLONG);
	act_request_fini(&r);
}

static void test_request_errors(void)
{
	struct act_request r;
	struct err e = { 0 };
	const char *no_nl = "{\"activationId\":\"x\"}";
	const char *no_kind = "{\"activationId\":\"x\",\"namespace\":\"g\",\"action\":{\"path\":\"g\","
			      "\"name\":\"n\",\"version\":\"1\",\"image\":\"i\",\"limits\":{\"timeout\":1,"
			      "\"memory\":1,\"logs\":0}}}\n{}";
	const char *zero_timeout = "{\"activationId\":\"x\",\"namespace\":\"g\",\"action\":{\"path\":\"g\","
				   "\"name\":\"n\",\"version\":\"1\",\"kind\":\"k\",\"image\":\"i\","
				   "\"limits\":{\"timeout\":0,\"memory\":1,\"logs\":0}}}\n{}";

	CHECK_INT_EQ(act_request_parse(no_nl, strlen(no_nl), &r, &e), -EINVAL);
	CHECK_STR_CONTAINS(e.msg, "no newline");
	CHECK_INT_EQ(act_request_parse(no_kind, strlen(no_kind), &r, &e), -EINVAL);
	CHECK_STR_CONTAINS(e.msg, "action.kind");
	CHECK_INT_EQ(act_request_parse(zero_timeout, strlen(zero_timeout), &r, &e), -EINVAL);
	CHECK_STR_CONTAINS(e.msg, "limits");
	CHECK_INT_EQ(act_request_parse("{bad\n{}", 7, &r, &e), -EINVAL);
	CHECK_STR_CONTAINS(e.msg, "metadata");
}

static void test_result_roundtrip(void)
{
	struct act_result in = { .status = ACT_APPLICATION_ERROR, .start_ms = 10, .end_ms = 25,
				 .wait_ms = 3, .init_ms = 7, .has_init = true,
				 .result = "{\"error\":\"x\"}", .result_len = 13 };
	struct act_result out;
	struct err e = { 0 };
	size_t len = 0;
	char *p;

	in.logs = cJSON_CreateArray();
	cJSON_AddItemToArray(in.logs, cJSON_CreateString("2024-01-01T00:00:00Z stdout: hi"));
	p = act_result_encode(&in, &len);
	REQUIRE(p);
	REQUIRE(act_result_parse(p, len, &out, &e) == 0);
	CHECK_INT_EQ(out.status, ACT_APPLICATION_ERROR);
	CHECK_INT_EQ(out.start_ms, 10);
	CHECK_INT_EQ(out.end_ms, 25);
	CHECK_INT_EQ(out.wait_ms, 3);
	CHECK(out.has_init);
	CHECK_INT_EQ(out.init_ms, 7);
	CHECK(!out.timeout);
	CHECK_INT_EQ(out.result_len, 13);
	CHECK(memcmp(out.result, "{\"error\":\"x\"}", 13) == 0);
	REQUIRE(cJSON_GetArraySize(out.logs) == 1);
	CHECK_STR_EQ(cJSON_GetArrayItem(out.logs, 0)->valuestring, "2024-01-01T00:00:00Z stdout: hi");
	act_result_fini(&out);
	free(p);
	in.has_init = false;
	p = act_result_encode(&in, &len);
	REQUIRE(p);
	REQUIRE(act_result_parse(p, len, &out, &e) == 0);
	CHECK(!out.has_init);
	act_result_fini(&out);
	free(p);
	json_delete(in.logs);
	CHECK_INT_EQ(act_result_parse("{\"statusCode\":9,\"start\":1,\"end\":2}\n{}", 36, &out, &e),
		     -EINVAL);
}

/* The scanner counts what a tree would hold; the bounded parse refuses
 * texts denser than JSON_TREE_VALUES_MAX and takes the rest. */
static void test_count_and_bounded_parse(void)
{
	size_t n = 0, len;
	cJSON *j = NULL;
	struct err e = { 0 };
	char *dense;

	const char *t = " {\"a\":[1,2,{\"b\":null}],\"c\":\"x\"} ";

	REQUIRE(jscan_count_values(t, strlen(t), &n) == 0);
	CHECK_INT_EQ(n, 7); /* object, array, 1, 2, object, null, "x" */
	REQUIRE(jscan_count_values("[]", 2, &n) == 0);
	CHECK_INT_EQ(n, 1);
	{
		size_t d = 99;

		REQUIRE(jscan_measure(t, strlen(t), &n, &d) == 0);
		CHECK_INT_EQ(d, 3); /* {"a":[{...}]} */
		REQUIRE(jscan_measure("7", 1, NULL, &d) == 0);
		CHECK_INT_EQ(d, 0);
		REQUIRE(jscan_measure("[[],{}]", 7, NULL, &d) == 0);
		CHECK_INT_EQ(d, 2);
	}
	CHECK_INT_EQ(jscan_count_values("[1,]", 4, &n), -EINVAL);
	CHECK_INT_EQ(jscan_count_values("1 2", 3, &n), -EINVAL);
	/* 40,000 elements in 80 KB: more than 4096 + 80000 / 32. */
	len = 2 + 2 * 40000 - 1;
	dense = malloc(len + 1);
	REQUIRE(dense);
	dense[0] = '[';
	for (size_t i = 0; i < 40000; i++)
		memcpy(dense + 1 + 2 * i, i + 1 < 40000 ? "1," : "1]", 2);
	CHECK_INT_EQ(json_parse_bounded(dense, len, &j, &e), -E2BIG);
	CHECK(j == NULL);
	CHECK_STR_CONTAINS(e.msg, "too many JSON values: 40001 for 80001 bytes");
	free(dense);
	REQUIRE(json_parse_bounded("{\"a\":[1,2,3]}", 13, &j, &e) == 0);
	CHECK(cJSON_IsObject(j));
	json_delete(j);
	CHECK_INT_EQ(json_parse_bounded("{", 1, &j, &e), -EINVAL);
}

/* Integers printed as digits, every bit kept (a double would round 2^53+1
 * and UINT64_MAX). */
static void test_add_u64(void)
{
	cJSON *o = cJSON_CreateObject();
	char *text;

	REQUIRE(o != NULL);
	CHECK(json_add_u64(o, "zero", 0));
	CHECK(json_add_u64(o, "ms", 1796215969163ull));
	CHECK(json_add_u64(o, "big", 9007199254740993ull));
	CHECK(json_add_u64(o, "max", UINT64_MAX));
	text = json_print(o, NULL);
	REQUIRE(text != NULL);
	CHECK_STR_EQ(text, "{\"zero\":0,\"ms\":1796215969163,\"big\":9007199254740993,"
			   "\"max\":18446744073709551615}");
	CHECK(json_is_value(text, strlen(text)));
	json_free(text);
	json_delete(o);
}

HARNESS_MAIN("json_act", TEST_CASE(test_add_u64), TEST_CASE(test_count_and_bounded_parse),
	     	     TEST_CASE(test_json_parse_and_getters),
	     TEST_CASE(test_request_parse),
	     TEST_CASE(test_request_errors),
	     TEST_CASE(test_result_roundtrip), TEST_CASE(test_budget),
	     TEST_CASE(test_request_encode_roundtrip), TEST_CASE(test_result_within_budget),
	     TEST_CASE(test_is_value_and_compact))
