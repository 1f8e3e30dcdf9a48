/* SPDX-License-Identifier: Apache-2.0 */
/* What the entity_*.c files share (never included from outside this
 * module): small cJSON building helpers that count ENOMEM, the key/value
 * list rules of parameters and annotations, and the head every document
 * has (version, publish). */
#ifndef EW_ENTITY_IMPL_H
#define EW_ENTITY_IMPL_H

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/json.h"

#define EXEC_MAX_BYTES (48ULL * 1024 * 1024)  /* spec §2: code max 48 MB */
#define KV_MAX_BYTES (1024ULL * 1024)         /* parameters, annotations: 1 MB each */
#define VERSION_PART_MAX 2147483647ULL        /* upstream SemVer parts are Scala Ints */
#define VERSION_BUF 40                        /* 3 x 10 digits + 2 dots + NUL */

static inline int enomem(struct err *e, const char *what)
{
	return err_set(e, -ENOMEM, "%s: out of memory", what);
}

/* An optional field: NULL when absent or JSON null (clients send null for
 * "not given" as often as they leave a key out). */
static inline const cJSON *opt(const cJSON *obj, const char *key)
{
	const cJSON *v;

	if (!cJSON_IsObject(obj))
		return NULL;
	v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsNull(v) ? NULL : v;
}

/* The cJSON_Add* helpers return NULL on ENOMEM; these turn that into an int
 * so a run of additions can be checked with one ||. add_item frees `item`
 * when it cannot be attached. */
static inline int add_item(cJSON *obj, const char *key, cJSON *item)
{
	if (!item)
		return -ENOMEM;
	if (!cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		return -ENOMEM;
	}
	return 0;
}

static inline int add_str(cJSON *obj, const char *key, const char *s)
{
	return add_item(obj, key, cJSON_CreateString(s));
}

static inline int add_num(cJSON *obj, const char *key, double v)
{
	return add_item(obj, key, cJSON_CreateNumber(v));
}

static inline int add_bool(cJSON *obj, const char *key, bool v)
{
	return add_item(obj, key, cJSON_CreateBool(v));
}

static inline int add_dup(cJSON *obj, const char *key, const cJSON *v)
{
	return add_item(obj, key, v ? cJSON_Duplicate(v, true) : cJSON_CreateNull());
}

static inline int arr_add(cJSON *arr, cJSON *item)
{
	if (!item)
		return -ENOMEM;
	if (!cJSON_AddItemToArray(arr, item)) {
		cJSON_Delete(item);
		return -ENOMEM;
	}
	return 0;
}

/* Set obj[key] = item (owned), replacing the first existing member. */
static inline int obj_set(cJSON *obj, const char *key, cJSON *item)
{
	if (!item)
		return -ENOMEM;
	if (cJSON_GetObjectItemCaseSensitive(obj, key)) {
		if (!cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item)) {
			cJSON_Delete(item);
			return -ENOMEM;
		}
		return 0;
	}
	return add_item(obj, key, item);
}

static inline int copy_field(cJSON *dst, const cJSON *src, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, key);

	return v ? add_dup(dst, key, v) : 0;
}

/* A new document with the fields every entity starts with: namespace,
 * name, version, publish. NULL on ENOMEM. */
static inline cJSON *doc_head_new(const char *ns, const char *name, const char *version,
				  bool publish)
{
	cJSON *doc = cJSON_CreateObject();

	if (doc && (add_str(doc, "namespace", ns) < 0 || add_str(doc, "name", name) < 0 ||
		    add_str(doc, "version", version) < 0 || add_bool(doc, "publish", publish) < 0)) {
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

/* --- key/value lists (entity.c) --- */

/* The {"key","value"} item of arr with that key, or NULL. */
cJSON *entity_kv_find(const cJSON *arr, const char *key);
/* Set key to a copy of value (init: mark it "init": true). -ENOMEM. */
int entity_kv_put(cJSON *arr, const char *key, const cJSON *value, bool init);
/* Set key to value, taking it. -ENOMEM. */
int entity_kv_put_owned(cJSON *arr, const char *key, cJSON *value);
/* arr must be an array of {"key": string, "value": any} (params: "init"
 * allowed). -EINVAL naming `field`. */
int entity_kv_check(const cJSON *arr, const char *field, bool params, struct err *e);
/* -E2BIG when arr prints larger than KV_MAX_BYTES. */
int entity_kv_size_check(const cJSON *arr, const char *field, struct err *e);
/* Is key's value JSON true? */
bool entity_kv_is_true(const cJSON *arr, const char *key);
/* version (from body, else old's with the patch bumped, else 0.0.1) and
 * publish. -EINVAL with the message. */
int entity_build_head(const cJSON *body, const cJSON *old, char version[VERSION_BUF],
		      bool *publish, struct err *e);

/* Merging lists by key must not be quadratic: a 1 MB parameter or
 * annotation list holds ~100k keys (invoke bodies are spliced, args.h). Entries from all inputs go into one
 * vector in order of appearance, are sorted by (key, position), and each
 * run of equal keys collapses to its last entry, placed where the key first
 * appeared: O(n log n). */
enum kv_flag {
	KV_INIT = 1,      /* a parameter marked "init": true */
	KV_DEFINED = 4,   /* a bound parameter with a non-null value */
	KV_DEL = 8,       /* a delAnnotations key: drops its whole group */
};

struct kv_ent {
	const char *key;
	const cJSON *value;  /* NULL stores JSON null */
	size_t pos;
	unsigned flags;
};

struct kv_vec {
	struct kv_ent *v;
	size_t n, cap;
};

struct kv_win {
	const struct kv_ent *ent;  /* the last entry of its key */
	unsigned flags;            /* OR of the flags of all entries of the key */
};

/* A growable list of entries, and its collapse to one winner per key
 * (the last entry, flags of all OR-ed), in first-position order. */
void entity_kv_vec_fini(struct kv_vec *kv);
int entity_kv_vec_push(struct kv_vec *kv, const char *key, const cJSON *value, unsigned flags);
int entity_kv_vec_push_list(struct kv_vec *kv, const cJSON *arr, bool params, unsigned flags);
int entity_kv_collapse(struct kv_vec *kv, struct kv_win **out, size_t *n_out);

/* parameters: the given list checked (replacing old's whole), else old's,
 * else []. -EINVAL, -E2BIG, -ENOMEM. */
int entity_build_parameters(const cJSON *given, const cJSON *old, cJSON **out, struct err *e);
/* annotations: old's, then the body's by key, minus delAnnotations;
 * check_size: -E2BIG over KV_MAX_BYTES. */
int entity_build_annotations_plain(const cJSON *body, const cJSON *old, bool check_size,
				   cJSON **out, struct err *e);

#endif
