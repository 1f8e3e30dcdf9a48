/* SPDX-License-Identifier: Apache-2.0 */
/* The alarms feed's schedules, pure: the parameters of
 * /whisk.system/alarms/{alarm,once,interval} as OpenWhisk's alarms package
 * takes them, checked into a schedule, and the schedule's next fire time.
 * Dates are epoch milliseconds or ISO-8601 text. No store, no clock of its
 * own (the caller gives "now"); reads only the zone file of a timezone. */
#ifndef EW_ALARM_H
#define EW_ALARM_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/json.h"
#include "controller/cron.h"

enum alarm_kind { ALARM_CRON, ALARM_ONCE, ALARM_INTERVAL };

/* What a `once` alarm does after its fire (deleteAfterFire). */
enum alarm_after { ALARM_KEEP, ALARM_DELETE_TRIGGER, ALARM_DELETE_RULES };

#define ALARM_CRON_MAX 128
#define ALARM_TZ_MAX 64

struct alarm {
	enum alarm_kind kind;
	char cron_text[ALARM_CRON_MAX];
	struct cron cron;
	char timezone[ALARM_TZ_MAX];  /* "" = UTC */
	struct tz *tz;                /* owned (UTC when no timezone; cron only) */
	int64_t start_ms, stop_ms;    /* 0 = none */
	int64_t date_ms;              /* once */
	uint64_t minutes;             /* interval */
	bool strict;
	enum alarm_after after;
	char *payload;                /* JSON object text (malloc'd), never NULL once parsed */
};

/* The kind of feed action "alarms/alarm", "alarms/once", "alarms/interval"
 * (its store name); -ENOENT for another. */
int alarm_kind_of(const char *full, enum alarm_kind *k) __attribute__((warn_unused_result));

/* Epoch milliseconds of a date parameter: a non-negative whole number, or
 * ISO-8601 "YYYY-MM-DD[(T| )hh:mm[:ss[.fff]]][Z|+hh:mm|-hh:mm|+hhmm]"
 * (no zone = UTC). -EINVAL otherwise. */
int alarm_date_of(const cJSON *v, int64_t *ms) __attribute__((warn_unused_result));

/* Check a feed call's parameters into *a (zeroed by the caller or
 * alarm_fini'd). Keys it does not know are ignored. The dates named in
 * `fresh` (an object whose keys are checked, NULL = none) must be after
 * now_ms; stopDate must be after startDate (or now), and a cron alarm must
 * fire at least once before it. -EINVAL with a message naming the
 * parameter, -ENOMEM. On error *a holds nothing to free. */
int alarm_parse(enum alarm_kind k, const cJSON *params, const cJSON *fresh, int64_t now_ms,
		struct alarm *a, struct err *e) __attribute__((warn_unused_result));
void alarm_fini(struct alarm *a);

/* The first fire strictly after after_ms (cron: whole seconds; interval:
 * startDate + k minutes; once: its date), before stopDate. -ENOENT when
 * there is none. */
int alarm_next(const struct alarm *a, int64_t after_ms, int64_t *next_ms)
	__attribute__((warn_unused_result));

/* The schedule as parameters again: what alarm_parse reads back after a
 * restart (read_view false: "trigger_payload"), or as a READ shows it
 * (true: "payload", as OpenWhisk's alarms provider names it). NULL on
 * ENOMEM. */
cJSON *alarm_params(const struct alarm *a, bool read_view);

#endif
