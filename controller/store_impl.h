/* SPDX-License-Identifier: Apache-2.0 */
/* What the store's files share (never included from outside the module):
 * the connection, its prepared statements and lock, and the group-commit
 * writer of controller/store_batch.c. */
#ifndef EW_STORE_IMPL_H
#define EW_STORE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "common/err.h"
#include "controller/store.h"

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_ENT_INSERT,
	ST_ENT_UPSERT,
	ST_ENT_GET,
	ST_ENT_DELETE,
	ST_ENT_COLL,
	ST_ENT_LIST,
	ST_ENT_LIST_OTHERS,
	ST_ENT_COUNT,
	ST_ACT_PUT,
	ST_ACT_GET,
	ST_ACT_LIST,
	ST_ACT_LIST_NAME,
	ST_ACT_COUNT,
	ST_ACT_COUNT_NAME,
	ST_ACT_PRUNE_AGE,
	ST_ACT_PRUNE_COUNT,
	ST_ACT_DROP_OPEN,
	ST_ACT_CLOSE_OPEN,
	ST_COUNT
};

struct store_writer;

/* Parsed entity documents (store_json.c), so an invocation of a warm
 * action neither queries SQLite nor parses its document. A slot is good
 * while `gen` equals the store's entity generation, which every entity
 * put and delete bumps (under the store lock, after the write): a
 * document read after its generation was noted is never older than that
 * generation. Small documents only: the cache stays under
 * STORE_DOC_CACHE_SLOTS x STORE_DOC_CACHE_TEXT_MAX of text. */
#define STORE_DOC_CACHE_SLOTS 64
#define STORE_DOC_CACHE_TEXT_MAX (16 * 1024)
struct store_doc_slot {
	char *key;                    /* "ns\0coll\0name", malloc'd; NULL = empty */
	size_t key_len;
	uint64_t gen;
	cJSON *doc;
};
struct store_doc_cache {
	pthread_mutex_t lock;         /* the slots (never held with the store lock) */
	_Atomic uint64_t gen;         /* entity generation */
	struct store_doc_slot slot[STORE_DOC_CACHE_SLOTS];
	uint64_t hits, misses;
};

struct store {
	pthread_mutex_t lock;         /* guards db and every statement */
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	/* Group commit of activation records and background checkpoints
	 * (store_batch.c); NULL: one transaction per record, SQLite's own
	 * checkpoints in the committing call. */
	struct store_writer *w;
	store_commit_fn on_commit;    /* told the tag of each committed record */
	void *on_commit_arg;
	struct store_doc_cache cache;
};

/* An entity changed (put or delete): every cached document is stale.
 * Called with the store lock held, after the write. */
void store_doc_cache_bump(struct store *s);
/* Empty the cache (store_close). */
void store_doc_cache_fini(struct store *s);

/* Lock the connection (an error-checking mutex: -EDEADLK from a row
 * callback) and unlock it. */
int store_lock(struct store *s, struct err *e) __attribute__((warn_unused_result));
void store_unlock(struct store *s);

/* Run BEGIN/COMMIT/ROLLBACK; abort an open transaction after a failure. */
int store_tx_step(struct store *s, enum stmt_id id, struct err *e, const char *what);
void store_tx_abort(struct store *s);

/* An SQLite result code as a negative errno, with "<context>: <reason>"
 * in e (see store.h). Call before the statement is reset. */
int store_fail(sqlite3 *db, int rc, struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Insert or replace one activation record; locked, no transaction of its
 * own. */
int store_act_put_locked(struct store *s, const struct store_activation *a, struct err *e);

/* --- store_batch.c --- */

/* Queue a record for the next group commit (copied). durable: return
 * once it is committed (the commit's error otherwise; the record stays
 * queued and is retried). */
int store_batch_put(struct store *s, const struct store_activation *a, bool durable,
		    struct err *e);

/* A queued (not yet committed) finished record of ns by id: 1 and a
 * malloc'd copy, 0 when none is queued, -ENOMEM. */
int store_batch_get(struct store *s, const char *ns, const char *id, char **doc, size_t *len);

/* Commit everything queued now, and wait for it. */
int store_batch_flush(struct store *s, struct err *e);

/* -ENOSPC/-EIO with the cause while queued records cannot be committed. */
int store_batch_writable(struct store *s, struct err *e);
/* An entity write just went through: space is back, so a failing batch
 * is retried at the next store_batch_writable rather than RETRY_ASK_MS
 * after its last attempt. Called under the connection lock. */
void store_batch_wrote(struct store *s);

/* The connection's WAL hook while the writer runs (frames in the WAL). */
int store_batch_wal_hook(void *arg, sqlite3 *db, const char *name, int frames);

/* Stop the writer: commit what is queued (once), join the thread, free. */
void store_batch_stop(struct store *s);

#endif
