/* SPDX-License-Identifier: Apache-2.0 */
/* The /whisk.system/mqtt/subscribe feed: registrations (mqttsub.h's
 * parameters) and their broker connections.
 *
 * One connection per (broker, client id): a process edgewhisk-mqtt
 * (mqtt/main.c, Eclipse Paho C) beside the controller's binary, fed its
 * configuration over a socketpair, supervised by a thread here that
 * restarts it with backoff (100 ms doubling to 10 s, from 100 ms again
 * after 30 s up). Registrations with the same broker and client id share
 * it when their credentials and session options agree, and are refused
 * otherwise (the broker would drop one of two clients with one id). A
 * change of a connection's subscriptions starts its process again;
 * nothing is lost by that (see mqtt/main.c).
 *
 * A message is fired as a trigger fire (events_trigger_fire: rules,
 * records, the fires-per-minute throttle) of every active registration of
 * the connection whose filters match it, with mqttsub_fire_params'
 * parameters. It is acknowledged to the process ("ok": forget it) only
 * when every such fire was accepted or can never be (the trigger is gone;
 * a fire refused for good disables its registration, as the alarms
 * provider does for a 4xx). A fire refused for now is retried with
 * backoff for feeds.mqtt_hold_ms, then the message is offered again (the
 * triggers it fired meanwhile are not fired again for it).
 *
 * CREATE and UPDATE wait (up to 10 s) until the connection's process says
 * it is connected and subscribed, and answer the broker's refusal or the
 * connection error otherwise. PAUSE keeps the subscription; messages for
 * a paused registration are acknowledged without a fire. DELETE (or the
 * trigger's deletion) removes the registration; a connection left without
 * any ends its broker session (a clean-session connect). */
#ifndef EW_MQTTFEED_H
#define EW_MQTTFEED_H

#include <stdbool.h>
#include <stdint.h>

#include "common/cfg.h"
#include "common/err.h"
#include "common/json.h"
#include "controller/events.h"
#include "controller/store.h"

#define MQTTFEED_NAME "mqtt/subscribe"

struct mqttfeed;

/* client_path: the edgewhisk-mqtt binary (NULL: beside /proc/self/exe).
 * c, s and ev outlive the feed. -ENOMEM. */
int mqttfeed_new(const struct cfg *c, struct store *s, struct events *ev,
		 const char *client_path, struct mqttfeed **out, struct err *e)
	__attribute__((warn_unused_result));

/* A stored registration (a "feeds" document of this feed), before
 * mqttfeed_start; one that does not parse is logged and skipped. 0 or
 * -ENOMEM. */
int mqttfeed_load(struct mqttfeed *m, const cJSON *doc);

/* Start the loaded registrations' connections. -EAGAIN (threads). */
int mqttfeed_start(struct mqttfeed *m, struct err *e) __attribute__((warn_unused_result));

/* Stop every connection process and thread, free. */
void mqttfeed_free(struct mqttfeed *m);

/* Whether trigger /ns/name has a registration of this feed. */
bool mqttfeed_has(struct mqttfeed *m, const char *ns, const char *name);

/* A lifecycle call for trigger /ns/name, by key index `key` (checked by
 * the caller: an owner of the trigger): event CREATE, READ, UPDATE,
 * DELETE, PAUSE or UNPAUSE; args without the protocol's parameters. The
 * reply ({"status":"success"}, READ's {config, status}, {"error"}), or
 * NULL when out of memory. */
cJSON *mqttfeed_lifecycle(struct mqttfeed *m, const char *event, const char *ns,
			  const char *name, int key, const cJSON *args);

/* The trigger was deleted: so is its registration. */
void mqttfeed_trigger_deleted(struct mqttfeed *m, const char *ns, const char *name);

struct mqttfeed_stats {
	uint32_t registrations, connections, connected;
	uint64_t messages;   /* received from the connections */
	uint64_t fires;      /* accepted */
	uint64_t retries;    /* fires refused for now and tried again */
	uint64_t offers;     /* messages offered again after a hold */
	uint64_t dropped;    /* over feeds.mqtt_max_payload */
	uint64_t restarts;   /* connection processes started after the first */
};
void mqttfeed_stats_get(struct mqttfeed *m, struct mqttfeed_stats *out);

#endif
