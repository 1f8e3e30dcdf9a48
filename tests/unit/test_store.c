/* SPDX-License-Identifier: Apache-2.0 */
/* store: entities (put/get/overwrite/-EEXIST, one name per collection,
 * delete, list order and paging, namespaces), activations (namespaces,
 * filters, replace, prune by count and age), reopen, integrity check,
 * corrupt and garbage files, a newer schema, a full disk (real tmpfs),
 * re-entry from a row callback, and 4 threads at once. Real SQLite files in
 * a temp dir under /tmp, removed at exit. */
#include "controller/store.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "tests/harness.h"
#include "tests/tmpdir.h"

/* A path in the test directory; `fresh` removes an old database there. */
static const char *path_in(const char *name, int fresh)
{
	static char p[8][256];
	static int i;
	char *out = p[i++ % 8];
	static const char *const suffix[] = { "", "-wal", "-shm" };

	const char *root = tmpdir_root("test_store");

	if (fresh) {
		for (size_t k = 0; k < 3; k++) {
			snprintf(out, 256, "%s/%s%s", root, name, suffix[k]);
			unlink(out);
		}
	}
	snprintf(out, 256, "%s/%s", root, name);
	return out;
}

static struct store *open_fresh(const char *name)
{
	struct store *s = NULL;
	struct err e = { 0 };
	int rc = store_open(path_in(name, 1), &s, &e);

	if (rc != 0)
		HARNESS_FAIL("store_open %s: %d %s", name, rc, e.msg);
	return s;
}

static int put_ent(struct store *s, const char *ns, const char *coll, const char *name,
		   const char *doc, uint64_t updated, bool overwrite, struct err *e)
{
	return store_entity_put(s, ns, coll, name, doc, strlen(doc), updated, overwrite, e);
}

/* Doc "<name>@<start>", id 32 hex from `id`; end 0 stores end = start
 * (finished: unfinished records are hidden, see test_unfinished). */
static int put_act(struct store *s, const char *ns, unsigned id, const char *name,
		   uint64_t start, uint64_t end, struct err *e)
{
	char ids[33], doc[128];
	struct store_activation a;

	snprintf(ids, sizeof(ids), "%032x", id);
	snprintf(doc, sizeof(doc), "%s@%llu%s", name, (unsigned long long)start,
		 end ? "+end" : "");
	a = (struct store_activation){ .id = ids, .ns = ns, .name = name, .start_ms = start,
				       .end_ms = end ? end : start, .doc = doc, .len = strlen(doc) };
	return store_activation_put(s, &a, e);
}

static int get_act(struct store *s, const char *ns, unsigned id, char **doc, struct err *e)
{
	char ids[33];

	snprintf(ids, sizeof(ids), "%032x", id);
	return store_activation_get(s, ns, ids, doc, NULL, e);
}

/* Row collector: docs joined with ','; stops with 7 after stop_after rows. */
struct rows {
	char text[4096];
	size_t used;
	int n, stop_after;
};

static int collect(void *arg, const char *doc, size_t len)
{
	struct rows *r = arg;
	int w = snprintf(r->text + r->used, sizeof(r->text) - r->used, "%s%.*s",
			 r->n ? "," : "", (int)len, doc);

	if (w > 0 && (size_t)w < sizeof(r->text) - r->used)
		r->used += (size_t)w;
	r->n++;
	return r->stop_after && r->n == r->stop_after ? 7 : 0;
}

static const char *list_ents(struct store *s, const char *ns, const char *coll, uint32_t limit,
			     uint32_t skip)
{
	static struct rows r;
	struct err e = { 0 };
	int rc;

	memset(&r, 0, sizeof(r));
	rc = store_entity_list(s, ns, coll, limit, skip, collect, &r, &e);
	if (rc != 0)
		HARNESS_FAIL("store_entity_list: %d %s", rc, e.msg);
	return r.text;
}

static const char *list_acts(struct store *s, const char *ns, const char *name, uint64_t since,
			     uint64_t upto, uint32_t limit, uint32_t skip)
{
	static struct rows r;
	struct err e = { 0 };
	int rc;

	memset(&r, 0, sizeof(r));
	rc = store_activation_list(s, ns, name, since, upto, limit, skip, collect, &r, &e);
	if (rc != 0)
		HARNESS_FAIL("store_activation_list: %d %s", rc, e.msg);
	return r.text;
}

static uint64_t count_acts(struct store *s, const char *ns, const char *name, uint64_t since,
			   uint64_t upto)
{
	struct err e = { 0 };
	uint64_t n = UINT64_MAX;
	int rc = store_activation_count(s, ns, name, since, upto, &n, &e);

	if (rc != 0)
		HARNESS_FAIL("store_activation_count: %d %s", rc, e.msg);
	return n;
}

static uint64_t count_ents(struct store *s, const char *ns, const char *coll)
{
	struct err e = { 0 };
	uint64_t n = UINT64_MAX;
	int rc = store_entity_count(s, ns, coll, &n, &e);

	if (rc != 0)
		HARNESS_FAIL("store_entity_count: %d %s", rc, e.msg);
	return n;
}

/* ---- entities ---- */

static void test_entity_put_get_overwrite(void)
{
	struct store *s = open_fresh("put.db");
	struct err e = { 0 };
	char *doc = NULL;
	size_t len = 0;

	REQUIRE(s);
	CHECK_INT_EQ(put_ent(s, "guest", "actions", "hello", "{\"v\":1}", 1000, false, &e), 0);
	CHECK_INT_EQ(store_entity_get(s, "guest", "actions", "hello", &doc, &len, &e), 0);
	CHECK_STR_EQ(doc, "{\"v\":1}");
	CHECK_INT_EQ(len, 7);
	free(doc);
	doc = NULL;

	err_clear(&e);
	CHECK_INT_EQ(put_ent(s, "guest", "actions", "hello", "{\"v\":2}", 2000, false, &e), -EEXIST);
	CHECK_INT_EQ(e.code, -EEXIST);
	CHECK_STR_EQ(e.msg, "put action guest/hello: already exists");
	CHECK_INT_EQ(store_entity_get(s, "guest", "actions", "hello", &doc, NULL, &e), 0);
	CHECK_STR_EQ(doc, "{\"v\":1}");
	free(doc);
	doc = NULL;

	CHECK_INT_EQ(put_ent(s, "guest", "actions", "hello", "{\"v\":3,\"x\":true}", 3000, true, &e),
		     0);
	CHECK_INT_EQ(store_entity_get(s, "guest", "actions", "hello", &doc, &len, &e), 0);
	CHECK_STR_EQ(doc, "{\"v\":3,\"x\":true}");
	CHECK_INT_EQ(len, 16);
	free(doc);
	doc = NULL;
	/* Overwrite of a new name creates it. */
	CHECK_INT_EQ(put_ent(s, "guest", "actions", "new", "n", 1, true, &e), 0);
	CHECK_INT_EQ(count_ents(s, "guest", "actions"), 2);

	/* The length is honoured: a prefix of a longer buffer. */
	CHECK_INT_EQ(store_entity_put(s, "guest", "actions", "pre", "abcdef", 3, 1, false, &e), 0);
	CHECK_INT_EQ(store_entity_get(s, "guest", "actions", "pre", &doc, &len, &e), 0);
	CHECK_STR_EQ(doc, "abc");
	CHECK_INT_EQ(len, 3);
	free(doc);
	doc = (char *)"untouched";
	err_clear(&e);
	CHECK_INT_EQ(store_entity_get(s, "guest", "actions", "nope", &doc, &len, &e), -ENOENT);
	CHECK_STR_EQ(doc, "untouched");
	CHECK_STR_EQ(e.msg, "get action guest/nope: not found");
	CHECK_INT_EQ(store_entity_put(s, "guest", "actions", NULL, "x", 1, 1, false, &e), -EINVAL);
	CHECK_INT_EQ(store_entity_put(s, "guest", "actions", "big", "x", 1, UINT64_MAX, false, &e),
		     -EINVAL);
	store_close(s);
}

static void test_entity_name_in_other_collection(void)
{
	struct store *s = open_fresh("coll.db");
	struct err e = { 0 };
	char coll[16], small[4];
	char *doc = NULL;

	REQUIRE(s);
	CHECK_INT_EQ(put_ent(s, "guest", "triggers", "t1", "trigger-doc", 10, false, &e), 0);

	err_clear(&e);
	CHECK_INT_EQ(put_ent(s, "guest", "actions", "t1", "action-doc", 20, false, &e), -EEXIST);
	CHECK_STR_EQ(e.msg, "put action guest/t1: the name is taken in collection 'triggers'");
	err_clear(&e);
	CHECK_INT_EQ(put_ent(s, "guest", "actions", "t1", "action-doc", 20, true, &e), -EEXIST);
	CHECK_STR_EQ(e.msg, "put action guest/t1: the name is taken in collection 'triggers'");

	/* Nothing moved or changed. */
	CHECK_INT_EQ(store_entity_get(s, "guest", "triggers", "t1", &doc, NULL, &e), 0);
	CHECK_STR_EQ(doc, "trigger-doc");
	free(doc);
	CHECK_INT_EQ(count_ents(s, "guest", "actions"), 0);
	CHECK_INT_EQ(count_ents(s, "guest", "triggers"), 1);
	CHECK_STR_EQ(list_ents(s, "guest", "triggers", 0, 0), "trigger-doc");

	CHECK_INT_EQ(store_entity_collection(s, "guest", "t1", coll, sizeof(coll), &e), 0);
	CHECK_STR_EQ(coll, "triggers");
	CHECK_INT_EQ(store_entity_collection(s, "guest", "t1", small, sizeof(small), &e), -ERANGE);
	CHECK_INT_EQ(store_entity_collection(s, "guest", "zz", coll, sizeof(coll), &e), -ENOENT);
	CHECK_INT_EQ(store_entity_collection(s, "other", "t1", coll, sizeof(coll), &e), -ENOENT);

	/* Get and delete through the wrong collection: -ENOENT naming the owner. */
	err_clear(&e);
	CHECK_INT_EQ(store_entity_get(s, "guest", "actions", "t1", &doc, NULL, &e), -ENOENT);
	CHECK_STR_EQ(e.msg, "get action guest/t1: not found (the name is in collection 'triggers')");
	err_clear(&e);
	CHECK_INT_EQ(store_entity_delete(s, "guest", "actions", "t1", &doc, NULL, &e), -ENOENT);
	CHECK_STR_CONTAINS(e.msg, "collection 'triggers'");
	CHECK_INT_EQ(count_ents(s, "guest", "triggers"), 1);

	/* Freed by a delete, the name is open to another collection. */
	CHECK_INT_EQ(store_entity_delete(s, "guest", "triggers", "t1", NULL, NULL, &e), 0);
	CHECK_INT_EQ(put_ent(s, "guest", "actions", "t1", "action-doc", 30, false, &e), 0);
	CHECK_INT_EQ(store_entity_collection(s, "guest", "t1", coll, sizeof(coll), &e), 0);
	CHECK_STR_EQ(coll, "actions");
	store_close(s);
}

static void test_entity_delete(void)
{
	struct store *s = open_fresh("delete.db");
	struct err e = { 0 };
	char *doc = NULL;
	size_t len = 0;

	REQUIRE(s);
	CHECK_INT_EQ(put_ent(s, "guest", "actions", "a", "doc-a", 1, false, &e), 0);
	CHECK_INT_EQ(put_ent(s, "guest", "actions", "b", "doc-bb", 2, false, &e), 0);
	CHECK_INT_EQ(store_entity_delete(s, "guest", "actions", "b", &doc, &len, &e), 0);
	CHECK_STR_EQ(doc, "doc-bb");
	CHECK_INT_EQ(len, 6);
	free(doc);
	doc = NULL;
	err_clear(&e);
	CHECK_INT_EQ(store_entity_delete(s, "guest", "actions", "b", &doc, &len, &e), -ENOENT);
	CHECK(doc == NULL);
	CHECK_STR_EQ(e.msg, "delete action guest/b: not found");
	CHECK_INT_EQ(store_entity_delete(s, "guest", "actions", "b", NULL, NULL, &e), -ENOENT);
	CHECK_INT_EQ(store_entity_get(s, "guest", "actions", "b", &doc, NULL, &e), -ENOENT);
	/* Without wanting the document. */
	CHECK_INT_EQ(store_entity_delete(s, "guest", "actions", "a", NULL, NULL, &e), 0);
	CHECK_INT_EQ(count_ents(s, "guest", "actions"), 0);
	/* A failed delete left no transaction open: writes still work. */
	CHECK_INT_EQ(put_ent(s, "guest", "actions", "c", "doc-c", 3, false, &e), 0);
	CHECK_INT_EQ(count_ents(s, "guest", "actions"), 1);
	store_close(s);
}

static void test_entity_list_order_paging(void)
{
	struct store *s = open_fresh("list.db");
	struct err e = { 0 };
	struct rows r = { .stop_after = 2 };
	static const struct {
		const char *name;
		uint64_t updated;
	} ents[] = { { "a", 100 }, { "b", 500 }, { "c", 300 }, { "d", 200 }, { "e", 400 },
		     { "pkg/f", 600 } };

	REQUIRE(s);
	for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
		CHECK_INT_EQ(put_ent(s, "guest", "actions", ents[i].name, ents[i].name,
				     ents[i].updated, false, &e),
			     0);
	CHECK_INT_EQ(put_ent(s, "guest", "triggers", "trig", "trig", 1000, false, &e), 0);

	CHECK_STR_EQ(list_ents(s, "guest", "actions", 0, 0), "pkg/f,b,e,c,d,a");
	CHECK_STR_EQ(list_ents(s, "guest", "actions", 2, 1), "b,e");
	CHECK_STR_EQ(list_ents(s, "guest", "actions", 0, 4), "d,a");
	CHECK_STR_EQ(list_ents(s, "guest", "actions", 1, 0), "pkg/f");
	CHECK_STR_EQ(list_ents(s, "guest", "actions", 10, 6), "");
	CHECK_STR_EQ(list_ents(s, "guest", "triggers", 0, 0), "trig");
	CHECK_STR_EQ(list_ents(s, "guest", "rules", 0, 0), "");
	CHECK_INT_EQ(count_ents(s, "guest", "actions"), 6);
	CHECK_INT_EQ(count_ents(s, "guest", "triggers"), 1);
	CHECK_INT_EQ(count_ents(s, "guest", "rules"), 0);

	/* An update moves it to the front. */
	CHECK_INT_EQ(put_ent(s, "guest", "actions", "a", "a", 700, true, &e), 0);
	CHECK_STR_EQ(list_ents(s, "guest", "actions", 3, 0), "a,pkg/f,b");

	/* The callback's non-zero return stops the walk and comes back. */
	CHECK_INT_EQ(store_entity_list(s, "guest", "actions", 0, 0, collect, &r, &e), 7);
	CHECK_INT_EQ(r.n, 2);
	CHECK_STR_EQ(r.text, "a,pkg/f");
	/* The statement was reset: the next list starts over. */
	CHECK_STR_EQ(list_ents(s, "guest", "actions", 2, 0), "a,pkg/f");
	store_close(s);
}

static void test_entity_namespaces_isolated(void)
{
	struct store *s = open_fresh("ns.db");
	struct err e = { 0 };
	char *doc = NULL;

	REQUIRE(s);
	CHECK_INT_EQ(put_ent(s, "guest", "actions", "x", "guest-x", 1, false, &e), 0);
	CHECK_INT_EQ(put_ent(s, "alice", "actions", "x", "alice-x", 2, false, &e), 0);
	CHECK_INT_EQ(put_ent(s, "alice", "actions", "y", "alice-y", 3, false, &e), 0);
	/* Another namespace's collection does not reserve the name. */
	CHECK_INT_EQ(put_ent(s, "bob", "triggers", "x", "bob-x", 4, false, &e), 0);

	CHECK_INT_EQ(store_entity_get(s, "guest", "actions", "x", &doc, NULL, &e), 0);
	CHECK_STR_EQ(doc, "guest-x");
	free(doc);
	CHECK_INT_EQ(store_entity_get(s, "alice", "actions", "x", &doc, NULL, &e), 0);
	CHECK_STR_EQ(doc, "alice-x");
	free(doc);
	CHECK_INT_EQ(store_entity_get(s, "guest", "actions", "y", &doc, NULL, &e), -ENOENT);
	CHECK_STR_EQ(list_ents(s, "guest", "actions", 0, 0), "guest-x");
	CHECK_STR_EQ(list_ents(s, "alice", "actions", 0, 0), "alice-y,alice-x");
	CHECK_INT_EQ(count_ents(s, "guest", "actions"), 1);
	CHECK_INT_EQ(count_ents(s, "alice", "actions"), 2);
	CHECK_INT_EQ(count_ents(s, "bob", "actions"), 0);

	CHECK_INT_EQ(store_entity_delete(s, "alice", "actions", "x", NULL, NULL, &e), 0);
	CHECK_INT_EQ(store_entity_get(s, "guest", "actions", "x", &doc, NULL, &e), 0);
	CHECK_STR_EQ(doc, "guest-x");
	free(doc);
	CHECK_INT_EQ(count_ents(s, "alice", "actions"), 1);
	store_close(s);
}

/* ---- activations ---- */

static void test_activation_put_get_replace(void)
{
	struct store *s = open_fresh("act.db");
	struct err e = { 0 };
	char *doc = NULL;
	size_t len = 0;

	REQUIRE(s);
	CHECK_INT_EQ(put_act(s, "guest", 1, "hello", 5000, 0, &e), 0);
	CHECK_INT_EQ(store_activation_get(s, "guest", "00000000000000000000000000000001", &doc, &len,
					  &e),
		     0);
	CHECK_STR_EQ(doc, "hello@5000");
	CHECK_INT_EQ(len, 10);
	free(doc);
	doc = NULL;

	/* Another namespace neither sees it nor can overwrite it. */
	err_clear(&e);
	CHECK_INT_EQ(get_act(s, "alice", 1, &doc, &e), -ENOENT);
	CHECK(doc == NULL);
	CHECK_STR_EQ(e.msg, "get activation alice/00000000000000000000000000000001: not found");
	CHECK_INT_EQ(get_act(s, "guest", 2, &doc, &e), -ENOENT);
	err_clear(&e);
	CHECK_INT_EQ(put_act(s, "alice", 1, "evil", 6000, 6001, &e), -EEXIST);
	CHECK_STR_CONTAINS(e.msg, "another namespace");
	CHECK_INT_EQ(count_acts(s, "alice", NULL, 0, 0), 0);

	/* Replace: written again when complete. */
	CHECK_INT_EQ(put_act(s, "guest", 1, "hello", 5000, 5007, &e), 0);
	CHECK_INT_EQ(get_act(s, "guest", 1, &doc, &e), 0);
	CHECK_STR_EQ(doc, "hello@5000+end");
	free(doc);
	CHECK_INT_EQ(count_acts(s, "guest", NULL, 0, 0), 1);
	CHECK_STR_EQ(list_acts(s, "guest", "hello", 0, 0, 0, 0), "hello@5000+end");
	CHECK_INT_EQ(store_activation_put(s, NULL, &e), -EINVAL);
	store_close(s);
}

/* guest: ids 1..10, start id*1000, odd ids "a", even "pkg/b"; alice: one. */
static void fill_activations(struct store *s)
{
	struct err e = { 0 };

	for (unsigned i = 1; i <= 10; i++)
		CHECK_INT_EQ(put_act(s, "guest", i, i % 2 ? "a" : "pkg/b", i * 1000ull, i * 1000ull + 5,
				     &e),
			     0);
	CHECK_INT_EQ(put_act(s, "alice", 100, "a", 5500, 0, &e), 0);
}

static void test_activation_list_filters(void)
{
	struct store *s = open_fresh("actlist.db");
	struct err e = { 0 };
	struct rows r = { .stop_after = 3 };

	REQUIRE(s);
	fill_activations(s);
	CHECK_STR_EQ(list_acts(s, "guest", NULL, 0, 0, 0, 0),
		     "pkg/b@10000+end,a@9000+end,pkg/b@8000+end,a@7000+end,pkg/b@6000+end,"
		     "a@5000+end,pkg/b@4000+end,a@3000+end,pkg/b@2000+end,a@1000+end");
	CHECK_STR_EQ(list_acts(s, "guest", "a", 0, 0, 0, 0),
		     "a@9000+end,a@7000+end,a@5000+end,a@3000+end,a@1000+end");
	/* since/upto inclusive. */
	CHECK_STR_EQ(list_acts(s, "guest", NULL, 3000, 7000, 0, 0),
		     "a@7000+end,pkg/b@6000+end,a@5000+end,pkg/b@4000+end,a@3000+end");
	CHECK_STR_EQ(list_acts(s, "guest", NULL, 9000, 0, 0, 0), "pkg/b@10000+end,a@9000+end");
	CHECK_STR_EQ(list_acts(s, "guest", NULL, 0, 2000, 0, 0), "pkg/b@2000+end,a@1000+end");
	CHECK_STR_EQ(list_acts(s, "guest", NULL, 3001, 3999, 0, 0), "");
	CHECK_STR_EQ(list_acts(s, "guest", NULL, 7000, 3000, 0, 0), "");
	CHECK_STR_EQ(list_acts(s, "guest", NULL, 0, 0, 3, 2),
		     "pkg/b@8000+end,a@7000+end,pkg/b@6000+end");
	CHECK_STR_EQ(list_acts(s, "guest", "pkg/b", 4000, 8000, 2, 1),
		     "pkg/b@6000+end,pkg/b@4000+end");
	CHECK_STR_EQ(list_acts(s, "guest", NULL, 0, 0, 0, 10), "");
	CHECK_STR_EQ(list_acts(s, "guest", NULL, 0, UINT64_MAX, 1, 0), "pkg/b@10000+end");
	CHECK_STR_EQ(list_acts(s, "guest", "nope", 0, 0, 0, 0), "");
	CHECK_STR_EQ(list_acts(s, "alice", NULL, 0, 0, 0, 0), "a@5500");
	CHECK_STR_EQ(list_acts(s, "bob", NULL, 0, 0, 0, 0), "");

	CHECK_INT_EQ(count_acts(s, "guest", NULL, 0, 0), 10);
	CHECK_INT_EQ(count_acts(s, "guest", "a", 0, 0), 5);
	CHECK_INT_EQ(count_acts(s, "guest", NULL, 3000, 7000), 5);
	CHECK_INT_EQ(count_acts(s, "guest", "a", 3000, 7000), 3);
	CHECK_INT_EQ(count_acts(s, "guest", "pkg/b", 10000, 0), 1);
	CHECK_INT_EQ(count_acts(s, "alice", "a", 0, 0), 1);
	CHECK_INT_EQ(count_acts(s, "bob", NULL, 0, 0), 0);

	CHECK_INT_EQ(store_activation_list(s, "guest", NULL, 0, 0, 0, 0, collect, &r, &e), 7);
	CHECK_INT_EQ(r.n, 3);
	store_close(s);
}

static void test_prune_by_count(void)
{
	struct store *s = open_fresh("prune_count.db");
	struct err e = { 0 };
	uint64_t gone = 99;
	char *doc = NULL;

	REQUIRE(s);
	/* Newest first over both namespaces: 6000 5000 4500 4000 3500 ...,
	 * inserted in start order as completions arrive (prune goes by
	 * insertion order). */
	for (unsigned i = 1; i <= 6; i++) {
		CHECK_INT_EQ(put_act(s, "guest", i, "a", i * 1000ull, 0, &e), 0);
		if (i <= 4)
			CHECK_INT_EQ(put_act(s, "alice", 10 + i, "b", i * 1000ull + 500, 0, &e), 0);
	}
	/* 0/0: nothing to do. */
	CHECK_INT_EQ(store_activation_prune(s, 0, 0, 100000, &gone, &e), 0);
	CHECK_INT_EQ(gone, 0);
	CHECK_INT_EQ(store_activation_prune(s, 4, 0, 100000, &gone, &e), 0);
	CHECK_INT_EQ(gone, 6);
	CHECK_STR_EQ(list_acts(s, "guest", NULL, 0, 0, 0, 0), "a@6000,a@5000,a@4000");
	CHECK_STR_EQ(list_acts(s, "alice", NULL, 0, 0, 0, 0), "b@4500");
	CHECK_INT_EQ(get_act(s, "alice", 13, &doc, &e), -ENOENT);
	gone = 99;
	CHECK_INT_EQ(store_activation_prune(s, 4, 0, 100000, &gone, &e), 0);
	CHECK_INT_EQ(gone, 0);
	CHECK_INT_EQ(store_activation_prune(s, 1, 0, 100000, &gone, &e), 0);
	CHECK_INT_EQ(gone, 3);
	CHECK_STR_EQ(list_acts(s, "guest", NULL, 0, 0, 0, 0), "a@6000");
	CHECK_INT_EQ(count_acts(s, "alice", NULL, 0, 0), 0);
	store_close(s);
}

/* A prune deletes at most a batch per call: the caller comes back. */
static void test_prune_in_batches(void)
{
	struct store *s = open_fresh("prune_batch.db");
	struct err e = { 0 };
	uint64_t gone = 0;

	REQUIRE(s);
	for (unsigned i = 1; i <= STORE_PRUNE_BATCH + 50; i++)
		CHECK_INT_EQ(put_act(s, "guest", i, "a", i * 10ull, 0, &e), 0);
	CHECK_INT_EQ(store_activation_prune(s, 10, 0, 100000, &gone, &e), 0);
	CHECK_INT_EQ(gone, STORE_PRUNE_BATCH);
	CHECK_INT_EQ(store_activation_prune(s, 10, 0, 100000, &gone, &e), 0);
	CHECK_INT_EQ(gone, 40);
	CHECK_INT_EQ(count_acts(s, "guest", NULL, 0, 0), 10);
	/* The newest ten stay. */
	CHECK_INT_EQ(count_acts(s, "guest", NULL, (STORE_PRUNE_BATCH + 41) * 10ull, 0), 10);
	store_close(s);
}

static void test_prune_by_age(void)
{
	struct store *s = open_fresh("prune_age.db");
	struct err e = { 0 };
	uint64_t gone = 99;
	char *doc = NULL;

	REQUIRE(s);
	for (unsigned i = 1; i <= 10; i++)
		CHECK_INT_EQ(put_act(s, "guest", i, "a", i * 1000ull, 0, &e), 0);
	/* Cutoff 12000 - 7000 = 5000: starts before it go, 5000 stays. */
	CHECK_INT_EQ(store_activation_prune(s, 0, 7000, 12000, &gone, &e), 0);
	CHECK_INT_EQ(gone, 4);
	CHECK_INT_EQ(count_acts(s, "guest", NULL, 0, 0), 6);
	CHECK_INT_EQ(get_act(s, "guest", 5, &doc, &e), 0);
	CHECK_STR_EQ(doc, "a@5000");
	free(doc);
	doc = NULL;
	CHECK_INT_EQ(get_act(s, "guest", 4, &doc, &e), -ENOENT);
	/* Age longer than the clock: nothing. */
	CHECK_INT_EQ(store_activation_prune(s, 0, 20000, 12000, &gone, &e), 0);
	CHECK_INT_EQ(gone, 0);
	/* Both limits: age removes none, count removes 4 of 6. */
	CHECK_INT_EQ(store_activation_prune(s, 2, 7000, 12000, &gone, &e), 0);
	CHECK_INT_EQ(gone, 4);
	CHECK_STR_EQ(list_acts(s, "guest", NULL, 0, 0, 0, 0), "a@10000,a@9000");
	/* Both: age takes 9000, count has nothing left to do. */
	CHECK_INT_EQ(store_activation_prune(s, 2, 1000, 10500, &gone, &e), 0);
	CHECK_INT_EQ(gone, 1);
	CHECK_STR_EQ(list_acts(s, "guest", NULL, 0, 0, 0, 0), "a@10000");
	store_close(s);
}

/* ---- files ---- */

static void test_reopen_keeps_data(void)
{
	const char *path = path_in("reopen.db", 1);
	struct store *s = NULL;
	struct err e = { 0 };
	char *doc = NULL;

	REQUIRE(store_open(path, &s, &e) == 0);
	CHECK_INT_EQ(put_ent(s, "guest", "actions", "keep", "kept-doc", 42, false, &e), 0);
	CHECK_INT_EQ(put_act(s, "guest", 7, "keep", 4242, 4243, &e), 0);
	CHECK_INT_EQ(store_check(s, &e), 0);
	/* WAL journal: commits went to the -wal file. */
	CHECK(access(path_in("reopen.db-wal", 0), F_OK) == 0);
	store_close(s);
	s = NULL;
	/* The last close checkpointed and removed the WAL. */
	CHECK(access(path_in("reopen.db-wal", 0), F_OK) != 0);

	REQUIRE(store_open(path, &s, &e) == 0);
	CHECK_INT_EQ(store_entity_get(s, "guest", "actions", "keep", &doc, NULL, &e), 0);
	CHECK_STR_EQ(doc, "kept-doc");
	free(doc);
	doc = NULL;
	CHECK_INT_EQ(get_act(s, "guest", 7, &doc, &e), 0);
	CHECK_STR_EQ(doc, "keep@4242+end");
	free(doc);
	CHECK_STR_EQ(list_ents(s, "guest", "actions", 0, 0), "kept-doc");
	CHECK_INT_EQ(store_check(s, &e), 0);
	store_close(s);
}

static int write_file(const char *path, const void *buf, size_t len, off_t at)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	ssize_t w;

	if (fd < 0)
		return -errno;
	w = pwrite(fd, buf, len, at);
	close(fd);
	return w == (ssize_t)len ? 0 : -EIO;
}

static void test_garbage_file_fails_open(void)
{
	const char *path = path_in("garbage.db", 1);
	static unsigned char junk[65536];
	struct store *s = (struct store *)(void *)junk; /* must stay untouched */
	struct err e = { 0 };
	uint32_t x = 12345;

	for (size_t i = 0; i < sizeof(junk); i++) {
		x = x * 1103515245u + 12345u;
		junk[i] = (unsigned char)(x >> 24);
	}
	REQUIRE(write_file(path, junk, sizeof(junk), 0) == 0);
	CHECK_INT_EQ(store_open(path, &s, &e), -EIO);
	CHECK_INT_EQ(e.code, -EIO);
	CHECK_STR_CONTAINS(e.msg, path);
	CHECK_STR_CONTAINS(e.msg, "database is corrupt");
	CHECK(s == (struct store *)(void *)junk);
}

static void test_open_errors(void)
{
	struct store *s = NULL;
	struct err e = { 0 };
	char path[300];

	snprintf(path, sizeof(path), "%s/no/such/dir/x.db", path_in("", 0));
	CHECK_INT_EQ(store_open(path, &s, &e), -ENOENT);
	CHECK_STR_CONTAINS(e.msg, path);
	CHECK_STR_CONTAINS(e.msg, "No such file or directory");
	CHECK(s == NULL);
	err_clear(&e);
	/* A directory is not a database. */
	CHECK_INT_EQ(store_open(path_in("", 0), &s, &e), -EISDIR);
	CHECK(s == NULL);
	CHECK_INT_EQ(store_open(NULL, &s, &e), -EINVAL);
}

static void test_newer_schema_refused(void)
{
	const char *path = path_in("newer.db", 1);
	struct store *s = NULL;
	struct err e = { 0 };
	sqlite3 *db = NULL;

	REQUIRE(store_open(path, &s, &e) == 0);
	store_close(s);
	s = NULL;
	/* What a later release would leave behind. */
	REQUIRE(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK_INT_EQ(sqlite3_exec(db, "PRAGMA user_version = 3", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	CHECK_INT_EQ(store_open(path, &s, &e), -EPROTO);
	CHECK_STR_CONTAINS(e.msg, "schema version 3");
	CHECK_STR_CONTAINS(e.msg, path);
	CHECK(s == NULL);
}

static int collect_start(void *arg, const char *doc, size_t len)
{
	char *out = arg;

	(void)len;
	strncat(out, doc, 15);
	return 0;
}

/* A version 1 file (descending activation indexes) is migrated in place:
 * its records stay, lists still come newest first. */
static void test_schema_v1_migrates(void)
{
	const char *path = path_in("v1.db", 1);
	struct store *s = NULL;
	struct err e = { 0 };
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char got[128] = "";
	int desc = -1;

	REQUIRE(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK_INT_EQ(sqlite3_exec(db,
		"CREATE TABLE entities(namespace TEXT NOT NULL, collection TEXT NOT NULL,"
		" name TEXT NOT NULL, updated INTEGER NOT NULL, doc TEXT NOT NULL,"
		" PRIMARY KEY(namespace, name));"
		"CREATE INDEX entities_by_updated ON entities(namespace, collection, updated DESC);"
		"CREATE TABLE activations(id TEXT NOT NULL PRIMARY KEY, namespace TEXT NOT NULL,"
		" name TEXT NOT NULL, start INTEGER NOT NULL, \"end\" INTEGER, doc TEXT NOT NULL);"
		"CREATE INDEX activations_by_start ON activations(namespace, start DESC);"
		"CREATE INDEX activations_by_name ON activations(namespace, name, start DESC);"
		"INSERT INTO activations VALUES('a1','guest','x',1,2,'{\"n\":1}');"
		"INSERT INTO activations VALUES('a2','guest','x',3,4,'{\"n\":2}');"
		"PRAGMA user_version = 1;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	REQUIRE(store_open(path, &s, &e) == 0);
	CHECK_INT_EQ(store_activation_list(s, "guest", "x", 0, 0, 0, 0, collect_start, got, &e), 0);
	CHECK_STR_EQ(got, "{\"n\":2}{\"n\":1}");
	store_close(s);
	REQUIRE(sqlite3_open(path, &db) == SQLITE_OK);
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name LIKE"
			       " 'activations_by_%' AND sql LIKE '%DESC%'", -1, &st, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		desc = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	CHECK_INT_EQ(desc, 0);
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		CHECK_INT_EQ(sqlite3_column_int(st, 0), 2);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* Overwrite the middle of a closed database with zeros: it still opens
 * (page 1 and the schema are intact), the integrity check finds it. */
static void test_integrity_check_finds_damage(void)
{
	const char *path = path_in("damaged.db", 1);
	static char zeros[4096], doc[600];
	struct store *s = NULL;
	struct err e = { 0 };
	struct stat st;

	REQUIRE(store_open(path, &s, &e) == 0);
	memset(doc, 'x', sizeof(doc) - 1);
	for (unsigned i = 1; i <= 300; i++) {
		struct store_activation a;
		char id[33];

		snprintf(id, sizeof(id), "%032x", i);
		a = (struct store_activation){ .id = id, .ns = "guest", .name = "a",
					       .start_ms = i, .end_ms = i, .doc = doc,
					       .len = strlen(doc) };
		CHECK_INT_EQ(store_activation_put(s, &a, &e), 0);
	}
	CHECK_INT_EQ(store_check(s, &e), 0);
	store_close(s);
	s = NULL;
	REQUIRE(stat(path, &st) == 0);
	REQUIRE(st.st_size > 20 * 4096);
	REQUIRE(write_file(path, zeros, sizeof(zeros), 10 * 4096) == 0);

	REQUIRE(store_open(path, &s, &e) == 0);
	err_clear(&e);
	CHECK_INT_EQ(store_check(s, &e), -EIO);
	CHECK_STR_CONTAINS(e.msg, "integrity check: database is corrupt");
	store_close(s);
}

/* ---- full disk: a real 1 MiB tmpfs, filled up ---- */

static int fill_dir(const char *dir, char *filler, size_t size)
{
	static char chunk[4096];
	int fd, err = 0;

	snprintf(filler, size, "%s/filler", dir);
	fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	memset(chunk, 0xa5, sizeof(chunk));
	for (;;) {
		ssize_t w = write(fd, chunk, sizeof(chunk));

		if (w < 0) {
			err = errno;
			break;
		}
		if (w < (ssize_t)sizeof(chunk)) {
			err = ENOSPC;
			break;
		}
	}
	close(fd);
	return err == ENOSPC ? 0 : -err;
}

static void disk_full_body(const char *dir, struct store **sp)
{
	static char big[200 * 1024];
	char path[300], filler[300];
	struct err e = { 0 };
	struct store_activation a;
	char *doc = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/full.db", dir);
	REQUIRE(store_open(path, sp, &e) == 0);
	CHECK_INT_EQ(put_ent(*sp, "guest", "actions", "small", "small-doc", 1, false, &e), 0);
	CHECK_INT_EQ(put_act(*sp, "guest", 1, "small", 1000, 1001, &e), 0);
	memset(big, 'b', sizeof(big) - 1);

	REQUIRE(fill_dir(dir, filler, sizeof(filler)) == 0);
	err_clear(&e);
	CHECK_INT_EQ(put_ent(*sp, "guest", "actions", "big", big, 2, false, &e), -ENOSPC);
	CHECK_STR_EQ(e.msg, "put action guest/big: database or disk is full");
	a = (struct store_activation){ .id = "0000000000000000000000000000000b", .ns = "guest",
				       .name = "big", .start_ms = 2000, .end_ms = 2001, .doc = big,
				       .len = strlen(big) };
	err_clear(&e);
	CHECK_INT_EQ(store_activation_put(*sp, &a, &e), -ENOSPC);
	CHECK_STR_CONTAINS(e.msg, "put activation guest/0000000000000000000000000000000b");
	CHECK_INT_EQ(store_entity_get(*sp, "guest", "actions", "big", &doc, NULL, &e), -ENOENT);
	CHECK_INT_EQ(count_acts(*sp, "guest", NULL, 0, 0), 1);

	/* Space back: the same connection writes again, nothing was damaged. */
	REQUIRE(unlink(filler) == 0);
	CHECK_INT_EQ(put_ent(*sp, "guest", "actions", "big", big, 2, false, &e), 0);
	CHECK_INT_EQ(store_activation_put(*sp, &a, &e), 0);
	CHECK_INT_EQ(store_check(*sp, &e), 0);
	CHECK_INT_EQ(store_entity_get(*sp, "guest", "actions", "big", &doc, &len, &e), 0);
	CHECK_INT_EQ(len, sizeof(big) - 1);
	CHECK(doc && memcmp(doc, big, sizeof(big)) == 0);
	free(doc);
	doc = NULL;
	CHECK_INT_EQ(store_entity_get(*sp, "guest", "actions", "small", &doc, NULL, &e), 0);
	CHECK_STR_EQ(doc, "small-doc");
	free(doc);
	CHECK_INT_EQ(count_acts(*sp, "guest", NULL, 0, 0), 2);
	store_close(*sp);
	*sp = NULL;
	REQUIRE(store_open(path, sp, &e) == 0);
	CHECK_INT_EQ(store_check(*sp, &e), 0);
	CHECK_INT_EQ(count_ents(*sp, "guest", "actions"), 2);
}

static void test_disk_full(void)
{
	const char *dir = path_in("tmpfs", 0);
	struct store *s = NULL;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		HARNESS_FAIL("mkdir %s: %s", dir, strerror(errno));
		return;
	}
	if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0700") != 0) {
		printf("# SKIP disk full case: cannot mount a tmpfs at %s: %s\n", dir,
		       strerror(errno));
		return;
	}
	disk_full_body(dir, &s);
	store_close(s);
	if (umount(dir) != 0)
		HARNESS_FAIL("umount %s: %s", dir, strerror(errno));
}

/* ---- locking ---- */

static int reenter(void *arg, const char *doc, size_t len)
{
	struct store *s = arg;
	struct err e = { 0 };
	uint64_t n;

	(void)doc;
	(void)len;
	return store_entity_count(s, "guest", "actions", &n, &e);
}

static void test_callback_reentry_fails(void)
{
	struct store *s = open_fresh("reenter.db");
	struct err e = { 0 };

	REQUIRE(s);
	CHECK_INT_EQ(put_ent(s, "guest", "actions", "a", "a", 1, false, &e), 0);
	CHECK_INT_EQ(store_entity_list(s, "guest", "actions", 0, 0, reenter, s, &e), -EDEADLK);
	/* The store still works afterwards. */
	CHECK_INT_EQ(count_ents(s, "guest", "actions"), 1);
	store_close(s);
}

#define THREADS 4
#define PER_THREAD 500

struct worker {
	struct store *s;
	int k, errors;
	char first[ERR_MSG_MAX + 64];
};

static void worker_fail(struct worker *w, const char *what, int rc, const struct err *e)
{
	if (!w->errors++)
		snprintf(w->first, sizeof(w->first), "%s: %d %s", what, rc, e->msg);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct err e = { 0 };

	for (int i = 0; i < PER_THREAD; i++) {
		char name[32], want[64], id[33];
		struct store_activation a;
		char *doc = NULL;
		uint64_t n = 0;
		int rc;

		snprintf(name, sizeof(name), "t%d-%d", w->k, i);
		snprintf(want, sizeof(want), "{\"t\":%d,\"i\":%d}", w->k, i);
		rc = put_ent(w->s, "guest", "actions", name, want, (uint64_t)i, false, &e);
		if (rc != 0)
			worker_fail(w, "put", rc, &e);
		rc = store_entity_get(w->s, "guest", "actions", name, &doc, NULL, &e);
		if (rc != 0 || strcmp(doc, want) != 0)
			worker_fail(w, "get", rc, &e);
		free(doc);
		doc = NULL;

		snprintf(id, sizeof(id), "%08x%024x", (unsigned)w->k, (unsigned)i);
		a = (struct store_activation){ .id = id, .ns = "guest", .name = name,
					       .start_ms = (uint64_t)i, .end_ms = (uint64_t)i + 1,
					       .doc = want,
					       .len = strlen(want) };
		rc = store_activation_put(w->s, &a, &e);
		if (rc != 0)
			worker_fail(w, "put activation", rc, &e);
		rc = store_activation_get(w->s, "guest", id, &doc, NULL, &e);
		if (rc != 0 || strcmp(doc, want) != 0)
			worker_fail(w, "get activation", rc, &e);
		free(doc);
		if (i % 50 == 0) {
			rc = store_activation_count(w->s, "guest", name, 0, 0, &n, &e);
			if (rc != 0 || n != 1)
				worker_fail(w, "count", rc, &e);
		}
	}
	return NULL;
}

static void test_threads(void)
{
	struct store *s = open_fresh("threads.db");
	struct worker w[THREADS];
	pthread_t t[THREADS];
	struct err e = { 0 };
	int started = 0;

	REQUIRE(s);
	for (int k = 0; k < THREADS; k++) {
		w[k] = (struct worker){ .s = s, .k = k };
		if (pthread_create(&t[k], NULL, worker_main, &w[k]) != 0)
			break;
		started++;
	}
	for (int k = 0; k < started; k++)
		pthread_join(t[k], NULL);
	CHECK_INT_EQ(started, THREADS);
	for (int k = 0; k < started; k++) {
		if (w[k].errors)
			HARNESS_FAIL("thread %d: %d errors, first: %s", k, w[k].errors, w[k].first);
	}
	CHECK_INT_EQ(count_ents(s, "guest", "actions"), THREADS * PER_THREAD);
	CHECK_INT_EQ(count_acts(s, "guest", NULL, 0, 0), THREADS * PER_THREAD);
	CHECK_INT_EQ(store_check(s, &e), 0);
	store_close(s);
}

/* Records written at accept time (end 0) are invisible until finished;
 * dropping one leaves finished records alone; closing makes the rest
 * visible as written, with end = start, and survives a reopen. */
static void test_unfinished(void)
{
	struct store *s = open_fresh("open.db");
	struct store_activation a = { .ns = "guest", .name = "a", .start_ms = 7000, .doc = "lost",
				      .len = 4 };
	struct err e = { 0 };
	uint64_t n = 99;
	char *doc = NULL;

	REQUIRE(s);
	a.id = "00000000000000000000000000000001";
	CHECK_INT_EQ(store_activation_put(s, &a, &e), 0);
	a.id = "00000000000000000000000000000002";
	CHECK_INT_EQ(store_activation_put(s, &a, &e), 0);
	a.id = "00000000000000000000000000000003";
	CHECK_INT_EQ(store_activation_put(s, &a, &e), 0);
	CHECK_INT_EQ(get_act(s, "guest", 1, &doc, &e), -ENOENT);
	CHECK_INT_EQ(count_acts(s, "guest", NULL, 0, 0), 0);
	CHECK_STR_EQ(list_acts(s, "guest", NULL, 0, 0, 0, 0), "");
	CHECK_STR_EQ(list_acts(s, "guest", "a", 0, 0, 0, 0), "");
	CHECK_INT_EQ(count_acts(s, "guest", "a", 0, 0), 0);

	/* 1 completes normally: the final write replaces the open copy. */
	CHECK_INT_EQ(put_act(s, "guest", 1, "a", 7000, 7010, &e), 0);
	CHECK_INT_EQ(get_act(s, "guest", 1, &doc, &e), 0);
	CHECK_STR_EQ(doc, "a@7000+end");
	free(doc);
	doc = NULL;
	/* Dropping: a finished record stays, an open one goes, another
	 * namespace's is untouched, a missing one is fine. */
	CHECK_INT_EQ(store_activation_drop_unfinished(s, "guest", "00000000000000000000000000000001",
						      &e), 0);
	CHECK_INT_EQ(count_acts(s, "guest", NULL, 0, 0), 1);
	CHECK_INT_EQ(store_activation_drop_unfinished(s, "alice", "00000000000000000000000000000002",
						      &e), 0);
	CHECK_INT_EQ(store_activation_drop_unfinished(s, "guest", "00000000000000000000000000000002",
						      &e), 0);
	CHECK_INT_EQ(store_activation_drop_unfinished(s, "guest", "0000000000000000000000000000000f",
						      &e), 0);
	CHECK_INT_EQ(store_activation_drop_unfinished(s, NULL, "x", &e), -EINVAL);

	/* Recovery: 3 becomes visible as written. */
	CHECK_INT_EQ(store_activation_close_unfinished(s, &n, &e), 0);
	CHECK_INT_EQ(n, 1);
	CHECK_INT_EQ(count_acts(s, "guest", NULL, 0, 0), 2);
	CHECK_INT_EQ(get_act(s, "guest", 3, &doc, &e), 0);
	CHECK_STR_EQ(doc, "lost");
	free(doc);
	doc = NULL;
	CHECK_INT_EQ(get_act(s, "guest", 2, &doc, &e), -ENOENT);
	CHECK_INT_EQ(store_activation_close_unfinished(s, &n, &e), 0);
	CHECK_INT_EQ(n, 0);
	CHECK_INT_EQ(store_activation_close_unfinished(s, NULL, &e), -EINVAL);
	CHECK_INT_EQ(store_check(s, &e), 0);
	store_close(s);
}

static int64_t v_of(const cJSON *doc)
{
	int64_t v = -1;

	return json_get_i64(doc, "v", &v) == 0 ? v : -1;
}

/* Parsed documents kept: a second load is a hit and the caller's own
 * copy; a put or a delete of any entity makes the kept ones stale, so a
 * load never returns what the store no longer holds; big documents are
 * not kept. */
static void test_doc_cache(void)
{
	struct store *s = open_fresh("doc_cache.db");
	struct err e = { 0 };
	cJSON *a = NULL, *b = NULL;
	uint64_t hits = 0, misses = 0;
	char *big;

	REQUIRE(put_ent(s, "guest", "actions", "hello", "{\"v\":1}", 1, false, &e) == 0);
	REQUIRE(store_entity_load(s, "guest", "actions", "hello", &a, &e) == 0);
	REQUIRE(store_entity_load(s, "guest", "actions", "hello", &b, &e) == 0);
	store_doc_cache_stats(s, &hits, &misses);
	CHECK_INT_EQ(hits, 1);
	CHECK_INT_EQ(misses, 1);
	CHECK(a != b);
	CHECK_INT_EQ(v_of(b), 1);
	/* The copy is the caller's: changing it changes no later load. */
	cJSON_ReplaceItemInObject(b, "v", cJSON_CreateNumber(9));
	json_delete(a);
	json_delete(b);
	REQUIRE(store_entity_load(s, "guest", "actions", "hello", &a, &e) == 0);
	CHECK_INT_EQ(v_of(a), 1);
	json_delete(a);

	/* An update is seen at once. */
	REQUIRE(put_ent(s, "guest", "actions", "hello", "{\"v\":2}", 2, true, &e) == 0);
	REQUIRE(store_entity_load(s, "guest", "actions", "hello", &a, &e) == 0);
	CHECK_INT_EQ(v_of(a), 2);
	json_delete(a);
	/* A write of another entity goes stale too (one generation). */
	REQUIRE(put_ent(s, "guest", "triggers", "t", "{}", 3, false, &e) == 0);
	store_doc_cache_stats(s, &hits, &misses);
	{
		uint64_t m0 = misses;

		REQUIRE(store_entity_load(s, "guest", "actions", "hello", &a, &e) == 0);
		json_delete(a);
		store_doc_cache_stats(s, &hits, &misses);
		CHECK_INT_EQ(misses, m0 + 1);
	}
	/* A delete: the kept document is gone with the entity. */
	REQUIRE(store_entity_delete(s, "guest", "actions", "hello", NULL, NULL, &e) == 0);
	a = NULL;
	CHECK_INT_EQ(store_entity_load(s, "guest", "actions", "hello", &a, &e), -ENOENT);
	CHECK(a == NULL);
	/* Same name, another namespace: another key. */
	REQUIRE(put_ent(s, "alice", "actions", "hello", "{\"v\":3}", 4, false, &e) == 0);
	CHECK_INT_EQ(store_entity_load(s, "guest", "actions", "hello", &a, &e), -ENOENT);
	REQUIRE(store_entity_load(s, "alice", "actions", "hello", &a, &e) == 0);
	CHECK_INT_EQ(v_of(a), 3);
	json_delete(a);

	/* Over 16 KiB: parsed every time, never kept. */
	big = malloc(20000);
	REQUIRE(big != NULL);
	memset(big, 'x', 20000);
	memcpy(big, "{\"c\":\"", 6);
	memcpy(big + 20000 - 3, "\"}", 3);
	REQUIRE(put_ent(s, "guest", "actions", "big", big, 5, false, &e) == 0);
	free(big);
	REQUIRE(store_entity_load(s, "guest", "actions", "big", &a, &e) == 0);
	json_delete(a);
	store_doc_cache_stats(s, &hits, &misses);
	{
		uint64_t h0 = hits;

		REQUIRE(store_entity_load(s, "guest", "actions", "big", &a, &e) == 0);
		json_delete(a);
		store_doc_cache_stats(s, &hits, &misses);
		CHECK_INT_EQ(hits, h0);
	}
	store_close(s);
}

HARNESS_MAIN("store", TEST_CASE(test_unfinished), TEST_CASE(test_doc_cache), TEST_CASE(test_entity_put_get_overwrite),
	     TEST_CASE(test_entity_name_in_other_collection), TEST_CASE(test_entity_delete),
	     TEST_CASE(test_entity_list_order_paging), TEST_CASE(test_entity_namespaces_isolated),
	     TEST_CASE(test_activation_put_get_replace), TEST_CASE(test_activation_list_filters),
	     TEST_CASE(test_prune_by_count),
	     TEST_CASE(test_prune_in_batches), TEST_CASE(test_prune_by_age),
	     TEST_CASE(test_reopen_keeps_data), TEST_CASE(test_garbage_file_fails_open),
	     TEST_CASE(test_open_errors), TEST_CASE(test_newer_schema_refused),
	     TEST_CASE(test_schema_v1_migrates),
	     TEST_CASE(test_integrity_check_finds_damage), TEST_CASE(test_disk_full),
	     TEST_CASE(test_callback_reentry_fails), TEST_CASE(test_threads))
