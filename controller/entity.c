/* SPDX-License-Identifier: Apache-2.0 */
/* Action documents and activation records (see entity.h). Every function
 * builds a new cJSON tree and never modifies its inputs, so a stored
 * document can be passed as `old` and freed by its owner afterwards. No
 * I/O except entity_activation_id's random bytes. Called by the API layer. */
#include "controller/entity.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/codec.h"
#include "common/jscan.h"

#define EXEC_MAX_BYTES (48ULL * 1024 * 1024)  /* spec §2: code max 48 MB */
#define KV_MAX_BYTES (1024ULL * 1024)         /* parameters, annotations: 1 MB each */
#define VERSION_PART_MAX 2147483647ULL        /* upstream SemVer parts are Scala Ints */
#define VERSION_BUF 40                        /* 3 x 10 digits + 2 dots + NUL */

static cJSON *take_json(cJSON **p)
{
	cJSON *t = *p;

	*p = NULL;
	return t;
}

static int enomem(struct err *e, const char *what)
{
	return err_set(e, -ENOMEM, "%s: out of memory", what);
}

/* An optional field: NULL when absent or JSON null (clients send null for
 * "not given" as often as they leave a key out). */
static const cJSON *opt(const cJSON *obj, const char *key)
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
static int add_item(cJSON *obj, const char *key, cJSON *item)
{
	if (!item)
		return -ENOMEM;
	if (!cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		return -ENOMEM;
	}
	return 0;
}

static int add_str(cJSON *obj, const char *key, const char *s)
{
	return add_item(obj, key, cJSON_CreateString(s));
}

static int add_num(cJSON *obj, const char *key, double v)
{
	return add_item(obj, key, cJSON_CreateNumber(v));
}

static int add_bool(cJSON *obj, const char *key, bool v)
{
	return add_item(obj, key, cJSON_CreateBool(v));
}

static int add_dup(cJSON *obj, const char *key, const cJSON *v)
{
	return add_item(obj, key, v ? cJSON_Duplicate(v, true) : cJSON_CreateNull());
}

static int arr_add(cJSON *arr, cJSON *item)
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
static int obj_set(cJSON *obj, const char *key, cJSON *item)
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

/* ---- key/value lists (parameters, annotations) ------------------------- */

static cJSON *kv_find(const cJSON *arr, const char *key)
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
static int kv_put(cJSON *arr, const char *key, const cJSON *value, bool init)
{
	cJSON *it = kv_find(arr, key);
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
static int kv_put_owned(cJSON *arr, const char *key, cJSON *value)
{
	int r = value ? kv_put(arr, key, value, false) : -ENOMEM;

	cJSON_Delete(value);
	return r;
}

/* A client list must be an array of {"key": non-empty string, "value": any}
 * (and, for parameters, an optional boolean "init"). */
static int kv_check(const cJSON *arr, const char *field, bool params, struct err *e)
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

/* Merging lists by key must not be quadratic: a 1 MB parameter list or a
 * big invoke body holds ~100k keys. Entries from all inputs go into one
 * vector in order of appearance, are sorted by (key, position), and each
 * run of equal keys collapses to its last entry, placed where the key first
 * appeared: O(n log n). */
enum kv_flag {
	KV_INIT = 1,      /* a parameter marked "init": true */
	KV_BODY = 2,      /* from the invoke body */
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

static void kv_vec_fini(struct kv_vec *kv)
{
	free(kv->v);
	kv->v = NULL;
	kv->n = kv->cap = 0;
}

static int kv_vec_push(struct kv_vec *kv, const char *key, const cJSON *value, unsigned flags)
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
static int kv_vec_push_list(struct kv_vec *kv, const cJSON *arr, bool params, unsigned flags)
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
		if (kv_vec_push(kv, key, value, f) < 0)
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
static int kv_collapse(struct kv_vec *kv, struct kv_win **out, size_t *n_out)
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
	int r = kv_collapse(kv, &w, &n);

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

static int kv_size_check(const cJSON *arr, const char *field, struct err *e)
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

static bool kv_is_true(const cJSON *arr, const char *key)
{
	return cJSON_IsTrue(opt(kv_find(arr, key), "value"));
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
static int build_head(const cJSON *body, const cJSON *old, char version[VERSION_BUF],
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

/* ---- exec ----------------------------------------------------------------- */

static bool in_family(const char *kind, const char *family, size_t len)
{
	return strncmp(kind, family, len) == 0 && (kind[len] == ':' || kind[len] == '\0');
}

/* The configured kind `kind` names, or "blackbox"; NULL when unknown.
 * "<family>:default" picks the kind marked default in that family, or the
 * family's only kind ("native:default" -> "native"). */
static const char *kind_resolve(const struct cfg *c, const char *kind)
{
	const char *colon, *only = NULL;
	unsigned members = 0;
	size_t fam;

	if (strcmp(kind, "blackbox") == 0)
		return "blackbox";
	for (uint32_t i = 0; i < c->kind_count; i++)
		if (strcmp(c->kinds[i].name, kind) == 0)
			return c->kinds[i].name;
	colon = strchr(kind, ':');
	if (!colon || strcmp(colon, ":default") != 0)
		return NULL;
	fam = (size_t)(colon - kind);
	for (uint32_t i = 0; i < c->kind_count; i++) {
		if (!in_family(c->kinds[i].name, kind, fam))
			continue;
		if (c->kinds[i].is_default)
			return c->kinds[i].name;
		only = c->kinds[i].name;
		members++;
	}
	return members == 1 ? only : NULL;
}

static int kind_unknown(const struct cfg *c, const char *kind, struct err *e)
{
	char list[ERR_MSG_MAX];
	size_t n = 0;

	list[0] = '\0';
	for (uint32_t i = 0; i <= c->kind_count; i++) {
		const char *k = i < c->kind_count ? c->kinds[i].name : "blackbox";
		int w = snprintf(list + n, sizeof(list) - n, "%s'%s'", n ? ", " : "", k);

		if (w < 0 || (size_t)w >= sizeof(list) - n) {
			list[n] = '\0';   /* drop the partial entry; err_set truncates anyway */
			break;
		}
		n += (size_t)w;
	}
	return err_set(e, -EINVAL,
		       "The specified runtime '%s' is not supported by this platform. "
		       "Valid values are: %s.",
		       kind, list);
}

static bool is_b64(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '+' || ch == '/';
}

/* OpenWhisk's test (Exec.isBinaryCode): after Java String.trim (which drops
 * every char <= ' '), non-empty, a multiple of 4 long and matching
 * ^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)?$. Plain
 * source that happens to fit (say "abcd") counts as binary upstream too. */
static bool code_is_binary(const char *s)
{
	size_t len = strlen(s), pad = 0;

	while (len && (unsigned char)*s <= ' ') {
		s++;
		len--;
	}
	while (len && (unsigned char)s[len - 1] <= ' ')
		len--;
	if (len == 0 || len % 4 != 0)
		return false;
	if (s[len - 1] == '=')
		pad = s[len - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < len - pad; i++)
		if (!is_b64(s[i]))
			return false;
	return true;
}

/* Validate the client's exec and build the stored one: {"kind" (resolved),
 * "code"?, "binary", "main"?, "image" (blackbox only)}. The client's
 * "binary" and a managed kind's "image" are ignored. *kind_out borrows from
 * cfg (or is the literal "blackbox"). */
/* exec of a sequence: {"kind":"sequence","components":["/ns/[pkg/]name",...]}
 * with every component fully qualified against the caller's namespace.
 * Existence, self-reference and total length need the store (api.c). */
static int build_sequence_exec(const char *ns, const cJSON *x, cJSON **out, struct err *e)
{
	_cleanup_json_ cJSON *ex = NULL;
	const cJSON *comps = opt(x, "components"), *it;
	char caller[ROUTE_NAME_MAX];
	cJSON *arr;

	snprintf(caller, sizeof(caller), "%.*s", (int)strcspn(ns, "/"), ns);
	if (comps && !cJSON_IsArray(comps))
		return err_set(e, -EINVAL, "exec.components must be an array of action names");
	if (cJSON_GetArraySize(comps) == 0)
		return err_set(e, -EINVAL, "No component specified for the sequence.");
	if (cJSON_GetArraySize(comps) > ENTITY_SEQUENCE_MAX)
		return err_set(e, -EINVAL, "Too many actions in the sequence.");
	ex = cJSON_CreateObject();
	arr = cJSON_CreateArray();
	if (!ex || add_str(ex, "kind", "sequence") < 0 || add_item(ex, "components", arr) < 0)
		return enomem(e, "exec");
	cJSON_ArrayForEach(it, comps) {
		struct entity_fqn f;
		char full[ENTITY_FQN_MAX];

		if (!cJSON_IsString(it) || entity_fqn_parse(it->valuestring, caller, &f) < 0)
			return err_set(e, -EINVAL, "Sequence component '%s' is not a valid action name.",
				       cJSON_IsString(it) ? it->valuestring : "?");
		entity_fqn_format(&f, full, sizeof(full));
		if (arr_add(arr, cJSON_CreateString(full)) < 0)
			return enomem(e, "exec");
	}
	if (add_bool(ex, "binary", false) < 0)
		return enomem(e, "exec");
	*out = take_json(&ex);
	return 0;
}

static int build_exec(const struct cfg *c, const char *ns, const cJSON *x, cJSON **out,
		      const char **kind_out, struct err *e)
{
	_cleanup_json_ cJSON *ex = NULL;
	const cJSON *kind, *code, *main_fn, *image;
	const char *resolved;
	bool blackbox;

	if (!cJSON_IsObject(x))
		return err_set(e, -EINVAL, "exec must be a JSON object");
	kind = opt(x, "kind");
	code = opt(x, "code");
	main_fn = opt(x, "main");
	image = opt(x, "image");
	if (!cJSON_IsString(kind))
		return err_set(e, -EINVAL, "exec.kind must be a string");
	if (strcmp(kind->valuestring, "sequence") == 0) {
		*kind_out = "sequence";
		return build_sequence_exec(ns, x, out, e);
	}
	resolved = kind_resolve(c, kind->valuestring);
	if (!resolved)
		return kind_unknown(c, kind->valuestring, e);
	blackbox = strcmp(resolved, "blackbox") == 0;
	if (code && !cJSON_IsString(code))
		return err_set(e, -EINVAL, "exec.code must be a string");
	if (!code && !blackbox)
		return err_set(e, -EINVAL, "exec.code must be a string for '%s' actions",
			       kind->valuestring);
	if (code) {
		size_t len = strlen(code->valuestring);

		if (len > EXEC_MAX_BYTES)
			return err_set(e, -E2BIG, "exec larger than allowed: %zu > %llu bytes.", len,
				       EXEC_MAX_BYTES);
	}
	if (main_fn && !cJSON_IsString(main_fn))
		return err_set(e, -EINVAL, "exec.main must be a string");
	if (blackbox && (!cJSON_IsString(image) || !image->valuestring[0]))
		return err_set(e, -EINVAL,
			       "exec.image must be a non-empty string for 'blackbox' actions");

	ex = cJSON_CreateObject();
	if (!ex || add_str(ex, "kind", resolved) < 0 ||
	    (code && add_str(ex, "code", code->valuestring) < 0) ||
	    add_bool(ex, "binary", code && code_is_binary(code->valuestring)) < 0 ||
	    (main_fn && add_str(ex, "main", main_fn->valuestring) < 0) ||
	    (blackbox && add_str(ex, "image", image->valuestring) < 0))
		return enomem(e, "exec");
	*kind_out = resolved;
	*out = take_json(&ex);
	return 0;
}

/* ---- limits --------------------------------------------------------------- */

struct limit_rule {
	const char *key;     /* field in "limits" */
	const char *what;    /* OpenWhisk's message subject */
	const char *unit;    /* after each number in the message */
	struct cfg_limit bounds;
};

static int limit_value(const struct limit_rule *r, const cJSON *given, uint64_t *out,
		       struct err *e)
{
	int64_t v;

	if (json_get_i64(given, r->key, &v) < 0)
		return err_set(e, -EINVAL, "limits.%s must be a whole number", r->key);
	if (v < 0 || (uint64_t)v < r->bounds.min)
		return err_set(e, -EINVAL, "%s %" PRId64 "%s below allowed threshold of %" PRIu64 "%s",
			       r->what, v, r->unit, r->bounds.min, r->unit);
	if ((uint64_t)v > r->bounds.max)
		return err_set(e, -EINVAL,
			       "%s %" PRId64 "%s exceeds allowed threshold of %" PRIu64 "%s", r->what,
			       v, r->unit, r->bounds.max, r->unit);
	*out = (uint64_t)v;
	return 0;
}

/* Per field: the client's value (checked against cfg bounds), else the
 * stored one, else the default. Stored values are not re-checked, like
 * upstream: tightening the config must not lock existing actions. */
static int build_limits(const struct cfg *c, const cJSON *given, const cJSON *old_limits,
			cJSON **out, struct err *e)
{
	const struct limit_rule rules[] = {
		{ "timeout", "duration", " milliseconds", c->limits.timeout_ms },
		{ "memory", "memory size", " MB", c->limits.memory_mb },
		{ "logs", "log size", " MB", c->limits.logs_mb },
		/* Intra-container concurrency is not implemented: exactly 1. */
		{ "concurrency", "concurrency", "", { 1, 1, 1 } },
	};
	_cleanup_json_ cJSON *lim = NULL;

	if (given && !cJSON_IsObject(given))
		return err_set(e, -EINVAL, "limits must be a JSON object");
	lim = cJSON_CreateObject();
	if (!lim)
		return enomem(e, "limits");
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		uint64_t v = rules[i].bounds.def;
		int r;

		if (opt(given, rules[i].key)) {
			r = limit_value(&rules[i], given, &v, e);
			if (r < 0)
				return r;
		} else if (json_get_u64(old_limits, rules[i].key, &v) < 0) {
			v = rules[i].bounds.def;
		}
		if (add_num(lim, rules[i].key, (double)v) < 0)
			return enomem(e, "limits");
	}
	*out = take_json(&lim);
	return 0;
}

/* ---- the action document -------------------------------------------------- */

static int build_parameters(const cJSON *given, const cJSON *old, cJSON **out, struct err *e)
{
	_cleanup_json_ cJSON *arr = NULL;
	const cJSON *old_params = json_get_array(old, "parameters");
	int r;

	/* Given parameters replace the stored ones as a whole (upstream). */
	if (given) {
		struct kv_vec kv = { 0 };

		r = kv_check(given, "parameters", true, e);
		if (r < 0)
			return r;
		r = kv_vec_push_list(&kv, given, true, 0);
		if (r == 0)
			r = kv_to_list(&kv, &arr);
		kv_vec_fini(&kv);
		if (r < 0)
			return enomem(e, "parameters");
	} else {
		arr = old_params ? cJSON_Duplicate(old_params, true) : cJSON_CreateArray();
		if (!arr)
			return enomem(e, "parameters");
	}
	r = kv_size_check(arr, "parameters", e);
	if (r < 0)
		return r;
	*out = take_json(&arr);
	return 0;
}

/* Stored annotations, then the client's (replacing by key), minus
 * delAnnotations (which also drops keys the client just gave, as upstream's
 * `old ++ given -- del`). */
static int build_annotations_plain(const cJSON *body, const cJSON *old, bool check_size,
				   cJSON **out, struct err *e)
{
	_cleanup_json_ cJSON *arr = NULL;
	const cJSON *given = opt(body, "annotations"), *del = opt(body, "delAnnotations"), *it;
	struct kv_vec kv = { 0 };
	int r;

	if (given) {
		r = kv_check(given, "annotations", false, e);
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
	r = kv_vec_push_list(&kv, json_get_array(old, "annotations"), false, 0);
	if (r == 0)
		r = kv_vec_push_list(&kv, given, false, 0);
	cJSON_ArrayForEach(it, del)
		if (r == 0)
			r = kv_vec_push(&kv, it->valuestring, NULL, KV_DEL);
	if (r == 0)
		r = kv_to_list(&kv, &arr);
	kv_vec_fini(&kv);
	if (r < 0)
		return enomem(e, "annotations");
	if (check_size && (r = kv_size_check(arr, "annotations", e)) < 0)
		return r;
	*out = take_json(&arr);
	return 0;
}

/* The plain merge, then the server's annotations. */
static int build_annotations(const cJSON *body, const cJSON *old, const char *kind, cJSON **out,
			     struct err *e)
{
	_cleanup_json_ cJSON *arr = NULL;
	int r = build_annotations_plain(body, old, false, &arr, e);

	if (r < 0)
		return r;
	if ((!old && !kv_find(arr, "provide-api-key") &&
	     kv_put_owned(arr, "provide-api-key", cJSON_CreateFalse()) < 0) ||
	    kv_put_owned(arr, "exec", cJSON_CreateString(kind)) < 0)
		return enomem(e, "annotations");
	r = kv_size_check(arr, "annotations", e);
	if (r < 0)
		return r;
	*out = take_json(&arr);
	return 0;
}

int entity_action_build(const struct cfg *c, const char *ns, const char *name, const cJSON *body,
			const cJSON *old, uint64_t now_ms, cJSON **out, struct err *e)
{
	_cleanup_json_ cJSON *doc = NULL, *exec = NULL, *params = NULL, *limits = NULL,
			      *annotations = NULL;
	const cJSON *given_exec;
	bool publish = false;
	const char *kind = NULL;
	char version[VERSION_BUF];
	int r;

	r = build_head(body, old, version, &publish, e);
	if (r < 0)
		return r;

	given_exec = opt(body, "exec");
	if (given_exec) {
		r = build_exec(c, ns, given_exec, &exec, &kind, e);
		if (r < 0)
			return r;
	} else {
		const cJSON *old_exec = json_get_object(old, "exec");

		kind = json_get_string(old_exec, "kind");
		if (!kind)
			return err_set(e, -EINVAL, "exec undefined");
		exec = cJSON_Duplicate(old_exec, true);
		if (!exec)
			return enomem(e, "exec");
	}
	r = build_parameters(opt(body, "parameters"), old, &params, e);
	if (r < 0)
		return r;
	r = build_limits(c, opt(body, "limits"), json_get_object(old, "limits"), &limits, e);
	if (r < 0)
		return r;
	r = build_annotations(body, old, kind, &annotations, e);
	if (r < 0)
		return r;

	doc = cJSON_CreateObject();
	if (!doc || add_str(doc, "namespace", ns) < 0 || add_str(doc, "name", name) < 0 ||
	    add_str(doc, "version", version) < 0 ||
	    add_bool(doc, "publish", publish) < 0 ||
	    add_item(doc, "exec", take_json(&exec)) < 0 ||
	    add_item(doc, "parameters", take_json(&params)) < 0 ||
	    add_item(doc, "limits", take_json(&limits)) < 0 ||
	    add_item(doc, "annotations", take_json(&annotations)) < 0 ||
	    add_num(doc, "updated", (double)now_ms) < 0)
		return enomem(e, "action document");
	*out = take_json(&doc);
	return 0;
}

const char *entity_action_image(const struct cfg *c, const cJSON *action)
{
	const cJSON *exec = json_get_object(action, "exec");
	const char *kind = json_get_string(exec, "kind");

	if (!kind)
		return NULL;
	if (strcmp(kind, "blackbox") == 0)
		return json_get_string(exec, "image");
	for (uint32_t i = 0; i < c->kind_count; i++)
		if (strcmp(c->kinds[i].name, kind) == 0)
			return c->kinds[i].image;
	return NULL;
}

cJSON *entity_action_without_code(const cJSON *action)
{
	cJSON *copy = cJSON_Duplicate(action, true);
	cJSON *exec = copy ? cJSON_GetObjectItemCaseSensitive(copy, "exec") : NULL;

	if (cJSON_IsObject(exec))
		cJSON_DeleteItemFromObjectCaseSensitive(exec, "code");
	return copy;
}

/* Copy `key` from src to dst when present. */
static int copy_field(cJSON *dst, const cJSON *src, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, key);

	return v ? add_dup(dst, key, v) : 0;
}

cJSON *entity_action_summary(const cJSON *action)
{
	static const char *const before[] = { "namespace", "name", "version", "publish",
					      "annotations", "limits" };
	_cleanup_json_ cJSON *s = NULL;
	cJSON *exec;

	if (!cJSON_IsObject(action))
		return NULL;
	s = cJSON_CreateObject();
	if (!s)
		return NULL;
	for (size_t i = 0; i < sizeof(before) / sizeof(before[0]); i++)
		if (copy_field(s, action, before[i]) < 0)
			return NULL;
	exec = cJSON_CreateObject();
	if (add_item(s, "exec", exec) < 0 ||
	    add_bool(exec, "binary", json_get_bool(json_get_object(action, "exec"), "binary",
						   false)) < 0 ||
	    copy_field(s, action, "updated") < 0)
		return NULL;
	return take_json(&s);
}

/* ---- invocation ----------------------------------------------------------- */

int entity_invoke_params(const cJSON *action, const cJSON *body, cJSON **params, cJSON **init_env,
			 struct err *e)
{
	cJSON *p = NULL, *env = NULL;
	const cJSON *args = cJSON_IsObject(body) ? body : NULL, *it;
	bool final = kv_is_true(json_get_array(action, "annotations"), "final");
	struct kv_vec kv = { 0 };
	struct kv_win *w = NULL;
	size_t n = 0;
	int r;

	if (body && !cJSON_IsNull(body) && !args)
		return err_set(e, -EINVAL, "invoke parameters must be a JSON object");
	r = kv_vec_push_list(&kv, json_get_array(action, "parameters"), true, 0);
	cJSON_ArrayForEach(it, args)
		if (r == 0)
			r = kv_vec_push(&kv, it->string, it, KV_BODY);
	if (r == 0)
		r = kv_collapse(&kv, &w, &n);
	p = cJSON_CreateObject();
	env = cJSON_CreateObject();
	if (r < 0 || !p || !env) {
		r = enomem(e, "invoke parameters");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		/* Upstream (immutableParameters): with final, the bound
		 * parameters that have a value (not null) are not the caller's
		 * to set. */
		if (final && (w[i].flags & KV_BODY) && (w[i].flags & KV_DEFINED)) {
			r = err_set(e, -EINVAL,
				    "Request defines parameters that are not allowed "
				    "(e.g., reserved properties).");
			goto out;
		}
		/* Upstream merges the body over all parameters, then splits by
		 * the init keys (ContainerProxy.partitionArguments): a body value
		 * for an init parameter goes to the environment. */
		if (add_dup(w[i].flags & KV_INIT ? env : p, w[i].ent->key, w[i].ent->value) < 0) {
			r = enomem(e, "invoke parameters");
			goto out;
		}
	}
	*params = take_json(&p);
	*init_env = take_json(&env);
out:
	json_delete(env);
	json_delete(p);
	free(w);
	kv_vec_fini(&kv);
	return r;
}

/* ---- activations ---------------------------------------------------------- */

static const char *status_name(int code)
{
	switch (code) {
	case ACT_SUCCESS:
		return "success";
	case ACT_APPLICATION_ERROR:
		return "application error";
	case ACT_DEVELOPER_ERROR:
		return "action developer error";
	default:
		return "whisk internal error";
	}
}

/* Stand-ins printed where the result and the logs go: control bytes
 * never appear unescaped in JSON text, so each is found exactly once. */
#define RESULT_MARK "\x01"
#define LOGS_MARK "\x02"

static const char unreadable_result[] = "{\"error\":\"The action's result could not be read.\"}";

/* response without its result (a RESULT_MARK stands there); *result and
 * *result_len are what goes in its place. */
static int build_response(const struct act_result *res, cJSON **out, const char **result,
			  size_t *result_len, int *status_code, struct err *e)
{
	_cleanup_json_ cJSON *resp = NULL;
	int code = (int)res->status;

	if (code < ACT_SUCCESS || code > ACT_WHISK_ERROR)
		code = ACT_WHISK_ERROR;
	/* The result goes into the record as the bytes received: checked by
	 * the scanner, never parsed and printed again. */
	*result = res->result;
	*result_len = res->result_len;
	if (!res->result || !res->result_len || !json_is_value(res->result, res->result_len)) {
		/* The invoker sends JSON; anything else is our fault. */
		code = ACT_WHISK_ERROR;
		*result = unreadable_result;
		*result_len = sizeof(unreadable_result) - 1;
	}
	resp = cJSON_CreateObject();
	if (!resp || add_str(resp, "status", status_name(code)) < 0 ||
	    add_num(resp, "statusCode", code) < 0 || add_bool(resp, "success", code == 0) < 0 ||
	    add_item(resp, "result", cJSON_CreateRaw(RESULT_MARK)) < 0 ||
	    add_num(resp, "size", (double)*result_len) < 0)
		return enomem(e, "activation record");
	*status_code = code;
	*out = take_json(&resp);
	return 0;
}

/* Append {"key": key, "value": value}; takes `value` (NULL = ENOMEM). */
static int annotation_add(cJSON *arr, const char *key, cJSON *value)
{
	cJSON *it;

	if (!value)
		return -ENOMEM;
	it = cJSON_CreateObject();
	if (!it || add_str(it, "key", key) < 0) {
		cJSON_Delete(it);
		cJSON_Delete(value);
		return -ENOMEM;
	}
	if (add_item(it, "value", value) < 0) {
		cJSON_Delete(it);
		return -ENOMEM;
	}
	return arr_add(arr, it);
}

static int build_record_annotations(const struct entity_activation_info *info,
				    const struct act_result *res, cJSON **out)
{
	cJSON *arr = cJSON_CreateArray(), *limits = cJSON_CreateObject();
	size_t plen = strlen(info->path) + 1 + strlen(info->name) + 1;
	char *path = malloc(plen);
	int r = -ENOMEM;

	if (!arr || !limits || !path)
		goto out;
	snprintf(path, plen, "%s/%s", info->path, info->name);
	if (add_num(limits, "timeout", (double)info->timeout_ms) < 0 ||
	    add_num(limits, "memory", (double)info->memory_mb) < 0 ||
	    add_num(limits, "logs", (double)info->logs_mb) < 0 ||
	    add_num(limits, "concurrency", (double)info->concurrency) < 0)
		goto out;
	r = annotation_add(arr, "limits", limits);
	limits = NULL;   /* annotation_add owns it now, success or not */
	if (r < 0 || (r = annotation_add(arr, "path", cJSON_CreateString(path))) < 0 ||
	    (r = annotation_add(arr, "kind", cJSON_CreateString(info->kind))) < 0 ||
	    (r = annotation_add(arr, "timeout", cJSON_CreateBool(res->timeout))) < 0 ||
	    (r = annotation_add(arr, "waitTime", cJSON_CreateNumber((double)res->wait_ms))) < 0)
		goto out;
	if (res->has_init &&
	    (r = annotation_add(arr, "initTime", cJSON_CreateNumber((double)res->init_ms))) < 0)
		goto out;
	if (info->cause && (r = annotation_add(arr, "causedBy", cJSON_CreateString("sequence"))) < 0)
		goto out;
	*out = take_json(&arr);
	r = 0;
out:
	free(path);
	cJSON_Delete(limits);
	cJSON_Delete(arr);
	return r;
}

/* Print rec, which holds a RESULT_MARK and then a LOGS_MARK raw item,
 * with result (compacted) and logs in their places: skeleton | result |
 * skeleton | logs | skeleton. Sets the text and the two slices of *out. */
static int record_splice(const cJSON *rec, const char *result, size_t result_len, const char *logs,
		  size_t logs_len, struct entity_record *out, struct err *e)
{
	size_t skel_len = 0, o, mid, tail;
	char *skel = json_print(rec, &skel_len), *text = NULL;
	const char *rmark = skel ? memchr(skel, RESULT_MARK[0], skel_len) : NULL;
	const char *lmark = rmark ? memchr(rmark, LOGS_MARK[0], skel_len - (size_t)(rmark - skel))
				  : NULL;

	if (lmark)
		text = malloc(skel_len - 2 + result_len + logs_len + 1);
	if (!text) {
		json_free(skel);
		return enomem(e, "activation record");
	}
	o = (size_t)(rmark - skel);
	mid = (size_t)(lmark - rmark - 1);
	tail = skel_len - (size_t)(lmark + 1 - skel);
	memcpy(text, skel, o);
	out->result_at = o;
	out->result_len = jscan_copy_compact(result, result_len, text + o);
	o += out->result_len;
	memcpy(text + o, rmark + 1, mid);
	o += mid;
	out->logs_at = o;
	out->logs_len = logs_len;
	memcpy(text + o, logs, logs_len);
	o += logs_len;
	memcpy(text + o, lmark + 1, tail);
	o += tail;
	text[o] = '\0';
	json_free(skel);
	out->text = text;
	out->len = o;
	return 0;
}

int entity_record_print(const struct entity_activation_info *info, const struct act_result *res,
			struct entity_record *out, struct err *e)
{
	_cleanup_json_ cJSON *rec = NULL, *resp = NULL, *ann = NULL;
	_cleanup_free_ char *logs = NULL;
	const char *result;
	size_t result_len, logs_len = 0;
	int r, code = ACT_WHISK_ERROR;

	memset(out, 0, sizeof(*out));
	if (!info->activation_id || !info->ns || !info->path || !info->name || !info->version ||
	    !info->kind)
		return err_set(e, -EINVAL, "activation record: activation info incomplete");
	r = build_response(res, &resp, &result, &result_len, &code, e);
	if (r < 0)
		return r;
	r = build_record_annotations(info, res, &ann);
	if (r < 0)
		return enomem(e, "activation record");
	rec = cJSON_CreateObject();
	if (!rec || add_str(rec, "namespace", info->ns) < 0 || add_str(rec, "name", info->name) < 0 ||
	    add_str(rec, "version", info->version) < 0 || add_str(rec, "subject", info->ns) < 0 ||
	    add_bool(rec, "publish", false) < 0 ||
	    add_str(rec, "activationId", info->activation_id) < 0 ||
	    add_num(rec, "start", (double)res->start_ms) < 0 ||
	    add_num(rec, "end", (double)res->end_ms) < 0 ||
	    add_num(rec, "duration",
		    res->end_ms > res->start_ms ? (double)(res->end_ms - res->start_ms) : 0) < 0 ||
	    (info->cause && add_str(rec, "cause", info->cause) < 0) ||
	    add_item(rec, "response", take_json(&resp)) < 0 ||
	    add_item(rec, "logs", cJSON_CreateRaw(LOGS_MARK)) < 0 ||
	    add_item(rec, "annotations", take_json(&ann)) < 0)
		return enomem(e, "activation record");
	if (cJSON_IsArray(res->logs)) {
		logs = json_print(res->logs, &logs_len);
	} else {
		logs = strdup("[]");
		logs_len = 2;
	}
	if (!logs)
		return enomem(e, "activation record");
	r = record_splice(rec, result, result_len, logs, logs_len, out, e);
	if (r < 0)
		return r;
	out->status_code = code;
	out->start_ms = res->start_ms;
	out->end_ms = res->end_ms;
	return 0;
}

/* While printing, an item stands in for its mark: its own content is set
 * aside and put back after, so the tree keeps its order and allocations. */
struct stand_in {
	cJSON *item;
	int type;
	char *valuestring;
	cJSON *child;
};

static void stand_in_set(struct stand_in *s, cJSON *item, const char *mark)
{
	s->item = item;
	s->type = item->type;
	s->valuestring = item->valuestring;
	s->child = item->child;
	item->type = cJSON_Raw | (item->type & cJSON_StringIsConst);
	item->valuestring = (char *)mark; /* read only while printing */
	item->child = NULL;
}

static void stand_in_undo(const struct stand_in *s)
{
	s->item->type = s->type;
	s->item->valuestring = s->valuestring;
	s->item->child = s->child;
}

int entity_record_of(cJSON *rec, struct entity_record *out, struct err *e)
{
	cJSON *resp = cJSON_GetObjectItemCaseSensitive(rec, "response");
	cJSON *result = cJSON_GetObjectItemCaseSensitive(resp, "result");
	cJSON *logs = cJSON_GetObjectItemCaseSensitive(rec, "logs");
	_cleanup_free_ char *rtext = NULL, *ltext = NULL;
	struct stand_in rs, ls;
	size_t rlen = 0, llen = 0;
	int64_t code = ACT_WHISK_ERROR;
	uint64_t start = 0, end = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(resp) || !result || !cJSON_IsArray(logs))
		return err_set(e, -EINVAL, "activation record: response.result or logs missing");
	(void)json_get_i64(resp, "statusCode", &code);
	(void)json_get_u64(rec, "start", &start);
	(void)json_get_u64(rec, "end", &end);
	rtext = json_print(result, &rlen);
	ltext = json_print(logs, &llen);
	if (!rtext || !ltext)
		return enomem(e, "activation record");
	stand_in_set(&rs, result, RESULT_MARK);
	stand_in_set(&ls, logs, LOGS_MARK);
	r = record_splice(rec, rtext, rlen, ltext, llen, out, e);
	stand_in_undo(&ls);
	stand_in_undo(&rs);
	if (r < 0)
		return r;
	out->status_code = code >= 0 && code <= ACT_WHISK_ERROR ? (int)code : ACT_WHISK_ERROR;
	out->start_ms = start;
	out->end_ms = end;
	return 0;
}

int entity_record_set_logs(struct entity_record *r, const cJSON *logs, struct err *e)
{
	_cleanup_free_ char *ltext = NULL;
	size_t llen = 0, tail;
	char *text;

	ltext = json_print(logs, &llen);
	if (!ltext)
		return enomem(e, "activation record logs");
	tail = r->len - r->logs_at - r->logs_len;
	text = malloc(r->logs_at + llen + tail + 1);
	if (!text)
		return enomem(e, "activation record logs");
	memcpy(text, r->text, r->logs_at);
	memcpy(text + r->logs_at, ltext, llen);
	memcpy(text + r->logs_at + llen, r->text + r->logs_at + r->logs_len, tail);
	text[r->logs_at + llen + tail] = '\0';
	free(r->text);
	r->text = text;
	r->len = r->logs_at + llen + tail;
	r->logs_len = llen;
	return 0;
}

void entity_record_fini(struct entity_record *r)
{
	if (!r)
		return;
	free(r->text);
	memset(r, 0, sizeof(*r));
}

/* statusCode of a record: response.statusCode, or from the status string
 * for records that do not carry it (upstream omits it). -1 = unknown. */
static int record_status_code(const cJSON *record)
{
	static const char *const names[] = { "success", "application error",
					     "action developer error", "whisk internal error" };
	const cJSON *resp = json_get_object(record, "response");
	const char *status = json_get_string(resp, "status");
	int64_t code;

	if (json_get_i64(resp, "statusCode", &code) == 0 && code >= 0 && code <= 3)
		return (int)code;
	for (int i = 0; status && i < 4; i++)
		if (strcmp(status, names[i]) == 0)
			return i;
	return -1;
}

cJSON *entity_activation_summary(const cJSON *record)
{
	static const char *const fields[] = { "namespace", "name", "version", "publish",
					      "annotations", "activationId", "start", "end",
					      "duration", "cause" };
	_cleanup_json_ cJSON *s = NULL;
	int code;

	if (!cJSON_IsObject(record))
		return NULL;
	s = cJSON_CreateObject();
	if (!s)
		return NULL;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (copy_field(s, record, fields[i]) < 0)
			return NULL;
	code = record_status_code(record);
	if (code >= 0 && add_num(s, "statusCode", code) < 0)
		return NULL;
	return take_json(&s);
}

/* Last resort when the kernel gives no randomness: ids only need to be
 * unique, so mix the clock, the pid and a counter (splitmix64). */
static void weak_random(unsigned char *buf, size_t len)
{
	static unsigned counter;
	struct timespec ts;
	uint64_t x;

	clock_gettime(CLOCK_REALTIME, &ts);
	x = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	x ^= (uint64_t)getpid() << 32 ^ (uint64_t)__atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
	for (size_t i = 0; i < len; i++) {
		uint64_t z;

		x += 0x9e3779b97f4a7c15ULL;
		z = x;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		buf[i] = (unsigned char)(z ^ (z >> 31));
	}
}

static size_t urandom_fill(unsigned char *buf, size_t len)
{
	size_t got = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return got;
}

void entity_activation_id(char out[33])
{
	unsigned char b[16];
	size_t got = 0;

	/* GRND_NONBLOCK: early at boot (edge boards often lack entropy) the
	 * pool may not be ready; an id is not a key, /dev/urandom will do. */
	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, GRND_NONBLOCK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < sizeof(b) && urandom_fill(b, sizeof(b)) < sizeof(b))
		weak_random(b, sizeof(b));
	codec_hex_encode(b, sizeof(b), out);
}

/* ---- names ---------------------------------------------------------------- */

int entity_fqn_parse(const char *s, const char *default_ns, struct entity_fqn *out)
{
	struct entity_fqn f = { 0 };
	char parts[3][ROUTE_NAME_MAX];
	int n = 0;
	bool qualified = s && s[0] == '/';

	if (!s || !default_ns)
		return -EINVAL;
	if (qualified)
		s++;
	while (n < 3) {
		size_t len = strcspn(s, "/");

		if (len == 0 || len >= ROUTE_NAME_MAX)
			return -EINVAL;
		memcpy(parts[n], s, len);
		parts[n][len] = '\0';
		n++;
		s += len;
		if (*s == '\0')
			break;
		s++;
	}
	if (*s != '\0')
		return -EINVAL;
	/* "/ns/name" and "/ns/pkg/name" name their namespace; "name" and
	 * "pkg/name" live in the default one. */
	if (qualified && n < 2)
		return -EINVAL;
	if (!qualified && n > 2)
		return -EINVAL;
	if (qualified) {
		snprintf(f.ns, sizeof(f.ns), "%s", strcmp(parts[0], "_") == 0 ? default_ns : parts[0]);
		if (n == 3)
			snprintf(f.pkg, sizeof(f.pkg), "%s", parts[1]);
		snprintf(f.name, sizeof(f.name), "%s", parts[n - 1]);
	} else {
		snprintf(f.ns, sizeof(f.ns), "%s", default_ns);
		if (n == 2)
			snprintf(f.pkg, sizeof(f.pkg), "%s", parts[0]);
		snprintf(f.name, sizeof(f.name), "%s", parts[n - 1]);
	}
	if (!route_name_is_valid(f.ns) || !route_name_is_valid(f.name) ||
	    (f.pkg[0] && !route_name_is_valid(f.pkg)))
		return -EINVAL;
	*out = f;
	return 0;
}

void entity_fqn_format(const struct entity_fqn *f, char *buf, size_t size)
{
	snprintf(buf, size, "/%s/%s%s%s", f->ns, f->pkg, f->pkg[0] ? "/" : "", f->name);
}

/* ---- triggers, rules, packages --------------------------------------------- */

/* The fields every entity document has: namespace, name, version, publish,
 * parameters (unless params is false), annotations; `updated` is added by
 * the caller last so it stays at the end as upstream prints it. */
static int build_common(const char *ns, const char *name, const cJSON *body, const cJSON *old,
			bool with_params, cJSON **out, struct err *e)
{
	_cleanup_json_ cJSON *doc = NULL, *params = NULL, *ann = NULL;
	bool publish = false;
	char version[VERSION_BUF];
	int r;

	r = build_head(body, old, version, &publish, e);
	if (r < 0)
		return r;
	if (with_params && (r = build_parameters(opt(body, "parameters"), old, &params, e)) < 0)
		return r;
	r = build_annotations_plain(body, old, true, &ann, e);
	if (r < 0)
		return r;
	doc = cJSON_CreateObject();
	if (!doc || add_str(doc, "namespace", ns) < 0 || add_str(doc, "name", name) < 0 ||
	    add_str(doc, "version", version) < 0 ||
	    add_bool(doc, "publish", publish) < 0 ||
	    (with_params && add_item(doc, "parameters", take_json(&params)) < 0) ||
	    add_item(doc, "annotations", take_json(&ann)) < 0)
		return enomem(e, "document");
	*out = take_json(&doc);
	return 0;
}

int entity_trigger_build(const char *ns, const char *name, const cJSON *body, const cJSON *old,
			 uint64_t now_ms, cJSON **out, struct err *e)
{
	_cleanup_json_ cJSON *doc = NULL;
	const cJSON *it, *rules = json_get_object(old, "rules");
	int r = build_common(ns, name, body, old, true, &doc, e);

	if (r < 0)
		return r;
	cJSON_ArrayForEach(it, json_get_array(doc, "annotations")) {
		const char *k = json_get_string(it, "key");
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, "value");
		struct entity_fqn f;

		if (k && strcmp(k, "feed") == 0 &&
		    (!cJSON_IsString(v) || entity_fqn_parse(v->valuestring, ns, &f) < 0))
			return err_set(e, -EINVAL, "Feed name is not valid");
	}
	if (add_item(doc, "limits", cJSON_CreateObject()) < 0 ||
	    (rules && add_dup(doc, "rules", rules) < 0) || add_num(doc, "updated", (double)now_ms) < 0)
		return enomem(e, "trigger");
	*out = take_json(&doc);
	return 0;
}

/* {"path": "ns[/pkg]", "name": name} from a client's entity name. */
static int path_name(const char *given, const char *ns, const char *what, cJSON **out,
		     struct err *e)
{
	struct entity_fqn f;
	char path[ROUTE_NAME_MAX * 2 + 2];
	cJSON *o;

	if (entity_fqn_parse(given, ns, &f) < 0)
		return err_set(e, -EINVAL, "The %s name '%s' is not valid.", what, given);
	if (strcmp(what, "trigger") == 0 && f.pkg[0])
		return err_set(e, -EINVAL, "The trigger name '%s' is not valid.", given);
	snprintf(path, sizeof(path), "%s%s%s", f.ns, f.pkg[0] ? "/" : "", f.pkg);
	o = cJSON_CreateObject();
	if (!o || add_str(o, "path", path) < 0 || add_str(o, "name", f.name) < 0) {
		cJSON_Delete(o);
		return enomem(e, "rule");
	}
	*out = o;
	return 0;
}

int entity_rule_build(const char *ns, const char *name, const cJSON *body, const cJSON *old,
		      uint64_t now_ms, cJSON **out, struct err *e)
{
	_cleanup_json_ cJSON *doc = NULL, *trig = NULL, *act = NULL;
	const char *fields[2] = { "trigger", "action" };
	cJSON **dst[2] = { &trig, &act };
	int r = build_common(ns, name, body, old, false, &doc, e);

	if (r < 0)
		return r;
	for (int i = 0; i < 2; i++) {
		const cJSON *given = opt(body, fields[i]);

		if (given && !cJSON_IsString(given))
			return err_set(e, -EINVAL, "The rule's %s must be a string naming it.", fields[i]);
		if (given) {
			r = path_name(given->valuestring, ns, fields[i], dst[i], e);
			if (r < 0)
				return r;
		} else if (json_get_object(old, fields[i])) {
			*dst[i] = cJSON_Duplicate(json_get_object(old, fields[i]), true);
			if (!*dst[i])
				return enomem(e, "rule");
		} else {
			return err_set(e, -EINVAL, "The rule needs a %s.", fields[i]);
		}
	}
	if (add_str(doc, "status", "active") < 0 || add_item(doc, "trigger", take_json(&trig)) < 0 ||
	    add_item(doc, "action", take_json(&act)) < 0 || add_num(doc, "updated", (double)now_ms) < 0)
		return enomem(e, "rule");
	*out = take_json(&doc);
	return 0;
}

int entity_package_build(const char *ns, const char *name, const cJSON *body, const cJSON *old,
			 uint64_t now_ms, cJSON **out, struct err *e)
{
	_cleanup_json_ cJSON *doc = NULL, *binding = NULL;
	const cJSON *given = opt(body, "binding");
	int r = build_common(ns, name, body, old, true, &doc, e);

	if (r < 0)
		return r;
	if (given && !(cJSON_IsObject(given) && cJSON_GetArraySize(given) == 0)) {
		const char *bns = json_get_string(given, "namespace"), *bname = json_get_string(given, "name");
		struct entity_fqn f;
		char full[ENTITY_FQN_MAX];

		if (!bns || !bname)
			return err_set(e, -EINVAL, "binding must be {\"namespace\": ..., \"name\": ...}");
		snprintf(full, sizeof(full), "/%s/%s", bns, bname);
		if (entity_fqn_parse(full, ns, &f) < 0 || f.pkg[0])
			return err_set(e, -EINVAL, "The binding's package name is not valid.");
		binding = cJSON_CreateObject();
		if (!binding || add_str(binding, "namespace", f.ns) < 0 ||
		    add_str(binding, "name", f.name) < 0)
			return enomem(e, "package");
	} else if (!given && json_get_object(old, "binding")) {
		binding = cJSON_Duplicate(json_get_object(old, "binding"), true);
	} else {
		binding = cJSON_CreateObject();
	}
	if (add_item(doc, "binding", take_json(&binding)) < 0 ||
	    add_num(doc, "updated", (double)now_ms) < 0)
		return enomem(e, "package");
	*out = take_json(&doc);
	return 0;
}

bool entity_annotation_true(const cJSON *doc, const char *key)
{
	return kv_is_true(json_get_array(doc, "annotations"), key);
}

bool entity_package_is_binding(const cJSON *pkg)
{
	return json_get_string(json_get_object(pkg, "binding"), "name") != NULL;
}

cJSON *entity_summary(const char *coll, const cJSON *doc)
{
	static const char *const fields[] = { "namespace", "name", "version", "publish",
					      "annotations", "updated" };
	_cleanup_json_ cJSON *s = NULL;

	if (!cJSON_IsObject(doc))
		return NULL;
	if (strcmp(coll, "actions") == 0)
		return entity_action_summary(doc);
	if (strcmp(coll, "rules") == 0)
		return cJSON_Duplicate(doc, true);
	s = cJSON_CreateObject();
	if (!s)
		return NULL;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (copy_field(s, doc, fields[i]) < 0)
			return NULL;
	if (strcmp(coll, "packages") == 0) {
		const cJSON *b = json_get_object(doc, "binding");

		if (entity_package_is_binding(doc) ? add_dup(s, "binding", b) < 0
						   : add_bool(s, "binding", false) < 0)
			return NULL;
	}
	return take_json(&s);
}

int entity_params_inherit(cJSON *action, const cJSON *defaults)
{
	cJSON *params = cJSON_GetObjectItemCaseSensitive(action, "parameters");
	const cJSON *it;
	int pos = 0;

	if (!cJSON_IsArray(defaults) || cJSON_GetArraySize(defaults) == 0)
		return 0;
	if (!cJSON_IsArray(params)) {
		params = cJSON_CreateArray();
		if (!params || obj_set(action, "parameters", params) < 0)
			return -ENOMEM;
	}
	/* Defaults first, in their order; the action's own keys win. */
	cJSON_ArrayForEach(it, defaults) {
		const char *k = json_get_string(it, "key");
		cJSON *copy;

		if (!k || kv_find(params, k))
			continue;
		copy = cJSON_Duplicate(it, true);
		if (!copy || !cJSON_InsertItemInArray(params, pos, copy)) {
			cJSON_Delete(copy);
			return -ENOMEM;
		}
		pos++;
	}
	return 0;
}

/* ---- trigger and sequence activation records -------------------------------- */

static int record_head(cJSON *rec, const char *id, const char *ns, const char *name,
		       const char *version, uint64_t start)
{
	return add_str(rec, "namespace", ns) < 0 || add_str(rec, "name", name) < 0 ||
			       add_str(rec, "version", version ? version : "0.0.1") < 0 ||
			       add_str(rec, "subject", ns) < 0 || add_bool(rec, "publish", false) < 0 ||
			       add_str(rec, "activationId", id) < 0 ||
			       add_num(rec, "start", (double)start) < 0
		       ? -ENOMEM
		       : 0;
}

int entity_trigger_record(const char *id, const char *ns, const char *name, const char *version,
			  const cJSON *payload, const cJSON *logs, uint64_t start_ms, cJSON **out,
			  struct err *e)
{
	_cleanup_json_ cJSON *rec = cJSON_CreateObject();
	cJSON *resp = cJSON_CreateObject();

	if (!rec || !resp || record_head(rec, id, ns, name, version, start_ms) < 0 ||
	    add_str(resp, "status", "success") < 0 || add_num(resp, "statusCode", 0) < 0 ||
	    add_bool(resp, "success", true) < 0 ||
	    add_item(resp, "result",
		     cJSON_IsObject(payload) ? cJSON_Duplicate(payload, true) : cJSON_CreateObject()) < 0) {
		cJSON_Delete(resp);
		return enomem(e, "trigger activation");
	}
	if (add_item(rec, "response", resp) < 0 ||
	    add_item(rec, "logs", logs ? cJSON_Duplicate(logs, true) : cJSON_CreateArray()) < 0 ||
	    add_item(rec, "annotations", cJSON_CreateArray()) < 0)
		return enomem(e, "trigger activation");
	*out = take_json(&rec);
	return 0;
}

int entity_sequence_record(const struct entity_activation_info *info, const cJSON *component_ids,
			   const cJSON *response, uint64_t start_ms, uint64_t end_ms,
			   uint64_t duration_ms, uint64_t wait_ms, cJSON **out, struct err *e)
{
	_cleanup_json_ cJSON *rec = cJSON_CreateObject(), *ann = cJSON_CreateArray();
	cJSON *limits = cJSON_CreateObject();
	size_t plen = strlen(info->path) + strlen(info->name) + 2;
	char *path = malloc(plen);
	int r = 0;

	if (!rec || !ann || !limits || !path) {
		cJSON_Delete(limits);
		free(path);
		return enomem(e, "sequence activation");
	}
	snprintf(path, plen, "%s/%s", info->path, info->name);
	if (add_num(limits, "timeout", (double)info->timeout_ms) < 0 ||
	    add_num(limits, "memory", (double)info->memory_mb) < 0 ||
	    add_num(limits, "logs", (double)info->logs_mb) < 0 ||
	    add_num(limits, "concurrency", 1) < 0)
		r = -ENOMEM;
	if (r == 0)
		r = annotation_add(ann, "limits", limits);
	else
		cJSON_Delete(limits);
	if (r == 0)
		r = annotation_add(ann, "path", cJSON_CreateString(path));
	if (r == 0)
		r = annotation_add(ann, "kind", cJSON_CreateString("sequence"));
	if (r == 0)
		r = annotation_add(ann, "topmost", cJSON_CreateBool(!info->cause));
	if (r == 0)
		r = annotation_add(ann, "waitTime", cJSON_CreateNumber((double)wait_ms));
	if (r == 0 && info->cause)
		r = annotation_add(ann, "causedBy", cJSON_CreateString("sequence"));
	free(path);
	if (r < 0 || record_head(rec, info->activation_id, info->ns, info->name, info->version,
				 start_ms) < 0 ||
	    add_num(rec, "end", (double)end_ms) < 0 || add_num(rec, "duration", (double)duration_ms) < 0 ||
	    (info->cause && add_str(rec, "cause", info->cause) < 0) ||
	    add_item(rec, "response", cJSON_Duplicate(response, true)) < 0 ||
	    add_item(rec, "logs", cJSON_Duplicate(component_ids, true)) < 0 ||
	    add_item(rec, "annotations", take_json(&ann)) < 0)
		return enomem(e, "sequence activation");
	*out = take_json(&rec);
	return 0;
}
