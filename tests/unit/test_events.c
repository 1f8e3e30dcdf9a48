/* SPDX-License-Identifier: Apache-2.0 */
/* events and packages: the trigger/rule and package operations on a real
 * store, without HTTP — links kept across trigger updates, a rule moved
 * to another trigger, rules left behind by a deleted trigger, fires with
 * no active rule, `final` parameters; bindings and forced deletes. */
#include "controller/events.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "controller/packages.h"
#include "tests/harness.h"
#include "tests/unit/controller_stack.h"

static struct stack st;

static cJSON *obj(const char *text)
{
	cJSON *j = NULL;

	if (json_parse(text, strlen(text), &j, NULL) < 0)
		HARNESS_FAIL("bad test JSON %s", text);
	return j;
}

static int put_trigger(const char *name, const char *body, bool overwrite)
{
	_cleanup_json_ cJSON *b = obj(body), *doc = NULL;
	struct err e = { 0 };

	return events_trigger_put(st.events, "guest", name, b, overwrite, &doc, &e);
}

static int put_rule(const char *name, const char *body, bool overwrite, struct err *e)
{
	_cleanup_json_ cJSON *b = obj(body), *doc = NULL;

	return events_rule_put(st.events, "guest", name, b, overwrite, &doc, e);
}

/* docns "guest" or "guest/pkg", name the short name, full as stored. */
static void put_action_in(const char *docns, const char *name, const char *full)
{
	_cleanup_json_ cJSON *doc = NULL;
	_cleanup_json_ cJSON *b =
		obj("{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"function main(){}\"}}");
	struct err e = { 0 };

	REQUIRE(entity_action_build(&st.cfg, docns, name, b, NULL, 1, &doc, &e) == 0);
	REQUIRE(store_entity_save(st.store, "guest", "actions", full, doc, 1, false, &e) == 0);
}

static void put_action(const char *name)
{
	put_action_in("guest", name, name);
}

/* The status trigger `t` holds for rule `r`, or "" when unlinked. */
static const char *link_status(const char *t, const char *r)
{
	static char out[32];
	_cleanup_json_ cJSON *doc = NULL;
	char key[64];

	out[0] = '\0';
	snprintf(key, sizeof(key), "guest/%s", r);
	if (store_entity_load(st.store, "guest", "triggers", t, &doc, NULL) == 0) {
		const char *s = json_get_string(json_get_object(json_get_object(doc, "rules"), key),
						"status");

		snprintf(out, sizeof(out), "%s", s ? s : "");
	}
	return out;
}

static void test_links_follow_the_rule(void)
{
	_cleanup_json_ cJSON *doc = NULL;
	struct err e = { 0 };

	REQUIRE(stack_open(&st) == 0);
	put_action("a");
	REQUIRE(put_trigger("t1", "{}", false) == 0);
	REQUIRE(put_trigger("t2", "{}", false) == 0);
	REQUIRE(put_rule("r", "{\"trigger\":\"t1\",\"action\":\"a\"}", false, &e) == 0);
	CHECK_STR_EQ(link_status("t1", "r"), "active");
	/* Updating the trigger keeps its rules map. */
	REQUIRE(put_trigger("t1", "{\"parameters\":[{\"key\":\"k\",\"value\":1}]}", true) == 0);
	CHECK_STR_EQ(link_status("t1", "r"), "active");
	/* Moving the rule leaves the old trigger. */
	REQUIRE(put_rule("r", "{\"trigger\":\"t2\",\"action\":\"a\"}", true, &e) == 0);
	CHECK_STR_EQ(link_status("t1", "r"), "");
	CHECK_STR_EQ(link_status("t2", "r"), "active");
	REQUIRE(events_rule_set_status(st.events, "guest", "r", "inactive", &doc, &e) == 0);
	CHECK_STR_EQ(json_get_string(doc, "status"), "inactive");
	CHECK_STR_EQ(link_status("t2", "r"), "inactive");
	json_delete(doc);
	doc = NULL;
	/* A deleted trigger leaves its rules inactive and unable to start. */
	REQUIRE(store_entity_delete(st.store, "guest", "triggers", "t2", NULL, NULL, &e) == 0);
	REQUIRE(events_rule_get(st.events, "guest", "r", &doc, &e) == 0);
	CHECK_STR_EQ(json_get_string(doc, "status"), "inactive");
	json_delete(doc);
	doc = NULL;
	err_clear(&e);
	CHECK_INT_EQ(events_rule_set_status(st.events, "guest", "r", "active", &doc, &e), -ENOENT);
	CHECK_STR_EQ(e.msg, "Only rules with existing triggers can be activated");
	err_clear(&e);
	CHECK_INT_EQ(events_rule_set_status(st.events, "guest", "r", NULL, &doc, &e), -EINVAL);
	err_clear(&e);
	CHECK_INT_EQ(events_rule_set_status(st.events, "guest", "none", "active", &doc, &e), -ENOENT);
	CHECK_STR_EQ(e.msg, "The requested resource does not exist.");
	REQUIRE(events_rule_delete(st.events, "guest", "r", &doc, &e) == 0);
	CHECK_STR_EQ(json_get_string(doc, "status"), "inactive");
	json_delete(doc);
	doc = NULL;
	CHECK_INT_EQ(events_rule_delete(st.events, "guest", "r", &doc, &e), -ENOENT);
	stack_close(&st);
}

static void test_fire_records(void)
{
	const char *payload = "{\"p\": 2}", *bad = "{\"k\":3}";
	struct err e = { 0 };
	char id[33] = "", *text = NULL;
	size_t len = 0;

	REQUIRE(stack_open(&st) == 0);
	REQUIRE(put_trigger("t", "{\"parameters\":[{\"key\":\"k\",\"value\":1}],"
				 "\"annotations\":[{\"key\":\"final\",\"value\":true}]}",
			    false) == 0);
	/* No rule at all: still recorded, with the payload over the
	 * trigger's parameters and no log line. */
	REQUIRE(events_trigger_fire(st.events, "guest", 0, "t", payload, strlen(payload), id, &e) == 0);
	CHECK_INT_EQ(strlen(id), 32);
	REQUIRE(store_activation_get(st.store, "guest", id, &text, &len, &e) == 0);
	CHECK_STR_CONTAINS(text, "\"result\":{\"p\":2}");
	CHECK_STR_CONTAINS(text, "\"logs\":[]");
	free(text);
	/* A `final` trigger parameter cannot be overridden. */
	CHECK_INT_EQ(events_trigger_fire(st.events, "guest", 0, "t", bad, strlen(bad), id, &e), -EINVAL);
	err_clear(&e);
	CHECK_INT_EQ(events_trigger_fire(st.events, "guest", 0, "none", NULL, 0, id, &e), -ENOENT);
	CHECK_STR_EQ(e.msg, "The requested resource does not exist.");
	stack_close(&st);
}

static void test_packages_ops(void)
{
	_cleanup_json_ cJSON *pub = obj("{\"publish\":true}"),
			     *bind = obj("{\"binding\":{\"namespace\":\"guest\",\"name\":\"p\"}}");
	cJSON *doc = NULL;
	struct err e = { 0 };
	char *text = NULL;
	size_t len = 0;

	REQUIRE(stack_open(&st) == 0);
	REQUIRE(packages_put(st.store, "guest", "p", pub, false, &doc, &e) == 0);
	json_delete(doc);
	REQUIRE(packages_put(st.store, "guest", "b", bind, false, &doc, &e) == 0);
	json_delete(doc);
	put_action_in("guest/p", "a", "p/a");
	/* A binding shows the bound package's actions and parameters
	 * (its own win), as upstream. */
	REQUIRE(packages_get(st.store, "guest", "b", &doc, &e) == 0);
	CHECK_INT_EQ(cJSON_GetArraySize(json_get_array(doc, "actions")), 1);
	CHECK_STR_EQ(json_get_string(cJSON_GetArrayItem(json_get_array(doc, "actions"), 0), "name"),
		     "a");
	CHECK_STR_EQ(json_get_string(doc, "name"), "b");
	CHECK_INT_EQ(entity_package_is_binding(doc), true);
	json_delete(doc);
	{
		_cleanup_json_ cJSON *pp = obj("{\"parameters\":[{\"key\":\"k\",\"value\":\"pkg\"},"
					       "{\"key\":\"j\",\"value\":\"pkg\"}]}"),
				     *bb = obj("{\"binding\":{\"namespace\":\"guest\",\"name\":\"pp\"},"
					       "\"parameters\":[{\"key\":\"k\",\"value\":\"bind\"}]}");
		char *params;

		REQUIRE(packages_put(st.store, "guest", "pp", pp, false, &doc, &e) == 0);
		json_delete(doc);
		REQUIRE(packages_put(st.store, "guest", "bb", bb, false, &doc, &e) == 0);
		json_delete(doc);
		REQUIRE(packages_get(st.store, "guest", "bb", &doc, &e) == 0);
		params = cJSON_PrintUnformatted(json_get_array(doc, "parameters"));
		CHECK_STR_EQ(params, "[{\"key\":\"j\",\"value\":\"pkg\"},{\"key\":\"k\",\"value\":\"bind\"}]");
		free(params);
		json_delete(doc);
	}
	CHECK_INT_EQ(packages_put(st.store, "guest", "p", pub, false, &doc, &e), -EEXIST);
	CHECK_STR_EQ(e.msg, "resource already exists");
	err_clear(&e);
	CHECK_INT_EQ(packages_delete(st.store, st.invoke, "guest", "p", false, &text, &len, &e),
		     -EEXIST);
	err_clear(&e);
	REQUIRE(packages_delete(st.store, st.invoke, "guest", "p", true, &text, &len, &e) == 0);
	CHECK_STR_CONTAINS(text, "\"name\":\"p\"");
	free(text);
	CHECK_INT_EQ(store_entity_load(st.store, "guest", "actions", "p/a", &doc, NULL), -ENOENT);
	CHECK_INT_EQ(packages_delete(st.store, st.invoke, "guest", "p", true, &text, &len, &e),
		     -ENOENT);
	stack_close(&st);
}

HARNESS_MAIN("test_events", TEST_CASE(test_links_follow_the_rule), TEST_CASE(test_fire_records),
	     TEST_CASE(test_packages_ops))
