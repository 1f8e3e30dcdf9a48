/* SPDX-License-Identifier: Apache-2.0 */
/* An invoker's threads: workers that pop activation requests from the
 * queue (own ring first, then stealing), run them through the runner and
 * push completions (a result ahead of its logs when it can), and one
 * housekeeping thread that pauses, removes and prewarms containers.
 * Leader/followers: one worker at a time waits on the queue. */
#ifndef EW_WORKERS_H
#define EW_WORKERS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/queue.h"
#include "invoker/runner.h"

struct workers;

struct workers_config {
	struct queue *queue;         /* attached; outlives the workers */
	struct runner *runner;       /* outlives the workers */
	uint32_t invoker_id;
	uint32_t count;              /* worker threads (1 .. QUEUE_HELD_MAX) */
};

/* Start the housekeeping thread and `count` workers. -EAGAIN when no
 * thread could be started, -ENOMEM. *out on success only. */
int workers_start(const struct workers_config *c, struct workers **out, struct err *e)
	__attribute__((warn_unused_result));

/* Whether the workers stopped on their own: one failed to start, or the
 * queue was retired by a newer controller. */
bool workers_stopped(struct workers *w);

/* Stop and join every thread; *done / *failed get the activations that
 * succeeded / did not (either may be NULL). Accepts NULL. */
void workers_stop(struct workers *w, uint64_t *done, uint64_t *failed);

#endif
