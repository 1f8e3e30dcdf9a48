/* SPDX-License-Identifier: Apache-2.0 */
/* What every feed registration has, for the alarms (feeds.h) and
 * mqtt/subscribe (mqttfeed.h): its trigger, owner, status, its stored
 * document and the lifecycle replies of OpenWhisk's alarms package.
 *
 * A registration is stored in collection "feeds" under the trigger's
 * namespace by the name "#feed:<trigger>" (no entity can have it): one
 * feed per trigger. The document: {namespace, name, feed ("alarms/alarm",
 * "mqtt/subscribe"), key (the owner's uuid), params, status}. */
#ifndef EW_FEEDREG_H
#define EW_FEEDREG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/cfg.h"
#include "common/err.h"
#include "common/json.h"
#include "controller/name.h"
#include "controller/store.h"

#define FEEDREG_COLL "feeds"
#define FEEDREG_FEED_SIZE 32

struct feedreg {
	char ns[NAME_SIZE], name[NAME_SIZE];
	char feed[FEEDREG_FEED_SIZE];   /* "alarms/alarm", "mqtt/subscribe" */
	char key_uuid[37];
	int key;                        /* index into cfg keys, -1 = gone */
	bool active;
	uint64_t changed_ms;
	cJSON *reason;                  /* why inactive, or NULL */
};

void feedreg_fini(struct feedreg *r);

/* {active, dateChanged, dateChangedISO[, reason]}, or NULL (no memory). */
cJSON *feedreg_status(const struct feedreg *r);

/* Inactive now, with reason {kind, [statusCode,] message}. */
void feedreg_set_inactive(struct feedreg *r, const char *kind, int status_code, const char *msg);
void feedreg_set_active(struct feedreg *r);

/* Store r with params (taken, also on error). Store errors, -ENOMEM. */
int feedreg_save(struct store *s, const struct feedreg *r, cJSON *params, struct err *e)
	__attribute__((warn_unused_result));

/* Remove the stored registration; a missing one is no error. */
void feedreg_unstore(struct store *s, const char *ns, const char *name);

/* Fill r from a stored document; *params is borrowed from doc. -EINVAL
 * when it is not a registration. */
int feedreg_from_doc(struct feedreg *r, const cJSON *doc, const struct cfg *c,
		     const cJSON **params, struct err *e) __attribute__((warn_unused_result));

/* The key index of uuid in namespace ns, or -1. */
int feedreg_key_of_uuid(const struct cfg *c, const char *ns, const char *uuid);

/* {"error": "..."} and {"status": "success"}; NULL when out of memory. */
cJSON *feedreg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
cJSON *feedreg_success(void);

#endif
