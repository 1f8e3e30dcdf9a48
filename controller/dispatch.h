/* SPDX-License-Identifier: Apache-2.0 */
/* Activations in flight: the API hands an invocation here; dispatch puts it
 * on the queue (home invoker = hash of namespace/action), remembers who
 * waits for it, and a completion thread turns each completion into an
 * activation record, stores it and wakes the waiter. A blocking waiter whose
 * wait expires is told so (the API answers 202) and the record is still
 * stored when the activation ends. Activations of an invoker that died are
 * completed as whisk errors through dispatch_lost(). The first completion
 * of an id wins; a duplicate (possible after an invoker crash) is dropped. */
#ifndef EW_DISPATCH_H
#define EW_DISPATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "common/cfg.h"
#include "controller/entity.h"
#include "common/err.h"
#include "common/json.h"
#include "common/queue.h"
#include "controller/store.h"
#include "controller/throttle.h"

struct dispatch;

/* How an activation ended, for its waiter: the record as stored (JSON
 * text) and its response.result as the bytes in it. Borrowed for the call. */
struct dispatch_outcome {
	const char *record;
	size_t record_len;
	const char *result;          /* within record, not NUL-terminated */
	size_t result_len;
	int status_code;             /* response.statusCode, 0-3 */
};

/* Called once per waiting invocation, from the completion thread: with the
 * outcome when it ended, or NULL when the wait expired first. Must not
 * block. */
typedef void (*dispatch_done_fn)(void *arg, const struct dispatch_outcome *o);

struct dispatch_request {
	/* The act.h request payload in its two parts, written straight into
	 * the queue block: metadata line (no newline) and parameter JSON. */
	const char *meta;
	size_t meta_len;
	const char *value;
	size_t value_len;
	const char *activation_id;         /* the payload's id */
	uint32_t home;                     /* home invoker hint (hash) */
	struct entity_activation_info info;
	uint32_t wait_ms;                  /* 0 = non-blocking */
	dispatch_done_fn done;             /* with wait_ms > 0 */
	void *arg;
	/* Concurrent-invocation limit of info.ns: a slot is held from submit
	 * to the final completion. NULL = none. */
	struct throttle *throttle;
};

/* Start the completion thread. `q` and `s` outlive the dispatch. */
int dispatch_new(const struct cfg *c, struct queue *q, struct store *s, struct dispatch **out,
		 struct err *e) __attribute__((warn_unused_result));
/* Stop the completion thread; waiters still pending are told their wait
 * expired. */
void dispatch_free(struct dispatch *d);

/* Put an invocation on the queue. Before it is queued, its record is
 * stored unfinished, already saying it failed (whisk error, statusCode 3):
 * if the controller dies before the activation completes, the next start
 * (dispatch_recover) makes that record visible, so an acknowledged
 * activation is never silently lost. -EAGAIN: the namespace's
 * concurrent-invocation limit is reached or every ring is full (429);
 * -ENOSPC: no payload block free, or the store's disk is full (503);
 * -EMSGSIZE: payload over the queue's maximum (413); other store errors.
 * Thread-safe; blocks only on the store's write. */
int dispatch_submit(struct dispatch *d, const struct dispatch_request *r, struct err *e)
	__attribute__((warn_unused_result));

/* Complete every activation a dead process held (call after waitpid):
 * started ones become whisk errors, unstarted ones go back on the queue.
 * Returns how many were failed. */
uint32_t dispatch_reap(struct dispatch *d, pid_t pid);

/* Write an activation record the controller built (its activationId is
 * the key) under the list name of path "ns[/pkg]" + name ("action" or
 * "pkg/action"). end_ms 0 stores it unfinished (hidden until recovered);
 * a finished record without an end passes its start. Store errors. */
int dispatch_store_record(struct store *s, const char *ns, const char *path, const char *name,
			  const cJSON *rec, uint64_t start_ms, uint64_t end_ms, struct err *e)
	__attribute__((warn_unused_result));

/* The same for a record already printed (its activation id given). */
int dispatch_store_record_text(struct store *s, const char *ns, const char *path,
			       const char *name, const char *id, const char *text, size_t len,
			       uint64_t start_ms, uint64_t end_ms, struct err *e)
	__attribute__((warn_unused_result));

/* Start-up: turn the unfinished records a previous controller left
 * (activations it accepted and never completed) into failed ones.
 * Returns how many, or a negative errno. */
int dispatch_recover(struct store *s, struct err *e) __attribute__((warn_unused_result));

/* Activations submitted and not yet completed. */
uint32_t dispatch_inflight(struct dispatch *d);

/* FNV-1a of "path/name": the home invoker of an action. */
uint32_t dispatch_home(const char *path, const char *name);

#endif
