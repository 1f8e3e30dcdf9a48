/* SPDX-License-Identifier: Apache-2.0 */
/* nng_crlf_guard: blank lines before request lines go, nothing else does
 * (heads, bodies of the length nng reads, CR/LF inside bodies), at every
 * split of the stream into reads. */
#include "controller/nng_crlf_guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness.h"

/* Filter `in` split at every position into two reads, and read by read
 * one byte at a time; each must give `want`. */
static void check_stream(const char *in, const char *want)
{
	size_t n = strlen(in), wn = strlen(want);
	char *buf = malloc(n + 1), *out = malloc(n + 1);

	REQUIRE(buf && out);
	for (size_t cut = 0; cut <= n; cut++) {
		struct crlf_track t;
		size_t o = 0, k;

		crlf_track_init(&t);
		memcpy(buf, in, n);
		k = crlf_track_filter(&t, buf, cut);
		memcpy(out + o, buf, k);
		o += k;
		k = crlf_track_filter(&t, buf + cut, n - cut);
		memcpy(out + o, buf + cut, k);
		o += k;
		if (o != wn || memcmp(out, want, wn) != 0) {
			HARNESS_FAIL("split at %zu: got %zu bytes \"%.*s\", want \"%s\"", cut, o,
				     (int)o, out, want);
			break;
		}
	}
	{
		struct crlf_track t;
		size_t o = 0;

		crlf_track_init(&t);
		for (size_t i = 0; i < n; i++) {
			char c = in[i];

			if (crlf_track_filter(&t, &c, 1))
				out[o++] = c;
		}
		CHECK(o == wn && memcmp(out, want, wn) == 0);
	}
	free(buf);
	free(out);
}

#define GET "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"

static void test_blank_lines_go(void)
{
	check_stream("\r\n" GET, GET);
	check_stream("\r\n\r\n\n\r\n" GET "\r\n\n" GET, GET GET);
	check_stream(GET GET, GET GET);
	check_stream("\n\nGET / HTTP/1.0\n\n", "GET / HTTP/1.0\n\n"); /* bare LF, as nng */
}

static void test_bodies_stay(void)
{
	/* A body that starts with CRLF is the body, and CRLF after it goes. */
	check_stream("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n\r\nab\r\n\r\n\r\n" GET,
		     "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n\r\nab\r\n" GET);
	check_stream("POST /a HTTP/1.1\r\nhost:x\r\ncontent-length:\t2 \r\n\r\n\r\n\r\n",
		     "POST /a HTTP/1.1\r\nhost:x\r\ncontent-length:\t2 \r\n\r\n\r\n");
	check_stream("POST /a HTTP/1.0\r\nContent-Length: +2\r\n\r\n\n\n\n",
		     "POST /a HTTP/1.0\r\nContent-Length: +2\r\n\r\n\n\n");
}

/* Where nng refuses a request before reading its body, it parses the
 * body as the next request; so does the tracker. */
static void test_refused_bodies(void)
{
	const char *no_host = "POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\n\r\n";
	const char *twice = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
			    "Content-Length: 1\r\n\r\n\n";
	const char *bad = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n\n";
	const char *spaced = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length : 1\r\n\r\n\n";
	char big[160];

	check_stream(no_host, "POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\n");
	check_stream(twice, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
			    "Content-Length: 1\r\n\r\n");
	check_stream(bad, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n");
	check_stream(spaced, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length : 1\r\n\r\n");
	snprintf(big, sizeof(big), "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: %llu\r\n\r\n\n",
		 CRLF_GUARD_MAX_BODY + 1);
	{
		char want[160];

		snprintf(want, sizeof(want), "%.*s", (int)strlen(big) - 1, big);
		check_stream(big, want);
	}
	check_stream("GET / HTTP/2.0\r\n\r\n\r\n", "GET / HTTP/2.0\r\n\r\n");
}

/* A long request line keeps its version in view; a long header line
 * stays a header. */
static void test_long_lines(void)
{
	char in[4096], want[4000];
	char uri[1000];

	memset(uri, 'a', sizeof(uri) - 1);
	uri[0] = '/';
	uri[sizeof(uri) - 1] = '\0';
	snprintf(want, sizeof(want),
		 "POST %s HTTP/1.1\r\nHost: x\r\nX-Long: %s\r\nContent-Length: 3\r\n\r\n\r\n\r", uri,
		 uri);
	snprintf(in, sizeof(in), "\r\n%s\n\r\n", want);
	check_stream(in, want);
}

HARNESS_MAIN("nng_crlf_guard", TEST_CASE(test_blank_lines_go), TEST_CASE(test_bodies_stay),
	     TEST_CASE(test_refused_bodies), TEST_CASE(test_long_lines))
