/* SPDX-License-Identifier: Apache-2.0 */
/* The OpenWhisk action runtime protocol, pure: the /init and /run request
 * bodies an action container gets, and how its answers become an
 * activation outcome (OpenWhisk's classes: success, application error,
 * action developer error, whisk internal error, with its messages). No
 * I/O: the runner sends the bodies and hands the answers here. */
#ifndef EW_PROTOCOL_H
#define EW_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/act.h"
#include "invoker/http_parser.h"

/* What an activation came to so far. */
struct protocol_outcome {
	enum act_status status;
	char *result;                /* malloc'd JSON text (protocol_outcome_fini) */
	size_t result_len;
	bool keep;                   /* the container is healthy: keep it warm */
	bool timeout;
};

/* Set the outcome to status st with result {"error": msg}; keep the
 * container for success and application errors only. */
void protocol_outcome_error(struct protocol_outcome *o, enum act_status st, const char *msg);
void protocol_outcome_errorf(struct protocol_outcome *o, enum act_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void protocol_outcome_fini(struct protocol_outcome *o);

/* {"value": {code, name, main, binary, env: {__OW_*..., init params as
 * strings}}}. code may be NULL (blackbox images bring their own). NULL on
 * ENOMEM. */
char *protocol_init_body(const struct act_request *q, const char *code, uint64_t deadline_ms,
			 size_t *len);

/* {"value": <the request's value bytes as they came>, "namespace",
 * "action_name", "action_version", "activation_id", "transaction_id",
 * "deadline", "api_key"?}. NULL on ENOMEM. */
char *protocol_run_body(const struct act_request *q, uint64_t deadline_ms, size_t *len);

/* The `error` of a runtime's JSON error body (a string as is, other
 * values printed), or NULL. Caller frees. */
char *protocol_body_error(const char *body, size_t len);

/* /init answered: a non-200 is an action developer error with the
 * runtime's message. */
void protocol_init_outcome(const struct http_response *resp, struct protocol_outcome *o);

/* /run answered, classified as OpenWhisk does (spec §3, §9): non-200 ->
 * developer error; over max_result_bytes -> application error "exceeded
 * the allowed length"; not a JSON object or array -> developer error; an
 * object with "error" -> application error, result {"error": value};
 * else success, the body taken as the result (resp->body becomes NULL, so
 * http_response_fini leaves it alone).
 * Scanned, never parsed. */
void protocol_run_outcome(struct http_response *resp, uint64_t max_result_bytes,
			  struct protocol_outcome *o);

#endif
