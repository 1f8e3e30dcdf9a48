/* SPDX-License-Identifier: Apache-2.0 */
/* The built-in feeds: OpenWhisk's feed protocol for the actions of
 * /whisk.system/alarms (alarm, once, interval), which run inside the
 * controller (invoke.h's built-in actions), and the scheduler that fires
 * their triggers.
 *
 * A lifecycle call (lifecycleEvent CREATE, READ, UPDATE, DELETE, PAUSE,
 * UNPAUSE) names the trigger ("/ns/name", ns may be "_") and carries the
 * caller's authKey ("uuid:key"), which must be a configured key of the
 * trigger's namespace. Replies follow the alarms package: {"status":
 * "success"}, and for READ {"config": {...}, "status": {"active",
 * "dateChanged", "dateChangedISO", "reason"}}; errors {"error": "..."}.
 *
 * Registrations are stored (collection "feeds", under the trigger's
 * namespace) and survive restarts. A fire that fell due while the
 * controller was down is made once at start-up when at most
 * feeds.missed_grace_s old and no fire of the trigger is recorded since;
 * older ones are skipped. Fires go through events_trigger_fire (rules,
 * records, the fires-per-minute throttle); a refused fire is retried with
 * backoff (max(1 s, n² s), n the retry), ten times, then the registration
 * is disabled with the reason, as the alarms provider does. The scheduler
 * sleeps on a CLOCK_REALTIME timer that the kernel cancels when the clock
 * is set, so a board whose clock jumps when NTP syncs plans again from the
 * new time instead of firing what the jump skipped. nng-free. */
#ifndef EW_FEEDS_H
#define EW_FEEDS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/cfg.h"
#include "common/err.h"
#include "common/json.h"
#include "controller/events.h"
#include "controller/store.h"

struct feeds;

/* c, s and ev outlive the feeds. Hooks itself into ev's trigger deletes.
 * -ENOMEM, -EMFILE. */
int feeds_new(const struct cfg *c, struct store *s, struct events *ev, struct feeds **out,
	      struct err *e) __attribute__((warn_unused_result));

/* Load the stored registrations, make the missed fires due, start the
 * scheduler thread. An unreadable registration is logged and skipped.
 * Store errors, -EAGAIN (thread). */
int feeds_start(struct feeds *f, struct err *e) __attribute__((warn_unused_result));

/* Stop the scheduler (a fire in progress ends first) and free. */
void feeds_free(struct feeds *f);

/* invoke_builtin_fn for the feed actions ("alarms/alarm", ...). */
bool feeds_builtin(void *arg, const char *full, const char *caller_ns, const cJSON *args,
		   cJSON **result);

struct feeds_stats {
	uint32_t registrations, active;
	uint64_t fires;          /* accepted by events_trigger_fire */
	uint64_t missed_fired;   /* made at start-up for a fire missed while down */
	uint64_t retries;        /* refused fires tried again */
	uint64_t replans;        /* clock jumps planned around */
	/* Lateness of accepted fires (fire time - scheduled time), in µs. */
	uint64_t late_us_sum, late_us_max;
};
void feeds_stats_get(struct feeds *f, struct feeds_stats *out);

#endif
