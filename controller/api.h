/* SPDX-License-Identifier: Apache-2.0 */
/* The OpenWhisk REST API (/api/v1) on nng's HTTP server: the adapter that
 * turns each request into a rest_req (route, Basic auth, namespace check)
 * for the handlers in rest_*.c and writes their rest_response back, with
 * the standard reason phrase. Blocking invocations hold no server thread:
 * the completion thread answers through the kept reply. The only user of
 * nng's HTTP API. */
#ifndef EW_API_H
#define EW_API_H

#include "common/cfg.h"
#include "controller/dispatch.h"
#include "controller/events.h"
#include "common/err.h"
#include "controller/invoke.h"
#include "common/queue.h"
#include "controller/store.h"
#include "controller/sup.h"
#include "controller/throttle.h"

struct api;

struct api_deps {
	const struct cfg *cfg;
	struct store *store;
	struct dispatch *dispatch;
	struct queue *queue;
	struct sup *sup;             /* may be NULL (no supervised invokers) */
	struct invoke *invoke;
	struct throttle *throttle;   /* per-namespace limits; may be NULL (none) */
	struct events *events;       /* triggers and rules */
};

/* Listen on http://api.address:api.port and serve. -EADDRINUSE etc. */
int api_start(const struct api_deps *deps, struct api **out, struct err *e)
	__attribute__((warn_unused_result));

/* Stop listening; requests in progress finish or are dropped. */
void api_stop(struct api *a);

#endif
