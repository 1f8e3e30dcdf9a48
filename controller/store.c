/* SPDX-License-Identifier: Apache-2.0 */
/* The store on SQLite3 (see store.h): one connection opened
 * SQLITE_OPEN_NOMUTEX and serialised by our own mutex, every statement
 * prepared once at open and only reset per call (an activation put runs on
 * every invocation). Schema version in PRAGMA user_version. Callers: the
 * REST API threads and the dispatch completion thread. */
#include "controller/store.h"
#include "controller/store_impl.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#define STORE_SCHEMA_VERSION 2
/* Only another process (sqlite3 CLI, a backup) can hold the file lock:
 * wait a little rather than fail a request at once. */
#define STORE_BUSY_TIMEOUT_MS 5000
/* After a checkpoint resets the WAL, truncate it to this size, so one
 * burst does not keep megabytes of SD card allocated forever. */
#define STORE_WAL_LIMIT "4194304"

/* Rowid tables on purpose: WITHOUT ROWID stores whole rows in the primary
 * key b-tree, which is slow for documents of up to ~48 MB (action code).
 * NOT NULL because SQLite lets NULL into a composite primary key. "end" is
 * quoted: it is an SQL keyword. */
static const char schema_v1[] =
	"CREATE TABLE entities(namespace TEXT NOT NULL, collection TEXT NOT NULL,"
	" name TEXT NOT NULL, updated INTEGER NOT NULL, doc TEXT NOT NULL,"
	" PRIMARY KEY(namespace, name));"
	"CREATE INDEX entities_by_updated ON entities(namespace, collection, updated DESC);"
	"CREATE TABLE activations(id TEXT NOT NULL PRIMARY KEY, namespace TEXT NOT NULL,"
	" name TEXT NOT NULL, start INTEGER NOT NULL, \"end\" INTEGER, doc TEXT NOT NULL);"
	"CREATE INDEX activations_by_start ON activations(namespace, start DESC);"
	"CREATE INDEX activations_by_name ON activations(namespace, name, start DESC);"
	"PRAGMA user_version = 1;";

/* v2: one activation index instead of two, ascending, with the name in
 * it. Every index costs each group commit its leaf pages (and their splits
 * rebalance three siblings): the name index was a sixth of the pages
 * written per record. A list by name now walks the namespace's entries of
 * this index in start order and filters on the name read from it (never
 * the table), which for the 10,000 records kept by default is a scan of a
 * few hundred KiB at worst. Ascending: a new record's start is the largest,
 * so it lands at the right edge of its range; lists still read newest
 * first, walking the index backwards. */
static const char schema_v2[] =
	"DROP INDEX activations_by_start;"
	"DROP INDEX activations_by_name;"
	"CREATE INDEX activations_by_start ON activations(namespace, start, name);"
	"PRAGMA user_version = 2;";

/* Activation filters share parameter numbers: ?1 namespace, ?2 since,
 * ?3 upto, ?4 limit, ?5 offset, ?6 name, so one binder serves all four. */
static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_ENT_INSERT] = "INSERT INTO entities(namespace, collection, name, updated, doc)"
			  " VALUES(?1, ?2, ?3, ?4, ?5)",
	/* The WHERE makes a name held by another collection a no-op
	 * (sqlite3_changes() == 0) instead of moving it. */
	[ST_ENT_UPSERT] = "INSERT INTO entities(namespace, collection, name, updated, doc)"
			  " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(namespace, name) DO UPDATE"
			  " SET updated = excluded.updated, doc = excluded.doc"
			  " WHERE entities.collection = excluded.collection",
	[ST_ENT_GET] = "SELECT doc FROM entities"
		       " WHERE namespace = ?1 AND collection = ?2 AND name = ?3",
	[ST_ENT_DELETE] = "DELETE FROM entities"
			  " WHERE namespace = ?1 AND collection = ?2 AND name = ?3",
	[ST_ENT_COLL] = "SELECT collection FROM entities WHERE namespace = ?1 AND name = ?2",
	[ST_ENT_LIST] = "SELECT doc FROM entities WHERE namespace = ?1 AND collection = ?2"
			" ORDER BY updated DESC LIMIT ?3 OFFSET ?4",
	[ST_ENT_LIST_OTHERS] = "SELECT doc FROM entities WHERE namespace != ?1 AND collection = ?2"
			       " ORDER BY updated DESC",
	[ST_ENT_COUNT] = "SELECT count(*) FROM entities WHERE namespace = ?1 AND collection = ?2",
	/* Same id from another namespace: no-op, reported as -EEXIST. */
	[ST_ACT_PUT] = "INSERT INTO activations(id, namespace, name, start, \"end\", doc)"
		       " VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO UPDATE"
		       " SET name = excluded.name, start = excluded.start,"
		       " \"end\" = excluded.\"end\", doc = excluded.doc"
		       " WHERE activations.namespace = excluded.namespace",
	/* Unfinished records (end NULL) are the crash-recovery copies of
	 * accepted activations: never shown, as OpenWhisk shows none before
	 * the activation ends. */
	[ST_ACT_GET] = "SELECT doc FROM activations WHERE id = ?1 AND namespace = ?2"
		       " AND \"end\" IS NOT NULL",
	[ST_ACT_LIST] = "SELECT doc FROM activations WHERE namespace = ?1"
			" AND start BETWEEN ?2 AND ?3 AND \"end\" IS NOT NULL"
			" ORDER BY start DESC LIMIT ?4 OFFSET ?5",
	[ST_ACT_LIST_NAME] = "SELECT doc FROM activations WHERE namespace = ?1 AND name = ?6"
			     " AND start BETWEEN ?2 AND ?3 AND \"end\" IS NOT NULL"
			     " ORDER BY start DESC LIMIT ?4 OFFSET ?5",
	[ST_ACT_COUNT] = "SELECT count(*) FROM activations WHERE namespace = ?1"
			 " AND start BETWEEN ?2 AND ?3 AND \"end\" IS NOT NULL",
	[ST_ACT_COUNT_NAME] = "SELECT count(*) FROM activations WHERE namespace = ?1"
			      " AND name = ?6 AND start BETWEEN ?2 AND ?3 AND \"end\" IS NOT NULL",
	/* Prunes walk the table in rowid (insertion) order, which follows
	 * start closely, and delete at most a batch: no sort of the whole
	 * table, no extra index to maintain on every insert, and no long
	 * transaction that would hold up the completion thread. */
	[ST_ACT_PRUNE_AGE] = "DELETE FROM activations WHERE rowid IN (SELECT rowid FROM activations"
			     " WHERE start < ?1 ORDER BY rowid LIMIT ?2)",
	[ST_ACT_PRUNE_COUNT] = "DELETE FROM activations WHERE rowid IN (SELECT rowid FROM activations"
			       " ORDER BY rowid DESC LIMIT ?2 OFFSET ?1)",
	[ST_ACT_DROP_OPEN] = "DELETE FROM activations WHERE id = ?1 AND namespace = ?2"
			     " AND \"end\" IS NULL",
	/* The unfinished copy already holds the failed record: only its end
	 * is missing. */
	[ST_ACT_CLOSE_OPEN] = "UPDATE activations SET \"end\" = start WHERE \"end\" IS NULL",
};

/* SQLite wants int64; our times and counts are uint64. Query bounds are
 * clamped (beyond INT64_MAX means "no bound" anyway); stored values over it
 * are rejected. */
static sqlite3_int64 clamp64(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)v;
}

/* Map an SQLite result code to a negative errno and, with e, set
 * "<context>: <reason>". Call before the statement is reset so that
 * sqlite3_errmsg() still describes this failure. */
int store_fail(sqlite3 *db, int rc, struct err *e, const char *fmt, ...)
{
	const char *why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
	int sys = db ? sqlite3_system_errno(db) : 0, code;
	char ctx[256];
	va_list ap;

	switch (rc & 0xff) {
	case SQLITE_FULL:
		code = -ENOSPC;
		break;
	case SQLITE_NOMEM:
		code = -ENOMEM;
		break;
	case SQLITE_TOOBIG:
		code = -EMSGSIZE;
		break;
	case SQLITE_CANTOPEN:
		code = sys > 0 ? -sys : -EIO;
		break;
	case SQLITE_IOERR:
		/* Some write paths (WAL index, fsync) report ENOSPC as IOERR. */
		code = sys == ENOSPC ? -ENOSPC : -EIO;
		break;
	default:
		code = -EIO;
		break;
	}
	if (!e)
		return code;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)
		return err_set(e, code, "%s: database is corrupt (%s)", ctx, why);
	if ((rc & 0xff) == SQLITE_CANTOPEN && sys > 0)
		return err_set(e, code, "%s: %s: %s", ctx, why, strerror(sys));
	return err_set(e, code, "%s: %s", ctx, why);
}

/* The collection name in messages reads singular: "put action guest/x". */
static int noun_len(const char *coll)
{
	size_t n = strlen(coll);

	if (n > 1 && coll[n - 1] == 's')
		n--;
	return n > 64 ? 64 : (int)n;
}

int store_lock(struct store *s, struct err *e)
{
	int rc = pthread_mutex_lock(&s->lock);

	/* An error-checking mutex: a row callback calling back into the store
	 * gets EDEADLK instead of hanging the controller. */
	if (rc != 0)
		return err_set(e, -rc, "store: cannot lock (called from a row callback?)");
	return 0;
}

void store_unlock(struct store *s)
{
	pthread_mutex_unlock(&s->lock);
}

/* Ready a cached statement for its next use; drops the read transaction a
 * SELECT holds, so checkpoints are not blocked. */
static void stmt_release(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Strings are bound SQLITE_STATIC: they outlive the call and
 * stmt_release() clears the bindings before we return. */
static int bind_str(sqlite3_stmt *st, int i, const char *v)
{
	return sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/* Bind the usual key, parameters 1..3: namespace, collection, name. */
static int bind_key(sqlite3_stmt *st, const char *ns, const char *coll, const char *name)
{
	int rc = bind_str(st, 1, ns);

	if (rc == SQLITE_OK)
		rc = bind_str(st, 2, coll);
	if (rc == SQLITE_OK)
		rc = bind_str(st, 3, name);
	return rc;
}

/* Copy column `col` of the current row into a malloc'd NUL-terminated
 * string. */
static int column_dup(sqlite3_stmt *st, int col, char **out, size_t *len)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	int n = sqlite3_column_bytes(st, col);
	char *p;

	if (!t)
		return -ENOMEM; /* the columns are NOT NULL: only OOM gets here */
	p = malloc((size_t)n + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p, t, (size_t)n);
	p[n] = '\0';
	*out = p;
	if (len)
		*len = (size_t)n;
	return 0;
}

/* Run BEGIN/COMMIT/ROLLBACK. */
int store_tx_step(struct store *s, enum stmt_id id, struct err *e, const char *what)
{
	sqlite3_stmt *st = s->st[id];
	int rc = sqlite3_step(st), ret = 0;

	if (rc != SQLITE_DONE)
		ret = store_fail(s->db, rc, e, "%s: %s", what, stmt_sql[id]);
	sqlite3_reset(st);
	return ret;
}

/* Undo an open transaction after a failure (SQLite may already have rolled
 * it back itself, e.g. on SQLITE_FULL). */
void store_tx_abort(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db)) {
		sqlite3_step(s->st[ST_ROLLBACK]);
		sqlite3_reset(s->st[ST_ROLLBACK]);
	}
}

/* Step a bound SELECT of one text column, handing each row to cb until it
 * returns non-zero (kept in *cb_ret). Returns SQLITE_DONE or the failing
 * SQLite code. */
static int rows_walk(sqlite3_stmt *st, store_row_fn cb, void *arg, int *cb_ret)
{
	int rc;

	*cb_ret = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		int n = sqlite3_column_bytes(st, 0);

		if (!t)
			return SQLITE_NOMEM;
		*cb_ret = cb(arg, (const char *)t, (size_t)n);
		if (*cb_ret != 0)
			return SQLITE_DONE;
	}
	return rc;
}

/* Step a bound SELECT count(*). Returns SQLITE_DONE or the SQLite code. */
static int count_step(sqlite3_stmt *st, uint64_t *n)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? SQLITE_ERROR : rc;
	*n = (uint64_t)sqlite3_column_int64(st, 0);
	return SQLITE_DONE;
}

/* ---- open / close / check ---- */

/* First column of the first row of `sql` as text into buf (empty when no
 * row). Failures are reported as "<ctx>: <reason>". */
static int query_text(sqlite3 *db, const char *sql, char *buf, size_t size, struct err *e,
		      const char *ctx)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL), ret = 0;

	buf[0] = '\0';
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);

		snprintf(buf, size, "%s", t ? (const char *)t : "");
	} else if (rc != SQLITE_DONE) {
		/* Before finalize, while sqlite3_errmsg() is about this step. */
		ret = store_fail(db, rc, e, "%s", ctx);
	}
	sqlite3_finalize(st);
	return ret;
}

/* Create or check the schema inside one write transaction, so two
 * processes opening a new file do not both create it. */
static int schema_init(sqlite3 *db, const char *path, struct err *e)
{
	char buf[32], ctx[256];
	long long version;
	char *end = NULL;
	int rc, ret = 0;

	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return store_fail(db, rc, e, "open %s: begin schema transaction", path);
	snprintf(ctx, sizeof(ctx), "open %s: read schema version", path);
	ret = query_text(db, "PRAGMA user_version", buf, sizeof(buf), e, ctx);
	if (ret < 0)
		goto out;
	errno = 0;
	version = strtoll(buf, &end, 10);
	if (errno != 0 || end == buf || version < 0 || version > STORE_SCHEMA_VERSION) {
		ret = err_set(e, -EPROTO,
			      "open %s: database schema version %s is not one this edgewhisk "
			      "knows (newest %d): refusing to use it (written by a newer release?)",
			      path, buf, STORE_SCHEMA_VERSION);
		goto out;
	}
	if (version == 0) {
		/* A new file. Without IF NOT EXISTS, a foreign database that
		 * happens to have these tables fails here instead of being
		 * half-used. */
		rc = sqlite3_exec(db, schema_v1, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			ret = store_fail(db, rc, e, "open %s: create schema", path);
			goto out;
		}
	}
	/* Later versions migrate here, one step at a time, in this transaction. */
	if (version < 2) {
		rc = sqlite3_exec(db, schema_v2, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			ret = store_fail(db, rc, e, "open %s: migrate schema to version 2", path);
			goto out;
		}
	}
	rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		ret = store_fail(db, rc, e, "open %s: commit schema", path);
out:
	if (ret < 0 && !sqlite3_get_autocommit(db))
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

int store_open(const char *path, struct store **out, struct err *e)
{
	pthread_mutexattr_t attr;
	struct store *s;
	char mode[16], ctx[256];
	int rc, ret;

	if (!path || !out)
		return err_set(e, -EINVAL, "open store: no path");
	s = calloc(1, sizeof(*s));
	if (!s)
		return err_set(e, -ENOMEM, "open store %s: out of memory", path);
	rc = pthread_mutexattr_init(&attr);
	if (rc == 0) {
		rc = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
		if (rc == 0)
			rc = pthread_mutex_init(&s->lock, &attr);
		pthread_mutexattr_destroy(&attr);
	}
	if (rc == 0) {
		rc = pthread_mutex_init(&s->cache.lock, NULL);
		if (rc != 0)
			pthread_mutex_destroy(&s->lock);
	}
	if (rc != 0) {
		free(s);
		return err_set(e, -rc, "open store %s: mutex: %s", path, strerror(rc));
	}
	/* From here store_close() takes the half-built store apart. */

	rc = sqlite3_open_v2(path, &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		ret = s->db ? store_fail(s->db, rc, e, "open %s", path)
			    : err_set(e, -ENOMEM, "open %s: out of memory", path);
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);

	/* Flash settings, before the first read of the file:
	 * - locking_mode EXCLUSIVE: only the controller opens the database
	 *   (one connection behind our mutex), so the lock is taken once and
	 *   kept, and in WAL mode the wal-index lives in heap memory instead
	 *   of the mmapped -shm file, whose pages the kernel would write back
	 *   to the card. (Stop edgewhisk to open the file with sqlite3.)
	 * - page_size 4096 (new files only): the ext4 block and the flash
	 *   page; a smaller page would turn each write into a
	 *   read-modify-write of a whole block underneath, a larger one would
	 *   rewrite more bytes for each small record. */
	snprintf(ctx, sizeof(ctx), "open %s", path);
	rc = sqlite3_exec(s->db, "PRAGMA locking_mode=EXCLUSIVE; PRAGMA page_size=4096;", NULL, NULL,
			  NULL);
	if (rc != SQLITE_OK) {
		ret = store_fail(s->db, rc, e, "open %s: locking mode", path);
		goto fail;
	}
	/* The first statement to read the file: garbage fails here (NOTADB). */
	ret = query_text(s->db, "PRAGMA journal_mode=WAL", mode, sizeof(mode), e, ctx);
	if (ret < 0)
		goto fail;
	if (strcmp(mode, "wal") != 0) {
		ret = err_set(e, -EIO, "open %s: cannot use a WAL journal (journal_mode stays '%s')",
			      path, mode);
		goto fail;
	}
	/* synchronous NORMAL in WAL mode: commits do not fsync, checkpoints
	 * do; a controller crash loses no commit (the WAL is in the page
	 * cache), a power loss may drop the last ones but never corrupts the
	 * file. FULL would fsync every commit: a flash write per record.
	 * journal_size_limit: see STORE_WAL_LIMIT. */
	rc = sqlite3_exec(s->db,
			  "PRAGMA synchronous=NORMAL; PRAGMA journal_size_limit=" STORE_WAL_LIMIT ";",
			  NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		ret = store_fail(s->db, rc, e, "open %s: pragmas", path);
		goto fail;
	}
	ret = schema_init(s->db, path, e);
	if (ret < 0)
		goto fail;
	for (int i = 0; i < ST_COUNT; i++) {
		rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
					NULL);
		if (rc != SQLITE_OK) {
			ret = store_fail(s->db, rc, e, "open %s: prepare '%.80s'", path, stmt_sql[i]);
			goto fail;
		}
	}
	*out = s;
	return 0;
fail:
	store_close(s);
	return ret;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	store_batch_stop(s);
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	/* The last connection to close checkpoints and removes the WAL. */
	sqlite3_close_v2(s->db);
	store_doc_cache_fini(s);
	pthread_mutex_destroy(&s->cache.lock);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int store_check(struct store *s, struct err *e)
{
	char first[ERR_MSG_MAX / 2];
	int ret;

	if (!s)
		return err_set(e, -EINVAL, "integrity check: no store");
	ret = store_lock(s, e);
	if (ret < 0)
		return ret;
	/* (1): stop at the first problem; a full scan still reads every page. */
	ret = query_text(s->db, "PRAGMA integrity_check(1)", first, sizeof(first), e,
			 "integrity check");
	if (ret == 0 && strcmp(first, "ok") != 0)
		ret = err_set(e, -EIO, "integrity check: database is corrupt: %s", first);
	store_unlock(s);
	return ret;
}

/* ---- entities ---- */

/* -EEXIST for a name that is taken, saying whether by this collection or
 * by another one (OpenWhisk answers the two with different 409 texts).
 * Locked. */
static int entity_taken(struct store *s, const char *verb, const char *ns, const char *coll,
			const char *name, struct err *e)
{
	sqlite3_stmt *st = s->st[ST_ENT_COLL];
	int rc, ret = -EEXIST;

	rc = bind_str(st, 1, ns);
	if (rc == SQLITE_OK)
		rc = bind_str(st, 2, name);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *have = (const char *)sqlite3_column_text(st, 0);

		if (have && strcmp(have, coll) != 0)
			err_set(e, ret, "%s %.*s %s/%s: the name is taken in collection '%s'", verb,
				noun_len(coll), coll, ns, name, have);
		else
			err_set(e, ret, "%s %.*s %s/%s: already exists", verb, noun_len(coll), coll,
				ns, name);
	} else if (rc == SQLITE_DONE) {
		/* Gone between the two statements: only another process can do that. */
		err_set(e, ret, "%s %.*s %s/%s: already exists", verb, noun_len(coll), coll, ns,
			name);
	} else {
		ret = store_fail(s->db, rc, e, "%s %.*s %s/%s", verb, noun_len(coll), coll, ns,
				 name);
	}
	stmt_release(st);
	return ret;
}

/* -ENOENT for a missing entity; the message names the collection that has
 * the name, if any, so the API can tell 404 from 409 by asking
 * store_entity_collection(). Locked. */
static int entity_missing(struct store *s, const char *verb, const char *ns, const char *coll,
			  const char *name, struct err *e)
{
	sqlite3_stmt *st = s->st[ST_ENT_COLL];
	const char *have = NULL;
	int rc;

	rc = bind_str(st, 1, ns);
	if (rc == SQLITE_OK)
		rc = bind_str(st, 2, name);
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		have = (const char *)sqlite3_column_text(st, 0);
	if (have)
		err_set(e, -ENOENT, "%s %.*s %s/%s: not found (the name is in collection '%s')",
			verb, noun_len(coll), coll, ns, name, have);
	else
		err_set(e, -ENOENT, "%s %.*s %s/%s: not found", verb, noun_len(coll), coll, ns,
			name);
	stmt_release(st);
	return -ENOENT;
}

int store_entity_put(struct store *s, const char *ns, const char *coll, const char *name,
		     const char *doc, size_t len, uint64_t updated_ms, bool overwrite, struct err *e)
{
	sqlite3_stmt *st;
	int rc, ret;

	if (!s || !ns || !coll || !name || !doc)
		return err_set(e, -EINVAL, "put entity: missing argument");
	if (updated_ms > (uint64_t)INT64_MAX)
		return err_set(e, -EINVAL, "put %.*s %s/%s: updated time out of range",
			       noun_len(coll), coll, ns, name);
	ret = store_lock(s, e);
	if (ret < 0)
		return ret;
	st = s->st[overwrite ? ST_ENT_UPSERT : ST_ENT_INSERT];
	rc = bind_key(st, ns, coll, name);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, (sqlite3_int64)updated_ms);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text64(st, 5, doc, len, SQLITE_STATIC, SQLITE_UTF8);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		/* Upsert: 0 changes = the WHERE kept another collection's entity. */
		if (sqlite3_changes(s->db) == 0)
			ret = -EEXIST;
	} else if (!overwrite && rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
		ret = -EEXIST;
	} else {
		ret = store_fail(s->db, rc, e, "put %.*s %s/%s", noun_len(coll), coll, ns, name);
	}
	stmt_release(st);
	if (ret == 0)
		store_doc_cache_bump(s);
	if (ret == 0 && s->w)
		store_batch_wrote(s);
	if (ret == -EEXIST)
		ret = entity_taken(s, "put", ns, coll, name, e);
	store_unlock(s);
	return ret;
}

int store_entity_get(struct store *s, const char *ns, const char *coll, const char *name,
		     char **doc, size_t *len, struct err *e)
{
	sqlite3_stmt *st;
	int rc, ret;

	if (!s || !ns || !coll || !name || !doc)
		return err_set(e, -EINVAL, "get entity: missing argument");
	ret = store_lock(s, e);
	if (ret < 0)
		return ret;
	st = s->st[ST_ENT_GET];
	rc = bind_key(st, ns, coll, name);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ret = column_dup(st, 0, doc, len);
		if (ret < 0)
			err_set(e, ret, "get %.*s %s/%s: out of memory", noun_len(coll), coll, ns,
				name);
	} else if (rc == SQLITE_DONE) {
		ret = -ENOENT;
	} else {
		ret = store_fail(s->db, rc, e, "get %.*s %s/%s", noun_len(coll), coll, ns, name);
	}
	stmt_release(st);
	if (ret == -ENOENT)
		ret = entity_missing(s, "get", ns, coll, name, e);
	store_unlock(s);
	return ret;
}

int store_entity_delete(struct store *s, const char *ns, const char *coll, const char *name,
			char **doc, size_t *len, struct err *e)
{
	sqlite3_stmt *st;
	char what[160];
	char *old = NULL;
	size_t old_len = 0;
	int rc, ret;

	if (!s || !ns || !coll || !name)
		return err_set(e, -EINVAL, "delete entity: missing argument");
	snprintf(what, sizeof(what), "delete %.*s %s/%s", noun_len(coll), coll, ns, name);
	ret = store_lock(s, e);
	if (ret < 0)
		return ret;
	/* Wanting the document: read and delete in one transaction, so what
	 * we hand back is exactly what went. */
	if (doc) {
		ret = store_tx_step(s, ST_BEGIN, e, what);
		if (ret < 0)
			goto out;
		st = s->st[ST_ENT_GET];
		rc = bind_str(st, 1, ns);
		if (rc == SQLITE_OK)
			rc = bind_str(st, 2, coll);
		if (rc == SQLITE_OK)
			rc = bind_str(st, 3, name);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			ret = column_dup(st, 0, &old, &old_len);
			if (ret < 0)
				err_set(e, ret, "%s: out of memory", what);
		} else if (rc == SQLITE_DONE) {
			ret = -ENOENT;
		} else {
			ret = store_fail(s->db, rc, e, "%s", what);
		}
		stmt_release(st);
		if (ret < 0)
			goto out;
	}
	st = s->st[ST_ENT_DELETE];
	rc = bind_key(st, ns, coll, name);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		if (sqlite3_changes(s->db) == 0)
			ret = -ENOENT;
	} else {
		ret = store_fail(s->db, rc, e, "%s", what);
	}
	stmt_release(st);
	if (ret == 0 && doc)
		ret = store_tx_step(s, ST_COMMIT, e, what);
	if (ret == 0)
		store_doc_cache_bump(s);
out:
	if (ret < 0)
		store_tx_abort(s);
	if (ret == -ENOENT)
		ret = entity_missing(s, "delete", ns, coll, name, e);
	store_unlock(s);
	if (ret < 0) {
		free(old);
		return ret;
	}
	if (doc) {
		*doc = old;
		if (len)
			*len = old_len;
	}
	return 0;
}

int store_entity_collection(struct store *s, const char *ns, const char *name, char *coll,
			    size_t coll_size, struct err *e)
{
	sqlite3_stmt *st;
	int rc, ret;

	if (!s || !ns || !name || !coll || coll_size == 0)
		return err_set(e, -EINVAL, "find entity collection: missing argument");
	ret = store_lock(s, e);
	if (ret < 0)
		return ret;
	st = s->st[ST_ENT_COLL];
	rc = bind_str(st, 1, ns);
	if (rc == SQLITE_OK)
		rc = bind_str(st, 2, name);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *have = (const char *)sqlite3_column_text(st, 0);
		size_t n = have ? (size_t)sqlite3_column_bytes(st, 0) : 0;

		if (!have)
			ret = err_set(e, -ENOMEM, "find collection of %s/%s: out of memory", ns, name);
		else if (n >= coll_size)
			ret = err_set(e, -ERANGE, "find collection of %s/%s: '%s' does not fit in %zu bytes",
				      ns, name, have, coll_size);
		else
			memcpy(coll, have, n + 1);
	} else if (rc == SQLITE_DONE) {
		ret = err_set(e, -ENOENT, "find collection of %s/%s: no entity has that name", ns,
			      name);
	} else {
		ret = store_fail(s->db, rc, e, "find collection of %s/%s", ns, name);
	}
	stmt_release(st);
	store_unlock(s);
	return ret;
}

static int entity_walk(struct store *s, int which, const char *ns, const char *coll,
		       uint32_t limit, uint32_t skip, store_row_fn cb, void *arg, struct err *e)
{
	sqlite3_stmt *st;
	int rc, ret, cb_ret = 0;

	if (!s || !ns || !coll || !cb)
		return err_set(e, -EINVAL, "list entities: missing argument");
	ret = store_lock(s, e);
	if (ret < 0)
		return ret;
	st = s->st[which];
	rc = bind_str(st, 1, ns);
	if (rc == SQLITE_OK)
		rc = bind_str(st, 2, coll);
	if (rc == SQLITE_OK && which == ST_ENT_LIST)
		rc = sqlite3_bind_int64(st, 3, limit ? (sqlite3_int64)limit : -1);
	if (rc == SQLITE_OK && which == ST_ENT_LIST)
		rc = sqlite3_bind_int64(st, 4, skip);
	if (rc == SQLITE_OK)
		rc = rows_walk(st, cb, arg, &cb_ret);
	if (rc != SQLITE_DONE)
		ret = store_fail(s->db, rc, e, "list %s %s", coll, ns);
	else
		ret = cb_ret;
	stmt_release(st);
	store_unlock(s);
	return ret;
}

int store_entity_list(struct store *s, const char *ns, const char *coll, uint32_t limit,
		      uint32_t skip, store_row_fn cb, void *arg, struct err *e)
{
	return entity_walk(s, ST_ENT_LIST, ns, coll, limit, skip, cb, arg, e);
}

int store_entity_list_others(struct store *s, const char *ns, const char *coll, store_row_fn cb,
			     void *arg, struct err *e)
{
	return entity_walk(s, ST_ENT_LIST_OTHERS, ns, coll, 0, 0, cb, arg, e);
}

int store_entity_count(struct store *s, const char *ns, const char *coll, uint64_t *n,
		       struct err *e)
{
	sqlite3_stmt *st;
	uint64_t count = 0;
	int rc, ret;

	if (!s || !ns || !coll || !n)
		return err_set(e, -EINVAL, "count entities: missing argument");
	ret = store_lock(s, e);
	if (ret < 0)
		return ret;
	st = s->st[ST_ENT_COUNT];
	rc = bind_str(st, 1, ns);
	if (rc == SQLITE_OK)
		rc = bind_str(st, 2, coll);
	if (rc == SQLITE_OK)
		rc = count_step(st, &count);
	if (rc != SQLITE_DONE)
		ret = store_fail(s->db, rc, e, "count %s %s", coll, ns);
	stmt_release(st);
	store_unlock(s);
	if (ret == 0)
		*n = count;
	return ret;
}

/* ---- activations ---- */

static int act_check(const struct store_activation *a, struct err *e)
{
	if (!a || !a->id || !a->ns || !a->name || !a->doc)
		return err_set(e, -EINVAL, "put activation: missing argument");
	if (a->start_ms > (uint64_t)INT64_MAX || a->end_ms > (uint64_t)INT64_MAX)
		return err_set(e, -EINVAL, "put activation %s/%s: time out of range", a->ns, a->id);
	return 0;
}

int store_act_put_locked(struct store *s, const struct store_activation *a, struct err *e)
{
	sqlite3_stmt *st = s->st[ST_ACT_PUT];
	int rc, ret = 0;

	rc = bind_str(st, 1, a->id);
	if (rc == SQLITE_OK)
		rc = bind_str(st, 2, a->ns);
	if (rc == SQLITE_OK)
		rc = bind_str(st, 3, a->name);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, (sqlite3_int64)a->start_ms);
	/* Unfinished: NULL, not 0, so SQL never mistakes it for a time. */
	if (rc == SQLITE_OK)
		rc = a->end_ms ? sqlite3_bind_int64(st, 5, (sqlite3_int64)a->end_ms)
			       : sqlite3_bind_null(st, 5);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text64(st, 6, a->doc, a->len, SQLITE_STATIC, SQLITE_UTF8);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		if (sqlite3_changes(s->db) == 0)
			ret = err_set(e, -EEXIST,
				      "put activation %s/%s: the id belongs to another namespace",
				      a->ns, a->id);
	} else {
		ret = store_fail(s->db, rc, e, "put activation %s/%s", a->ns, a->id);
	}
	stmt_release(st);
	return ret;
}

/* One record, one transaction: the path without a writer, and the
 * unfinished crash-recovery copies, which must be on disk before the
 * activation is acknowledged. */
static int act_put_now(struct store *s, const struct store_activation *a, struct err *e)
{
	int ret = store_lock(s, e);

	if (ret < 0)
		return ret;
	ret = store_act_put_locked(s, a, e);
	store_unlock(s);
	if (ret == 0 && a->tag && s->on_commit)
		s->on_commit(s->on_commit_arg, a->tag);
	return ret;
}

/* Finished records go to the group commit when it runs; unfinished ones
 * (and all without it) are committed at once. */
static int act_put(struct store *s, const struct store_activation *a, bool durable,
		   struct err *e)
{
	int ret = act_check(a, e);

	if (ret < 0)
		return ret;
	if (!s)
		return err_set(e, -EINVAL, "put activation: missing argument");
	if (s->w && a->end_ms)
		return store_batch_put(s, a, durable, e);
	return act_put_now(s, a, e);
}

int store_activation_put(struct store *s, const struct store_activation *a, struct err *e)
{
	return act_put(s, a, false, e);
}

int store_activation_put_durable(struct store *s, const struct store_activation *a,
				 struct err *e)
{
	return act_put(s, a, true, e);
}

int store_activation_get(struct store *s, const char *ns, const char *id, char **doc, size_t *len,
			 struct err *e)
{
	sqlite3_stmt *st;
	int rc, ret;

	if (!s || !ns || !id || !doc)
		return err_set(e, -EINVAL, "get activation: missing argument");
	/* A record waiting for its group commit is already the answer. */
	if (s->w) {
		ret = store_batch_get(s, ns, id, doc, len);
		if (ret != 0)
			return ret < 0 ? err_set(e, ret, "get activation %s/%s: out of memory", ns, id)
				       : 0;
	}
	ret = store_lock(s, e);
	if (ret < 0)
		return ret;
	st = s->st[ST_ACT_GET];
	rc = bind_str(st, 1, id);
	if (rc == SQLITE_OK)
		rc = bind_str(st, 2, ns);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ret = column_dup(st, 0, doc, len);
		if (ret < 0)
			err_set(e, ret, "get activation %s/%s: out of memory", ns, id);
	} else if (rc == SQLITE_DONE) {
		ret = err_set(e, -ENOENT, "get activation %s/%s: not found", ns, id);
	} else {
		ret = store_fail(s->db, rc, e, "get activation %s/%s", ns, id);
	}
	stmt_release(st);
	store_unlock(s);
	return ret;
}

/* Lists and counts read SQL: commit what is queued first. When that
 * fails (disk full), they answer from what is committed. */
static void flush_for_read(struct store *s)
{
	struct err fe = { 0 };

	if (s->w)
		(void)store_batch_flush(s, &fe);
}

/* Bind the shared filter parameters (see stmt_sql). upto 0 = unbounded. */
static int bind_filter(sqlite3_stmt *st, const char *ns, const char *name, uint64_t since_ms,
		       uint64_t upto_ms)
{
	int rc = bind_str(st, 1, ns);

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, clamp64(since_ms));
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, upto_ms ? clamp64(upto_ms) : INT64_MAX);
	if (rc == SQLITE_OK && name)
		rc = bind_str(st, 6, name);
	return rc;
}

int store_activation_list(struct store *s, const char *ns, const char *name, uint64_t since_ms,
			  uint64_t upto_ms, uint32_t limit, uint32_t skip, store_row_fn cb, void *arg,
			  struct err *e)
{
	sqlite3_stmt *st;
	int rc, ret, cb_ret = 0;

	if (!s || !ns || !cb)
		return err_set(e, -EINVAL, "list activations: missing argument");
	flush_for_read(s);
	ret = store_lock(s, e);
	if (ret < 0)
		return ret;
	/* Two statements, not "(?6 IS NULL OR name = ?6)", so the planner
	 * keeps to the (namespace, start, name) index for both. */
	st = s->st[name ? ST_ACT_LIST_NAME : ST_ACT_LIST];
	rc = bind_filter(st, ns, name, since_ms, upto_ms);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, limit ? (sqlite3_int64)limit : -1);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 5, skip);
	if (rc == SQLITE_OK)
		rc = rows_walk(st, cb, arg, &cb_ret);
	if (rc != SQLITE_DONE)
		ret = store_fail(s->db, rc, e, "list activations %s", ns);
	else
		ret = cb_ret;
	stmt_release(st);
	store_unlock(s);
	return ret;
}

int store_activation_count(struct store *s, const char *ns, const char *name, uint64_t since_ms,
			   uint64_t upto_ms, uint64_t *n, struct err *e)
{
	sqlite3_stmt *st;
	uint64_t count = 0;
	int rc, ret;

	if (!s || !ns || !n)
		return err_set(e, -EINVAL, "count activations: missing argument");
	flush_for_read(s);
	ret = store_lock(s, e);
	if (ret < 0)
		return ret;
	st = s->st[name ? ST_ACT_COUNT_NAME : ST_ACT_COUNT];
	rc = bind_filter(st, ns, name, since_ms, upto_ms);
	if (rc == SQLITE_OK)
		rc = count_step(st, &count);
	if (rc != SQLITE_DONE)
		ret = store_fail(s->db, rc, e, "count activations %s", ns);
	stmt_release(st);
	store_unlock(s);
	if (ret == 0)
		*n = count;
	return ret;
}

/* Run one bound prune DELETE, adding its row count to *total. */
static int prune_step(struct store *s, enum stmt_id id, sqlite3_int64 v, uint64_t *total,
		      struct err *e)
{
	sqlite3_stmt *st = s->st[id];
	int rc = sqlite3_bind_int64(st, 1, v), ret = 0;

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, STORE_PRUNE_BATCH);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		*total += (uint64_t)sqlite3_changes(s->db);
	else
		ret = store_fail(s->db, rc, e, "prune activations %s",
				 id == ST_ACT_PRUNE_AGE ? "by age" : "by count");
	stmt_release(st);
	return ret;
}

int store_activation_prune(struct store *s, uint64_t max_count, uint64_t max_age_ms,
			   uint64_t now_ms, uint64_t *deleted, struct err *e)
{
	uint64_t total = 0;
	bool by_age = max_age_ms && now_ms > max_age_ms;
	int ret;

	if (!s || !deleted)
		return err_set(e, -EINVAL, "prune activations: missing argument");
	if (!by_age && !max_count) {
		*deleted = 0;
		return 0;
	}
	ret = store_lock(s, e);
	if (ret < 0)
		return ret;
	/* One transaction: one commit, and the count is exact. Either order
	 * deletes the same set: age first keeps the count step smaller. */
	ret = store_tx_step(s, ST_BEGIN, e, "prune activations");
	if (ret == 0 && by_age)
		ret = prune_step(s, ST_ACT_PRUNE_AGE, clamp64(now_ms - max_age_ms), &total, e);
	if (ret == 0 && max_count)
		ret = prune_step(s, ST_ACT_PRUNE_COUNT, clamp64(max_count), &total, e);
	if (ret == 0)
		ret = store_tx_step(s, ST_COMMIT, e, "prune activations");
	if (ret < 0)
		store_tx_abort(s);
	store_unlock(s);
	if (ret == 0)
		*deleted = total;
	return ret;
}

int store_activation_drop_unfinished(struct store *s, const char *ns, const char *id,
				     struct err *e)
{
	sqlite3_stmt *st;
	int rc, ret;

	if (!s || !ns || !id)
		return err_set(e, -EINVAL, "drop activation: missing argument");
	ret = store_lock(s, e);
	if (ret < 0)
		return ret;
	st = s->st[ST_ACT_DROP_OPEN];
	rc = bind_str(st, 1, id);
	if (rc == SQLITE_OK)
		rc = bind_str(st, 2, ns);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		ret = store_fail(s->db, rc, e, "drop activation %s/%s", ns, id);
	stmt_release(st);
	store_unlock(s);
	return ret;
}

int store_activation_close_unfinished(struct store *s, uint64_t *closed, struct err *e)
{
	sqlite3_stmt *st;
	int rc, ret;

	if (!s || !closed)
		return err_set(e, -EINVAL, "close unfinished activations: missing argument");
	ret = store_lock(s, e);
	if (ret < 0)
		return ret;
	st = s->st[ST_ACT_CLOSE_OPEN];
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		*closed = (uint64_t)sqlite3_changes(s->db);
	else
		ret = store_fail(s->db, rc, e, "close unfinished activations");
	stmt_release(st);
	store_unlock(s);
	return ret;
}
