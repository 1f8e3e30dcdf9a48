/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the action proxy's pure parts: the JSON scanner, base64 and
 * the byte buffer. The HTTP and process sides are exercised against real
 * containers by tests/integration/test_runtimes.sh. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"
#include "common/buf.h"
#include "tests/harness.h"
#include "common/jscan.h"

static bool valid(const char *s)
{
	size_t p = 0;
	size_t n = strlen(s);
	if (jscan_skip_value(s, n, &p) < 0)
		return false;
	while (p < n && strchr(" \t\r\n", s[p]))
		p++;
	return p == n;
}

static void test_valid_values(void)
{
	const char *ok[] = {
		"{}", "[]", "0", "-0.5e+10", "\"a\\u00e9\\n\"", "true", "false", "null",
		" {\"a\":[1,2,{\"b\":null}],\"c\":\"d\"} ", "[[[[]]]]", "1E5", "\"\\/\"",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (!valid(ok[i]))
			HARNESS_FAIL("should be valid: %s", ok[i]);
	}
}

static void test_invalid_values(void)
{
	const char *bad[] = {
		"", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "01", "1.", ".5", "-",
		"tru", "nul", "\"abc", "\"a\\x\"", "\"\\u12g4\"", "\"tab\there\"", "[1 2]",
		"{\"a\":1 \"b\":2}", "[\"a\":1]", "{\"a\"}", "1e", "+1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (valid(bad[i]))
			HARNESS_FAIL("should be invalid: '%s'", bad[i]);
	}
	CHECK(!valid("[1] [2]"));
	CHECK(!jscan_is_object_or_array("\"str\"", 5));
	CHECK(!jscan_is_object_or_array("42", 2));
	CHECK(jscan_is_object_or_array(" [1] \n", 6));
	CHECK(!jscan_is_object_or_array("{} x", 4));
}

/* Strings are skimmed eight bytes at a time: a quote, a backslash escape
 * or a control character at any offset must still be seen. */
static void test_string_word_boundaries(void)
{
	char s[48];

	for (size_t k = 2; k < 40; k++) {
		memset(s, 'x', sizeof(s));
		s[0] = '[';
		s[1] = '"';
		s[41] = '"';
		s[42] = ']';
		CHECK(jscan_is_object_or_array(s, 43));
		s[k] = '\n';                     /* raw control character */
		CHECK(!jscan_is_object_or_array(s, 43));
		s[k] = '"';                      /* string ends early: junk follows */
		CHECK(!jscan_is_object_or_array(s, 43));
		s[k] = (char)0xe4;               /* high bytes are plain text */
		CHECK(jscan_is_object_or_array(s, 43));
		if (k < 40) {
			s[k] = '\\';               /* escaped quote inside */
			s[k + 1] = '"';
			CHECK(jscan_is_object_or_array(s, 43));
		}
	}
}

static void test_depth_limit(void)
{
	size_t n = JSCAN_MAX_DEPTH + 10;
	char *s = malloc(2 * n + 1);
	REQUIRE(s);
	memset(s, '[', n);
	memset(s + n, ']', n);
	s[2 * n] = '\0';
	CHECK(!valid(s));  /* too deep: rejected, not a stack overflow */
	size_t k = JSCAN_MAX_DEPTH;
	memset(s, '[', k);
	memset(s + k, ']', k);
	s[2 * k] = '\0';
	CHECK(valid(s));
	free(s);
}

static void test_object_walk(void)
{
	const char *s = "{\"value\":{\"x\":[1,{\"y\":2}]},\"namespace\":\"guest\",\"n\":5,\"esc\\u0061\":true}";
	struct jscan_iter it;
	struct jscan_member m;
	int count = 0;

	REQUIRE(jscan_object_begin(&it, s, strlen(s)) == 0);
	while (jscan_object_next(&it, &m) == 1)
		count++;
	CHECK_INT_EQ(count, 4);

	REQUIRE(jscan_object_find(s, strlen(s), "value", &m) == 1);
	CHECK(m.val_len == strlen("{\"x\":[1,{\"y\":2}]}"));
	CHECK(strncmp(m.val, "{\"x\":[1,{\"y\":2}]}", m.val_len) == 0);
	REQUIRE(jscan_object_find(s, strlen(s), "n", &m) == 1);
	CHECK(m.val_len == 1 && m.val[0] == '5');
	CHECK_INT_EQ(jscan_object_find(s, strlen(s), "escb", &m), 0);
	CHECK_INT_EQ(jscan_object_find(s, strlen(s), "esca", &m), 1);
	CHECK_INT_EQ(jscan_object_find(s, strlen(s), "missing", &m), 0);
	CHECK_INT_EQ(jscan_object_find("[1]", 3, "a", &m), -EINVAL);
	CHECK_INT_EQ(jscan_object_find("{\"a\":", 5, "a", &m), -EINVAL);
	CHECK_INT_EQ(jscan_object_begin(&it, "{} {}", 5), -EINVAL);

	/* Duplicate keys: the last one wins. */
	const char *d = "{\"a\":1,\"a\":2}";
	REQUIRE(jscan_object_find(d, strlen(d), "a", &m) == 1);
	CHECK(m.val[0] == '2');
}

static void test_string_decode(void)
{
	char raw[] = "a\\n\\\"b\\u00e9\\ud83d\\ude00\\ud800x\\/";
	size_t n = 0;
	REQUIRE(jscan_string_decode(raw, strlen(raw), raw, &n) == 0);  /* in place */
	const char want[] = "a\n\"b\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbdx/";
	CHECK_INT_EQ(n, sizeof(want) - 1);
	CHECK(memcmp(raw, want, n) == 0);

	char nul[] = "a\\u0000b";
	REQUIRE(jscan_string_decode(nul, strlen(nul), nul, &n) == 0);
	CHECK_INT_EQ(n, 3);
	CHECK(nul[1] == '\0');
	char bad[] = "\\q";
	CHECK_INT_EQ(jscan_string_decode(bad, 2, bad, &n), -EINVAL);
	char trunc[] = "\\u12";
	CHECK_INT_EQ(jscan_string_decode(trunc, 4, trunc, &n), -EINVAL);
}

static void test_quote(void)
{
	struct buf b = BUF_INIT;
	REQUIRE(jscan_quote(&b, "a\"b\\c\nd\x01", 8) == 0);
	CHECK_STR_EQ(b.data, "\"a\\\"b\\\\c\\nd\\u0001\"");
	CHECK(valid(b.data));
	buf_fini(&b);
}

static void test_b64(void)
{
	char s1[] = "aGVsbG8gd29ybGQ=";
	size_t n = 0;
	REQUIRE(codec_b64_decode(s1, strlen(s1), s1, &n, CODEC_B64_LENIENT) == 0);
	CHECK_INT_EQ(n, 11);
	CHECK(memcmp(s1, "hello world", 11) == 0);

	char s2[] = "aGVs\nbG8g\r\nd29y bGQ";  /* wrapped, no padding */
	REQUIRE(codec_b64_decode(s2, strlen(s2), s2, &n, CODEC_B64_LENIENT) == 0);
	CHECK_INT_EQ(n, 11);
	CHECK(memcmp(s2, "hello world", 11) == 0);

	char s3[] = "-_8";  /* URL-safe alphabet */
	REQUIRE(codec_b64_decode(s3, strlen(s3), s3, &n, CODEC_B64_LENIENT) == 0);
	CHECK_INT_EQ(n, 2);
	CHECK((unsigned char)s3[0] == 0xfb && (unsigned char)s3[1] == 0xff);

	char bad1[] = "aGV*";
	CHECK_INT_EQ(codec_b64_decode(bad1, 4, bad1, &n, CODEC_B64_LENIENT), -EINVAL);
	char bad2[] = "aGVsb";  /* dangling symbol */
	CHECK_INT_EQ(codec_b64_decode(bad2, 5, bad2, &n, CODEC_B64_LENIENT), -EINVAL);
	char bad3[] = "aG==aG";  /* data after padding */
	CHECK_INT_EQ(codec_b64_decode(bad3, 6, bad3, &n, CODEC_B64_LENIENT), -EINVAL);

	/* Round trip of all byte values, decoded in place. */
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char src[256];
	char enc[400];
	size_t e = 0;
	for (int i = 0; i < 256; i++)
		src[i] = (unsigned char)i;
	for (size_t i = 0; i < 256; i += 3) {
		unsigned v = (unsigned)src[i] << 16;
		size_t k = 256 - i < 3 ? 256 - i : 3;
		if (k > 1)
			v |= (unsigned)src[i + 1] << 8;
		if (k > 2)
			v |= src[i + 2];
		enc[e++] = tbl[(v >> 18) & 63];
		enc[e++] = tbl[(v >> 12) & 63];
		enc[e++] = k > 1 ? tbl[(v >> 6) & 63] : '=';
		enc[e++] = k > 2 ? tbl[v & 63] : '=';
	}
	REQUIRE(codec_b64_decode(enc, e, enc, &n, CODEC_B64_LENIENT) == 0);
	CHECK_INT_EQ(n, 256);
	CHECK(memcmp(enc, src, 256) == 0);
}

static void test_buf(void)
{
	struct buf b = BUF_INIT;
	REQUIRE(buf_puts(&b, "hello") == 0);
	REQUIRE(buf_printf(&b, " %d %s", 42, "x") == 0);
	CHECK_STR_EQ(b.data, "hello 42 x");
	buf_consume(&b, 6);
	CHECK_STR_EQ(b.data, "42 x");
	char big[1000];
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	REQUIRE(buf_printf(&b, "%s", big) == 0);
	CHECK_INT_EQ(b.len, 4 + 999);
	CHECK_INT_EQ(buf_reserve(&b, (size_t)-1), -ENOMEM);
	CHECK_INT_EQ(b.len, 4 + 999);
	buf_clear(&b, 16);  /* larger than 16: storage freed */
	CHECK(b.data == NULL && b.len == 0);
	buf_fini(&b);
	buf_fini(&b);  /* idempotent */
}

HARNESS_MAIN("proxy",
	     TEST_CASE(test_valid_values),
	     TEST_CASE(test_invalid_values),
	     TEST_CASE(test_string_word_boundaries),
	     TEST_CASE(test_depth_limit),
	     TEST_CASE(test_object_walk),
	     TEST_CASE(test_string_decode),
	     TEST_CASE(test_quote),
	     TEST_CASE(test_b64),
	     TEST_CASE(test_buf))
