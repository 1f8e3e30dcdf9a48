/* SPDX-License-Identifier: Apache-2.0 */
/* Supervision of the invoker processes: the controller starts one per
 * configured invoker (edgewhisk-invoker next to its own binary, pinned to
 * its CPU), notices when one dies (a thread polls waitpid), calls `died` so
 * the activations it held are completed or re-queued, and restarts it with
 * backoff (100 ms doubling to 10 s; back to 100 ms after 30 s of uptime).
 * sup_stop sends SIGTERM, waits, then SIGKILLs what is left. */
#ifndef EW_SUP_H
#define EW_SUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/cfg.h"
#include "common/err.h"

struct sup;

typedef void (*sup_died_fn)(void *arg, uint32_t id, pid_t pid, int status);

struct sup_config {
	const struct cfg *cfg;
	const char *config_path;     /* passed to the invokers as -c */
	const char *invoker_path;    /* NULL: edgewhisk-invoker beside /proc/self/exe */
	uint32_t count;
	sup_died_fn died;
	void *arg;
};

struct sup_invoker_state {
	pid_t pid;                   /* 0 while down */
	uint32_t restarts;
	uint64_t up_since_ms;        /* 0 while down */
	int last_status;             /* waitpid status of the last death */
};

int sup_start(const struct sup_config *c, struct sup **out, struct err *e)
	__attribute__((warn_unused_result));

/* Stop every invoker (SIGTERM, then SIGKILL after timeout_ms) and the
 * supervising thread. */
void sup_stop(struct sup *s, uint32_t timeout_ms);

/* Snapshot of invoker `id`. -EINVAL for a bad id. */
int sup_state(struct sup *s, uint32_t id, struct sup_invoker_state *out);

#endif
