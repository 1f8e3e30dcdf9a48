/* SPDX-License-Identifier: Apache-2.0 */
/* proxy: the response parser (framing, limits, every split point, random
 * and mutated input compared whole vs. piecewise) and the client against an
 * in-process HTTP server thread on 127.0.0.1 (keep-alive reuse, stale
 * connections, peer death, timeout, refusal, 2 MiB bodies, truncation). */
#include "invoker/proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness.h"

#define LIVE_TIMEOUT_MS 5000
#define MIB (1024 * 1024)

/* ------------------------------------------------------------------ */
/* Parser helpers                                                      */
/* ------------------------------------------------------------------ */

struct parsed {
	int rc;            /* last feed result; with eof: 1 complete, 0 truncated */
	size_t consumed;   /* bytes taken in total */
	int status, close;
	char *body;        /* when rc == 1 */
	size_t len, full_len, cap;
};

/* Feed s[0..n) in pieces: first up to `split` (when 0 < split < n), then
 * the rest, or `step` bytes at a time when step > 0. With `eof`, tell the
 * parser the peer closed after the input if it still wants more. */
static void parse_run(const char *s, size_t n, size_t max_body, size_t split, size_t step,
		      bool eof, struct parsed *out)
{
	struct http_parser p;
	size_t off = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	http_parser_init(&p, max_body);
	while (off < n) {
		size_t piece = n - off, used = 0;

		if (step)
			piece = step < piece ? step : piece;
		else if (split > off && split < n)
			piece = split - off;
		rc = http_parser_feed(&p, s + off, piece, &used);
		if (used > piece) {
			HARNESS_FAIL("consumed %zu of a %zu-byte piece", used, piece);
			rc = -1000;
			break;
		}
		off += used;
		if (rc != 0)
			break;
		if (used != piece) {
			HARNESS_FAIL("feed returned 0 but consumed %zu of %zu", used, piece);
			rc = -1001;
			break;
		}
	}
	if (rc == 0 && eof)
		rc = http_parser_eof(&p);
	out->rc = rc;
	out->consumed = off;
	out->status = p.status;
	out->close = p.close;
	out->cap = p.cap;
	if (rc == 1) {
		struct http_response r;

		http_parser_take(&p, &r);
		out->body = r.body;
		out->len = r.len;
		out->full_len = r.full_len;
	}
	http_parser_fini(&p);
}

static void parsed_fini(struct parsed *r)
{
	free(r->body);
	r->body = NULL;
}

static int parse_str(const char *s, size_t max_body, struct parsed *out)
{
	parse_run(s, strlen(s), max_body, 0, 0, false, out);
	return out->rc;
}

/* Whole, then the peer closes. */
static int parse_eof(const char *s, struct parsed *out)
{
	parse_run(s, strlen(s), 64, 0, 0, true, out);
	return out->rc;
}

/* Two parse results agree on everything the caller can see. */
static bool parsed_same(const struct parsed *a, const struct parsed *b)
{
	if (a->rc != b->rc)
		return false;
	if (a->rc != 1)
		return true;
	return a->consumed == b->consumed && a->status == b->status && a->close == b->close &&
	       a->len == b->len && a->full_len == b->full_len && a->body && b->body &&
	       memcmp(a->body, b->body, a->len + 1) == 0;
}

/* ------------------------------------------------------------------ */
/* Parser cases                                                        */
/* ------------------------------------------------------------------ */

static void test_parser_content_length(void)
{
	static const char one[] = "HTTP/1.1 200 OK\r\n"
				  "Content-Type: application/json\r\n"
				  "Content-Length: 11\r\n"
				  "\r\n"
				  "{\"ok\":true}";
	char two[256];
	struct parsed r;

	CHECK_INT_EQ(parse_str(one, 1024, &r), 1);
	CHECK_INT_EQ(r.consumed, strlen(one));
	CHECK_INT_EQ(r.status, 200);
	CHECK_INT_EQ(r.close, 0);
	CHECK_STR_EQ(r.body, "{\"ok\":true}");
	CHECK_INT_EQ(r.len, 11);
	CHECK_INT_EQ(r.full_len, 11);
	parsed_fini(&r);

	/* A second response right behind: only the first is consumed. */
	snprintf(two, sizeof(two), "%sHTTP/1.1 500 X\r\nContent-Length: 0\r\n\r\n", one);
	CHECK_INT_EQ(parse_str(two, 1024, &r), 1);
	CHECK_INT_EQ(r.consumed, strlen(one));
	CHECK_STR_EQ(r.body, "{\"ok\":true}");
	parsed_fini(&r);

	/* Content-Length: 0 completes at the blank line with a "" body. */
	CHECK_INT_EQ(parse_str("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 1024, &r), 1);
	CHECK_STR_EQ(r.body, "");
	CHECK_INT_EQ(r.len, 0);
	parsed_fini(&r);

	/* Fed after completion: done, nothing more taken. */
	{
		struct http_parser p;
		size_t used = 99;

		http_parser_init(&p, 64);
		CHECK_INT_EQ(http_parser_feed(&p, one, strlen(one), &used), 1);
		CHECK_INT_EQ(http_parser_feed(&p, "junk", 4, &used), 1);
		CHECK_INT_EQ(used, 0);
		http_parser_fini(&p);
		http_parser_fini(&p); /* idempotent */
	}
}

static void test_parser_chunked_extensions_trailers(void)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\n"
				   "Transfer-Encoding: chunked\r\n"
				   "\r\n"
				   "5;name=val\r\n"
				   "hello\r\n"
				   "6 ; x=\"y;z\" ; q\r\n"
				   " world\r\n"
				   "0A\r\n"
				   "0123456789\r\n"
				   "0;last=1\r\n"
				   "X-Trailer: 1\r\n"
				   "Server-Timing: total;dur=1\r\n"
				   "\r\n";
	struct parsed r;

	CHECK_INT_EQ(parse_str(resp, 1024, &r), 1);
	CHECK_INT_EQ(r.consumed, strlen(resp));
	CHECK_INT_EQ(r.status, 200);
	CHECK_STR_EQ(r.body, "hello world0123456789");
	CHECK_INT_EQ(r.len, 21);
	CHECK_INT_EQ(r.full_len, 21);
	CHECK_INT_EQ(r.close, 0);
	parsed_fini(&r);

	/* Empty chunked body; chunked plus Content-Length: chunked wins and
	 * the connection is not reused (RFC 9112 6.3). */
	CHECK_INT_EQ(parse_str("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
			       1024, &r), 1);
	CHECK_STR_EQ(r.body, "");
	CHECK_INT_EQ(r.close, 0);
	parsed_fini(&r);
	CHECK_INT_EQ(parse_str("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
			       "Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
			       1024, &r), 1);
	CHECK_STR_EQ(r.body, "hi");
	CHECK_INT_EQ(r.close, 1);
	parsed_fini(&r);
}

/* Valid responses for the split tests, with what they must parse to. */
static const struct {
	const char *text;
	bool eof;          /* complete only at EOF */
	int status;
	const char *body;
	size_t max_body;
	size_t full_len;
} good_cases[] = {
	{ "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"ok\":true}", false, 200,
	  "{\"ok\":true}", 64, 11 },
	{ "HTTP/1.1 502 Bad Gateway\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "4;a=b\r\n{\"er\r\n9\r\nror\":\"x\"}\r\n0\r\nT: 1\r\n\r\n",
	  false, 502, "{\"error\":\"x\"}", 64, 13 },
	{ "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
	  false, 201, "ok", 64, 2 },
	{ "HTTP/1.1 200 OK\nContent-Length: 3\n\nabc", false, 200, "abc", 64, 3 },
	{ "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", true, 200,
	  "until the end", 64, 13 },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", false, 200, "0123",
	  4, 10 },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n7\r\ndefghij\r\n0\r\n\r\n",
	  false, 200, "abcde", 5, 10 },
	{ "HTTP/1.0 204 No Content\r\n\r\n", false, 204, "", 64, 0 },
};

static void test_parser_every_split(void)
{
	for (size_t c = 0; c < sizeof(good_cases) / sizeof(good_cases[0]); c++) {
		const char *t = good_cases[c].text;
		size_t n = strlen(t);
		struct parsed whole, piece;

		parse_run(t, n, good_cases[c].max_body, 0, 0, good_cases[c].eof, &whole);
		CHECK_INT_EQ(whole.rc, 1);
		CHECK_INT_EQ(whole.consumed, n);
		CHECK_INT_EQ(whole.status, good_cases[c].status);
		CHECK_STR_EQ(whole.body, good_cases[c].body);
		CHECK_INT_EQ(whole.full_len, good_cases[c].full_len);
		if (whole.rc != 1) {
			HARNESS_FAIL("case %zu did not parse", c);
			parsed_fini(&whole);
			continue;
		}
		for (size_t split = 1; split < n; split++) {
			parse_run(t, n, good_cases[c].max_body, split, 0, good_cases[c].eof, &piece);
			if (!parsed_same(&whole, &piece))
				HARNESS_FAIL("case %zu differs when split at %zu", c, split);
			parsed_fini(&piece);
		}
		parse_run(t, n, good_cases[c].max_body, 0, 1, good_cases[c].eof, &piece);
		if (!parsed_same(&whole, &piece))
			HARNESS_FAIL("case %zu differs when fed byte by byte", c);
		parsed_fini(&piece);
		/* Until the last byte (or EOF) the response is incomplete. */
		parse_run(t, n - 1, good_cases[c].max_body, 0, 0, false, &piece);
		CHECK_INT_EQ(piece.rc, 0);
		parsed_fini(&piece);
		parsed_fini(&whole);
	}
}

static void test_parser_case_insensitive_headers(void)
{
	struct parsed r;

	CHECK_INT_EQ(parse_str("HTTP/1.1 201 Created\r\ncontent-length: 3\r\n"
			       "CONNECTION: Close\r\n\r\nabc", 64, &r), 1);
	CHECK_INT_EQ(r.status, 201);
	CHECK_STR_EQ(r.body, "abc");
	CHECK_INT_EQ(r.close, 1);
	parsed_fini(&r);

	CHECK_INT_EQ(parse_str("HTTP/1.1 200 OK\r\ntransfer-ENCODING:   Chunked  \r\n"
			       "cOnNeCtIoN: keep-alive ,  CLOSE\r\n\r\n1\r\nx\r\n0\r\n\r\n", 64, &r), 1);
	CHECK_STR_EQ(r.body, "x");
	CHECK_INT_EQ(r.close, 1);
	parsed_fini(&r);

	CHECK_INT_EQ(parse_str("HTTP/1.1 200 OK\r\nCoNtEnT-LeNgTh:\t2\t\r\n\r\nhi", 64, &r), 1);
	CHECK_STR_EQ(r.body, "hi");
	CHECK_INT_EQ(r.close, 0);
	parsed_fini(&r);

	/* Look-alike names are not the framing headers. */
	CHECK_INT_EQ(parse_str("HTTP/1.1 200 OK\r\nContent-Length-X: 5\r\nX-Content-Length: 9\r\n"
			       "Content-Length: 1\r\nConnectionX: close\r\n\r\nz", 64, &r), 1);
	CHECK_STR_EQ(r.body, "z");
	CHECK_INT_EQ(r.close, 0);
	parsed_fini(&r);
}

static void test_parser_truncates_body(void)
{
	struct parsed r;

	CHECK_INT_EQ(parse_str("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", 4, &r), 1);
	CHECK_STR_EQ(r.body, "0123");
	CHECK_INT_EQ(strlen(r.body), 4);
	CHECK_INT_EQ(r.len, 4);
	CHECK_INT_EQ(r.full_len, 10);
	CHECK(r.cap <= 5 || r.cap == 0); /* cap was handed over with the body */
	parsed_fini(&r);

	CHECK_INT_EQ(parse_str("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", 0, &r), 1);
	CHECK_STR_EQ(r.body, "");
	CHECK_INT_EQ(r.len, 0);
	CHECK_INT_EQ(r.full_len, 10);
	parsed_fini(&r);

	CHECK_INT_EQ(parse_str("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			       "6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n", 8, &r), 1);
	CHECK_STR_EQ(r.body, "abcdefgh");
	CHECK_INT_EQ(r.full_len, 12);
	parsed_fini(&r);

	/* Exactly max_body: nothing dropped. */
	CHECK_INT_EQ(parse_str("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd", 4, &r), 1);
	CHECK_STR_EQ(r.body, "abcd");
	CHECK_INT_EQ(r.full_len, 4);
	parsed_fini(&r);
}

static void test_parser_rejects_bad_status_line(void)
{
	static const char *const bad[] = {
		"HTTP/1.1 2000 OK\r\n", "HTTP/1.1 20 OK\r\n", "HTTP/2 200 OK\r\n",
		"HTTP/1.1 600 Nope\r\n", "HTTP/1.1 099 Nope\r\n", "http/1.1 200 OK\r\n",
		"HTTP/1.1  200 OK\r\n", "\r\n", "GET / HTTP/1.1\r\n", "HTTP/1.1 2x0 OK\r\n",
		"HTTP/1.1 200\rOK\r\n", "HTTP/1.1 200 OK\x01\r\n", "SSH-2.0-OpenSSH_9.2\r\n",
		"HTTP/1.1 101 Switching Protocols\r\n\r\n",
	};
	static const char nul_status[] = "HTTP/1.1 200 O\0K\r\n";
	static const unsigned char binary[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01,
						0xfc, 0x03, 0x03, '\n' };
	struct parsed r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_str(bad[i], 64, &r) != -EPROTO)
			HARNESS_FAIL("bad[%zu] = \"%s\" gave %d, not -EPROTO", i, bad[i], r.rc);
		parsed_fini(&r);
	}
	parse_run(nul_status, sizeof(nul_status) - 1, 64, 0, 0, false, &r);
	CHECK_INT_EQ(r.rc, -EPROTO);
	parse_run((const char *)binary, sizeof(binary), 64, 0, 0, false, &r);
	CHECK_INT_EQ(r.rc, -EPROTO);

	/* After an error the parser stays failed and says why. */
	{
		struct http_parser p;
		size_t used;

		http_parser_init(&p, 64);
		CHECK_INT_EQ(http_parser_feed(&p, "HTTX/1.1 200 OK\r\n", 17, &used), -EPROTO);
		CHECK(p.error != NULL);
		CHECK_INT_EQ(http_parser_feed(&p, "HTTP/1.1 200 OK\r\n", 17, &used), -EPROTO);
		CHECK_INT_EQ(http_parser_eof(&p), 0);
		http_parser_fini(&p);
	}
}

static void test_parser_content_length_limits(void)
{
	static const char *const bad[] = {
		"18446744073709551616", /* 2^64: more than any size_t */
		"99999999999999999999999999999", "-1", "+5", "1a", "", "5 5", "0x10", "5,5",
	};
	char buf[256];
	struct parsed r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nContent-Length: %s\r\n\r\nabcde", bad[i]);
		if (parse_str(buf, 64, &r) != -EPROTO)
			HARNESS_FAIL("Content-Length \"%s\" gave %d, not -EPROTO", bad[i], r.rc);
		parsed_fini(&r);
	}
	CHECK_INT_EQ(parse_str("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
			       64, &r), -EPROTO);
	CHECK_INT_EQ(parse_str("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
			       64, &r), 1);
	CHECK_STR_EQ(r.body, "ok");
	parsed_fini(&r);

	/* The largest size_t is a valid length: the parser waits for it,
	 * allocating no more than max_body for it. */
	snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\nabc", SIZE_MAX);
	CHECK_INT_EQ(parse_str(buf, 100, &r), 0);
	CHECK(r.cap > 0 && r.cap <= 101);
	parsed_fini(&r);
}

static void test_parser_chunk_size_overflow(void)
{
	char huge[64], buf[256], *longext;
	struct parsed r;
	static const char *const bad[] = {
		"fffffffffffffffffff\r\n", "xyz\r\n", "\r\n", "-1\r\n", "5x\r\nhello\r\n",
		"5\r\nhelloX\r\n0\r\n\r\n", "5\r\nhello0\r\n\r\n", " 5\r\nhello\r\n",
	};

	/* 16^(2*sizeof(size_t)): one hex digit more than a size_t holds. */
	memset(huge, '0', sizeof(huge));
	huge[0] = '1';
	huge[2 * sizeof(size_t) + 1] = '\0';
	snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%s\r\n", huge);
	CHECK_INT_EQ(parse_str(buf, 64, &r), -EPROTO);
	/* Leading zeros are just zeros. */
	CHECK_INT_EQ(parse_str("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			       "00000000000000000000000000000002\r\nok\r\n0\r\n\r\n", 64, &r), 1);
	CHECK_STR_EQ(r.body, "ok");
	parsed_fini(&r);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%s",
			 bad[i]);
		if (parse_str(buf, 64, &r) != -EPROTO)
			HARNESS_FAIL("chunk \"%s\" gave %d, not -EPROTO", bad[i], r.rc);
		parsed_fini(&r);
	}

	/* A chunk-size line is bounded even with no newline in sight. */
	longext = malloc(6000);
	REQUIRE(longext);
	memcpy(longext, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;", 49);
	memset(longext + 49, 'e', 6000 - 49);
	parse_run(longext, 6000, 64, 0, 0, false, &r);
	CHECK_INT_EQ(r.rc, -EPROTO);
	parse_run(longext, 6000, 64, 0, 7, false, &r);
	CHECK_INT_EQ(r.rc, -EPROTO);
	/* A long extension within the bound is fine. */
	memcpy(longext + 2000, "\r\nhello\r\n0\r\n\r\n", 14);
	parse_run(longext, 2014, 64, 0, 0, false, &r);
	CHECK_INT_EQ(r.rc, 1);
	CHECK_STR_EQ(r.body, "hello");
	parsed_fini(&r);
	free(longext);
}

static void test_parser_head_limits(void)
{
	char *buf = malloc(20000);
	size_t n;
	struct parsed r;

	REQUIRE(buf);
	/* 9 KiB of headers in short lines. */
	n = (size_t)snprintf(buf, 20000, "HTTP/1.1 200 OK\r\n");
	while (n < 9 * 1024)
		n += (size_t)snprintf(buf + n, 20000 - n, "X-Pad-%05zu: 0123456789\r\n", n);
	n += (size_t)snprintf(buf + n, 20000 - n, "Content-Length: 0\r\n\r\n");
	parse_run(buf, n, 64, 0, 0, false, &r);
	CHECK_INT_EQ(r.rc, -EPROTO);
	parse_run(buf, n, 64, 0, 100, false, &r);
	CHECK_INT_EQ(r.rc, -EPROTO);

	/* One endless header line: rejected once past 8 KiB, newline or not. */
	n = (size_t)snprintf(buf, 20000, "HTTP/1.1 200 OK\r\nX-Long: ");
	memset(buf + n, 'v', 10000);
	parse_run(buf, n + 10000, 64, 0, 0, false, &r);
	CHECK_INT_EQ(r.rc, -EPROTO);
	CHECK(r.consumed <= n + 10000);

	/* A long header we do not interpret is fine within the budget... */
	n = (size_t)snprintf(buf, 20000, "HTTP/1.1 200 OK\r\nX-Long: ");
	memset(buf + n, 'v', 600);
	n += 600;
	n += (size_t)snprintf(buf + n, 20000 - n, "\r\nContent-Length: 2\r\n\r\nok");
	parse_run(buf, n, 64, 0, 0, false, &r);
	CHECK_INT_EQ(r.rc, 1);
	CHECK_STR_EQ(r.body, "ok");
	parsed_fini(&r);
	/* ...and a long reason phrase too. */
	n = (size_t)snprintf(buf, 20000, "HTTP/1.1 404 ");
	memset(buf + n, 'r', 1000);
	n += 1000;
	n += (size_t)snprintf(buf + n, 20000 - n, "\r\nContent-Length: 1\r\n\r\n!");
	parse_run(buf, n, 64, 0, 0, false, &r);
	CHECK_INT_EQ(r.rc, 1);
	CHECK_INT_EQ(r.status, 404);
	parsed_fini(&r);

	/* ...but not a framing header longer than the line buffer. */
	n = (size_t)snprintf(buf, 20000, "HTTP/1.1 200 OK\r\nContent-Length: ");
	memset(buf + n, '0', 600);
	n += 600;
	n += (size_t)snprintf(buf + n, 20000 - n, "2\r\n\r\nok");
	parse_run(buf, n, 64, 0, 0, false, &r);
	CHECK_INT_EQ(r.rc, -EPROTO);

	/* Malformed header lines. */
	CHECK_INT_EQ(parse_str("HTTP/1.1 200 OK\r\nNoColonHere\r\n\r\n", 64, &r), -EPROTO);
	CHECK_INT_EQ(parse_str("HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\n\r\n", 64, &r), -EPROTO);
	CHECK_INT_EQ(parse_str("HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\nx", 64, &r), -EPROTO);
	CHECK_INT_EQ(parse_str("HTTP/1.1 200 OK\r\n: empty\r\n\r\n", 64, &r), -EPROTO);
	CHECK_INT_EQ(parse_str("HTTP/1.1 200 OK\r\nX-A: a\x02" "b\r\n\r\n", 64, &r), -EPROTO);
	CHECK_INT_EQ(parse_str("HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\n", 64, &r), -EPROTO);

	/* Trailers have their own 8 KiB budget. */
	n = (size_t)snprintf(buf, 20000,
			     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n");
	while (n < 10 * 1024)
		n += (size_t)snprintf(buf + n, 20000 - n, "X-Trailer-%05zu: 1\r\n", n);
	parse_run(buf, n, 64, 0, 0, false, &r);
	CHECK_INT_EQ(r.rc, -EPROTO);
	free(buf);
}

static void test_parser_framing_rules(void)
{
	struct parsed r;

	/* Body to EOF: incomplete until the peer closes; then close=1. */
	parse_run("HTTP/1.1 200 OK\r\n\r\nsome body", 28, 64, 0, 0, false, &r);
	CHECK_INT_EQ(r.rc, 0);
	parse_eof("HTTP/1.1 200 OK\r\n\r\nsome body", &r);
	CHECK_INT_EQ(r.rc, 1);
	CHECK_STR_EQ(r.body, "some body");
	CHECK_INT_EQ(r.close, 1);
	parsed_fini(&r);
	/* An unknown transfer coding also runs to EOF. */
	parse_eof("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nzz", &r);
	CHECK_INT_EQ(r.rc, 1);
	CHECK_STR_EQ(r.body, "zz");
	CHECK_INT_EQ(r.close, 1);
	parsed_fini(&r);

	/* EOF inside a Content-Length body, a chunk, or the head: truncated. */
	parse_eof("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc", &r);
	CHECK_INT_EQ(r.rc, 0);
	parse_eof("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", &r);
	CHECK_INT_EQ(r.rc, 0);
	parse_eof("HTTP/1.1 200 OK\r\nContent-Le", &r);
	CHECK_INT_EQ(r.rc, 0);
	parse_eof("", &r);
	CHECK_INT_EQ(r.rc, 0);

	/* No body for 204 and 304, whatever the headers say. */
	CHECK_INT_EQ(parse_str("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", 64, &r), 1);
	CHECK_STR_EQ(r.body, "");
	CHECK_INT_EQ(r.full_len, 0);
	parsed_fini(&r);

	/* HTTP/1.0 closes unless it asks to keep alive. */
	CHECK_INT_EQ(parse_str("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\na", 64, &r), 1);
	CHECK_INT_EQ(r.close, 1);
	parsed_fini(&r);
	CHECK_INT_EQ(parse_str("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\na",
			       64, &r), 1);
	CHECK_INT_EQ(r.close, 0);
	parsed_fini(&r);

	/* Several interim responses before the final one. */
	CHECK_INT_EQ(parse_str("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
			       "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1", 64, &r), 1);
	CHECK_INT_EQ(r.status, 200);
	CHECK_STR_EQ(r.body, "1");
	parsed_fini(&r);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	/* xorshift64*: reproducible across runs and platforms. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void test_parser_random_and_mutated_input(void)
{
	static const char alphabet[] = "HTTP/1.0 200\r\n:;,-Content-Length Transfer-Encoding chunked"
				       "Connection close 0123456789abcdefABCDEF\t \r\n\r\n";
	char buf[512];
	int seen_ok = 0, seen_err = 0, seen_more = 0;

	for (int iter = 0; iter < 20000; iter++) {
		size_t n, max_body = rng() % 40, split;
		bool eof = rng() % 2;
		struct parsed whole, piece, bytes;

		if (iter % 3 == 0) {
			n = rng() % 200;
			for (size_t i = 0; i < n; i++)
				buf[i] = (rng() % 4) ? alphabet[rng() % (sizeof(alphabet) - 1)]
						     : (char)rng();
		} else {
			const char *base = good_cases[rng() % (sizeof(good_cases) /
							       sizeof(good_cases[0]))].text;
			int muts = 1 + (int)(rng() % 4);

			n = strlen(base);
			memcpy(buf, base, n);
			for (int m = 0; m < muts && n > 0; m++) {
				size_t at = rng() % n;
				char ch = (rng() % 2) ? alphabet[rng() % (sizeof(alphabet) - 1)]
						      : (char)rng();

				switch (rng() % 3) {
				case 0:
					buf[at] = ch;
					break;
				case 1:
					if (n < sizeof(buf) - 1) {
						memmove(buf + at + 1, buf + at, n - at);
						buf[at] = ch;
						n++;
					}
					break;
				default:
					memmove(buf + at, buf + at + 1, n - at - 1);
					n--;
					break;
				}
			}
		}
		split = n ? rng() % n : 0;
		parse_run(buf, n, max_body, 0, 0, eof, &whole);
		parse_run(buf, n, max_body, split, 0, eof, &piece);
		parse_run(buf, n, max_body, 0, 1 + rng() % 3, eof, &bytes);
		if (whole.rc != 1 && whole.rc != 0 && whole.rc != -EPROTO)
			HARNESS_FAIL("iteration %d: rc %d", iter, whole.rc);
		if (!parsed_same(&whole, &piece) || !parsed_same(&whole, &bytes))
			HARNESS_FAIL("iteration %d: split results differ (%d/%d/%d)", iter, whole.rc,
				     piece.rc, bytes.rc);
		if (whole.rc == 1) {
			seen_ok++;
			if (whole.len > max_body || whole.len > whole.full_len ||
			    strlen(whole.body) > whole.len || whole.consumed > n)
				HARNESS_FAIL("iteration %d: bad lengths", iter);
		} else if (whole.rc == 0) {
			seen_more++;
		} else {
			seen_err++;
		}
		parsed_fini(&whole);
		parsed_fini(&piece);
		parsed_fini(&bytes);
	}
	/* The generator must exercise all three outcomes to mean anything. */
	CHECK(seen_ok > 1000);
	CHECK(seen_err > 1000);
	CHECK(seen_more > 100);
}

/* ------------------------------------------------------------------ */
/* In-process HTTP server                                              */
/* ------------------------------------------------------------------ */

enum srv_next {
	SRV_KEEP,      /* read the next request on this connection */
	SRV_CLOSE,     /* close (FIN) */
	SRV_RESET,     /* close with RST */
	SRV_HANG_READ, /* keep the connection, discard input until the client closes */
	SRV_HANG_STOP, /* neither read nor close until the server stops */
};

struct srv_req {
	const char *head;
	size_t head_len;
	const char *body;
	size_t body_len;   /* 0 in head_only mode */
	int conn;          /* 1-based accept number */
	int nth_in_conn;   /* 1-based request number on this connection */
	int nth;           /* 1-based request number overall */
};

struct srv;
typedef enum srv_next (*srv_fn)(struct srv *s, int fd, const struct srv_req *rq);

struct srv {
	int lfd;
	int stop[2];
	uint16_t port;
	pthread_t thread;
	srv_fn fn;
	bool head_only;     /* call fn after the head; the body stays unread */
	size_t arg;         /* per-test knob for the handler */
	atomic_int accepts;
	atomic_int requests;
	atomic_int junk_sent;
	char first[512];    /* start of the first request, read after srv_stop */
	size_t first_len;
};

#define SRV_BUF (9 * MIB)

static void send_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* the client went away; the test sees it */
		p += w;
		n -= (size_t)w;
	}
}

/* Wait for input on fd; false when the server is stopping. */
static bool srv_wait(struct srv *s, int fd)
{
	for (;;) {
		struct pollfd pf[2] = { { .fd = fd, .events = POLLIN },
					{ .fd = s->stop[0], .events = POLLIN } };

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		if (pf[1].revents)
			return false;
		return true;
	}
}

/* One request into buf; false on EOF, error or stop. */
static bool srv_read_request(struct srv *s, int fd, char *buf, size_t *have, struct srv_req *rq)
{
	size_t head_len = 0, cl = 0;

	for (;;) {
		ssize_t n;

		if (head_len == 0 && *have >= 4) {
			const char *end = memmem(buf, *have, "\r\n\r\n", 4);

			if (end) {
				const char *h;

				head_len = (size_t)(end + 4 - buf);
				h = memmem(buf, head_len, "\r\nContent-Length: ", 18);
				cl = h ? strtoul(h + 18, NULL, 10) : 0;
			}
		}
		if (head_len && (s->head_only || *have >= head_len + cl))
			break;
		if (*have == SRV_BUF || !srv_wait(s, fd))
			return false;
		n = recv(fd, buf + *have, SRV_BUF - *have, 0);
		if (n <= 0)
			return false;
		*have += (size_t)n;
	}
	rq->head = buf;
	rq->head_len = head_len;
	rq->body = buf + head_len;
	rq->body_len = s->head_only ? 0 : cl;
	return true;
}

static void srv_serve(struct srv *s, int fd, char *buf)
{
	size_t have = 0;
	int conn = atomic_fetch_add(&s->accepts, 1) + 1, in_conn = 0;
	enum srv_next next = SRV_KEEP;

	while (next == SRV_KEEP) {
		struct srv_req rq;
		size_t used;

		if (!srv_read_request(s, fd, buf, &have, &rq))
			break;
		rq.conn = conn;
		rq.nth_in_conn = ++in_conn;
		rq.nth = atomic_fetch_add(&s->requests, 1) + 1;
		used = rq.head_len + rq.body_len;
		if (rq.nth == 1) {
			s->first_len = used < sizeof(s->first) ? used : sizeof(s->first);
			memcpy(s->first, buf, s->first_len);
		}
		next = s->fn(s, fd, &rq);
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	if (next == SRV_RESET) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	} else if (next == SRV_HANG_READ) {
		while (srv_wait(s, fd) && recv(fd, buf, SRV_BUF, 0) > 0)
			;
	} else if (next == SRV_HANG_STOP) {
		struct pollfd pf = { .fd = s->stop[0], .events = POLLIN };

		while (poll(&pf, 1, -1) < 0 && errno == EINTR)
			;
	}
	close(fd);
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	char *buf = malloc(SRV_BUF);

	if (!buf)
		return NULL;
	while (srv_wait(s, s->lfd)) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0)
			srv_serve(s, fd, buf);
	}
	free(buf);
	return NULL;
}

static int srv_start(struct srv *s, srv_fn fn, size_t arg, bool head_only)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);

	memset(s, 0, sizeof(*s));
	s->fn = fn;
	s->arg = arg;
	s->head_only = head_only;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(s->lfd, 16) < 0 || getsockname(s->lfd, (struct sockaddr *)&sa, &sl) < 0 ||
	    pipe2(s->stop, O_CLOEXEC) < 0)
		return -1;
	s->port = ntohs(sa.sin_port);
	if (pthread_create(&s->thread, NULL, srv_main, s) != 0)
		return -1;
	return 0;
}

static void srv_stop(struct srv *s)
{
	if (write(s->stop[1], "x", 1) != 1)
		HARNESS_FAIL("srv_stop: write: %s", strerror(errno));
	pthread_join(s->thread, NULL);
	close(s->lfd);
	close(s->stop[0]);
	close(s->stop[1]);
}

static void respond(int fd, const char *status, const char *extra, const char *body, size_t n)
{
	char head[256];
	int hl = snprintf(head, sizeof(head),
			  "HTTP/1.1 %s\r\nContent-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n",
			  status, extra, n);

	send_all(fd, head, (size_t)hl);
	send_all(fd, body, n);
}

static enum srv_next h_echo(struct srv *s, int fd, const struct srv_req *rq)
{
	(void)s;
	respond(fd, "200 OK", "", rq->body, rq->body_len);
	return SRV_KEEP;
}

/* Answers, then closes without saying so: the client's kept-alive
 * connection goes stale. */
static enum srv_next h_echo_then_close(struct srv *s, int fd, const struct srv_req *rq)
{
	h_echo(s, fd, rq);
	return SRV_CLOSE;
}

/* Takes request number `arg` of the 1st connection and closes without
 * answering a byte. */
static enum srv_next h_drop(struct srv *s, int fd, const struct srv_req *rq)
{
	if (rq->conn == 1 && (size_t)rq->nth_in_conn == s->arg)
		return SRV_CLOSE;
	return h_echo(s, fd, rq);
}

/* Request number `arg` of the 1st connection is read, then 200 ms later
 * the connection closes with no answer: a container that died running it. */
static enum srv_next h_drop_late(struct srv *s, int fd, const struct srv_req *rq)
{
	if (rq->conn == 1 && (size_t)rq->nth_in_conn == s->arg) {
		usleep(200 * 1000);
		return SRV_CLOSE;
	}
	return h_echo(s, fd, rq);
}

/* Request number `arg` of the 1st connection gets half a response, then
 * FIN (h_partial) or RST (h_partial_rst). */
static enum srv_next h_partial(struct srv *s, int fd, const struct srv_req *rq)
{
	static const char part[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";

	if (rq->conn != 1 || (size_t)rq->nth_in_conn != s->arg)
		return h_echo(s, fd, rq);
	send_all(fd, part, sizeof(part) - 1);
	return SRV_CLOSE;
}

static enum srv_next h_partial_rst(struct srv *s, int fd, const struct srv_req *rq)
{
	enum srv_next next = h_partial(s, fd, rq);

	return next == SRV_CLOSE ? SRV_RESET : next;
}

static enum srv_next h_silent_first(struct srv *s, int fd, const struct srv_req *rq)
{
	if (rq->nth == 1)
		return SRV_HANG_READ;
	return h_echo(s, fd, rq);
}

static enum srv_next h_chunked_echo(struct srv *s, int fd, const struct srv_req *rq)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	size_t step = 1000, cap = rq->body_len * 2 + 4096, n = 0;
	char *out = malloc(cap);

	(void)s;
	if (!out)
		return SRV_CLOSE;
	memcpy(out, head, sizeof(head) - 1);
	n = sizeof(head) - 1;
	for (size_t off = 0; off < rq->body_len; off += step) {
		size_t k = rq->body_len - off < step ? rq->body_len - off : step;

		n += (size_t)snprintf(out + n, cap - n, "%zx;off=%zu\r\n", k, off);
		memcpy(out + n, rq->body + off, k);
		n += k;
		memcpy(out + n, "\r\n", 2);
		n += 2;
	}
	n += (size_t)snprintf(out + n, cap - n, "0\r\nX-Checksum: none\r\n\r\n");
	send_all(fd, out, n);
	free(out);
	return SRV_KEEP;
}

static void fill_pattern(char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (char)('a' + (i * 7 + i / 26) % 26);
}

static enum srv_next h_big(struct srv *s, int fd, const struct srv_req *rq)
{
	char *body = malloc(s->arg);

	(void)rq;
	if (!body)
		return SRV_CLOSE;
	fill_pattern(body, s->arg);
	respond(fd, "200 OK", "", body, s->arg);
	free(body);
	return SRV_KEEP;
}

static enum srv_next h_conn_close(struct srv *s, int fd, const struct srv_req *rq)
{
	(void)s;
	respond(fd, "200 OK", "Connection: close\r\n", rq->body, rq->body_len);
	return SRV_CLOSE;
}

static enum srv_next h_eof_body(struct srv *s, int fd, const struct srv_req *rq)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n";

	(void)s;
	send_all(fd, head, sizeof(head) - 1);
	send_all(fd, rq->body, rq->body_len);
	return SRV_CLOSE;
}

/* Bytes after the response: in the same write (arg 0) or in a later one,
 * flagged in `junk_sent` (arg 1). */
static enum srv_next h_junk(struct srv *s, int fd, const struct srv_req *rq)
{
	char out[256];
	int n = snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%.*sXYZ",
			 rq->body_len, (int)rq->body_len, rq->body);

	if (s->arg == 0) {
		send_all(fd, out, (size_t)n);
	} else {
		send_all(fd, out, (size_t)n - 3);
		usleep(20000); /* let the client take the response alone */
		send_all(fd, "XYZ", 3);
		atomic_store(&s->junk_sent, 1);
	}
	return SRV_KEEP;
}

/* Answers after the head and never reads the body. */
static enum srv_next h_early_413(struct srv *s, int fd, const struct srv_req *rq)
{
	static const char e413[] = "{\"error\":\"too large\"}";

	(void)s;
	(void)rq;
	respond(fd, "413 Payload Too Large", "", e413, sizeof(e413) - 1);
	return SRV_HANG_STOP;
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void check_post_ok(struct proxy_conn *c, const char *body, size_t max_body)
{
	struct http_response r;
	struct err e = { 0 };
	int rc = proxy_post(c, "/run", body, strlen(body), LIVE_TIMEOUT_MS, max_body, &r, &e);

	if (rc != 0) {
		HARNESS_FAIL("proxy_post: %d %s", rc, e.msg);
		return;
	}
	CHECK_INT_EQ(r.status, 200);
	CHECK_STR_EQ(r.body, body);
	CHECK_INT_EQ(r.len, strlen(body));
	CHECK_INT_EQ(r.full_len, strlen(body));
	http_response_fini(&r);
	CHECK(r.body == NULL);
}

static void check_empty(const struct http_response *r)
{
	CHECK(r->body == NULL);
	CHECK_INT_EQ(r->status, 0);
	CHECK_INT_EQ(r->len, 0);
}

/* ------------------------------------------------------------------ */
/* Live cases                                                          */
/* ------------------------------------------------------------------ */

static void test_live_keepalive_reuse(void)
{
	static const char expect[] = "POST /run HTTP/1.1\r\n"
				     "Host: 127.0.0.1\r\n"
				     "Content-Type: application/json\r\n"
				     "Accept: application/json\r\n"
				     "Content-Length: 17\r\n"
				     "\r\n"
				     "{\"value\":{\"n\":1}}";
	struct srv s;
	struct proxy_conn *c = NULL;
	struct err e = { 0 };

	REQUIRE(srv_start(&s, h_echo, 0, false) == 0);
	CHECK_INT_EQ(proxy_conn_open(s.port, 1000, &c, &e), 0);
	if (c) {
		struct http_response r;

		check_post_ok(c, "{\"value\":{\"n\":1}}", 1024);
		check_post_ok(c, "{\"value\":{\"n\":2,\"more\":\"x\"}}", 1024);
		for (int i = 0; i < 50; i++)
			check_post_ok(c, "{}", 1024);
		/* An empty body is a valid request too. */
		CHECK_INT_EQ(proxy_post(c, "/init", NULL, 0, LIVE_TIMEOUT_MS, 64, &r, &e), 0);
		CHECK_INT_EQ(r.status, 200);
		CHECK_STR_EQ(r.body, "");
		CHECK(r.elapsed_us < (uint64_t)LIVE_TIMEOUT_MS * 1000);
		http_response_fini(&r);
	}
	CHECK_INT_EQ(atomic_load(&s.accepts), 1);
	CHECK_INT_EQ(atomic_load(&s.requests), 53);
	proxy_conn_close(c);
	srv_stop(&s);
	CHECK_INT_EQ(s.first_len, sizeof(expect) - 1);
	CHECK(memcmp(s.first, expect, sizeof(expect) - 1) == 0);
}

/* The test server writes head and body with two send()s and no
 * TCP_NODELAY, like some runtimes: unless the client ACKs the head at once,
 * Nagle and delayed ACK stall every response for ~40 ms (50 requests would
 * take 2 s; they take a few ms). */
static void test_live_split_response_not_delayed(void)
{
	struct srv s;
	struct proxy_conn *c = NULL;
	struct err e = { 0 };
	uint64_t t0, took_ms;

	REQUIRE(srv_start(&s, h_echo, 0, false) == 0);
	REQUIRE(proxy_conn_open(s.port, 1000, &c, &e) == 0);
	check_post_ok(c, "{\"warm\":1}", 64);
	t0 = mono_us();
	for (int i = 0; i < 50; i++)
		check_post_ok(c, "{\"value\":{\"name\":\"edge\"}}", 64);
	took_ms = (mono_us() - t0) / 1000;
	if (took_ms >= 1000)
		HARNESS_FAIL("50 requests took %" PRIu64 " ms: delayed-ACK stall", took_ms);
	CHECK_INT_EQ(atomic_load(&s.accepts), 1);
	proxy_conn_close(c);
	srv_stop(&s);
}

static void test_live_invalid_arguments(void)
{
	static const char *const bad_paths[] = { "run", "", "/a b", "/x\r\nX-Evil: 1", "/\x7f" };
	struct srv s;
	struct proxy_conn *c = NULL;
	struct http_response r;
	struct err e = { 0 };
	char longpath[1100];

	REQUIRE(srv_start(&s, h_echo, 0, false) == 0);
	CHECK_INT_EQ(proxy_conn_open(0, 1000, &c, &e), -EINVAL);
	CHECK(c == NULL);
	REQUIRE(proxy_conn_open(s.port, 1000, &c, &e) == 0);
	for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
		if (proxy_post(c, bad_paths[i], "{}", 2, 1000, 64, &r, &e) != -EINVAL)
			HARNESS_FAIL("path %zu accepted", i);
		check_empty(&r);
	}
	memset(longpath, 'a', sizeof(longpath));
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	CHECK_INT_EQ(proxy_post(c, longpath, "{}", 2, 1000, 64, &r, &e), -EINVAL);
	CHECK_INT_EQ(proxy_post(c, "/run", NULL, 3, 1000, 64, &r, &e), -EINVAL);
	/* None of that touched the connection. */
	check_post_ok(c, "{\"still\":\"fine\"}", 64);
	CHECK_INT_EQ(atomic_load(&s.accepts), 1);
	CHECK_INT_EQ(atomic_load(&s.requests), 1);
	proxy_conn_close(c);
	proxy_conn_close(NULL);
	srv_stop(&s);
}

/* The server closes the idle connection after each response. */
static void test_live_reconnect_after_server_close(void)
{
	struct srv s;
	struct proxy_conn *c = NULL;
	struct err e = { 0 };

	REQUIRE(srv_start(&s, h_echo_then_close, 0, false) == 0);
	REQUIRE(proxy_conn_open(s.port, 1000, &c, &e) == 0);
	check_post_ok(c, "{\"a\":1}", 64);
	/* Settled: the FIN is in, the idle check sees it before sending. */
	usleep(20000);
	check_post_ok(c, "{\"a\":2}", 64);
	/* Racing the FIN: caught before sending, or after (nothing read). */
	check_post_ok(c, "{\"a\":3}", 64);
	check_post_ok(c, "{\"a\":4}", 64);
	CHECK_INT_EQ(atomic_load(&s.accepts), 4);
	CHECK_INT_EQ(atomic_load(&s.requests), 4);
	proxy_conn_close(c);
	srv_stop(&s);
}

/* The reused connection dies after the request went out, before any byte
 * of the response: sent once more on a new connection. */
static void test_live_stale_connection_resend(void)
{
	struct srv s;
	struct proxy_conn *c = NULL;
	struct err e = { 0 };

	REQUIRE(srv_start(&s, h_drop, 2, false) == 0);
	REQUIRE(proxy_conn_open(s.port, 1000, &c, &e) == 0);
	check_post_ok(c, "{\"n\":1}", 64);
	check_post_ok(c, "{\"n\":2}", 64);
	check_post_ok(c, "{\"n\":3}", 64);
	CHECK_INT_EQ(atomic_load(&s.accepts), 2);
	CHECK_INT_EQ(atomic_load(&s.requests), 4);
	proxy_conn_close(c);
	srv_stop(&s);
}

/* The reused connection closes 200 ms after the request was read: the
 * container died running it, so it is not sent again (the action would
 * run twice); the next call reconnects. */
static void test_live_late_close_not_resent(void)
{
	struct srv s;
	struct proxy_conn *c = NULL;
	struct http_response r;
	struct err e = { 0 };

	REQUIRE(srv_start(&s, h_drop_late, 2, false) == 0);
	REQUIRE(proxy_conn_open(s.port, 1000, &c, &e) == 0);
	check_post_ok(c, "{\"n\":1}", 64);
	CHECK_INT_EQ(proxy_post(c, "/run", "{}", 2, LIVE_TIMEOUT_MS, 64, &r, &e), -ECONNABORTED);
	check_empty(&r);
	CHECK_STR_CONTAINS(e.msg, "closed by the container");
	CHECK_INT_EQ(atomic_load(&s.accepts), 1);
	CHECK_INT_EQ(atomic_load(&s.requests), 2);
	check_post_ok(c, "{\"n\":3}", 64);
	CHECK_INT_EQ(atomic_load(&s.accepts), 2);
	proxy_conn_close(c);
	srv_stop(&s);
}

/* A fresh connection that closes without a byte is not resent: that is
 * "container died" (or not ready), not a stale keep-alive. */
static void test_live_fresh_connection_not_resent(void)
{
	struct srv s;
	struct proxy_conn *c = NULL;
	struct http_response r;
	struct err e = { 0 };

	REQUIRE(srv_start(&s, h_drop, 1, false) == 0);
	REQUIRE(proxy_conn_open(s.port, 1000, &c, &e) == 0);
	CHECK_INT_EQ(proxy_post(c, "/init", "{}", 2, LIVE_TIMEOUT_MS, 64, &r, &e), -ECONNABORTED);
	check_empty(&r);
	CHECK_STR_CONTAINS(e.msg, "closed by the container");
	CHECK_INT_EQ(atomic_load(&s.accepts), 1);
	CHECK_INT_EQ(atomic_load(&s.requests), 1);
	/* The next call opens a new connection by itself. */
	check_post_ok(c, "{\"n\":2}", 64);
	CHECK_INT_EQ(atomic_load(&s.accepts), 2);
	proxy_conn_close(c);
	srv_stop(&s);
}

static void partial_case(srv_fn fn, size_t which, int expect_rc)
{
	struct srv s;
	struct proxy_conn *c = NULL;
	struct http_response r;
	struct err e = { 0 };
	char want[64];

	REQUIRE(srv_start(&s, fn, which, false) == 0);
	REQUIRE(proxy_conn_open(s.port, 1000, &c, &e) == 0);
	for (size_t i = 1; i < which; i++)
		check_post_ok(c, "{\"before\":true}", 64);
	CHECK_INT_EQ(proxy_post(c, "/run", "{}", 2, LIVE_TIMEOUT_MS, 64, &r, &e), expect_rc);
	CHECK_INT_EQ(e.code, expect_rc);
	check_empty(&r);
	snprintf(want, sizeof(want), "POST /run to 127.0.0.1:%u: ", (unsigned)s.port);
	CHECK(strncmp(e.msg, want, strlen(want)) == 0);
	CHECK_STR_CONTAINS(e.msg, expect_rc == -ECONNRESET ? "reset" : "closed");
	/* Never resent after part of a response. */
	CHECK_INT_EQ(atomic_load(&s.accepts), 1);
	CHECK_INT_EQ(atomic_load(&s.requests), (int)which);
	/* The broken connection was dropped; the next call reconnects. */
	check_post_ok(c, "{\"after\":true}", 64);
	CHECK_INT_EQ(atomic_load(&s.accepts), 2);
	proxy_conn_close(c);
	srv_stop(&s);
}

static void test_live_partial_response_then_close(void)
{
	partial_case(h_partial, 1, -ECONNABORTED); /* fresh connection */
	partial_case(h_partial, 2, -ECONNABORTED); /* reused connection */
}

static void test_live_partial_response_then_reset(void)
{
	partial_case(h_partial_rst, 1, -ECONNRESET);
	partial_case(h_partial_rst, 3, -ECONNRESET);
}

static void test_live_timeout(void)
{
	struct srv s;
	struct proxy_conn *c = NULL;
	struct http_response r;
	struct err e = { 0 };
	uint64_t t0, took_ms;

	REQUIRE(srv_start(&s, h_silent_first, 0, false) == 0);
	REQUIRE(proxy_conn_open(s.port, 1000, &c, &e) == 0);
	t0 = mono_us();
	CHECK_INT_EQ(proxy_post(c, "/run", "{}", 2, 200, 64, &r, &e), -ETIMEDOUT);
	took_ms = (mono_us() - t0) / 1000;
	CHECK(took_ms >= 199);
	CHECK(took_ms < 1000);
	check_empty(&r);
	CHECK_STR_CONTAINS(e.msg, "POST /run to 127.0.0.1:");
	CHECK_STR_CONTAINS(e.msg, "200 ms");
	/* The timed-out connection was closed; the next call gets a new one. */
	check_post_ok(c, "{\"again\":1}", 64);
	CHECK_INT_EQ(atomic_load(&s.accepts), 2);
	proxy_conn_close(c);
	srv_stop(&s);
}

static void test_live_connection_refused(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	struct proxy_conn *c = NULL;
	struct http_response r;
	struct err e = { 0 };
	char want[64];
	uint16_t port;
	int fd;
	struct srv s;

	/* Bound but not listening: the port stays ours and refuses. */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(fd >= 0);
	REQUIRE(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	REQUIRE(getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
	port = ntohs(sa.sin_port);
	CHECK_INT_EQ(proxy_conn_open(port, 1000, &c, &e), -ECONNREFUSED);
	CHECK(c == NULL);
	snprintf(want, sizeof(want), "connect to 127.0.0.1:%u: ", (unsigned)port);
	CHECK_STR_CONTAINS(e.msg, want);
	close(fd);

	/* The container goes away under a kept-alive connection: the stale
	 * connection is noticed and the reconnect is refused. */
	REQUIRE(srv_start(&s, h_echo, 0, false) == 0);
	REQUIRE(proxy_conn_open(s.port, 1000, &c, &e) == 0);
	check_post_ok(c, "{}", 64);
	srv_stop(&s);
	CHECK_INT_EQ(proxy_post(c, "/run", "{}", 2, 1000, 64, &r, &e), -ECONNREFUSED);
	check_empty(&r);
	CHECK_STR_CONTAINS(e.msg, "connect");
	proxy_conn_close(c);
}

static void large_case(srv_fn fn)
{
	size_t n = 2 * MIB;
	char *big = malloc(n + 1);
	struct srv s;
	struct proxy_conn *c = NULL;
	struct http_response r;
	struct err e = { 0 };

	REQUIRE(big);
	fill_pattern(big, n);
	big[n] = '\0';
	if (srv_start(&s, fn, 0, false) != 0) {
		free(big);
		HARNESS_FAIL("srv_start");
		return;
	}
	if (proxy_conn_open(s.port, 1000, &c, &e) == 0) {
		for (int round = 0; round < 2; round++) {
			int rc = proxy_post(c, "/run", big, n, LIVE_TIMEOUT_MS, 4 * MIB, &r, &e);

			CHECK_INT_EQ(rc, 0);
			if (rc != 0)
				break;
			CHECK_INT_EQ(r.status, 200);
			CHECK_INT_EQ(r.len, n);
			CHECK_INT_EQ(r.full_len, n);
			CHECK(r.body && memcmp(r.body, big, n + 1) == 0);
			http_response_fini(&r);
		}
		CHECK_INT_EQ(atomic_load(&s.accepts), 1);
		proxy_conn_close(c);
	} else {
		HARNESS_FAIL("proxy_conn_open: %s", e.msg);
	}
	srv_stop(&s);
	free(big);
}

static void test_live_large_bodies(void)
{
	large_case(h_echo);
	large_case(h_chunked_echo);
}

static void test_live_max_body_truncation(void)
{
	struct srv s;
	struct proxy_conn *c = NULL;
	struct http_response r;
	struct err e = { 0 };
	char *want = malloc(100000);

	REQUIRE(want);
	fill_pattern(want, 100000);
	if (srv_start(&s, h_big, 100000, false) != 0) {
		free(want);
		HARNESS_FAIL("srv_start");
		return;
	}
	REQUIRE(proxy_conn_open(s.port, 1000, &c, &e) == 0);
	CHECK_INT_EQ(proxy_post(c, "/run", "{}", 2, LIVE_TIMEOUT_MS, 1000, &r, &e), 0);
	CHECK_INT_EQ(r.len, 1000);
	CHECK_INT_EQ(r.full_len, 100000);
	CHECK(r.body && strlen(r.body) == 1000 && memcmp(r.body, want, 1000) == 0);
	http_response_fini(&r);
	/* The rest was drained: the same connection carries the next one. */
	CHECK_INT_EQ(proxy_post(c, "/run", "{}", 2, LIVE_TIMEOUT_MS, 200000, &r, &e), 0);
	CHECK_INT_EQ(r.len, 100000);
	CHECK(r.body && memcmp(r.body, want, 100000) == 0);
	http_response_fini(&r);
	CHECK_INT_EQ(proxy_post(c, "/run", "{}", 2, LIVE_TIMEOUT_MS, 0, &r, &e), 0);
	CHECK_STR_EQ(r.body, "");
	CHECK_INT_EQ(r.full_len, 100000);
	http_response_fini(&r);
	CHECK_INT_EQ(atomic_load(&s.accepts), 1);
	proxy_conn_close(c);
	srv_stop(&s);
	free(want);
}

static void test_live_connection_close_and_eof_body(void)
{
	struct srv s;
	struct proxy_conn *c = NULL;
	struct err e = { 0 };

	REQUIRE(srv_start(&s, h_conn_close, 0, false) == 0);
	REQUIRE(proxy_conn_open(s.port, 1000, &c, &e) == 0);
	check_post_ok(c, "{\"x\":1}", 64);
	check_post_ok(c, "{\"x\":2}", 64);
	CHECK_INT_EQ(atomic_load(&s.accepts), 2);
	proxy_conn_close(c);
	srv_stop(&s);

	REQUIRE(srv_start(&s, h_eof_body, 0, false) == 0);
	REQUIRE(proxy_conn_open(s.port, 1000, &c, &e) == 0);
	check_post_ok(c, "{\"y\":1}", 64);
	check_post_ok(c, "{\"y\":2}", 64);
	CHECK_INT_EQ(atomic_load(&s.accepts), 2);
	proxy_conn_close(c);
	srv_stop(&s);
}

static void junk_case(size_t mode)
{
	struct srv s;
	struct proxy_conn *c = NULL;
	struct err e = { 0 };

	REQUIRE(srv_start(&s, h_junk, mode, false) == 0);
	REQUIRE(proxy_conn_open(s.port, 1000, &c, &e) == 0);
	check_post_ok(c, "{\"j\":1}", 64);
	/* Loopback delivers during send(): once flagged, the bytes wait in
	 * our socket. (Junk racing the next request cannot be told from its
	 * response; the client would then fail it with -EPROTO.) */
	for (int i = 0; mode == 1 && !atomic_load(&s.junk_sent) && i < 5000; i++)
		usleep(1000);
	check_post_ok(c, "{\"j\":2}", 64);
	/* Out-of-step bytes are never taken for the next response: the
	 * connection was replaced. */
	CHECK_INT_EQ(atomic_load(&s.accepts), 2);
	proxy_conn_close(c);
	srv_stop(&s);
}

static void test_live_junk_after_response(void)
{
	junk_case(0); /* seen with the response */
	junk_case(1); /* seen by the idle check before the next request */
}

/* The server answers before reading an 8 MiB body and then stops reading:
 * the client must read while it writes, or both wait for the timeout. */
static void test_live_response_before_body_sent(void)
{
	size_t n = 8 * MIB;
	char *big = malloc(n);
	struct srv s;
	struct proxy_conn *c = NULL;
	struct http_response r;
	struct err e = { 0 };

	REQUIRE(big);
	memset(big, ' ', n);
	if (srv_start(&s, h_early_413, 0, true) != 0) {
		free(big);
		HARNESS_FAIL("srv_start");
		return;
	}
	REQUIRE(proxy_conn_open(s.port, 1000, &c, &e) == 0);
	CHECK_INT_EQ(proxy_post(c, "/run", big, n, 3000, 1024, &r, &e), 0);
	CHECK_INT_EQ(r.status, 413);
	CHECK_STR_EQ(r.body, "{\"error\":\"too large\"}");
	CHECK(r.elapsed_us < 1000000);
	http_response_fini(&r);
	proxy_conn_close(c);
	srv_stop(&s);
	free(big);
}

HARNESS_MAIN("proxy",
	     TEST_CASE(test_parser_content_length),
	     TEST_CASE(test_parser_chunked_extensions_trailers),
	     TEST_CASE(test_parser_every_split),
	     TEST_CASE(test_parser_case_insensitive_headers),
	     TEST_CASE(test_parser_truncates_body),
	     TEST_CASE(test_parser_rejects_bad_status_line),
	     TEST_CASE(test_parser_content_length_limits),
	     TEST_CASE(test_parser_chunk_size_overflow),
	     TEST_CASE(test_parser_head_limits),
	     TEST_CASE(test_parser_framing_rules),
	     TEST_CASE(test_parser_random_and_mutated_input),
	     TEST_CASE(test_live_keepalive_reuse),
	     TEST_CASE(test_live_split_response_not_delayed),
	     TEST_CASE(test_live_invalid_arguments),
	     TEST_CASE(test_live_reconnect_after_server_close),
	     TEST_CASE(test_live_stale_connection_resend), TEST_CASE(test_live_late_close_not_resent),
	     TEST_CASE(test_live_fresh_connection_not_resent),
	     TEST_CASE(test_live_partial_response_then_close),
	     TEST_CASE(test_live_partial_response_then_reset),
	     TEST_CASE(test_live_timeout),
	     TEST_CASE(test_live_connection_refused),
	     TEST_CASE(test_live_large_bodies),
	     TEST_CASE(test_live_max_body_truncation),
	     TEST_CASE(test_live_connection_close_and_eof_body),
	     TEST_CASE(test_live_junk_after_response),
	     TEST_CASE(test_live_response_before_body_sent))
