/* SPDX-License-Identifier: Apache-2.0 */
/* Triggers and rules as operations (spec §5): store a trigger, fire it
 * (every active rule's action started non-blocking with the trigger's
 * parameters under the payload, and a trigger record listing what each
 * rule did), store a rule and link it into its trigger's `rules` map,
 * activate / deactivate it, read it with the status its trigger holds,
 * delete it. The rule <-> trigger links of a namespace change together
 * under one lock, so a fire never sees half a change. nng-free: the REST
 * handlers (rest_triggers.c, rest_rules.c) and any other event source call
 * these. Errors are a negative errno with OpenWhisk's message in *e: the
 * caller maps the errno to a status (rest_status_of). */
#ifndef EW_EVENTS_H
#define EW_EVENTS_H

#include <stdbool.h>

#include "common/err.h"
#include "common/json.h"
#include "controller/invoke.h"
#include "controller/store.h"
#include "controller/throttle.h"

struct events;

/* s, iv and th (NULL = no limits) outlive the events. -ENOMEM. */
int events_new(struct store *s, struct invoke *iv, struct throttle *th, struct events **out,
	       struct err *e) __attribute__((warn_unused_result));
void events_free(struct events *ev);

/* PUT a trigger (entity_trigger_build; an overwrite keeps the stored rules
 * map, read under the lock). *out is the stored document (caller frees).
 * Build errors (-EINVAL, -E2BIG), -EEXIST (409 message), store errors. */
int events_trigger_put(struct events *ev, const char *ns, const char *name, const cJSON *body,
		       bool overwrite, cJSON **out, struct err *e) __attribute__((warn_unused_result));

/* Fire trigger `name` of ns as the caller with key index `key` (-1 none):
 * payload (JSON object text, NULL or empty = none; spliced, never parsed)
 * overlays the trigger's parameters. Always records the fire (also with
 * no active rule) under a new id, written to id. -ENOENT ("The requested
 * resource does not exist."), -EINVAL (not an object; a `final`
 * parameter overridden), -EAGAIN (the namespace's fires per minute are
 * spent, throttle.h: nothing recorded), store errors (record not written). A rule whose
 * action cannot start does not fail the fire: its log line says why
 * (statusCode 1 for the caller's errors, 3 for the platform's). */
int events_trigger_fire(struct events *ev, const char *ns, int key, const char *name,
			const char *payload, size_t payload_len, char id[33], struct err *e)
	__attribute__((warn_unused_result));

/* PUT a rule: the trigger must exist in ns (-EINVAL "trigger /ns/t does
 * not exist") and the action must resolve for ns (-EINVAL "action /p/a
 * does not exist"); stored, then linked active into the trigger (a rule
 * moved to another trigger leaves the old one). *out: the stored rule. */
int events_rule_put(struct events *ev, const char *ns, const char *name, const cJSON *body,
		    bool overwrite, cJSON **out, struct err *e) __attribute__((warn_unused_result));

/* Set a rule "active" or "inactive" (else -EINVAL with OpenWhisk's
 * message). -ENOENT: no such rule ("The requested resource does not
 * exist."), or its trigger is gone ("Only rules with existing triggers can
 * be activated"). *out: the rule with its new status. */
int events_rule_set_status(struct events *ev, const char *ns, const char *name,
			   const char *status, cJSON **out, struct err *e)
	__attribute__((warn_unused_result));

/* The rule with "status" as its trigger says (inactive when the trigger
 * is gone). -ENOENT, store errors. */
int events_rule_get(struct events *ev, const char *ns, const char *name, cJSON **out,
		    struct err *e) __attribute__((warn_unused_result));

/* Delete a rule and unlink it from its trigger; *out is the deleted rule,
 * "status": "inactive". -ENOENT, store errors. */
int events_rule_delete(struct events *ev, const char *ns, const char *name, cJSON **out,
		       struct err *e) __attribute__((warn_unused_result));

/* Delete trigger `name` of ns (*doc: its text, caller frees; doc may be
 * NULL); with_rules: its rules of ns first (deleteAfterFire "rules").
 * Rules of other triggers stay; rules that named it stay inactive, as
 * upstream. The delete hook hears of it after. -ENOENT, store errors. */
int events_trigger_delete(struct events *ev, const char *ns, const char *name, bool with_rules,
			  char **doc, size_t *len, struct err *e) __attribute__((warn_unused_result));

/* Told of every trigger events_trigger_delete removed (a feed's
 * registration ends with its trigger), outside the events lock. Set once,
 * before the API answers. */
typedef void (*events_deleted_fn)(void *arg, const char *ns, const char *name);
void events_on_trigger_delete(struct events *ev, events_deleted_fn fn, void *arg);

#endif
