/* SPDX-License-Identifier: Apache-2.0 */
/* err and log: message formatting, wrapping, truncation, NULL safety, the
 * log line shape and level filtering. */
#include "common/err.h"
#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/utf8.h"
#include "tests/harness.h"

static void test_err_set_and_wrap(void)
{
	struct err e = { 0 };

	CHECK_INT_EQ(err_set(&e, -EEXIST, "name %s in use", "ewk_1"), -EEXIST);
	CHECK_INT_EQ(e.code, -EEXIST);
	CHECK_STR_EQ(e.msg, "name ewk_1 in use");
	CHECK_INT_EQ(err_wrap(&e, -EINVAL, "create container %s", "ewk_1"), -EEXIST);
	CHECK_STR_EQ(e.msg, "create container ewk_1: name ewk_1 in use");
	err_clear(&e);
	CHECK_INT_EQ(e.code, 0);
	CHECK_STR_EQ(e.msg, "");
	CHECK_INT_EQ(err_set(NULL, -ENOMEM, "x"), -ENOMEM);
	CHECK_INT_EQ(err_wrap(NULL, -ENOMEM, "x"), -ENOMEM);
}

static void test_err_truncates_safely(void)
{
	struct err e = { 0 };
	char big[2000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	err_set(&e, -EINVAL, "%s", big);
	CHECK_INT_EQ(strlen(e.msg), ERR_MSG_MAX - 1);
	err_wrap(&e, -EINVAL, "ctx");
	CHECK_INT_EQ(strlen(e.msg), ERR_MSG_MAX - 1);
	CHECK(strncmp(e.msg, "ctx: aaa", 8) == 0);
	err_wrap(&e, -EINVAL, "%s", big);  /* context alone fills the buffer */
	CHECK_INT_EQ(strlen(e.msg), ERR_MSG_MAX - 1);
}

/* Capture what log_msg writes to stderr. */
static char *capture(void (*fn)(void))
{
	static char buf[4096];
	int fds[2], saved = dup(STDERR_FILENO);
	ssize_t n;

	if (saved < 0 || pipe(fds) < 0)
		return NULL;
	dup2(fds[1], STDERR_FILENO);
	close(fds[1]);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void log_two_lines(void)
{
	log_setup("tester", LOGL_INFO);
	log_info("queue", "ready slots=%d", 16);
	log_debug("queue", "hidden");
	log_error("main", "boom");
}

/* A message that quotes bad bytes, or is cut in a character, is still
 * valid UTF-8: the byte becomes U+FFFD, the cut character is dropped. */
static void test_err_is_utf8(void)
{
	struct err e = { 0 };
	char big[2 * ERR_MSG_MAX];
	size_t n;

	err_set(&e, -EINVAL, "The value '%s' is bad.", "\xff");
	CHECK_STR_EQ(e.msg, "The value '\xef\xbf\xbd' is bad.");
	for (n = 0; n + 2 < sizeof(big); n += 2)
		memcpy(big + n, "\xc3\xa9", 2);
	big[n] = '\0';
	for (int odd = 0; odd < 2; odd++) {
		err_set(&e, -EINVAL, "%.*s%s", odd, "x", big);
		n = strlen(e.msg);
		CHECK(utf8_is_valid(e.msg, n, NULL));
		CHECK(n >= ERR_MSG_MAX - 3);
	}
	err_wrap(&e, -EINVAL, "ctx \xc3");
	CHECK(utf8_is_valid(e.msg, strlen(e.msg), NULL));
}

static void test_log_shape_and_levels(void)
{
	char *out = capture(log_two_lines), expect[64];

	REQUIRE(out);
	snprintf(expect, sizeof(expect), " info tester[%d] queue: ready slots=16\n", (int)getpid());
	CHECK_STR_CONTAINS(out, expect);
	CHECK_STR_CONTAINS(out, "error tester[");
	CHECK_STR_CONTAINS(out, "main: boom\n");
	CHECK(strstr(out, "hidden") == NULL);
	CHECK(out[4] == '-' && out[10] == 'T');  /* ISO 8601 timestamp first */
	CHECK_INT_EQ(log_level_parse("debug"), LOGL_DEBUG);
	CHECK_INT_EQ(log_level_parse("loud"), -1);
}

static void log_huge(void)
{
	char big[3000];

	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_setup("tester", LOGL_INFO);
	log_warn("m", "%s", big);
}

static void test_log_truncates_to_one_line(void)
{
	char *out = capture(log_huge);

	REQUIRE(out);
	CHECK(strlen(out) <= 512);
	CHECK(out[strlen(out) - 1] == '\n');
	CHECK(strchr(out, '\n') == out + strlen(out) - 1);
}

HARNESS_MAIN("err_log", TEST_CASE(test_err_is_utf8),
	     TEST_CASE(test_err_set_and_wrap),
	     TEST_CASE(test_err_truncates_safely),
	     TEST_CASE(test_log_shape_and_levels),
	     TEST_CASE(test_log_truncates_to_one_line))
