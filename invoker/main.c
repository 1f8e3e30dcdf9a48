/* SPDX-License-Identifier: Apache-2.0 */
/* edgewhisk-invoker: loads the config, attaches to the controller's queue,
 * pins itself to its CPU and registers as invoker N, then waits for
 * SIGTERM (or for a newer controller to retire the queue). Running
 * activations in containers lands with issue #3. */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "err.h"
#include "log.h"
#include "queue.h"

static volatile sig_atomic_t stop_requested;

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
		   "  -c, --config PATH   YAML config (default config/edgewhisk.yaml)\n");
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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "id", required_argument, NULL, 'i' },
		{ "cpu", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = "config/edgewhisk.yaml";
	struct queue_client *client = NULL;
	uint32_t id = UINT32_MAX, cpu = UINT32_MAX;
	struct queue *q = NULL;
	struct err e = { 0 };
	struct sigaction sa;
	struct cfg cfg;
	cpu_set_t set;
	int opt, level;

	while ((opt = getopt_long(argc, argv, "i:p:c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			if (parse_u32(optarg, QUEUE_MAX_INVOKERS - 1, &id) < 0) {
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
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (id == UINT32_MAX) {
		usage(stderr);
		return 2;
	}
	log_setup("invoker", LOGL_INFO);
	cfg_defaults(&cfg);
	if (cfg_load(&cfg, config, &e) < 0) {
		log_error("main", "config: %s", e.msg);
		return 1;
	}
	level = log_level_parse(cfg.log_level);
	log_setup("invoker", level < 0 ? LOGL_INFO : (enum log_level)level);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* The controller supervises us; if it dies, so do we. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);

	if (cpu == UINT32_MAX)
		cpu = cfg_invoker_cpu(&cfg, id);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0) {
		log_error("main", "pin to cpu %u: %s", cpu, strerror(errno));
		return 1;
	}
	if (attach_retry(cfg.queue.name, &q, &e) < 0) {
		log_error("main", "queue: %s", e.msg);
		return 1;
	}
	if (queue_client_open(q, QUEUE_ROLE_INVOKER, id, 1, &client, &e) < 0) {
		log_error("main", "queue client: %s", e.msg);
		queue_close(q);
		return 1;
	}
	log_info("main", "ready invoker=%u cpu=%u queue=%s generation=%u", id, cpu,
		 cfg.queue.name, queue_generation(q));
	while (!stop_requested && !queue_is_retired(q)) {
		const struct timespec tick = { 0, 250 * 1000000L };

		nanosleep(&tick, NULL);
	}
	log_info("main", "stopping invoker=%u%s", id, queue_is_retired(q) ? " (queue retired)" : "");
	queue_client_close(client);
	queue_close(q);
	return 0;
}
