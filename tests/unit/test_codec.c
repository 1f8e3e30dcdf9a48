/* SPDX-License-Identifier: Apache-2.0 */
/* codec: the three base64 modes accept and refuse what each caller needs,
 * round trips, in-place decoding, hex digits, percent-decoding. */
#include "common/codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness.h"

static int dec(const char *s, enum codec_b64_mode m, char *out, size_t *n)
{
	return codec_b64_decode(s, strlen(s), out, n, m);
}

static void test_b64_strict(void)
{
	char out[64];
	size_t n = 0;

	REQUIRE(dec("dXNlcjpwYXNz", CODEC_B64_STRICT, out, &n) == 0);
	CHECK_INT_EQ(n, 9);
	CHECK(memcmp(out, "user:pass", 9) == 0);
	REQUIRE(dec("YQ==", CODEC_B64_STRICT, out, &n) == 0);
	CHECK_INT_EQ(n, 1);
	CHECK_INT_EQ(out[0], 'a');
	REQUIRE(dec("YWI=", CODEC_B64_STRICT, out, &n) == 0);
	CHECK_INT_EQ(n, 2);
	CHECK_INT_EQ(dec("", CODEC_B64_STRICT, out, &n), -EINVAL);
	CHECK_INT_EQ(dec("YQ", CODEC_B64_STRICT, out, &n), -EINVAL);    /* unpadded */
	CHECK_INT_EQ(dec("YR==", CODEC_B64_STRICT, out, &n), -EINVAL);  /* pad bits set */
	CHECK_INT_EQ(dec("YQ=a", CODEC_B64_STRICT, out, &n), -EINVAL);  /* data after '=' */
	CHECK_INT_EQ(dec("Y===", CODEC_B64_STRICT, out, &n), -EINVAL);
	CHECK_INT_EQ(dec("YQ==YQ==", CODEC_B64_STRICT, out, &n), -EINVAL);
	CHECK_INT_EQ(dec("YW J", CODEC_B64_STRICT, out, &n), -EINVAL);
	CHECK_INT_EQ(dec("YW-_", CODEC_B64_STRICT, out, &n), -EINVAL);
}

static void test_b64_pad_optional(void)
{
	char out[64];
	size_t n = 0;

	REQUIRE(dec("YQ", CODEC_B64_PAD_OPTIONAL, out, &n) == 0);
	CHECK_INT_EQ(n, 1);
	REQUIRE(dec("YQ==", CODEC_B64_PAD_OPTIONAL, out, &n) == 0);
	CHECK_INT_EQ(n, 1);
	REQUIRE(dec("", CODEC_B64_PAD_OPTIONAL, out, &n) == 0);
	CHECK_INT_EQ(n, 0);
	CHECK_INT_EQ(dec("YQ=", CODEC_B64_PAD_OPTIONAL, out, &n), -EINVAL); /* half a pad */
	CHECK_INT_EQ(dec("Y", CODEC_B64_PAD_OPTIONAL, out, &n), -EINVAL);
	CHECK_INT_EQ(dec("YW J", CODEC_B64_PAD_OPTIONAL, out, &n), -EINVAL);
	CHECK_INT_EQ(dec("YW-_", CODEC_B64_PAD_OPTIONAL, out, &n), -EINVAL);
}

static void test_b64_lenient(void)
{
	char buf[64] = "YW Jj\nZA";
	size_t n = 0;

	/* In place, whitespace skipped, no padding. */
	REQUIRE(codec_b64_decode(buf, strlen(buf), buf, &n, CODEC_B64_LENIENT) == 0);
	CHECK_INT_EQ(n, 4);
	CHECK(memcmp(buf, "abcd", 4) == 0);
	REQUIRE(dec("-_8=", CODEC_B64_LENIENT, buf, &n) == 0);
	CHECK_INT_EQ(n, 2);
	CHECK_INT_EQ((unsigned char)buf[0], 0xfb);
	CHECK_INT_EQ((unsigned char)buf[1], 0xff);
	CHECK_INT_EQ(dec("YQ===", CODEC_B64_LENIENT, buf, &n), -EINVAL);
	CHECK_INT_EQ(dec("YQ=Y", CODEC_B64_LENIENT, buf, &n), -EINVAL);
	CHECK_INT_EQ(dec("Y", CODEC_B64_LENIENT, buf, &n), -EINVAL);
	CHECK_INT_EQ(dec("Y*", CODEC_B64_LENIENT, buf, &n), -EINVAL);
}

static void test_b64_round_trip(void)
{
	unsigned char in[256];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 7 + 3);
	for (size_t len = 0; len < 40; len++) {
		size_t elen = 0, n = 0;
		char *enc = codec_b64_encode(in, len, &elen);
		char out[64];

		REQUIRE(enc);
		CHECK_INT_EQ(elen, (len + 2) / 3 * 4);
		CHECK_INT_EQ(strlen(enc), elen);
		if (len) {
			CHECK_INT_EQ(codec_b64_decode(enc, elen, out, &n, CODEC_B64_STRICT), 0);
			CHECK_INT_EQ(n, len);
			CHECK(memcmp(out, in, len) == 0);
		}
		free(enc);
	}
}

static void test_hex(void)
{
	char out[9];
	const unsigned char b[4] = { 0x00, 0x9f, 0xa0, 0xff };

	CHECK_INT_EQ(codec_hex_value('0'), 0);
	CHECK_INT_EQ(codec_hex_value('9'), 9);
	CHECK_INT_EQ(codec_hex_value('a'), 10);
	CHECK_INT_EQ(codec_hex_value('F'), 15);
	CHECK_INT_EQ(codec_hex_value('g'), -1);
	CHECK_INT_EQ(codec_hex_value('/'), -1);
	CHECK_INT_EQ(codec_hex_value(0), -1);
	codec_hex_encode(b, sizeof(b), out);
	CHECK_STR_EQ(out, "009fa0ff");
}

static void test_pct(void)
{
	const char *s = "a%2Fb+c%zz", *p = s, *end = s + strlen(s);
	unsigned char c = 0;

	CHECK_INT_EQ(codec_pct_next(&p, end, true, &c), 1);
	CHECK_INT_EQ(c, 'a');
	CHECK_INT_EQ(codec_pct_next(&p, end, true, &c), 1);
	CHECK_INT_EQ(c, '/');
	CHECK_INT_EQ(codec_pct_next(&p, end, true, &c), 1);
	CHECK_INT_EQ(c, 'b');
	CHECK_INT_EQ(codec_pct_next(&p, end, true, &c), 1);
	CHECK_INT_EQ(c, ' ');
	CHECK_INT_EQ(codec_pct_next(&p, end, false, &c), 1);
	CHECK_INT_EQ(c, 'c');
	CHECK_INT_EQ(codec_pct_next(&p, end, true, &c), -1);
	p = "+%4";
	end = p + 3;
	CHECK_INT_EQ(codec_pct_next(&p, end, false, &c), 1);
	CHECK_INT_EQ(c, '+');
	CHECK_INT_EQ(codec_pct_next(&p, end, false, &c), -1); /* truncated escape */
	p = end;
	CHECK_INT_EQ(codec_pct_next(&p, end, false, &c), 0);
}

HARNESS_MAIN("test_codec", TEST_CASE(test_b64_strict), TEST_CASE(test_b64_pad_optional),
	     TEST_CASE(test_b64_lenient), TEST_CASE(test_b64_round_trip), TEST_CASE(test_hex),
	     TEST_CASE(test_pct))
