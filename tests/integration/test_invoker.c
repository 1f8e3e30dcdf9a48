/* SPDX-License-Identifier: Apache-2.0 */
/* Invoker integration: a real edgewhisk-invoker process, real dockerd, the
 * runtime images from `make images`. The test plays the controller: it
 * creates a queue of its own (unique name), writes a config pointing at
 * it, starts invokers, pushes activation requests and reads completions;
 * it checks containers through the Docker API. Loopback only.
 * Exit 77 (skip) only when there is no Docker socket and CI is not set. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/act.h"
#include "invoker/docker.h"
#include "tests/harness.h"
#include "common/queue.h"

#define SOCK "/var/run/docker.sock"
#define INVOKER_BIN "build/edgewhisk-invoker"

static char qname[64], instance[64], cfg_path[128];
static struct queue *q;
static struct queue_client *ctl;
static struct docker *dk;
static pid_t invokers[2];
static uint32_t seq;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Containers of this test's instance, by the Docker API. */
static size_t containers(void)
{
	char label[128], (*ids)[DOCKER_ID_MAX] = NULL;
	size_t n = 0;

	snprintf(label, sizeof(label), "edgewhisk.instance=%s", instance);
	if (docker_container_list(dk, label, &ids, &n, NULL) < 0)
		return (size_t)-1;
	free(ids);
	return n;
}

/* Containers of the instance that Docker reports running. */
static size_t running_containers(void)
{
	char label[128], (*ids)[DOCKER_ID_MAX] = NULL;
	size_t n = 0, running = 0;

	snprintf(label, sizeof(label), "edgewhisk.instance=%s", instance);
	if (docker_container_list(dk, label, &ids, &n, NULL) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		struct docker_inspect ins = { 0 };

		if (docker_container_inspect(dk, ids[i], &ins, NULL) == 0 &&
		    ins.state == DOCKER_STATE_RUNNING)
			running++;
	}
	free(ids);
	return running;
}

static void remove_all_containers(void)
{
	char label[128], (*ids)[DOCKER_ID_MAX] = NULL;
	size_t n = 0;

	snprintf(label, sizeof(label), "edgewhisk.instance=%s", instance);
	if (docker_container_list(dk, label, &ids, &n, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		(void)!docker_container_remove(dk, ids[i], NULL);
	free(ids);
}

static int write_config(uint32_t user_memory_mb, uint32_t native_prewarm, uint32_t pause_grace_ms)
{
	FILE *f = fopen(cfg_path, "w");

	if (!f)
		return -errno;
	fprintf(f,
		"queue:\n  name: %s\n  slots: 64\n"
		"invokers:\n  count: 2\n  user_memory: %um\n"
		"containers:\n  pause_grace: %u\n  idle_timeout: 600000\n"
		"runtimes:\n"
		"  \"nodejs:20\": {image: edgewhisk/action-nodejs:1, default: true, prewarm: 0}\n"
		"  \"python:3.11\": {image: edgewhisk/action-python:1, default: true, prewarm: 0}\n"
		"  native: {image: edgewhisk/action-native:1, prewarm: %u}\n"
		"limits:\n  memory: {default: 128m, min: 64m, max: %um}\n",
		qname, user_memory_mb, pause_grace_ms, native_prewarm,
		user_memory_mb < 512 ? user_memory_mb : 512);
	return fclose(f) == 0 ? 0 : -errno;
}

static pid_t start_invoker(uint32_t id)
{
	char idbuf[16];
	pid_t pid;

	snprintf(idbuf, sizeof(idbuf), "%u", id);
	pid = fork();
	if (pid == 0) {
		execl(INVOKER_BIN, INVOKER_BIN, "--id", idbuf, "-c", cfg_path, (char *)NULL);
		_exit(127);
	}
	/* Ready when it registered on the queue. */
	for (int i = 0; i < 200 && pid > 0; i++) {
		if (queue_invoker_pid(q, id) == pid)
			return pid;
		usleep(25000);
	}
	return pid;
}

static void stop_invoker(uint32_t id, int sig)
{
	int status;

	if (invokers[id] <= 0)
		return;
	kill(invokers[id], sig);
	waitpid(invokers[id], &status, 0);
	if (sig == SIGKILL)
		(void)queue_reap(ctl, invokers[id], NULL, NULL, NULL);
	invokers[id] = 0;
}

struct action {
	const char *name, *kind, *image, *code;
	uint32_t timeout_ms, memory_mb;
	const char *version;
};

/* Push one activation request; its id goes to id_out. */
static int push(const struct action *a, uint32_t home, const char *params, char id_out[40])
{
	struct act_request r = {
		.namespace = "guest",
		.path = "guest",
		.name = a->name,
		.version = a->version ? a->version : "0.0.1",
		.kind = a->kind,
		.image = a->image,
		.code = a->code,
		.timeout_ms = a->timeout_ms ? a->timeout_ms : 10000,
		.memory_mb = a->memory_mb ? a->memory_mb : 128,
		.logs_mb = 1,
		.arrival_ms = now_ms(),
	};
	struct queue_msg m = { .home = home };
	struct queue_buf b;
	size_t len = 0;
	char *payload;

	snprintf(id_out, 40, "%08x%024x", (unsigned)getpid(), ++seq);
	r.activation_id = id_out;
	payload = act_request_encode(&r, params, strlen(params), &len);
	if (!payload || queue_buf_alloc(ctl, (uint32_t)len, &b) < 0) {
		free(payload);
		return -1;
	}
	memcpy(b.data, payload, len);
	free(payload);
	snprintf(m.id, sizeof(m.id), "%s", id_out);
	if (queue_request_push(ctl, &m, &b) < 0) {
		queue_buf_free(ctl, &b);
		return -1;
	}
	return 0;
}

/* Wait for the completions of ids[0..n): res[i] and result[i] (the result
 * JSON text). Returns how many arrived within 60 s. */
static int wait_all(char (*ids)[40], int n, struct act_result *res, char (*result)[4096])
{
	uint64_t until = now_ms() + 60000;
	int got = 0;

	while (got < n && now_ms() < until) {
		struct queue_item it;
		int rc = queue_completion_pop(ctl, 500, &it);

		if (rc == -ETIMEDOUT)
			continue;
		if (rc < 0)
			break;
		for (int i = 0; i < n; i++) {
			struct act_result r;

			if (strcmp(it.msg->id, ids[i]) != 0 ||
			    act_result_parse(it.payload, it.msg->len, &r, NULL) < 0)
				continue;
			if (r.logs_only) {
				/* The result came ahead (partial); these are its logs. */
				json_delete(res[i].logs);
				res[i].logs = r.logs;
				res[i].end_ms = r.end_ms;
				r.logs = NULL;
				got++;
			} else {
				act_result_fini(&res[i]);
				res[i] = r;
				snprintf(result[i], sizeof(result[i]), "%.*s", (int)r.result_len, r.result);
				res[i].result = NULL;
				if (!r.partial)
					got++;
				r.logs = NULL;
			}
			act_result_fini(&r);
		}
		queue_completion_done(ctl, &it);
	}
	return got;
}

/* Push one activation and wait for it. Returns the status code, or -1. */
static int invoke(const struct action *a, uint32_t home, const char *params, struct act_result *res,
		  char *result, size_t result_size)
{
	char ids[1][40], results[1][4096];

	memset(res, 0, sizeof(*res));
	if (push(a, home, params, ids[0]) < 0 || wait_all(ids, 1, res, results) != 1)
		return -1;
	snprintf(result, result_size, "%s", results[0]);
	return (int)res->status;
}

/* All log lines of a result joined by newlines. */
static void logs_text(const struct act_result *res, char *out, size_t size)
{
	const cJSON *l;
	size_t n = 0;

	out[0] = '\0';
	cJSON_ArrayForEach(l, res->logs) {
		int w = snprintf(out + n, size - n, "%s\n", cJSON_IsString(l) ? l->valuestring : "?");

		if (w < 0 || (size_t)w >= size - n)
			break;
		n += (size_t)w;
	}
}

static const struct action js_hello = {
	"hello-js", "nodejs:20", "edgewhisk/action-nodejs:1",
	"function main(p) { console.log('js says hi'); return {greeting: 'Hello ' + (p.name || 'stranger')}; }",
	0, 0, NULL
};
static const struct action py_hello = {
	"hello-py", "python:3.11", "edgewhisk/action-python:1",
	"def main(args):\n    print('py says hi')\n    return {'greeting': 'Hello ' + args.get('name', 'stranger')}\n",
	0, 0, NULL
};
static const struct action native_hello = {
	"hello-sh", "native", "edgewhisk/action-native:1",
	"#!/bin/sh\necho sh says hi >&2\necho '{\"greeting\":\"Hello from sh\"}'\n",
	0, 0, NULL
};

static void test_hello_each_kind(void)
{
	const struct action *acts[] = { &js_hello, &py_hello, &native_hello };
	char result[4096], logs[8192];

	for (size_t i = 0; i < 3; i++) {
		struct act_result res;
		int st = invoke(acts[i], 0, "{\"name\":\"edge\"}", &res, result, sizeof(result));

		CHECK_INT_EQ(st, 0);
		if (i < 2)
			CHECK_STR_EQ(result, "{\"greeting\":\"Hello edge\"}");
		else
			CHECK_STR_CONTAINS(result, "Hello from sh");
		CHECK(res.has_init);
		logs_text(&res, logs, sizeof(logs));
		CHECK_STR_CONTAINS(logs, i == 0 ? "stdout: js says hi" : i == 1 ? "stdout: py says hi"
										 : "stderr: sh says hi");
		CHECK(strstr(logs, "XXX_THE_END") == NULL);
		act_result_fini(&res);
	}
}

static void test_warm_reuse_no_new_container(void)
{
	char r1[1024], r2[1024];
	struct act_result a, b;
	size_t before;

	CHECK_INT_EQ(invoke(&js_hello, 0, "{\"name\":\"one\"}", &a, r1, sizeof(r1)), 0);
	before = containers();
	CHECK_INT_EQ(invoke(&js_hello, 0, "{\"name\":\"two\"}", &b, r2, sizeof(r2)), 0);
	CHECK_INT_EQ(containers(), before);
	CHECK_STR_EQ(r2, "{\"greeting\":\"Hello two\"}");
	CHECK(!b.has_init);                       /* warm: no /init */
	CHECK_STR_EQ(a.container, b.container);   /* the same container */
	act_result_fini(&a);
	act_result_fini(&b);
}

static void test_timeout_kills(void)
{
	const struct action slow = { "slow", "nodejs:20", "edgewhisk/action-nodejs:1",
				     "function main() { return new Promise(r => setTimeout(() => r({}), 5000)); }",
				     700, 0, NULL };
	char result[1024];
	struct act_result res;
	size_t before = containers();
	uint64_t t0 = now_ms();

	CHECK_INT_EQ(invoke(&slow, 0, "{}", &res, result, sizeof(result)), 2);
	CHECK(now_ms() - t0 < 4000);
	CHECK_STR_CONTAINS(result, "The action exceeded its time limit of 700 milliseconds.");
	CHECK(res.timeout);
	CHECK_INT_EQ(containers(), before);       /* created for it, then destroyed */
	act_result_fini(&res);
}

static void test_oom(void)
{
	const struct action hog = { "hog", "python:3.11", "edgewhisk/action-python:1",
				    "def main(args):\n    x = bytearray(400 * 1024 * 1024)\n    return {'n': len(x)}\n",
				    20000, 64, NULL };
	char result[1024];
	struct act_result res;

	CHECK_INT_EQ(invoke(&hog, 0, "{}", &res, result, sizeof(result)), 2);
	CHECK_STR_CONTAINS(result, "The action exhausted its memory and was aborted.");
	act_result_fini(&res);
}

static void test_crash_and_bad_output(void)
{
	const struct action crash = { "crash", "nodejs:20", "edgewhisk/action-nodejs:1",
				      "function main() { process.exit(3); }", 0, 0, NULL };
	const struct action notjson = { "notjson", "native", "edgewhisk/action-native:1",
					"#!/bin/sh\necho this is not json\n", 0, 0, NULL };
	const struct action apperr = { "apperr", "python:3.11", "edgewhisk/action-python:1",
				       "def main(a):\n    return {'error': 'bad input', 'x': 1}\n", 0, 0, NULL };
	char result[1024];
	struct act_result res;
	size_t before = containers();

	CHECK_INT_EQ(invoke(&crash, 0, "{}", &res, result, sizeof(result)), 2);
	act_result_fini(&res);
	CHECK_INT_EQ(invoke(&notjson, 0, "{}", &res, result, sizeof(result)), 2);
	act_result_fini(&res);
	CHECK_INT_EQ(containers(), before);       /* both destroyed */
	CHECK_INT_EQ(invoke(&apperr, 0, "{}", &res, result, sizeof(result)), 1);
	CHECK_STR_EQ(result, "{\"error\":\"bad input\"}");
	CHECK_INT_EQ(containers(), before + 1);   /* application error keeps it warm */
	act_result_fini(&res);
}

/* Two actions at once on one invoker: each activation's logs hold only its
 * own marker. Pushed together, collected in any order. */
static void test_log_attribution_concurrent(void)
{
	const struct action la = { "logger-a", "native", "edgewhisk/action-native:1",
				   "#!/bin/sh\nfor i in 1 2 3 4 5; do echo AAA-$i; sleep 0.05; done\necho '{\"who\":\"a\"}'\n",
				   0, 0, NULL };
	const struct action lb = { "logger-b", "native", "edgewhisk/action-native:1",
				   "#!/bin/sh\nfor i in 1 2 3 4 5; do echo BBB-$i >&2; sleep 0.05; done\necho '{\"who\":\"b\"}'\n",
				   0, 0, NULL };
	char ids[4][40], results[4][4096], logs[8192];
	struct act_result res[4];

	/* Two of each at once: with 8 workers they run side by side, two in
	 * containers of the same action. */
	for (int i = 0; i < 4; i++)
		REQUIRE(push(i % 2 ? &lb : &la, 0, "{}", ids[i]) == 0);
	memset(res, 0, sizeof(res));
	CHECK_INT_EQ(wait_all(ids, 4, res, results), 4);
	for (int i = 0; i < 4; i++) {
		CHECK_INT_EQ(res[i].status, 0);
		logs_text(&res[i], logs, sizeof(logs));
		if (i % 2) {
			CHECK_STR_CONTAINS(logs, "stderr: BBB-1");
			CHECK_STR_CONTAINS(logs, "stderr: BBB-5");
			CHECK(strstr(logs, "AAA") == NULL);
		} else {
			CHECK_STR_CONTAINS(logs, "stdout: AAA-1");
			CHECK_STR_CONTAINS(logs, "stdout: AAA-5");
			CHECK(strstr(logs, "BBB") == NULL);
		}
		/* Each line once: five lines of its own, nothing of the other. */
		CHECK_INT_EQ(cJSON_GetArraySize(res[i].logs), 5);
		act_result_fini(&res[i]);
	}
}

/* kind blackbox: any image that speaks /init + /run, logs read without
 * waiting for sentinels. */
static void test_blackbox_user_image(void)
{
	const struct action bb = { "bb", "blackbox", "edgewhisk/action-native:1",
				   "#!/bin/sh\necho '{\"black\":\"box\"}'\n", 0, 0, NULL };
	char result[256];
	struct act_result res;

	CHECK_INT_EQ(invoke(&bb, 0, "{}", &res, result, sizeof(result)), 0);
	CHECK_STR_EQ(result, "{\"black\":\"box\"}");
	act_result_fini(&res);
	CHECK_INT_EQ(invoke(&bb, 0, "{}", &res, result, sizeof(result)), 0);
	CHECK(!res.has_init);                     /* warm like any other */
	act_result_fini(&res);
}

static void test_eviction_small_budget_and_orphans(void)
{
	const struct action a = { "evict-a", "native", "edgewhisk/action-native:1",
				  "#!/bin/sh\necho '{\"a\":1}'\n", 0, 256, NULL };
	const struct action b = { "evict-b", "native", "edgewhisk/action-native:1",
				  "#!/bin/sh\necho '{\"b\":1}'\n", 0, 256, NULL };
	char result[256];
	struct act_result res;

	/* Restart invoker 0 with a 256m budget: orphans of the old run go. */
	stop_invoker(0, SIGKILL);
	CHECK(containers() > 0);                  /* left behind by the kill */
	REQUIRE(write_config(256, 0, 0) == 0);
	invokers[0] = start_invoker(0);
	CHECK_INT_EQ(containers(), 0);            /* orphans removed at start */
	CHECK_INT_EQ(invoke(&a, 0, "{}", &res, result, sizeof(result)), 0);
	act_result_fini(&res);
	CHECK_INT_EQ(containers(), 1);
	CHECK_INT_EQ(invoke(&b, 0, "{}", &res, result, sizeof(result)), 0);
	act_result_fini(&res);
	CHECK_INT_EQ(containers(), 1);            /* a was evicted for b */
	CHECK_STR_EQ(result, "{\"b\":1}");
}

static void test_prewarm_used(void)
{
	const struct action n = { "pw", "native", "edgewhisk/action-native:1",
				  "#!/bin/sh\necho '{\"pw\":1}'\n", 0, 128, NULL };
	char result[256];
	struct act_result res;

	stop_invoker(0, SIGTERM);
	CHECK_INT_EQ(containers(), 0);            /* a clean stop removes its containers */
	REQUIRE(write_config(1024, 1, 0) == 0);
	invokers[0] = start_invoker(0);
	/* The stem cell is ready once it runs (a busy machine takes seconds). */
	for (int i = 0; i < 300 && running_containers() < 1; i++)
		usleep(50000);
	CHECK_INT_EQ(containers(), 1);            /* the stem cell */
	usleep(300000);
	CHECK_INT_EQ(invoke(&n, 0, "{}", &res, result, sizeof(result)), 0);
	CHECK(strstr(res.container, "prewarm") != NULL);  /* ran in the stem cell */
	CHECK(res.has_init);
	act_result_fini(&res);
	for (int i = 0; i < 100 && containers() < 2; i++)
		usleep(50000);
	CHECK_INT_EQ(containers(), 2);            /* the stem cell was replaced */
}

static void test_invoker_sigkill_then_restart_cleans(void)
{
	struct docker_inspect ins;
	char result[256], used[128];
	struct act_result res;

	CHECK_INT_EQ(invoke(&native_hello, 0, "{}", &res, result, sizeof(result)), 0);
	snprintf(used, sizeof(used), "%s", res.container);
	act_result_fini(&res);
	stop_invoker(0, SIGKILL);
	CHECK_INT_EQ(docker_container_inspect(dk, used, &ins, NULL), 0);  /* left running */
	invokers[0] = start_invoker(0);
	CHECK_INT_EQ(docker_container_inspect(dk, used, &ins, NULL), -ENOENT);
	CHECK(containers() <= 1);                 /* at most the new stem cell */
}

static void teardown(void)
{
	stop_invoker(0, SIGTERM);
	stop_invoker(1, SIGTERM);
	remove_all_containers();
	queue_client_close(ctl);
	queue_close(q);
	unlink(cfg_path);
	docker_close(dk);
}

int main(void)
{
	static const struct harness_case cases[] = {
		TEST_CASE(test_hello_each_kind),
		TEST_CASE(test_warm_reuse_no_new_container),
		TEST_CASE(test_timeout_kills),
		TEST_CASE(test_oom),
		TEST_CASE(test_crash_and_bad_output),
		TEST_CASE(test_log_attribution_concurrent),
		TEST_CASE(test_blackbox_user_image),
		TEST_CASE(test_eviction_small_budget_and_orphans),
		TEST_CASE(test_prewarm_used),
		TEST_CASE(test_invoker_sigkill_then_restart_cleans),
	};
	struct queue_params p;
	struct err e = { 0 };
	struct stat st;
	int rc;

	if (stat(SOCK, &st) < 0) {
		const char *ci = getenv("CI");

		fprintf(stderr, "test_invoker: no Docker socket at %s\n", SOCK);
		return ci && strcmp(ci, "true") == 0 ? 1 : 77;
	}
	snprintf(qname, sizeof(qname), "/ewtest-inv-%d", (int)getpid());
	snprintf(instance, sizeof(instance), "%s", qname + 1);
	snprintf(cfg_path, sizeof(cfg_path), "/tmp/ewtest-inv-%d.yaml", (int)getpid());
	queue_params_defaults(&p);
	p.name = qname;
	p.slots = 64;
	p.invokers = 2;
	if (docker_open(SOCK, &dk, &e) < 0 || queue_create(&p, &q, &e) < 0 ||
	    queue_client_open(q, QUEUE_ROLE_CONTROLLER, 0, 0, &ctl, &e) < 0 ||
	    write_config(1024, 0, 0) < 0) {
		fprintf(stderr, "test_invoker: setup: %s\n", e.msg);
		return 1;
	}
	invokers[0] = start_invoker(0);
	if (queue_invoker_pid(q, 0) != invokers[0]) {
		fprintf(stderr, "test_invoker: invoker 0 did not come up\n");
		teardown();
		return 1;
	}
	rc = harness_run("invoker", cases, sizeof(cases) / sizeof(cases[0]));
	teardown();
	return rc;
}
