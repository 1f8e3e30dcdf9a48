/* SPDX-License-Identifier: Apache-2.0 */
/* The invoker's worker and housekeeping threads (see workers.h). */
#include "invoker/workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/act.h"
#include "common/log.h"
#include "common/mem.h"

/* The leader's wait for a request. It looks at the stop flag and the
 * queue's retirement after each: workers_stop kicks it, and a retired
 * queue means the controller that made it is gone, which already sent us
 * SIGTERM (parent-death signal), so this bound only matters for odd
 * cases, and an idle invoker wakes once per this long. */
#define POP_TIMEOUT_MS 10000

struct workers {
	struct queue *q;
	struct runner *runner;
	uint32_t id;
	uint32_t workers;
	_Atomic bool stop;
	_Atomic uint64_t done, failed;
	/* Leader/followers: one worker at a time waits on the queue, the rest
	 * on this mutex, so a request wakes one thread, not every idle one. */
	pthread_mutex_t pop_lock;
	pthread_t threads[QUEUE_HELD_MAX + 1];
	uint32_t started;
};

static bool should_stop(struct workers *inv)
{
	return atomic_load(&inv->stop) || queue_is_retired(inv->q);
}

/* Encode the completion into a queue buffer, the logs cut to fit. */
static int completion_buffer(struct workers *inv, struct queue_client *c, struct act_result *res,
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
	struct workers *inv;
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
	struct workers *inv = arg;
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
		size_t moved;
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
		moved = it.msg->len;
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
		moved += res.result_len;
		act_result_fini(&res);
		free(result);
		/* After a large activation, free heap pages go back. */
		mem_note(moved);
		mem_give_back();
	}
	runner_worker_free(w);
	queue_client_close(c);
	return NULL;
}

/* Pauses, removals and stem cells, at their deadlines: in between it
 * sleeps until containers change (runner_wait), so an idle invoker with
 * nothing due does not wake at all. */
static void *housekeeping_main(void *arg)
{
	struct workers *inv = arg;
	struct runner_worker *w = NULL;
	struct err e = { 0 };

	if (runner_worker_new(inv->runner, &w, &e) < 0) {
		log_error("housekeeping", "start: %s", e.msg);
		return NULL;
	}
	while (!should_stop(inv)) {
		uint64_t next = runner_tick(w);

		if (!should_stop(inv))
			runner_wait(inv->runner, next);
	}
	runner_worker_free(w);
	return NULL;
}

int workers_start(const struct workers_config *c, struct workers **out, struct err *e)
{
	struct workers *w = calloc(1, sizeof(*w));

	if (!w)
		return err_set(e, -ENOMEM, "allocate workers");
	w->q = c->queue;
	w->runner = c->runner;
	w->id = c->invoker_id;
	w->workers = c->count < 1 ? 1 : c->count > QUEUE_HELD_MAX ? QUEUE_HELD_MAX : c->count;
	pthread_mutex_init(&w->pop_lock, NULL);
	if (pthread_create(&w->threads[w->started], NULL, housekeeping_main, w) == 0)
		w->started++;
	for (uint32_t i = 0; i < w->workers; i++)
		if (pthread_create(&w->threads[w->started], NULL, worker_main, w) == 0)
			w->started++;
	if (w->started == 0) {
		pthread_mutex_destroy(&w->pop_lock);
		free(w);
		return err_set(e, -EAGAIN, "start the worker threads");
	}
	*out = w;
	return 0;
}

bool workers_stopped(struct workers *w)
{
	return should_stop(w);
}

void workers_stop(struct workers *w, uint64_t *done, uint64_t *failed)
{
	if (!w)
		return;
	atomic_store(&w->stop, true);
	runner_wake(w->runner);
	/* A kick lost because the leader had not armed its sleep yet is sent
	 * again until every thread is gone. */
	for (uint32_t i = 0; i < w->started; i++) {
		while (pthread_tryjoin_np(w->threads[i], NULL) == EBUSY) {
			queue_request_kick(w->q, w->id);
			runner_wake(w->runner);
			usleep(2000);
		}
	}
	if (done)
		*done = atomic_load(&w->done);
	if (failed)
		*failed = atomic_load(&w->failed);
	pthread_mutex_destroy(&w->pop_lock);
	free(w);
}
