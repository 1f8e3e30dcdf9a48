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
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include "controller/acklog.h"
#include "controller/api.h"
#include "common/act.h"
#include "common/cfg.h"
#include "controller/catalog.h"
#include "controller/dispatch.h"
#include "controller/events.h"
#include "controller/feeds.h"
#include "controller/invoke.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
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
static int recover(struct store *s, const char *state_dir)
{
	struct err e = { 0 };
	int n;

	if (store_check(s, &e) < 0) {
		log_error("main", "store integrity check: %s", e.msg);
		return -EIO;
	}
	log_info("main", "store integrity check: ok");
	n = dispatch_recover(s, state_dir, &e);
	if (n < 0) {
		log_error("main", "recover unfinished activations: %s", e.msg);
		return n;
	}
	if (n > 0)
		log_warn("main", "%d activation(s) accepted before the last stop never completed: "
				 "recorded as failed (whisk error)", n);
	return 0;
}

/* A record is on disk: its acknowledgement line is obsolete. */
static void on_record_committed(void *arg, uint64_t ticket)
{
	acklog_release(arg, ticket);
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

/* Everything the controller runs, in start order. */
struct controller {
	struct cfg cfg;
	char config_abs[PATH_MAX];
	char db[CFG_PATH_MAX + 32];
	bool invokers;
	struct store *store;
	struct acklog *acks;          /* NULL: store.commit_window_ms 0 */
	struct throttle *throttle;
	struct queue_params qp;
	struct queue *queue;
	struct dispatch *dispatch;
	struct invoke *invoke;
	struct events *events;
	struct feeds *feeds;
	struct sup *sup;
	struct api *api;
};

/* The invokers enter containers' network namespaces (CAP_SYS_ADMIN,
 * CAP_SYS_PTRACE); the controller only passes them on, as ambient
 * capabilities, to the invokers it starts. Taking them out of its own
 * effective set keeps them in the permitted and ambient sets, which is all
 * an exec needs. glibc has no wrapper; libcap would be a dependency for
 * two calls. */
static void drop_own_namespace_caps(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return;
	data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	data[CAP_TO_INDEX(CAP_SYS_PTRACE)].effective &= ~CAP_TO_MASK(CAP_SYS_PTRACE);
	if (syscall(SYS_capset, &hdr, data) < 0)
		log_warn("main", "drop CAP_SYS_ADMIN/CAP_SYS_PTRACE: %s", strerror(errno));
}

/* Command line: returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, const char **config, bool *invokers)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "no-invokers", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	*config = "config/edgewhisk.yaml";
	*invokers = true;
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			*config = optarg;
			break;
		case 'n':
			*invokers = false;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	return -1;
}

/* state_dir (and its code/), the store (checked, leftovers recovered),
 * the throttles. */
static int open_state(struct controller *c, struct err *e)
{
	char code[CFG_PATH_MAX + 8];

	snprintf(code, sizeof(code), "%s/code", c->cfg.state_dir);
	if (make_dir(c->cfg.state_dir, e) < 0 || make_dir(code, e) < 0)
		return err_wrap(e, e->code, "state_dir");
	snprintf(c->db, sizeof(c->db), "%s/edgewhisk.db", c->cfg.state_dir);
	if (store_open(c->db, &c->store, e) < 0)
		return err_wrap(e, e->code, "store");
	if (c->cfg.store.commit_window_ms &&
	    store_group_commit_start(c->store, c->cfg.store.commit_window_ms,
				     c->cfg.store.commit_max_records, e) < 0)
		return err_wrap(e, e->code, "store");
	/* The log of an earlier run is read whichever way this one writes. */
	if (recover(c->store, c->cfg.state_dir) < 0)
		return err_set(e, -EIO, "store: recovery failed");
	if (c->cfg.store.commit_window_ms) {
		if (acklog_open(c->cfg.state_dir, &c->acks, e) < 0)
			return err_wrap(e, e->code, "acknowledgement log");
		store_set_commit_hook(c->store, on_record_committed, c->acks);
	}
	return throttle_new(&c->cfg, &c->throttle, e);
}

/* The activation queue, sized from the payload budget. */
static int open_queue(struct controller *c, struct err *e)
{
	struct act_budget budget;

	queue_params_defaults(&c->qp);
	c->qp.name = c->cfg.queue.name;
	c->qp.slots = c->cfg.queue.slots;
	if (act_budget_of(c->cfg.queue.max_payload_bytes, &budget) < 0)
		return err_set(e, -EINVAL, "queue.max_payload_bytes is too large");
	c->qp.max_payload = budget.queue_payload;
	c->qp.invokers = cfg_invoker_count(&c->cfg);
	if (queue_create(&c->qp, &c->queue, e) < 0)
		return err_wrap(e, e->code, "queue");
	return 0;
}

/* Dispatch, invocations, events, the invokers, then the API. */
static int start_parts(struct controller *c, struct err *e)
{
	struct rest_env env;

	if (dispatch_new(&c->cfg, c->queue, c->store, c->acks, &c->dispatch, e) < 0)
		return err_wrap(e, e->code, "dispatch");
	if (invoke_new(&c->cfg, c->store, c->dispatch, c->queue, c->throttle, &c->invoke, e) < 0)
		return err_wrap(e, e->code, "invoke");
	if (events_new(c->store, c->invoke, c->throttle, &c->events, e) < 0)
		return err_wrap(e, e->code, "events");
	if (feeds_new(&c->cfg, c->store, c->events, &c->feeds, e) < 0)
		return err_wrap(e, e->code, "feeds");
	invoke_set_builtin(c->invoke, feeds_builtin, c->feeds);
	{
		struct catalog_stats st;
		struct err ce = { 0 };

		/* Before the API answers, so no client sees half a catalog. A
		 * store that cannot take it (a full card) keeps what it has:
		 * the board's own entities still serve. */
		if (catalog_install(&c->cfg, c->store, c->invoke, &st, &ce) < 0)
			log_error("catalog", "whisk.system not brought up to date: %s", ce.msg);
		else
			log_info("catalog", "whisk.system: %u written, %u kept, %u removed, %u skipped",
				 st.written, st.kept, st.removed, st.skipped);
	}
	/* After the catalog (a fire may start its actions), before the API. */
	if (feeds_start(c->feeds, e) < 0)
		return err_wrap(e, e->code, "feeds");
	if (c->invokers) {
		struct sup_config sc = { .cfg = &c->cfg, .config_path = c->config_abs,
					 .count = c->qp.invokers, .died = on_invoker_died,
					 .arg = c->dispatch };

		if (sup_start(&sc, &c->sup, e) < 0)
			return err_wrap(e, e->code, "invokers");
	}
	env = (struct rest_env){ .cfg = &c->cfg, .store = c->store, .dispatch = c->dispatch,
				 .queue = c->queue, .sup = c->sup, .invoke = c->invoke,
				 .throttle = c->throttle, .events = c->events };
	if (api_start(&env, &c->api, e) < 0)
		return err_wrap(e, e->code, "api");
	return 0;
}

/* In reverse: nothing new comes in, the invokers remove their containers,
 * pending callbacks drain (invoke_stop before dispatch_free, see invoke.h). */
static void stop_all(struct controller *c)
{
	api_stop(c->api);
	feeds_free(c->feeds);
	sup_stop(c->sup, 15000);
	events_free(c->events);
	invoke_stop(c->invoke);
	dispatch_free(c->dispatch);
	invoke_free(c->invoke);
	queue_close(c->queue);
	throttle_free(c->throttle);
	/* The store commits what it still queues, releasing log lines. */
	store_close(c->store);
	acklog_close(c->acks);
}

int main(int argc, char **argv)
{
	static struct controller c;
	const char *config;
	struct err e = { 0 };
	sigset_t stop_set;
	int level, sig = 0, status;

	status = parse_args(argc, argv, &config, &c.invokers);
	if (status >= 0)
		return status;
	mem_tune();
	log_setup("controller", LOGL_INFO);
	drop_own_namespace_caps();
	cfg_defaults(&c.cfg);
	if (cfg_load(&c.cfg, config, &e) < 0) {
		log_error("main", "config: %s", e.msg);
		return 1;
	}
	level = log_level_parse(c.cfg.log_level);
	log_setup("controller", level < 0 ? LOGL_INFO : (enum log_level)level);
	if (!realpath(config, c.config_abs))
		snprintf(c.config_abs, sizeof(c.config_abs), "%s", config);

	/* Every thread inherits this mask; only main waits for the signals. */
	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGTERM);
	sigaddset(&stop_set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
	signal(SIGPIPE, SIG_IGN);

	status = 1;
	if (open_state(&c, &e) < 0 || open_queue(&c, &e) < 0 || start_parts(&c, &e) < 0) {
		log_error("main", "%s", e.msg);
		goto out;
	}
	log_info("main", "ready api=http://%s:%u state=%s queue=%s generation=%u invokers=%u",
		 c.cfg.api.address, c.cfg.api.port, c.db, c.qp.name, queue_generation(c.queue),
		 c.qp.invokers);
	while (sigwait(&stop_set, &sig) != 0)
		;
	log_info("main", "stopping (signal %d)", sig);
	status = 0;
out:
	stop_all(&c);
	return status;
}
