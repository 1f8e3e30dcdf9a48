/* SPDX-License-Identifier: Apache-2.0 */
/* store group commit, white-box: queued records read back before their
 * commit, the window and the record count close a batch, a batch is one
 * transaction, durable puts wait for theirs, a full database (SQLite's
 * max_page_count, no tmpfs needed) keeps records queued and reports it
 * until space returns, a large WAL is checkpointed by the writer, and
 * close commits what is queued. Includes the store's sources to reach the
 * connection; the linker then takes no store objects from the archive. */
#include "../../controller/store.c"
#include "../../controller/store_batch.c"

#include <sys/stat.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/tmpdir.h"

static const char *db_path(const char *name)
{
	static char p[256];

	snprintf(p, sizeof(p), "%s/%s", tmpdir_root("test_store_batch"), name);
	return p;
}

struct hooked {
	_Atomic uint32_t n;
	_Atomic uint64_t last;
};

static void on_commit(void *arg, uint64_t tag)
{
	struct hooked *h = arg;

	atomic_store(&h->last, tag);
	atomic_fetch_add(&h->n, 1);
}

static int commits;

static int count_commit(void *arg)
{
	(void)arg;
	commits++;
	return 0;
}

static struct store *open_grouped(const char *name, uint32_t window_ms, uint32_t max,
				  struct hooked *h)
{
	struct store *s = NULL;
	struct err e = { 0 };

	if (store_open(db_path(name), &s, &e) < 0) {
		HARNESS_FAIL("store_open: %s", e.msg);
		return NULL;
	}
	if (h)
		store_set_commit_hook(s, on_commit, h);
	if (store_group_commit_start(s, window_ms, max, &e) < 0) {
		HARNESS_FAIL("store_group_commit_start: %s", e.msg);
		store_close(s);
		return NULL;
	}
	/* Counted under the connection lock, which every commit holds. */
	sqlite3_commit_hook(s->db, count_commit, NULL);
	commits = 0;
	return s;
}

static int put(struct store *s, int i, size_t doc_len, bool durable, struct err *e)
{
	char id[33], doc[4096];
	struct store_activation a = { 0 };

	snprintf(id, sizeof(id), "%032x", i);
	if (doc_len >= sizeof(doc))
		doc_len = sizeof(doc) - 1;
	memset(doc, 'x', doc_len);
	memcpy(doc, "{\"i\":", 5);
	doc[doc_len] = '\0';
	a.id = id;
	a.ns = "guest";
	a.name = "noop";
	a.start_ms = 1000 + (uint64_t)i;
	a.end_ms = 2000 + (uint64_t)i;
	a.doc = doc;
	a.len = doc_len;
	a.tag = (uint64_t)i + 1;
	return durable ? store_activation_put_durable(s, &a, e) : store_activation_put(s, &a, e);
}

static uint64_t count_of(struct store *s)
{
	uint64_t n = 0;
	struct err e = { 0 };

	if (store_activation_count(s, "guest", NULL, 0, 0, &n, &e) < 0)
		HARNESS_FAIL("count: %s", e.msg);
	return n;
}

static bool wait_hooks(struct hooked *h, uint32_t want, uint32_t ms)
{
	for (uint32_t t = 0; t < ms; t += 5) {
		if (atomic_load(&h->n) >= want)
			return true;
		usleep(5000);
	}
	return atomic_load(&h->n) >= want;
}

static void test_queued_records_read_back(void)
{
	struct hooked h = { 0 };
	struct store *s = open_grouped("readback.db", 5000, 1000, &h);
	struct err e = { 0 };
	char *doc = NULL;
	size_t len = 0;

	REQUIRE(s);
	for (int i = 0; i < 10; i++)
		CHECK_INT_EQ(put(s, i, 100, false, &e), 0);
	CHECK_INT_EQ(atomic_load(&h.n), 0);     /* still queued: the window is 5 s */
	CHECK_INT_EQ(commits, 0);
	CHECK_INT_EQ(store_activation_get(s, "guest", "00000000000000000000000000000003", &doc,
					  &len, &e), 0);
	CHECK_INT_EQ(len, 100);
	CHECK(doc && strncmp(doc, "{\"i\":", 5) == 0);
	free(doc);
	CHECK_INT_EQ(store_activation_get(s, "other", "00000000000000000000000000000003", &doc,
					  NULL, &e), -ENOENT);
	CHECK_INT_EQ(atomic_load(&h.n), 0);
	/* A count reads SQL: it commits the queue first, in one transaction. */
	CHECK_INT_EQ(count_of(s), 10);
	CHECK_INT_EQ(atomic_load(&h.n), 10);
	CHECK_INT_EQ(commits, 1);
	store_close(s);
}

static void test_window_closes_a_batch(void)
{
	struct hooked h = { 0 };
	struct store *s = open_grouped("window.db", 150, 1000, &h);
	struct err e = { 0 };
	uint64_t t0;

	REQUIRE(s);
	t0 = now_mono_ms();
	CHECK_INT_EQ(put(s, 1, 100, false, &e), 0);
	CHECK_INT_EQ(put(s, 2, 100, false, &e), 0);
	usleep(50000);
	CHECK_INT_EQ(atomic_load(&h.n), 0);
	CHECK(wait_hooks(&h, 2, 3000));
	CHECK(now_mono_ms() - t0 >= 140);
	CHECK_INT_EQ(commits, 1);
	store_close(s);
}

static void test_record_count_closes_a_batch(void)
{
	struct hooked h = { 0 };
	struct store *s = open_grouped("count.db", 10000, 40, &h);
	struct err e = { 0 };

	REQUIRE(s);
	for (int i = 0; i < 100; i++)
		CHECK_INT_EQ(put(s, i, 200, false, &e), 0);
	/* 40 + 40 go at once; the last 20 wait for the window or a read. */
	CHECK(wait_hooks(&h, 80, 3000));
	CHECK_INT_EQ(commits, 2);
	CHECK_INT_EQ(count_of(s), 100);
	CHECK_INT_EQ(commits, 3);
	store_close(s);
}

static void test_durable_put_waits_for_its_commit(void)
{
	struct hooked h = { 0 };
	struct store *s = open_grouped("durable.db", 10000, 1000, &h);
	struct err e = { 0 };

	REQUIRE(s);
	CHECK_INT_EQ(put(s, 1, 100, false, &e), 0);
	CHECK_INT_EQ(put(s, 2, 100, true, &e), 0);
	/* Its batch took the record queued before it too. */
	CHECK_INT_EQ(atomic_load(&h.n), 2);
	CHECK_INT_EQ(atomic_load(&h.last), 3);
	CHECK_INT_EQ(commits, 1);
	store_close(s);
}

static int exec_locked(struct store *s, const char *sql)
{
	int rc;

	if (store_lock(s, NULL) < 0)
		return -1;
	rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	store_unlock(s);
	return rc == SQLITE_OK ? 0 : -1;
}

/* The database may grow no more: max_page_count = its page count now. */
static int cap_pages(struct store *s)
{
	sqlite3_stmt *st;
	long long pages = 0;
	char sql[64];

	if (store_lock(s, NULL) < 0)
		return -1;
	if (sqlite3_prepare_v2(s->db, "PRAGMA page_count", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		pages = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	store_unlock(s);
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count=%lld", pages);
	return pages > 0 ? exec_locked(s, sql) : -1;
}

static void test_full_database_keeps_records(void)
{
	struct hooked h = { 0 };
	struct store *s = open_grouped("full.db", 20, 1000, &h);
	struct err e = { 0 };
	char *doc = NULL, sql[64];
	int i, rc = 0;

	REQUIRE(s);
	CHECK_INT_EQ(put(s, 0, 100, true, &e), 0);
	/* No page more: the next batch that needs one fails SQLITE_FULL. */
	REQUIRE(cap_pages(s) == 0);
	for (i = 1; i < 200 && rc == 0; i++)
		rc = put(s, i, 3000, true, &e);
	CHECK_INT_EQ(rc, -ENOSPC);
	CHECK_STR_CONTAINS(e.msg, "full");
	CHECK_INT_EQ(store_writable(s, &e), -ENOSPC);
	/* What was refused is queued, readable, and not lost. */
	CHECK_INT_EQ(store_activation_get(s, "guest", "000000000000000000000000000000c7", &doc, NULL,
					  &e), -ENOENT);
	snprintf(sql, sizeof(sql), "%032x", i - 1);
	CHECK_INT_EQ(store_activation_get(s, "guest", sql, &doc, NULL, &e), 0);
	free(doc);
	CHECK_INT_EQ(put(s, 500, 100, false, &e), 0);  /* a finished record is always taken */
	/* Space returns: the retry (every second) writes everything. */
	REQUIRE(exec_locked(s, "PRAGMA max_page_count=1073741823") == 0);
	for (int t = 0; t < 300 && store_writable(s, &e) != 0; t++)
		usleep(10000);
	CHECK_INT_EQ(store_writable(s, &e), 0);
	CHECK_INT_EQ(count_of(s), (uint64_t)i + 1);
	store_close(s);
}

/* Space back, shown by an entity write that went through: the next
 * store_writable retries at once instead of repeating the last failure
 * (a client that freed space and retried at once got a 503). */
static void test_entity_write_retries_at_once(void)
{
	struct store *s = open_grouped("back.db", 20, 1000, NULL);
	struct err e = { 0 };
	int i, rc = 0;

	REQUIRE(s);
	CHECK_INT_EQ(put(s, 0, 100, true, &e), 0);
	REQUIRE(cap_pages(s) == 0);
	for (i = 1; i < 200 && rc == 0; i++)
		rc = put(s, i, 3000, true, &e);
	REQUIRE(rc == -ENOSPC);
	/* A retry that fails just now: the next one would wait 100 ms. */
	CHECK_INT_EQ(store_writable(s, &e), -ENOSPC);
	REQUIRE(exec_locked(s, "PRAGMA max_page_count=1073741823") == 0);
	CHECK_INT_EQ(store_entity_put(s, "guest", "actions", "a", "{}", 2, 1, true, &e), 0);
	CHECK_INT_EQ(store_writable(s, &e), 0);
	store_close(s);
}

static void test_large_wal_checkpointed_by_writer(void)
{
	struct store *s = open_grouped("ckpt.db", 5, 64, NULL);
	struct err e = { 0 };
	uint32_t frames = 0;

	REQUIRE(s);
	/* ~1,500 pages of records: past the forced checkpoint size. */
	for (int i = 0; i < 2000; i++)
		CHECK_INT_EQ(put(s, i, 3000, false, &e), 0);
	CHECK_INT_EQ(store_batch_flush(s, &e), 0);
	for (int t = 0; t < 300; t++) {
		frames = atomic_load(&s->w->wal_frames);
		if (frames < CKPT_FORCE_FRAMES)
			break;
		usleep(10000);
	}
	CHECK(frames < CKPT_FORCE_FRAMES);
	CHECK_INT_EQ(count_of(s), 2000);
	store_close(s);
}

static void test_close_commits_the_queue(void)
{
	struct store *s = open_grouped("close.db", 10000, 1000, NULL);
	struct err e = { 0 };

	REQUIRE(s);
	for (int i = 0; i < 5; i++)
		CHECK_INT_EQ(put(s, i, 100, false, &e), 0);
	store_close(s);
	REQUIRE(store_open(db_path("close.db"), &s, &e) == 0);
	CHECK_INT_EQ(count_of(s), 5);
	store_close(s);
}

static void test_bad_parameters(void)
{
	struct store *s = NULL;
	struct err e = { 0 };

	REQUIRE(store_open(db_path("params.db"), &s, &e) == 0);
	CHECK_INT_EQ(store_group_commit_start(s, 0, 10, &e), -EINVAL);
	CHECK_INT_EQ(store_group_commit_start(s, 10, 0, &e), -EINVAL);
	CHECK_INT_EQ(store_group_commit_start(s, 10001, 10, &e), -EINVAL);
	CHECK_INT_EQ(store_writable(s, &e), 0);
	CHECK_INT_EQ(store_group_commit_start(s, 10, 10, &e), 0);
	CHECK_INT_EQ(store_group_commit_start(s, 10, 10, &e), -EALREADY);
	store_close(s);
}

HARNESS_MAIN("store_batch",
	     TEST_CASE(test_queued_records_read_back),
	     TEST_CASE(test_window_closes_a_batch),
	     TEST_CASE(test_record_count_closes_a_batch),
	     TEST_CASE(test_durable_put_waits_for_its_commit),
	     TEST_CASE(test_full_database_keeps_records), TEST_CASE(test_entity_write_retries_at_once),
	     TEST_CASE(test_large_wal_checkpointed_by_writer),
	     TEST_CASE(test_close_commits_the_queue),
	     TEST_CASE(test_bad_parameters))
