/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for invoker/docker without a daemon: inspect parsing on
 * documents recorded from Docker 20.10 (tests/unit/data/docker/), error
 * bodies, the multiplexed log demuxer fed at every split point, and the
 * client against a scripted fake daemon on a unix socket (request lines,
 * the create body, status -> errno, messages, size cap, connection reuse).
 * Runs from the repo root (reads tests/unit/data/docker/). */
#include "invoker/docker.h"
#include "invoker/docker_extra.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/harness.h"
#include "common/json.h"

#define DATA "tests/unit/data/docker/"
#define RUN_ID "88ecf768d4dcbca5c58ef88c94eeceb9e136095892442c1b27e9f5ebcbe2bba3"
#define OOM_ID "00f5e2409201fd5f5aeb66cc2fa096d2e4c1ea0abd75439da60474f1b5ed6c58"

/* Whole file, NUL-terminated; NULL when unreadable. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	if (!buf)
		fprintf(stderr, "  cannot read %s\n", path);
	return buf;
}

static int parse_str(const char *json, uint16_t port, struct docker_inspect *out)
{
	return docker_parse_inspect(json, strlen(json), port, out);
}

/* ---- inspect -------------------------------------------------------------- */

static void test_inspect_running(void)
{
	struct docker_inspect in;
	size_t len = 0;
	char *doc = slurp(DATA "inspect_running.json", &len);

	REQUIRE(doc);
	memset(&in, 0x5a, sizeof(in));
	CHECK_INT_EQ(docker_parse_inspect(doc, len, 8080, &in), 0);
	CHECK_STR_EQ(in.id, RUN_ID);
	CHECK_INT_EQ(in.state, DOCKER_STATE_RUNNING);
	CHECK_INT_EQ(in.oom_killed, 0);
	CHECK_INT_EQ(in.exit_code, 0);
	CHECK_INT_EQ(in.pid, 16878);
	CHECK_INT_EQ(in.host_port, 32769);
	CHECK_STR_EQ(in.log_path, "/var/lib/docker/containers/" RUN_ID "/" RUN_ID "-json.log");

	/* Port 0: whatever TCP port is bound on loopback. */
	CHECK_INT_EQ(docker_parse_inspect(doc, len, 0, &in), 0);
	CHECK_INT_EQ(in.host_port, 32769);
	/* A port the container does not publish. */
	CHECK_INT_EQ(docker_parse_inspect(doc, len, 9090, &in), 0);
	CHECK_INT_EQ(in.host_port, 0);
	free(doc);
}

static void test_inspect_paused(void)
{
	struct docker_inspect in;
	size_t len = 0;
	char *doc = slurp(DATA "inspect_paused.json", &len);

	REQUIRE(doc);
	CHECK_INT_EQ(docker_parse_inspect(doc, len, 8080, &in), 0);
	CHECK_STR_EQ(in.id, RUN_ID);
	CHECK_INT_EQ(in.state, DOCKER_STATE_PAUSED);
	CHECK_INT_EQ(in.pid, 16878);
	CHECK_INT_EQ(in.host_port, 32769);
	CHECK_INT_EQ(in.oom_killed, 0);
	free(doc);
}

static void test_inspect_oom_killed(void)
{
	struct docker_inspect in;
	size_t len = 0;
	char *doc = slurp(DATA "inspect_oom.json", &len);

	REQUIRE(doc);
	memset(&in, 0x5a, sizeof(in));
	CHECK_INT_EQ(docker_parse_inspect(doc, len, 8080, &in), 0);
	CHECK_STR_EQ(in.id, OOM_ID);
	CHECK_INT_EQ(in.state, DOCKER_STATE_EXITED);
	CHECK_INT_EQ(in.oom_killed, 1);
	CHECK_INT_EQ(in.exit_code, 137);
	CHECK_INT_EQ(in.pid, 0);
	CHECK_INT_EQ(in.host_port, 0);   /* "Ports": {} once stopped */
	CHECK_STR_EQ(in.log_path, "/var/lib/docker/containers/" OOM_ID "/" OOM_ID "-json.log");
	free(doc);
}

static void test_inspect_created(void)
{
	struct docker_inspect in;
	size_t len = 0;
	char *doc = slurp(DATA "inspect_created.json", &len);

	REQUIRE(doc);
	memset(&in, 0x5a, sizeof(in));
	CHECK_INT_EQ(docker_parse_inspect(doc, len, 8080, &in), 0);
	CHECK_INT_EQ(in.state, DOCKER_STATE_CREATED);
	CHECK_INT_EQ(in.pid, 0);
	/* HostConfig.PortBindings asks for "" (any port): not a real port. */
	CHECK_INT_EQ(in.host_port, 0);
	CHECK_STR_EQ(in.log_path, "");
	CHECK_INT_EQ(strlen(in.id), 64);
	free(doc);
}

static void test_inspect_states(void)
{
	static const struct {
		const char *status;
		enum docker_state state;
	} cases[] = {
		{ "created", DOCKER_STATE_CREATED },   { "running", DOCKER_STATE_RUNNING },
		{ "paused", DOCKER_STATE_PAUSED },     { "restarting", DOCKER_STATE_RESTARTING },
		{ "exited", DOCKER_STATE_EXITED },     { "dead", DOCKER_STATE_DEAD },
		{ "removing", DOCKER_STATE_REMOVING }, { "Running", DOCKER_STATE_UNKNOWN },
		{ "", DOCKER_STATE_UNKNOWN },          { "zombie", DOCKER_STATE_UNKNOWN },
	};
	char doc[256];
	struct docker_inspect in;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(doc, sizeof(doc), "{\"Id\":\"abc\",\"State\":{\"Status\":\"%s\"}}",
			 cases[i].status);
		CHECK_INT_EQ(parse_str(doc, 8080, &in), 0);
		if (in.state != cases[i].state)
			HARNESS_FAIL("status \"%s\": state %d, want %d", cases[i].status,
				     (int)in.state, (int)cases[i].state);
	}
	/* No Status (API < 1.21): the flags, Paused before Running. */
	CHECK_INT_EQ(parse_str("{\"Id\":\"a\",\"State\":{\"Running\":true,\"Paused\":true}}", 0,
			       &in), 0);
	CHECK_INT_EQ(in.state, DOCKER_STATE_PAUSED);
	CHECK_INT_EQ(parse_str("{\"Id\":\"a\",\"State\":{\"Running\":true}}", 0, &in), 0);
	CHECK_INT_EQ(in.state, DOCKER_STATE_RUNNING);
	CHECK_INT_EQ(parse_str("{\"Id\":\"a\",\"State\":{\"Dead\":true}}", 0, &in), 0);
	CHECK_INT_EQ(in.state, DOCKER_STATE_DEAD);
}

static void test_inspect_missing_fields(void)
{
	struct docker_inspect in;
	char doc[1024], longpath[600];

	memset(&in, 0x5a, sizeof(in));
	CHECK_INT_EQ(parse_str("{\"Id\":\"abc\",\"State\":{}}", 8080, &in), 0);
	CHECK_STR_EQ(in.id, "abc");
	CHECK_INT_EQ(in.state, DOCKER_STATE_UNKNOWN);
	CHECK_INT_EQ(in.oom_killed, 0);
	CHECK_INT_EQ(in.exit_code, 0);
	CHECK_INT_EQ(in.pid, 0);
	CHECK_INT_EQ(in.host_port, 0);
	CHECK_STR_EQ(in.log_path, "");

	/* Wrong types read as absent rather than as garbage. */
	CHECK_INT_EQ(parse_str("{\"Id\":\"abc\",\"State\":{\"Status\":\"exited\",\"ExitCode\":"
			       "\"137\",\"Pid\":-5,\"OOMKilled\":1},\"LogPath\":7,"
			       "\"NetworkSettings\":{\"Ports\":[]}}",
			       8080, &in), 0);
	CHECK_INT_EQ(in.state, DOCKER_STATE_EXITED);
	CHECK_INT_EQ(in.exit_code, 0);
	CHECK_INT_EQ(in.pid, 0);
	CHECK_INT_EQ(in.oom_killed, 0);
	CHECK_STR_EQ(in.log_path, "");
	CHECK_INT_EQ(parse_str("{\"Id\":\"a\",\"State\":{\"ExitCode\":1e12}}", 0, &in), 0);
	CHECK_INT_EQ(in.exit_code, 0);
	CHECK_INT_EQ(parse_str("{\"Id\":\"a\",\"State\":{\"ExitCode\":-1}}", 0, &in), 0);
	CHECK_INT_EQ(in.exit_code, -1);

	/* A log path that does not fit is unknown, never cut. */
	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	snprintf(doc, sizeof(doc), "{\"Id\":\"a\",\"State\":{},\"LogPath\":\"/%s\"}", longpath);
	CHECK_INT_EQ(parse_str(doc, 0, &in), 0);
	CHECK_STR_EQ(in.log_path, "");
	/* 511 characters fit exactly. */
	longpath[510] = '\0';
	snprintf(doc, sizeof(doc), "{\"Id\":\"a\",\"State\":{},\"LogPath\":\"/%s\"}", longpath);
	CHECK_INT_EQ(parse_str(doc, 0, &in), 0);
	CHECK_INT_EQ(strlen(in.log_path), 511);

	/* The longest id that fits: 64 characters. */
	snprintf(doc, sizeof(doc), "{\"Id\":\"%s\",\"State\":{}}", RUN_ID);
	CHECK_INT_EQ(parse_str(doc, 0, &in), 0);
	CHECK_STR_EQ(in.id, RUN_ID);
}

static void test_inspect_port_choice(void)
{
	struct docker_inspect in;

#define PORTS(body) "{\"Id\":\"a\",\"State\":{\"Status\":\"running\"},\"NetworkSettings\":{\"Ports\":" body "}}"
	/* Dual-stack publish on all addresses: not ours, not guessed. */
	CHECK_INT_EQ(parse_str(PORTS("{\"8080/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"49153\"},"
				     "{\"HostIp\":\"::\",\"HostPort\":\"49153\"}]}"), 8080, &in), 0);
	CHECK_INT_EQ(in.host_port, 0);
	/* Loopback wins wherever it is in the list. */
	CHECK_INT_EQ(parse_str(PORTS("{\"8080/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"49153\"},"
				     "{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"49154\"}]}"), 8080, &in), 0);
	CHECK_INT_EQ(in.host_port, 49154);
	/* A single binding is taken whatever its address. */
	CHECK_INT_EQ(parse_str(PORTS("{\"8080/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"49155\"}]}"),
			       8080, &in), 0);
	CHECK_INT_EQ(in.host_port, 49155);
	/* ...but auto mode (port 0) only trusts loopback. */
	CHECK_INT_EQ(parse_str(PORTS("{\"8080/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"49155\"}]}"),
			       0, &in), 0);
	CHECK_INT_EQ(in.host_port, 0);
	CHECK_INT_EQ(parse_str(PORTS("{\"53/udp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"5353\"}],"
				     "\"8080/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"40000\"}]}"),
			       0, &in), 0);
	CHECK_INT_EQ(in.host_port, 40000);
	/* Exposed but unbound, UDP only, bad port strings. */
	CHECK_INT_EQ(parse_str(PORTS("{\"8080/tcp\":null}"), 8080, &in), 0);
	CHECK_INT_EQ(in.host_port, 0);
	CHECK_INT_EQ(parse_str(PORTS("{\"8080/udp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"1\"}]}"),
			       8080, &in), 0);
	CHECK_INT_EQ(in.host_port, 0);
	CHECK_INT_EQ(parse_str(PORTS("{\"8080/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"70000\"}]}"),
			       8080, &in), 0);
	CHECK_INT_EQ(in.host_port, 0);
	CHECK_INT_EQ(parse_str(PORTS("{\"8080/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"12a\"}]}"),
			       8080, &in), 0);
	CHECK_INT_EQ(in.host_port, 0);
	CHECK_INT_EQ(parse_str(PORTS("{\"8080/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":49156}]}"),
			       8080, &in), 0);
	CHECK_INT_EQ(in.host_port, 0);
	CHECK_INT_EQ(parse_str(PORTS("{\"8080/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"65535\"}]}"),
			       8080, &in), 0);
	CHECK_INT_EQ(in.host_port, 65535);
	CHECK_INT_EQ(parse_str(PORTS("null"), 8080, &in), 0);
	CHECK_INT_EQ(in.host_port, 0);
#undef PORTS
}

static void test_inspect_garbage(void)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[]",
		"null",
		"42",
		"{}",
		"{\"Id\":\"abc\"}",                           /* no State */
		"{\"State\":{\"Status\":\"running\"}}",      /* no Id */
		"{\"Id\":\"\",\"State\":{}}",
		"{\"Id\":42,\"State\":{}}",
		"{\"Id\":\"abc\",\"State\":\"running\"}",
		"{\"Id\":\"abc\",\"State\":{}} trailing",
		"{\"Id\":\"abc\",\"State\":{}",
		/* 65 characters: one more than an id holds */
		"{\"Id\":\"" RUN_ID "0\",\"State\":{}}",
	};
	struct docker_inspect in, before;
	size_t len = 0;
	char *doc;

	memset(&in, 0x5a, sizeof(in));
	before = in;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse_str(bad[i], 8080, &in);

		if (rc != -EPROTO)
			HARNESS_FAIL("\"%s\": rc %d, want -EPROTO", bad[i], rc);
	}
	CHECK_INT_EQ(docker_parse_inspect(NULL, 0, 8080, &in), -EPROTO);
	/* Failures leave *out alone. */
	CHECK(memcmp(&in, &before, sizeof(in)) == 0);

	/* A real document cut short, and one with a NUL inside. */
	doc = slurp(DATA "inspect_running.json", &len);
	REQUIRE(doc);
	CHECK_INT_EQ(docker_parse_inspect(doc, len / 2, 8080, &in), -EPROTO);
	CHECK_INT_EQ(docker_parse_inspect(doc, len - 2, 8080, &in), -EPROTO);
	doc[len / 3] = '\0';
	CHECK_INT_EQ(docker_parse_inspect(doc, len, 8080, &in), -EPROTO);
	CHECK(memcmp(&in, &before, sizeof(in)) == 0);
	free(doc);
}

/* ---- error bodies -------------------------------------------------------- */

static void error_of(const char *body, char *msg, size_t size)
{
	docker_parse_error(body, strlen(body), msg, size);
}

static void test_error_json(void)
{
	char msg[ERR_MSG_MAX];

	error_of("{\"message\":\"Conflict. The container name \\\"/ewk_0_3\\\" is already in use by "
		 "container \\\"88ecf768d4dc\\\". You have to remove (or rename) that container to "
		 "be able to reuse that name.\"}\n",
		 msg, sizeof(msg));
	CHECK_STR_EQ(msg, "Conflict. The container name \"/ewk_0_3\" is already in use by container "
			  "\"88ecf768d4dc\". You have to remove (or rename) that container to be "
			  "able to reuse that name.");
	error_of("{\"message\":\"No such image: edgewhisk/missing:1\"}", msg, sizeof(msg));
	CHECK_STR_EQ(msg, "No such image: edgewhisk/missing:1");
	/* Multi-line messages become one log line. */
	error_of("{\"message\":\"line one\\nline two\\t(tab)\\n\"}", msg, sizeof(msg));
	CHECK_STR_EQ(msg, "line one line two (tab)");
	/* Other fields do not matter; a non-string message is not "that shape". */
	error_of("{\"cause\":1,\"message\":\"x\"}", msg, sizeof(msg));
	CHECK_STR_EQ(msg, "x");
	error_of("{\"message\":42}", msg, sizeof(msg));
	CHECK_STR_EQ(msg, "{\"message\":42}");
}

static void test_error_raw(void)
{
	char msg[ERR_MSG_MAX];

	error_of("  404 page not found\n", msg, sizeof(msg));
	CHECK_STR_EQ(msg, "404 page not found");
	error_of("{\"error\":\"nope\"}", msg, sizeof(msg));
	CHECK_STR_EQ(msg, "{\"error\":\"nope\"}");
	error_of("{\"message\": \"cut", msg, sizeof(msg));
	CHECK_STR_EQ(msg, "{\"message\": \"cut");
	error_of("\r\n \t", msg, sizeof(msg));
	CHECK_STR_EQ(msg, "");
	error_of("", msg, sizeof(msg));
	CHECK_STR_EQ(msg, "");
	docker_parse_error(NULL, 5, msg, sizeof(msg));
	CHECK_STR_EQ(msg, "");
	/* Binary: NUL and control bytes become spaces, the length is honoured. */
	docker_parse_error("bad\0body\x01!", 10, msg, sizeof(msg));
	CHECK_STR_EQ(msg, "bad body !");
}

static void test_error_truncation(void)
{
	char msg[16];
	char big[ERR_MSG_MAX * 2 + 32];

	memset(msg, '#', sizeof(msg));
	error_of("{\"message\":\"0123456789abcdefXYZ\"}", msg, 10);
	CHECK_STR_EQ(msg, "012345678");
	CHECK_INT_EQ(msg[10], '#');   /* nothing written past msg_size */

	/* A cut never leaves half a UTF-8 sequence: "abcdefgh" + é (2 bytes). */
	error_of("{\"message\":\"abcdefgh\xc3\xa9z\"}", msg, 10);
	CHECK_STR_EQ(msg, "abcdefgh");
	error_of("{\"message\":\"abcdefgh\xc3\xa9z\"}", msg, 11);
	CHECK_STR_EQ(msg, "abcdefgh\xc3\xa9");
	/* 4-byte sequence (U+1F600) cut in each place. */
	error_of("ab\xf0\x9f\x98\x80", msg, 4);
	CHECK_STR_EQ(msg, "ab");
	error_of("ab\xf0\x9f\x98\x80", msg, 6);
	CHECK_STR_EQ(msg, "ab");
	error_of("ab\xf0\x9f\x98\x80", msg, 7);
	CHECK_STR_EQ(msg, "ab\xf0\x9f\x98\x80");

	memset(msg, '#', sizeof(msg));
	error_of("{\"message\":\"x\"}", msg, 1);
	CHECK_INT_EQ(msg[0], '\0');
	CHECK_INT_EQ(msg[1], '#');
	error_of("{\"message\":\"x\"}", msg, 0);   /* size 0: untouched */
	CHECK_INT_EQ(msg[1], '#');

	/* A long raw body fills the buffer exactly. */
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	{
		char m[ERR_MSG_MAX];

		error_of(big, m, sizeof(m));
		CHECK_INT_EQ(strlen(m), ERR_MSG_MAX - 1);
	}
}

/* ---- log demux ----------------------------------------------------------- */

struct rec {
	char out[1024], err[1024], merged[2048];
	size_t out_len, err_len, merged_len;
	int last_stream;
	int calls, zero_calls, bad_stream;
	int stop_after;   /* return -ECANCELED on this call (1-based); 0 = never */
};

/* `merged` marks each change of stream ("<1>", "<2>"), so it is the same
 * however the input was split; per-call boundaries are not. */
static int rec_cb(void *arg, int stream, const char *data, size_t len)
{
	struct rec *r = arg;
	char *dst;
	size_t *dlen, cap;

	r->calls++;
	if (len == 0)
		r->zero_calls++;
	if (stream == 1) {
		dst = r->out, dlen = &r->out_len, cap = sizeof(r->out);
	} else if (stream == 2) {
		dst = r->err, dlen = &r->err_len, cap = sizeof(r->err);
	} else {
		r->bad_stream++;
		return 0;
	}
	if (*dlen + len < cap) {
		memcpy(dst + *dlen, data, len);
		*dlen += len;
		dst[*dlen] = '\0';
	}
	if (stream != r->last_stream && r->merged_len + 3 < sizeof(r->merged)) {
		r->merged[r->merged_len++] = '<';
		r->merged[r->merged_len++] = (char)('0' + stream);
		r->merged[r->merged_len++] = '>';
		r->last_stream = stream;
	}
	if (r->merged_len + len < sizeof(r->merged)) {
		memcpy(r->merged + r->merged_len, data, len);
		r->merged_len += len;
	}
	r->merged[r->merged_len] = '\0';
	if (r->stop_after && r->calls == r->stop_after)
		return -ECANCELED;
	return 0;
}

static size_t frame(char *buf, int stream, const char *payload, size_t len)
{
	buf[0] = (char)stream;
	buf[1] = buf[2] = buf[3] = 0;
	buf[4] = (char)(len >> 24 & 0xff);
	buf[5] = (char)(len >> 16 & 0xff);
	buf[6] = (char)(len >> 8 & 0xff);
	buf[7] = (char)(len & 0xff);
	memcpy(buf + 8, payload, len);
	return 8 + len;
}

/* stdout "hello\n", stderr "oops", zero-length stdout, stdout "world\n",
 * stderr "!\n": interleaved, with an empty frame in the middle. */
static size_t sample_stream(char *buf)
{
	size_t n = 0;

	n += frame(buf + n, 1, "hello\n", 6);
	n += frame(buf + n, 2, "oops", 4);
	n += frame(buf + n, 1, "", 0);
	n += frame(buf + n, 1, "world\n", 6);
	n += frame(buf + n, 2, "!\n", 2);
	return n;
}

#define SAMPLE_MERGED "<1>hello\n<2>oops<1>world\n<2>!\n"

static void test_demux_whole(void)
{
	struct docker_log_demux st;
	struct rec r;
	char buf[128];
	size_t n = sample_stream(buf);

	memset(&st, 0, sizeof(st));
	memset(&r, 0, sizeof(r));
	CHECK_INT_EQ(docker_log_demux_feed(&st, buf, n, rec_cb, &r), 0);
	CHECK_STR_EQ(r.out, "hello\nworld\n");
	CHECK_STR_EQ(r.err, "oops!\n");
	CHECK_STR_EQ(r.merged, SAMPLE_MERGED);
	/* One call per non-empty frame; the empty frame makes none. */
	CHECK_INT_EQ(r.calls, 4);
	CHECK_INT_EQ(r.zero_calls, 0);
	CHECK_INT_EQ(st.hdr_have, 0);
	CHECK_INT_EQ(st.frame_left, 0);
}

static void test_demux_every_split(void)
{
	char buf[128];
	size_t n = sample_stream(buf);

	/* Two pieces at every offset, then three at every pair of offsets. */
	for (size_t i = 0; i <= n; i++) {
		for (size_t j = i; j <= n; j++) {
			struct docker_log_demux st;
			struct rec r;
			int rc = 0;

			memset(&st, 0, sizeof(st));
			memset(&r, 0, sizeof(r));
			rc |= docker_log_demux_feed(&st, buf, i, rec_cb, &r);
			rc |= docker_log_demux_feed(&st, buf + i, j - i, rec_cb, &r);
			rc |= docker_log_demux_feed(&st, buf + j, n - j, rec_cb, &r);
			if (rc != 0 || strcmp(r.merged, SAMPLE_MERGED) != 0 ||
			    strcmp(r.out, "hello\nworld\n") != 0 || strcmp(r.err, "oops!\n") != 0 ||
			    r.zero_calls != 0 || st.hdr_have != 0 || st.frame_left != 0) {
				HARNESS_FAIL("split at %zu,%zu: rc %d merged \"%s\"", i, j, rc,
					     r.merged);
				return;
			}
		}
	}
}

static void test_demux_byte_by_byte(void)
{
	struct docker_log_demux st;
	struct rec r;
	char buf[128];
	size_t n = sample_stream(buf);

	memset(&st, 0, sizeof(st));
	memset(&r, 0, sizeof(r));
	for (size_t i = 0; i < n; i++)
		CHECK_INT_EQ(docker_log_demux_feed(&st, buf + i, 1, rec_cb, &r), 0);
	CHECK_STR_EQ(r.merged, SAMPLE_MERGED);
	CHECK_INT_EQ(r.calls, 6 + 4 + 6 + 2);   /* one per payload byte */
	CHECK_INT_EQ(r.zero_calls, 0);
}

static void test_demux_header_split(void)
{
	struct docker_log_demux st;
	struct rec r;
	char buf[64];
	size_t n = frame(buf, 2, "abc", 3);

	memset(&st, 0, sizeof(st));
	memset(&r, 0, sizeof(r));
	CHECK_INT_EQ(docker_log_demux_feed(&st, buf, 3, rec_cb, &r), 0);
	CHECK_INT_EQ(st.hdr_have, 3);
	CHECK_INT_EQ(r.calls, 0);
	CHECK_INT_EQ(docker_log_demux_feed(&st, buf + 3, 5, rec_cb, &r), 0);
	CHECK_INT_EQ(st.hdr_have, 0);
	CHECK_INT_EQ(st.frame_left, 3);
	CHECK_INT_EQ(st.stream, 2);
	CHECK_INT_EQ(r.calls, 0);
	CHECK_INT_EQ(docker_log_demux_feed(&st, buf + 8, 1, rec_cb, &r), 0);
	CHECK_INT_EQ(st.frame_left, 2);
	CHECK_INT_EQ(docker_log_demux_feed(&st, buf + 9, n - 9, rec_cb, &r), 0);
	CHECK_STR_EQ(r.err, "abc");
	CHECK_INT_EQ(r.out_len, 0);
	CHECK_INT_EQ(st.frame_left, 0);
	/* Feeding nothing changes nothing. */
	CHECK_INT_EQ(docker_log_demux_feed(&st, buf, 0, rec_cb, &r), 0);
	CHECK_INT_EQ(r.calls, 2);
}

static void test_demux_large_length(void)
{
	struct docker_log_demux st;
	struct rec r;
	/* Length 0x01020304 (big-endian), only 5 payload bytes present. */
	const char buf[] = { 1, 0, 0, 0, 1, 2, 3, 4, 'a', 'b', 'c', 'd', 'e' };

	memset(&st, 0, sizeof(st));
	memset(&r, 0, sizeof(r));
	CHECK_INT_EQ(docker_log_demux_feed(&st, buf, sizeof(buf), rec_cb, &r), 0);
	CHECK_STR_EQ(r.out, "abcde");
	CHECK_INT_EQ(st.frame_left, 0x01020304 - 5);
}

static void test_demux_bad_header(void)
{
	struct docker_log_demux st;
	struct rec r;
	const char bad_stream[] = { 4, 0, 0, 0, 0, 0, 0, 1, 'x' };
	const char bad_pad[] = { 1, 0, 1, 0, 0, 0, 0, 1, 'x' };
	/* Raw TTY output mistaken for a multiplexed stream. */
	const char *tty = "hello-from-container\n";
	char buf[64];
	size_t n;

	memset(&st, 0, sizeof(st));
	memset(&r, 0, sizeof(r));
	CHECK_INT_EQ(docker_log_demux_feed(&st, bad_stream, sizeof(bad_stream), rec_cb, &r),
		     -EPROTO);
	memset(&st, 0, sizeof(st));
	CHECK_INT_EQ(docker_log_demux_feed(&st, bad_pad, sizeof(bad_pad), rec_cb, &r), -EPROTO);
	memset(&st, 0, sizeof(st));
	CHECK_INT_EQ(docker_log_demux_feed(&st, tty, strlen(tty), rec_cb, &r), -EPROTO);
	CHECK_INT_EQ(r.calls, 0);

	/* A good frame, then a bad header: the good one was delivered. */
	memset(&st, 0, sizeof(st));
	n = frame(buf, 1, "ok", 2);
	memcpy(buf + n, bad_stream, sizeof(bad_stream));
	CHECK_INT_EQ(docker_log_demux_feed(&st, buf, n + sizeof(bad_stream), rec_cb, &r), -EPROTO);
	CHECK_STR_EQ(r.out, "ok");

	/* Streams 0 (stdin) and 3 (daemon error) are passed on as such. */
	memset(&st, 0, sizeof(st));
	memset(&r, 0, sizeof(r));
	n = frame(buf, 3, "err", 3);
	CHECK_INT_EQ(docker_log_demux_feed(&st, buf, n, rec_cb, &r), 0);
	CHECK_INT_EQ(r.bad_stream, 1);
}

static void test_demux_callback_stops(void)
{
	struct docker_log_demux st;
	struct rec r;
	char buf[128];
	size_t n = sample_stream(buf);

	memset(&st, 0, sizeof(st));
	memset(&r, 0, sizeof(r));
	r.stop_after = 2;
	CHECK_INT_EQ(docker_log_demux_feed(&st, buf, n, rec_cb, &r), -ECANCELED);
	CHECK_INT_EQ(r.calls, 2);
	CHECK_STR_EQ(r.merged, "<1>hello\n<2>oops");

	/* A NULL callback discards. */
	memset(&st, 0, sizeof(st));
	CHECK_INT_EQ(docker_log_demux_feed(&st, buf, n, NULL, NULL), 0);
	CHECK_INT_EQ(st.frame_left, 0);
}

/* A stream recorded from Docker 20.10 (timestamps=1): stderr first because
 * that is how the daemon ordered it. */
static void test_demux_recorded(void)
{
	struct docker_log_demux st;
	struct rec r;
	size_t len = 0;
	char *raw = slurp(DATA "logs_mux.bin", &len);

	REQUIRE(raw);
	CHECK_INT_EQ(len, 209);
	memset(&st, 0, sizeof(st));
	memset(&r, 0, sizeof(r));
	for (size_t i = 0; i < len; i += 7)
		CHECK_INT_EQ(docker_log_demux_feed(&st, raw + i, len - i < 7 ? len - i : 7, rec_cb,
						   &r), 0);
	CHECK_STR_EQ(r.out, "2026-11-26T14:59:29.077832658Z hello-from-container\n"
			    "2026-11-26T14:59:29.077836514Z second-line\n");
	CHECK_STR_EQ(r.err, "2026-11-26T14:59:29.077779889Z to-stderr\n"
			    "2026-11-26T14:59:29.099882342Z no-newline");
	CHECK_STR_EQ(r.merged, "<2>2026-11-26T14:59:29.077779889Z to-stderr\n"
			       "<1>2026-11-26T14:59:29.077832658Z hello-from-container\n"
			       "2026-11-26T14:59:29.077836514Z second-line\n"
			       "<2>2026-11-26T14:59:29.099882342Z no-newline");
	CHECK_INT_EQ(st.hdr_have, 0);
	CHECK_INT_EQ(st.frame_left, 0);
	free(raw);
}


/* ---- the client against a fake daemon ------------------------------------- */

/* One thread serving one connection at a time: reads a request (head and
 * Content-Length body), records it, answers with the scripted response. */
struct fake {
	int lfd;
	char dir[64], path[108];
	pthread_t thread;
	pthread_mutex_t mu;
	char *resp;               /* whole HTTP response, scripted by the test */
	size_t resp_len;
	bool hang_up;             /* close without answering */
	char req[65536];          /* last request, head and body */
	size_t req_len;
	size_t head_len;
	int accepts, requests;
	bool stop;
};

static struct fake fk;

static bool send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static void fake_serve_conn(int fd)
{
	char buf[65536];
	size_t have = 0;

	for (;;) {
		char *end = NULL, *cl;
		size_t head, body = 0, want;
		ssize_t n;
		bool sent;

		while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
			if (have == sizeof(buf))
				return;
			n = read(fd, buf + have, sizeof(buf) - have);
			if (n <= 0)
				return;
			have += (size_t)n;
		}
		head = (size_t)(end - buf) + 4;
		buf[head - 1] = '\0';
		cl = strcasestr(buf, "\r\ncontent-length:");
		if (cl)
			body = strtoul(cl + 17, NULL, 10);
		buf[head - 1] = '\n';
		want = head + body;
		if (want > sizeof(buf))
			return;
		while (have < want) {
			n = read(fd, buf + have, sizeof(buf) - have);
			if (n <= 0)
				return;
			have += (size_t)n;
		}
		pthread_mutex_lock(&fk.mu);
		memcpy(fk.req, buf, want);
		fk.req[want < sizeof(fk.req) ? want : sizeof(fk.req) - 1] = '\0';
		fk.req_len = want;
		fk.head_len = head;
		fk.requests++;
		pthread_mutex_unlock(&fk.mu);
		memmove(buf, buf + want, have - want);
		have -= want;
		/* Under the lock: the test thread may swap the answer as soon as
		 * its client stopped reading, while this one still sends. */
		pthread_mutex_lock(&fk.mu);
		sent = !fk.hang_up && send_all(fd, fk.resp, fk.resp_len);
		pthread_mutex_unlock(&fk.mu);
		if (!sent)
			return;
	}
}

static void *fake_main(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(fk.lfd, NULL, NULL);

		if (fd < 0)
			continue;
		pthread_mutex_lock(&fk.mu);
		fk.accepts++;
		pthread_mutex_unlock(&fk.mu);
		if (fk.stop) {
			close(fd);
			return NULL;
		}
		fake_serve_conn(fd);
		close(fd);
	}
}

static int fake_start(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(&fk, 0, sizeof(fk));
	snprintf(fk.dir, sizeof(fk.dir), "/tmp/ewk-fake-docker-XXXXXX");
	if (!mkdtemp(fk.dir))
		return -1;
	snprintf(fk.path, sizeof(fk.path), "%s/docker.sock", fk.dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fk.path);
	fk.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fk.lfd < 0 || bind(fk.lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fk.lfd, 8) < 0)
		return -1;
	pthread_mutex_init(&fk.mu, NULL);
	return pthread_create(&fk.thread, NULL, fake_main, NULL) == 0 ? 0 : -1;
}

/* Call after docker_close, so the server is back in accept(). */
static void fake_stop(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	fk.stop = true;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fk.path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		pthread_join(fk.thread, NULL);
	if (fd >= 0)
		close(fd);
	close(fk.lfd);
	unlink(fk.path);
	rmdir(fk.dir);
	free(fk.resp);
	fk.resp = NULL;
	pthread_mutex_destroy(&fk.mu);
}

static void fake_answer(int status, const char *reason, const char *body, size_t len)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
			 "Api-Version: 1.41\r\nContent-Length: %zu\r\n\r\n",
			 status, reason, len);

	pthread_mutex_lock(&fk.mu);
	free(fk.resp);
	fk.resp = malloc((size_t)n + len);
	if (!fk.resp)
		abort();
	memcpy(fk.resp, head, (size_t)n);
	memcpy(fk.resp + n, body, len);
	fk.resp_len = (size_t)n + len;
	fk.hang_up = false;
	pthread_mutex_unlock(&fk.mu);
}

static void fake_json(int status, const char *reason, const char *body)
{
	fake_answer(status, reason, body, strlen(body));
}

/* The last request line, e.g. "GET /v1.41/_ping HTTP/1.1". */
static const char *fake_request_line(char *buf, size_t size)
{
	const char *eol;
	size_t n;

	pthread_mutex_lock(&fk.mu);
	eol = strstr(fk.req, "\r\n");
	n = eol ? (size_t)(eol - fk.req) : 0;
	if (n >= size)
		n = size - 1;
	memcpy(buf, fk.req, n);
	buf[n] = '\0';
	pthread_mutex_unlock(&fk.mu);
	return buf;
}

static struct docker *fake_client(void)
{
	struct docker *d = NULL;
	struct err e = { 0 };

	if (fake_start() < 0) {
		perror("fake daemon");
		return NULL;
	}
	if (docker_open(fk.path, &d, &e) < 0) {
		fprintf(stderr, "  docker_open: %s\n", e.msg);
		return NULL;
	}
	return d;
}

static void fake_done(struct docker *d)
{
	docker_close(d);
	fake_stop();
}

static bool json_has_string(const cJSON *arr, const char *s)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
			return true;
	return false;
}

static void test_client_create(void)
{
	const char *env[] = { "__OW_API_HOST=http://127.0.0.1:3233", "A=b c", NULL };
	const char *labels[] = { "edgewhisk.instance=q0", "edgewhisk.flag", NULL };
	struct docker_create_opts o = {
		.name = "ewk_0_3", .image = "edgewhisk/action-native:1", .env = env,
		.labels = labels, .memory_bytes = (uint64_t)256 << 20, .pids_limit = 64,
		.nofile = 1024, .cpu_shares = 512, .publish_port = 8080,
	};
	char id[DOCKER_ID_MAX] = "", line[256];
	struct docker *d = fake_client();
	_cleanup_json_ cJSON *body = NULL;
	const cJSON *host, *x;
	struct err e = { 0 };
	uint64_t v = 0;

	REQUIRE(d);
	fake_json(201, "Created", "{\"Id\":\"" RUN_ID "\",\"Warnings\":[]}");
	CHECK_INT_EQ(docker_container_create(d, &o, id, &e), 0);
	CHECK_STR_EQ(id, RUN_ID);
	CHECK_STR_EQ(fake_request_line(line, sizeof(line)),
		     "POST /v1.41/containers/create?name=ewk_0_3 HTTP/1.1");
	pthread_mutex_lock(&fk.mu);
	CHECK(strcasestr(fk.req, "\r\nContent-Type: application/json\r\n") != NULL);
	CHECK(strcasestr(fk.req, "\r\nExpect:") == NULL);
	CHECK_INT_EQ(json_parse(fk.req + fk.head_len, fk.req_len - fk.head_len, &body, &e), 0);
	pthread_mutex_unlock(&fk.mu);
	REQUIRE(body);
	CHECK_STR_EQ(json_get_string(body, "Image"), "edgewhisk/action-native:1");
	CHECK_INT_EQ(cJSON_GetArraySize(json_get_array(body, "Env")), 2);
	CHECK(json_has_string(json_get_array(body, "Env"), "A=b c"));
	CHECK_STR_EQ(json_get_string(json_get_object(body, "Labels"), "edgewhisk.instance"), "q0");
	CHECK_STR_EQ(json_get_string(json_get_object(body, "Labels"), "edgewhisk.flag"), "");
	CHECK(json_get_object(json_get_object(body, "ExposedPorts"), "8080/tcp") != NULL);
	host = json_get_object(body, "HostConfig");
	REQUIRE(host);
	CHECK(json_get_u64(host, "Memory", &v) == 0 && v == (uint64_t)256 << 20);
	CHECK(json_get_u64(host, "MemorySwap", &v) == 0 && v == (uint64_t)256 << 20);
	CHECK(json_get_u64(host, "PidsLimit", &v) == 0 && v == 64);
	CHECK(json_get_u64(host, "CpuShares", &v) == 0 && v == 512);
	CHECK_STR_EQ(json_get_string(host, "NetworkMode"), "bridge");
	x = cJSON_GetArrayItem(json_get_array(json_get_object(host, "PortBindings"), "8080/tcp"), 0);
	CHECK_STR_EQ(json_get_string(x, "HostIp"), "127.0.0.1");
	CHECK_STR_EQ(json_get_string(x, "HostPort"), "");
	CHECK_INT_EQ(cJSON_GetArraySize(json_get_array(host, "CapDrop")), 2);
	CHECK(json_has_string(json_get_array(host, "CapDrop"), "NET_RAW"));
	CHECK(json_has_string(json_get_array(host, "CapDrop"), "NET_ADMIN"));
	CHECK(json_has_string(json_get_array(host, "SecurityOpt"), "no-new-privileges"));
	x = cJSON_GetArrayItem(json_get_array(host, "Ulimits"), 0);
	CHECK_STR_EQ(json_get_string(x, "Name"), "nofile");
	CHECK(json_get_u64(x, "Soft", &v) == 0 && v == 1024);
	CHECK(json_get_u64(x, "Hard", &v) == 0 && v == 1024);
	x = json_get_object(host, "LogConfig");
	CHECK_STR_EQ(json_get_string(x, "Type"), "json-file");
	CHECK(json_get_object(x, "Config") != NULL);
	/* Nothing of the host goes in. */
	CHECK(!cJSON_HasObjectItem(host, "Binds"));
	CHECK(!cJSON_HasObjectItem(host, "Mounts"));
	CHECK(!cJSON_HasObjectItem(host, "Privileged"));
	CHECK(!cJSON_HasObjectItem(host, "Devices"));
	CHECK(!cJSON_HasObjectItem(body, "Volumes"));
	json_delete(body);
	body = NULL;

	/* Minimal options: no limits, no port, network "none". */
	{
		struct docker_create_opts m = { .image = "busybox", .network_mode = "none" };

		CHECK_INT_EQ(docker_container_create(d, &m, id, &e), 0);
		CHECK_STR_EQ(fake_request_line(line, sizeof(line)),
			     "POST /v1.41/containers/create HTTP/1.1");
		pthread_mutex_lock(&fk.mu);
		CHECK_INT_EQ(json_parse(fk.req + fk.head_len, fk.req_len - fk.head_len, &body, &e),
			     0);
		pthread_mutex_unlock(&fk.mu);
		REQUIRE(body);
		host = json_get_object(body, "HostConfig");
		CHECK_STR_EQ(json_get_string(host, "NetworkMode"), "none");
		CHECK(!cJSON_HasObjectItem(host, "Memory"));
		CHECK(!cJSON_HasObjectItem(host, "PidsLimit"));
		CHECK(!cJSON_HasObjectItem(host, "Ulimits"));
		CHECK(!cJSON_HasObjectItem(host, "PortBindings"));
		CHECK(!cJSON_HasObjectItem(body, "ExposedPorts"));
		CHECK(json_has_string(json_get_array(host, "CapDrop"), "NET_RAW"));
	}

	/* 409: -EEXIST with Docker's message; id_out untouched. */
	fake_json(409, "Conflict",
		  "{\"message\":\"Conflict. The container name \\\"/ewk_0_3\\\" is already in use "
		  "by container \\\"" RUN_ID "\\\". You have to remove (or rename) that "
		  "container to be able to reuse that name.\"}");
	memcpy(id, "untouched", 10);
	CHECK_INT_EQ(docker_container_create(d, &o, id, &e), -EEXIST);
	CHECK_INT_EQ(e.code, -EEXIST);
	CHECK_STR_CONTAINS(e.msg, "create container ewk_0_3: docker 409: Conflict. The container "
				  "name \"/ewk_0_3\" is already in use by container");
	CHECK_STR_EQ(id, "untouched");
	fake_json(404, "Not Found", "{\"message\":\"No such image: edgewhisk/action-native:1\"}");
	CHECK_INT_EQ(docker_container_create(d, &o, id, &e), -ENOENT);
	CHECK_STR_EQ(e.msg, "create container ewk_0_3: docker 404: No such image: "
			    "edgewhisk/action-native:1");
	fake_json(400, "Bad Request", "{\"message\":\"invalid environment variable: =x\"}");
	CHECK_INT_EQ(docker_container_create(d, &o, id, &e), -EINVAL);
	fake_json(500, "Internal Server Error", "{\"message\":\"oops\"}");
	CHECK_INT_EQ(docker_container_create(d, &o, id, &e), -EPROTO);
	CHECK_STR_EQ(e.msg, "create container ewk_0_3: docker 500: oops");
	/* 201 without a usable Id. */
	fake_json(201, "Created", "{\"Warnings\":[]}");
	CHECK_INT_EQ(docker_container_create(d, &o, id, &e), -EPROTO);
	CHECK_STR_EQ(id, "untouched");
	fake_done(d);
}

static void test_client_requests(void)
{
	struct docker *d = fake_client();
	char(*ids)[DOCKER_ID_MAX] = NULL;
	struct docker_inspect in;
	struct err e = { 0 };
	char line[512];
	size_t n = 99;

	REQUIRE(d);
	fake_answer(200, "OK", "OK", 2);
	CHECK_INT_EQ(docker_ping(d, &e), 0);
	CHECK_STR_EQ(fake_request_line(line, sizeof(line)), "GET /v1.41/_ping HTTP/1.1");
	fake_answer(200, "OK", "NOPE", 4);
	CHECK_INT_EQ(docker_ping(d, &e), -EPROTO);
	CHECK_STR_EQ(e.msg, "ping: docker 200: NOPE");

	/* Names are escaped in the path: '/' and ':' included. */
	fake_answer(200, "OK", "{}", 2);
	CHECK_INT_EQ(docker_image_exists(d, "edgewhisk/action-native:1", &e), 0);
	CHECK_STR_EQ(fake_request_line(line, sizeof(line)),
		     "GET /v1.41/images/edgewhisk%2Faction-native%3A1/json HTTP/1.1");
	fake_json(404, "Not Found", "{\"message\":\"No such image: x:1\"}");
	CHECK_INT_EQ(docker_image_exists(d, "x:1", &e), -ENOENT);
	CHECK_STR_EQ(e.msg, "inspect image x:1: docker 404: No such image: x:1");

	fake_json(200, "OK", "[{\"Id\":\"" RUN_ID "\",\"Names\":[\"/a\"]},{\"Id\":\"" OOM_ID "\"}]");
	CHECK_INT_EQ(docker_container_list(d, "edgewhisk.instance=q0", &ids, &n, &e), 0);
	CHECK_STR_EQ(fake_request_line(line, sizeof(line)),
		     "GET /v1.41/containers/json?all=true&filters="
		     "%7B%22label%22%3A%5B%22edgewhisk.instance%3Dq0%22%5D%7D HTTP/1.1");
	CHECK_INT_EQ(n, 2);
	if (ids && n == 2) {
		CHECK_STR_EQ(ids[0], RUN_ID);
		CHECK_STR_EQ(ids[1], OOM_ID);
	}
	free(ids);
	ids = NULL;
	fake_json(200, "OK", "[]");
	CHECK_INT_EQ(docker_container_list(d, "k", &ids, &n, &e), 0);
	CHECK_INT_EQ(n, 0);
	free(ids);
	ids = NULL;
	fake_json(200, "OK", "{\"not\":\"a list\"}");
	n = 99;
	CHECK_INT_EQ(docker_container_list(d, "k", &ids, &n, &e), -EPROTO);
	CHECK_INT_EQ(n, 99);
	fake_json(200, "OK", "[{\"Names\":[]}]");
	CHECK_INT_EQ(docker_container_list(d, "k", &ids, &n, &e), -EPROTO);
	CHECK(ids == NULL);

	/* Lifecycle verbs and their "already" answers. */
	fake_answer(204, "No Content", "", 0);
	CHECK_INT_EQ(docker_container_start(d, "ewk_0_3", &e), 0);
	CHECK_STR_EQ(fake_request_line(line, sizeof(line)),
		     "POST /v1.41/containers/ewk_0_3/start HTTP/1.1");
	fake_answer(304, "Not Modified", "", 0);
	CHECK_INT_EQ(docker_container_start(d, "ewk_0_3", &e), 0);
	fake_answer(204, "No Content", "", 0);
	CHECK_INT_EQ(docker_container_kill(d, "ewk_0_3", "TERM", &e), 0);
	CHECK_STR_EQ(fake_request_line(line, sizeof(line)),
		     "POST /v1.41/containers/ewk_0_3/kill?signal=TERM HTTP/1.1");
	fake_json(409, "Conflict", "{\"message\":\"Container ewk_0_3 is not running\"}");
	CHECK_INT_EQ(docker_container_kill(d, "ewk_0_3", "KILL", &e), -EBUSY);
	CHECK_STR_EQ(e.msg, "kill container ewk_0_3 with KILL: docker 409: Container ewk_0_3 is "
			    "not running");
	fake_json(409, "Conflict", "{\"message\":\"Container " RUN_ID " is already paused\"}");
	CHECK_INT_EQ(docker_container_pause(d, RUN_ID, &e), 0);
	CHECK_STR_EQ(fake_request_line(line, sizeof(line)),
		     "POST /v1.41/containers/" RUN_ID "/pause HTTP/1.1");
	fake_json(409, "Conflict", "{\"message\":\"Container " RUN_ID " is not running\"}");
	CHECK_INT_EQ(docker_container_pause(d, RUN_ID, &e), -EBUSY);
	fake_json(404, "Not Found", "{\"message\":\"No such container: ewk_9\"}");
	CHECK_INT_EQ(docker_container_unpause(d, "ewk_9", &e), -ENOENT);
	CHECK_STR_EQ(e.msg, "unpause container ewk_9: docker 404: No such container: ewk_9");

	fake_answer(204, "No Content", "", 0);
	CHECK_INT_EQ(docker_container_remove(d, "ewk_0_3", &e), 0);
	CHECK_STR_EQ(fake_request_line(line, sizeof(line)),
		     "DELETE /v1.41/containers/ewk_0_3?force=true&v=true HTTP/1.1");
	fake_json(404, "Not Found", "{\"message\":\"No such container: ewk_0_3\"}");
	CHECK_INT_EQ(docker_container_remove(d, "ewk_0_3", &e), 0);
	fake_json(409, "Conflict", "{\"message\":\"removal of container ewk_0_3 is already in "
				   "progress\"}");
	CHECK_INT_EQ(docker_container_remove(d, "ewk_0_3", &e), 0);
	fake_json(500, "Internal Server Error", "{\"message\":\"driver failed\"}");
	CHECK_INT_EQ(docker_container_remove(d, "ewk_0_3", &e), -EPROTO);
	CHECK_STR_EQ(e.msg, "remove container ewk_0_3: docker 500: driver failed");

	/* Inspect: a recorded document, a plain-text error, a non-document. */
	{
		size_t len = 0;
		char *doc = slurp(DATA "inspect_running.json", &len);

		REQUIRE(doc);
		fake_answer(200, "OK", doc, len);
		free(doc);
	}
	CHECK_INT_EQ(docker_container_inspect(d, "ewk_rec_run", &in, &e), 0);
	CHECK_STR_EQ(fake_request_line(line, sizeof(line)),
		     "GET /v1.41/containers/ewk_rec_run/json HTTP/1.1");
	CHECK_INT_EQ(in.state, DOCKER_STATE_RUNNING);
	CHECK_INT_EQ(in.host_port, 32769);
	fake_answer(500, "Internal Server Error", "boom\n", 5);
	CHECK_INT_EQ(docker_container_inspect(d, "x1", &in, &e), -EPROTO);
	CHECK_STR_EQ(e.msg, "inspect container x1: docker 500: boom");
	fake_json(200, "OK", "[]");
	CHECK_INT_EQ(docker_container_inspect(d, "x1", &in, &e), -EPROTO);
	CHECK_STR_EQ(e.msg, "inspect container x1: docker 200: not an inspect document");
	fake_answer(502, "Bad Gateway", "", 0);
	CHECK_INT_EQ(docker_container_inspect(d, "x1", &in, &e), -EPROTO);
	CHECK_STR_EQ(e.msg, "inspect container x1: docker 502: (empty body)");

	/* Refused before any request. */
	CHECK_INT_EQ(docker_container_start(d, "a/../b", &e), -EINVAL);
	CHECK_INT_EQ(docker_container_start(d, NULL, &e), -EINVAL);
	CHECK_INT_EQ(docker_container_remove(d, ".", &e), -EINVAL);
	CHECK_INT_EQ(docker_container_kill(d, "x1", "KILL&x=1", &e), -EINVAL);
	CHECK_INT_EQ(docker_container_list(d, "", &ids, &n, &e), -EINVAL);

	/* All of it over one connection. */
	pthread_mutex_lock(&fk.mu);
	CHECK_INT_EQ(fk.accepts, 1);
	CHECK_INT_EQ(fk.requests, 23);
	pthread_mutex_unlock(&fk.mu);
	fake_done(d);
}

static void test_client_transport(void)
{
	struct docker *d = fake_client(), *none = NULL;
	struct docker_inspect in;
	struct err e = { 0 };
	char *big;

	REQUIRE(d);
	/* A daemon that hangs up: an error, and the next call reconnects. */
	fake_json(200, "OK", "OK");
	fk.hang_up = true;
	CHECK_INT_EQ(docker_ping(d, &e), -EPROTO);
	CHECK_STR_CONTAINS(e.msg, "ping: docker socket ");
	fake_answer(200, "OK", "OK", 2);
	CHECK_INT_EQ(docker_ping(d, &e), 0);
	pthread_mutex_lock(&fk.mu);
	CHECK_INT_EQ(fk.accepts, 2);
	pthread_mutex_unlock(&fk.mu);

	/* Answers past the 8 MiB cap are refused, not buffered. */
	big = malloc((size_t)9 << 20);
	REQUIRE(big);
	memset(big, ' ', (size_t)9 << 20);
	big[0] = '{';
	big[((size_t)9 << 20) - 1] = '}';
	fake_answer(200, "OK", big, (size_t)9 << 20);
	free(big);
	CHECK_INT_EQ(docker_container_inspect(d, "x1", &in, &e), -EPROTO);
	CHECK_STR_EQ(e.msg, "inspect container x1: docker answer larger than 8388608 bytes");
	fake_answer(200, "OK", "OK", 2);
	CHECK_INT_EQ(docker_ping(d, &e), 0);
	fake_done(d);

	/* No socket at all. */
	REQUIRE(docker_open("/tmp/ewk-fake-docker-none/docker.sock", &none, &e) == 0);
	CHECK_INT_EQ(docker_ping(none, &e), -ENOENT);
	CHECK_STR_EQ(e.msg, "ping: docker socket /tmp/ewk-fake-docker-none/docker.sock: No such "
			    "file or directory");
	docker_close(none);
	CHECK_INT_EQ(docker_open("", &none, &e), -EINVAL);
	docker_close(NULL);
}

static size_t mux(char *buf, const char *frames[][2], size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++)
		len += frame(buf + len, frames[i][0][0] - '0', frames[i][1], strlen(frames[i][1]));
	return len;
}

static void test_client_logs(void)
{
	const char *frames[][2] = { { "1", "out one\n" }, { "2", "err one\n" },
				    { "1", "out two\n" } };
	struct docker *d = fake_client();
	struct err e = { 0 };
	struct rec r;
	char buf[256], line[256];
	size_t n = mux(buf, frames, 3);

	REQUIRE(d);
	memset(&r, 0, sizeof(r));
	fake_answer(200, "OK", buf, n);
	CHECK_INT_EQ(docker_container_logs(d, "ewk_0_3", 0, rec_cb, &r, &e), 0);
	CHECK_STR_EQ(fake_request_line(line, sizeof(line)),
		     "GET /v1.41/containers/ewk_0_3/logs?stdout=1&stderr=1&timestamps=1 HTTP/1.1");
	CHECK_STR_EQ(r.merged, "<1>out one\n<2>err one\n<1>out two\n");
	CHECK_INT_EQ(docker_container_logs(d, "ewk_0_3", 1700000000, rec_cb, &r, &e), 0);
	CHECK_STR_EQ(fake_request_line(line, sizeof(line)),
		     "GET /v1.41/containers/ewk_0_3/logs?stdout=1&stderr=1&timestamps=1"
		     "&since=1700000000 HTTP/1.1");

	/* The body ends inside a frame. */
	memset(&r, 0, sizeof(r));
	fake_answer(200, "OK", buf, n - 3);
	CHECK_INT_EQ(docker_container_logs(d, "ewk_0_3", 0, rec_cb, &r, &e), -EPROTO);
	CHECK_STR_EQ(e.msg, "logs of container ewk_0_3: log stream ended inside a frame");
	CHECK_STR_EQ(r.merged, "<1>out one\n<2>err one\n<1>out t");

	/* Not a multiplexed stream (a TTY container's raw output). */
	fake_answer(200, "OK", "hello-from-container\n", 21);
	CHECK_INT_EQ(docker_container_logs(d, "ewk_0_3", 0, rec_cb, &r, &e), -EPROTO);
	CHECK_STR_EQ(e.msg, "logs of container ewk_0_3: malformed multiplexed log stream");

	/* The daemon's own error on stream 3 after some output. */
	{
		const char *f3[][2] = { { "1", "partial\n" }, { "3", "error from daemon: boom\n" } };

		memset(&r, 0, sizeof(r));
		n = mux(buf, f3, 2);
		fake_answer(200, "OK", buf, n);
		CHECK_INT_EQ(docker_container_logs(d, "ewk_0_3", 0, rec_cb, &r, &e), -EIO);
		CHECK_STR_EQ(e.msg, "logs of container ewk_0_3: docker: error from daemon: boom");
		CHECK_STR_EQ(r.out, "partial\n");
		CHECK_INT_EQ(r.bad_stream, 0);
	}

	/* An error answer is JSON, not frames. */
	memset(&r, 0, sizeof(r));
	fake_json(404, "Not Found", "{\"message\":\"No such container: ewk_0_3\"}");
	CHECK_INT_EQ(docker_container_logs(d, "ewk_0_3", 0, rec_cb, &r, &e), -ENOENT);
	CHECK_STR_EQ(e.msg, "logs of container ewk_0_3: docker 404: No such container: ewk_0_3");
	CHECK_INT_EQ(r.calls, 0);

	/* The consumer stops: its code is returned. */
	memset(&r, 0, sizeof(r));
	r.stop_after = 1;
	n = mux(buf, frames, 3);
	fake_answer(200, "OK", buf, n);
	CHECK_INT_EQ(docker_container_logs(d, "ewk_0_3", 0, rec_cb, &r, &e), -ECANCELED);
	CHECK_INT_EQ(r.calls, 1);
	CHECK_INT_EQ(docker_container_logs(d, "ewk_0_3", 0, NULL, NULL, &e), -EINVAL);
	fake_answer(200, "OK", "OK", 2);
	CHECK_INT_EQ(docker_ping(d, &e), 0);
	fake_done(d);
}

HARNESS_MAIN("docker",
	     TEST_CASE(test_inspect_running),
	     TEST_CASE(test_inspect_paused),
	     TEST_CASE(test_inspect_oom_killed),
	     TEST_CASE(test_inspect_created),
	     TEST_CASE(test_inspect_states),
	     TEST_CASE(test_inspect_missing_fields),
	     TEST_CASE(test_inspect_port_choice),
	     TEST_CASE(test_inspect_garbage),
	     TEST_CASE(test_error_json),
	     TEST_CASE(test_error_raw),
	     TEST_CASE(test_error_truncation),
	     TEST_CASE(test_demux_whole),
	     TEST_CASE(test_demux_every_split),
	     TEST_CASE(test_demux_byte_by_byte),
	     TEST_CASE(test_demux_header_split),
	     TEST_CASE(test_demux_large_length),
	     TEST_CASE(test_demux_bad_header),
	     TEST_CASE(test_demux_callback_stops),
	     TEST_CASE(test_demux_recorded),
	     TEST_CASE(test_client_create),
	     TEST_CASE(test_client_requests),
	     TEST_CASE(test_client_transport),
	     TEST_CASE(test_client_logs))
