/* SPDX-License-Identifier: Apache-2.0 */
/* cron: expressions (5 and 6 fields, names, ranges, steps, lists, Sunday
 * as 7, Vixie's day rule) and their refusals; zones from the system's
 * zone files (offsets either side of a DST change, names refused); the
 * next fire time in UTC and in Europe/Berlin across both 2026 changes
 * (a skipped 02:30 does not fire, a repeated one fires once). */
#include "controller/cron.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "tests/harness.h"

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm t = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			.tm_hour = h, .tm_min = mi, .tm_sec = s };

	return (int64_t)timegm(&t);
}

static void test_parse(void)
{
	struct cron c;
	struct err e = { 0 };

	REQUIRE(cron_parse("*/8 * * * * *", &c, &e) == 0);
	CHECK_INT_EQ(c.sec, 1ULL << 0 | 1ULL << 8 | 1ULL << 16 | 1ULL << 24 | 1ULL << 32 |
			    1ULL << 40 | 1ULL << 48 | 1ULL << 56);
	CHECK_INT_EQ(c.min, (1ULL << 60) - 1);
	REQUIRE(cron_parse("0 9 * * MON-FRI", &c, &e) == 0);
	CHECK_INT_EQ(c.sec, 1);
	CHECK_INT_EQ(c.min, 1);
	CHECK_INT_EQ(c.hour, 1u << 9);
	CHECK_INT_EQ(c.dow, 0x3e);
	CHECK_INT_EQ(c.dom_any, true);
	CHECK_INT_EQ(c.dow_any, false);
	REQUIRE(cron_parse("  5,10-12/2  0 1,15 jan,Dec 7 ", &c, &e) == 0);
	CHECK_INT_EQ(c.min, 1ULL << 5 | 1ULL << 10 | 1ULL << 12);
	CHECK_INT_EQ(c.dom, 1u << 1 | 1u << 15);
	CHECK_INT_EQ(c.mon, 1u << 1 | 1u << 12);
	CHECK_INT_EQ(c.dow, 1);  /* 7 is Sunday */
	REQUIRE(cron_parse("0 5/20 * * *", &c, &e) == 0);
	CHECK_INT_EQ(c.hour, 1u << 5);
	CHECK_INT_EQ(c.min, 1);
	REQUIRE(cron_parse("30 5/20 * * * *", &c, &e) == 0);
	CHECK_INT_EQ(c.min, 1ULL << 5 | 1ULL << 25 | 1ULL << 45);

	CHECK_INT_EQ(cron_parse("61 * * * *", &c, &e), -EINVAL);
	CHECK_STR_EQ(e.msg, "cron: the minute field '61' is out of range 0-59");
	err_clear(&e);
	CHECK_INT_EQ(cron_parse("* * *", &c, &e), -EINVAL);
	CHECK_STR_CONTAINS(e.msg, "has 3 fields, not 5 or 6");
	err_clear(&e);
	CHECK_INT_EQ(cron_parse("* * * * * * *", &c, &e), -EINVAL);
	err_clear(&e);
	CHECK_INT_EQ(cron_parse("60 * * * * *", &c, &e), -EINVAL);
	CHECK_STR_CONTAINS(e.msg, "second field");
	err_clear(&e);
	CHECK_INT_EQ(cron_parse("*/0 * * * *", &c, &e), -EINVAL);
	CHECK_STR_CONTAINS(e.msg, "bad step");
	err_clear(&e);
	CHECK_INT_EQ(cron_parse("5-1 * * * *", &c, &e), -EINVAL);
	err_clear(&e);
	CHECK_INT_EQ(cron_parse("a * * * *", &c, &e), -EINVAL);
	err_clear(&e);
	CHECK_INT_EQ(cron_parse("1,,2 * * * *", &c, &e), -EINVAL);
	err_clear(&e);
	CHECK_INT_EQ(cron_parse("1, * * * *", &c, &e), -EINVAL);
	err_clear(&e);
	CHECK_INT_EQ(cron_parse("* * 0 * *", &c, &e), -EINVAL);
	CHECK_STR_CONTAINS(e.msg, "day of month");
	err_clear(&e);
	CHECK_INT_EQ(cron_parse("* * * FOO *", &c, &e), -EINVAL);
	err_clear(&e);
	CHECK_INT_EQ(cron_parse(NULL, &c, &e), -EINVAL);
}

static void test_zones(void)
{
	struct tz *tz = NULL;
	struct err e = { 0 };

	REQUIRE(tz_load("Europe/Berlin", &tz, &e) == 0);
	CHECK_INT_EQ(tz_offset(tz, utc(2026, 1, 15, 12, 0, 0)), 3600);
	CHECK_INT_EQ(tz_offset(tz, utc(2026, 7, 15, 12, 0, 0)), 7200);
	/* Either side of 2026-03-29 01:00Z. */
	CHECK_INT_EQ(tz_offset(tz, utc(2026, 3, 29, 0, 59, 59)), 3600);
	CHECK_INT_EQ(tz_offset(tz, utc(2026, 3, 29, 1, 0, 0)), 7200);
	tz_free(tz);
	tz = NULL;
	REQUIRE(tz_load("UTC", &tz, &e) == 0);
	CHECK_INT_EQ(tz_offset(tz, utc(2026, 7, 15, 12, 0, 0)), 0);
	tz_free(tz);
	tz = NULL;
	CHECK_INT_EQ(tz_load("Mars/Base", &tz, &e), -EINVAL);
	CHECK_STR_EQ(e.msg, "unknown timezone 'Mars/Base'");
	err_clear(&e);
	CHECK_INT_EQ(tz_load("../../etc/passwd", &tz, &e), -EINVAL);
	err_clear(&e);
	CHECK_INT_EQ(tz_load("/etc/localtime", &tz, &e), -EINVAL);
	err_clear(&e);
	CHECK_INT_EQ(tz_from_tzif("TZif2 but nothing else", 22, &tz, &e), -EINVAL);
	err_clear(&e);
	CHECK_INT_EQ(tz_from_tzif("", 0, &tz, &e), -EINVAL);
}

static void check_next(const char *expr, const struct tz *tz, int64_t after, int64_t want)
{
	struct cron c;
	struct err e = { 0 };
	int64_t got = 0;

	if (cron_parse(expr, &c, &e) < 0) {
		HARNESS_FAIL("%s: %s", expr, e.msg);
		return;
	}
	if (cron_next(&c, tz, after, &got) < 0) {
		HARNESS_FAIL("%s after %lld: none", expr, (long long)after);
		return;
	}
	if (got != want)
		HARNESS_FAIL("%s after %lld: %lld, want %lld (%+lld s)", expr, (long long)after,
			     (long long)got, (long long)want, (long long)(got - want));
}

static void test_next(void)
{
	struct tz *u = NULL, *b = NULL;
	struct cron c;
	struct err e = { 0 };
	int64_t t;

	REQUIRE(tz_load("UTC", &u, &e) == 0);
	REQUIRE(tz_load("Europe/Berlin", &b, &e) == 0);
	check_next("*/8 * * * * *", u, utc(2026, 1, 1, 0, 0, 0), utc(2026, 1, 1, 0, 0, 8));
	check_next("* * * * * *", u, utc(2026, 1, 1, 0, 0, 0), utc(2026, 1, 1, 0, 0, 1));
	check_next("* * * * *", u, utc(2026, 1, 1, 0, 0, 0), utc(2026, 1, 1, 0, 1, 0));
	/* 2026-01-03 is a Saturday. */
	check_next("0 9 * * MON-FRI", u, utc(2026, 1, 3, 10, 0, 0), utc(2026, 1, 5, 9, 0, 0));
	check_next("0 0 29 2 *", u, utc(2026, 1, 1, 0, 0, 0), utc(2028, 2, 29, 0, 0, 0));
	check_next("59 59 23 31 12 *", u, utc(2026, 1, 1, 0, 0, 0), utc(2026, 12, 31, 23, 59, 59));
	/* Both days restricted: either matches (the 13th, or a Friday). */
	check_next("0 0 13 * FRI", u, utc(2026, 1, 3, 0, 0, 0), utc(2026, 1, 9, 0, 0, 0));
	REQUIRE(cron_parse("0 0 30 2 *", &c, &e) == 0);
	CHECK_INT_EQ(cron_next(&c, u, utc(2026, 1, 1, 0, 0, 0), &t), -ENOENT);

	/* Berlin: 09:00 local is 08:00Z in winter, 07:00Z in summer. */
	check_next("0 9 * * *", b, utc(2026, 1, 15, 12, 0, 0), utc(2026, 1, 16, 8, 0, 0));
	check_next("0 9 * * *", b, utc(2026, 7, 15, 12, 0, 0), utc(2026, 7, 16, 7, 0, 0));
	/* 2026-03-29 02:30 does not exist: the next is the 30th, 00:30Z. */
	check_next("30 2 * * *", b, utc(2026, 3, 28, 12, 0, 0), utc(2026, 3, 30, 0, 30, 0));
	/* 2026-10-25 02:30 happens twice: once, at the first (00:30Z). */
	check_next("30 2 * * *", b, utc(2026, 10, 24, 12, 0, 0), utc(2026, 10, 25, 0, 30, 0));
	check_next("30 2 * * *", b, utc(2026, 10, 25, 0, 30, 0), utc(2026, 10, 26, 1, 30, 0));
	/* Seconds right across the spring change. */
	check_next("* * * * * *", b, utc(2026, 3, 29, 0, 59, 59), utc(2026, 3, 29, 1, 0, 0));
	tz_free(u);
	tz_free(b);
}

HARNESS_MAIN("test_cron", TEST_CASE(test_parse), TEST_CASE(test_zones), TEST_CASE(test_next))
