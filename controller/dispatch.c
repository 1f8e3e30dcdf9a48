/* SPDX-License-Identifier: Apache-2.0 */
/* Activations in flight (see dispatch.h). One table of in-flight entries
 * under a mutex, keyed by activation id in a small open hash; the
 * completion thread owns the queue's completion side. */
#include "controller/dispatch.h"

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
#include "common/now.h"
#include "controller/acklog.h"

#define PRUNE_EVERY_MS 60000
/* The completion thread's longest sleep: only a stop that lost the race
 * with its kick waits this long. */
#define COMPLETION_WAIT_MS 60000
#define PRUNE_BATCH_GAP_MS 100
/* A wait that expired but could not be acknowledged (disk full) is tried
 * again this much later. */
#define ACK_RETRY_MS 1000

struct flight {
	char id[33];
	struct entity_activation_info info;
	char *strings;                /* one block holding info's strings */
	uint64_t expires_ms;          /* 0 = nobody waits */
	struct entity_record early;   /* from an early result, waiting for its logs */
	dispatch_done_fn done;
	void *arg;
	struct throttle *throttle;    /* holds one in-flight slot of info.ns */
	uint64_t ticket;              /* its acknowledgement log line, 0 = none */
	bool accept_failed;           /* logged that the line could not be written */
	struct flight *next;          /* hash chain */
};

#define FLIGHT_BUCKETS 1024

struct dispatch {
	const struct cfg *cfg;
	struct queue *q;
	struct store *store;
	struct acklog *acks;          /* NULL: unfinished rows in the store instead */
	pthread_mutex_t lock;         /* table and the push client */
	struct queue_client *push;    /* HTTP threads push through it */
	struct flight *table[FLIGHT_BUCKETS];
	uint32_t inflight;
	pthread_t thread;             /* completions */
	pthread_t timer;              /* expiries and prunes */
	pthread_cond_t timer_cond;    /* with lock: an earlier expiry, or stop */
	_Atomic bool stop;
	uint64_t next_prune_ms;
	uint64_t next_expiry_ms;      /* first waiter's expiry (under lock), 0 = none */
};

uint32_t dispatch_home(const char *path, const char *name)
{
	uint32_t h = 2166136261u;

	for (const char *p = path; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ '/') * 16777619u;
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

static uint32_t bucket(const char *id)
{
	uint32_t h = 2166136261u;

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h % FLIGHT_BUCKETS;
}

/* Unlink and return the entry for id (caller holds the lock). */
static struct flight *take(struct dispatch *d, const char *id)
{
	struct flight **pp = &d->table[bucket(id)];

	for (; *pp; pp = &(*pp)->next) {
		struct flight *f = *pp;

		if (strcmp(f->id, id) == 0) {
			*pp = f->next;
			d->inflight--;
			throttle_concurrent_release(f->throttle, f->info.ns);
			f->throttle = NULL;
			return f;
		}
	}
	return NULL;
}

static void flight_free(struct flight *f)
{
	if (!f)
		return;
	entity_record_fini(&f->early);
	free(f->strings);
	free(f);
}

/* Copy the info's strings into one block owned by the entry. */
static int flight_fill(struct flight *f, const struct dispatch_request *r)
{
	const char *src[6] = { r->info.ns, r->info.path, r->info.name, r->info.version, r->info.kind,
			       r->info.cause };
	const char **dst[6] = { &f->info.ns, &f->info.path, &f->info.name, &f->info.version,
				&f->info.kind, &f->info.cause };
	size_t total = 0, off = 0;

	for (int i = 0; i < 6; i++)
		total += strlen(src[i] ? src[i] : "") + 1;
	f->strings = malloc(total);
	if (!f->strings)
		return -ENOMEM;
	f->info = r->info;
	for (int i = 0; i < 6; i++) {
		size_t n = strlen(src[i] ? src[i] : "") + 1;

		memcpy(f->strings + off, src[i] ? src[i] : "", n);
		*dst[i] = f->strings + off;
		off += n;
	}
	snprintf(f->id, sizeof(f->id), "%.32s", r->activation_id);
	f->info.activation_id = f->id;
	if (!r->info.cause)
		f->info.cause = NULL;
	return 0;
}

static int store_record_as(struct dispatch *d, struct flight *f, const struct entity_record *r,
			   uint64_t end_ms, struct err *e);
static void store_record(struct dispatch *d, struct flight *f, const struct entity_record *r);
static void failed_result(struct act_result *res, char *text, size_t size, const char *msg);

#define LOST_BY_CONTROLLER "The controller stopped before the activation completed; its outcome is unknown."

/* The crash-recovery copy of an accepted activation (see dispatch_submit),
 * as an unfinished row: the path without the acknowledgement log. */
static int pending_put(struct dispatch *d, struct flight *f, struct err *e)
{
	struct entity_record r;
	struct act_result res;
	char text[512];
	int rc;

	failed_result(&res, text, sizeof(text), LOST_BY_CONTROLLER);
	rc = entity_record_print(&f->info, &res, &r, e);
	if (rc < 0)
		return rc;
	rc = store_record_as(d, f, &r, 0, e);
	entity_record_fini(&r);
	return rc;
}

/* Before an activation is queued. With the acknowledgement log, only one
 * that will be acknowledged without its result (non-blocking) needs its
 * line now: a blocking caller learns of a controller crash through its
 * connection, and gets a line only if its wait expires (expire_waiters).
 * New work is refused while the store cannot write records. Without the
 * log, every activation gets its unfinished row, as before. */
static int accept_record(struct dispatch *d, struct flight *f, bool acknowledged,
			 struct err *e)
{
	if (!d->acks)
		return pending_put(d, f, e);
	if (!acknowledged)
		return store_writable(d->store, e);
	return dispatch_accept(d, &f->info, &f->ticket, e);
}

/* Refused after accept_record: no activation exists, so no record either. */
static void refuse_record(struct dispatch *d, const char *ns, const char *id, uint64_t ticket)
{
	struct err de = { 0 };

	if (d->acks) {
		if (ticket)
			acklog_cancel(d->acks, ticket, id);
	} else if (store_activation_drop_unfinished(d->store, ns, id, &de) < 0) {
		log_warn("dispatch", "activation=%.32s: %s", id, de.msg);
	}
}

int dispatch_accept(struct dispatch *d, const struct entity_activation_info *info,
		    uint64_t *ticket, struct err *e)
{
	int rc;

	*ticket = 0;
	if (!d->acks)
		return 0;
	rc = store_writable(d->store, e);
	if (rc == 0)
		rc = acklog_accept(d->acks, info, now_epoch_ms(), ticket, e);
	return rc;
}

void dispatch_cancel(struct dispatch *d, uint64_t ticket, const char *activation_id)
{
	if (d->acks && ticket)
		acklog_cancel(d->acks, ticket, activation_id);
}

int dispatch_submit(struct dispatch *d, const struct dispatch_request *r, struct err *e)
{
	struct flight *f = calloc(1, sizeof(*f));
	struct queue_msg m = { 0 };
	struct queue_buf b = { 0 };
	uint64_t ticket;
	size_t len;
	uint32_t k;
	int rc;

	if (!f || flight_fill(f, r) < 0) {
		flight_free(f);
		return err_set(e, -ENOMEM, "out of memory");
	}
	rc = throttle_concurrent_acquire(r->throttle, f->info.ns, e);
	if (rc < 0) {
		flight_free(f);
		return rc;
	}
	f->throttle = r->throttle;
	rc = accept_record(d, f, !r->wait_ms, e);
	if (rc < 0) {
		throttle_concurrent_release(f->throttle, f->info.ns);
		flight_free(f);
		return rc;
	}
	if (r->wait_ms) {
		f->expires_ms = now_epoch_ms() + r->wait_ms;
		f->done = r->done;
		f->arg = r->arg;
	}
	ticket = f->ticket;
	m.home = r->home;
	snprintf(m.id, sizeof(m.id), "%.32s", r->activation_id);
	m.enqueue_ns = now_mono_ns();
	k = bucket(f->id);
	pthread_mutex_lock(&d->lock);
	len = act_payload_len(r->meta_len, r->value_len);
	rc = len > UINT32_MAX ? -EMSGSIZE : queue_buf_alloc(d->push, (uint32_t)len, &b);
	if (rc == 0) {
		/* Framed straight into the queue block, no intermediate copy. */
		act_payload_write(b.data, r->meta, r->meta_len, r->value, r->value_len);
		/* In the table before the push: the completion may come at once. */
		f->next = d->table[k];
		d->table[k] = f;
		d->inflight++;
		/* The timer sleeps until the first expiry it knows of: an
		 * earlier one wakes it. */
		if (f->expires_ms && (!d->next_expiry_ms || f->expires_ms < d->next_expiry_ms)) {
			d->next_expiry_ms = f->expires_ms;
			pthread_cond_signal(&d->timer_cond);
		}
		rc = queue_request_push(d->push, &m, &b);
		if (rc < 0) {
			queue_buf_free(d->push, &b);
			flight_free(take(d, f->id));
		}
	} else {
		throttle_concurrent_release(f->throttle, f->info.ns);
		flight_free(f);
	}
	pthread_mutex_unlock(&d->lock);
	if (rc < 0)
		refuse_record(d, r->info.ns, r->activation_id, ticket);
	if (rc == -EMSGSIZE)
		return err_set(e, rc, "Request larger than allowed: %zu > %u bytes.", len,
			       queue_max_payload(d->q));
	if (rc == -ENOSPC)
		return err_set(e, rc, "The activation queue has no room for the payload right now.");
	if (rc == -EAGAIN)
		return err_set(e, rc, "Too many activations are waiting for an invoker: the queue is full.");
	if (rc < 0)
		return err_set(e, rc, "queue the activation: %s", strerror(-rc));
	return 0;
}

static void tell(dispatch_done_fn done, void *arg, const struct entity_record *r)
{
	struct dispatch_outcome o = {
		.record = r->text,
		.record_len = r->len,
		.result = r->text + r->result_at,
		.result_len = r->result_len,
		.status_code = r->status_code,
	};

	done(arg, &o);
}

/* Store the record and tell the waiter, if any. */
static void complete(struct dispatch *d, struct flight *f, const struct act_result *res)
{
	struct entity_record r;
	struct err e = { 0 };

	if (entity_record_print(&f->info, res, &r, &e) < 0) {
		log_error("dispatch", "activation=%s: record: %s", f->id, e.msg);
		return;
	}
	store_record(d, f, &r);
	if (f->done)
		tell(f->done, f->arg, &r);
	entity_record_fini(&r);
}

int dispatch_store_record_text(struct store *s, const char *ns, const char *path,
			       const char *name, const char *id, const char *text, size_t len,
			       uint64_t start_ms, uint64_t end_ms, uint64_t ticket, bool durable,
			       struct err *e)
{
	struct store_activation sa = { 0 };
	char list_name[600];
	const char *slash;

	/* The list's `name` filter is "action" or "pkg/action". */
	slash = strchr(path, '/');
	if (slash)
		snprintf(list_name, sizeof(list_name), "%s/%s", slash + 1, name);
	else
		snprintf(list_name, sizeof(list_name), "%s", name);
	sa.id = id;
	sa.ns = ns;
	sa.name = list_name;
	sa.start_ms = start_ms;
	sa.end_ms = end_ms;
	sa.doc = text;
	sa.len = len;
	sa.tag = ticket;
	return durable ? store_activation_put_durable(s, &sa, e) : store_activation_put(s, &sa, e);
}

static int store_record_as(struct dispatch *d, struct flight *f, const struct entity_record *r,
			   uint64_t end_ms, struct err *e)
{
	return dispatch_store_record_text(d->store, f->info.ns, f->info.path, f->info.name, f->id,
					  r->text, r->len, r->start_ms, end_ms,
					  end_ms ? f->ticket : 0, false, e);
}

static void store_record(struct dispatch *d, struct flight *f, const struct entity_record *r)
{
	struct err e = { 0 };

	/* A finished record never has end 0 (that would hide it). */
	if (store_record_as(d, f, r, r->end_ms ? r->end_ms : r->start_ms ? r->start_ms : 1, &e) < 0)
		log_error("dispatch", "store activation=%s: %s", f->id, e.msg);
}

/* An early result: answer the waiter now, keep the record for the logs. */
static void early_result(struct dispatch *d, const char *id, const struct act_result *res)
{
	struct flight *f;
	struct err e = { 0 };

	pthread_mutex_lock(&d->lock);
	for (f = d->table[bucket(id)]; f && strcmp(f->id, id) != 0; f = f->next)
		;
	if (f && !f->early.text) {
		if (entity_record_print(&f->info, res, &f->early, &e) == 0) {
			dispatch_done_fn done = f->done;

			f->done = NULL;
			f->expires_ms = 0;
			/* Answering outside the lock would race with expiry; the
			 * callback only hands the response on, it does not block. */
			if (done)
				tell(done, f->arg, &f->early);
		} else {
			log_error("dispatch", "activation=%s: record: %s", id, e.msg);
		}
	}
	pthread_mutex_unlock(&d->lock);
}

/* The logs of an activation answered early: complete and store its record. */
static void attach_logs(struct dispatch *d, struct flight *f, const struct act_result *res)
{
	struct err e = { 0 };

	/* The early record was printed with no logs ([]): only lines to add
	 * make a new copy of it. */
	if (res->logs && entity_record_set_logs(&f->early, res->logs, &e) < 0)
		log_error("dispatch", "activation=%s: logs: %s", f->id, e.msg);
	store_record(d, f, &f->early);
}

/* A whisk error (statusCode 3) saying msg (no quotes in it), ending now;
 * res->result points into text. */
static void failed_result(struct act_result *res, char *text, size_t size, const char *msg)
{
	int n = snprintf(text, size, "{\"error\":\"%s\"}", msg);

	memset(res, 0, sizeof(*res));
	res->status = ACT_WHISK_ERROR;
	res->start_ms = res->end_ms = now_epoch_ms();
	res->result = text;
	res->result_len = n > 0 && (size_t)n < size ? (size_t)n : 0;
}

static void complete_failed(struct dispatch *d, struct flight *f, const char *msg)
{
	struct act_result res;
	char text[512];

	failed_result(&res, text, sizeof(text), msg);
	complete(d, f, &res);
}

static void on_completion(struct dispatch *d, const struct queue_item *it)
{
	struct act_result res;
	struct flight *f;
	struct err e = { 0 };
	int rc = act_result_parse(it->payload, it->msg->len, &res, &e);

	if (rc == 0 && res.partial) {
		early_result(d, it->msg->id, &res);
		act_result_fini(&res);
		return;
	}
	pthread_mutex_lock(&d->lock);
	f = take(d, it->msg->id);
	pthread_mutex_unlock(&d->lock);
	if (!f) {
		log_debug("dispatch", "activation=%s: duplicate or unknown completion dropped", it->msg->id);
	} else if (rc < 0) {
		log_error("dispatch", "activation=%s: %s", f->id, e.msg);
		complete_failed(d, f, "The invoker sent an unreadable result.");
	} else if (res.logs_only) {
		if (f->early.text)
			attach_logs(d, f, &res);
		else
			complete_failed(d, f, "The invoker sent logs without a result.");
	} else {
		complete(d, f, &res);
	}
	if (rc == 0)
		act_result_fini(&res);
	flight_free(f);
}

/* A blocking call about to be answered 202: write its acknowledgement
 * line if it has none. Caller holds the lock. */
static bool acknowledge(struct dispatch *d, struct flight *f)
{
	struct err e = { 0 };

	if (!d->acks || f->ticket)
		return true;
	if (acklog_accept(d->acks, &f->info, now_epoch_ms(), &f->ticket, &e) == 0)
		return true;
	if (!f->accept_failed)
		log_warn("dispatch", "activation=%s: its wait expired, but %s: still waiting", f->id,
			 e.msg);
	f->accept_failed = true;
	return false;
}

/* Tell waiters whose wait expired (they answer 202); keep the entries so
 * the record is stored when the activation ends. Only when the first
 * expiry is due; the scan finds the next one. Caller holds the lock. */
static void expire_waiters(struct dispatch *d, uint64_t now)
{
	uint64_t next = 0;

	if (!d->next_expiry_ms || d->next_expiry_ms > now)
		return;
	for (uint32_t b = 0; b < FLIGHT_BUCKETS; b++) {
		for (struct flight *f = d->table[b]; f; f = f->next) {
			uint64_t due = f->expires_ms;

			if (!f->done)
				continue;
			/* The 202 acknowledges it: its line first. Without one
			 * (disk full), the caller keeps waiting for the result
			 * rather than get a promise that could not be kept. */
			if (due <= now && !acknowledge(d, f))
				due = now + ACK_RETRY_MS;
			else if (due <= now) {
				f->done(f->arg, NULL);
				f->done = NULL;
				f->expires_ms = 0;
				continue;
			}
			if (!next || due < next)
				next = due;
		}
	}
	d->next_expiry_ms = next;
}

static void prune(struct dispatch *d, uint64_t now)
{
	struct err e = { 0 };
	uint64_t gone = 0;

	if (now < d->next_prune_ms)
		return;
	d->next_prune_ms = now + PRUNE_EVERY_MS;
	if (store_activation_prune(d->store, d->cfg->activations.max_count,
				   (uint64_t)d->cfg->activations.max_age_hours * 3600000ull, now, &gone,
				   &e) < 0)
		log_warn("dispatch", "prune activations: %s", e.msg);
	else if (gone)
		log_debug("dispatch", "pruned %llu activation record(s)", (unsigned long long)gone);
	/* A full batch: more to go, in small steps between completions. */
	if (gone >= STORE_PRUNE_BATCH)
		d->next_prune_ms = now + PRUNE_BATCH_GAP_MS;
}

static void *completion_main(void *arg)
{
	struct dispatch *d = arg;
	struct queue_client *c = NULL;
	struct err e = { 0 };

	if (queue_client_open(d->q, QUEUE_ROLE_CONTROLLER, 0, 0, &c, &e) < 0) {
		log_error("dispatch", "completion client: %s", e.msg);
		return NULL;
	}
	while (!atomic_load(&d->stop)) {
		struct queue_item it;
		/* Deadlines are the timer's: this thread sleeps until a
		 * completion comes (or a kick at stop). */
		int rc = queue_completion_pop(c, COMPLETION_WAIT_MS, &it);

		if (rc == 0) {
			on_completion(d, &it);
			queue_completion_done(c, &it);
		} else if (rc != -ETIMEDOUT && rc != -EINTR) {
			log_error("dispatch", "completion pop: %s", strerror(-rc));
		}
	}
	queue_client_close(c);
	return NULL;
}

/* Sleep until the first waiter's expiry or the next prune (a minute away
 * when nothing is in flight): no wake-up while there is nothing to do. A
 * condition variable, so an earlier expiry from dispatch_submit is never
 * missed. */
static void *timer_main(void *arg)
{
	struct dispatch *d = arg;

	pthread_mutex_lock(&d->lock);
	while (!atomic_load(&d->stop)) {
		uint64_t now = now_epoch_ms(), due;
		struct timespec ts;

		expire_waiters(d, now);
		if (now >= d->next_prune_ms) {
			pthread_mutex_unlock(&d->lock);
			prune(d, now);
			pthread_mutex_lock(&d->lock);
			continue;
		}
		due = d->next_prune_ms;
		if (d->next_expiry_ms && d->next_expiry_ms < due)
			due = d->next_expiry_ms;
		ts.tv_sec = (time_t)(due / 1000);
		ts.tv_nsec = (long)(due % 1000) * 1000000L;
		pthread_cond_timedwait(&d->timer_cond, &d->lock, &ts);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

struct lost_ids {
	char (*ids)[33];
	uint32_t n, cap;
};

/* Runs inside queue_reap (under the dispatch lock): only note the id. */
static void on_lost(void *arg, const struct queue_msg *m, const void *payload)
{
	struct lost_ids *l = arg;

	(void)payload;
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 16;
		char (*ids)[33] = realloc(l->ids, cap * sizeof(*ids));

		if (!ids)
			return;
		l->ids = ids;
		l->cap = cap;
	}
	snprintf(l->ids[l->n++], 33, "%.32s", m->id);
}

uint32_t dispatch_reap(struct dispatch *d, pid_t pid)
{
	struct lost_ids lost = { 0 };
	struct queue_reap_stats st;
	uint32_t failed = 0;

	/* The push client re-queues what never started; serialise it. */
	pthread_mutex_lock(&d->lock);
	(void)queue_reap(d->push, pid, on_lost, &lost, &st);
	pthread_mutex_unlock(&d->lock);
	for (uint32_t i = 0; i < lost.n; i++) {
		struct flight *f;

		pthread_mutex_lock(&d->lock);
		f = take(d, lost.ids[i]);
		pthread_mutex_unlock(&d->lock);
		if (!f)
			continue;
		if (f->early.text) {
			/* Its result was delivered; only the logs went missing. */
			struct act_result res = { 0 };

			res.logs = cJSON_CreateArray();
			cJSON_AddItemToArray(res.logs, cJSON_CreateString(
				"The invoker stopped before the logs were collected."));
			attach_logs(d, f, &res);
			json_delete(res.logs);
		} else {
			complete_failed(d, f,
					"The invoker running this activation stopped; the activation was lost.");
			failed++;
		}
		flight_free(f);
	}
	free(lost.ids);
	if (st.leases)
		log_info("dispatch", "reaped pid=%d: %u re-queued, %u failed", (int)pid, st.requeued, failed);
	if (st.undecided)
		log_warn("dispatch",
			 "reaped pid=%d: %u ring slot(s) left unrepaired, another client was still "
			 "claiming them; if the queue stops moving, restart edgewhisk",
			 (int)pid, st.undecided);
	return failed;
}

struct recovery {
	struct store *store;
	uint32_t recorded;
	struct err e;
};

/* A line of the acknowledgement log: record the activation as failed
 * unless its record made it to the store. */
static int recover_line(void *arg, const struct entity_activation_info *info, uint64_t start_ms)
{
	struct recovery *rv = arg;
	struct entity_record r;
	struct act_result res;
	char text[512], *doc = NULL;
	int rc;

	/* The last line: the records written must be on disk before the log
	 * goes. */
	if (!info)
		return store_flush(rv->store, &rv->e);
	rc = store_activation_get(rv->store, info->ns, info->activation_id, &doc, NULL, &rv->e);
	free(doc);
	if (rc != -ENOENT)
		return rc;
	failed_result(&res, text, sizeof(text), LOST_BY_CONTROLLER);
	res.start_ms = res.end_ms = start_ms;
	rc = entity_record_print(info, &res, &r, &rv->e);
	if (rc < 0)
		return rc;
	rc = dispatch_store_record_text(rv->store, info->ns, info->path, info->name,
					info->activation_id, r.text, r.len, start_ms,
					start_ms ? start_ms : 1, 0, false, &rv->e);
	entity_record_fini(&r);
	if (rc == 0)
		rv->recorded++;
	/* The id is another namespace's: there is nothing this one can
	 * record, and refusing to start over it would help nobody. */
	if (rc == -EEXIST) {
		log_warn("dispatch", "acknowledgement log: %s: skipped", rv->e.msg);
		rc = 0;
	}
	return rc;
}

int dispatch_recover(struct store *s, const char *acks_dir, struct err *e)
{
	struct recovery rv = { .store = s };
	uint32_t lines = 0, bad = 0;
	uint64_t n = 0;
	int rc = 0;

	if (acks_dir) {
		rc = acklog_recover(acks_dir, recover_line, &rv, &lines, &bad, e);
		if (rc < 0 && rv.e.msg[0])
			return err_set(e, rc, "acknowledgement log: record an unfinished activation: %s",
				       rv.e.msg);
		if (rc < 0)
			return rc;
		if (bad)
			log_warn("dispatch", "acknowledgement log: %u unreadable line(s) skipped", bad);
	}
	/* Unfinished rows: a store written without the log (or by an older
	 * release). */
	rc = store_activation_close_unfinished(s, &n, e);
	if (rc < 0)
		return rc;
	n += rv.recorded;
	return n > INT32_MAX ? INT32_MAX : (int)n;
}

uint32_t dispatch_inflight(struct dispatch *d)
{
	uint32_t n;

	pthread_mutex_lock(&d->lock);
	n = d->inflight;
	pthread_mutex_unlock(&d->lock);
	return n;
}

/* Stop and join the completion thread. A kick is lost if it comes before
 * the thread arms its sleep: repeat it until the thread is gone. */
static void stop_completions(struct dispatch *d)
{
	atomic_store(&d->stop, true);
	while (pthread_tryjoin_np(d->thread, NULL) == EBUSY) {
		queue_completion_kick(d->q);
		usleep(2000);
	}
}

int dispatch_new(const struct cfg *c, struct queue *q, struct store *s, struct acklog *acks,
		 struct dispatch **out, struct err *e)
{
	struct dispatch *d = calloc(1, sizeof(*d));
	int rc;

	if (!d)
		return err_set(e, -ENOMEM, "allocate dispatch");
	d->cfg = c;
	d->q = q;
	d->store = s;
	d->acks = acks;
	d->next_prune_ms = 0;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->timer_cond, NULL);
	rc = queue_client_open(q, QUEUE_ROLE_CONTROLLER, 0, 0, &d->push, e);
	if (rc == 0 && pthread_create(&d->thread, NULL, completion_main, d) != 0)
		rc = err_set(e, -EAGAIN, "start the completion thread");
	if (rc == 0 && pthread_create(&d->timer, NULL, timer_main, d) != 0) {
		stop_completions(d);
		rc = err_set(e, -EAGAIN, "start the dispatch timer thread");
	}
	if (rc < 0) {
		queue_client_close(d->push);
		pthread_cond_destroy(&d->timer_cond);
		pthread_mutex_destroy(&d->lock);
		free(d);
		return rc;
	}
	*out = d;
	return 0;
}

void dispatch_free(struct dispatch *d)
{
	if (!d)
		return;
	atomic_store(&d->stop, true);
	pthread_mutex_lock(&d->lock);
	pthread_cond_signal(&d->timer_cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->timer, NULL);
	stop_completions(d);
	pthread_cond_destroy(&d->timer_cond);
	pthread_mutex_lock(&d->lock);
	for (uint32_t b = 0; b < FLIGHT_BUCKETS; b++) {
		while (d->table[b]) {
			struct flight *f = d->table[b];

			d->table[b] = f->next;
			if (f->done) {
				(void)acknowledge(d, f);
				f->done(f->arg, NULL);
			}
			flight_free(f);
		}
	}
	pthread_mutex_unlock(&d->lock);
	queue_client_close(d->push);
	pthread_mutex_destroy(&d->lock);
	free(d);
}
