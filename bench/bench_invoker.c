/* SPDX-License-Identifier: Apache-2.0 */
/* bench_invoker ("make bench-invoker"): cold start, warm latency,
 * throughput and idle memory of a real edgewhisk-invoker driving real
 * containers, each against a baseline measured in the same run: docker
 * create+start of the same image (cold), the same /run request sent
 * straight to the same warm container (warm, throughput), one invoker
 * (two invokers). The bench plays the controller, as
 * tests/integration/test_invoker.c does: a queue of its own, a config
 * file, invokers started as child processes. Loopback only. Exits 0 on a
 * missed target (a benchmark, not a test), 1 on a failed activation or
 * any other error, 130 when interrupted. See bench/README.md. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/act.h"
#include "invoker/docker.h"
#include "invoker/docker_extra.h"
#include "common/json.h"
#include "invoker/netns.h"
#include "invoker/protocol.h"
#include "invoker/proxy.h"
#include "common/queue.h"

#define BENCH_SOCK "/var/run/docker.sock"
#define BENCH_DOCKER_CLI "/usr/bin/docker"
#define BENCH_DEFAULT_CSV "build/bench/invoker.csv"
#define BENCH_DEFAULT_INVOKER "build/edgewhisk-invoker"
#define BENCH_INVOKERS 2
#define BENCH_MEMORY_MB 256          /* actions' memory = limits.memory.default (the shipped
				      * default), so stem cells fit them */
/* invokers.user_memory, MB (--user-memory): the default leaves room for a
 * session's containers, 16 workers. */
static uint32_t bench_user_memory_mb = 4096;
#define BENCH_ACT_TIMEOUT_MS 30000   /* action time limit */
#define BENCH_WAIT_MS 60000          /* one activation, end to end */
#define BENCH_STALL_MS 30000         /* in-flight loops: no completion for this long */
#define BENCH_CTR_WAIT_MS 30000      /* stem cell replacement */
#define BENCH_SETTLE_MS 250          /* after a stem cell runs: the runner's inspect + tick */
#define BENCH_RSS_IDLE_MS 2000
#define BENCH_MAX_NAMES 64
#define BENCH_PORT 8080
#define BENCH_NAME_MAX 128

struct bench_kind {
	const char *label;           /* nodejs, python, native */
	const char *kind;            /* OpenWhisk kind */
	const char *image;
	const char *code;
};

static const struct bench_kind bench_kinds[] = {
	{ "nodejs", "nodejs:20", "edgewhisk/action-nodejs:1", "function main(p){return {ok:true}}" },
	{ "python", "python:3.11", "edgewhisk/action-python:1", "def main(a): return {'ok': True}\n" },
	{ "native", "native", "edgewhisk/action-native:1", "#!/bin/sh\necho '{\"ok\":true}'\n" },
};
#define BENCH_NKINDS (sizeof(bench_kinds) / sizeof(bench_kinds[0]))

struct bench_opts {
	bool quick;
	const char *csv;
	const char *invoker;
	bool kind_on[BENCH_NKINDS];
	uint32_t cold_n;             /* cold starts per kind (each mode), docker baseline too */
	uint32_t warm_n, warmup_n;   /* sequential warm calls, and warm-up calls before them */
	uint32_t inflight;           /* K: requests kept in flight */
	double tput_s;               /* throughput window */
	uint64_t tput_max;           /* bound on completions in a window */
	bool no_tput;                /* skip the throughput runs (profiling the warm path) */
};

/* An action and its request payload, built once: each push copies it into
 * the queue buffer and writes a fresh activation id over the placeholder,
 * so the bench spends no JSON work on the measured path. */
struct bench_action {
	const struct bench_kind *k;
	char name[64];
	char *payload;
	size_t len;
	size_t id_off;               /* where the 32 hex digits of activationId sit */
};

/* One completion, as the bench keeps it. */
struct bench_done {
	char id[QUEUE_ID_LEN + 8];
	uint32_t status;
	uint64_t lat_ns;             /* push -> completion popped */
	bool has_init;
	uint64_t init_ms;
	uint32_t invoker;            /* home field of the completion: who ran it */
	char container[BENCH_NAME_MAX];
	char result[256];
	char logs[1024];
};

struct bench_stat {
	double p50, p99;
	uint32_t n;
};

struct bench_names {
	char name[BENCH_MAX_NAMES][BENCH_NAME_MAX];
	uint32_t n;
};

struct bench_kind_result {
	bool ran;
	struct bench_stat cold_ms, cold_init_ms, pw_ms, pw_init_ms, docker_ms, docker_rm_ms;
	uint32_t pw_hits;            /* prewarmed runs that really ran in a stem cell */
	struct bench_stat warm_us, direct_us, published_us;
	double tput1, tput2, tput_direct;
	uint32_t tput1_ctrs, tput2_ctrs, direct_ctrs;
	uint64_t tput1_n, tput2_n, direct_n;
	bool has_tput;
};

static char bench_qname[64], bench_instance[64], bench_cfg_path[128];
static struct queue *bench_q;
static struct queue_client *bench_ctl;
static struct docker *bench_dk;
static pid_t bench_inv[BENCH_INVOKERS];
static uint32_t bench_seq;
static volatile sig_atomic_t bench_interrupted;
static const char *bench_invoker_bin = BENCH_DEFAULT_INVOKER;

/* --- small helpers --- */

static uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t bench_epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void bench_sleep_ms(uint32_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	/* A signal cuts the sleep short; callers check bench_interrupted. */
	nanosleep(&ts, NULL);
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* p50 = the median (mean of the middle two for an even count), p99 by
 * nearest rank. Sorts v. */
static struct bench_stat bench_stat_of(double *v, uint32_t n)
{
	struct bench_stat s = { 0, 0, n };
	uint32_t r;

	if (n == 0)
		return s;
	qsort(v, n, sizeof(*v), bench_cmp_double);
	s.p50 = (v[(n - 1) / 2] + v[n / 2]) / 2.0;
	r = (uint32_t)((99ull * n + 99) / 100);
	s.p99 = v[r > 0 ? r - 1 : 0];
	return s;
}

static void bench_on_signal(int sig)
{
	(void)sig;
	if (bench_interrupted) {
		/* Second Ctrl-C: leave now. The invokers get SIGTERM from their
		 * parent-death signal and remove their own containers. */
		if (bench_qname[0])
			shm_unlink(bench_qname);
		_exit(130);
	}
	bench_interrupted = 1;
}

/* mkdir -p of the directory part of path. */
static int bench_mkdirs(const char *path)
{
	char dir[PATH_MAX];
	int n = snprintf(dir, sizeof(dir), "%s", path);
	char *slash;

	if (n < 0 || (size_t)n >= sizeof(dir))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* First line of a command's output (the docker CLI, for what the Engine
 * API client does not expose). "" when it fails. */
static void bench_cmd_line(const char *cmd, char *out, size_t size)
{
	FILE *p = popen(cmd, "r");

	out[0] = '\0';
	if (!p)
		return;
	if (!fgets(out, (int)size, p))
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	pclose(p);
}

/* --- Docker: containers of this run's instance --- */

static int bench_containers(size_t *total, size_t *running)
{
	char label[128], (*ids)[DOCKER_ID_MAX] = NULL;
	size_t n = 0, up = 0;
	struct err e = { 0 };
	int rc;

	snprintf(label, sizeof(label), "edgewhisk.instance=%s", bench_instance);
	rc = docker_container_list(bench_dk, label, &ids, &n, &e);
	if (rc < 0) {
		fprintf(stderr, "bench_invoker: list containers: %s\n", e.msg);
		return rc;
	}
	for (size_t i = 0; running && i < n; i++) {
		struct docker_inspect ins;

		if (docker_container_inspect(bench_dk, ids[i], &ins, NULL) == 0 &&
		    ins.state == DOCKER_STATE_RUNNING)
			up++;
	}
	free(ids);
	*total = n;
	if (running)
		*running = up;
	return 0;
}

static void bench_remove_all_containers(void)
{
	char label[128], (*ids)[DOCKER_ID_MAX] = NULL;
	size_t n = 0;

	if (!bench_dk)
		return;
	snprintf(label, sizeof(label), "edgewhisk.instance=%s", bench_instance);
	if (docker_container_list(bench_dk, label, &ids, &n, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		(void)!docker_container_remove(bench_dk, ids[i], NULL);
	free(ids);
}

/* The network namespace of a running container, as the invoker opens it. */
static int bench_netns(const char *container, int *nsfd)
{
	struct docker_inspect ins;
	struct err e = { 0 };
	int rc = docker_container_inspect(bench_dk, container, &ins, &e);

	if (rc < 0) {
		fprintf(stderr, "bench_invoker: inspect %s: %s\n", container, e.msg);
		return rc;
	}
	if (ins.state != DOCKER_STATE_RUNNING) {
		fprintf(stderr, "bench_invoker: container %s is not running\n", container);
		return -EPROTO;
	}
	rc = netns_open(ins.pid, ins.id, nsfd, &e);
	if (rc < 0)
		fprintf(stderr, "bench_invoker: %s: %s\n", container, e.msg);
	return rc;
}

/* A connection to the container's 127.0.0.1:8080 inside its namespace:
 * the invoker's own path, without the invoker. */
static int bench_direct_open(const char *container, int *nsfd, struct proxy_conn **c)
{
	struct err e = { 0 };
	int rc = bench_netns(container, nsfd);

	if (rc < 0)
		return rc;
	rc = proxy_conn_open_in(*nsfd, BENCH_PORT, 5000, c, &e);
	if (rc < 0) {
		fprintf(stderr, "bench_invoker: connect to %s: %s\n", container, e.msg);
		close(*nsfd);
		*nsfd = -1;
	}
	return rc;
}

/* --- invokers --- */

/* prewarm_kind: index in bench_kinds of the kind that gets one stem cell,
 * or -1. user_memory_mb / memory_mb decide the worker count. */
static int bench_write_config(int prewarm_kind, uint32_t user_memory_mb, uint32_t memory_mb)
{
	FILE *f = fopen(bench_cfg_path, "w");

	if (!f)
		return -errno;
	/* pause_grace 0: a paused container would add unpause to warm calls
	 * and cannot answer the direct calls. idle_timeout 0: nothing is
	 * removed behind the bench's back. */
	fprintf(f,
		"log_level: warn\n"
		"queue:\n  name: %s\n"
		"invokers:\n  count: %d\n  user_memory: %um\n"
		"containers:\n  pause_grace: 0\n  idle_timeout: 0\n"
		"runtimes:\n"
		"  \"nodejs:20\": {image: edgewhisk/action-nodejs:1, default: true, prewarm: %d}\n"
		"  \"python:3.11\": {image: edgewhisk/action-python:1, default: true, prewarm: %d}\n"
		"  native: {image: edgewhisk/action-native:1, prewarm: %d}\n"
		"limits:\n  memory: {default: %um, min: 64m, max: %um}\n",
		bench_qname, BENCH_INVOKERS, user_memory_mb, prewarm_kind == 0, prewarm_kind == 1,
		prewarm_kind == 2, memory_mb,
		/* max: 512m as shipped, but within user_memory */
		memory_mb > 512 ? memory_mb : user_memory_mb < 512 ? user_memory_mb : 512);
	return fclose(f) == 0 ? 0 : -errno;
}

/* Has invoker id exited? Reaps it and says so. */
static bool bench_inv_died(uint32_t id)
{
	int st;

	if (bench_inv[id] <= 0 || waitpid(bench_inv[id], &st, WNOHANG) != bench_inv[id])
		return false;
	fprintf(stderr, "bench_invoker: invoker %u (pid %d) exited (status %#x)\n", id,
		(int)bench_inv[id], (unsigned)st);
	(void)queue_reap(bench_ctl, bench_inv[id], NULL, NULL, NULL);
	bench_inv[id] = 0;
	return true;
}

static bool bench_any_inv_died(void)
{
	bool died = false;

	for (uint32_t i = 0; i < BENCH_INVOKERS; i++)
		died |= bench_inv_died(i);
	return died;
}

static int bench_inv_start(uint32_t id)
{
	char idbuf[16];
	pid_t pid;

	snprintf(idbuf, sizeof(idbuf), "%u", id);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		signal(SIGINT, SIG_IGN);   /* Ctrl-C is the bench's: it stops us in order */
		signal(SIGTERM, SIG_DFL);
		execl(bench_invoker_bin, bench_invoker_bin, "--id", idbuf, "-c", bench_cfg_path,
		      "--queue", bench_qname, (char *)NULL);
		fprintf(stderr, "bench_invoker: exec %s: %s\n", bench_invoker_bin, strerror(errno));
		_exit(127);
	}
	bench_inv[id] = pid;
	/* Ready once it registered on the queue. */
	for (int i = 0; i < 400 && !bench_interrupted; i++) {
		if (queue_invoker_pid(bench_q, id) == pid)
			return 0;
		if (bench_inv_died(id))
			return -ECHILD;
		bench_sleep_ms(25);
	}
	if (bench_interrupted)
		return -EINTR;
	fprintf(stderr, "bench_invoker: invoker %u did not register on the queue in 10 s\n", id);
	return -ETIMEDOUT;
}

/* SIGTERM: the invoker drains its workers and removes its containers. */
static void bench_inv_stop(uint32_t id)
{
	pid_t pid = bench_inv[id];

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 600; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			bench_inv[id] = 0;
			return;
		}
		bench_sleep_ms(50);
	}
	fprintf(stderr, "bench_invoker: invoker %u did not stop in 30 s: killing it\n", id);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	(void)queue_reap(bench_ctl, pid, NULL, NULL, NULL);
	bench_inv[id] = 0;
}

static void bench_inv_stop_all(void)
{
	for (uint32_t i = 0; i < BENCH_INVOKERS; i++)
		bench_inv_stop(i);
}

/* VmRSS and VmHWM of a process, kB. */
struct bench_mem {
	uint64_t rss_kb, hwm_kb, anon_kb, file_kb;
	uint32_t threads;
};

static int bench_rss(pid_t pid, struct bench_mem *m)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	memset(m, 0, sizeof(*m));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;

		if (sscanf(line, "VmRSS: %llu", &v) == 1)
			m->rss_kb = v;
		else if (sscanf(line, "VmHWM: %llu", &v) == 1)
			m->hwm_kb = v;
		else if (sscanf(line, "RssAnon: %llu", &v) == 1)
			m->anon_kb = v;
		else if (sscanf(line, "RssFile: %llu", &v) == 1)
			m->file_kb = v;
		else if (sscanf(line, "Threads: %llu", &v) == 1)
			m->threads = (uint32_t)v;
	}
	fclose(f);
	return m->rss_kb ? 0 : -EPROTO;
}

/* --- requests and completions --- */

static void bench_action_fini(struct bench_action *a)
{
	free(a->payload);
	a->payload = NULL;
}

static int bench_action_init(struct bench_action *a, const struct bench_kind *k, const char *name)
{
	static const char placeholder[] = "00000000000000000000000000000000";
	static const char key[] = "\"activationId\":\"";
	struct act_request r = {
		.activation_id = placeholder,
		.namespace = "guest",
		.path = "guest",
		.version = "0.0.1",
		.kind = k->kind,
		.image = k->image,
		.code = k->code,
		.timeout_ms = BENCH_ACT_TIMEOUT_MS,
		.memory_mb = BENCH_MEMORY_MB,
		.logs_mb = 1,
		.arrival_ms = bench_epoch_ms(),
	};
	char *at;

	memset(a, 0, sizeof(*a));
	a->k = k;
	snprintf(a->name, sizeof(a->name), "%s", name);
	r.name = a->name;
	a->payload = act_request_encode(&r, "{}", 2, &a->len);
	if (!a->payload)
		return -ENOMEM;
	at = memmem(a->payload, a->len, key, sizeof(key) - 1);
	if (!at) {
		bench_action_fini(a);
		return -EPROTO;
	}
	a->id_off = (size_t)(at - a->payload) + sizeof(key) - 1;
	return 0;
}

/* Push one activation of `a` to invoker `home`; stamps enqueue_ns (carried
 * back in the completion) just before the push. */
static int bench_push(const struct bench_action *a, uint32_t home, char id_out[QUEUE_ID_LEN + 8])
{
	struct queue_msg m = { .home = home };
	struct queue_buf b;
	int rc;

	snprintf(m.id, sizeof(m.id), "%08x%024x", (unsigned)getpid(), ++bench_seq);
	rc = queue_buf_alloc(bench_ctl, (uint32_t)a->len, &b);
	if (rc < 0) {
		fprintf(stderr, "bench_invoker: queue buffer of %zu bytes: %s\n", a->len, strerror(-rc));
		return rc;
	}
	memcpy(b.data, a->payload, a->len);
	memcpy((char *)b.data + a->id_off, m.id, QUEUE_ID_LEN);
	if (id_out)
		memcpy(id_out, m.id, sizeof(m.id));
	m.enqueue_ns = bench_now_ns();
	rc = queue_request_push(bench_ctl, &m, &b);
	if (rc < 0) {
		queue_buf_free(bench_ctl, &b);
		fprintf(stderr, "bench_invoker: push activation %s: %s\n", m.id, strerror(-rc));
	}
	return rc;
}

/* Pop one completion (up to timeout_ms). -ETIMEDOUT when none came,
 * -ECHILD when an invoker died meanwhile, -EINTR on Ctrl-C. */
static int bench_pop(uint32_t timeout_ms, struct bench_done *d, bool want_logs)
{
	struct act_result res = { 0 };
	struct queue_item it;
	struct err e = { 0 };
	uint64_t now;
	int rc;

	if (bench_interrupted)
		return -EINTR;
	rc = queue_completion_pop(bench_ctl, timeout_ms, &it);
	if (rc == -ETIMEDOUT || rc == -EINTR) {
		if (bench_any_inv_died())
			return -ECHILD;
		return bench_interrupted ? -EINTR : -ETIMEDOUT;
	}
	if (rc < 0) {
		fprintf(stderr, "bench_invoker: pop completion: %s\n", strerror(-rc));
		return rc;
	}
	now = bench_now_ns();
	memset(d, 0, sizeof(*d));
	snprintf(d->id, sizeof(d->id), "%s", it.msg->id);
	d->lat_ns = now - it.msg->enqueue_ns;
	d->invoker = it.msg->home;
	rc = act_result_parse(it.payload, it.msg->len, &res, &e);
	if (rc == 0 && res.logs_only) {
		/* The result came ahead in its own completion: that one is the
		 * latency a client sees; these logs follow it. */
		act_result_fini(&res);
		queue_completion_done(bench_ctl, &it);
		return bench_pop(timeout_ms, d, want_logs);
	}
	if (rc == 0) {
		const cJSON *l;
		size_t n = 0;

		d->status = (uint32_t)res.status;
		d->has_init = res.has_init;
		d->init_ms = res.init_ms;
		snprintf(d->container, sizeof(d->container), "%s", res.container);
		snprintf(d->result, sizeof(d->result), "%.*s", (int)res.result_len,
			 res.result ? res.result : "");
		cJSON_ArrayForEach(l, res.logs) {
			int w;

			if (!want_logs && d->status == ACT_SUCCESS)
				break;
			w = snprintf(d->logs + n, sizeof(d->logs) - n, "    %s\n",
				     cJSON_IsString(l) ? l->valuestring : "?");
			if (w < 0 || (size_t)w >= sizeof(d->logs) - n)
				break;
			n += (size_t)w;
		}
		act_result_fini(&res);
	} else {
		fprintf(stderr, "bench_invoker: completion %s: %s\n", it.msg->id, e.msg);
	}
	queue_completion_done(bench_ctl, &it);
	return rc;
}

/* A failed activation ends the run: say which and why. */
static int bench_check_done(const struct bench_done *d, const struct bench_action *a)
{
	if (d->status == ACT_SUCCESS && strstr(d->result, "ok"))
		return 0;
	fprintf(stderr,
		"bench_invoker: activation %s of %s (%s) failed: statusCode %u, result %s, "
		"container %s\n%s",
		d->id, a->name, a->k->kind, d->status, d->result, d->container[0] ? d->container : "-",
		d->logs);
	return -EPROTO;
}

/* Push one activation and wait for its completion. */
static int bench_invoke(const struct bench_action *a, uint32_t home, struct bench_done *d)
{
	char id[QUEUE_ID_LEN + 8];
	uint64_t until = bench_now_ns() + (uint64_t)BENCH_WAIT_MS * 1000000ull;
	int rc = bench_push(a, home, id);

	while (rc == 0) {
		rc = bench_pop(500, d, false);
		if (rc == -ETIMEDOUT) {
			rc = bench_now_ns() < until ? 0 : -ETIMEDOUT;
			if (rc < 0)
				fprintf(stderr, "bench_invoker: no completion for %s in %d s\n", id,
					BENCH_WAIT_MS / 1000);
			continue;
		}
		if (rc < 0)
			break;
		if (strcmp(d->id, id) != 0) {
			fprintf(stderr, "bench_invoker: unexpected completion %s (waiting for %s)\n",
				d->id, id);
			continue;
		}
		return bench_check_done(d, a);
	}
	return rc;
}

/* Wait until the instance has `want` containers, all running. */
static int bench_wait_containers(size_t want)
{
	uint64_t until = bench_now_ns() + (uint64_t)BENCH_CTR_WAIT_MS * 1000000ull;
	size_t total = 0, running = 0;
	int rc;

	while (!bench_interrupted) {
		rc = bench_containers(&total, &running);
		if (rc < 0)
			return rc;
		if (total == want && running == want)
			return 0;
		if (bench_any_inv_died())
			return -ECHILD;
		if (bench_now_ns() > until) {
			fprintf(stderr,
				"bench_invoker: waited %d s for %zu running containers, have %zu (%zu "
				"running)\n",
				BENCH_CTR_WAIT_MS / 1000, want, total, running);
			return -ETIMEDOUT;
		}
		bench_sleep_ms(20);
	}
	return -EINTR;
}

static void bench_names_add(struct bench_names *s, const char *name, bool *added)
{
	*added = false;
	for (uint32_t i = 0; i < s->n; i++)
		if (strcmp(s->name[i], name) == 0)
			return;
	if (s->n < BENCH_MAX_NAMES) {
		snprintf(s->name[s->n++], BENCH_NAME_MAX, "%s", name);
		*added = true;
	}
}

/* --- phases --- */

/* Cold starts: a never-seen action each time. With `prewarm`, the invoker
 * keeps one stem cell of the kind and the bench waits, before each call,
 * until the stem cell is back (base + i + 1 running containers; the used
 * one stays warm), then a little more so the runner has filed it as a
 * stem cell. */
static int bench_cold(const struct bench_kind *k, const struct bench_opts *o, bool prewarm,
		      struct bench_stat *lat_ms, struct bench_stat *init_ms, uint32_t *hits)
{
	double lat[64], init[64];
	uint32_t n = o->cold_n < 64 ? o->cold_n : 64, ninit = 0;
	size_t base = 0;
	int rc = 0;

	*hits = 0;
	if (prewarm) {
		rc = bench_wait_containers(1);
		if (rc < 0)
			return rc;
		base = 1;
		bench_sleep_ms(BENCH_SETTLE_MS);
	}
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		struct bench_action a;
		struct bench_done d;
		char name[64];

		snprintf(name, sizeof(name), "%s-%s-%u", prewarm ? "pw" : "cold", k->label, i);
		rc = bench_action_init(&a, k, name);
		if (rc < 0)
			break;
		rc = bench_invoke(&a, 0, &d);
		bench_action_fini(&a);
		if (rc < 0)
			break;
		lat[i] = (double)d.lat_ns / 1e6;
		if (d.has_init)
			init[ninit++] = (double)d.init_ms;
		if (prewarm && strstr(d.container, "prewarm"))
			(*hits)++;
		if (prewarm) {
			rc = bench_wait_containers(base + i + 1);
			if (rc == 0)
				bench_sleep_ms(BENCH_SETTLE_MS);
		}
	}
	if (rc < 0)
		return rc;
	*lat_ms = bench_stat_of(lat, n);
	*init_ms = bench_stat_of(init, ninit);
	return 0;
}

/* Baseline: what Docker alone takes to create and start a container of
 * the image, with the options the invoker uses (limits, labels, no
 * published port), through the same Engine API client. */
static int bench_docker(const struct bench_kind *k, const struct bench_opts *o,
			struct bench_stat *create_ms, struct bench_stat *remove_ms)
{
	char api_env[64], label_inst[128], label_kind[96], name[128];
	const char *env[] = { api_env, NULL };
	const char *labels[] = { label_inst, label_kind, NULL };
	double up[64], rm[64];
	uint32_t n = o->cold_n < 64 ? o->cold_n : 64;

	snprintf(api_env, sizeof(api_env), "__OW_API_HOST=http://127.0.0.1:3233");
	snprintf(label_inst, sizeof(label_inst), "edgewhisk.instance=%s", bench_instance);
	snprintf(label_kind, sizeof(label_kind), "edgewhisk.kind=%s", k->kind);
	for (uint32_t i = 0; i < n; i++) {
		struct docker_create_opts c = { 0 };
		char id[DOCKER_ID_MAX];
		struct err e = { 0 };
		uint64_t t0, t1, t2;
		int rc;

		if (bench_interrupted)
			return -EINTR;
		snprintf(name, sizeof(name), "ewbench_%d_docker_%s_%u", (int)getpid(), k->label, i);
		c.name = name;
		c.image = k->image;
		c.env = env;
		c.labels = labels;
		c.memory_bytes = (uint64_t)BENCH_MEMORY_MB << 20;
		c.pids_limit = 1024;
		c.nofile = 1024;
		c.network_mode = "bridge";
		t0 = bench_now_ns();
		rc = docker_container_create(bench_dk, &c, id, &e);
		if (rc == 0)
			rc = docker_container_start(bench_dk, id, &e);
		t1 = bench_now_ns();
		if (rc < 0) {
			fprintf(stderr, "bench_invoker: docker baseline %s: %s\n", name, e.msg);
			bench_remove_all_containers();
			return rc;
		}
		rc = docker_container_remove(bench_dk, id, &e);
		t2 = bench_now_ns();
		if (rc < 0) {
			fprintf(stderr, "bench_invoker: remove %s: %s\n", name, e.msg);
			return rc;
		}
		up[i] = (double)(t1 - t0) / 1e6;
		rm[i] = (double)(t2 - t1) / 1e6;
	}
	*create_ms = bench_stat_of(up, n);
	*remove_ms = bench_stat_of(rm, n);
	return 0;
}

/* The body the invoker sends to /run for these requests (runner.c
 * run_body: the value, then namespace, action, ids, deadline). */
static void bench_run_body(const struct bench_action *a, char *buf, size_t size, size_t *len)
{
	char id[QUEUE_ID_LEN + 1];
	int n;

	snprintf(id, sizeof(id), "%08x%024x", (unsigned)getpid(), ++bench_seq);
	n = snprintf(buf, size,
		     "{\"value\":{},\"namespace\":\"guest\",\"action_name\":\"/guest/%s\","
		     "\"action_version\":\"0.0.1\",\"activation_id\":\"%s\",\"transaction_id\":\"%s\","
		     "\"deadline\":\"%llu\"}",
		     a->name, id, id, (unsigned long long)(bench_epoch_ms() + 3600000));
	*len = n > 0 && (size_t)n < size ? (size_t)n : 0;
}

static int bench_direct_post(struct proxy_conn *c, const char *body, size_t len)
{
	struct http_response r = { 0 };
	struct err e = { 0 };
	int rc = proxy_post(c, "/run", body, len, BENCH_ACT_TIMEOUT_MS, 64 * 1024, &r, &e);

	if (rc == 0 && (r.status != 200 || !r.body || !strstr(r.body, "ok"))) {
		fprintf(stderr, "bench_invoker: direct /run: HTTP %d %s\n", r.status,
			r.body ? r.body : "");
		rc = -EPROTO;
	} else if (rc < 0) {
		fprintf(stderr, "bench_invoker: direct /run: %s\n", e.msg);
	}
	http_response_fini(&r);
	return rc;
}

/* The direct calls: warm-up, then o->warm_n timed ones of a's /run body
 * on conn, their p50/p99 into *out (lat: o->warm_n samples of room). */
static int bench_direct_series(const struct bench_action *a, struct proxy_conn *conn,
			       const struct bench_opts *o, double *lat, struct bench_stat *out)
{
	char body[1024];
	size_t blen = 0;
	int rc = 0;

	bench_run_body(a, body, sizeof(body), &blen);
	for (uint32_t i = 0; i < o->warmup_n && rc == 0; i++)
		rc = bench_direct_post(conn, body, blen);
	for (uint32_t i = 0; i < o->warm_n && rc == 0 && !bench_interrupted; i++) {
		uint64_t t0 = bench_now_ns();

		rc = bench_direct_post(conn, body, blen);
		lat[i] = (double)(bench_now_ns() - t0) / 1e3;
	}
	if (rc == 0 && bench_interrupted)
		rc = -EINTR;
	if (rc == 0)
		*out = bench_stat_of(lat, o->warm_n);
	return rc;
}

/* The old path, measured beside the new floor: a container of the kind
 * with 8080 published on 127.0.0.1 at a port Docker picks (so one
 * docker-proxy carries every call), given the same /init and called with
 * the same /run body as the direct calls, then removed. */
static int bench_published(const struct bench_kind *k, const struct bench_action *a,
			   const struct bench_opts *o, double *lat, struct bench_stat *us)
{
	const char *labels[] = { NULL, NULL };
	char label[128], name[128];
	char id[DOCKER_ID_MAX] = "";
	struct docker_create_opts c = { 0 };
	struct act_request q = { .namespace = "guest", .name = a->name, .path = "guest",
				 .version = "0.0.1", .kind = k->kind, .image = k->image,
				 .main = "main", .code = k->code, .activation_id = "00000000000000000000000000000000",
				 .timeout_ms = BENCH_ACT_TIMEOUT_MS, .memory_mb = BENCH_MEMORY_MB };
	struct docker_inspect ins;
	struct proxy_conn *conn = NULL;
	struct err e = { 0 };
	char *init = NULL;
	size_t ilen = 0;
	uint64_t until;
	int rc;

	snprintf(label, sizeof(label), "edgewhisk.instance=%s", bench_instance);
	labels[0] = label;
	snprintf(name, sizeof(name), "ewbench_%d_published_%s", (int)getpid(), k->label);
	c.name = name;
	c.image = k->image;
	c.labels = labels;
	c.memory_bytes = (uint64_t)BENCH_MEMORY_MB << 20;
	c.pids_limit = 1024;
	c.nofile = 1024;
	c.network_mode = "bridge";
	c.publish_port = BENCH_PORT;
	rc = docker_container_create(bench_dk, &c, id, &e);
	if (rc == 0)
		rc = docker_container_start(bench_dk, id, &e);
	if (rc == 0)
		rc = docker_container_inspect(bench_dk, id, &ins, &e);
	if (rc == 0 && ins.host_port == 0)
		rc = err_set(&e, -EPROTO, "no port published on 127.0.0.1");
	if (rc == 0)
		rc = proxy_conn_open(ins.host_port, 5000, &conn, &e);
	init = rc == 0 ? protocol_init_body(&q, k->code, bench_epoch_ms() + 3600000, &ilen) : NULL;
	if (rc == 0 && !init)
		rc = err_set(&e, -ENOMEM, "init body");
	/* docker-proxy accepts before the runtime listens: retry /init. */
	until = bench_now_ns() + 10000000000ull;
	while (rc == 0) {
		struct http_response r = { 0 };
		int prc = proxy_post(conn, "/init", init, ilen, 5000, 64 * 1024, &r, &e);
		int status = r.status;

		http_response_fini(&r);
		if (prc == 0 && status == 200)
			break;
		if (bench_now_ns() > until || bench_interrupted) {
			rc = prc < 0 ? prc : err_set(&e, -EPROTO, "/init answered %d", status);
			break;
		}
		bench_sleep_ms(5);
	}
	free(init);
	if (rc < 0)
		fprintf(stderr, "bench_invoker: published-port container %s: %s\n", name, e.msg);
	if (rc == 0)
		rc = bench_direct_series(a, conn, o, lat, us);
	proxy_conn_close(conn);
	if (id[0])
		(void)!docker_container_remove(bench_dk, id, NULL);
	return rc;
}

/* Warm: the same action, one call at a time, through the invoker; then the
 * same /run body straight to the container it ran in. The direct calls
 * come after all invoker calls: they put sentinel lines in the container's
 * log that the invoker's log reader did not ask for, so the invoker must
 * not use that container again (no later phase runs this action). */
static int bench_warm(const struct bench_kind *k, const struct bench_opts *o,
		      struct bench_stat *ew_us, struct bench_stat *direct_us,
		      struct bench_stat *published_us)
{
	char container[BENCH_NAME_MAX], name[64];
	struct proxy_conn *conn = NULL;
	struct bench_action a;
	struct bench_done d;
	double *lat = calloc(o->warm_n, sizeof(double));
	int rc, nsfd = -1;

	if (!lat)
		return -ENOMEM;
	snprintf(name, sizeof(name), "warm-%s", k->label);
	rc = bench_action_init(&a, k, name);
	if (rc < 0) {
		free(lat);
		return rc;
	}
	rc = bench_invoke(&a, 0, &d);        /* creates the container */
	snprintf(container, sizeof(container), "%s", d.container);
	for (uint32_t i = 0; i < o->warmup_n && rc == 0; i++)
		rc = bench_invoke(&a, 0, &d);
	for (uint32_t i = 0; i < o->warm_n && rc == 0; i++) {
		rc = bench_invoke(&a, 0, &d);
		lat[i] = (double)d.lat_ns / 1e3;
		if (rc == 0 && (d.has_init || strcmp(d.container, container) != 0)) {
			fprintf(stderr, "bench_invoker: warm call %u of %s ran in %s%s, not warm in %s\n",
				i, name, d.container, d.has_init ? " with /init" : "", container);
			rc = -EPROTO;
		}
	}
	if (rc == 0) {
		*ew_us = bench_stat_of(lat, o->warm_n);
		rc = bench_direct_open(container, &nsfd, &conn);
	}
	if (rc == 0)
		rc = bench_direct_series(&a, conn, o, lat, direct_us);
	proxy_conn_close(conn);
	if (nsfd >= 0)
		close(nsfd);
	if (rc == 0)
		rc = bench_published(k, &a, o, lat, published_us);
	bench_action_fini(&a);
	free(lat);
	return rc;
}

/* Keep K requests in flight (homes round-robin over `homes` invokers).
 * Warm-up mode runs until 4K completions in a row brought no new
 * container (the pool has grown to what K needs), at least 0.5 s. Measure
 * mode counts the completions of a window of tput_s seconds (or tput_max
 * completions), then lets the rest drain uncounted. */
static int bench_inflight(const struct bench_action *a, uint32_t homes, const struct bench_opts *o,
			  bool warmup, struct bench_names *names, double *rate, uint64_t *count)
{
	uint64_t t0 = bench_now_ns(), last = t0, end = 0, done = 0, since_new = 0;
	uint64_t window = (uint64_t)(o->tput_s * 1e9);
	uint32_t inflight = 0, home = 0;
	bool pushing = true;
	int rc = 0;

	/* K spread round-robin at first; afterwards each completion's
	 * replacement goes to the invoker that ran it, so every invoker keeps
	 * K / homes in flight (the controller would spread different actions
	 * the same way; one action alone would stay on its home invoker). */
	while (rc == 0 && (pushing || inflight > 0)) {
		struct bench_done d;
		uint64_t now;
		bool added;

		while (pushing && inflight < o->inflight && rc == 0) {
			rc = bench_push(a, home % homes, NULL);
			home++;
			if (rc == 0)
				inflight++;
		}
		if (rc < 0)
			break;
		rc = bench_pop(500, &d, false);
		now = bench_now_ns();
		if (rc == -ETIMEDOUT) {
			rc = now - last < (uint64_t)BENCH_STALL_MS * 1000000ull ? 0 : -ETIMEDOUT;
			if (rc < 0)
				fprintf(stderr, "bench_invoker: %u requests in flight, no completion for "
						"%d s\n", inflight, BENCH_STALL_MS / 1000);
			continue;
		}
		if (rc < 0)
			break;
		last = now;
		inflight--;
		rc = bench_check_done(&d, a);
		if (rc < 0)
			break;
		if (!pushing)
			continue;
		home = d.invoker < homes ? d.invoker : home;
		bench_names_add(names, d.container, &added);
		since_new = added ? 0 : since_new + 1;
		done++;
		end = now;
		if (warmup)
			pushing = !((since_new >= 4ull * o->inflight && now - t0 >= 500000000ull) ||
				    now - t0 >= 20000000000ull);
		else
			pushing = now - t0 < window && done < o->tput_max;
	}
	if (rc == 0 && !warmup) {
		*rate = end > t0 ? (double)done / ((double)(end - t0) / 1e9) : 0;
		*count = done;
	}
	return rc;
}

static int bench_tput(const struct bench_action *a, uint32_t homes, const struct bench_opts *o,
		      struct bench_names *names, double *rate, uint64_t *count)
{
	struct bench_names seen = { .n = 0 };
	int rc = bench_inflight(a, homes, o, true, names, NULL, NULL);

	if (rc == 0)
		rc = bench_inflight(a, homes, o, false, &seen, rate, count);
	/* Containers the measured window used (a subset of the warm ones). */
	for (uint32_t i = 0; rc == 0 && i < seen.n; i++) {
		bool added;

		bench_names_add(names, seen.name[i], &added);
	}
	return rc;
}

struct bench_direct_arg {
	int nsfd;
	const char *body;
	size_t len;
	_Atomic uint32_t *go;        /* 0 = wait, 1 = run until end_ns, 2 = abort */
	const _Atomic uint64_t *end_ns;
	_Atomic uint32_t *ready;
	uint64_t n;
	int rc;
};

static void *bench_direct_thread(void *p)
{
	struct bench_direct_arg *t = p;
	struct proxy_conn *c = NULL;
	struct err e = { 0 };
	uint32_t go;

	t->rc = proxy_conn_open_in(t->nsfd, BENCH_PORT, 5000, &c, &e);
	if (t->rc < 0)
		fprintf(stderr, "bench_invoker: connect in a container's namespace: %s\n", e.msg);
	for (int i = 0; i < 3 && t->rc == 0; i++)
		t->rc = bench_direct_post(c, t->body, t->len);
	atomic_fetch_add(t->ready, 1);
	while ((go = atomic_load(t->go)) == 0)
		bench_sleep_ms(1);
	while (go == 1 && t->rc == 0 && bench_now_ns() < atomic_load(t->end_ns)) {
		t->rc = bench_direct_post(c, t->body, t->len);
		if (t->rc == 0)
			t->n++;
	}
	proxy_conn_close(c);
	return NULL;
}

/* Baseline of the throughput: the same /run body straight to the warm
 * containers the 1-invoker run used, one connection (one request in
 * flight) per container, for the same window. */
static int bench_tput_direct(const struct bench_action *a, const struct bench_names *names,
			     const struct bench_opts *o, double *rate, uint64_t *count)
{
	struct bench_direct_arg args[BENCH_MAX_NAMES];
	pthread_t th[BENCH_MAX_NAMES];
	char body[1024];
	_Atomic uint32_t go = 0, ready = 0;
	_Atomic uint64_t end_ns = 0;
	uint32_t started = 0;
	uint64_t t0, t1, total = 0;
	size_t blen = 0;
	int rc = 0;

	bench_run_body(a, body, sizeof(body), &blen);
	for (uint32_t i = 0; i < names->n && rc == 0; i++) {
		args[i] = (struct bench_direct_arg){ .nsfd = -1, .body = body, .len = blen, .go = &go,
						     .end_ns = &end_ns, .ready = &ready };
		rc = bench_netns(names->name[i], &args[i].nsfd);
		if (rc == 0 && pthread_create(&th[i], NULL, bench_direct_thread, &args[i]) != 0) {
			close(args[i].nsfd);
			rc = -EAGAIN;
		}
		if (rc == 0)
			started++;
	}
	while (atomic_load(&ready) < started && !bench_interrupted)
		bench_sleep_ms(1);
	t0 = bench_now_ns();
	atomic_store(&end_ns, t0 + (uint64_t)(o->tput_s * 1e9));
	atomic_store(&go, rc == 0 && !bench_interrupted ? 1 : 2);
	for (uint32_t i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		close(args[i].nsfd);
		total += args[i].n;
		if (args[i].rc < 0 && rc == 0)
			rc = args[i].rc;
	}
	t1 = bench_now_ns();
	if (rc == 0 && bench_interrupted)
		rc = -EINTR;
	if (rc == 0) {
		*rate = (double)total / ((double)(t1 - t0) / 1e9);
		*count = total;
	}
	return rc;
}

/* One kind: a session with no stem cells (cold, warm, direct, throughput
 * with one then two invokers), a session with one stem cell of the kind,
 * then the docker baseline with no invoker running. */
static int bench_run_kind(size_t ki, const struct bench_opts *o, bool tput,
			  struct bench_kind_result *r)
{
	const struct bench_kind *k = &bench_kinds[ki];
	struct bench_names names1 = { .n = 0 }, names2 = { .n = 0 };
	struct bench_action t1 = { 0 }, t2 = { 0 };
	char name[64];
	int rc;

	printf("  %s: cold starts without prewarm, warm calls%s ...\n", k->label,
	       tput ? ", throughput" : "");
	fflush(stdout);
	rc = bench_write_config(-1, bench_user_memory_mb, BENCH_MEMORY_MB);
	if (rc == 0)
		rc = bench_inv_start(0);
	if (rc == 0)
		rc = bench_cold(k, o, false, &r->cold_ms, &r->cold_init_ms, &r->pw_hits);
	if (rc == 0)
		rc = bench_warm(k, o, &r->warm_us, &r->direct_us, &r->published_us);
	if (rc == 0 && tput) {
		snprintf(name, sizeof(name), "tput1-%s", k->label);
		rc = bench_action_init(&t1, k, name);
		if (rc == 0)
			rc = bench_tput(&t1, 1, o, &names1, &r->tput1, &r->tput1_n);
		if (rc == 0)
			rc = bench_tput_direct(&t1, &names1, o, &r->tput_direct, &r->direct_n);
		snprintf(name, sizeof(name), "tput2-%s", k->label);
		if (rc == 0)
			rc = bench_action_init(&t2, k, name);
		/* Both invokers fresh: the same empty pool on each side. */
		bench_inv_stop_all();
		if (rc == 0)
			rc = bench_inv_start(0);
		if (rc == 0)
			rc = bench_inv_start(1);
		if (rc == 0)
			rc = bench_tput(&t2, 2, o, &names2, &r->tput2, &r->tput2_n);
		r->tput1_ctrs = r->direct_ctrs = names1.n;
		r->tput2_ctrs = names2.n;
		r->has_tput = rc == 0;
		bench_action_fini(&t1);
		bench_action_fini(&t2);
	}
	bench_inv_stop_all();
	if (rc < 0)
		return rc;

	/* A used stem cell is only replaced while the warm action container
	 * stays if user_memory holds both. */
	if (bench_user_memory_mb < 2 * BENCH_MEMORY_MB) {
		printf("  %s: no stem-cell run: user_memory %u MB holds one %u MB container\n",
		       k->label, bench_user_memory_mb, BENCH_MEMORY_MB);
		goto docker;
	}
	printf("  %s: cold starts with a stem cell ...\n", k->label);
	fflush(stdout);
	rc = bench_write_config((int)ki, bench_user_memory_mb, BENCH_MEMORY_MB);
	if (rc == 0)
		rc = bench_inv_start(0);
	if (rc == 0)
		rc = bench_cold(k, o, true, &r->pw_ms, &r->pw_init_ms, &r->pw_hits);
	bench_inv_stop_all();
	if (rc < 0)
		return rc;

docker:
	printf("  %s: docker create+start baseline ...\n", k->label);
	fflush(stdout);
	bench_remove_all_containers();
	rc = bench_docker(k, o, &r->docker_ms, &r->docker_rm_ms);
	r->ran = rc == 0;
	return rc;
}

/* Idle memory of an invoker with the shipped defaults for user_memory
 * (1024m) and limits.memory.default (256m): 4 workers, no containers. */
static int bench_idle_rss(struct bench_mem *m)
{
	int rc = bench_write_config(-1, 1024, 256);

	if (rc == 0)
		rc = bench_inv_start(0);
	if (rc == 0) {
		bench_sleep_ms(BENCH_RSS_IDLE_MS);
		rc = bench_interrupted ? -EINTR : bench_rss(bench_inv[0], m);
	}
	bench_inv_stop_all();
	return rc;
}

/* --- reporting --- */

static void bench_machine(FILE *f)
{
	char line[256], model[128] = "unknown", docker[64];
	struct utsname u;
	FILE *ci;

	if (uname(&u) < 0)
		snprintf(u.machine, sizeof(u.machine), "unknown");
	ci = fopen("/proc/cpuinfo", "r");
	while (ci && fgets(line, sizeof(line), ci)) {
		char *colon = strchr(line, ':');

		if (!colon || (strncmp(line, "model name", 10) && strncmp(line, "Hardware", 8)))
			continue;
		colon++;
		colon += strspn(colon, " \t");
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(model, sizeof(model), "%s", colon);
		break;
	}
	if (ci)
		fclose(ci);
	bench_cmd_line(BENCH_DOCKER_CLI " version -f '{{.Server.Version}}' 2>/dev/null", docker,
		       sizeof(docker));
	fprintf(f, "machine: nproc %ld, %s, %s (kernel %s), %ld MiB RAM, docker %s\n",
		sysconf(_SC_NPROCESSORS_ONLN), u.machine, model, u.release,
		(long)((uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE) >> 20),
		docker[0] ? docker : "?");
	ci = fopen("/proc/loadavg", "r");
	if (ci && fgets(line, sizeof(line), ci)) {
		line[strcspn(line, "\n")] = '\0';
		fprintf(f, "load average at start: %s\n", line);
	}
	if (ci)
		fclose(ci);
}

static void bench_image_sizes(FILE *f)
{
	fprintf(f, "runtime images:");
	for (size_t i = 0; i < BENCH_NKINDS; i++) {
		char cmd[256], out[64];
		char *end = NULL;
		unsigned long long b;

		snprintf(cmd, sizeof(cmd), BENCH_DOCKER_CLI " image inspect -f '{{.Size}}' %s 2>/dev/null",
			 bench_kinds[i].image);
		bench_cmd_line(cmd, out, sizeof(out));
		b = strtoull(out, &end, 10);
		if (out[0] && end && !*end)
			fprintf(f, "%s %s %.1f MB", i ? "," : "", bench_kinds[i].image, (double)b / 1e6);
		else
			fprintf(f, "%s %s ?", i ? "," : "", bench_kinds[i].image);
	}
	fprintf(f, "\n");
}

/* One table row and the matching CSV row. baseline/ratio < 0: none. */
static void bench_row(FILE *csv, const char *kind, const char *metric, const char *unit,
		      uint64_t samples, double ew, double base, const char *base_what)
{
	char b[32] = "-", r[32] = "-", e[32];
	double ratio = base > 0 ? ew / base : -1;

	snprintf(e, sizeof(e), "%.1f", ew);
	if (base >= 0)
		snprintf(b, sizeof(b), "%.1f", base);
	if (ratio >= 0)
		snprintf(r, sizeof(r), "%.2f", ratio);
	printf("| %-6s | %-38s | %10s | %10s | %-30s | %6s |\n", kind, metric, e, b,
	       base >= 0 ? base_what : "", r);
	if (csv) {
		fprintf(csv, "%s,%s,%s,%llu,%.3f,", kind, metric, unit, (unsigned long long)samples, ew);
		if (base >= 0)
			fprintf(csv, "%.3f", base);
		fprintf(csv, ",%s,", base >= 0 ? base_what : "");
		if (ratio >= 0)
			fprintf(csv, "%.4f", ratio);
		fprintf(csv, "\n");
	}
}

static void bench_usage(FILE *f)
{
	fprintf(f,
		"usage: bench_invoker [--quick] [--csv PATH] [--kinds LIST] [--invoker PATH]\n"
		"                     [--cold N] [--warm N] [--inflight K] [--seconds S]\n"
		"                     [--no-throughput]\n"
		"  --quick         smoke run: 3 cold starts, 100 warm calls, 1 s windows\n"
		"  --csv PATH      write the results as CSV (default %s)\n"
		"  --kinds LIST    comma-separated subset of nodejs,python,native (default all)\n"
		"  --invoker PATH  edgewhisk-invoker binary (default: next to this binary's\n"
		"                  directory, ../edgewhisk-invoker, else %s)\n"
		"  --cold N        cold starts per kind and mode, and docker baseline runs (default 8)\n"
		"  --warm N        sequential warm calls, through the invoker and direct (default 1000)\n"
		"  --inflight K    requests in flight in the throughput runs (default 8)\n"
		"  --seconds S     throughput window (default 3)\n"
		"  --no-throughput skip the throughput runs (e.g. to profile the warm path)\n"
		"  --user-memory MB invokers.user_memory in MB, 256..65536 (default 4096): with\n"
		"                  256 MB actions, MB / 256 workers per invoker\n",
		BENCH_DEFAULT_CSV, BENCH_DEFAULT_INVOKER);
}

static int bench_parse_u32(const char *opt, const char *s, uint32_t min, uint32_t max,
			   uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "bench_invoker: %s %s: want %u..%u\n", opt, s, min, max);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

static int bench_parse_kinds(const char *list, struct bench_opts *o)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	memset(o->kind_on, 0, sizeof(o->kind_on));
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < BENCH_NKINDS; i++)
			if (strcmp(t, bench_kinds[i].label) == 0)
				break;
		if (i == BENCH_NKINDS) {
			fprintf(stderr, "bench_invoker: --kinds: unknown kind %s\n", t);
			return -EINVAL;
		}
		o->kind_on[i] = true;
	}
	return 0;
}

static int bench_parse(int argc, char **argv, struct bench_opts *o)
{
	bool cold = false, warm = false, secs = false;
	uint32_t v;

	memset(o, 0, sizeof(*o));
	o->csv = BENCH_DEFAULT_CSV;
	o->cold_n = 8;
	o->warm_n = 1000;
	o->inflight = 8;
	o->tput_s = 3.0;
	for (size_t i = 0; i < BENCH_NKINDS; i++)
		o->kind_on[i] = true;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--quick")) {
			o->quick = true;
		} else if (!strcmp(a, "--no-throughput")) {
			o->no_tput = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			bench_usage(stdout);
			exit(0);
		} else if (!val) {
			bench_usage(stderr);
			return -EINVAL;
		} else if (!strcmp(a, "--csv")) {
			o->csv = argv[++i];
		} else if (!strcmp(a, "--invoker")) {
			o->invoker = argv[++i];
		} else if (!strcmp(a, "--kinds")) {
			if (bench_parse_kinds(argv[++i], o) < 0)
				return -EINVAL;
		} else if (!strcmp(a, "--cold")) {
			if (bench_parse_u32(a, argv[++i], 1, 64, &o->cold_n) < 0)
				return -EINVAL;
			cold = true;
		} else if (!strcmp(a, "--warm")) {
			if (bench_parse_u32(a, argv[++i], 10, 1000000, &o->warm_n) < 0)
				return -EINVAL;
			warm = true;
		} else if (!strcmp(a, "--inflight")) {
			if (bench_parse_u32(a, argv[++i], 1, 24, &o->inflight) < 0)
				return -EINVAL;
		} else if (!strcmp(a, "--seconds")) {
			if (bench_parse_u32(a, argv[++i], 1, 600, &v) < 0)
				return -EINVAL;
			o->tput_s = v;
			secs = true;
		} else if (!strcmp(a, "--user-memory")) {
			if (bench_parse_u32(a, argv[++i], BENCH_MEMORY_MB, 65536, &bench_user_memory_mb) < 0)
				return -EINVAL;
		} else {
			bench_usage(stderr);
			return -EINVAL;
		}
	}
	if (o->quick) {
		if (!cold)
			o->cold_n = 3;
		if (!warm)
			o->warm_n = 100;
		if (!secs)
			o->tput_s = 1.0;
	}
	o->warmup_n = o->warm_n / 20 < 10 ? 10 : o->warm_n / 20;
	o->tput_max = 200000;
	return 0;
}

/* build/bench/bench_invoker -> build/edgewhisk-invoker, when it is there. */
static void bench_find_invoker(const char *argv0, const struct bench_opts *o)
{
	static char path[PATH_MAX];
	const char *slash = strrchr(argv0, '/');

	if (o->invoker) {
		bench_invoker_bin = o->invoker;
		return;
	}
	if (slash && snprintf(path, sizeof(path), "%.*s/../edgewhisk-invoker", (int)(slash - argv0),
			      argv0) < (int)sizeof(path) &&
	    access(path, X_OK) == 0)
		bench_invoker_bin = path;
}

static void bench_teardown(void)
{
	bench_inv_stop_all();
	bench_remove_all_containers();
	queue_client_close(bench_ctl);
	bench_ctl = NULL;
	queue_close(bench_q);            /* the creator unlinks the name */
	bench_q = NULL;
	unlink(bench_cfg_path);
	docker_close(bench_dk);
	bench_dk = NULL;
}

static const char *bench_strerror(int rc)
{
	if (rc == -ECHILD)
		return "an invoker exited (see above)";
	if (rc == -EPROTO)
		return "an activation or a direct call failed (see above)";
	if (rc == -EINTR)
		return "interrupted";
	return strerror(-rc);
}

int main(int argc, char **argv)
{
	struct bench_kind_result res[BENCH_NKINDS];
	struct bench_opts o;
	struct queue_params p;
	struct err e = { 0 };
	struct sigaction sa;
	struct bench_mem mem = { 0 };
	uint64_t t_start;
	const struct bench_kind_result *native = NULL;
	FILE *csv;
	int rc;

	if (bench_parse(argc, argv, &o) < 0)
		return 2;
	bench_find_invoker(argv[0], &o);
	if (access(bench_invoker_bin, X_OK) < 0) {
		fprintf(stderr, "bench_invoker: %s: %s (run make first, or pass --invoker)\n",
			bench_invoker_bin, strerror(errno));
		return 1;
	}
	memset(res, 0, sizeof(res));
	snprintf(bench_qname, sizeof(bench_qname), "/ewbench-inv-%d", (int)getpid());
	snprintf(bench_instance, sizeof(bench_instance), "%s", bench_qname + 1);
	snprintf(bench_cfg_path, sizeof(bench_cfg_path), "/tmp/ewbench-inv-%d.yaml", (int)getpid());

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bench_on_signal;   /* no SA_RESTART: waits return early */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	queue_params_defaults(&p);
	p.name = bench_qname;
	p.slots = 256;
	p.invokers = BENCH_INVOKERS;
	p.max_clients = 128;             /* 2 invokers x 32 workers + the bench */
	rc = docker_open(BENCH_SOCK, &bench_dk, &e);
	if (rc == 0)
		rc = docker_ping(bench_dk, &e);
	for (size_t i = 0; rc == 0 && i < BENCH_NKINDS; i++)
		if (o.kind_on[i])
			rc = docker_image_exists(bench_dk, bench_kinds[i].image, &e);
	if (rc == 0)
		rc = queue_create(&p, &bench_q, &e);
	if (rc == 0)
		rc = queue_client_open(bench_q, QUEUE_ROLE_CONTROLLER, 0, 0, &bench_ctl, &e);
	if (rc < 0) {
		fprintf(stderr, "bench_invoker: setup: %s%s\n", e.msg,
			rc == -ENOENT ? " (dockerd up? make images?)" : "");
		bench_teardown();
		return 1;
	}

	bench_machine(stdout);
	bench_image_sizes(stdout);
	printf("invoker: %s; queue %s; user_memory %u MB, actions %u MB (%u workers per invoker), "
	       "no parameters; containers: pause_grace 0\n",
	       bench_invoker_bin, bench_qname, bench_user_memory_mb, BENCH_MEMORY_MB,
	       bench_user_memory_mb / BENCH_MEMORY_MB);
	printf("samples: %u cold starts per kind and mode, %u warm calls (+%u warm-up), K=%u in "
	       "flight for %.0f s\n\n",
	       o.cold_n, o.warm_n, o.warmup_n, o.inflight, o.tput_s);
	fflush(stdout);
	t_start = bench_now_ns();

	printf("  idle invoker memory ...\n");
	fflush(stdout);
	rc = bench_idle_rss(&mem);
	for (size_t i = 0; rc == 0 && i < BENCH_NKINDS; i++)
		if (o.kind_on[i])
			rc = bench_run_kind(i, &o, !o.no_tput, &res[i]);
	bench_teardown();
	if (rc < 0) {
		fprintf(stderr, "bench_invoker: %s\n", bench_strerror(rc));
		return rc == -EINTR ? 130 : 1;
	}

	rc = bench_mkdirs(o.csv);
	csv = rc == 0 ? fopen(o.csv, "w") : NULL;
	if (!csv) {
		fprintf(stderr, "bench_invoker: write %s: %s\n", o.csv, strerror(rc < 0 ? -rc : errno));
		return 1;
	}
	fprintf(csv, "kind,metric,unit,samples,edgewhisk,baseline,baseline_is,ratio\n");

	printf("\nratio = edgewhisk / baseline (lower is better for times, higher for req/s)\n\n");
	printf("| kind   | metric                                 |  edgewhisk |   baseline | "
	       "baseline is                    |  ratio |\n");
	printf("|--------|----------------------------------------|-----------:|-----------:|"
	       "--------------------------------|-------:|\n");
	for (size_t i = 0; i < BENCH_NKINDS; i++) {
		const struct bench_kind_result *r = &res[i];
		const char *l = bench_kinds[i].label;

		if (!r->ran)
			continue;
		if (i == 2)
			native = r;
		bench_row(csv, l, "cold start, no prewarm, p50 (ms)", "ms", r->cold_ms.n,
			  r->cold_ms.p50, r->docker_ms.p50, "docker create+start p50");
		bench_row(csv, l, "  initTime of those, p50 (ms)", "ms", r->cold_init_ms.n,
			  r->cold_init_ms.p50, -1, "");
		bench_row(csv, l, "cold start, prewarmed, p50 (ms)", "ms", r->pw_ms.n, r->pw_ms.p50,
			  r->docker_ms.p50, "docker create+start p50");
		bench_row(csv, l, "  initTime of those, p50 (ms)", "ms", r->pw_init_ms.n,
			  r->pw_init_ms.p50, -1, "");
		bench_row(csv, l, "warm, sequential, p50 (us)", "us", r->warm_us.n, r->warm_us.p50,
			  r->direct_us.p50, "direct /run p50 (namespace)");
		bench_row(csv, l, "warm, sequential, p99 (us)", "us", r->warm_us.n, r->warm_us.p99,
			  r->direct_us.p99, "direct /run p99");
		bench_row(csv, l, "  direct via published port, p50 (us)", "us", r->published_us.n,
			  r->published_us.p50, r->direct_us.p50, "direct in namespace p50");
		if (r->has_tput) {
			char what[64];

			snprintf(what, sizeof(what), "direct, %u conns", r->direct_ctrs);
			bench_row(csv, l, "throughput, 1 invoker (req/s)", "req/s", r->tput1_n, r->tput1,
				  r->tput_direct, what);
			bench_row(csv, l, "throughput, 2 invokers (req/s)", "req/s", r->tput2_n, r->tput2,
				  r->tput1, "1 invoker");
		}
	}
	bench_row(csv, "-", "idle invoker VmRSS (kB)", "kB", 1, (double)mem.rss_kb, -1, "");
	bench_row(csv, "-", "  of which RssAnon (kB)", "kB", 1, (double)mem.anon_kb, -1, "");
	bench_row(csv, "-", "  of which RssFile (kB)", "kB", 1, (double)mem.file_kb, -1, "");
	bench_row(csv, "-", "idle invoker VmHWM (kB)", "kB", 1, (double)mem.hwm_kb, -1, "");
	if (fclose(csv) != 0) {
		fprintf(stderr, "bench_invoker: write %s: %s\n", o.csv, strerror(errno));
		return 1;
	}
	printf("\n");
	for (size_t i = 0; i < BENCH_NKINDS; i++) {
		const struct bench_kind_result *r = &res[i];

		if (!r->ran)
			continue;
		printf("%s: docker remove p50 %.1f ms; stem cell used %u of %u; containers for K=%u: "
		       "%u (1 invoker), %u (2 invokers)\n",
		       bench_kinds[i].label, r->docker_rm_ms.p50, r->pw_hits, r->pw_ms.n, o.inflight,
		       r->tput1_ctrs, r->tput2_ctrs);
	}
	printf("idle invoker: %u threads (4 workers: user_memory 1024m / memory default 256m)\n",
	       mem.threads);
	printf("total time: %.0f s\ncsv: %s\n", (double)(bench_now_ns() - t_start) / 1e9, o.csv);

	printf("\ntargets:\n");
	for (size_t i = 0; i < BENCH_NKINDS; i++) {
		const struct bench_kind_result *r = &res[i];
		double ratio = r->direct_us.p50 > 0 ? r->warm_us.p50 / r->direct_us.p50 : 0;

		if (!r->ran)
			continue;
		printf("  %-4s %-6s warm p50 <= 1.3x direct         (%.2fx: %.0f us vs %.0f us)\n",
		       ratio <= 1.3 ? "PASS" : "MISS", bench_kinds[i].label, ratio, r->warm_us.p50,
		       r->direct_us.p50);
	}
	if (native && native->pw_ms.n > 0)
		printf("  %-4s native prewarmed cold start p50 <= 15 ms (%.1f ms; docker create+start "
		       "p50 %.1f ms)\n",
		       native->pw_ms.p50 <= 15.0 ? "PASS" : "MISS", native->pw_ms.p50,
		       native->docker_ms.p50);
	printf("  %-4s idle invoker VmRSS <= 4 MiB            (%.2f MiB, VmHWM %.2f MiB)\n",
	       mem.rss_kb <= 4096 ? "PASS" : "MISS", (double)mem.rss_kb / 1024,
	       (double)mem.hwm_kb / 1024);
	return 0;
}
