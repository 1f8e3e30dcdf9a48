/* SPDX-License-Identifier: Apache-2.0 */
/* edgewhisk-invoker: one per core. Attaches to the controller's queue, pins
 * itself to its CPU, and runs activations in containers: worker threads pop
 * requests (own ring first, then stealing), run them through the runner and
 * push completions; a housekeeping thread pauses, removes and prewarms
 * containers. SIGTERM (or a newer controller retiring the queue) drains the
 * workers and removes every container this invoker made. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
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
#include "common/queue.h"
#include "invoker/runner.h"

#define POP_TIMEOUT_MS 250
#define TICK_MS 50

static volatile sig_atomic_t stop_requested;

struct invoker {
	struct cfg cfg;
	uint32_t id;
	struct queue *q;
	struct runner *runner;
	uint32_t workers;
	_Atomic bool stop;
	_Atomic uint64_t done, failed;
	/* Leader/followers: one worker at a time waits on the queue, the rest
	 * on this mutex, so a request wakes one thread, not every idle one. */
	pthread_mutex_t pop_lock;
};

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
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
	const struct timespec pause = { 0, 100 * 1000000L };
	int rc = -ENOENT;

	for (int i = 0; i < 50 && !stop_requested; i++) {
		err_clear(e);
		rc = queue_attach(name, q, e);
		if (rc != -ENOENT && rc != -EAGAIN)
			return rc;
		nanosleep(&pause, NULL);
	}
	return rc;
}

static bool should_stop(struct invoker *inv)
{
	return atomic_load(&inv->stop) || queue_is_retired(inv->q);
}

/* Encode the completion into a queue buffer, the logs cut to fit. */
static int completion_buffer(struct invoker *inv, struct queue_client *c, struct act_result *res,
			     struct queue_buf *b)
{
	size_t len = 0;
	int rc;
	char *p = act_result_encode_within(res, queue_max_payload(inv->q), &len, &rc);

	if (!p)
		return rc;
	rc = queue_buf_alloc(c, (uint32_t)len, b);
	while (rc == -ENOSPC && !should_stop(inv)) {
		/* Arena full for a moment: completions drain it. */
		const struct timespec pause = { 0, 1000000L };

		nanosleep(&pause, NULL);
		rc = queue_buf_alloc(c, (uint32_t)len, b);
	}
	if (rc == 0)
		memcpy(b->data, p, len);
	free(p);
	return rc;
}

static void fail_result(struct act_result *res, const char *msg, char **buf)
{
	_cleanup_json_ cJSON *j = cJSON_CreateObject();
	uint64_t now = (uint64_t)time(NULL) * 1000;

	memset(res, 0, sizeof(*res));
	res->status = ACT_WHISK_ERROR;
	res->start_ms = res->end_ms = now;
	*buf = NULL;
	if (j && cJSON_AddStringToObject(j, "error", msg))
		*buf = json_print(j, &res->result_len);
	res->result = *buf;
	if (!*buf)
		res->result_len = 0;
}

/* Sending a result before its logs (runner_result_fn). */
struct early {
	struct invoker *inv;
	struct queue_client *c;
	const struct queue_item *it;
};

static bool send_early_result(void *arg, const struct act_result *res)
{
	struct early *x = arg;
	struct act_result r = *res;
	struct queue_msg done = { 0 };
	struct queue_buf b;
	size_t len = 0;
	char *p;
	int rc;

	r.logs = NULL;
	r.partial = true;
	p = act_result_encode(&r, &len);
	if (!p)
		return false;
	/* Never wait here: without room the result goes with the logs. */
	rc = len <= queue_max_payload(x->inv->q) ? queue_buf_alloc(x->c, (uint32_t)len, &b) : -EMSGSIZE;
	if (rc == 0) {
		memcpy(b.data, p, len);
		done.cookie = x->it->msg->cookie;
		done.status = (uint32_t)res->status;
		done.enqueue_ns = x->it->msg->enqueue_ns;
		rc = queue_result_push(x->c, x->it, &done, &b);
		if (rc < 0)
			queue_buf_free(x->c, &b);
	}
	free(p);
	return rc == 0;
}

static void *worker_main(void *arg)
{
	struct invoker *inv = arg;
	struct queue_client *c = NULL;
	struct runner_worker *w = NULL;
	struct err e = { 0 };

	if (queue_client_open(inv->q, QUEUE_ROLE_INVOKER, inv->id, inv->workers, &c, &e) < 0 ||
	    runner_worker_new(inv->runner, &w, &e) < 0) {
		log_error("worker", "start: %s", e.msg);
		atomic_store(&inv->stop, true);
		queue_client_close(c);
		return NULL;
	}
	while (!should_stop(inv)) {
		struct queue_msg done = { 0 };
		struct act_request req;
		struct act_result res;
		struct queue_buf b;
		struct queue_item it;
		char *result = NULL;
		int rc;

		pthread_mutex_lock(&inv->pop_lock);
		rc = queue_request_pop(c, POP_TIMEOUT_MS, &it);
		pthread_mutex_unlock(&inv->pop_lock);

		if (rc == -ETIMEDOUT || rc == -EINTR)
			continue;
		if (rc < 0) {
			log_error("worker", "pop: %s", strerror(-rc));
			break;
		}
		queue_item_start(c, &it);
		err_clear(&e);
		if (act_request_parse(it.payload, it.msg->len, &req, &e) < 0) {
			log_error("worker", "activation=%s: %s", it.msg->id, e.msg);
			fail_result(&res, e.msg, &result);
		} else {
			struct early x = { inv, c, &it };

			runner_run(w, &req, &res, &result, send_early_result, &x);
			/* The result went ahead: the final completion carries the
			 * logs (and the timings) only. */
			if (res.partial) {
				res.partial = false;
				res.logs_only = true;
				res.result = "";
				res.result_len = 0;
			}
			log_debug("worker", "activation=%s action=%s/%s status=%d duration=%llums",
				  req.activation_id, req.path, req.name, (int)res.status,
				  (unsigned long long)(res.end_ms - res.start_ms));
			act_request_fini(&req);
		}
		atomic_fetch_add(res.status == ACT_SUCCESS ? &inv->done : &inv->failed, 1);
		done.cookie = it.msg->cookie;
		done.status = (uint32_t)res.status;
		done.enqueue_ns = it.msg->enqueue_ns;
		rc = completion_buffer(inv, c, &res, &b);
		if (rc == 0) {
			while ((rc = queue_completion_push(c, &it, &done, &b)) == -EAGAIN &&
			       !queue_is_retired(inv->q)) {
				const struct timespec pause = { 0, 1000000L };

				nanosleep(&pause, NULL);
			}
			if (rc < 0)
				queue_buf_free(c, &b);
		}
		if (rc < 0) {
			log_error("worker", "completion of activation=%s: %s", it.msg->id, strerror(-rc));
			queue_item_release(c, &it);
		}
		act_result_fini(&res);
		free(result);
	}
	runner_worker_free(w);
	queue_client_close(c);
	return NULL;
}

static void *housekeeping_main(void *arg)
{
	struct invoker *inv = arg;
	struct runner_worker *w = NULL;
	struct err e = { 0 };

	if (runner_worker_new(inv->runner, &w, &e) < 0) {
		log_error("housekeeping", "start: %s", e.msg);
		return NULL;
	}
	while (!should_stop(inv)) {
		const struct timespec tick = { 0, TICK_MS * 1000000L };

		runner_tick(w);
		nanosleep(&tick, NULL);
	}
	runner_worker_free(w);
	return NULL;
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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "id", required_argument, NULL, 'i' },
		{ "cpu", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ "queue", required_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = "config/edgewhisk.yaml", *queue_name = NULL;
	static struct invoker inv;
	pthread_t threads[QUEUE_HELD_MAX + 1];
	uint32_t cpu = UINT32_MAX, started = 0;
	struct runner_config rcfg;
	struct err e = { 0 };
	struct sigaction sa;
	char api[128];
	cpu_set_t set;
	int opt, level, status = 0;

	inv.id = UINT32_MAX;
	pthread_mutex_init(&inv.pop_lock, NULL);
	while ((opt = getopt_long(argc, argv, "i:p:c:q:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			if (parse_u32(optarg, QUEUE_MAX_INVOKERS - 1, &inv.id) < 0) {
				fprintf(stderr, "edgewhisk-invoker: --id %s: not a number in 0..%d\n",
					optarg, QUEUE_MAX_INVOKERS - 1);
				return 2;
			}
			break;
		case 'p':
			if (parse_u32(optarg, CPU_SETSIZE - 1, &cpu) < 0) {
				fprintf(stderr, "edgewhisk-invoker: --cpu %s: not a CPU number\n", optarg);
				return 2;
			}
			break;
		case 'c':
			config = optarg;
			break;
		case 'q':
			queue_name = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (inv.id == UINT32_MAX) {
		usage(stderr);
		return 2;
	}
	log_setup("invoker", LOGL_INFO);
	cfg_defaults(&inv.cfg);
	if (cfg_load(&inv.cfg, config, &e) < 0) {
		log_error("main", "config: %s", e.msg);
		return 1;
	}
	if (queue_name) {
		if (queue_name[0] != '/' || strlen(queue_name) >= sizeof(inv.cfg.queue.name)) {
			fprintf(stderr, "edgewhisk-invoker: --queue %s: want /name\n", queue_name);
			return 2;
		}
		snprintf(inv.cfg.queue.name, sizeof(inv.cfg.queue.name), "%s", queue_name);
	}
	level = log_level_parse(inv.cfg.log_level);
	log_setup("invoker", level < 0 ? LOGL_INFO : (enum log_level)level);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* The controller supervises us; if it dies, so do we. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);

	if (cpu == UINT32_MAX)
		cpu = cfg_invoker_cpu(&inv.cfg, inv.id);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0) {
		log_error("main", "pin to cpu %u: %s", cpu, strerror(errno));
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
	inv.workers = (uint32_t)(inv.cfg.invokers.user_memory_mb / inv.cfg.limits.memory_mb.def);
	if (inv.workers < 1)
		inv.workers = 1;
	if (inv.workers > QUEUE_HELD_MAX)
		inv.workers = QUEUE_HELD_MAX;
	if (pthread_create(&threads[started], NULL, housekeeping_main, &inv) == 0)
		started++;
	for (uint32_t i = 0; i < inv.workers; i++)
		if (pthread_create(&threads[started], NULL, worker_main, &inv) == 0)
			started++;
	log_info("main", "ready invoker=%u cpu=%u workers=%u user_memory=%llum queue=%s generation=%u",
		 inv.id, cpu, inv.workers, (unsigned long long)inv.cfg.invokers.user_memory_mb,
		 inv.cfg.queue.name, queue_generation(inv.q));
	while (!stop_requested && !should_stop(&inv)) {
		const struct timespec tick = { 0, 100 * 1000000L };

		nanosleep(&tick, NULL);
	}
	if (queue_is_retired(inv.q))
		log_info("main", "queue retired by a newer controller");
	atomic_store(&inv.stop, true);
	for (uint32_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	runner_free(inv.runner);
	log_info("main", "stopped invoker=%u succeeded=%llu failed=%llu", inv.id,
		 (unsigned long long)atomic_load(&inv.done), (unsigned long long)atomic_load(&inv.failed));
	queue_close(inv.q);
	return status;
}
