/* SPDX-License-Identifier: Apache-2.0 */
/* Invocations the controller starts — from the REST API, a trigger's rules
 * or a web request: resolve an action by name (inside a package or through
 * a binding, with inherited parameters), build its queue message and hand
 * it to dispatch; run sequences here, component by component, each result
 * going straight into the next component's message (no client round
 * trip). Sequence steps run on one worker thread of this module, never on
 * the completion thread, so dispatch callbacks stay short. */
#ifndef EW_INVOKE_H
#define EW_INVOKE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/cfg.h"
#include "controller/dispatch.h"
#include "controller/entity.h"
#include "common/err.h"
#include "common/json.h"
#include "common/queue.h"
#include "controller/store.h"

struct invoke;

/* th: the per-namespace concurrency limit every started action holds a
 * slot of (NULL = none). */
int invoke_new(const struct cfg *c, struct store *s, struct dispatch *d, struct queue *q,
	       struct throttle *th, struct invoke **out, struct err *e)
	__attribute__((warn_unused_result));
/* Shutdown in three steps, because dispatch calls back into this module:
 * invoke_stop (no more steps start), dispatch_free (its pending callbacks
 * land here and are dropped), invoke_free (sequences still running are
 * abandoned, their waiters told their wait expired). */
void invoke_stop(struct invoke *iv);
void invoke_free(struct invoke *iv);

/* A resolved action. */
struct invoke_target {
	cJSON *action;                        /* owned; parameters already inherited */
	char store_ns[NAME_SIZE];        /* namespace that stores it */
	char full[2 * NAME_SIZE + 2];    /* its store name: "name" or "pkg/name" */
	char path[2 * NAME_SIZE + 2];    /* "ns" or "ns/pkg" (after a binding: the bound package) */
	char name[NAME_SIZE];
	char fqn[NAME_FQN_SIZE];             /* "/ns/[pkg/]name" as addressed */
};
void invoke_target_fini(struct invoke_target *t);

/* Resolve ns/[pkg/]name for a caller. pkg "" = no package. A package that
 * is a binding resolves to the bound package's action; parameters inherit
 * action < binding < package. Another namespace's entities resolve only
 * through a published package. -ENOENT ("The requested resource does not
 * exist."), -EPERM (not published: "The package /ns/p is not shared."),
 * -EIO/-ENOMEM from the store. */
int invoke_resolve(struct invoke *iv, const char *caller_ns, const char *ns, const char *pkg,
		   const char *name, struct invoke_target *t, struct err *e)
	__attribute__((warn_unused_result));

/* Check a sequence's components before it is stored: each exists, none is
 * the sequence itself (directly or nested: "Sequence may not refer to
 * itself."), and the atomic actions after inlining number at most
 * ENTITY_SEQUENCE_MAX ("Too many actions in the sequence."). self_fqn is
 * the sequence's own "/ns/[pkg/]name". -EINVAL with OpenWhisk's message
 * ("Sequence component does not exist."). */
int invoke_check_sequence(struct invoke *iv, const char *caller_ns, const char *self_fqn,
			  const cJSON *exec, struct err *e) __attribute__((warn_unused_result));

struct invoke_call {
	const char *caller_ns;   /* the invoking namespace (record namespace, subject) */
	int key;                 /* caller's key index (provide-api-key), -1 = none */
	const char *args;        /* invocation arguments: JSON object text, or NULL = {} */
	size_t args_len;
	const char *cause;       /* enclosing sequence's activation id, or NULL */
	uint32_t wait_ms;        /* 0 = nobody waits */
	dispatch_done_fn done;   /* with wait_ms: the record, or NULL when the wait expired */
	void *arg;
	char id[33];             /* the activation id: given, or "" = make one (written) */
};

/* Start the target (an action or a sequence). Non-blocking. On success the
 * activation runs and its record is stored when it ends; `done` is called
 * exactly once when wait_ms > 0 (from another thread, possibly before this
 * returns). On failure nothing runs and done is never called: -EINVAL
 * (arguments; runtime not configured), -EHOSTDOWN (no invoker up, 503),
 * -EAGAIN (queue full, 429), -ENOSPC, -EMSGSIZE, -ENOMEM. */
int invoke_start(struct invoke *iv, const struct invoke_target *t, struct invoke_call *c,
		 struct err *e) __attribute__((warn_unused_result));

/* Resolve ns/[pkg/]name for the caller (invoke_resolve) and start it
 * (invoke_start): the one call for a caller that needs nothing of the
 * action document in between. Errors of either. */
int invoke_action(struct invoke *iv, const char *caller_ns, const char *ns, const char *pkg,
		  const char *name, struct invoke_call *c, struct err *e)
	__attribute__((warn_unused_result));

/* Built-in actions: actions of whisk.system whose exec kind is "builtin"
 * (the feeds' lifecycle actions) run inside the controller, on the calling
 * thread, through one handler: `full` is the action's store name
 * ("alarms/alarm"), args its effective arguments (parameters inherited, the
 * body over them). It returns true for success with *result an object, or
 * false with *result {"error": "..."} (an application error, statusCode 1).
 * Their records are built as a sequence's (entity_sequence_record, kind
 * "builtin"). Set once, before the API answers. */
typedef bool (*invoke_builtin_fn)(void *arg, const char *full, const char *caller_ns,
				  const cJSON *args, cJSON **result);
void invoke_set_builtin(struct invoke *iv, invoke_builtin_fn fn, void *arg);

/* Is the action document a built-in one? */
bool invoke_is_builtin(const cJSON *action);

/* Drop the code file of an action revision (after an update or delete). */
void invoke_code_forget(struct invoke *iv, const char *store_ns, const char *full,
			const cJSON *doc);

#endif
