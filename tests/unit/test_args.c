/* SPDX-License-Identifier: Apache-2.0 */
/* args: base entries found by decoded key (the last of equal keys), raw
 * members copied compacted, strings quoted, the object well-formed. */
#include "controller/args.h"

#include <string.h>

#include "common/jscan.h"
#include "tests/harness.h"

static void test_find_and_splice(void)
{
	_cleanup_json_ cJSON *one = cJSON_CreateNumber(1), *two = cJSON_CreateString("two");
	struct args_base base[] = {
		{ "b", one, 0, false }, { "a", one, 0, false }, { "b", two, 7, false },
		{ "", NULL, 0, false },
	};
	struct args a;
	struct buf out = BUF_INIT;
	const char *key;
	size_t klen;

	REQUIRE(args_begin(&a, base, 4) == 0);
	CHECK(args_find(&a, "b", 1) == &base[2]); /* the last of equal keys */
	CHECK(args_find(&a, "a", 1) == &base[1]);
	CHECK(args_find(&a, "", 0) == &base[3]);
	CHECK(args_find(&a, "c", 1) == NULL);
	CHECK(args_find(&a, "a\0b", 3) == NULL); /* a key with NUL never matches */
	REQUIRE(args_decode_key(&a, "\\u0061", 6, &key, &klen) == 0);
	CHECK(klen == 1 && args_find(&a, key, klen) == &base[1]);
	CHECK_INT_EQ(args_decode_key(&a, "\\x", 2, &key, &klen), -EINVAL);
	REQUIRE(args_put(&a, "b", two) == 0);
	REQUIRE(args_put(&a, "n", NULL) == 0);
	REQUIRE(args_put_raw(&a, "\\u0061", 6, "[ 1, { \"x\" : \"a b\" } ]", 22) == 0);
	REQUIRE(args_put_string(&a, "q\"", "l1\nl2", 5) == 0);
	REQUIRE(args_end(&a, &out) == 0);
	args_fini(&a);
	CHECK_STR_EQ(out.data,
		     "{\"b\":\"two\",\"n\":null,\"\\u0061\":[1,{\"x\":\"a b\"}],\"q\\\"\":\"l1\\nl2\"}");
	CHECK(json_is_value(out.data, out.len));
	buf_fini(&out);
}

static void test_empty(void)
{
	struct args a;
	struct buf out = BUF_INIT;

	REQUIRE(args_begin(&a, NULL, 0) == 0);
	CHECK(args_find(&a, "x", 1) == NULL);
	REQUIRE(args_end(&a, &out) == 0);
	args_fini(&a);
	CHECK_STR_EQ(out.data, "{}");
	buf_fini(&out);
}

HARNESS_MAIN("args", TEST_CASE(test_find_and_splice), TEST_CASE(test_empty))
