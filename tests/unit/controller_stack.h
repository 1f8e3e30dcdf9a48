/* SPDX-License-Identifier: Apache-2.0 */
/* A controller without nng for unit tests: default config (state in a
 * fresh temporary directory), a real SQLite store, a real queue with no
 * invoker attached, dispatch, invoke and events — what the REST handlers
 * and the domain modules run on. Starting an action answers -EHOSTDOWN
 * (no invoker is up), which is the platform's real behaviour. */
#ifndef EW_TESTS_CONTROLLER_STACK_H
#define EW_TESTS_CONTROLLER_STACK_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/queue.h"
#include "controller/dispatch.h"
#include "controller/events.h"
#include "controller/invoke.h"
#include "controller/store.h"
#include "tests/harness.h"

struct stack {
	struct cfg cfg;
	char qname[64];
	struct store *store;
	struct queue *queue;
	struct dispatch *dispatch;
	struct invoke *invoke;
	struct events *events;
};

static inline int stack_open(struct stack *s)
{
	struct queue_params p;
	struct err e = { 0 };
	char path[CFG_PATH_MAX + 32];

	memset(s, 0, sizeof(*s));
	cfg_defaults(&s->cfg);
	snprintf(s->cfg.state_dir, sizeof(s->cfg.state_dir), "/tmp/ew-test-stack-XXXXXX");
	if (!mkdtemp(s->cfg.state_dir))
		return -1;
	snprintf(path, sizeof(path), "%s/code", s->cfg.state_dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/edgewhisk.db", s->cfg.state_dir);
	queue_params_defaults(&p);
	snprintf(s->qname, sizeof(s->qname), "/ewtest-stack-%d", (int)getpid());
	p.name = s->qname;
	p.invokers = 1;
	p.slots = 16;
	if (store_open(path, &s->store, &e) < 0 || queue_create(&p, &s->queue, &e) < 0 ||
	    dispatch_new(&s->cfg, s->queue, s->store, NULL, &s->dispatch, &e) < 0 ||
	    invoke_new(&s->cfg, s->store, s->dispatch, s->queue, NULL, &s->invoke, &e) < 0 ||
	    events_new(s->store, s->invoke, NULL, &s->events, &e) < 0) {
		fprintf(stderr, "stack_open: %s\n", e.msg);
		return -1;
	}
	return 0;
}

static inline void stack_close(struct stack *s)
{
	char cmd[CFG_PATH_MAX + 16];

	events_free(s->events);
	invoke_stop(s->invoke);
	dispatch_free(s->dispatch);
	invoke_free(s->invoke);
	queue_close(s->queue);
	store_close(s->store);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->cfg.state_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "stack_close: could not remove %s\n", s->cfg.state_dir);
}

#endif
