/* SPDX-License-Identifier: Apache-2.0 */
/* Action documents (see entity.h): exec (kinds, code, binary detection,
 * sequences), limits against the config, parameters and annotations with
 * the merge rules of an update, list summaries, and an invocation's
 * effective parameters. */
#include "controller/entity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/entity_impl.h"

#include "common/image_ref.h"
#include "common/jscan.h"
#include "controller/access.h"
#include "controller/args.h"

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
	char caller[NAME_SIZE];
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
		struct name_fqn f;
		char full[NAME_FQN_SIZE];

		if (!cJSON_IsString(it) || name_fqn_parse(it->valuestring, caller, &f) < 0)
			return err_set(e, -EINVAL, "Sequence component '%s' is not a valid action name.",
				       cJSON_IsString(it) ? it->valuestring : "?");
		name_fqn_format(&f, full, sizeof(full));
		if (arr_add(arr, cJSON_CreateString(full)) < 0)
			return enomem(e, "exec");
	}
	if (add_bool(ex, "binary", false) < 0)
		return enomem(e, "exec");
	*out = TAKE_PTR(ex);
	return 0;
}

/* whisk.system or one of its packages. */
static bool is_system_ns(const char *ns)
{
	size_t n = strlen(ACCESS_SYSTEM_NS);

	return strncmp(ns, ACCESS_SYSTEM_NS, n) == 0 && (ns[n] == '\0' || ns[n] == '/');
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
	/* Built-in actions run inside the controller (invoke.h); only the
	 * catalog makes them, in the namespace no key writes. */
	if (strcmp(kind->valuestring, "builtin") == 0 && is_system_ns(ns)) {
		ex = cJSON_CreateObject();
		if (!ex || add_str(ex, "kind", "builtin") < 0 || add_bool(ex, "binary", false) < 0)
			return err_set(e, -ENOMEM, "out of memory");
		*kind_out = "builtin";
		*out = TAKE_PTR(ex);
		return 0;
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
	if (blackbox && !image_ref_is_valid(image->valuestring))
		return err_set(e, -EINVAL,
			       "exec.image '%.256s' is not a valid image reference "
			       "(name[:tag][@digest], lower-case path, e.g. 'team/app:1.0').",
			       image->valuestring);

	ex = cJSON_CreateObject();
	if (!ex || add_str(ex, "kind", resolved) < 0 ||
	    (code && add_str(ex, "code", code->valuestring) < 0) ||
	    add_bool(ex, "binary", code && code_is_binary(code->valuestring)) < 0 ||
	    (main_fn && add_str(ex, "main", main_fn->valuestring) < 0) ||
	    (blackbox && add_str(ex, "image", image->valuestring) < 0))
		return enomem(e, "exec");
	*kind_out = resolved;
	*out = TAKE_PTR(ex);
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
	*out = TAKE_PTR(lim);
	return 0;
}

/* ---- the action document -------------------------------------------------- */



/* The plain merge, then the server's annotations. */
static int build_annotations(const cJSON *body, const cJSON *old, const char *kind, cJSON **out,
			     struct err *e)
{
	_cleanup_json_ cJSON *arr = NULL;
	int r = entity_build_annotations_plain(body, old, false, &arr, e);

	if (r < 0)
		return r;
	if ((!old && !entity_kv_find(arr, "provide-api-key") &&
	     entity_kv_put_owned(arr, "provide-api-key", cJSON_CreateFalse()) < 0) ||
	    entity_kv_put_owned(arr, "exec", cJSON_CreateString(kind)) < 0)
		return enomem(e, "annotations");
	r = entity_kv_size_check(arr, "annotations", e);
	if (r < 0)
		return r;
	*out = TAKE_PTR(arr);
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

	r = entity_build_head(body, old, version, &publish, e);
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
	r = entity_build_parameters(opt(body, "parameters"), old, &params, e);
	if (r < 0)
		return r;
	r = build_limits(c, opt(body, "limits"), json_get_object(old, "limits"), &limits, e);
	if (r < 0)
		return r;
	r = build_annotations(body, old, kind, &annotations, e);
	if (r < 0)
		return r;

	doc = doc_head_new(ns, name, version, publish);
	if (!doc || add_item(doc, "exec", TAKE_PTR(exec)) < 0 ||
	    add_item(doc, "parameters", TAKE_PTR(params)) < 0 ||
	    add_item(doc, "limits", TAKE_PTR(limits)) < 0 ||
	    add_item(doc, "annotations", TAKE_PTR(annotations)) < 0 ||
	    add_num(doc, "updated", (double)now_ms) < 0)
		return enomem(e, "action document");
	*out = TAKE_PTR(doc);
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
	return TAKE_PTR(s);
}

/* ---- invocation ----------------------------------------------------------- */

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* s[0..n) is the JSON literal null, whitespace around it allowed. */
static bool is_null_text(const char *s, size_t n)
{
	while (n && is_ws(*s))
		s++, n--;
	while (n && is_ws(s[n - 1]))
		n--;
	return n == 4 && memcmp(s, "null", 4) == 0;
}

static int put_env(cJSON *env, const char *key, const char *val, size_t val_len)
{
	cJSON *v = NULL;

	if (json_parse(val, val_len, &v, NULL) < 0)
		return -ENOMEM; /* the body was validated: only memory fails */
	cJSON_DeleteItemFromObjectCaseSensitive(env, key);
	if (!cJSON_AddItemToObject(env, key, v)) {
		json_delete(v);
		return -ENOMEM;
	}
	return 0;
}

/* The arguments travel inside envelopes (the /run body's "value", a
 * runtime's own), each a level deeper, and every hop's scanner stops at
 * JSCAN_MAX_DEPTH: refuse here what a later hop would refuse. */
#define ARGS_MAX_DEPTH (JSCAN_MAX_DEPTH - 12)

static int check_depth(const char *body, size_t len, struct err *e)
{
	size_t depth = 0;

	if (jscan_measure(body, len, NULL, &depth) < 0)
		return err_set(e, -EINVAL, "invoke parameters must be a JSON object");
	if (depth > ARGS_MAX_DEPTH)
		return err_set(e, -EINVAL,
			       "The arguments are nested too deeply: %zu levels, at most %d.", depth,
			       ARGS_MAX_DEPTH);
	return 0;
}

struct body_pass {
	struct args *a;
	bool final, to_env, refused;
	cJSON *env;
	struct err *e;
};

/* Pass 1 over the body: what it overrides, and whether it may. */
static int mark_override(void *ctx, const char *key, size_t klen, const struct jscan_member *m)
{
	struct body_pass *p = ctx;
	struct args_base *b = args_find(p->a, key, klen);

	(void)m;
	if (!b)
		return 0;
	/* Upstream (immutableParameters): with final, the bound parameters
	 * that have a value (not null) are not the caller's to set. */
	if (p->final && (b->flags & KV_DEFINED)) {
		p->refused = true;
		return err_set(p->e, -EINVAL,
			       "Request defines parameters that are not allowed "
			       "(e.g., reserved properties).");
	}
	b->overridden = true;
	p->to_env |= (b->flags & KV_INIT) != 0;
	return 0;
}

/* Pass 2: the body's members as bytes; those naming an init parameter go
 * to the environment instead (upstream's partitionArguments). */
static int copy_member(void *ctx, const char *key, size_t klen, const struct jscan_member *m)
{
	struct body_pass *p = ctx;
	struct args_base *b = p->to_env ? args_find(p->a, key, klen) : NULL;

	if (b && (b->flags & KV_INIT))
		return put_env(p->env, key, m->val, m->val_len);
	return args_put_raw(p->a, m->key, m->key_len, m->val, m->val_len);
}

int entity_invoke_args(const cJSON *action, const char *body, size_t body_len,
		       struct buf *params, cJSON **init_env, struct err *e)
{
	_cleanup_json_ cJSON *env = cJSON_CreateObject();
	bool final = entity_kv_is_true(json_get_array(action, "annotations"), "final");
	struct body_pass pass;
	struct kv_vec kv = { 0 };
	struct kv_win *w = NULL;
	struct args_base *base = NULL;
	struct args a = { 0 };
	size_t n = 0;
	int r;

	/* No body, or JSON null: {} (as upstream). */
	if (!body || is_null_text(body, body_len))
		body_len = 0;
	r = env ? entity_kv_vec_push_list(&kv, json_get_array(action, "parameters"), true, 0)
		: -ENOMEM;
	if (r == 0)
		r = entity_kv_collapse(&kv, &w, &n);
	base = r == 0 ? calloc(n ? n : 1, sizeof(*base)) : NULL;
	if (!base) {
		r = enomem(e, "invoke parameters");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		base[i] = (struct args_base){ w[i].ent->key, w[i].ent->value, w[i].flags, false };
	if (args_begin(&a, base, n) < 0) {
		r = enomem(e, "invoke parameters");
		goto out;
	}
	if (body_len && (r = check_depth(body, body_len, e)) < 0)
		goto out;
	pass = (struct body_pass){ &a, final, false, false, env, e };
	if (body_len && (r = args_each(&a, body, body_len, mark_override, &pass)) < 0) {
		if (r == -EINVAL && !pass.refused)
			r = err_set(e, -EINVAL, "invoke parameters must be a JSON object");
		else if (r != -EINVAL)
			r = enomem(e, "invoke parameters");
		goto out;
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		if (base[i].overridden)
			continue;
		if (base[i].flags & KV_INIT)
			r = add_dup(env, base[i].key, base[i].value);
		else
			r = args_put(&a, base[i].key, base[i].value);
	}
	if (r == 0 && body_len)
		r = args_each(&a, body, body_len, copy_member, &pass);
	if (r == 0)
		r = args_end(&a, params);
	if (r < 0) {
		r = enomem(e, "invoke parameters");
		goto out;
	}
	*init_env = TAKE_PTR(env);
out:
	args_fini(&a);
	free(base);
	free(w);
	entity_kv_vec_fini(&kv);
	return r;
}
