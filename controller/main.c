/* SPDX-License-Identifier: Apache-2.0 */
/* edgewhisk-controller: brings the whole system up. Loads the config, opens
 * the store, creates the activation queue, starts and supervises one
 * invoker per configured core, and serves the OpenWhisk REST API until
 * SIGTERM/SIGINT; then stops the API, the invokers (which remove their
 * containers) and the rest, in reverse order. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "controller/api.h"
#include "common/act.h"
#include "common/cfg.h"
#include "controller/dispatch.h"
#include "controller/invoke.h"
#include "common/err.h"
#include "common/log.h"
#include "common/queue.h"
#include "controller/store.h"
#include "controller/sup.h"
#include "controller/throttle.h"


static void usage(FILE *f)
{
	fprintf(f, "usage: edgewhisk-controller [-c CONFIG] [--no-invokers]\n"
		   "  -c, --config PATH   YAML config (default config/edgewhisk.yaml)\n"
		   "  --no-invokers       do not start invokers (run them yourself)\n"
		   "  -h, --help          this text\n");
}

static void on_invoker_died(void *arg, uint32_t id, pid_t pid, int status)
{
	struct dispatch *d = arg;
	uint32_t failed = dispatch_reap(d, pid);

	(void)status;
	if (failed)
		log_warn("main", "invoker %u pid=%d died holding %u started activation(s): completed "
				 "as whisk errors", id, (int)pid, failed);
}

/* After a crash: check the store, and record the activations the last
 * controller accepted and never completed as failed. */
static int recover(struct store *s)
{
	struct err e = { 0 };
	int n;

	if (store_check(s, &e) < 0) {
		log_error("main", "store integrity check: %s", e.msg);
		return -EIO;
	}
	log_info("main", "store integrity check: ok");
	n = dispatch_recover(s, &e);
	if (n < 0) {
		log_error("main", "recover unfinished activations: %s", e.msg);
		return n;
	}
	if (n > 0)
		log_warn("main", "%d activation(s) accepted before the last stop never completed: "
				 "recorded as failed (whisk error)", n);
	return 0;
}

static int make_dir(const char *path, struct err *e)
{
	char buf[CFG_PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return err_set(e, -errno, "create %s: %s", buf, strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0750) < 0 && errno != EEXIST)
		return err_set(e, -errno, "create %s: %s", buf, strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "no-invokers", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = "config/edgewhisk.yaml";
	static struct cfg cfg;
	struct queue *q = NULL;
	struct store *store = NULL;
	struct dispatch *d = NULL;
	struct invoke *iv = NULL;
	struct events *ev = NULL;
	struct act_budget budget;
	struct sup *sup = NULL;
	struct api *api = NULL;
	struct throttle *throttle = NULL;
	struct queue_params qp;
	struct err e = { 0 };
	char db[CFG_PATH_MAX + 32], config_abs[PATH_MAX];
	bool invokers = true;
	sigset_t stop_set;
	int opt, level, sig = 0, status = 1;

	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'n':
			invokers = false;
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
	if (!realpath(config, config_abs))
		snprintf(config_abs, sizeof(config_abs), "%s", config);

	/* Every thread inherits this mask; only main waits for the signals. */
	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGTERM);
	sigaddset(&stop_set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (make_dir(cfg.state_dir, &e) < 0) {
		log_error("main", "state_dir: %s", e.msg);
		return 1;
	}
	snprintf(db, sizeof(db), "%s/code", cfg.state_dir);
	if (make_dir(db, &e) < 0) {
		log_error("main", "state_dir: %s", e.msg);
		return 1;
	}
	snprintf(db, sizeof(db), "%s/edgewhisk.db", cfg.state_dir);
	if (store_open(db, &store, &e) < 0) {
		log_error("main", "store: %s", e.msg);
		return 1;
	}
	if (recover(store) < 0 || throttle_new(&cfg, &throttle, &e) < 0)
		goto out;
	queue_params_defaults(&qp);
	qp.name = cfg.queue.name;
	qp.slots = cfg.queue.slots;
	if (act_budget_of(cfg.queue.max_payload_bytes, &budget) < 0) {
		log_error("main", "queue.max_payload_bytes is too large");
		goto out;
	}
	qp.max_payload = budget.queue_payload;
	qp.invokers = cfg_invoker_count(&cfg);
	if (queue_create(&qp, &q, &e) < 0) {
		log_error("main", "queue: %s", e.msg);
		goto out;
	}
	if (dispatch_new(&cfg, q, store, &d, &e) < 0) {
		log_error("main", "dispatch: %s", e.msg);
		goto out;
	}
	if (invoke_new(&cfg, store, d, q, throttle, &iv, &e) < 0) {
		log_error("main", "invoke: %s", e.msg);
		goto out;
	}
	if (events_new(store, iv, &ev, &e) < 0) {
		log_error("main", "events: %s", e.msg);
		goto out;
	}
	if (invokers) {
		struct sup_config sc = { .cfg = &cfg, .config_path = config_abs, .count = qp.invokers,
					 .died = on_invoker_died, .arg = d };

		if (sup_start(&sc, &sup, &e) < 0) {
			log_error("main", "invokers: %s", e.msg);
			goto out;
		}
	}
	{
		struct api_deps deps = { .cfg = &cfg, .store = store, .dispatch = d, .queue = q,
					 .sup = sup, .invoke = iv, .throttle = throttle,
					 .events = ev };

		if (api_start(&deps, &api, &e) < 0) {
			log_error("main", "api: %s", e.msg);
			goto out;
		}
	}
	log_info("main", "ready api=http://%s:%u state=%s queue=%s generation=%u invokers=%u",
		 cfg.api.address, cfg.api.port, db, qp.name, queue_generation(q), qp.invokers);
	while (sigwait(&stop_set, &sig) != 0)
		;
	log_info("main", "stopping (signal %d)", sig);
	status = 0;
out:
	api_stop(api);
	sup_stop(sup, 15000);
	events_free(ev);
	invoke_stop(iv);
	dispatch_free(d);
	invoke_free(iv);
	queue_close(q);
	throttle_free(throttle);
	store_close(store);
	return status;
}
