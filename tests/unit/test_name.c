/* SPDX-License-Identifier: Apache-2.0 */
/* name: OpenWhisk's entity name rule at its edges, the length limit, and
 * fully qualified names in every form clients write. */
#include "controller/name.h"

#include <errno.h>
#include <string.h>

#include "tests/harness.h"

static void test_name_rule(void)
{
	static const char *const good[] = {
		"a", "_", "Z", "9", "hello world.x", "a@b", "my-action", "a.", "a-", "a@",
		"a b c", "_._", "ab", "a..", "whisk.system",
	};
	static const char *const bad[] = {
		"", " a", "a ", "-a", "a/b", "\xc3\xa4", "a\n", ".a", "@a", "a\tb", "a\xff",
		"a:b", "a b ", "a%b", "a\\b", "a?b", "a+b",
	};
	char s[400];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!name_is_valid(good[i]))
			HARNESS_FAIL("\"%s\" should be a valid name", good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (name_is_valid(bad[i]))
			HARNESS_FAIL("\"%s\" should be an invalid name", bad[i]);
	}
	CHECK(!name_is_valid(NULL));
	memset(s, 'x', sizeof(s));
	s[256] = '\0';
	CHECK(name_is_valid(s));
	s[255] = ' ';
	CHECK(!name_is_valid(s));
	s[255] = '.';
	CHECK(name_is_valid(s));
	s[256] = 'x';
	s[257] = '\0';
	CHECK(!name_is_valid(s));
	s[257] = 'x';
	s[sizeof(s) - 1] = '\0';
	CHECK(!name_is_valid(s));
}

static void test_fqn(void)
{
	struct name_fqn f;
	char buf[NAME_FQN_SIZE];

	REQUIRE(name_fqn_parse("/_/a", "guest", &f) == 0);
	name_fqn_format(&f, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "/guest/a");
	REQUIRE(name_fqn_parse("pkg/a", "guest", &f) == 0);
	CHECK_STR_EQ(f.ns, "guest");
	CHECK_STR_EQ(f.pkg, "pkg");
	CHECK_STR_EQ(f.name, "a");
	REQUIRE(name_fqn_parse("/ns/pkg/a", "guest", &f) == 0);
	name_fqn_format(&f, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "/ns/pkg/a");
	REQUIRE(name_fqn_parse("a", "guest", &f) == 0);
	CHECK_STR_EQ(f.pkg, "");
	CHECK_INT_EQ(name_fqn_parse("/a", "guest", &f), -EINVAL);
	CHECK_INT_EQ(name_fqn_parse("a/b/c", "guest", &f), -EINVAL);
	CHECK_INT_EQ(name_fqn_parse("/a/b/c/d", "guest", &f), -EINVAL);
	CHECK_INT_EQ(name_fqn_parse("", "guest", &f), -EINVAL);
	CHECK_INT_EQ(name_fqn_parse("a//b", "guest", &f), -EINVAL);
	CHECK_INT_EQ(name_fqn_parse("/ns/../a", "guest", &f), -EINVAL);
	CHECK_INT_EQ(name_fqn_parse("a/", "guest", &f), -EINVAL);
}

static void test_name_bytes(void)
{
	/* Length-bounded: a NUL inside is an illegal byte, not the end. */
	CHECK(name_is_valid_n("ab", 2));
	CHECK(!name_is_valid_n("a\0b", 3));
	CHECK(!name_is_valid_n("ab", 0));
}

HARNESS_MAIN("test_name", TEST_CASE(test_name_rule), TEST_CASE(test_fqn), TEST_CASE(test_name_bytes))
