/* SPDX-License-Identifier: Apache-2.0 */
/* edgewhisk-invoker: one per core. Wiring only: arguments, config, pin to
 * the CPU, attach to the controller's queue, start the runner (containers)
 * and the workers (workers.c), wait. SIGTERM (or a newer controller
 * retiring the queue) drains the workers and removes every container this
 * invoker made. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "common/act.h"
#include "common/cfg.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/queue.h"
#include "invoker/netns.h"
#include "invoker/runner.h"
#include "invoker/workers.h"

/* SIGTERM and SIGINT are blocked in every thread and taken by the main
 * thread in sigtimedwait(): no handler, and no wake-up while idle. */
static sigset_t stop_signals;
/* How often the main thread looks whether the workers stopped on their own. */
#define STOP_CHECK_MS 10000
static bool stop_requested;

struct invoker {
	struct cfg cfg;
	uint32_t id;
	struct queue *q;
	struct runner *runner;
	struct workers *workers;
};

/* Sleep up to ms, or until SIGTERM/SIGINT (then stop_requested). */
static void wait_stop(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	if (sigtimedwait(&stop_signals, NULL, &ts) > 0)
		stop_requested = true;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: edgewhisk-invoker --id N [--cpu C] [-c CONFIG]\n"
		   "  -i, --id N          invoker number, 0 .. invokers-1\n"
		   "  -p, --cpu C         pin to CPU C (default: from invokers.cpus)\n"
		   "  -c, --config PATH   YAML config (default config/edgewhisk.yaml)\n"
		   "  -q, --queue NAME    attach to this queue instead of the config's queue.name\n");
}

static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	char *end = NULL;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max || s[0] == '-')
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* The controller may still be laying the queue out: retry for a while. */
static int attach_retry(const char *name, struct queue **q, struct err *e)
{
	int rc = -ENOENT;

	for (int i = 0; i < 50 && !stop_requested; i++) {
		err_clear(e);
		rc = queue_attach(name, q, e);
		if (rc != -ENOENT && rc != -EAGAIN)
			return rc;
		wait_stop(100);
	}
	return rc;
}

static void runner_config_from(const struct invoker *inv, struct runner_config *rc, char *api,
			       size_t api_size)
{
	const struct cfg *c = &inv->cfg;
	struct act_budget budget;

	memset(rc, 0, sizeof(*rc));
	snprintf(api, api_size, "http://%s:%u", c->api.address, c->api.port);
	rc->instance = c->queue.name;
	rc->invoker_id = inv->id;
	rc->docker_socket = c->docker.socket;
	rc->api_host = api;
	rc->network = c->containers.network;
	rc->pids_limit = c->containers.pids_limit;
	rc->nofile = c->containers.nofile;
	/* Room for the completion's metadata and logs in the queue payload. */
	if (act_budget_of(c->queue.max_payload_bytes, &budget) == 0)
		rc->max_result_bytes = budget.result_max;
	rc->pool.user_memory_mb = (uint32_t)c->invokers.user_memory_mb;
	rc->pool.pause_grace_ms = c->containers.pause_grace_ms;
	rc->pool.idle_timeout_ms = c->containers.idle_timeout_ms;
	for (uint32_t k = 0; k < c->kind_count && rc->pool.prewarm_count < POOL_MAX_PREWARM_KINDS; k++) {
		struct pool_prewarm *pw = &rc->pool.prewarm[rc->pool.prewarm_count];

		if (c->kinds[k].prewarm == 0)
			continue;
		snprintf(pw->kind, sizeof(pw->kind), "%s", c->kinds[k].name);
		snprintf(pw->image, sizeof(pw->image), "%s", c->kinds[k].image);
		pw->memory_mb = (uint32_t)c->limits.memory_mb.def;
		pw->count = c->kinds[k].prewarm;
		rc->pool.prewarm_count++;
	}
}

struct args {
	uint32_t id, cpu;                /* UINT32_MAX: not given */
	const char *config, *queue_name;
};

/* Command line into *a; returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "id", required_argument, NULL, 'i' },
		{ "cpu", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ "queue", required_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	*a = (struct args){ UINT32_MAX, UINT32_MAX, "config/edgewhisk.yaml", NULL };
	while ((opt = getopt_long(argc, argv, "i:p:c:q:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			if (parse_u32(optarg, QUEUE_MAX_INVOKERS - 1, &a->id) < 0) {
				fprintf(stderr, "edgewhisk-invoker: --id %s: not a number in 0..%d\n",
					optarg, QUEUE_MAX_INVOKERS - 1);
				return 2;
			}
			break;
		case 'p':
			if (parse_u32(optarg, CPU_SETSIZE - 1, &a->cpu) < 0) {
				fprintf(stderr, "edgewhisk-invoker: --cpu %s: not a CPU number\n", optarg);
				return 2;
			}
			break;
		case 'c':
			a->config = optarg;
			break;
		case 'q':
			a->queue_name = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (a->id == UINT32_MAX) {
		usage(stderr);
		return 2;
	}
	if (a->queue_name && (a->queue_name[0] != '/' || strlen(a->queue_name) >= CFG_NAME_MAX)) {
		fprintf(stderr, "edgewhisk-invoker: --queue %s: want /name\n", a->queue_name);
		return 2;
	}
	return -1;
}

static void on_signals(void)
{
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	/* Before any thread starts: they inherit the mask. */
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* The controller supervises us; if it dies, so do we. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
}

int main(int argc, char **argv)
{
	static struct invoker inv;
	struct workers_config wc = { 0 };
	uint64_t done = 0, failed = 0;
	struct runner_config rcfg;
	struct err e = { 0 };
	struct args args;
	uint32_t cpu;
	char api[128];
	cpu_set_t set;
	int level, status;

	status = parse_args(argc, argv, &args);
	if (status >= 0)
		return status;
	status = 0;
	mem_tune();
	inv.id = args.id;
	cpu = args.cpu;
	log_setup("invoker", LOGL_INFO);
	cfg_defaults(&inv.cfg);
	if (cfg_load(&inv.cfg, args.config, &e) < 0) {
		log_error("main", "config: %s", e.msg);
		return 1;
	}
	if (args.queue_name)
		snprintf(inv.cfg.queue.name, sizeof(inv.cfg.queue.name), "%s", args.queue_name);
	level = log_level_parse(inv.cfg.log_level);
	log_setup("invoker", level < 0 ? LOGL_INFO : (enum log_level)level);

	on_signals();

	if (cpu == UINT32_MAX)
		cpu = cfg_invoker_cpu(&inv.cfg, inv.id);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0) {
		log_error("main", "pin to cpu %u: %s", cpu, strerror(errno));
		return 1;
	}
	/* Every container is reached through its namespace: without the
	 * capability to enter one, no activation could run. */
	if (netns_check(&e) < 0) {
		log_error("main", "%s", e.msg);
		return 1;
	}
	if (attach_retry(inv.cfg.queue.name, &inv.q, &e) < 0) {
		log_error("main", "queue: %s", e.msg);
		return 1;
	}
	if (inv.id >= queue_invoker_count(inv.q)) {
		log_error("main", "--id %u: the queue has %u invokers", inv.id,
			  queue_invoker_count(inv.q));
		queue_close(inv.q);
		return 2;
	}
	runner_config_from(&inv, &rcfg, api, sizeof(api));
	if (runner_new(&rcfg, &inv.runner, &e) < 0) {
		log_error("main", "%s", e.msg);
		queue_close(inv.q);
		return 1;
	}
	/* One worker per default-sized action that fits in user_memory. */
	wc.queue = inv.q;
	wc.runner = inv.runner;
	wc.invoker_id = inv.id;
	wc.count = (uint32_t)(inv.cfg.invokers.user_memory_mb / inv.cfg.limits.memory_mb.def);
	if (workers_start(&wc, &inv.workers, &e) < 0) {
		log_error("main", "%s", e.msg);
		runner_free(inv.runner);
		queue_close(inv.q);
		return 1;
	}
	log_info("main", "ready invoker=%u cpu=%u workers=%u user_memory=%llum queue=%s generation=%u",
		 inv.id, cpu, wc.count < 1 ? 1 : wc.count > QUEUE_HELD_MAX ? QUEUE_HELD_MAX : wc.count,
		 (unsigned long long)inv.cfg.invokers.user_memory_mb, inv.cfg.queue.name,
		 queue_generation(inv.q));
	/* Until a stop signal, or the workers stop on their own (a retired
	 * queue, noticed by them within their pop timeout). */
	while (!stop_requested && !workers_stopped(inv.workers))
		wait_stop(STOP_CHECK_MS);
	if (queue_is_retired(inv.q))
		log_info("main", "queue retired by a newer controller");
	workers_stop(inv.workers, &done, &failed);
	runner_free(inv.runner);
	log_info("main", "stopped invoker=%u succeeded=%llu failed=%llu", inv.id,
		 (unsigned long long)done, (unsigned long long)failed);
	queue_close(inv.q);
	return status;
}
