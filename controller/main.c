/* SPDX-License-Identifier: Apache-2.0 */
/* edgewhisk-controller: loads the config, creates the activation queue in
 * shared memory and serves it until SIGTERM/SIGINT. The REST API, the store
 * and invoker supervision plug in here as they land (issue #4). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	fprintf(f, "usage: edgewhisk-controller [-c CONFIG]\n"
		   "  -c, --config PATH   YAML config (default config/edgewhisk.yaml)\n"
		   "  -h, --help          this text\n");
}

static int install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a futex wait returns EINTR and the loop sees the flag. */
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
		return -errno;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = "config/edgewhisk.yaml";
	struct queue_client *client = NULL;
	struct queue_params qp;
	struct queue *q = NULL;
	struct err e = { 0 };
	struct cfg cfg;
	int opt, level;

	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
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
	log_setup("controller", LOGL_INFO);
	cfg_defaults(&cfg);
	if (cfg_load(&cfg, config, &e) < 0) {
		log_error("main", "config: %s", e.msg);
		return 1;
	}
	level = log_level_parse(cfg.log_level);
	log_setup("controller", level < 0 ? LOGL_INFO : (enum log_level)level);
	if (install_signals() < 0) {
		log_error("main", "install signal handlers: %s", strerror(errno));
		return 1;
	}

	queue_params_defaults(&qp);
	qp.name = cfg.queue.name;
	qp.slots = cfg.queue.slots;
	qp.max_payload = (uint32_t)cfg.queue.max_payload_bytes;
	qp.invokers = cfg_invoker_count(&cfg);
	if (queue_create(&qp, &q, &e) < 0) {
		log_error("main", "queue: %s", e.msg);
		return 1;
	}
	if (queue_client_open(q, QUEUE_ROLE_CONTROLLER, 0, 0, &client, &e) < 0) {
		log_error("main", "queue client: %s", e.msg);
		queue_close(q);
		return 1;
	}
	log_info("main", "ready queue=%s generation=%u invokers=%u slots=%u max_payload=%u api=%s:%u",
		 qp.name, queue_generation(q), qp.invokers, qp.slots, qp.max_payload,
		 cfg.api.address, cfg.api.port);

	while (!stop_requested) {
		struct queue_item it;
		int rc = queue_completion_pop(client, 1000, &it);

		if (rc == 0) {
			log_info("main", "completion activation=%s status=%u invoker=%u",
				 it.msg->id, it.msg->status, it.msg->home);
			queue_completion_done(client, &it);
		} else if (rc != -ETIMEDOUT && rc != -EINTR) {
			log_error("main", "completion pop: %s", strerror(-rc));
			break;
		}
	}
	log_info("main", "stopping");
	queue_client_close(client);
	queue_close(q);
	return 0;
}
