/* SPDX-License-Identifier: Apache-2.0 */
/* image_ref: what Docker takes as an image reference passes, option-like,
 * spaced, upper-case or malformed names do not. */
#include "common/image_ref.h"

#include <string.h>

#include "tests/harness.h"

static void test_valid(void)
{
	static const char *const ok[] = {
		"busybox",
		"edgewhisk/action-nodejs:1",
		"openwhisk/action-nodejs-v20:nightly",
		"library/python:3.11-slim",
		"a",
		"a_b__c.d-e---f:Tag_1.0-x",
		"team/a_b__c.d-e---f",
		"Team/app", /* an upper-case first component is a host */
		"localhost/x",
		"localhost:5000/team/app:v2",
		"registry.example.com/x/y/z",
		"my-registry.local:443/img",
		"Registry.Example.com/lower",
		"x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"x:1@sha256:0123456789abcdef0123456789abcdef",
		"x@sha256+b64.v1:0123456789abcdef0123456789ABCDEF",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!image_ref_is_valid(ok[i]))
			HARNESS_FAIL("'%s' should be valid", ok[i]);
}

static void test_invalid(void)
{
	static const char *const bad[] = {
		"",
		"-v",
		"--privileged",
		"a b",
		"Busybox",
		"team/App",
		"x:",
		"x:-1",
		":tag",
		"/x",
		"x/",
		"x//y",
		"a..b",
		"a___b",
		"my_host.com/x", /* a host takes no '_' */
		"a-",
		"_a",
		"x:a:b",
		"x@",
		"x@sha256:abc",
		"x@sha256:0123456789abcdef0123456789abcdefZZ",
		"x@:0123456789abcdef0123456789abcdef",
		"localhost:/x",
		"local-.host/x",
		"host.:1/x",
		"x\ny",
		"x;rm",
		"x:\xc3\xa9",
	};
	char longname[300], longtag[200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (image_ref_is_valid(bad[i]))
			HARNESS_FAIL("'%s' should be invalid", bad[i]);
	CHECK(!image_ref_is_valid(NULL));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK(!image_ref_is_valid(longname));
	longname[IMAGE_REF_NAME_MAX] = '\0';
	CHECK(image_ref_is_valid(longname));
	memcpy(longtag, "x:", 2);
	memset(longtag + 2, 't', sizeof(longtag) - 3);
	longtag[sizeof(longtag) - 1] = '\0';
	CHECK(!image_ref_is_valid(longtag));
	longtag[2 + 128] = '\0';
	CHECK(image_ref_is_valid(longtag));
}

HARNESS_MAIN("test_image_ref", TEST_CASE(test_valid), TEST_CASE(test_invalid))
