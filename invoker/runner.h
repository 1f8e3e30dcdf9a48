/* SPDX-License-Identifier: Apache-2.0 */
/* Runs activations in containers: takes a parsed request, gets a container
 * from the pool (creating, unpausing or evicting through Docker as the pool
 * says), calls /init once per container and /run with the action's time
 * limit, classifies the outcome as OpenWhisk does, collects the
 * activation's logs, and hands the container back (kept warm, or removed
 * after any failure). One struct runner per invoker process, shared by its
 * worker threads; one struct runner_worker per thread (its own Docker
 * connection). Containers carry the labels edgewhisk.instance=<instance>
 * and edgewhisk.owner=<instance>.<invoker id>, so runner_new removes the
 * orphans an earlier run of the same invoker left behind. */
#ifndef EW_RUNNER_H
#define EW_RUNNER_H

#include <stdint.h>

#include "common/act.h"
#include "common/err.h"
#include "invoker/pool.h"

struct runner_config {
	const char *instance;        /* label edgewhisk.instance (the queue name) */
	uint32_t invoker_id;
	const char *docker_socket;
	const char *api_host;        /* __OW_API_HOST inside containers */
	const char *network;         /* bridge network */
	uint32_t pids_limit, nofile;
	uint64_t max_result_bytes;   /* larger results become an application error */
	struct pool_config pool;
};

struct runner;
struct runner_worker;

/* Connect to Docker (ping), remove orphans of this instance and invoker.
 * -ECONNREFUSED/-ENOENT when the daemon is not there. */
int runner_new(const struct runner_config *cfg, struct runner **out, struct err *e)
	__attribute__((warn_unused_result));

/* Remove every container this runner made (call after the workers ended). */
void runner_free(struct runner *r);

int runner_worker_new(struct runner *r, struct runner_worker **out, struct err *e)
	__attribute__((warn_unused_result));
void runner_worker_free(struct runner_worker *w);

/* Called once the outcome of /run (or /init) is known, before the logs are
 * collected, with *res filled but for the logs: the caller may send the
 * result early. Returns true when it did (the final res then says so in
 * res->partial, and the container is held in POOL_FINISHING meanwhile). */
typedef bool (*runner_result_fn)(void *arg, const struct act_result *res);

/* Run one activation to its end. Always fills *res (never fails: platform
 * faults are statusCode 3). res->result points into *result_buf (malloc'd,
 * caller frees) and res->logs is the caller's (act_result_fini).
 * on_result may be NULL. */
void runner_run(struct runner_worker *w, const struct act_request *req, struct act_result *res,
		char **result_buf, runner_result_fn on_result, void *arg);

/* Housekeeping: pause idle containers, remove expired ones, top up stem
 * cells. From one thread. Returns when to call it again (monotonic ms; 0 =
 * only after a change: runner_wait). */
uint64_t runner_tick(struct runner_worker *w);

/* Sleep until until_ms (monotonic; 0 = no deadline) or until containers
 * change state (freed, created, released) or runner_wake(). */
void runner_wait(struct runner *r, uint64_t until_ms);
void runner_wake(struct runner *r);

#endif
