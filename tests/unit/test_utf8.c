/* SPDX-License-Identifier: Apache-2.0 */
/* utf8: well-formedness at every offset and every kind of bad sequence;
 * scrubbing replaces bad input, drops a cut-off character and never
 * overruns or splits one. */
#include "common/utf8.h"

#include <stdbool.h>
#include <string.h>

#include "tests/harness.h"

/* The ASCII fast path steps eight bytes: a bad or multi-byte sequence at
 * every offset around those steps is still found where it is. */
static void test_utf8_word_boundaries(void)
{
	char buf[40];
	size_t at = 0;

	for (size_t k = 0; k + 2 <= sizeof(buf); k++) {
		memset(buf, 'a', sizeof(buf));
		buf[k] = (char)0xff;
		CHECK(!utf8_is_valid(buf, sizeof(buf), &at));
		CHECK_INT_EQ((int)at, (int)k);
		buf[k] = (char)0xc3;      /* U+00E4 */
		buf[k + 1] = (char)0xa4;
		CHECK(utf8_is_valid(buf, sizeof(buf), &at));
		buf[k + 1] = 'a';         /* truncated sequence */
		CHECK(!utf8_is_valid(buf, sizeof(buf), &at));
		CHECK_INT_EQ((int)at, (int)k);
	}
}

static void test_utf8(void)
{
	static const struct {
		const char *s;
		size_t len;
		bool ok;
		size_t bad_at;
	} cases[] = {
		{ "", 0, true, 0 },
		{ "plain ascii {\"a\":1}", 18, true, 0 },
		{ "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, true, 0 }, /* e-acute, euro, emoji */
		{ "\xef\xbf\xbf\xf4\x8f\xbf\xbf", 7, true, 0 },             /* U+FFFF, U+10FFFF */
		{ "a\0b", 3, true, 0 },                                   /* NUL is ASCII */
		{ "ab\xff", 3, false, 2 },
		{ "\x80", 1, false, 0 },                                  /* lone continuation */
		{ "\xc3\x28", 2, false, 0 },                              /* bad continuation */
		{ "x\xe2\x82", 3, false, 1 },                             /* truncated */
		{ "\xc0\xaf", 2, false, 0 },                              /* overlong '/' */
		{ "\xe0\x80\xaf", 3, false, 0 },                          /* overlong */
		{ "\xed\xa0\x80", 3, false, 0 },                          /* surrogate D800 */
		{ "\xf4\x90\x80\x80", 4, false, 0 },                      /* U+110000 */
		{ "\xf8\x88\x80\x80\x80", 5, false, 0 },                  /* 5-byte form */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t at = 12345;
		bool ok = utf8_is_valid(cases[i].s, cases[i].len, &at);

		if (ok != cases[i].ok)
			HARNESS_FAIL("case %zu: valid = %d, want %d", i, ok, cases[i].ok);
		else if (!ok && at != cases[i].bad_at)
			HARNESS_FAIL("case %zu: bad_at = %zu, want %zu", i, at, cases[i].bad_at);
		else if (ok && at != 12345)
			HARNESS_FAIL("case %zu: bad_at written on success", i);
	}
}

static void check_scrub(const char *in, size_t len, size_t size, const char *want)
{
	char out[64];
	size_t n;

	memset(out, 'Z', sizeof(out));
	n = utf8_scrub(in, len, out, size);
	if (n != strlen(want) || strcmp(out, want) != 0)
		HARNESS_FAIL("scrub of %zu bytes into %zu: got \"%s\" (%zu), want \"%s\"", len, size,
			     out, n, want);
	CHECK(utf8_is_valid(out, n, NULL));
	CHECK_INT_EQ(out[size], 'Z'); /* nothing past size */
}

static void test_scrub(void)
{
	check_scrub("plain", 5, 16, "plain");
	check_scrub("a\xff" "b", 3, 16, "a\xef\xbf\xbd" "b");
	check_scrub("'\xc3'", 3, 16, "'\xef\xbf\xbd'");            /* lone lead inside */
	check_scrub("\xed\xa0\x80", 3, 16, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* surrogate */
	check_scrub("ab\xc3", 3, 16, "ab");                         /* cut at the end */
	check_scrub("ab\xe2\x82", 4, 16, "ab");
	check_scrub("ab\xe2(", 4, 16, "ab\xef\xbf\xbd(");
	check_scrub("\xc3\xa9\xc3\xa9", 4, 4, "\xc3\xa9");         /* room for 3: one e-acute */
	check_scrub("\xc3\xa9\xc3\xa9", 4, 5, "\xc3\xa9\xc3\xa9");
	check_scrub("a\xff", 2, 4, "a");                            /* no room for U+FFFD */
	check_scrub("abc", 3, 1, "");
}

/* Every byte string of length 3 over a mix of leads and continuations
 * scrubs to valid UTF-8 that keeps its valid parts. */
static void test_scrub_exhaustive(void)
{
	static const unsigned char alphabet[] = { 'a', 0x80, 0xbf, 0xc3, 0xa9, 0xe2, 0x82,
						  0xac, 0xed, 0xa0, 0xf0, 0x9f, 0xf4, 0xff };
	const size_t k = sizeof(alphabet);

	for (size_t i = 0; i < k * k * k; i++) {
		char in[3] = { (char)alphabet[i % k], (char)alphabet[i / k % k],
			       (char)alphabet[i / k / k] };
		char out[16];
		size_t n = utf8_scrub(in, 3, out, sizeof(out));

		if (!utf8_is_valid(out, n, NULL) || strlen(out) != n)
			HARNESS_FAIL("case %zu: scrub is not valid UTF-8", i);
		if (utf8_is_valid(in, 3, NULL) && (n != 3 || memcmp(in, out, 3) != 0))
			HARNESS_FAIL("case %zu: valid input changed", i);
	}
}

HARNESS_MAIN("test_utf8", TEST_CASE(test_utf8), TEST_CASE(test_utf8_word_boundaries),
	     TEST_CASE(test_scrub), TEST_CASE(test_scrub_exhaustive))
