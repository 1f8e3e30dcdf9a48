/* SPDX-License-Identifier: Apache-2.0 */
/* The store's documents as cJSON trees (see store.h): the get-then-parse
 * and print-then-put every handler and domain module needs, in one place,
 * and the cache of parsed documents (store_impl.h). Only the store's
 * public API and that cache, no SQLite here. */
#include "controller/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/now.h"
#include "controller/store_impl.h"

/* --- the cache of parsed documents --- */

/* "ns\0coll\0name" into buf; 0 when it does not fit. */
static size_t doc_key(char *buf, size_t size, const char *ns, const char *coll, const char *name)
{
	size_t a = strlen(ns), b = strlen(coll), c = strlen(name);

	if (a + b + c + 3 > size)
		return 0;
	memcpy(buf, ns, a + 1);
	memcpy(buf + a + 1, coll, b + 1);
	memcpy(buf + a + b + 2, name, c + 1);
	return a + b + c + 3;
}

/* FNV-1a: a slot per key, a newer key takes it over. */
static struct store_doc_slot *doc_slot(struct store *s, const char *key, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)key[i]) * 16777619u;
	return &s->cache.slot[h % STORE_DOC_CACHE_SLOTS];
}

static void doc_slot_clear(struct store_doc_slot *sl)
{
	free(sl->key);
	json_delete(sl->doc);
	memset(sl, 0, sizeof(*sl));
}

void store_doc_cache_bump(struct store *s)
{
	atomic_fetch_add_explicit(&s->cache.gen, 1, memory_order_release);
}

void store_doc_cache_fini(struct store *s)
{
	for (int i = 0; i < STORE_DOC_CACHE_SLOTS; i++)
		doc_slot_clear(&s->cache.slot[i]);
}

/* A copy of the cached document of key (the caller may change it), or
 * NULL: none that is current, or no memory for the copy. */
static cJSON *doc_cached(struct store *s, const char *key, size_t len)
{
	struct store_doc_slot *sl = doc_slot(s, key, len);
	uint64_t gen = atomic_load_explicit(&s->cache.gen, memory_order_acquire);
	cJSON *copy = NULL;

	pthread_mutex_lock(&s->cache.lock);
	if (sl->key && sl->gen == gen && sl->key_len == len && memcmp(sl->key, key, len) == 0)
		copy = cJSON_Duplicate(sl->doc, 1);
	if (copy)
		s->cache.hits++;
	else
		s->cache.misses++;
	pthread_mutex_unlock(&s->cache.lock);
	return copy;
}

/* Keep a copy of doc, read at or after generation gen. Best effort: no
 * memory is no error. */
static void doc_keep(struct store *s, const char *key, size_t len, uint64_t gen, const cJSON *doc)
{
	struct store_doc_slot *sl = doc_slot(s, key, len);
	cJSON *copy = cJSON_Duplicate(doc, 1);
	char *k = malloc(len);

	if (!copy || !k) {
		json_delete(copy);
		free(k);
		return;
	}
	memcpy(k, key, len);
	pthread_mutex_lock(&s->cache.lock);
	doc_slot_clear(sl);
	*sl = (struct store_doc_slot){ .key = k, .key_len = len, .gen = gen, .doc = copy };
	pthread_mutex_unlock(&s->cache.lock);
}

void store_doc_cache_stats(struct store *s, uint64_t *hits, uint64_t *misses)
{
	pthread_mutex_lock(&s->cache.lock);
	*hits = s->cache.hits;
	*misses = s->cache.misses;
	pthread_mutex_unlock(&s->cache.lock);
}

int store_entity_load(struct store *s, const char *ns, const char *coll, const char *name,
		      cJSON **out, struct err *e)
{
	char key[3 * 1024], *doc = NULL;
	size_t len = 0, klen = s && ns && coll && name ? doc_key(key, sizeof(key), ns, coll, name) : 0;
	struct err pe = { 0 };
	uint64_t gen = 0;
	int rc;

	if (klen) {
		cJSON *hit = doc_cached(s, key, klen);

		if (hit) {
			*out = hit;
			return 0;
		}
		/* Noted before the read: see store_impl.h. */
		gen = atomic_load_explicit(&s->cache.gen, memory_order_acquire);
	}
	rc = store_entity_get(s, ns, coll, name, &doc, &len, e);
	if (rc < 0)
		return rc;
	rc = json_parse(doc, len, out, &pe);
	free(doc);
	if (rc < 0)
		return err_set(e, rc, "stored %s %s/%s is unreadable: %s", coll, ns, name, pe.msg);
	if (klen && len <= STORE_DOC_CACHE_TEXT_MAX)
		doc_keep(s, key, klen, gen, *out);
	return 0;
}

int store_not_found(int rc, struct err *e)
{
	if (rc != -ENOENT)
		return rc;
	err_clear(e);
	return err_set(e, rc, "The requested resource does not exist.");
}

int store_entity_load_old(struct store *s, const char *ns, const char *coll, const char *name,
			  bool overwrite, cJSON **out, struct err *e)
{
	int rc;

	*out = NULL;
	if (!overwrite)
		return 0;
	rc = store_entity_load(s, ns, coll, name, out, e);
	if (rc != -ENOENT)
		return rc;
	err_clear(e);
	return 0;
}

int store_entity_save(struct store *s, const char *ns, const char *coll, const char *name,
		      const cJSON *doc, uint64_t updated_ms, bool overwrite, struct err *e)
{
	size_t len = 0;
	char *text = json_print(doc, &len);
	int rc;

	if (!text)
		return err_set(e, -ENOMEM, "out of memory");
	if (!updated_ms && json_get_u64(doc, "updated", &updated_ms) < 0)
		updated_ms = 0;
	rc = store_entity_put(s, ns, coll, name, text, len, updated_ms ? updated_ms : now_epoch_ms(),
			      overwrite, e);
	json_free(text);
	if (rc == -EEXIST) {
		char other[32] = "";

		if (store_entity_collection(s, ns, name, other, sizeof(other), NULL) < 0)
			other[0] = '\0';
		err_clear(e);
		return err_set(e, rc, "%s",
			       other[0] && strcmp(other, coll) != 0
				       ? "Resource by this name exists but is not in this collection."
				       : "resource already exists");
	}
	return rc;
}
