/* SPDX-License-Identifier: Apache-2.0 */
/* The OpenWhisk REST API (/api/v1) on nng's HTTP server: the adapter that
 * turns each request into a rest_req (route, Basic auth, namespace check)
 * for the handlers in rest_*.c and writes their rest_response back, with
 * the standard reason phrase. Blocking invocations hold no server thread:
 * the completion thread answers through the kept reply. The only user of
 * nng's HTTP API. */
#ifndef EW_API_H
#define EW_API_H

#include "common/err.h"
#include "controller/rest.h"

struct api;

/* Listen on http://api.address:api.port and serve the handlers of rest.h
 * over env (its parts outlive the API; env->build is set here).
 * -EADDRINUSE, -EIO. */
int api_start(const struct rest_env *env, struct api **out, struct err *e)
	__attribute__((warn_unused_result));

/* Stop listening; requests in progress finish or are dropped. */
void api_stop(struct api *a);

#endif
