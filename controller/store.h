/* SPDX-License-Identifier: Apache-2.0 */
/* The controller's store: entities (actions, triggers, rules, packages)
 * and activation records in SQLite (WAL) at state_dir/edgewhisk.db.
 * Documents are kept as OpenWhisk-shaped JSON text, with the keys we query
 * on (namespace, collection, name, updated, start) in indexed columns. The
 * only user of SQLite. All functions are thread-safe (one connection behind
 * a mutex: a board's request rate is far below what one SQLite connection
 * serves) and may block on disk I/O.
 *
 * Entity writes commit before they return. Finished activation records go
 * through a group commit once store_group_commit_start() ran: queued, and
 * written by a background thread in one transaction per window or per N
 * records, whichever comes first; get sees queued records, list and count
 * commit them first. The same thread checkpoints the WAL, when the store
 * is quiet or the WAL is large, instead of the committing caller.
 * Errors: -ENOENT (no such entity/activation), -EEXIST (exists and no
 * overwrite), -ENOSPC (disk or database full: SQLITE_FULL), -EIO (other
 * SQLite failure, with SQLite's message; "database is corrupt" for a
 * damaged file), -ENOMEM, -EINVAL (NULL argument, or a time over
 * INT64_MAX to store), -EMSGSIZE (document over SQLite's size limit),
 * -EDEADLK (a store function called from a store_row_fn). Messages name
 * the operation: "put action guest/hello: database or disk is full". */
#ifndef EW_STORE_H
#define EW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/json.h"

struct store;

/* Open or create the database at `path` (its directory must exist): WAL
 * journal, synchronous=NORMAL (durable across power loss up to the last
 * checkpointed commit; WAL keeps the file consistent), busy timeout,
 * schema created or checked. *out is set only on success. Also -ENOENT,
 * -EACCES, -EISDIR... (the open(2) errno) when the file cannot be opened,
 * -EIO for a file that is not a database, -EPROTO for a schema version
 * newer than this build knows (never touched). */
int store_open(const char *path, struct store **out, struct err *e)
	__attribute__((warn_unused_result));
void store_close(struct store *s);

/* Start the group commit of finished activation records (see above):
 * at most window_ms (1..10000) after the first record queued, or at
 * max_records (1..65536), whichever comes first; a durable put or a read
 * commits at once. Also moves checkpoints to the writer thread. Without
 * it every record is its own transaction. -EINVAL, -EALREADY, -ENOMEM,
 * -EAGAIN (thread). */
int store_group_commit_start(struct store *s, uint32_t window_ms, uint32_t max_records,
			     struct err *e) __attribute__((warn_unused_result));

/* Told each tag (struct store_activation.tag, non-zero) once its record is
 * committed, from the committing thread. Set before records are put. */
typedef void (*store_commit_fn)(void *arg, uint64_t tag);
void store_set_commit_hook(struct store *s, store_commit_fn fn, void *arg);

/* 0, or the error of the last failed group commit (-ENOSPC "database or
 * disk is full", -EIO) while queued records wait to be retried: take no
 * new work that would add records meanwhile. */
int store_writable(struct store *s, struct err *e) __attribute__((warn_unused_result));

/* Commit what the group commit has queued, now, and wait for it (0 at
 * once without it). The commit's error otherwise. */
int store_flush(struct store *s, struct err *e) __attribute__((warn_unused_result));

/* PRAGMA integrity_check: 0 when "ok", -EIO with the first problem. */
int store_check(struct store *s, struct err *e) __attribute__((warn_unused_result));

/* --- entities: (namespace, collection, name) -> JSON document --- */

/* Insert, or replace when `overwrite`. -EEXIST when it exists and
 * !overwrite, and (overwrite or not) when the name is taken in the
 * namespace by another collection: then nothing changes and the message
 * names that collection (OpenWhisk's 409 "Resource by this name exists but
 * is not in this collection."). `updated_ms` is stored in the indexed
 * column (list order). */
int store_entity_put(struct store *s, const char *ns, const char *coll, const char *name,
		     const char *doc, size_t len, uint64_t updated_ms, bool overwrite, struct err *e)
	__attribute__((warn_unused_result));

/* Get a document: malloc'd NUL-terminated text in *doc (caller frees),
 * its length in *len (len may be NULL). -ENOENT when this collection has
 * no such name; if another collection has it the message says which (ask
 * store_entity_collection() to answer 409 instead of 404). */
int store_entity_get(struct store *s, const char *ns, const char *coll, const char *name,
		     char **doc, size_t *len, struct err *e) __attribute__((warn_unused_result));

/* Delete, handing back the deleted document (doc may be NULL to not want
 * it; else as store_entity_get, read and deleted in one transaction).
 * -ENOENT as store_entity_get. */
int store_entity_delete(struct store *s, const char *ns, const char *coll, const char *name,
			char **doc, size_t *len, struct err *e) __attribute__((warn_unused_result));

/* The collection an entity of that name lives in within the namespace
 * (OpenWhisk answers 409 when a name is taken in another collection).
 * -ENOENT when no collection has it, -ERANGE when it does not fit in
 * coll_size bytes (NUL included). */
int store_entity_collection(struct store *s, const char *ns, const char *name, char *coll,
			    size_t coll_size, struct err *e) __attribute__((warn_unused_result));

/* Called per row; a non-zero return stops the walk and is returned. `doc`
 * is borrowed until the callback returns. It runs with the store locked:
 * keep it short and call no store function from it (-EDEADLK). */
typedef int (*store_row_fn)(void *arg, const char *doc, size_t len);

/* Documents of a collection in a namespace, newest `updated` first. Names
 * with a '/' (entities inside packages) are included. limit 0 = no limit. */
int store_entity_list(struct store *s, const char *ns, const char *coll, uint32_t limit,
		      uint32_t skip, store_row_fn cb, void *arg, struct err *e)
	__attribute__((warn_unused_result));
/* The same over every namespace but ns, unpaged (the published packages
 * of the others: few, and filtered by the caller). */
int store_entity_list_others(struct store *s, const char *ns, const char *coll, store_row_fn cb,
			     void *arg, struct err *e) __attribute__((warn_unused_result));
int store_entity_count(struct store *s, const char *ns, const char *coll, uint64_t *n,
		       struct err *e) __attribute__((warn_unused_result));

/* --- entities as parsed documents (controller/store_json.c) --- */

/* store_entity_get, then parse: *out is the document (caller frees with
 * json_delete; it is the caller's own copy), written only on success. The
 * store's errors, and json_parse's (-EINVAL, "stored <coll> <ns>/<name> is
 * unreadable: ...") for a document that does not parse. Documents of up
 * to 16 KiB are kept parsed, so loading the same one again (a warm
 * invocation) is a copy of the tree; any entity put or delete makes every
 * kept one stale. */
int store_entity_load(struct store *s, const char *ns, const char *coll, const char *name,
		      cJSON **out, struct err *e) __attribute__((warn_unused_result));
/* Loads answered from the kept documents, and the others. */
void store_doc_cache_stats(struct store *s, uint64_t *hits, uint64_t *misses);

/* rc as it is; when it is -ENOENT, *e says OpenWhisk's 404 message ("The
 * requested resource does not exist.") instead of the store's own, which
 * names collections. For callers that answer clients. */
int store_not_found(int rc, struct err *e);

/* The stored document a PUT with ?overwrite=true updates: *out is it, or
 * NULL when !overwrite or there is none yet (0 either way). Errors as
 * store_entity_load but -ENOENT. */
int store_entity_load_old(struct store *s, const char *ns, const char *coll, const char *name,
			  bool overwrite, cJSON **out, struct err *e) __attribute__((warn_unused_result));

/* Print and store a document (store_entity_put). updated_ms 0 = the
 * document's own "updated", else now. -EEXIST carries OpenWhisk's 409
 * message: "resource already exists", or "Resource by this name exists but
 * is not in this collection." when another collection has the name. */
int store_entity_save(struct store *s, const char *ns, const char *coll, const char *name,
		      const cJSON *doc, uint64_t updated_ms, bool overwrite, struct err *e)
	__attribute__((warn_unused_result));

/* --- activations --- */

struct store_activation {
	const char *id;            /* 32 hex */
	const char *ns;            /* namespace of the invoker (the caller) */
	const char *name;          /* "action" or "pkg/action" (the `name` filter) */
	uint64_t start_ms, end_ms; /* end 0 = not finished */
	const char *doc;           /* the whole record as JSON */
	size_t len;
	uint64_t tag;              /* caller's, for the commit hook; 0 = none */
};

/* Insert or replace (a record may be written when accepted and again when
 * complete); end_ms 0 is stored as unfinished. -EEXIST (nothing written)
 * when the id is already used by another namespace. An unfinished record
 * is invisible to get, list and count: it is the copy kept so that an
 * accepted activation survives a controller crash (see
 * store_activation_close_unfinished). */
int store_activation_put(struct store *s, const struct store_activation *a, struct err *e)
	__attribute__((warn_unused_result));

/* With the group commit running, store_activation_put of a finished
 * record only queues it (0, or -ENOMEM); this one returns once its batch
 * is committed, and with the commit's error otherwise (the record stays
 * queued and is retried). Without it, both commit at once. */
int store_activation_put_durable(struct store *s, const struct store_activation *a,
				 struct err *e) __attribute__((warn_unused_result));

/* Record by id within a namespace (another namespace's record: -ENOENT).
 * *doc as store_entity_get (caller frees; len may be NULL). */
int store_activation_get(struct store *s, const char *ns, const char *id, char **doc, size_t *len,
			 struct err *e) __attribute__((warn_unused_result));

/* Records of a namespace, newest start first, filtered by name (NULL =
 * any) and start in [since_ms, upto_ms] (0 = unbounded; both inclusive).
 * limit 0 = no limit. */
int store_activation_list(struct store *s, const char *ns, const char *name, uint64_t since_ms,
			  uint64_t upto_ms, uint32_t limit, uint32_t skip, store_row_fn cb, void *arg,
			  struct err *e) __attribute__((warn_unused_result));
int store_activation_count(struct store *s, const char *ns, const char *name, uint64_t since_ms,
			   uint64_t upto_ms, uint64_t *n, struct err *e)
	__attribute__((warn_unused_result));

/* Retention: delete activation records beyond the newest `max_count`
 * (0 = no count limit) and those that started before now_ms - max_age_ms
 * (0 = no age limit; start < now_ms - max_age_ms goes), across all
 * namespaces, oldest first in insertion order (which follows start), at
 * most STORE_PRUNE_BATCH of each kind per call, in one transaction, so a
 * call never holds the store for long. *deleted gets how many went; call
 * again while it reaches STORE_PRUNE_BATCH. */
#define STORE_PRUNE_BATCH 256
int store_activation_prune(struct store *s, uint64_t max_count, uint64_t max_age_ms,
			   uint64_t now_ms, uint64_t *deleted, struct err *e)
	__attribute__((warn_unused_result));

/* Delete the unfinished record `id` of `ns` (an activation accepted and
 * then refused before it was queued); a finished record is left alone.
 * 0 also when there is none. */
int store_activation_drop_unfinished(struct store *s, const char *ns, const char *id,
				     struct err *e) __attribute__((warn_unused_result));

/* Start-up recovery: every unfinished record becomes finished (end =
 * start) as written, so the failed record stored at accept time becomes
 * visible. *closed gets how many. */
int store_activation_close_unfinished(struct store *s, uint64_t *closed, struct err *e)
	__attribute__((warn_unused_result));

#endif
