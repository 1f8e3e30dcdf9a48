/* SPDX-License-Identifier: Apache-2.0 */
/* mqttsub: parameters with their defaults (library URIs and ports, qos 1,
 * a stable client id, a persistent session for qos > 0) and refusals that
 * name the parameter; READ hides the password and the CA's text; the
 * stored parameters parse back to the same subscription; which
 * subscriptions share a connection; topic filters as MQTT 3.1.1 §4.7
 * allows and matches them ('+', '#', "a/#" matching "a", '$' topics); a
 * fire's parameters for JSON, text and binary payloads in each
 * encoding. */
#include "controller/mqttsub.h"

#include <errno.h>
#include <string.h>

#include "tests/harness.h"

static cJSON *params(const char *json)
{
	cJSON *j = cJSON_Parse(json);

	if (!j)
		HARNESS_FAIL("test JSON does not parse: %s", json);
	return j;
}

static void test_defaults(void)
{
	_cleanup_json_ cJSON *p = params("{\"url\":\"mqtt://127.0.0.1\",\"topic\":\"a/+/c\"}");
	struct mqttsub s, s2;
	struct err e = { 0 };

	REQUIRE(mqttsub_parse(p, "guest", "t1", &s, &e) == 0);
	CHECK_STR_EQ(s.uri, "tcp://127.0.0.1:1883");
	CHECK(!s.tls);
	CHECK_INT_EQ(s.topic_count, 1);
	CHECK_STR_EQ(s.topics[0], "a/+/c");
	CHECK_INT_EQ(s.qos, 1);
	CHECK(!s.clean);
	CHECK_INT_EQ(s.keepalive_s, 60);
	CHECK_INT_EQ(s.enc, MQTTSUB_AUTO);
	CHECK(!s.skip_retained);
	CHECK(s.username == NULL && s.password == NULL && s.ca_cert == NULL);
	/* ew- and 16 hex digits, the same for the same trigger, other for another. */
	CHECK_INT_EQ(strlen(s.client_id), 19);
	CHECK(strncmp(s.client_id, "ew-", 3) == 0);
	REQUIRE(mqttsub_parse(p, "guest", "t1", &s2, &e) == 0);
	CHECK_STR_EQ(s.client_id, s2.client_id);
	mqttsub_fini(&s2);
	REQUIRE(mqttsub_parse(p, "guest", "t2", &s2, &e) == 0);
	CHECK(strcmp(s.client_id, s2.client_id) != 0);
	mqttsub_fini(&s2);
	mqttsub_fini(&s);
}

static void check_uri(const char *url, const char *uri, bool tls)
{
	char json[256];
	struct mqttsub s;
	struct err e = { 0 };
	cJSON *p;

	snprintf(json, sizeof(json), "{\"url\":\"%s\",\"topic\":\"x\"}", url);
	p = params(json);
	if (mqttsub_parse(p, "guest", "t", &s, &e) != 0) {
		HARNESS_FAIL("%s refused: %s", url, e.msg);
	} else {
		CHECK_STR_EQ(s.uri, uri);
		CHECK(s.tls == tls);
		mqttsub_fini(&s);
	}
	cJSON_Delete(p);
}

static void test_urls(void)
{
	check_uri("mqtt://127.0.0.1:1884", "tcp://127.0.0.1:1884", false);
	check_uri("mqtt://broker.local/", "tcp://broker.local:1883", false);
	check_uri("mqtts://broker.local", "ssl://broker.local:8883", true);
	check_uri("mqtts://[::1]:9000", "ssl://[::1]:9000", true);
	check_uri("ws://127.0.0.1:8080/mqtt", "ws://127.0.0.1:8080/mqtt", false);
	check_uri("wss://h/mqtt", "wss://h:443/mqtt", true);
}

static void check_refused(const char *json, const char *part)
{
	_cleanup_json_ cJSON *p = params(json);
	struct mqttsub s;
	struct err e = { 0 };

	if (mqttsub_parse(p, "guest", "t", &s, &e) == 0) {
		HARNESS_FAIL("%s: accepted", json);
		mqttsub_fini(&s);
		return;
	}
	CHECK_INT_EQ(e.code, -EINVAL);
	CHECK_STR_CONTAINS(e.msg, part);
}

static void test_refusals(void)
{
	check_refused("{\"topic\":\"a\"}", "url is required");
	check_refused("{\"url\":\"http://h\",\"topic\":\"a\"}", "url must start with mqtt://");
	check_refused("{\"url\":\"mqtt://\",\"topic\":\"a\"}", "url must name a broker");
	check_refused("{\"url\":\"mqtt://u@h\",\"topic\":\"a\"}", "url must name a broker");
	check_refused("{\"url\":\"mqtt://h:0\",\"topic\":\"a\"}", "bad port");
	check_refused("{\"url\":\"mqtt://h:70000\",\"topic\":\"a\"}", "bad port");
	check_refused("{\"url\":\"mqtt://h/path\",\"topic\":\"a\"}", "without a path");
	check_refused("{\"url\":\"mqtt://h\"}", "topic is required");
	check_refused("{\"url\":\"mqtt://h\",\"topic\":[]}", "topic is required");
	check_refused("{\"url\":\"mqtt://h\",\"topic\":\"a/b#\"}", "topic 'a/b#'");
	check_refused("{\"url\":\"mqtt://h\",\"topic\":[\"a\",\"b+\"]}", "topic[1]");
	check_refused("{\"url\":\"mqtt://h\",\"topic\":[\"a\",2]}", "topic[1]");
	check_refused("{\"url\":\"mqtt://h\",\"topic\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\","
		      "\"8\",\"9\",\"10\",\"11\",\"12\",\"13\",\"14\",\"15\",\"16\",\"17\"]}",
		      "at most 16");
	check_refused("{\"url\":\"mqtt://h\",\"topic\":\"a\",\"qos\":3}", "qos must be");
	check_refused("{\"url\":\"mqtt://h\",\"topic\":\"a\",\"qos\":0.5}", "qos must be");
	check_refused("{\"url\":\"mqtt://h\",\"topic\":\"a\",\"keepalive\":0}", "keepalive");
	check_refused("{\"url\":\"mqtt://h\",\"topic\":\"a\",\"cleanSession\":\"yes\"}",
		      "cleanSession must be true or false");
	check_refused("{\"url\":\"mqtt://h\",\"topic\":\"a\",\"clientId\":\"a b\"}", "clientId");
	check_refused("{\"url\":\"mqtt://h\",\"topic\":\"a\","
		      "\"clientId\":\"abcdefghijklmnopqrstuvwxyz\"}",
		      "clientId");
	check_refused("{\"url\":\"mqtt://h\",\"topic\":\"a\",\"password\":\"p\"}",
		      "password needs a username");
	check_refused("{\"url\":\"mqtts://h\",\"topic\":\"a\",\"caCert\":\"not pem\"}", "caCert");
	check_refused("{\"url\":\"mqtt://h\",\"topic\":\"a\",\"insecure\":true}",
		      "need an mqtts://");
	check_refused("{\"url\":\"mqtt://h\",\"topic\":\"a\",\"payloadEncoding\":\"hex\"}",
		      "payloadEncoding");
	check_refused("{\"url\":\"mqtt://h\",\"topic\":\"a\",\"payloadEncoding\":1}",
		      "payloadEncoding");
	check_refused("{\"url\":\"mqtt://h\",\"topic\":\"a\",\"retained\":\"drop\"}", "retained");
}

static void test_strings_as_given_by_wsk(void)
{
	_cleanup_json_ cJSON *p = params("{\"url\":\"mqtt://h\",\"topic\":\"a\",\"qos\":\"0\","
					 "\"keepalive\":\"30\",\"cleanSession\":\"false\"}");
	struct mqttsub s;
	struct err e = { 0 };

	REQUIRE(mqttsub_parse(p, "guest", "t", &s, &e) == 0);
	CHECK_INT_EQ(s.qos, 0);
	CHECK_INT_EQ(s.keepalive_s, 30);
	CHECK(!s.clean); /* given: qos 0 would default to a clean session */
	mqttsub_fini(&s);
}

#define PEM "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n"

static void test_params_round_trip(void)
{
	_cleanup_json_ cJSON *p = params(
		"{\"url\":\"mqtts://h:8884\",\"topic\":[\"a/#\",\"b\"],\"qos\":2,"
		"\"clientId\":\"dev-1\",\"username\":\"u\",\"password\":\"s3cret\","
		"\"caCert\":\"" PEM "\",\"payloadEncoding\":\"base64\",\"retained\":\"skip\"}");
	_cleanup_json_ cJSON *stored = NULL, *shown = NULL;
	struct mqttsub s, back;
	struct err e = { 0 };

	REQUIRE(mqttsub_parse(p, "guest", "t", &s, &e) == 0);
	stored = mqttsub_params(&s, false);
	shown = mqttsub_params(&s, true);
	REQUIRE(stored && shown);
	CHECK_STR_EQ(json_get_string(stored, "password"), "s3cret");
	CHECK(json_get_string(stored, "caCert") != NULL);
	/* READ: no password at all, the CA only as present. */
	CHECK(cJSON_GetObjectItemCaseSensitive(shown, "password") == NULL);
	CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(shown, "caCert")));
	CHECK_STR_EQ(json_get_string(shown, "username"), "u");
	CHECK_STR_EQ(json_get_string(shown, "retained"), "skip");

	REQUIRE(mqttsub_parse(stored, "guest", "t", &back, &e) == 0);
	CHECK(mqttsub_same_connection(&s, &back));
	CHECK_INT_EQ(back.topic_count, 2);
	CHECK_STR_EQ(back.topics[1], "b");
	CHECK_INT_EQ(back.qos, 2);
	CHECK_INT_EQ(back.enc, MQTTSUB_BASE64);
	CHECK(back.skip_retained);
	mqttsub_fini(&back);
	mqttsub_fini(&s);
}

static void parse_or_fail(const char *json, struct mqttsub *s)
{
	_cleanup_json_ cJSON *p = params(json);
	struct err e = { 0 };

	if (mqttsub_parse(p, "guest", "t", s, &e) != 0)
		HARNESS_FAIL("%s: %s", json, e.msg);
}

static void test_sharing(void)
{
	struct mqttsub a, b, c, d;

	parse_or_fail("{\"url\":\"mqtt://h\",\"topic\":\"a\",\"clientId\":\"x\"}", &a);
	parse_or_fail("{\"url\":\"mqtt://h:1883\",\"topic\":\"b\",\"clientId\":\"x\","
		      "\"payloadEncoding\":\"utf8\"}", &b);
	parse_or_fail("{\"url\":\"mqtt://h\",\"topic\":\"a\",\"clientId\":\"x\",\"username\":\"u\"}",
		      &c);
	parse_or_fail("{\"url\":\"mqtt://h\",\"topic\":\"a\",\"clientId\":\"y\"}", &d);
	/* Filters and encodings are per trigger; the session is per client. */
	CHECK(mqttsub_same_connection(&a, &b));
	CHECK(mqttsub_same_client(&a, &c));
	CHECK(!mqttsub_same_connection(&a, &c));
	CHECK(!mqttsub_same_client(&a, &d));
	mqttsub_fini(&a);
	mqttsub_fini(&b);
	mqttsub_fini(&c);
	mqttsub_fini(&d);
}

static void test_filters(void)
{
	static const char *const good[] = { "a", "a/b", "+", "#", "a/+/c", "a/#", "+/+", "/",
					    "a//b", "$SYS/#", "sensors/+" };
	static const char *const bad[] = { "", "a+", "a/b+", "#/a", "a/#/b", "a#", "+a/b" };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!mqttsub_filter_valid(good[i]))
			HARNESS_FAIL("'%s' refused", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mqttsub_filter_valid(bad[i]))
			HARNESS_FAIL("'%s' accepted", bad[i]);
	CHECK(!mqttsub_filter_valid("\xff\xfe"));
}

static bool match(const char *f, const char *t)
{
	return mqttsub_match(f, t, strlen(t));
}

static void test_match(void)
{
	CHECK(match("a/b", "a/b"));
	CHECK(!match("a/b", "a/bc"));
	CHECK(!match("a/b", "a"));
	CHECK(!match("a", "a/b"));
	CHECK(match("a/+/c", "a/x/c"));
	CHECK(match("a/+/c", "a//c"));
	CHECK(!match("a/+/c", "a/x/y/c"));
	CHECK(match("a/+", "a/"));
	CHECK(!match("a/+", "a"));
	CHECK(match("a/#", "a"));
	CHECK(match("a/#", "a/b/c"));
	CHECK(!match("a/#", "ab"));
	CHECK(match("#", "a/b"));
	CHECK(match("+/+", "/x"));
	CHECK(!match("#", "$SYS/broker"));
	CHECK(!match("+/broker", "$SYS/broker"));
	CHECK(match("$SYS/#", "$SYS/broker"));
	/* The length counts, not a NUL: a topic given as a slice. */
	CHECK(mqttsub_match("a/b", "a/bcd", 3));
}

static cJSON *fire(const char *payload, size_t len, enum mqttsub_enc enc)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	struct mqttsub_msg m = { .topic = "s/\"k\"", .topic_len = 5, .payload = payload,
				 .payload_len = len, .qos = 1, .retain = true,
				 .message_id = 7, .received_ms = 1767225600000ull };
	cJSON *j;

	if (mqttsub_fire_params(&b, &m, enc) != 0) {
		HARNESS_FAIL("no fire parameters");
		return NULL;
	}
	j = cJSON_ParseWithLength(b.data, b.len);
	if (!j)
		HARNESS_FAIL("not JSON: %.*s", (int)b.len, b.data);
	return j;
}

static void check_payload(const char *payload, size_t len, enum mqttsub_enc enc,
			  const char *want_enc, const char *want_payload_json)
{
	_cleanup_json_ cJSON *j = fire(payload, len, enc);
	char *got;

	if (!j)
		return;
	CHECK_STR_EQ(json_get_string(j, "encoding"), want_enc);
	got = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(j, "payload"));
	CHECK_STR_EQ(got, want_payload_json);
	cJSON_free(got);
}

static void test_fire_params(void)
{
	_cleanup_json_ cJSON *j = fire("{\"c\":21.5}", 10, MQTTSUB_AUTO);

	REQUIRE(j);
	CHECK_STR_EQ(json_get_string(j, "topic"), "s/\"k\"");
	CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "retain")));
	CHECK(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "dup")));
	CHECK_INT_EQ(cJSON_GetObjectItemCaseSensitive(j, "qos")->valueint, 1);
	CHECK_INT_EQ(cJSON_GetObjectItemCaseSensitive(j, "messageId")->valueint, 7);
	CHECK(cJSON_GetObjectItemCaseSensitive(j, "receivedAt")->valuedouble == 1767225600000.0);

	check_payload("{\"c\":21.5}", 10, MQTTSUB_AUTO, "json", "{\"c\":21.5}");
	check_payload("42", 2, MQTTSUB_AUTO, "json", "42");
	check_payload("smoke \"here\"", 12, MQTTSUB_AUTO, "utf8", "\"smoke \\\"here\\\"\"");
	check_payload("\xff\xfe", 2, MQTTSUB_AUTO, "base64", "\"//4=\"");
	check_payload("", 0, MQTTSUB_AUTO, "utf8", "\"\"");
	/* Fixed encodings: JSON as text or base64; not-JSON asked as JSON. */
	check_payload("{\"c\":1}", 7, MQTTSUB_UTF8, "utf8", "\"{\\\"c\\\":1}\"");
	check_payload("{\"c\":1}", 7, MQTTSUB_BASE64, "base64", "\"eyJjIjoxfQ==\"");
	check_payload("{\"c\":", 5, MQTTSUB_JSON, "base64", "\"eyJjIjo=\"");
	check_payload("\xff", 1, MQTTSUB_UTF8, "base64", "\"/w==\"");
	/* A NUL is text too: escaped, not the end of the payload. */
	{
		_cleanup_buf_ struct buf b = BUF_INIT;
		struct mqttsub_msg m = { .topic = "t", .topic_len = 1, .payload = "a\0b",
					 .payload_len = 3 };

		REQUIRE(mqttsub_fire_params(&b, &m, MQTTSUB_AUTO) == 0);
		REQUIRE(buf_append(&b, "", 1) == 0);
		CHECK_STR_CONTAINS(b.data, "\"payload\":\"a\\u0000b\",\"encoding\":\"utf8\"");
	}
}

HARNESS_MAIN("mqttsub", TEST_CASE(test_defaults), TEST_CASE(test_urls),
	     TEST_CASE(test_refusals), TEST_CASE(test_strings_as_given_by_wsk),
	     TEST_CASE(test_params_round_trip), TEST_CASE(test_sharing), TEST_CASE(test_filters),
	     TEST_CASE(test_match), TEST_CASE(test_fire_params))
