/* SPDX-License-Identifier: Apache-2.0 */
/* feedreg on a real store: the status shape of OpenWhisk's alarms
 * package (active, dateChanged, dateChangedISO, reason when inactive); a
 * registration saved under "#feed:<trigger>" and read back with its
 * params and reason, its key found again by uuid and namespace (and not
 * in another namespace); documents that are not registrations refused;
 * unstore removes it, twice is no error; the lifecycle replies. */
#include "controller/feedreg.h"

#include <errno.h>
#include <string.h>

#include "controller/store.h"
#include "tests/harness.h"
#include "tests/unit/controller_stack.h"

static struct feedreg reg(struct stack *st)
{
	struct feedreg r = { 0 };

	snprintf(r.ns, sizeof(r.ns), "guest");
	snprintf(r.name, sizeof(r.name), "door");
	snprintf(r.feed, sizeof(r.feed), "mqtt/subscribe");
	snprintf(r.key_uuid, sizeof(r.key_uuid), "%s", st->cfg.keys[0].uuid);
	r.key = 0;
	return r;
}

static void test_status(void)
{
	struct feedreg r = { 0 };
	_cleanup_json_ cJSON *s = NULL, *s2 = NULL;
	const cJSON *reason;

	feedreg_set_active(&r);
	r.changed_ms = 1767225600250ull; /* 2026-01-01T00:00:00.250Z */
	s = feedreg_status(&r);
	REQUIRE(s);
	CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "active")));
	CHECK(cJSON_GetObjectItemCaseSensitive(s, "dateChanged")->valuedouble == 1767225600250.0);
	CHECK_STR_EQ(json_get_string(s, "dateChangedISO"), "2026-01-01T00:00:00.250Z");
	CHECK(cJSON_GetObjectItemCaseSensitive(s, "reason") == NULL);

	feedreg_set_inactive(&r, "AUTO", 400, "Automatically disabled: bad");
	CHECK(!r.active);
	CHECK(r.changed_ms > 1767225600250ull);
	s2 = feedreg_status(&r);
	REQUIRE(s2);
	reason = cJSON_GetObjectItemCaseSensitive(s2, "reason");
	CHECK_STR_EQ(json_get_string(reason, "kind"), "AUTO");
	CHECK_INT_EQ(cJSON_GetObjectItemCaseSensitive(reason, "statusCode")->valueint, 400);
	CHECK_STR_EQ(json_get_string(reason, "message"), "Automatically disabled: bad");
	/* Active again: the reason goes. */
	feedreg_set_active(&r);
	CHECK(r.active && r.reason == NULL);
	feedreg_fini(&r);
}

static void test_save_load_unstore(void)
{
	struct stack st;
	struct feedreg r, back;
	struct err e = { 0 };
	_cleanup_json_ cJSON *doc = NULL;
	const cJSON *params = NULL;

	REQUIRE(stack_open(&st) == 0);
	r = reg(&st);
	feedreg_set_inactive(&r, "USER", 0, "Paused by its owner.");
	REQUIRE(feedreg_save(st.store, &r, cJSON_Parse("{\"topic\":[\"a/#\"],\"qos\":1}"), &e) == 0);
	/* Stored in its own collection, by a name no entity can have. */
	REQUIRE(store_entity_load(st.store, "guest", FEEDREG_COLL, "#feed:door", &doc, &e) == 0);
	CHECK_STR_EQ(json_get_string(doc, "feed"), "mqtt/subscribe");
	CHECK_STR_EQ(json_get_string(doc, "key"), st.cfg.keys[0].uuid);

	REQUIRE(feedreg_from_doc(&back, doc, &st.cfg, &params, &e) == 0);
	CHECK_STR_EQ(back.ns, "guest");
	CHECK_STR_EQ(back.name, "door");
	CHECK_STR_EQ(back.feed, "mqtt/subscribe");
	CHECK_INT_EQ(back.key, 0);
	CHECK(!back.active);
	CHECK(back.changed_ms == r.changed_ms);
	CHECK_STR_EQ(json_get_string(back.reason, "kind"), "USER");
	CHECK(cJSON_GetObjectItemCaseSensitive(back.reason, "statusCode") == NULL);
	CHECK_INT_EQ(cJSON_GetObjectItemCaseSensitive(params, "qos")->valueint, 1);
	feedreg_fini(&back);

	feedreg_unstore(st.store, "guest", "door");
	cJSON_Delete(doc);
	doc = NULL;
	CHECK_INT_EQ(store_entity_load(st.store, "guest", FEEDREG_COLL, "#feed:door", &doc, &e),
		     -ENOENT);
	feedreg_unstore(st.store, "guest", "door");
	feedreg_fini(&r);
	stack_close(&st);
}

static void test_params_taken_on_error(void)
{
	struct stack st;
	struct feedreg r;
	struct err e = { 0 };
	_cleanup_json_ cJSON *doc = NULL;

	REQUIRE(stack_open(&st) == 0);
	r = reg(&st);
	/* No params: refused, nothing stored (and under ASan, nothing leaked). */
	CHECK_INT_EQ(feedreg_save(st.store, &r, NULL, &e), -ENOMEM);
	CHECK_INT_EQ(store_entity_load(st.store, "guest", FEEDREG_COLL, "#feed:door", &doc, &e),
		     -ENOENT);
	stack_close(&st);
}

static void check_not_reg(const struct cfg *c, const char *json)
{
	_cleanup_json_ cJSON *doc = cJSON_Parse(json);
	struct feedreg r;
	const cJSON *params;
	struct err e = { 0 };

	REQUIRE(doc);
	if (feedreg_from_doc(&r, doc, c, &params, &e) == 0) {
		HARNESS_FAIL("%s: taken as a registration", json);
		feedreg_fini(&r);
		return;
	}
	CHECK_INT_EQ(e.code, -EINVAL);
}

static void test_keys_and_bad_docs(void)
{
	struct cfg c;
	_cleanup_json_ cJSON *doc = NULL;
	struct feedreg r;
	const cJSON *params;
	struct err e = { 0 };
	char json[512];

	cfg_defaults(&c);
	CHECK_INT_EQ(feedreg_key_of_uuid(&c, c.keys[0].namespace, c.keys[0].uuid), 0);
	CHECK_INT_EQ(feedreg_key_of_uuid(&c, "other", c.keys[0].uuid), -1);
	CHECK_INT_EQ(feedreg_key_of_uuid(&c, c.keys[0].namespace,
					 "00000000-0000-0000-0000-000000000000"), -1);

	check_not_reg(&c, "{}");
	check_not_reg(&c, "{\"namespace\":\"guest\",\"name\":\"t\",\"feed\":\"mqtt/subscribe\"}");
	check_not_reg(&c, "{\"namespace\":\"guest\",\"name\":\"../t\",\"feed\":\"x\",\"key\":\"k\"}");
	check_not_reg(&c, "{\"namespace\":\"guest\",\"name\":\"t\",\"feed\":"
			  "\"a-feed-name-longer-than-thirty-two-bytes\",\"key\":\"k\"}");

	/* The owner's key was removed from the config: kept, with key -1. */
	snprintf(json, sizeof(json),
		 "{\"namespace\":\"guest\",\"name\":\"t\",\"feed\":\"alarms/alarm\","
		 "\"key\":\"00000000-0000-0000-0000-000000000000\",\"params\":{}}");
	doc = cJSON_Parse(json);
	REQUIRE(doc);
	REQUIRE(feedreg_from_doc(&r, doc, &c, &params, &e) == 0);
	CHECK_INT_EQ(r.key, -1);
	CHECK(r.active); /* no status stored: active, as it was made */
	CHECK(cJSON_IsObject(params));
	feedreg_fini(&r);
}

static void test_replies(void)
{
	_cleanup_json_ cJSON *ok = feedreg_success();
	_cleanup_json_ cJSON *err = feedreg_error("No feed is registered for trigger /%s/%s.",
						  "guest", "t");

	REQUIRE(ok && err);
	CHECK_STR_EQ(json_get_string(ok, "status"), "success");
	CHECK_STR_EQ(json_get_string(err, "error"), "No feed is registered for trigger /guest/t.");
	CHECK_INT_EQ(cJSON_GetArraySize(err), 1);
}

HARNESS_MAIN("feedreg", TEST_CASE(test_status), TEST_CASE(test_save_load_unstore),
	     TEST_CASE(test_params_taken_on_error), TEST_CASE(test_keys_and_bad_docs),
	     TEST_CASE(test_replies))
