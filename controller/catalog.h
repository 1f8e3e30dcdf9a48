/* SPDX-License-Identifier: Apache-2.0 */
/* The system catalog: the packages edgewhisk itself keeps in the
 * whisk.system namespace (access.h): /whisk.system/utils with
 * OpenWhisk's catalog actions echo, cat, sort, head, split, date,
 * namespace, hosturl and smash (Node.js actions, published), and
 * /whisk.system/alarms with the feed actions alarm, once and interval
 * (built-in actions, feeds.h). Installed at
 * start-up, before the API answers: each entity is built as a client's PUT
 * would build it and stored only when the stored one differs (so a restart
 * writes nothing, and an upgrade that changes an action replaces it);
 * actions and packages of whisk.system the catalog no longer holds are
 * deleted. nng-free. */
#ifndef EW_CATALOG_H
#define EW_CATALOG_H

#include "common/cfg.h"
#include "common/err.h"
#include "controller/invoke.h"
#include "controller/store.h"

struct catalog_stats {
	unsigned written;   /* entities stored (new or changed) */
	unsigned kept;      /* already as the catalog has them */
	unsigned removed;   /* no longer in the catalog */
	unsigned skipped;   /* not installable here (their kind is not configured) */
};

/* Bring whisk.system in line with the catalog. iv (may be NULL) drops the
 * code files of replaced actions. An action whose kind this configuration
 * lacks is skipped with a warning (stats->skipped). Store errors (-EIO,
 * -ENOMEM, -ENOSPC) stop it. */
int catalog_install(const struct cfg *c, struct store *s, struct invoke *iv,
		    struct catalog_stats *stats, struct err *e) __attribute__((warn_unused_result));

#endif
