/* SPDX-License-Identifier: Apache-2.0 */
/* feeds on a real store and events, without HTTP: the lifecycle events
 * (CREATE, READ, UPDATE, PAUSE/UNPAUSE, DELETE) and the protocol's
 * refusals (authKey, triggerName, another namespace, a missing trigger);
 * a seconds cron firing through events_trigger_fire; a once alarm missed
 * while "down" made at the next start, once; a throttled fire retried
 * without the registration being lost; a trigger delete ending its
 * registration through the delete hook. */
#include "controller/feeds.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "controller/throttle.h"
#include "tests/harness.h"
#include "tests/unit/controller_stack.h"

#define GUEST_AUTH                                                        \
	"23bc46b1-71f6-4ed5-8c54-816aa4f8c502:"                           \
	"123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"

static struct stack st;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put_trigger(struct events *ev, const char *name)
{
	_cleanup_json_ cJSON *doc = NULL;
	_cleanup_json_ cJSON *b = cJSON_Parse(
		"{\"annotations\":[{\"key\":\"feed\",\"value\":\"/whisk.system/alarms/alarm\"}]}");
	struct err e = { 0 };

	REQUIRE(b && events_trigger_put(ev, "guest", name, b, true, &doc, &e) == 0);
}

/* Call feed action `feed` with JSON `params` (the protocol's own fields
 * added: lifecycleEvent, triggerName /_/<trigger>, the guest authKey
 * unless params has one). Returns the result; *ok the call's success. */
static cJSON *call(struct feeds *f, const char *feed, const char *event, const char *trigger,
		   const char *params, bool *ok)
{
	cJSON *args = cJSON_Parse(params ? params : "{}"), *res = NULL;
	char tname[128];

	if (!args)
		HARNESS_FAIL("test JSON does not parse: %s", params);
	snprintf(tname, sizeof(tname), "/_/%s", trigger);
	cJSON_AddStringToObject(args, "lifecycleEvent", event);
	cJSON_AddStringToObject(args, "triggerName", tname);
	if (!cJSON_GetObjectItemCaseSensitive(args, "authKey"))
		cJSON_AddStringToObject(args, "authKey", GUEST_AUTH);
	*ok = feeds_builtin(f, feed, "guest", args, &res);
	cJSON_Delete(args);
	if (!res)
		HARNESS_FAIL("%s %s: no result", feed, event);
	return res;
}

/* The call fails with an error that contains `want`. */
static void refused(struct feeds *f, const char *feed, const char *event, const char *trigger,
		    const char *params, const char *want)
{
	bool ok = true;
	_cleanup_json_ cJSON *r = call(f, feed, event, trigger, params, &ok);

	CHECK(!ok);
	CHECK_STR_CONTAINS(json_get_string(r, "error") ? json_get_string(r, "error") : "", want);
}

static void succeeds(struct feeds *f, const char *feed, const char *event, const char *trigger,
		     const char *params)
{
	bool ok = false;
	_cleanup_json_ cJSON *r = call(f, feed, event, trigger, params, &ok);

	CHECK(ok);
	CHECK_STR_EQ(json_get_string(r, "status") ? json_get_string(r, "status") : "", "success");
}

static uint64_t fires_of(const char *name)
{
	uint64_t n = 0;
	struct err e = { 0 };

	if (store_activation_count(st.store, "guest", name, 0, 0, &n, &e) < 0)
		HARNESS_FAIL("count %s: %s", name, e.msg);
	return n;
}

static struct feeds *open_feeds(struct events *ev, bool start)
{
	struct feeds *f = NULL;
	struct err e = { 0 };

	if (feeds_new(&st.cfg, st.store, ev, &f, &e) < 0) {
		HARNESS_FAIL("feeds_new: %s", e.msg);
		abort();
	}
	if (start && feeds_start(f, &e) < 0)
		HARNESS_FAIL("feeds_start: %s", e.msg);
	return f;
}

static void test_lifecycle(void)
{
	struct feeds *f = open_feeds(st.events, false);
	struct feeds_stats s;
	bool ok = false;

	put_trigger(st.events, "life");
	succeeds(f, "alarms/alarm", "CREATE", "life",
		 "{\"cron\":\"0 3 * * *\",\"timezone\":\"Europe/Berlin\",\"trigger_payload\":\"hi\"}");
	refused(f, "alarms/alarm", "CREATE", "life", "{\"cron\":\"0 3 * * *\"}", "already");

	_cleanup_json_ cJSON *r = call(f, "alarms/alarm", "READ", "life", NULL, &ok);
	CHECK(ok);
	CHECK_STR_EQ(json_get_string(json_get_object(r, "config"), "cron"), "0 3 * * *");
	CHECK_STR_EQ(json_get_string(json_get_object(r, "config"), "timezone"), "Europe/Berlin");
	CHECK_STR_EQ(json_get_string(json_get_object(json_get_object(r, "config"), "payload"),
				     "payload"),
		     "hi");
	CHECK(json_get_bool(json_get_object(r, "status"), "active", false));

	succeeds(f, "alarms/alarm", "UPDATE", "life", "{\"cron\":\"30 4 * * *\"}");
	_cleanup_json_ cJSON *u = call(f, "alarms/alarm", "READ", "life", NULL, &ok);
	CHECK_STR_EQ(json_get_string(json_get_object(u, "config"), "cron"), "30 4 * * *");
	CHECK_STR_EQ(json_get_string(json_get_object(u, "config"), "timezone"), "Europe/Berlin");
	refused(f, "alarms/alarm", "UPDATE", "life", "{\"cron\":\"99 * * * *\"}", "cron");

	succeeds(f, "alarms/alarm", "PAUSE", "life", NULL);
	_cleanup_json_ cJSON *p = call(f, "alarms/alarm", "READ", "life", NULL, &ok);
	CHECK(!json_get_bool(json_get_object(p, "status"), "active", true));
	CHECK_STR_EQ(json_get_string(json_get_object(json_get_object(p, "status"), "reason"),
				     "kind"),
		     "USER");
	succeeds(f, "alarms/alarm", "UNPAUSE", "life", NULL);
	feeds_stats_get(f, &s);
	CHECK_INT_EQ(s.registrations, 1);
	CHECK_INT_EQ(s.active, 1);

	/* The protocol's refusals. */
	refused(f, "alarms/alarm", "CREATE", "nosuch", "{\"cron\":\"* * * * *\"}", "does not exist");
	refused(f, "alarms/alarm", "CREATE", "life2",
		"{\"cron\":\"* * * * *\",\"authKey\":\"23bc46b1-71f6-4ed5-8c54-816aa4f8c502:no\"}",
		"authKey");
	refused(f, "alarms/alarm", "SHOUT", "life", NULL, "lifecycleEvent");
	refused(f, "alarms/nope", "READ", "life", NULL, "not a feed");
	{
		_cleanup_json_ cJSON *args = cJSON_Parse(
			"{\"lifecycleEvent\":\"READ\",\"triggerName\":\"/other/life\","
			"\"authKey\":\"" GUEST_AUTH "\"}");
		cJSON *res = NULL;

		CHECK(!feeds_builtin(f, "alarms/alarm", "guest", args, &res));
		CHECK_STR_CONTAINS(json_get_string(res, "error"), "not authorized");
		cJSON_Delete(res);
	}

	succeeds(f, "alarms/alarm", "DELETE", "life", NULL);
	refused(f, "alarms/alarm", "READ", "life", NULL, "No feed is registered");
	/* DELETE when already gone: the CLI's second delete is not an error
	 * of the platform's making, but there is nothing to delete. */
	refused(f, "alarms/alarm", "DELETE", "life", NULL, "No feed is registered");
	feeds_stats_get(f, &s);
	CHECK_INT_EQ(s.registrations, 0);
	feeds_free(f);
}

static void test_cron_fires(void)
{
	struct feeds *f = open_feeds(st.events, true);
	struct feeds_stats s;
	uint64_t before;

	put_trigger(st.events, "tick");
	before = fires_of("tick");
	succeeds(f, "alarms/alarm", "CREATE", "tick", "{\"cron\":\"* * * * * *\"}");
	usleep(3300 * 1000);
	feeds_stats_get(f, &s);
	CHECK(s.fires >= 3 && s.fires <= 4);
	CHECK(s.late_us_max < 1000000);
	/* Each accepted fire is a trigger record. */
	for (int i = 0; i < 50 && fires_of("tick") - before < s.fires; i++)
		usleep(20 * 1000);
	CHECK_INT_EQ(fires_of("tick") - before, s.fires);
	succeeds(f, "alarms/alarm", "DELETE", "tick", NULL);
	feeds_free(f);
}

static void test_missed_at_start(void)
{
	struct feeds *f = open_feeds(st.events, false);
	struct feeds_stats s;
	char params[128];
	bool ok = false;

	put_trigger(st.events, "late");
	snprintf(params, sizeof(params), "{\"date\":%lld}", (long long)(now_ms() + 300));
	/* Registered, but the scheduler never started: "down" at its date. */
	succeeds(f, "alarms/once", "CREATE", "late", params);
	feeds_free(f);
	usleep(600 * 1000);
	CHECK_INT_EQ(fires_of("late"), 0);

	f = open_feeds(st.events, true);
	for (int i = 0; i < 100 && fires_of("late") == 0; i++)
		usleep(20 * 1000);
	CHECK_INT_EQ(fires_of("late"), 1);
	feeds_stats_get(f, &s);
	CHECK_INT_EQ(s.missed_fired, 1);
	_cleanup_json_ cJSON *r = call(f, "alarms/once", "READ", "late", NULL, &ok);
	CHECK(!json_get_bool(json_get_object(r, "status"), "active", true));
	feeds_free(f);

	/* A third start: the fire is recorded, so not made again. */
	f = open_feeds(st.events, true);
	usleep(200 * 1000);
	CHECK_INT_EQ(fires_of("late"), 1);
	feeds_stats_get(f, &s);
	CHECK_INT_EQ(s.missed_fired, 0);
	succeeds(f, "alarms/once", "DELETE", "late", NULL);
	feeds_free(f);
}

static void test_throttled_retry(void)
{
	struct throttle *th = NULL;
	struct events *ev = NULL;
	struct feeds *f;
	struct feeds_stats s;
	struct err e = { 0 };
	bool ok = false;

	st.cfg.limits.fires_per_minute = 1;
	/* The limit counts per clock minute: keep the 2.5 s below inside one. */
	if (now_ms() % 60000 > 56000)
		usleep((useconds_t)(60000 - now_ms() % 60000 + 100) * 1000);
	REQUIRE(throttle_new(&st.cfg, &th, &e) == 0);
	REQUIRE(events_new(st.store, st.invoke, th, &ev, &e) == 0);
	f = open_feeds(ev, true);
	put_trigger(ev, "busy");
	succeeds(f, "alarms/alarm", "CREATE", "busy", "{\"cron\":\"* * * * * *\"}");
	usleep(2500 * 1000);
	feeds_stats_get(f, &s);
	/* One fire per minute: the first accepted, the next refused, retried
	 * after 1 s (and again after 4 s): still registered and active. */
	CHECK_INT_EQ(s.fires, 1);
	CHECK(s.retries >= 1);
	CHECK_INT_EQ(fires_of("busy"), 1);
	_cleanup_json_ cJSON *r = call(f, "alarms/alarm", "READ", "busy", NULL, &ok);
	CHECK(json_get_bool(json_get_object(r, "status"), "active", false));
	succeeds(f, "alarms/alarm", "DELETE", "busy", NULL);
	feeds_free(f);
	events_free(ev);
	throttle_free(th);
	st.cfg.limits.fires_per_minute = 0;
}

static void test_trigger_delete_hook(void)
{
	struct feeds *f = open_feeds(st.events, true);
	struct feeds_stats s;
	struct err e = { 0 };

	put_trigger(st.events, "gone");
	succeeds(f, "alarms/interval", "CREATE", "gone", "{\"minutes\":5}");
	feeds_stats_get(f, &s);
	CHECK_INT_EQ(s.registrations, 1);
	REQUIRE(events_trigger_delete(st.events, "guest", "gone", false, NULL, NULL, &e) == 0);
	feeds_stats_get(f, &s);
	CHECK_INT_EQ(s.registrations, 0);
	put_trigger(st.events, "gone");
	refused(f, "alarms/interval", "READ", "gone", NULL, "No feed is registered");
	feeds_free(f);

	/* Nor does the stored registration come back at the next start. */
	f = open_feeds(st.events, true);
	feeds_stats_get(f, &s);
	CHECK_INT_EQ(s.registrations, 0);
	feeds_free(f);
}

/* Each case on a stack of its own: a fresh store and queue. */
#define STACK_CASE(fn)                                                      \
	static void fn##_on_stack(void)                                     \
	{                                                                   \
		if (stack_open(&st) < 0)                                    \
			HARNESS_FAIL("stack_open");                         \
		fn();                                                       \
		stack_close(&st);                                           \
	}
STACK_CASE(test_lifecycle)
STACK_CASE(test_cron_fires)
STACK_CASE(test_missed_at_start)
STACK_CASE(test_throttled_retry)
STACK_CASE(test_trigger_delete_hook)

HARNESS_MAIN("test_feeds", TEST_CASE(test_lifecycle_on_stack), TEST_CASE(test_cron_fires_on_stack),
	     TEST_CASE(test_missed_at_start_on_stack), TEST_CASE(test_throttled_retry_on_stack),
	     TEST_CASE(test_trigger_delete_hook_on_stack));
