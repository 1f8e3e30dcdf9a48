/* SPDX-License-Identifier: Apache-2.0 */
/* catalog: /whisk.system/utils installed on an empty store as a client's
 * PUT would store it (published package, nine Node.js actions with their
 * descriptions); a second start writes nothing; a changed or extra entity
 * is put back in line; a configuration without the Node.js kind skips the
 * actions and keeps the rest; the built-in feeds (alarms, mqtt) come along. */
#include "controller/catalog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "controller/access.h"
#include "controller/packages.h"
#include "tests/harness.h"
#include "tests/unit/controller_stack.h"

static struct stack st;

static const char *const utils[] = { "echo", "cat", "sort", "head", "split",
				     "date", "namespace", "hosturl", "smash" };
#define UTILS_COUNT (sizeof(utils) / sizeof(utils[0]))
/* The built-in feeds: /whisk.system/alarms (the package and its three
 * feed actions) and /whisk.system/mqtt (the package and subscribe). */
#define FEED_ENTITIES (4 + 2)

static void test_install_and_again(void)
{
	_cleanup_json_ cJSON *pkg = NULL, *act = NULL;
	struct catalog_stats s;
	struct err e = { 0 };
	char full[64];

	REQUIRE(stack_open(&st) == 0);
	REQUIRE(catalog_install(&st.cfg, st.store, st.invoke, &s, &e) == 0);
	CHECK_INT_EQ(s.written, 1 + UTILS_COUNT + FEED_ENTITIES);
	CHECK_INT_EQ(s.kept + s.removed + s.skipped, 0);

	REQUIRE(packages_get(st.store, ACCESS_SYSTEM_NS, "utils", &pkg, &e) == 0);
	CHECK_INT_EQ(json_get_bool(pkg, "publish", false), true);
	CHECK_INT_EQ(access_package_shared(pkg), true);
	CHECK_INT_EQ(cJSON_GetArraySize(json_get_array(pkg, "actions")), UTILS_COUNT);
	for (size_t i = 0; i < UTILS_COUNT; i++) {
		snprintf(full, sizeof(full), "utils/%s", utils[i]);
		json_delete(act);
		act = NULL;
		if (store_entity_load(st.store, ACCESS_SYSTEM_NS, "actions", full, &act, &e) < 0) {
			HARNESS_FAIL("%s missing: %s", full, e.msg);
			continue;
		}
		CHECK_STR_EQ(json_get_string(act, "namespace"), "whisk.system/utils");
		CHECK_STR_EQ(json_get_string(json_get_object(act, "exec"), "kind"), "nodejs:20");
		CHECK_STR_CONTAINS(json_get_string(json_get_object(act, "exec"), "code"),
				   "function main(");
	}
	/* The mqtt feed action: a built-in, marked as a feed. */
	json_delete(act);
	act = NULL;
	REQUIRE(store_entity_load(st.store, ACCESS_SYSTEM_NS, "actions", "mqtt/subscribe", &act,
				  &e) == 0);
	CHECK_STR_EQ(json_get_string(json_get_object(act, "exec"), "kind"), "builtin");
	{
		char *ann = cJSON_PrintUnformatted(json_get_array(act, "annotations"));

		CHECK_STR_CONTAINS(ann, "{\"key\":\"feed\",\"value\":true}");
		cJSON_free(ann);
	}
	/* The echo action is the one everyone's sequences use. */
	json_delete(act);
	act = NULL;
	REQUIRE(store_entity_load(st.store, ACCESS_SYSTEM_NS, "actions", "utils/echo", &act, &e) == 0);
	{
		char *ann = cJSON_PrintUnformatted(json_get_array(act, "annotations"));

		CHECK_STR_CONTAINS(ann, "\"Returns the input\"");
		free(ann);
	}

	/* A restart: nothing to write. */
	REQUIRE(catalog_install(&st.cfg, st.store, st.invoke, &s, &e) == 0);
	CHECK_INT_EQ(s.written, 0);
	CHECK_INT_EQ(s.kept, 1 + UTILS_COUNT + FEED_ENTITIES);
	stack_close(&st);
}

static void test_drift_repaired(void)
{
	_cleanup_json_ cJSON *body = NULL, *doc = NULL, *echo = NULL;
	const char *extra = "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"function main(){}\"}}";
	struct catalog_stats s;
	struct err e = { 0 };

	REQUIRE(stack_open(&st) == 0);
	REQUIRE(catalog_install(&st.cfg, st.store, st.invoke, &s, &e) == 0);
	/* An older release's echo, an action and a package it had and this
	 * one has not. */
	REQUIRE(json_parse(extra, strlen(extra), &body, NULL) == 0);
	REQUIRE(entity_action_build(&st.cfg, "whisk.system/utils", "echo", body, NULL, 1, &doc, &e) == 0);
	REQUIRE(store_entity_save(st.store, ACCESS_SYSTEM_NS, "actions", "utils/echo", doc, 1, true, &e) == 0);
	json_delete(doc);
	doc = NULL;
	REQUIRE(entity_action_build(&st.cfg, "whisk.system/utils", "old", body, NULL, 1, &doc, &e) == 0);
	REQUIRE(store_entity_save(st.store, ACCESS_SYSTEM_NS, "actions", "utils/old", doc, 1, false, &e) == 0);
	json_delete(doc);
	doc = NULL;
	REQUIRE(packages_put(st.store, ACCESS_SYSTEM_NS, "gone", NULL, false, &doc, &e) == 0);

	REQUIRE(catalog_install(&st.cfg, st.store, st.invoke, &s, &e) == 0);
	CHECK_INT_EQ(s.written, 1);
	CHECK_INT_EQ(s.removed, 2);
	CHECK_INT_EQ(s.kept, UTILS_COUNT + FEED_ENTITIES);
	REQUIRE(store_entity_load(st.store, ACCESS_SYSTEM_NS, "actions", "utils/echo", &echo, &e) == 0);
	CHECK_STR_CONTAINS(json_get_string(json_get_object(echo, "exec"), "code"), "return params");
	CHECK_INT_EQ(store_entity_load(st.store, ACCESS_SYSTEM_NS, "actions", "utils/old", &doc, NULL),
		     -ENOENT);
	CHECK_INT_EQ(store_entity_load(st.store, ACCESS_SYSTEM_NS, "packages", "gone", &doc, NULL),
		     -ENOENT);
	stack_close(&st);
}

static void test_without_nodejs(void)
{
	_cleanup_json_ cJSON *pkg = NULL;
	struct catalog_stats s;
	struct err e = { 0 };
	uint32_t w = 0;

	REQUIRE(stack_open(&st) == 0);
	/* Keep every kind but the Node.js ones. */
	for (uint32_t i = 0; i < st.cfg.kind_count; i++)
		if (strncmp(st.cfg.kinds[i].name, "nodejs", 6) != 0)
			st.cfg.kinds[w++] = st.cfg.kinds[i];
	REQUIRE(w < st.cfg.kind_count);
	st.cfg.kind_count = w;
	REQUIRE(catalog_install(&st.cfg, st.store, st.invoke, &s, &e) == 0);
	CHECK_INT_EQ(s.skipped, UTILS_COUNT);
	/* The feeds need no runtime: alarms is installed all the same. */
	CHECK_INT_EQ(s.written, 1 + FEED_ENTITIES);
	REQUIRE(packages_get(st.store, ACCESS_SYSTEM_NS, "utils", &pkg, &e) == 0);
	CHECK_INT_EQ(cJSON_GetArraySize(json_get_array(pkg, "actions")), 0);
	stack_close(&st);
}

HARNESS_MAIN("test_catalog", TEST_CASE(test_install_and_again), TEST_CASE(test_drift_repaired),
	     TEST_CASE(test_without_nodejs))
