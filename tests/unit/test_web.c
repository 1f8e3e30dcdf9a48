/* SPDX-License-Identifier: Apache-2.0 */
/* web: request -> arguments (precedence, __ow_* fields, reserved keys,
 * query/form/JSON/binary bodies, raw-http) and result -> response for each
 * extension (success and error shapes, .http status/headers/body rules,
 * application and developer errors), checked as exact text and bytes; a
 * random-input loop must never crash (ASan in `make test SAN=1`). */
#include "controller/web.h"

#include <errno.h>
#include <stdlib.h>

#include "tests/harness.h"

#define CODE "0123456789abcdef0123456789abcdef"
#define MSG_RESERVED "Request defines parameters that are not allowed (e.g., reserved properties)."
#define MSG_MALFORMED "The request content was malformed."
#define MSG_MEDIA "Response type in header did not match generated content type."
#define MSG_INVALID "The action did not produce a valid response."
#define MSG_PROCESSING "There was an error processing your request."
#define OW(method) "\"__ow_method\":\"" method "\",\"__ow_headers\":{},\"__ow_path\":\"\""

static cJSON *parse(const char *s)
{
	cJSON *j = NULL;

	if (s && json_parse(s, strlen(s), &j, NULL) < 0)
		fprintf(stderr, "  bad JSON in test: %s\n", s);
	return j;
}

/* web_params on r with `defs` (JSON text or NULL); returns the compact
 * print (caller frees) or NULL after recording a failure. */
static char *params(const char *defs, const struct web_request *r, int line)
{
	cJSON *d = parse(defs);
	struct buf out = BUF_INIT;
	struct err e = { 0 };
	int rc = web_params(d, r, &out, &e);
	char *s = NULL;

	if (rc != 0) {
		HARNESS_FAIL("line %d: web_params = %d (%s), want 0", line, rc, e.msg);
	} else if (!json_is_value(out.data, out.len)) {
		HARNESS_FAIL("line %d: web_params gave invalid JSON: %s", line, out.data);
	} else {
		s = out.data; /* spliced text, compact as cJSON prints */
		out.data = NULL;
	}
	buf_fini(&out);
	json_delete(d);
	return s;
}

#define CHECK_PARAMS(defs, req, want)                                       \
	do {                                                                \
		char *p_ = params((defs), (req), __LINE__);                 \
		CHECK_STR_EQ(p_, (want));                                   \
		free(p_);                                                   \
	} while (0)

/* Expect -EINVAL with `msg` and *out untouched. */
#define CHECK_PARAMS_ERR(req, want_)                                          \
	do {                                                                \
		struct buf o_ = BUF_INIT;                                   \
		struct err e_ = { 0 };                                      \
		CHECK_INT_EQ(web_params(NULL, (req), &o_, &e_), -EINVAL);   \
		CHECK_STR_EQ(e_.msg, (want_));                              \
		CHECK(o_.data == NULL);                                     \
	} while (0)

static struct web_response respond(enum web_ext ext, const char *result, int sc)
{
	struct web_response w = { 0 };
	cJSON *j = parse(result);

	CHECK_INT_EQ(web_respond(ext, j, sc, CODE, &w), 0);
	json_delete(j);
	return w;
}

/* Status, Content-Type (NULL = none) and exact body bytes, then free. */
#define CHECK_RESP(ext, result, sc, status_, ct_, body_, len_)                \
	do {                                                                \
		struct web_response w_ = respond((ext), (result), (sc));    \
		const char *ct__ = (ct_);                                   \
		CHECK_INT_EQ(w_.status, (status_));                         \
		if (ct__)                                                   \
			CHECK_STR_EQ(w_.content_type, ct__);                \
		else                                                        \
			CHECK(w_.content_type == NULL);                     \
		CHECK_INT_EQ(w_.body_len, (len_));                          \
		CHECK((len_) == 0 ? w_.body == NULL || w_.body_len == 0     \
				  : w_.body && memcmp(w_.body, (body_), (len_)) == 0); \
		web_response_fini(&w_);                                     \
	} while (0)

#define CHECK_TEXT(ext, result, status_, ct_, body_) \
	CHECK_RESP(ext, result, 0, status_, ct_, body_, strlen(body_))

#define CHECK_ERR400(ext, result, sc, msg)                                   \
	CHECK_TEXT_SC(ext, result, sc, 400, "application/json",              \
		      "{\"error\":\"" msg "\",\"code\":\"" CODE "\"}")
#define CHECK_TEXT_SC(ext, result, sc, status_, ct_, body_) \
	CHECK_RESP(ext, result, sc, status_, ct_, body_, strlen(body_))

static void test_ext_parse(void)
{
	static const char *const names[] = { "http", "json", "html", "svg", "text" };
	enum web_ext x = WEB_TEXT;

	for (int i = 0; i < 5; i++) {
		CHECK_INT_EQ(web_ext_parse(names[i], &x), 0);
		CHECK_INT_EQ(x, i);
	}
	x = WEB_JSON;
	CHECK_INT_EQ(web_ext_parse("xml", &x), -EINVAL);
	CHECK_INT_EQ(web_ext_parse("", &x), -EINVAL);
	CHECK_INT_EQ(web_ext_parse("HTTP", &x), -EINVAL);
	CHECK_INT_EQ(web_ext_parse(NULL, &x), -EINVAL);
	CHECK_INT_EQ(x, WEB_JSON);
}

static void test_precedence(void)
{
	const char *body = "{\"b\":\"body\",\"o\":{\"k\":[1]}}";
	struct web_request r = { .method = "POST", .query = "a=q&b=q", .body = body,
				 .body_len = strlen(body), .content_type = "application/json" };

	/* What the body overrides is left out above it; the body's members
	 * follow as sent. */
	CHECK_PARAMS("{\"a\":\"d\",\"b\":\"d\",\"c\":\"d\",\"n\":1}", &r,
		     "{\"a\":\"q\",\"c\":\"d\",\"n\":1,\"b\":\"body\",\"o\":{\"k\":[1]},"
		     OW("post") "}");
	/* No defaults, no query, no body: only the __ow_ fields. */
	r = (struct web_request){ .method = "DELETE" };
	CHECK_PARAMS(NULL, &r, "{" OW("delete") "}");
}

static void test_ow_fields(void)
{
	static const struct web_header h[] = { { "Accept", "*/*" },
					       { "X-Foo", "one" },
					       { "x-foo", "two" } };
	struct web_request r = { .method = "Get", .headers = h, .header_count = 3,
				 .path = "/a/b", .user = "guest" };

	CHECK_PARAMS("{\"p\":true}", &r,
		     "{\"p\":true,\"__ow_method\":\"get\",\"__ow_headers\":{\"accept\":\"*/*\","
		     "\"x-foo\":\"two\"},\"__ow_path\":\"/a/b\",\"__ow_user\":\"guest\"}");
	r.user = NULL;
	r.path = NULL;
	CHECK_PARAMS(NULL, &r,
		     "{\"__ow_method\":\"get\",\"__ow_headers\":{\"accept\":\"*/*\","
		     "\"x-foo\":\"two\"},\"__ow_path\":\"\"}");
}

static void test_query(void)
{
	struct web_request r = { .method = "GET",
				 .query = "x=a%20b+c&y=1&y=2&flag&&z=%C3%A9&e=" };

	CHECK_PARAMS(NULL, &r,
		     "{\"x\":\"a b c\",\"y\":\"2\",\"flag\":\"\",\"z\":\"\xc3\xa9\",\"e\":\"\","
		     OW("get") "}");
	r.query = "";
	CHECK_PARAMS(NULL, &r, "{" OW("get") "}");
	r.query = "a=%2";
	CHECK_PARAMS_ERR(&r, "malformed query");
	r.query = "a=%g1";
	CHECK_PARAMS_ERR(&r, "malformed query");
	r.query = "a%=1";
	CHECK_PARAMS_ERR(&r, "malformed query");
	r.query = "a=%00";
	CHECK_PARAMS_ERR(&r, "malformed query");
}

static void test_reserved(void)
{
	const char *json = "{\"ok\":1,\"__ow_user\":\"root\"}", *form = "a=1&__ow_headers=x";
	struct web_request r = { .method = "POST", .query = "__ow_method=get" };

	CHECK_PARAMS_ERR(&r, MSG_RESERVED);
	r.query = "%5F%5Fow_path=x"; /* decoded before the check */
	CHECK_PARAMS_ERR(&r, MSG_RESERVED);
	r = (struct web_request){ .method = "POST", .body = json, .body_len = strlen(json),
				  .content_type = "application/json" };
	CHECK_PARAMS_ERR(&r, MSG_RESERVED);
	r.content_type = NULL; /* an object body without a type is still merged */
	CHECK_PARAMS_ERR(&r, MSG_RESERVED);
	r = (struct web_request){ .method = "POST", .body = form, .body_len = strlen(form),
				  .content_type = "application/x-www-form-urlencoded" };
	CHECK_PARAMS_ERR(&r, MSG_RESERVED);
	/* A key that merely contains __ow_ is fine. */
	r = (struct web_request){ .method = "GET", .query = "x__ow_=1" };
	CHECK_PARAMS(NULL, &r, "{\"x__ow_\":\"1\"," OW("get") "}");
}

static void test_form_body(void)
{
	const char *form = "name=J%C3%B6rg+M&n=3&n=4", *bad = "a=%zz";
	const char *ct = "Application/X-WWW-Form-Urlencoded; charset=utf-8";
	struct web_request r = { .method = "POST", .query = "n=1&q=1", .body = form,
				 .body_len = strlen(form), .content_type = ct };

	/* A repeated field passes through: the action's JSON parser takes
	 * the last, as upstream's last-wins merge. */
	CHECK_PARAMS("{\"n\":0}", &r,
		     "{\"q\":\"1\",\"name\":\"J\xc3\xb6rg M\",\"n\":\"3\",\"n\":\"4\"," OW("post") "}");
	r.body = bad;
	r.body_len = strlen(bad);
	CHECK_PARAMS_ERR(&r, MSG_MALFORMED);
}

static void test_json_body(void)
{
	const char *bad = "{\"a\":", *arr = "[1,2]", *obj = "{\"a\":[true]}";
	struct web_request r = { .method = "PUT", .body = bad, .body_len = strlen(bad),
				 .content_type = "application/json; charset=utf-8" };

	CHECK_PARAMS_ERR(&r, MSG_MALFORMED);
	r.content_type = "application/vnd.api+json";
	CHECK_PARAMS_ERR(&r, MSG_MALFORMED);
	r.body = obj;
	r.body_len = strlen(obj);
	CHECK_PARAMS(NULL, &r, "{\"a\":[true]," OW("put") "}");
	/* A JSON value that is not an object: the text in __ow_body. */
	r.content_type = "application/json";
	r.body = arr;
	r.body_len = strlen(arr);
	CHECK_PARAMS(NULL, &r, "{\"__ow_body\":\"[1,2]\"," OW("put") "}");
	/* No type: merged when it parses as an object, else base64. */
	r.content_type = NULL;
	r.body = obj;
	r.body_len = strlen(obj);
	CHECK_PARAMS(NULL, &r, "{\"a\":[true]," OW("put") "}");
	r.body = "hello";
	r.body_len = 5;
	CHECK_PARAMS(NULL, &r, "{\"__ow_body\":\"aGVsbG8=\"," OW("put") "}");
	/* An empty body adds nothing. */
	r.body_len = 0;
	CHECK_PARAMS(NULL, &r, "{" OW("put") "}");
}

static void test_other_bodies(void)
{
	static const char bin[] = { 0x00, (char)0xff, 0x10, 'a' };
	struct web_request r = { .method = "POST", .body = "hi there", .body_len = 8,
				 .content_type = "text/plain" };

	CHECK_PARAMS(NULL, &r, "{\"__ow_body\":\"hi there\"," OW("post") "}");
	r.content_type = "application/xml";
	CHECK_PARAMS(NULL, &r, "{\"__ow_body\":\"hi there\"," OW("post") "}");
	r.content_type = "image/svg+xml";
	CHECK_PARAMS(NULL, &r, "{\"__ow_body\":\"hi there\"," OW("post") "}");
	r.content_type = "application/octet-stream";
	CHECK_PARAMS(NULL, &r, "{\"__ow_body\":\"aGkgdGhlcmU=\"," OW("post") "}");
	r.body = bin;
	r.body_len = 3;
	CHECK_PARAMS(NULL, &r, "{\"__ow_body\":\"AP8Q\"," OW("post") "}");
	r.body_len = 4;
	r.content_type = "image/png";
	CHECK_PARAMS(NULL, &r, "{\"__ow_body\":\"AP8QYQ==\"," OW("post") "}");
}

static void test_raw_http(void)
{
	const char *json = "{\"x\":1}";
	static const char bin[] = { 0x00, (char)0xff };
	struct web_request r = { .method = "POST", .query = "a=1&b=%20&__ow_x=1", .body = json,
				 .body_len = strlen(json), .content_type = "application/json",
				 .raw_http = true };

	/* Nothing parsed, nothing merged, no reserved-key check on raw text. */
	CHECK_PARAMS("{\"d\":1}", &r,
		     "{\"d\":1,\"__ow_query\":\"a=1&b=%20&__ow_x=1\","
		     "\"__ow_body\":\"{\\\"x\\\":1}\","
		     OW("post") "}");
	r.query = NULL;
	r.body = bin;
	r.body_len = 2;
	r.content_type = "application/octet-stream";
	CHECK_PARAMS(NULL, &r, "{\"__ow_body\":\"AP8=\"," OW("post") "}");
	r.query = "";
	r.body_len = 0;
	CHECK_PARAMS(NULL, &r, "{" OW("post") "}");
	r.body = "{";
	r.body_len = 1;
	r.content_type = "application/json"; /* not parsed, so not malformed */
	CHECK_PARAMS(NULL, &r, "{\"__ow_body\":\"{\"," OW("post") "}");
}

static void test_json_ext(void)
{
	CHECK_TEXT(WEB_JSON, "{\"a\":1,\"b\":[\"x\"]}", 200, "application/json",
		   "{\"a\":1,\"b\":[\"x\"]}");
	CHECK_TEXT(WEB_JSON, "[1,2]", 200, "application/json", "[1,2]");
	CHECK_TEXT(WEB_JSON, NULL, 200, "application/json", "{}");
	CHECK_ERR400(WEB_JSON, "\"str\"", 0, MSG_MEDIA);
	CHECK_ERR400(WEB_JSON, "42", 0, MSG_MEDIA);
}

static void test_text_exts(void)
{
	CHECK_TEXT(WEB_HTML, "{\"body\":\"<p>x</p>\"}", 200, "text/html", "<p>x</p>");
	CHECK_TEXT(WEB_HTML, "{\"html\":\"<b>h</b>\"}", 200, "text/html", "<b>h</b>");
	CHECK_TEXT(WEB_HTML, "{\"body\":\"B\",\"html\":\"H\"}", 200, "text/html", "B");
	CHECK_TEXT(WEB_SVG, "{\"svg\":\"<svg/>\"}", 200, "image/svg+xml", "<svg/>");
	CHECK_TEXT(WEB_TEXT, "{\"text\":\"plain\"}", 200, "text/plain", "plain");
	CHECK_TEXT(WEB_TEXT, "{\"body\":\"\"}", 200, "text/plain", "");
	CHECK_ERR400(WEB_HTML, "{\"html\":5}", 0, MSG_MEDIA);
	CHECK_ERR400(WEB_HTML, "{\"text\":\"wrong field\"}", 0, MSG_MEDIA);
	CHECK_ERR400(WEB_SVG, "{}", 0, MSG_MEDIA);
	CHECK_ERR400(WEB_TEXT, "{\"body\":{\"a\":1}}", 0, MSG_MEDIA);
	CHECK_ERR400(WEB_TEXT, "[\"text\"]", 0, MSG_MEDIA);
	CHECK_ERR400(WEB_TEXT, NULL, 0, MSG_MEDIA);
}

static void test_http_status(void)
{
	CHECK_TEXT(WEB_HTTP, "{\"body\":\"hi\"}", 200, "text/html", "hi");
	CHECK_RESP(WEB_HTTP, "{}", 0, 204, NULL, "", 0);
	CHECK_RESP(WEB_HTTP, "{\"body\":null}", 0, 204, NULL, "", 0);
	CHECK_RESP(WEB_HTTP, NULL, 0, 204, NULL, "", 0);
	CHECK_TEXT(WEB_HTTP, "{\"statusCode\":201,\"body\":\"made\"}", 201, "text/html", "made");
	CHECK_RESP(WEB_HTTP, "{\"statusCode\":\"404\"}", 0, 404, NULL, "", 0);
	CHECK_RESP(WEB_HTTP, "{\"statusCode\":302,\"headers\":{\"location\":\"/x\"}}", 0, 302,
		   NULL, "", 0);
	CHECK_ERR400(WEB_HTTP, "{\"statusCode\":\"4x4\"}", 0, MSG_INVALID);
	CHECK_ERR400(WEB_HTTP, "{\"statusCode\":\"\"}", 0, MSG_INVALID);
	CHECK_ERR400(WEB_HTTP, "{\"statusCode\":99}", 0, MSG_INVALID);
	CHECK_ERR400(WEB_HTTP, "{\"statusCode\":600}", 0, MSG_INVALID);
	CHECK_ERR400(WEB_HTTP, "{\"statusCode\":200.5}", 0, MSG_INVALID);
	CHECK_ERR400(WEB_HTTP, "{\"statusCode\":true}", 0, MSG_INVALID);
	CHECK_ERR400(WEB_HTTP, "\"just a string\"", 0, MSG_INVALID);
}

static void test_http_headers(void)
{
	struct web_response w = respond(WEB_HTTP,
		"{\"headers\":{\"X-S\":\"a\",\"X-N\":42,\"X-F\":1.5,\"X-B\":true,"
		"\"Set-Cookie\":[\"a=1\",2,false],\"Content-Type\":\"text/plain\"},"
		"\"body\":\"p\"}", 0);
	static const char *const want[][2] = { { "X-S", "a" },        { "X-N", "42" },
					       { "X-F", "1.5" },      { "X-B", "true" },
					       { "Set-Cookie", "a=1" }, { "Set-Cookie", "2" },
					       { "Set-Cookie", "false" } };

	CHECK_INT_EQ(w.status, 200);
	CHECK_STR_EQ(w.content_type, "text/plain");
	CHECK_INT_EQ(w.body_len, 1);
	CHECK(w.body && w.body[0] == 'p');
	REQUIRE(w.header_count == 7);
	for (size_t i = 0; i < 7; i++) {
		CHECK_STR_EQ(w.headers[i].name, want[i][0]);
		CHECK_STR_EQ(w.headers[i].value, want[i][1]);
	}
	web_response_fini(&w);
	CHECK(w.headers == NULL && w.header_count == 0 && w.body == NULL);
	web_response_fini(&w); /* twice is fine */
	CHECK_ERR400(WEB_HTTP, "{\"headers\":{\"X\":{\"a\":1}}}", 0, MSG_INVALID);
	CHECK_ERR400(WEB_HTTP, "{\"headers\":{\"X\":null}}", 0, MSG_INVALID);
	CHECK_ERR400(WEB_HTTP, "{\"headers\":{\"X\":[\"a\",[\"b\"]]}}", 0, MSG_INVALID);
	CHECK_ERR400(WEB_HTTP, "{\"headers\":[\"X\"],\"body\":\"b\"}", 0, MSG_INVALID);
	CHECK_ERR400(WEB_HTTP, "{\"headers\":\"X: y\"}", 0, MSG_INVALID);
	/* No header line of the action's making: CR/LF and control bytes in
	 * values, non-token names. */
	CHECK_ERR400(WEB_HTTP, "{\"headers\":{\"X\":\"a\\r\\nSet-Cookie: x=1\"}}", 0, MSG_INVALID);
	CHECK_ERR400(WEB_HTTP, "{\"headers\":{\"X\":\"a\\nb\"}}", 0, MSG_INVALID);
	CHECK_ERR400(WEB_HTTP, "{\"headers\":{\"X\":[\"ok\",\"a\\rb\"]}}", 0, MSG_INVALID);
	CHECK_ERR400(WEB_HTTP, "{\"headers\":{\"X\":\"a\\u007fb\"}}", 0, MSG_INVALID);
	CHECK_ERR400(WEB_HTTP, "{\"headers\":{\"Content-Type\":\"text/html\\r\\nX: 1\"}}", 0,
		     MSG_INVALID);
	CHECK_ERR400(WEB_HTTP, "{\"headers\":{\"X Y\":\"a\"}}", 0, MSG_INVALID);
	CHECK_ERR400(WEB_HTTP, "{\"headers\":{\"X:Y\":\"a\"}}", 0, MSG_INVALID);
	CHECK_ERR400(WEB_HTTP, "{\"headers\":{\"\":\"a\"}}", 0, MSG_INVALID);
	CHECK_ERR400(WEB_HTTP, "{\"headers\":{\"X\\r\\nY\":\"a\"}}", 0, MSG_INVALID);
	CHECK_ERR400(WEB_HTTP, "{\"statusCode\":600}", 0, MSG_INVALID);
	CHECK_ERR400(WEB_HTTP, "{\"statusCode\":99}", 0, MSG_INVALID);
	{
		/* Tab and obs-text pass; framing headers are the server's. */
		struct web_response v = respond(WEB_HTTP,
			"{\"headers\":{\"X-T\":\"a\\tb \\u00e9\",\"Content-Length\":\"1\","
			"\"transfer-encoding\":\"chunked\",\"Connection\":\"close\"},\"body\":\"xyz\"}", 0);

		CHECK_INT_EQ(v.status, 200);
		REQUIRE(v.header_count == 1);
		CHECK_STR_EQ(v.headers[0].name, "X-T");
		CHECK_STR_EQ(v.headers[0].value, "a\tb \xc3\xa9");
		CHECK_INT_EQ(v.body_len, 3);
		web_response_fini(&v);
	}
}

static void test_http_bodies(void)
{
	/* Binary types are base64-decoded; text types go as is. */
	CHECK_RESP(WEB_HTTP, "{\"headers\":{\"content-type\":\"image/png\"},\"body\":\"AP8Q\"}", 0,
		   200, "image/png", "\x00\xff\x10", 3);
	CHECK_RESP(WEB_HTTP, "{\"headers\":{\"Content-Type\":\"application/octet-stream\"},"
		   "\"body\":\"QUI\"}", 0, 200, "application/octet-stream", "AB", 2);
	CHECK_RESP(WEB_HTTP, "{\"headers\":{\"Content-Type\":\"image/gif\"},\"body\":\"QQ==\"}", 0,
		   200, "image/gif", "A", 1);
	CHECK_TEXT(WEB_HTTP, "{\"headers\":{\"Content-Type\":\"application/json\"},"
		   "\"body\":\"{\\\"a\\\":1}\"}", 200, "application/json", "{\"a\":1}");
	CHECK_TEXT(WEB_HTTP, "{\"headers\":{\"Content-Type\":\"text/css; charset=utf-8\"},"
		   "\"body\":\"AP8Q\"}", 200, "text/css; charset=utf-8", "AP8Q");
	CHECK_ERR400(WEB_HTTP, "{\"headers\":{\"content-type\":\"image/png\"},\"body\":\"AP8Q!\"}",
		     0, MSG_INVALID);
	CHECK_ERR400(WEB_HTTP, "{\"headers\":{\"content-type\":\"image/png\"},\"body\":\"A\"}", 0,
		     MSG_INVALID);
	CHECK_ERR400(WEB_HTTP, "{\"headers\":{\"content-type\":\"image/png\"},\"body\":\"QQ=\"}", 0,
		     MSG_INVALID);
	CHECK_ERR400(WEB_HTTP, "{\"headers\":{\"content-type\":\"image/png\"},\"body\":\"QQ ==\"}",
		     0, MSG_INVALID);
	/* Non-string bodies are JSON whatever the declared type. */
	CHECK_TEXT(WEB_HTTP, "{\"body\":{\"a\":[1,\"x\"]}}", 200, "application/json",
		   "{\"a\":[1,\"x\"]}");
	CHECK_TEXT(WEB_HTTP, "{\"statusCode\":202,\"headers\":{\"Content-Type\":\"text/plain\"},"
		   "\"body\":[true]}", 202, "application/json", "[true]");
	CHECK_TEXT(WEB_HTTP, "{\"body\":5}", 200, "application/json", "5");
	CHECK_TEXT(WEB_HTTP, "{\"body\":false}", 200, "application/json", "false");
}

static void test_errors(void)
{
	/* Application error: the "error" value is projected instead. */
	CHECK_TEXT_SC(WEB_HTTP, "{\"error\":{\"statusCode\":418,\"body\":\"teapot\"}}", 1, 418,
		      "text/html", "teapot");
	CHECK_TEXT_SC(WEB_JSON, "{\"error\":{\"msg\":\"x\"}}", 1, 200, "application/json",
		      "{\"msg\":\"x\"}");
	CHECK_TEXT_SC(WEB_TEXT, "{\"error\":{\"text\":\"bad\"}}", 1, 200, "text/plain", "bad");
	CHECK_ERR400(WEB_HTTP, "{\"error\":\"boom\"}", 1, MSG_INVALID);
	CHECK_ERR400(WEB_JSON, "{\"error\":\"boom\"}", 1, MSG_MEDIA);
	/* Developer and whisk errors: 400 whatever the result says. */
	CHECK_ERR400(WEB_HTTP, "{\"error\":\"The action did not return a dictionary.\"}", 2,
		     MSG_PROCESSING);
	CHECK_ERR400(WEB_JSON, "{\"statusCode\":200,\"body\":\"ok\"}", 2, MSG_PROCESSING);
	CHECK_ERR400(WEB_TEXT, NULL, 3, MSG_PROCESSING);
	/* No code: the error body has none. */
	struct web_response w = { 0 };

	CHECK_INT_EQ(web_respond(WEB_HTTP, NULL, 3, NULL, &w), 0);
	CHECK_INT_EQ(w.status, 400);
	CHECK_STR_EQ(w.body, "{\"error\":\"" MSG_PROCESSING "\"}");
	web_response_fini(&w);
}

/* Random requests and results: any outcome but a crash or leak. */
static void test_random(void)
{
	static const char alpha[] = "a=&%+_o0w1fF{}[]\":,\xff tru\x00"; /* NUL last */
	static const char *const cts[] = { NULL, "application/json", "text/plain",
					   "application/x-www-form-urlencoded", "image/png" };
	static const char *const scs[] = { "200", "\"404\"", "99", "null", "\"x\"", "[]" };
	static const char *const hcts[] = { "\"image/png\"", "\"text/plain\"", "[1,true]", "{}" };
	char q[24], b[24], res_text[160];
	unsigned seed = 12345;

	for (int i = 0; i < 20000; i++) {
		size_t ql = 0, bl = (size_t)(rand_r(&seed) % sizeof(b));
		struct web_request r = { .method = "POST", .query = q, .body = b, .body_len = bl,
					 .content_type = cts[rand_r(&seed) % 5],
					 .raw_http = rand_r(&seed) % 4 == 0 };
		struct web_response w = { 0 };
		struct buf out = BUF_INIT;
		cJSON *res = NULL;

		for (; ql + 1 < sizeof(q) && rand_r(&seed) % 12; ql++)
			q[ql] = alpha[rand_r(&seed) % (sizeof(alpha) - 2)]; /* no NUL */
		q[ql] = '\0';
		for (size_t k = 0; k < bl; k++)
			b[k] = alpha[rand_r(&seed) % (sizeof(alpha) - 1)];
		/* Whatever the input, arguments that are made are valid JSON. */
		if (web_params(NULL, &r, &out, NULL) == 0)
			CHECK(json_is_value(out.data, out.len));
		buf_fini(&out);
		if (json_parse(b, bl, &res, NULL) == 0) {
			CHECK(web_respond((enum web_ext)(i % 5), res, i % 4, CODE, &w) == 0);
			web_response_fini(&w);
			json_delete(res);
		}
		/* An .http-shaped result whose body is base64-like noise. */
		for (size_t k = 0; k < bl; k++)
			b[k] = "AQz+/=!"[rand_r(&seed) % 7];
		snprintf(res_text, sizeof(res_text),
			 "{\"statusCode\":%s,\"headers\":{\"Content-Type\":%s},\"body\":\"%.*s\"}",
			 scs[rand_r(&seed) % 6], hcts[rand_r(&seed) % 4], (int)bl, b);
		res = parse(res_text);
		CHECK(res && web_respond((enum web_ext)(i % 5), res, i % 2, CODE, &w) == 0);
		web_response_fini(&w);
		json_delete(res);
	}
}

HARNESS_MAIN("web", TEST_CASE(test_ext_parse), TEST_CASE(test_precedence),
	     TEST_CASE(test_ow_fields), TEST_CASE(test_query), TEST_CASE(test_reserved),
	     TEST_CASE(test_form_body), TEST_CASE(test_json_body), TEST_CASE(test_other_bodies),
	     TEST_CASE(test_raw_http), TEST_CASE(test_json_ext), TEST_CASE(test_text_exts),
	     TEST_CASE(test_http_status), TEST_CASE(test_http_headers),
	     TEST_CASE(test_http_bodies), TEST_CASE(test_errors), TEST_CASE(test_random))
