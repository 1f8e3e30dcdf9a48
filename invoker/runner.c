/* SPDX-License-Identifier: Apache-2.0 */
/* Activation execution (see runner.h). The pool lock is held only for pool
 * bookkeeping, never across a Docker or HTTP call. */
#include "invoker/runner.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "invoker/docker.h"
#include "common/jscan.h"
#include "common/log.h"
#include "invoker/logs.h"
#include "invoker/netns.h"
#include "invoker/protocol.h"
#include "invoker/proxy.h"
#include "common/now.h"
#include "common/file.h"

#define RUNNER_PORT 8080
#define READY_RETRY_MS 5          /* /init retry while the proxy starts */
#define LOG_IDLE_MS 2000          /* OpenWhisk: stop when no log line for 2 s */
#define PREWARM_RETRY_MS 5000     /* after a stem cell could not be created */

struct ctr {
	char id[DOCKER_ID_MAX];
	char name[128];
	int netns;                   /* the container's network namespace, -1 = none */
	struct proxy_conn *conn;
	char log_path[512];
	struct logs_reader logs;
};

struct runner {
	struct runner_config cfg;
	char instance[128];
	char api_env[320];
	char network[64];
	pthread_mutex_t lock;
	pthread_cond_t freed;        /* signalled when containers free up */
	/* Housekeeping sleeps on hk until hk_until (monotonic ms, 0 = no
	 * deadline); hk_notify wakes it only for an earlier deadline, so a
	 * busy invoker does not wake it per activation. */
	pthread_cond_t hk;
	uint64_t hk_until;
	bool hk_sleeping;
	struct pool *pool;
	_Atomic uint32_t counter;    /* container names */
};

struct runner_worker {
	struct runner *r;
	struct docker *d;
};

static void sleep_ms(uint32_t ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* --- containers --- */

static void ctr_free(struct ctr *c)
{
	if (!c)
		return;
	proxy_conn_close(c->conn);
	if (c->netns >= 0)
		close(c->netns);
	logs_reader_fini(&c->logs);
	free(c);
}

static void ctr_remove(struct runner_worker *w, struct ctr *c)
{
	struct err e = { 0 };

	if (!c)
		return;
	proxy_conn_close(c->conn);
	c->conn = NULL;
	if (c->id[0] && docker_container_remove(w->d, c->id, &e) < 0)
		log_warn("runner", "remove container=%s: %s", c->name, e.msg);
	ctr_free(c);
}

/* Keep [A-Za-z0-9_] of `s`, as OpenWhisk names its containers. */
static void name_part(char *dst, size_t size, const char *s)
{
	size_t n = 0;

	for (; *s && n + 1 < size; s++)
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_')
			dst[n++] = *s;
	dst[n] = '\0';
}

/* A started container with its network namespace open. -ENOENT: Docker has no such image
 * (create answered 404); other errors are the platform's. */
static int ctr_create(struct runner_worker *w, const char *kind, const char *image,
		      uint32_t memory_mb, const char *what, struct ctr **out, struct err *e)
{
	struct runner *r = w->r;
	char label_inst[192], label_owner[256], label_kind[128], part[48];
	const char *env[] = { r->api_env, NULL };
	const char *labels[] = { label_inst, label_owner, label_kind, NULL };
	struct docker_create_opts o = { 0 };
	struct docker_inspect ins;
	struct ctr *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return err_set(e, -ENOMEM, "allocate container record");
	c->netns = -1;
	logs_reader_init(&c->logs);
	name_part(part, sizeof(part), what);
	snprintf(c->name, sizeof(c->name), "ewk%u_%d_%u_%s", r->cfg.invoker_id, (int)getpid(),
		 atomic_fetch_add(&r->counter, 1), part);
	snprintf(label_inst, sizeof(label_inst), "edgewhisk.instance=%s", r->instance);
	snprintf(label_owner, sizeof(label_owner), "edgewhisk.owner=%s.%u", r->instance,
		 r->cfg.invoker_id);
	snprintf(label_kind, sizeof(label_kind), "edgewhisk.kind=%s", kind);
	o.name = c->name;
	o.image = image;
	o.env = env;
	o.labels = labels;
	o.memory_bytes = (uint64_t)memory_mb << 20;
	o.pids_limit = r->cfg.pids_limit;
	o.nofile = r->cfg.nofile;
	o.network_mode = r->network;
	/* Nothing published: the runner reaches the container's :8080
	 * through its namespace, so no docker-proxy runs and no other local
	 * user can reach the action. */
	rc = docker_container_create(w->d, &o, c->id, e);
	if (rc < 0)
		goto fail;
	rc = docker_container_start(w->d, c->id, e);
	if (rc == 0)
		rc = docker_container_inspect(w->d, c->id, &ins, e);
	if (rc == 0 && (ins.state != DOCKER_STATE_RUNNING || ins.pid <= 0))
		rc = err_set(e, -EIO, "container %s is not running after start", c->name);
	if (rc == 0)
		rc = netns_open(ins.pid, c->id, &c->netns, e);
	if (rc < 0) {
		err_wrap(e, rc, "start container %s", c->name);
		ctr_remove(w, c);
		return rc == -ENOENT ? -EIO : rc; /* -ENOENT: create's "no such image" only */
	}
	snprintf(c->log_path, sizeof(c->log_path), "%s", ins.log_path);
	*out = c;
	return 0;
fail:
	ctr_free(c);
	return rc;
}

/* --- the pool, under the lock --- */

/* Something falls due at `at` (0: at once, e.g. a slot freed for a stem
 * cell): wake the housekeeping if it sleeps past it. Locked. */
static void hk_notify(struct runner *r, uint64_t at)
{
	/* hk_until 0: it sleeps with no deadline, so any deadline is earlier. */
	if (r->hk_sleeping && at != UINT64_MAX && (!r->hk_until || at < r->hk_until))
		pthread_cond_signal(&r->hk);
}

/* A released container's first deadline: its pause or its removal. */
static uint64_t idle_deadline(const struct runner *r, uint64_t now)
{
	uint64_t grace = r->cfg.pool.pause_grace_ms, idle = r->cfg.pool.idle_timeout_ms;
	uint64_t d = grace && (!idle || grace < idle) ? grace : idle;

	return d ? now + d : UINT64_MAX;
}

static void slot_removed(struct runner_worker *w, uint32_t slot)
{
	struct runner *r = w->r;
	struct ctr *c;

	pthread_mutex_lock(&r->lock);
	c = pool_slot_data(r->pool, slot);
	pool_slot_set_data(r->pool, slot, NULL);
	pthread_mutex_unlock(&r->lock);
	ctr_remove(w, c);
	pthread_mutex_lock(&r->lock);
	pool_removed(r->pool, slot);
	pthread_cond_broadcast(&r->freed);
	if (r->cfg.pool.prewarm_count)
		hk_notify(r, 0);
	pthread_mutex_unlock(&r->lock);
}

static void slot_release(struct runner_worker *w, uint32_t slot, const char *key, bool keep)
{
	struct runner *r = w->r;

	uint64_t now = now_mono_ms();

	pthread_mutex_lock(&r->lock);
	pool_release(r->pool, slot, key, keep, now);
	pthread_cond_broadcast(&r->freed);
	if (keep)
		hk_notify(r, idle_deadline(r, now));
	pthread_mutex_unlock(&r->lock);
	if (!keep)
		slot_removed(w, slot);
}

/* --- results --- */

/* Why the connection to a container broke: OOM, or it exited. */
static void container_died(struct runner_worker *w, struct ctr *c, struct protocol_outcome *o, bool init)
{
	struct docker_inspect ins = { 0 };
	bool oom = false;

	/* Docker records the OOM kill shortly after the process dies. */
	for (int i = 0; i < 40; i++) {
		if (docker_container_inspect(w->d, c->id, &ins, NULL) < 0)
			break;
		oom = ins.oom_killed;
		if (oom || (ins.state != DOCKER_STATE_RUNNING && ins.state != DOCKER_STATE_PAUSED))
			break;
		sleep_ms(5);
	}
	if (oom)
		protocol_outcome_error(o, ACT_DEVELOPER_ERROR, "The action exhausted its memory and was aborted.");
	else
		protocol_outcome_error(o, ACT_DEVELOPER_ERROR,
			      init ? "The action did not initialize and exited unexpectedly."
				   : "The action did not produce a valid response and exited unexpectedly.");
	o->keep = false;
}

static bool conn_broken(int rc)
{
	return rc == -ECONNRESET || rc == -ECONNABORTED || rc == -EPIPE || rc == -ECONNREFUSED;
}

/* POST with the container's connection, connecting first if needed. */
static int post(struct ctr *c, const char *path, const char *body, size_t len, uint32_t timeout_ms,
		size_t max_body, struct http_response *resp, struct err *e)
{
	int rc;

	if (!c->conn) {
		rc = proxy_conn_open_in(c->netns, RUNNER_PORT, timeout_ms, &c->conn, e);
		if (rc < 0)
			return rc;
	}
	rc = proxy_post(c->conn, path, body, len, timeout_ms, max_body, resp, e);
	if (rc < 0) {
		proxy_conn_close(c->conn);
		c->conn = NULL;
	}
	return rc;
}

/* Action code larger than this is not action code (the store's limit is
 * far below it). */
#define CODE_FILE_MAX (256u << 20)

/* The whole of a code file, NUL-terminated (malloc'd), or NULL. */
static char *read_code_file(const char *path)
{
	char *buf = NULL;

	return file_read_all(path, CODE_FILE_MAX, &buf, NULL) == 0 ? buf : NULL;
}

/* /init, retrying while the proxy in a fresh container is not listening. */
static void do_init(struct runner_worker *w, struct ctr *c, const struct act_request *q,
		    uint64_t deadline_ms, struct protocol_outcome *o)
{
	struct http_response resp = { 0 };
	uint64_t start = now_mono_ms(), limit = start + q->timeout_ms, next_check = start + 50;
	struct err e = { 0 };
	size_t len = 0;
	char *code = NULL, *body = NULL;
	int rc = -ETIMEDOUT;

	o->keep = true;
	if (!q->code && q->code_file) {
		code = read_code_file(q->code_file);
		if (!code)
			log_error("runner", "activation=%s: read code %s: %s", q->activation_id,
				  q->code_file, strerror(errno));
	}
	if (code || q->code || !q->code_file)
		body = protocol_init_body(q, code ? code : q->code, deadline_ms, &len);
	free(code);
	if (!body) {
		protocol_outcome_error(o, ACT_WHISK_ERROR, "Failed to build the /init request.");
		o->keep = false;
		return;
	}
	for (;;) {
		uint64_t now = now_mono_ms();

		if (now >= limit) {
			protocol_outcome_errorf(o, ACT_DEVELOPER_ERROR,
				       "The action exceeded its time limit of %llu milliseconds during "
				       "initialization.", (unsigned long long)q->timeout_ms);
			o->keep = false;
			o->timeout = true;
			break;
		}
		err_clear(&e);
		rc = post(c, "/init", body, len, (uint32_t)(limit - now), 64 * 1024, &resp, &e);
		if (rc == 0)
			break;
		if (rc == -ETIMEDOUT)
			continue;
		if (!conn_broken(rc)) {
			protocol_outcome_errorf(o, ACT_WHISK_ERROR, "Failed to initialize the action: %s", e.msg);
			o->keep = false;
			break;
		}
		/* Refused or reset: the proxy is not up yet, or the container
		 * died. Look every 50 ms, retry meanwhile. */
		if (now_mono_ms() >= next_check) {
			struct docker_inspect ins;

			next_check = now_mono_ms() + 50;
			if (docker_container_inspect(w->d, c->id, &ins, NULL) == 0 &&
			    ins.state != DOCKER_STATE_RUNNING) {
				container_died(w, c, o, true);
				break;
			}
		}
		sleep_ms(READY_RETRY_MS);
	}
	free(body);
	if (rc == 0)
		protocol_init_outcome(&resp, o);
	http_response_fini(&resp);
}

static void collect_logs(struct ctr *c, const struct act_request *q, const struct protocol_outcome *o,
			 struct act_result *res)
{
	bool wait = o->status != ACT_DEVELOPER_ERROR && strcmp(q->kind, "blackbox") != 0;
	struct logs_result lr = { 0 };
	struct err e = { 0 };

	if (!c || !c->log_path[0])
		return;
	if (logs_collect(&c->logs, c->log_path, q->logs_mb << 20, wait, LOG_IDLE_MS, 2 * LOG_IDLE_MS,
			 &lr, &e) < 0) {
		log_warn("runner", "logs of activation=%s container=%s: %s", q->activation_id,
			 c->name, e.msg);
		return;
	}
	if (o->status == ACT_DEVELOPER_ERROR && lr.lines) {
		char line[160];

		snprintf(line, sizeof(line), "%-30s stderr: %s", "",
			 "The action did not initialize or run as expected. Log data might be missing.");
		cJSON_AddItemToArray(lr.lines, cJSON_CreateString(line));
	}
	res->logs = lr.lines;
	lr.lines = NULL;
	logs_result_fini(&lr);
}

/* --- one activation: acquire a container, run in it, finish --- */

/* One activation on its way through the three steps. */
struct run {
	struct runner_worker *w;
	const struct act_request *q;
	struct act_result *res;
	struct protocol_outcome o;
	char key[POOL_KEY_MAX];
	struct pool_acquire a;
	struct ctr *c;
	uint64_t t0, init_start, run_start;
	bool retried;                /* one retry on a fresh container, at most */
};

/* Wait, under the lock, until the pool decides; evicted containers are
 * removed outside it. false: the outcome says why nothing runs. */
static bool acquire_slot(struct run *x)
{
	struct runner *r = x->w->r;
	const struct act_request *q = x->q;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		pool_acquire(r->pool, x->key, q->kind, (uint32_t)q->memory_mb, now_mono_ms(), &x->a);
		if (x->a.evict_count) {
			pthread_mutex_unlock(&r->lock);
			for (uint32_t i = 0; i < x->a.evict_count; i++)
				slot_removed(x->w, x->a.evict[i]);
			pthread_mutex_lock(&r->lock);
			if (x->a.decision == POOL_WAIT)
				continue;
		}
		if (x->a.decision != POOL_WAIT)
			break;
		/* Memory is held by running activations: wait for one to end,
		 * but not past the action's own time limit. */
		if (now_epoch_ms() - x->t0 >= q->timeout_ms) {
			pthread_mutex_unlock(&r->lock);
			protocol_outcome_error(&x->o, ACT_WHISK_ERROR,
					       "Failed to provision resources to run the action: the "
					       "invoker's memory is in use by running activations.");
			return false;
		} else {
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 100 * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&r->freed, &r->lock, &until);
		}
	}
	/* A stem cell taken: housekeeping makes its replacement now, not at
	 * its next deadline (with no pause or idle timeout there is none). */
	if (x->a.decision == POOL_USE && x->a.from_prewarm)
		hk_notify(r, 0);
	pthread_mutex_unlock(&r->lock);
	if (x->a.decision == POOL_TOO_BIG) {
		protocol_outcome_errorf(&x->o, ACT_WHISK_ERROR,
					"Failed to provision resources to run the action: it needs %llu "
					"MB, the invoker has %u MB.",
					(unsigned long long)q->memory_mb, r->cfg.pool.user_memory_mb);
		return false;
	}
	return true;
}

/* Step 1: a container for the activation in x->c (created, or a warm or
 * paused one unpaused). false: the outcome says why nothing runs. */
static bool run_acquire(struct run *x)
{
	struct runner *r = x->w->r;
	const struct act_request *q = x->q;
	struct err e = { 0 };
	int rc;

	for (;;) {
		if (!acquire_slot(x))
			return false;
		if (x->a.decision == POOL_CREATE) {
			rc = ctr_create(x->w, q->kind, q->image, (uint32_t)q->memory_mb, q->name, &x->c,
					&e);
			pthread_mutex_lock(&r->lock);
			if (rc == 0)
				pool_slot_set_data(r->pool, x->a.slot, x->c);
			pool_created(r->pool, x->a.slot, rc == 0, now_mono_ms());
			pthread_cond_broadcast(&r->freed);
			pthread_mutex_unlock(&r->lock);
			if (rc == 0)
				return true;
			log_error("runner", "activation=%s: %s", q->activation_id, e.msg);
			/* The action names an image this board lacks: the
			 * developer's to fix, as upstream treats an image it
			 * cannot pull. */
			if (rc == -ENOENT)
				protocol_outcome_errorf(&x->o, ACT_DEVELOPER_ERROR,
							"The action's image '%.256s' is not present on "
							"this board, and edgewhisk never pulls images: "
							"build or load it (docker build, docker load) "
							"first.",
							q->image);
			else
				protocol_outcome_errorf(&x->o, ACT_WHISK_ERROR,
							"Failed to provision resources to run the "
							"action: %s",
							e.msg);
			return false;
		}
		x->c = pool_slot_data(r->pool, x->a.slot);
		if (!x->a.was_paused || docker_container_unpause(x->w->d, x->c->id, &e) == 0)
			return true;
		log_warn("runner", "unpause container=%s: %s", x->c->name, e.msg);
		slot_release(x->w, x->a.slot, x->key, false);
		x->c = NULL;
		if (x->retried) {
			protocol_outcome_error(&x->o, ACT_WHISK_ERROR,
					       "Failed to provision resources to run the action.");
			return false;
		}
		x->retried = true;
	}
}

enum run_step { RUN_DONE, RUN_RETRY };

/* Step 2: /init when the container needs it, then /run. RUN_RETRY: a warm
 * container refused the connection before anything ran (killed from
 * outside, dockerd restarted): it was dropped, acquire another. */
static enum run_step run_exec(struct run *x)
{
	struct runner *r = x->w->r;
	const struct act_request *q = x->q;
	struct act_result *res = x->res;
	struct http_response resp = { 0 };
	struct err e = { 0 };
	uint64_t deadline_ms, used;
	size_t blen = 0;
	char *body;
	int rc;

	snprintf(res->container, sizeof(res->container), "%s", x->c->name);
	deadline_ms = now_epoch_ms() + q->timeout_ms;
	if (!pool_slot(r->pool, x->a.slot)->initialised) {
		uint64_t t_init;

		x->init_start = now_epoch_ms();
		t_init = now_mono_ms();
		do_init(x->w, x->c, q, deadline_ms, &x->o);
		res->has_init = true;
		res->init_ms = now_mono_ms() - t_init;
		if (!x->o.keep)
			return RUN_DONE;
	}
	body = protocol_run_body(q, deadline_ms, &blen);
	if (!body) {
		protocol_outcome_error(&x->o, ACT_WHISK_ERROR, "Failed to build the /run request.");
		x->o.keep = false;
		return RUN_DONE;
	}
	x->run_start = now_epoch_ms();
	used = res->has_init ? res->init_ms : 0;
	rc = post(x->c, "/run", body, blen,
		  (uint32_t)(q->timeout_ms > used ? q->timeout_ms - used : 1),
		  r->cfg.max_result_bytes + 1024, &resp, &e);
	free(body);
	if (rc == -ECONNREFUSED && !res->has_init && !x->retried) {
		log_warn("runner", "activation=%s: container=%s refuses connections: replaced",
			 q->activation_id, x->c->name);
		http_response_fini(&resp);
		slot_release(x->w, x->a.slot, x->key, false);
		x->c = NULL;
		x->retried = true;
		return RUN_RETRY;
	}
	if (rc == -ETIMEDOUT) {
		protocol_outcome_errorf(&x->o, ACT_DEVELOPER_ERROR,
					"The action exceeded its time limit of %llu milliseconds.",
					(unsigned long long)q->timeout_ms);
		x->o.keep = false;
		x->o.timeout = true;
	} else if (conn_broken(rc)) {
		container_died(x->w, x->c, &x->o, false);
	} else if (rc < 0) {
		protocol_outcome_errorf(&x->o, ACT_WHISK_ERROR, "Failed to run the action: %s", e.msg);
		x->o.keep = false;
	} else {
		protocol_run_outcome(&resp, r->cfg.max_result_bytes, &x->o);
	}
	http_response_fini(&resp);
	res->start_ms = res->has_init ? x->init_start : x->run_start;
	res->wait_ms = res->start_ms > q->arrival_ms && q->arrival_ms ? res->start_ms - q->arrival_ms
								     : 0;
	return RUN_DONE;
}

/* Step 3: timings, the result sent ahead of the logs when the caller
 * takes it (the container stays FINISHING until its logs are read), the
 * logs, the container back to the pool or removed. */
static void run_finish(struct run *x, runner_result_fn on_result, void *arg)
{
	struct runner *r = x->w->r;
	const struct act_request *q = x->q;
	struct act_result *res = x->res;

	res->end_ms = now_epoch_ms();
	if (!res->start_ms) {
		res->start_ms = x->init_start ? x->init_start : res->end_ms;
		res->wait_ms = q->arrival_ms && res->start_ms > q->arrival_ms
				       ? res->start_ms - q->arrival_ms
				       : 0;
	}
	if (on_result && x->o.result) {
		res->status = x->o.status;
		res->timeout = x->o.timeout;
		res->result = x->o.result;
		res->result_len = x->o.result_len;
		pthread_mutex_lock(&r->lock);
		pool_finishing(r->pool, x->a.slot);
		pthread_mutex_unlock(&r->lock);
		res->partial = on_result(arg, res);
	}
	collect_logs(x->c, q, &x->o, res);
	slot_release(x->w, x->a.slot, x->key, x->o.keep);
}

void runner_run(struct runner_worker *w, const struct act_request *q, struct act_result *res,
		char **result_buf, runner_result_fn on_result, void *arg)
{
	struct run x = { .w = w, .q = q, .res = res, .o = { .status = ACT_WHISK_ERROR } };

	memset(res, 0, sizeof(*res));
	*result_buf = NULL;
	x.t0 = now_epoch_ms();
	if (act_request_key(q, x.key, sizeof(x.key)) < 0) {
		protocol_outcome_error(&x.o, ACT_WHISK_ERROR, "The action's name is too long.");
	} else {
		bool ran;

		while ((ran = run_acquire(&x)) && run_exec(&x) == RUN_RETRY)
			;
		if (ran)
			run_finish(&x, on_result, arg);
	}
	if (!res->end_ms)
		res->start_ms = res->end_ms = now_epoch_ms();
	if (!x.o.result)
		protocol_outcome_error(&x.o, ACT_WHISK_ERROR, "internal error");
	res->status = x.o.status;
	res->timeout = x.o.timeout;
	res->result = x.o.result;
	res->result_len = x.o.result ? x.o.result_len : 0;
	*result_buf = x.o.result;
}

/* --- housekeeping --- */

uint64_t runner_tick(struct runner_worker *w)
{
	struct runner *r = w->r;
	struct pool_tick t;
	struct err e = { 0 };
	uint64_t next;

	pthread_mutex_lock(&r->lock);
	pool_tick(r->pool, now_mono_ms(), &t);
	pthread_mutex_unlock(&r->lock);
	next = t.next_ms;
	for (uint32_t i = 0; i < t.pause_count; i++) {
		struct ctr *c = pool_slot_data(r->pool, t.pause[i]);
		bool ok;

		/* A paused peer cannot answer: drop the kept-alive connection. */
		proxy_conn_close(c->conn);
		c->conn = NULL;
		err_clear(&e);
		ok = docker_container_pause(w->d, c->id, &e) == 0;
		if (!ok)
			log_warn("runner", "pause container=%s: %s", c->name, e.msg);
		pthread_mutex_lock(&r->lock);
		pool_paused(r->pool, t.pause[i], ok);
		pthread_mutex_unlock(&r->lock);
		if (!ok)
			slot_removed(w, t.pause[i]);
	}
	for (uint32_t i = 0; i < t.remove_count; i++)
		slot_removed(w, t.remove[i]);
	for (uint32_t i = 0; i < t.create_count; i++) {
		uint32_t slot = t.create[i];
		const struct pool_container *pc = pool_slot(r->pool, slot);
		const char *image = NULL;
		struct ctr *c = NULL;
		int rc;

		for (uint32_t k = 0; k < r->cfg.pool.prewarm_count; k++)
			if (strcmp(r->cfg.pool.prewarm[k].kind, pc->kind) == 0)
				image = r->cfg.pool.prewarm[k].image;
		err_clear(&e);
		rc = image ? ctr_create(w, pc->kind, image, pc->memory_mb, "prewarm", &c, &e) : -EINVAL;
		if (rc < 0)
			log_warn("runner", "prewarm kind=%s: %s", pc->kind, e.msg);
		pthread_mutex_lock(&r->lock);
		if (rc == 0)
			pool_slot_set_data(r->pool, slot, c);
		pool_created(r->pool, slot, rc == 0, now_mono_ms());
		if (rc < 0) {
			/* Not again at once: the freed slot would be retried on
			 * the next wake-up, against a failing daemon. */
			pool_prewarm_hold(r->pool, now_mono_ms() + PREWARM_RETRY_MS);
			if (!next || now_mono_ms() + PREWARM_RETRY_MS < next)
				next = now_mono_ms() + PREWARM_RETRY_MS;
		}
		pthread_cond_broadcast(&r->freed);
		pthread_mutex_unlock(&r->lock);
	}
	return next;
}

void runner_wait(struct runner *r, uint64_t until_ms)
{
	pthread_mutex_lock(&r->lock);
	r->hk_until = until_ms;
	r->hk_sleeping = true;
	if (until_ms) {
		/* hk runs on CLOCK_MONOTONIC (runner_new). */
		struct timespec ts = { .tv_sec = (time_t)(until_ms / 1000),
				       .tv_nsec = (long)(until_ms % 1000) * 1000000L };

		if (until_ms > now_mono_ms())
			pthread_cond_timedwait(&r->hk, &r->lock, &ts);
	} else {
		pthread_cond_wait(&r->hk, &r->lock);
	}
	r->hk_sleeping = false;
	pthread_mutex_unlock(&r->lock);
}

void runner_wake(struct runner *r)
{
	pthread_mutex_lock(&r->lock);
	pthread_cond_broadcast(&r->freed);
	pthread_cond_broadcast(&r->hk);
	pthread_mutex_unlock(&r->lock);
}

/* --- setup --- */

int runner_worker_new(struct runner *r, struct runner_worker **out, struct err *e)
{
	struct runner_worker *w = calloc(1, sizeof(*w));
	int rc;

	if (!w)
		return err_set(e, -ENOMEM, "allocate runner worker");
	w->r = r;
	rc = docker_open(r->cfg.docker_socket, &w->d, e);
	if (rc < 0) {
		free(w);
		return rc;
	}
	*out = w;
	return 0;
}

void runner_worker_free(struct runner_worker *w)
{
	if (!w)
		return;
	docker_close(w->d);
	free(w);
}

/* Remove containers of this instance and invoker left by an earlier run
 * (other invokers of the instance clean up their own). */
static int remove_orphans(struct runner_worker *w, struct err *e)
{
	char label[256], (*ids)[DOCKER_ID_MAX] = NULL;
	size_t n = 0, removed = 0;
	int rc;

	snprintf(label, sizeof(label), "edgewhisk.owner=%s.%u", w->r->instance, w->r->cfg.invoker_id);
	rc = docker_container_list(w->d, label, &ids, &n, e);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct err e2 = { 0 };

		if (docker_container_remove(w->d, ids[i], &e2) == 0)
			removed++;
		else
			log_warn("runner", "remove orphan %.12s: %s", ids[i], e2.msg);
	}
	free(ids);
	if (removed)
		log_info("runner", "removed %zu orphaned container(s) of %s", removed, label);
	return 0;
}

int runner_new(const struct runner_config *cfg, struct runner **out, struct err *e)
{
	struct runner_worker *w = NULL;
	struct runner *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return err_set(e, -ENOMEM, "allocate runner");
	r->cfg = *cfg;
	/* "/edgewhisk-act-v1" -> "edgewhisk-act-v1" */
	snprintf(r->instance, sizeof(r->instance), "%s",
		 cfg->instance[0] == '/' ? cfg->instance + 1 : cfg->instance);
	snprintf(r->network, sizeof(r->network), "%s", cfg->network ? cfg->network : "bridge");
	snprintf(r->api_env, sizeof(r->api_env), "__OW_API_HOST=%s", cfg->api_host ? cfg->api_host : "");
	r->cfg.instance = r->instance;
	r->cfg.network = r->network;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->freed, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&r->hk, &ca);
		pthread_condattr_destroy(&ca);
	}
	rc = pool_new(&cfg->pool, &r->pool);
	if (rc < 0)
		err_set(e, rc, "allocate the container pool");
	if (rc == 0)
		rc = runner_worker_new(r, &w, e);
	if (rc == 0)
		rc = docker_ping(w->d, e);
	if (rc == 0)
		rc = remove_orphans(w, e);
	runner_worker_free(w);
	if (rc < 0) {
		pool_free(r->pool);
		pthread_cond_destroy(&r->freed);
		pthread_cond_destroy(&r->hk);
		pthread_mutex_destroy(&r->lock);
		free(r);
		return err_wrap(e, rc, "docker at %s", cfg->docker_socket);
	}
	*out = r;
	return 0;
}

void runner_free(struct runner *r)
{
	struct runner_worker *w = NULL;

	if (!r)
		return;
	if (runner_worker_new(r, &w, NULL) == 0) {
		for (uint32_t i = 0; i < POOL_MAX_CONTAINERS; i++) {
			struct ctr *c = pool_slot_data(r->pool, i);

			if (!c)
				continue;
			pool_slot_set_data(r->pool, i, NULL);
			ctr_remove(w, c);
		}
		runner_worker_free(w);
	}
	pool_free(r->pool);
	pthread_cond_destroy(&r->freed);
	pthread_cond_destroy(&r->hk);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
