/* SPDX-License-Identifier: Apache-2.0 */
/* Group commit of activation records, and checkpoints off the request path
 * (see store.h).
 *
 * Why: a transaction in WAL mode appends every page it touched to the WAL,
 * a 4 KiB frame each, so one record per transaction costs a record's table
 * page and a page of each of its three indexes, ~16 KiB for a 0.5 KiB
 * record, and a checkpoint writes the pages again. Records that share a
 * transaction share those pages.
 *
 * Records are queued in arrival order, each with a generation number; one
 * writer thread takes up to max_records from the head once the oldest has
 * waited window_ms, or at once when a durable put or a flush asks for it,
 * and commits them in one transaction. gen_done says which generations are
 * on disk. A failed commit (disk full) puts the batch back at the head and
 * is retried every second; meanwhile store_writable() reports the error, so
 * the controller takes no new invocations whose records would pile up.
 *
 * Lock order: the store's connection lock, then w->mu (the WAL hook runs
 * under the first and takes the second); the writer never holds w->mu
 * while it takes the connection lock. */
#include "controller/store.h"
#include "controller/store_impl.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/now.h"

/* A WAL this large (~4 MiB, SQLite's own autocheckpoint point) is
 * checkpointed as soon as the writer gets to it, quiet or not. */
#define CKPT_FORCE_FRAMES 1000
/* A smaller WAL waits for this long without writes: a board that goes
 * idle ends with its pages in the database file, and a busy one does not
 * checkpoint (two fsyncs, every page copied) after every short pause. */
#define CKPT_QUIET_MS 30000
#define RETRY_MS 1000
/* store_writable() asks for a retry at most this often while failing. */
#define RETRY_ASK_MS 100

struct pending {
	struct pending *next;
	uint64_t gen;
	uint64_t at_ms;               /* queued (monotonic) */
	uint64_t tag, start_ms, end_ms;
	size_t len;
	const char *id, *ns, *name;   /* in text, after the document */
	char text[];                  /* doc NUL id NUL ns NUL name NUL */
};

struct store_writer {
	pthread_mutex_t mu;
	pthread_cond_t work;          /* the writer waits here */
	pthread_cond_t done;          /* durable puts and flushes wait here */
	pthread_t thread;
	struct pending *head, **tail; /* queued, oldest first */
	struct pending *busy;         /* being committed (readable under mu) */
	uint32_t queued;
	uint32_t window_ms, max_records;
	uint64_t gen_next;            /* last generation given out */
	uint64_t gen_done;            /* every generation up to here is committed */
	uint64_t gen_urgent;          /* commit without waiting up to here */
	uint64_t fail_seq;            /* failed commits so far */
	uint64_t fail_upto;           /* last generation of the last failed batch */
	int fail_rc;                  /* 0 once a commit succeeds again */
	struct err fail;
	uint64_t failed_at_ms;
	uint64_t retry_ms;
	bool stop;
	_Atomic uint32_t wal_frames;  /* frames in the WAL (the WAL hook) */
	_Atomic uint64_t last_write_ms;
};

static void timed_wait(struct store_writer *w, uint64_t until_mono_ms)
{
	/* The condition variables run on CLOCK_MONOTONIC (see start). */
	struct timespec ts = { .tv_sec = (time_t)(until_mono_ms / 1000),
			       .tv_nsec = (long)(until_mono_ms % 1000) * 1000000L };

	pthread_cond_timedwait(&w->work, &w->mu, &ts);
}

static struct pending *pending_new(const struct store_activation *a)
{
	size_t id = strlen(a->id) + 1, ns = strlen(a->ns) + 1, name = strlen(a->name) + 1;
	struct pending *p = malloc(sizeof(*p) + a->len + 1 + id + ns + name);
	char *t;

	if (!p)
		return NULL;
	memset(p, 0, sizeof(*p));
	t = p->text;
	memcpy(t, a->doc, a->len);
	t[a->len] = '\0';
	t += a->len + 1;
	p->id = memcpy(t, a->id, id);
	t += id;
	p->ns = memcpy(t, a->ns, ns);
	t += ns;
	p->name = memcpy(t, a->name, name);
	p->len = a->len;
	p->tag = a->tag;
	p->start_ms = a->start_ms;
	p->end_ms = a->end_ms;
	return p;
}

static void pending_free_list(struct pending *p)
{
	while (p) {
		struct pending *next = p->next;

		free(p);
		p = next;
	}
}

/* Wait until generation g is committed, or a commit that held it failed
 * after we queued it (seq0: fail_seq then). Locked. */
static int wait_for(struct store_writer *w, uint64_t g, uint64_t seq0, struct err *e)
{
	while (w->gen_done < g && !(w->fail_seq != seq0 && w->fail_upto >= g))
		pthread_cond_wait(&w->done, &w->mu);
	if (w->gen_done >= g)
		return 0;
	return err_set(e, w->fail_rc, "%s", w->fail.msg);
}

/* Have everything up to generation g committed now, and wait for it.
 * While commits fail, say so at once: the records stay queued for the
 * retry, but are not on disk now. Locked. */
static int commit_upto(struct store_writer *w, uint64_t g, struct err *e)
{
	if (w->fail_rc)
		return err_set(e, w->fail_rc, "%s", w->fail.msg);
	if (w->gen_urgent < g)
		w->gen_urgent = g;
	pthread_cond_signal(&w->work);
	return wait_for(w, g, w->fail_seq, e);
}

int store_batch_put(struct store *s, const struct store_activation *a, bool durable,
		    struct err *e)
{
	struct store_writer *w = s->w;
	struct pending *p = pending_new(a);
	uint64_t g;
	int ret = 0;

	if (!p)
		return err_set(e, -ENOMEM, "put activation %s/%s: out of memory", a->ns, a->id);
	pthread_mutex_lock(&w->mu);
	p->gen = g = ++w->gen_next;
	p->at_ms = now_mono_ms();
	*w->tail = p;
	w->tail = &p->next;
	w->queued++;
	if (durable) {
		ret = commit_upto(w, g, e);
	} else if (w->queued == 1 || w->queued >= w->max_records) {
		/* The first record sets the window's deadline; a full batch
		 * goes now. */
		pthread_cond_signal(&w->work);
	}
	pthread_mutex_unlock(&w->mu);
	return ret;
}

int store_batch_get(struct store *s, const char *ns, const char *id, char **doc, size_t *len)
{
	struct store_writer *w = s->w;
	const struct pending *hit = NULL;
	int ret = 0;

	pthread_mutex_lock(&w->mu);
	/* The newest copy wins: the busy batch is older than the queue. */
	for (int pass = 0; pass < 2; pass++)
		for (const struct pending *p = pass ? w->head : w->busy; p; p = p->next)
			if (p->end_ms && strcmp(p->id, id) == 0 && strcmp(p->ns, ns) == 0)
				hit = p;
	if (hit) {
		*doc = malloc(hit->len + 1);
		if (*doc) {
			memcpy(*doc, hit->text, hit->len + 1);
			if (len)
				*len = hit->len;
			ret = 1;
		} else {
			ret = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&w->mu);
	return ret;
}

int store_batch_flush(struct store *s, struct err *e)
{
	struct store_writer *w = s->w;
	uint64_t g;
	int ret = 0;

	pthread_mutex_lock(&w->mu);
	g = w->gen_next;
	if (w->gen_done < g)
		ret = commit_upto(w, g, e);
	pthread_mutex_unlock(&w->mu);
	return ret;
}

int store_batch_writable(struct store *s, struct err *e)
{
	struct store_writer *w = s->w;
	int ret = 0;

	pthread_mutex_lock(&w->mu);
	/* Failing: try again now rather than at the next retry, so writes
	 * resume as soon as space returns; at most every RETRY_ASK_MS, so a
	 * full disk does not cost a commit attempt per request. */
	if (w->fail_rc && now_mono_ms() >= w->failed_at_ms + RETRY_ASK_MS && w->gen_done < w->gen_next) {
		w->retry_ms = 0;
		if (w->gen_urgent < w->gen_next)
			w->gen_urgent = w->gen_next;
		pthread_cond_signal(&w->work);
		/* One attempt, whichever way it goes. */
		for (uint64_t seq0 = w->fail_seq, done0 = w->gen_done;
		     w->fail_seq == seq0 && w->gen_done == done0;)
			pthread_cond_wait(&w->done, &w->mu);
	}
	if (w->fail_rc)
		ret = err_set(e, w->fail_rc, "%s", w->fail.msg);
	pthread_mutex_unlock(&w->mu);
	return ret;
}

void store_batch_wrote(struct store *s)
{
	struct store_writer *w = s->w;

	pthread_mutex_lock(&w->mu);
	if (w->fail_rc)
		w->failed_at_ms = 0;
	pthread_mutex_unlock(&w->mu);
}

int store_flush(struct store *s, struct err *e)
{
	return s && s->w ? store_batch_flush(s, e) : 0;
}

int store_writable(struct store *s, struct err *e)
{
	return s && s->w ? store_batch_writable(s, e) : 0;
}

int store_batch_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store *s = arg;
	struct store_writer *w = s->w;
	uint32_t before;

	(void)db;
	(void)name;
	before = atomic_exchange(&w->wal_frames, frames > 0 ? (uint32_t)frames : 0);
	atomic_store(&w->last_write_ms, now_mono_ms());
	/* The writer sleeps without a deadline while the WAL is empty: tell
	 * it one is due now, or once the store is quiet. */
	if (before == 0 || frames >= CKPT_FORCE_FRAMES) {
		pthread_mutex_lock(&w->mu);
		pthread_cond_signal(&w->work);
		pthread_mutex_unlock(&w->mu);
	}
	return SQLITE_OK;
}

/* Commit n records from p in one transaction. A record whose id another
 * namespace holds is dropped (logged) rather than failing the batch. */
static int commit_batch(struct store *s, const struct pending *p, uint32_t n, struct err *e)
{
	int ret = store_lock(s, e);

	if (ret < 0)
		return ret;
	ret = store_tx_step(s, ST_BEGIN, e, "commit activation records");
	for (uint32_t i = 0; ret == 0 && i < n; i++, p = p->next) {
		struct store_activation a = { .id = p->id, .ns = p->ns, .name = p->name,
					      .start_ms = p->start_ms, .end_ms = p->end_ms,
					      .doc = p->text, .len = p->len };
		struct err pe = { 0 };
		int rc = store_act_put_locked(s, &a, &pe);

		if (rc == -EEXIST)
			log_warn("store", "%s: record dropped", pe.msg);
		else if (rc < 0)
			ret = err_set(e, rc, "%s", pe.msg);
	}
	if (ret == 0)
		ret = store_tx_step(s, ST_COMMIT, e, "commit activation records");
	if (ret < 0)
		store_tx_abort(s);
	store_unlock(s);
	return ret;
}

/* PASSIVE: with the one exclusive connection nothing reads meanwhile, so
 * it copies every frame; the next write then restarts the WAL from its
 * start, and journal_size_limit trims the file. */
static void checkpoint(struct store *s)
{
	struct store_writer *w = s->w;
	int log = 0, done = 0, rc;

	if (store_lock(s, NULL) < 0)
		return;
	rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
	if (rc == SQLITE_OK && done >= log) {
		atomic_store(&w->wal_frames, 0);
	} else {
		/* A full disk, most likely: try again after the next quiet spell. */
		log_warn("store", "checkpoint: %s (%d of %d frames)", sqlite3_errmsg(s->db), done, log);
		atomic_store(&w->last_write_ms, now_mono_ms());
	}
	store_unlock(s);
}

/* Take up to max_records from the head into w->busy. Locked. */
static uint32_t take_batch(struct store_writer *w)
{
	struct pending *last = w->head, *p;
	uint32_t n = 1;

	if (!last)
		return 0;
	while (last->next && n < w->max_records) {
		last = last->next;
		n++;
	}
	p = last->next;
	w->busy = w->head;
	last->next = NULL;
	w->head = p;
	if (!p)
		w->tail = &w->head;
	w->queued -= n;
	return n;
}

/* Put a failed batch back in front. Locked. */
static void return_batch(struct store_writer *w, uint32_t n)
{
	struct pending *last = w->busy;

	if (!last)
		return;
	while (last->next)
		last = last->next;
	last->next = w->head;
	if (!w->head)
		w->tail = &last->next;
	w->head = w->busy;
	w->busy = NULL;
	w->queued += n;
}

static void report_commits(struct store *s, const struct pending *p)
{
	if (!s->on_commit)
		return;
	for (; p; p = p->next)
		if (p->tag)
			s->on_commit(s->on_commit_arg, p->tag);
}

/* One round with something queued: wait out the window, or commit. Locked
 * on entry and exit. */
static void commit_round(struct store *s)
{
	struct store_writer *w = s->w;
	uint64_t now = now_mono_ms(), upto = 0;
	struct err e = { 0 };
	uint32_t n;
	int rc;

	if (w->fail_rc && now < w->retry_ms && !w->stop) {
		timed_wait(w, w->retry_ms);
		return;
	}
	if (!w->stop && w->gen_urgent <= w->gen_done && w->queued < w->max_records &&
	    now < w->head->at_ms + w->window_ms) {
		timed_wait(w, w->head->at_ms + w->window_ms);
		return;
	}
	n = take_batch(w);
	pthread_mutex_unlock(&w->mu);
	rc = commit_batch(s, w->busy, n, &e);
	if (rc == 0)
		report_commits(s, w->busy);
	pthread_mutex_lock(&w->mu);
	for (const struct pending *p = w->busy; p; p = p->next)
		upto = p->gen;
	if (rc == 0) {
		if (w->fail_rc)
			log_info("store", "activation records are written again");
		w->gen_done = upto;
		w->fail_rc = 0;
		pending_free_list(w->busy);
		w->busy = NULL;
	} else {
		if (!w->fail_rc || w->fail_rc != rc)
			log_error("store", "%s: %u record(s) kept in memory, retried every %d ms", e.msg,
				  n, RETRY_MS);
		w->fail_rc = rc;
		w->fail = e;
		w->fail_seq++;
		w->fail_upto = upto;
		w->failed_at_ms = now_mono_ms();
		w->retry_ms = w->failed_at_ms + RETRY_MS;
		return_batch(w, n);
	}
	pthread_cond_broadcast(&w->done);
}

static void *writer_main(void *arg)
{
	struct store *s = arg;
	struct store_writer *w = s->w;
	bool last_try = false;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		uint32_t frames = atomic_load(&w->wal_frames);

		if (w->head && !(w->stop && last_try && w->fail_rc)) {
			if (w->stop)
				last_try = true;
			commit_round(s);
			continue;
		}
		if (w->stop)
			break;
		if (frames >= CKPT_FORCE_FRAMES ||
		    (frames > 0 && now_mono_ms() >= atomic_load(&w->last_write_ms) + CKPT_QUIET_MS)) {
			pthread_mutex_unlock(&w->mu);
			checkpoint(s);
			pthread_mutex_lock(&w->mu);
			continue;
		}
		/* Idle: no deadline at all unless a checkpoint is due later. */
		if (frames > 0)
			timed_wait(w, atomic_load(&w->last_write_ms) + CKPT_QUIET_MS);
		else
			pthread_cond_wait(&w->work, &w->mu);
	}
	if (w->head)
		log_error("store", "stopping with %u activation record(s) not written: %s", w->queued,
			  w->fail.msg);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Back to SQLite's own checkpoints in the committing call (its default
 * of 1000 frames), replacing our WAL hook. */
static void restore_autocheckpoint(struct store *s)
{
	if (store_lock(s, NULL) == 0) {
		sqlite3_wal_autocheckpoint(s->db, 1000);
		store_unlock(s);
	}
}

int store_group_commit_start(struct store *s, uint32_t window_ms, uint32_t max_records,
			     struct err *e)
{
	pthread_condattr_t ca;
	struct store_writer *w;
	int rc;

	if (!s || window_ms < 1 || window_ms > 10000 || max_records < 1 || max_records > 65536)
		return err_set(e, -EINVAL, "group commit: window %u ms, %u records: out of range",
			       window_ms, max_records);
	if (s->w)
		return err_set(e, -EALREADY, "group commit: already running");
	w = calloc(1, sizeof(*w));
	if (!w)
		return err_set(e, -ENOMEM, "group commit: out of memory");
	w->window_ms = window_ms;
	w->max_records = max_records;
	w->tail = &w->head;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->work, &ca);
	pthread_cond_init(&w->done, &ca);
	pthread_condattr_destroy(&ca);
	s->w = w;
	/* Our hook replaces SQLite's autocheckpoint in the committing call. */
	if (store_lock(s, e) < 0) {
		rc = -EDEADLK;
		goto fail;
	}
	sqlite3_wal_hook(s->db, store_batch_wal_hook, s);
	store_unlock(s);
	rc = pthread_create(&w->thread, NULL, writer_main, s);
	if (rc != 0) {
		rc = err_set(e, -rc, "group commit: start the writer thread: %s", strerror(rc));
		restore_autocheckpoint(s);
		goto fail;
	}
	return 0;
fail:
	s->w = NULL;
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->done);
	pthread_mutex_destroy(&w->mu);
	free(w);
	return rc;
}

void store_set_commit_hook(struct store *s, store_commit_fn fn, void *arg)
{
	s->on_commit = fn;
	s->on_commit_arg = arg;
}

void store_batch_stop(struct store *s)
{
	struct store_writer *w = s->w;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	restore_autocheckpoint(s);
	s->w = NULL;
	pending_free_list(w->head);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->done);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
