/* SPDX-License-Identifier: Apache-2.0 */
/* alarm: dates (epoch ms, ISO-8601 with and without zones, impossible
 * days refused); each kind's parameters checked with messages that name
 * the parameter (bad cron, unknown timezone, past dates, stopDate before
 * startDate, minutes <= 0, deleteAfterFire); trigger_payload as an object
 * or a string; next fire times for cron (start/stop bounds), once and
 * interval; parameters read back after a restart give the same schedule. */
#include "controller/alarm.h"

#include <errno.h>
#include <string.h>

#include "tests/harness.h"

#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */

/* Test inputs are literals: a NULL here is the test's own typo, which
 * the parse functions then refuse loudly. */
static cJSON *params(const char *json)
{
	cJSON *j = cJSON_Parse(json);

	if (!j)
		HARNESS_FAIL("test JSON does not parse: %s", json);
	return j;
}

static void check_date(const char *json, int64_t want)
{
	_cleanup_json_ cJSON *v = params(json);
	int64_t ms = -1;

	if (alarm_date_of(v, &ms) != 0) {
		HARNESS_FAIL("%s: refused", json);
		return;
	}
	CHECK_INT_EQ(ms, want);
}

static void check_bad_date(const char *json)
{
	_cleanup_json_ cJSON *v = params(json);
	int64_t ms;

	CHECK_INT_EQ(alarm_date_of(v, &ms), -EINVAL);
}

static void test_dates(void)
{
	check_date("1767225600000", T0);
	check_date("\"2026-01-01T00:00:00Z\"", T0);
	check_date("\"2026-01-01T00:00:00.250Z\"", T0 + 250);
	check_date("\"2026-01-01T01:00:00+01:00\"", T0);
	check_date("\"2025-12-31T19:00:00-0500\"", T0);
	check_date("\"2026-01-01\"", T0);
	check_date("\"2026-01-01 00:00\"", T0);
	check_bad_date("\"2026-02-30T00:00:00Z\"");
	check_bad_date("\"2026-13-01\"");
	check_bad_date("\"tomorrow\"");
	check_bad_date("\"2026-01-01T00:00:00Zjunk\"");
	check_bad_date("-5");
	check_bad_date("1.5");
	check_bad_date("true");
}

/* parse json as kind k at T0 (every date fresh) and expect message part. */
static void check_refused(enum alarm_kind k, const char *json, const char *part)
{
	_cleanup_json_ cJSON *p = params(json);
	struct alarm a;
	struct err e = { 0 };

	if (alarm_parse(k, p, p, T0, &a, &e) == 0) {
		HARNESS_FAIL("%s: accepted", json);
		alarm_fini(&a);
		return;
	}
	CHECK_INT_EQ(e.code, -EINVAL);
	CHECK_STR_CONTAINS(e.msg, part);
}

static void test_refusals(void)
{
	check_refused(ALARM_CRON, "{}", "cron");
	check_refused(ALARM_CRON, "{\"cron\":\"61 * * * *\"}", "cron pattern '61 * * * *'");
	check_refused(ALARM_CRON, "{\"cron\":\"* * * *\"}", "cron pattern");
	check_refused(ALARM_CRON, "{\"cron\":\"* * * * *\",\"timezone\":\"Mars/Base\"}",
		      "timezone 'Mars/Base'");
	check_refused(ALARM_CRON, "{\"cron\":\"* * * * *\",\"timezone\":\"../../etc/passwd\"}",
		      "timezone");
	check_refused(ALARM_CRON, "{\"cron\":\"* * * * *\",\"startDate\":1000}",
		      "startDate must be in the future");
	check_refused(ALARM_CRON,
		      "{\"cron\":\"* * * * *\",\"startDate\":\"2026-02-01T00:00:00Z\","
		      "\"stopDate\":\"2026-01-15T00:00:00Z\"}",
		      "stopDate must be after startDate");
	/* No minute of 2026-01-01 00:00:10..00:00:50 is a whole hour. */
	check_refused(ALARM_CRON,
		      "{\"cron\":\"0 * * * *\",\"startDate\":\"2026-01-01T00:00:10Z\","
		      "\"stopDate\":\"2026-01-01T00:00:50Z\"}",
		      "before the first fire");
	check_refused(ALARM_CRON, "{\"cron\":\"* * * * *\",\"trigger_payload\":[1]}",
		      "trigger_payload");
	check_refused(ALARM_CRON, "{\"cron\":\"* * * * *\",\"strict\":\"maybe\"}", "strict");
	check_refused(ALARM_ONCE, "{}", "date");
	check_refused(ALARM_ONCE, "{\"date\":\"2020-01-01T00:00:00Z\"}", "date must be in the future");
	check_refused(ALARM_ONCE, "{\"date\":\"soon\"}", "date must be a date");
	check_refused(ALARM_ONCE, "{\"date\":\"2027-01-01\",\"deleteAfterFire\":\"all\"}",
		      "deleteAfterFire");
	check_refused(ALARM_INTERVAL, "{}", "minutes");
	check_refused(ALARM_INTERVAL, "{\"minutes\":0}", "minutes");
	check_refused(ALARM_INTERVAL, "{\"minutes\":-3}", "minutes");
	check_refused(ALARM_INTERVAL, "{\"minutes\":1.5}", "minutes");
	check_refused(ALARM_INTERVAL, "{\"minutes\":5,\"maxTriggers\":3}", "maxTriggers");
}

static void test_cron_schedule(void)
{
	_cleanup_json_ cJSON *p = params(
		"{\"cron\":\"*/10 * * * * *\",\"trigger_payload\":\"hi\","
		"\"startDate\":\"2026-01-01T00:01:00Z\",\"stopDate\":\"2026-01-01T00:01:30Z\","
		"\"strict\":\"true\"}");
	_cleanup_json_ cJSON *back = NULL, *view = NULL;
	struct alarm a, b;
	struct err e = { 0 };
	int64_t t;

	REQUIRE(alarm_parse(ALARM_CRON, p, p, T0, &a, &e) == 0);
	CHECK_STR_EQ(a.payload, "{\"payload\":\"hi\"}");
	CHECK_INT_EQ(a.strict, true);
	/* Nothing before startDate; its own second counts. */
	REQUIRE(alarm_next(&a, T0, &t) == 0);
	CHECK_INT_EQ(t, T0 + 60000);
	REQUIRE(alarm_next(&a, T0 + 60000, &t) == 0);
	CHECK_INT_EQ(t, T0 + 70000);
	REQUIRE(alarm_next(&a, T0 + 70500, &t) == 0);
	CHECK_INT_EQ(t, T0 + 80000);
	/* 00:01:30 is the stopDate itself: not fired. */
	CHECK_INT_EQ(alarm_next(&a, T0 + 80000, &t), -ENOENT);

	/* Stored and read back (dates now past, none fresh): the same. */
	back = alarm_params(&a, false);
	REQUIRE(back != NULL);
	REQUIRE(alarm_parse(ALARM_CRON, back, NULL, T0 + 90000, &b, &e) == 0);
	CHECK_STR_EQ(b.cron_text, "*/10 * * * * *");
	CHECK_STR_EQ(b.payload, a.payload);
	CHECK_INT_EQ(b.start_ms, a.start_ms);
	CHECK_INT_EQ(b.stop_ms, a.stop_ms);
	view = alarm_params(&a, true);
	REQUIRE(view != NULL);
	CHECK_STR_EQ(json_get_string(json_get_object(view, "payload"), "payload"), "hi");
	CHECK(json_get_object(view, "trigger_payload") == NULL);
	alarm_fini(&a);
	alarm_fini(&b);
}

static void test_cron_zone(void)
{
	_cleanup_json_ cJSON *p =
		params("{\"cron\":\"0 9 * * *\",\"timezone\":\"Europe/Berlin\","
		       "\"trigger_payload\":{\"room\":\"lab\"}}");
	struct alarm a;
	struct err e = { 0 };
	int64_t t;

	if (alarm_parse(ALARM_CRON, p, p, T0, &a, &e) != 0) {
		HARNESS_FAIL("Europe/Berlin: %s (is tzdata installed?)", e.msg);
		return;
	}
	CHECK_STR_EQ(a.payload, "{\"room\":\"lab\"}");
	/* 09:00 in Berlin in January is 08:00Z. */
	REQUIRE(alarm_next(&a, T0, &t) == 0);
	CHECK_INT_EQ(t, T0 + 8 * 3600000LL);
	alarm_fini(&a);
}

static void test_once_and_interval(void)
{
	_cleanup_json_ cJSON *once = params("{\"date\":1767225605000,\"deleteAfterFire\":\"rules\"}");
	_cleanup_json_ cJSON *iv = params("{\"minutes\":2,\"startDate\":1767225660000}");
	_cleanup_json_ cJSON *iv2 = params("{\"minutes\":\"3\"}");
	struct alarm a;
	struct err e = { 0 };
	int64_t t;

	REQUIRE(alarm_parse(ALARM_ONCE, once, once, T0, &a, &e) == 0);
	CHECK_INT_EQ(a.after, ALARM_DELETE_RULES);
	CHECK_STR_EQ(a.payload, "{}");
	REQUIRE(alarm_next(&a, T0, &t) == 0);
	CHECK_INT_EQ(t, T0 + 5000);
	CHECK_INT_EQ(alarm_next(&a, T0 + 5000, &t), -ENOENT);
	alarm_fini(&a);

	REQUIRE(alarm_parse(ALARM_INTERVAL, iv, iv, T0, &a, &e) == 0);
	REQUIRE(alarm_next(&a, T0, &t) == 0);
	CHECK_INT_EQ(t, T0 + 60000);
	REQUIRE(alarm_next(&a, T0 + 60000, &t) == 0);
	CHECK_INT_EQ(t, T0 + 180000);
	/* Late by several periods: the next one after, not the missed ones. */
	REQUIRE(alarm_next(&a, T0 + 60000 + 7 * 60000, &t) == 0);
	CHECK_INT_EQ(t, T0 + 60000 + 8 * 60000);
	alarm_fini(&a);

	/* No startDate: the first fire 30 s after the call, as upstream. */
	REQUIRE(alarm_parse(ALARM_INTERVAL, iv2, iv2, T0, &a, &e) == 0);
	CHECK_INT_EQ(a.minutes, 3);
	REQUIRE(alarm_next(&a, T0, &t) == 0);
	CHECK_INT_EQ(t, T0 + 30000);
	alarm_fini(&a);
}

static void test_kinds(void)
{
	enum alarm_kind k;

	REQUIRE(alarm_kind_of("alarms/alarm", &k) == 0);
	CHECK_INT_EQ(k, ALARM_CRON);
	REQUIRE(alarm_kind_of("alarms/once", &k) == 0);
	CHECK_INT_EQ(k, ALARM_ONCE);
	REQUIRE(alarm_kind_of("alarms/interval", &k) == 0);
	CHECK_INT_EQ(k, ALARM_INTERVAL);
	CHECK_INT_EQ(alarm_kind_of("utils/echo", &k), -ENOENT);
}

HARNESS_MAIN("test_alarm", TEST_CASE(test_dates), TEST_CASE(test_refusals),
	     TEST_CASE(test_cron_schedule), TEST_CASE(test_cron_zone),
	     TEST_CASE(test_once_and_interval), TEST_CASE(test_kinds))
