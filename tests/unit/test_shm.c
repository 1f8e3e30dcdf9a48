/* SPDX-License-Identifier: Apache-2.0 */
/* shm: exclusive create, attach sees the same bytes, size check, unlink. */
#include "common/shm.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "tests/harness.h"

static void test_create_attach_unlink(void)
{
	char name[64];
	struct err e = { 0 };
	void *a = NULL, *b = NULL, *c = NULL;
	size_t len = 0;

	snprintf(name, sizeof(name), "/ewtest-shm-%d", (int)getpid());
	shm_region_unlink(name);
	REQUIRE(shm_region_create(name, 8192, &a, &e) == 0);
	CHECK_INT_EQ(((char *)a)[8191], 0);  /* zero-filled */
	CHECK_INT_EQ(shm_region_create(name, 8192, &c, &e), -EEXIST);
	CHECK_STR_CONTAINS(e.msg, name);
	REQUIRE(shm_region_attach(name, 64, &b, &len, &e) == 0);
	CHECK_INT_EQ(len, 8192);
	((char *)a)[100] = 42;
	CHECK_INT_EQ(((char *)b)[100], 42);
	CHECK_INT_EQ(shm_region_attach(name, 16384, &c, &len, &e), -EPROTO);
	CHECK_STR_CONTAINS(e.msg, "smaller");
	CHECK_INT_EQ(shm_region_unlink(name), 0);
	CHECK_INT_EQ(shm_region_attach(name, 64, &c, &len, &e), -ENOENT);
	CHECK_INT_EQ(shm_region_unlink(name), -ENOENT);
	/* Mappings outlive the name. */
	CHECK_INT_EQ(((char *)b)[100], 42);
	shm_region_unmap(a, 8192);
	shm_region_unmap(b, 8192);
	shm_region_unmap(NULL, 0);
}

HARNESS_MAIN("shm", TEST_CASE(test_create_attach_unlink))
