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
#include "controller/acklog.h"
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

/* Start the completion thread. `q`, `s` and `acks` outlive the dispatch.
 * acks NULL: acknowledged activations are kept as unfinished rows in the
 * store instead (store.commit_window_ms 0). */
int dispatch_new(const struct cfg *c, struct queue *q, struct store *s, struct acklog *acks,
		 struct dispatch **out, struct err *e) __attribute__((warn_unused_result));
/* Stop the completion thread; waiters still pending are told their wait
 * expired. */
void dispatch_free(struct dispatch *d);

/* Put an invocation on the queue. Before a non-blocking one (wait_ms 0)
 * is queued, its line goes to the acknowledgement log (or, without one,
 * its record is stored unfinished, already saying it failed: whisk error,
 * statusCode 3); if the controller dies before the activation completes,
 * the next start (dispatch_recover) records it as failed, so an
 * acknowledged activation is never silently lost. A blocking one gets its
 * line only if its wait expires and it is answered 202. -EAGAIN: the
 * namespace's concurrent-invocation limit is reached or every ring is full
 * (429); -ENOSPC: no payload block free, or the store's disk is full
 * (503); -EMSGSIZE: payload over the queue's maximum (413); other store
 * errors. Thread-safe; blocks only on the log's write(2). */
int dispatch_submit(struct dispatch *d, const struct dispatch_request *r, struct err *e)
	__attribute__((warn_unused_result));

/* For an activation acknowledged outside dispatch_submit (a non-blocking
 * sequence, or one whose wait expired): write its acknowledgement line.
 * *ticket 0 without the log. Errors as dispatch_submit's store errors. */
int dispatch_accept(struct dispatch *d, const struct entity_activation_info *info,
		    uint64_t *ticket, struct err *e) __attribute__((warn_unused_result));
/* It was refused after all: its line must not come back from recovery. */
void dispatch_cancel(struct dispatch *d, uint64_t ticket, const char *activation_id);

/* Complete every activation a dead process held (call after waitpid):
 * started ones become whisk errors, unstarted ones go back on the queue.
 * Returns how many were failed. */
uint32_t dispatch_reap(struct dispatch *d, pid_t pid);

/* Store an activation record already printed, under the list name of
 * path "ns[/pkg]" + name ("action" or "pkg/action"). end_ms 0 stores it
 * unfinished (hidden until recovered); a finished record without an end
 * passes its start. ticket: its acknowledgement line, released once the
 * record is committed (0 = none). durable: return once committed (a
 * trigger's record, answered with its id); otherwise a finished record
 * may only be queued for the group commit. Store errors. */
int dispatch_store_record_text(struct store *s, const char *ns, const char *path,
			       const char *name, const char *id, const char *text, size_t len,
			       uint64_t start_ms, uint64_t end_ms, uint64_t ticket, bool durable,
			       struct err *e) __attribute__((warn_unused_result));

/* Start-up: record as failed every activation a previous controller
 * acknowledged and never completed: the lines of the acknowledgement log
 * in acks_dir (NULL: none) without a record, and unfinished rows. The
 * segments are removed once done. Returns how many, or a negative errno. */
int dispatch_recover(struct store *s, const char *acks_dir, struct err *e)
	__attribute__((warn_unused_result));

/* Activations submitted and not yet completed. */
uint32_t dispatch_inflight(struct dispatch *d);

/* FNV-1a of "path/name": the home invoker of an action. */
uint32_t dispatch_home(const char *path, const char *name);

#endif
