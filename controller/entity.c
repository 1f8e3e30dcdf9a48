/* SPDX-License-Identifier: Apache-2.0 */
/* The entity documents' shared rules (see entity.h, entity_impl.h):
 * parameter and annotation lists, versions. The documents themselves are
 * built in entity_action.c, entity_event.c and entity_record.c. */
#include "controller/entity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/entity_impl.h"

/* ---- key/value lists (parameters, annotations) ------------------------- */

cJSON *entity_kv_find(const cJSON *arr, const char *key)
{
	cJSON *it;

	cJSON_ArrayForEach(it, arr) {
		const char *k = json_get_string(it, "key");

		if (k && strcmp(k, key) == 0)
			return it;
	}
	return NULL;
}

/* Set `key` in a list: replace the value (and init flag) of an existing
 * item in place, so merged lists keep their order, else append. `value`
 * is copied; NULL stores JSON null. */
int entity_kv_put(cJSON *arr, const char *key, const cJSON *value, bool init)
{
	cJSON *it = entity_kv_find(arr, key);
	cJSON *v = value ? cJSON_Duplicate(value, true) : cJSON_CreateNull();

	if (!v)
		return -ENOMEM;
	if (it) {
		if (obj_set(it, "value", v) < 0)
			return -ENOMEM;
		cJSON_DeleteItemFromObjectCaseSensitive(it, "init");
		return init ? add_bool(it, "init", true) : 0;
	}
	it = cJSON_CreateObject();
	if (!it) {
		cJSON_Delete(v);
		return -ENOMEM;
	}
	if (add_str(it, "key", key) < 0 || add_item(it, "value", v) < 0 ||
	    (init && add_bool(it, "init", true) < 0)) {
		cJSON_Delete(it);
		return -ENOMEM;
	}
	return arr_add(arr, it);
}

/* kv_put taking ownership of `value` (NULL = ENOMEM from its constructor). */
int entity_kv_put_owned(cJSON *arr, const char *key, cJSON *value)
{
	int r = value ? entity_kv_put(arr, key, value, false) : -ENOMEM;

	cJSON_Delete(value);
	return r;
}

/* A client list must be an array of {"key": non-empty string, "value": any}
 * (and, for parameters, an optional boolean "init"). */
int entity_kv_check(const cJSON *arr, const char *field, bool params, struct err *e)
{
	const cJSON *it;
	unsigned idx = 0;

	if (!cJSON_IsArray(arr))
		return err_set(e, -EINVAL, "%s must be an array of {\"key\": string, \"value\": any}",
			       field);
	cJSON_ArrayForEach(it, arr) {
		const char *k = json_get_string(it, "key");
		const cJSON *init = opt(it, "init");

		if (!k || !*k)
			return err_set(e, -EINVAL, "%s[%u]: key must be a non-empty string", field,
				       idx);
		if (params && init && !cJSON_IsBool(init))
			return err_set(e, -EINVAL, "%s[%u]: init must be a boolean", field, idx);
		idx++;
	}
	return 0;
}

int entity_kv_size_check(const cJSON *arr, const char *field, struct err *e)
{
	size_t len = 0;
	char *s = json_print(arr, &len);

	if (!s)
		return enomem(e, field);
	json_free(s);
	if (len > KV_MAX_BYTES)
		return err_set(e, -E2BIG, "%s larger than allowed: %zu > %llu bytes.", field, len,
			       KV_MAX_BYTES);
	return 0;
}

bool entity_kv_is_true(const cJSON *arr, const char *key)
{
	return cJSON_IsTrue(opt(entity_kv_find(arr, key), "value"));
}

/* ---- version ------------------------------------------------------------ */

/* "major.minor.patch", each part decimal digits within a Scala Int. */
static int version_parse(const char *s, uint64_t v[3])
{
	for (int i = 0; i < 3; i++) {
		uint64_t n = 0;
		size_t digits = 0;

		while (*s >= '0' && *s <= '9') {
			n = n * 10 + (uint64_t)(*s - '0');
			if (n > VERSION_PART_MAX)
				return -EINVAL;
			s++;
			digits++;
		}
		if (digits == 0)
			return -EINVAL;
		v[i] = n;
		if (i < 2 && *s++ != '.')
			return -EINVAL;
	}
	return *s == '\0' ? 0 : -EINVAL;
}

static int build_version(const cJSON *body, const cJSON *old, char out[VERSION_BUF],
			 struct err *e)
{
	const cJSON *given = opt(body, "version");
	uint64_t v[3] = { 0, 0, 0 };

	if (given) {
		if (!cJSON_IsString(given))
			return err_set(e, -EINVAL, "version must be a string \"major.minor.patch\"");
		if (version_parse(given->valuestring, v) < 0)
			return err_set(e, -EINVAL,
				       "version '%s' is not a semantic version (major.minor.patch)",
				       given->valuestring);
	} else {
		const char *ov = json_get_string(old, "version");

		/* A stored version we cannot read restarts at 0.0.1 rather than
		 * making the action impossible to update. */
		if (!ov || version_parse(ov, v) < 0)
			v[0] = v[1] = v[2] = 0;
		if (v[2] >= VERSION_PART_MAX)
			return err_set(e, -EINVAL, "version %s cannot be incremented; give one", ov);
		v[2]++;
	}
	snprintf(out, VERSION_BUF, "%" PRIu64 ".%" PRIu64 ".%" PRIu64, v[0], v[1], v[2]);
	return 0;
}

/* What every entity body may set alike: a JSON object (or nothing), its
 * version (given, or the old one's patch + 1) and publish (given, or
 * kept). */
int entity_build_head(const cJSON *body, const cJSON *old, char version[VERSION_BUF],
		      bool *publish, struct err *e)
{
	const cJSON *given;
	int r;

	if (body && !cJSON_IsNull(body) && !cJSON_IsObject(body))
		return err_set(e, -EINVAL, "request body must be a JSON object");
	r = build_version(body, old, version, e);
	if (r < 0)
		return r;
	given = opt(body, "publish");
	if (given && !cJSON_IsBool(given))
		return err_set(e, -EINVAL, "publish must be a boolean");
	*publish = given ? cJSON_IsTrue(given) : json_get_bool(old, "publish", false);
	return 0;
}

void entity_kv_vec_fini(struct kv_vec *kv)
{
	free(kv->v);
	kv->v = NULL;
	kv->n = kv->cap = 0;
}

int entity_kv_vec_push(struct kv_vec *kv, const char *key, const cJSON *value, unsigned flags)
{
	if (kv->n == kv->cap) {
		size_t cap = kv->cap ? 2 * kv->cap : 16;
		struct kv_ent *v = reallocarray(kv->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		kv->v = v;
		kv->cap = cap;
	}
	kv->v[kv->n] = (struct kv_ent){ key, value, kv->n, flags };
	kv->n++;
	return 0;
}

/* Push every {"key": string, "value"} item of a list (others skipped). */
int entity_kv_vec_push_list(struct kv_vec *kv, const cJSON *arr, bool params, unsigned flags)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr) {
		const char *key = json_get_string(it, "key");
		const cJSON *value = opt(it, "value");
		unsigned f = flags;

		if (!key)
			continue;
		if (params && cJSON_IsTrue(opt(it, "init")))
			f |= KV_INIT;
		if (params && value)
			f |= KV_DEFINED;
		if (entity_kv_vec_push(kv, key, value, f) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int kv_ent_cmp(const void *a, const void *b)
{
	const struct kv_ent *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Collapse kv (sorted in place) to one winner per key in order of first
 * appearance; groups with a KV_DEL entry are dropped. *out (malloc'd, the
 * caller frees) borrows entries from kv. */
int entity_kv_collapse(struct kv_vec *kv, struct kv_win **out, size_t *n_out)
{
	struct kv_win *slot = calloc(kv->n ? kv->n : 1, sizeof(*slot));
	size_t m = 0;

	if (!slot)
		return -ENOMEM;
	if (kv->n)
		qsort(kv->v, kv->n, sizeof(kv->v[0]), kv_ent_cmp);
	for (size_t i = 0, j; i < kv->n; i = j) {
		unsigned flags = 0;

		for (j = i; j < kv->n && strcmp(kv->v[j].key, kv->v[i].key) == 0; j++)
			flags |= kv->v[j].flags;
		if (!(flags & KV_DEL))
			slot[kv->v[i].pos] = (struct kv_win){ &kv->v[j - 1], flags };
	}
	for (size_t p = 0; p < kv->n; p++)
		if (slot[p].ent)
			slot[m++] = slot[p];
	*out = slot;
	*n_out = m;
	return 0;
}

/* The stored list {"key","value"[,"init": true]} of the collapsed kv. */
static int kv_to_list(struct kv_vec *kv, cJSON **out)
{
	struct kv_win *w = NULL;
	size_t n = 0;
	cJSON *arr = NULL;
	int r = entity_kv_collapse(kv, &w, &n);

	if (r < 0)
		return r;
	arr = cJSON_CreateArray();
	if (!arr)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		cJSON *it = cJSON_CreateObject();

		if (arr_add(arr, it) < 0 || add_str(it, "key", w[i].ent->key) < 0 ||
		    add_dup(it, "value", w[i].ent->value) < 0 ||
		    ((w[i].ent->flags & KV_INIT) && add_bool(it, "init", true) < 0))
			goto fail;
	}
	free(w);
	*out = arr;
	return 0;
fail:
	free(w);
	cJSON_Delete(arr);
	return -ENOMEM;
}

int entity_build_parameters(const cJSON *given, const cJSON *old, cJSON **out, struct err *e)
{
	_cleanup_json_ cJSON *arr = NULL;
	const cJSON *old_params = json_get_array(old, "parameters");
	int r;

	/* Given parameters replace the stored ones as a whole (upstream). */
	if (given) {
		struct kv_vec kv = { 0 };

		r = entity_kv_check(given, "parameters", true, e);
		if (r < 0)
			return r;
		r = entity_kv_vec_push_list(&kv, given, true, 0);
		if (r == 0)
			r = kv_to_list(&kv, &arr);
		entity_kv_vec_fini(&kv);
		if (r < 0)
			return enomem(e, "parameters");
	} else {
		arr = old_params ? cJSON_Duplicate(old_params, true) : cJSON_CreateArray();
		if (!arr)
			return enomem(e, "parameters");
	}
	r = entity_kv_size_check(arr, "parameters", e);
	if (r < 0)
		return r;
	*out = TAKE_PTR(arr);
	return 0;
}

/* Stored annotations, then the client's (replacing by key), minus
 * delAnnotations (which also drops keys the client just gave, as upstream's
 * `old ++ given -- del`). */
int entity_build_annotations_plain(const cJSON *body, const cJSON *old, bool check_size,
				   cJSON **out, struct err *e)
{
	_cleanup_json_ cJSON *arr = NULL;
	const cJSON *given = opt(body, "annotations"), *del = opt(body, "delAnnotations"), *it;
	struct kv_vec kv = { 0 };
	int r;

	if (given) {
		r = entity_kv_check(given, "annotations", false, e);
		if (r < 0)
			return r;
	}
	if (del) {
		if (!cJSON_IsArray(del))
			return err_set(e, -EINVAL, "delAnnotations must be an array of strings");
		cJSON_ArrayForEach(it, del)
			if (!cJSON_IsString(it))
				return err_set(e, -EINVAL,
					       "delAnnotations must be an array of strings");
	}
	r = entity_kv_vec_push_list(&kv, json_get_array(old, "annotations"), false, 0);
	if (r == 0)
		r = entity_kv_vec_push_list(&kv, given, false, 0);
	cJSON_ArrayForEach(it, del)
		if (r == 0)
			r = entity_kv_vec_push(&kv, it->valuestring, NULL, KV_DEL);
	if (r == 0)
		r = kv_to_list(&kv, &arr);
	entity_kv_vec_fini(&kv);
	if (r < 0)
		return enomem(e, "annotations");
	if (check_size && (r = entity_kv_size_check(arr, "annotations", e)) < 0)
		return r;
	*out = TAKE_PTR(arr);
	return 0;
}
