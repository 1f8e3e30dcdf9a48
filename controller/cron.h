/* SPDX-License-Identifier: Apache-2.0 */
/* Schedules for the alarms feed: cron expressions as OpenWhisk's alarms
 * package takes them (5 fields, or 6 with seconds first; numbers, names
 * JAN-DEC and SUN-SAT, '*', ranges a-b, steps /n, lists; 7 is Sunday too;
 * day of month and day of week both restricted = either matches, as Vixie
 * cron), and the next fire time in an IANA time zone, read from the
 * system's zone files (TZif). Pure but for reading the zone file; no
 * global TZ, so any thread may use any zone. */
#ifndef EW_CRON_H
#define EW_CRON_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

struct cron {
	uint64_t sec, min;   /* bit n = second / minute n */
	uint32_t hour;       /* bit n = hour n */
	uint32_t dom;        /* bit n = day n of the month, 1..31 */
	uint16_t mon;        /* bit n = month n, 1..12 */
	uint8_t dow;         /* bit n = weekday n, 0 = Sunday */
	bool dom_any, dow_any;
};

/* 0 and *out, or -EINVAL with a message naming the field ("cron: the
 * minute field '61' is out of range 0-59"). */
int cron_parse(const char *expr, struct cron *out, struct err *e) __attribute__((warn_unused_result));

struct tz;

/* "UTC" (also "Etc/UTC", "GMT", "" = UTC), or a zone under
 * /usr/share/zoneinfo ("Europe/Berlin"). -EINVAL for a name that is not
 * one ("unknown timezone 'Mars/Base'"), -ENOMEM. */
int tz_load(const char *name, struct tz **out, struct err *e) __attribute__((warn_unused_result));
/* The same from TZif bytes (tests). */
int tz_from_tzif(const void *data, size_t len, struct tz **out, struct err *e)
	__attribute__((warn_unused_result));
void tz_free(struct tz *tz);

/* Seconds east of UTC in effect at utc (epoch seconds). After the zone
 * file's last transition, its last offset. */
int32_t tz_offset(const struct tz *tz, int64_t utc);

/* The first time strictly after `after` (epoch seconds) whose wall-clock
 * time in tz matches c. A wall-clock time a DST change skips does not
 * occur; one it repeats fires once, at its first occurrence. -ENOENT when
 * none comes within five years (30 February). */
int cron_next(const struct cron *c, const struct tz *tz, int64_t after, int64_t *next)
	__attribute__((warn_unused_result));

#endif
