/* SPDX-License-Identifier: Apache-2.0 */
/* Configuration loading: cfg_defaults, then one YAML file walked with
 * libyaml's document API against fixed key tables, then the checks of
 * cfg_validate. Every rejection names file:line:col and the dotted key path.
 * Called once by each process's main before threads start; the only user of
 * libyaml (STYLE.md section 1). */
#include "common/cfg.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "common/codec.h"
#include "common/file.h"
#include "common/image_ref.h"

#define KIB UINT64_C(1024)
#define MIB (UINT64_C(1024) * KIB)
#define GIB (UINT64_C(1024) * MIB)

/* A config file is a page of text; anything near this size is a mistake
 * (a log or a binary passed by accident), and the cap bounds what the
 * document loader may allocate. */
#define CFG_FILE_MAX (1u << 20)

#define INVOKERS_MAX 64
#define PREWARM_MAX 16
#define SLOTS_MIN 16u
#define SLOTS_MAX 65536u
#define QUEUE_PAYLOAD_MIN (4 * KIB)
#define QUEUE_PAYLOAD_MAX (64 * MIB)
#define USER_MEMORY_MIN_MB 128u
/* Upper bounds keep `mb << 20` and ms in an int far from overflow in the
 * code that consumes them. */
#define USER_MEMORY_MAX_MB (1024u * 1024u)
#define TIMEOUT_MAX_MS 3600000u
/* Docker refuses containers with less than 6 MB of memory. */
#define MEMORY_MIN_MB 6u
/* Logs are buffered per activation in the invoker's memory. */
#define LOGS_MAX_MB 1024u

#define KEYPATH_MAX 160     /* "runtimes.<63-char kind>.prewarm" fits with room */
#define MARK_PATH_MAX 96    /* longest known path is ~80 */
#define MARKS_MAX 256       /* >= every key the tables can accept once */
#define SHOW_MAX 48         /* bytes of a rendered value in a message */

/* ---- defaults ---------------------------------------------------------- */

/* Char-array initialisers: a literal longer than its buffer fails to
 * compile, so defaults can never be truncated. */
static const struct cfg_auth_key guest_key = {
	.uuid = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502",
	.key = "123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP",
	.namespace = "guest",
};

static const struct cfg_kind default_kinds[] = {
	{ .name = "nodejs:20", .image = "edgewhisk/action-nodejs:1", .is_default = true },
	{ .name = "python:3.11", .image = "edgewhisk/action-python:1", .is_default = true },
	/* A native stem cell is a small static binary in a tiny image, so one
	 * per invoker costs little and hides docker create on the edge's
	 * preferred runtime. */
	{ .name = "native", .image = "edgewhisk/action-native:1", .prewarm = 1 },
};

#define SET_LITERAL(dst, lit)                                               \
	do {                                                                \
		_Static_assert(sizeof(lit) <= sizeof(dst), #dst " too small"); \
		memcpy((dst), (lit), sizeof(lit));                          \
	} while (0)

void cfg_defaults(struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	SET_LITERAL(c->api.address, "127.0.0.1");
	c->api.port = 3233;
	c->api.inflight_body_bytes = 32 * MIB;
	c->keys[0] = guest_key;
	c->key_count = 1;
	SET_LITERAL(c->state_dir, "/var/lib/edgewhisk");
	SET_LITERAL(c->log_level, "info");
	SET_LITERAL(c->queue.name, "/edgewhisk-act-v1");
	c->queue.slots = 1024;
	c->queue.max_payload_bytes = MIB;
	c->invokers.count = 0;
	c->invokers.cpu_count = 0;
	c->invokers.user_memory_mb = 1024;
	SET_LITERAL(c->docker.socket, "/var/run/docker.sock");
	c->containers.pause_grace_ms = 500;
	c->containers.idle_timeout_ms = 600000;
	SET_LITERAL(c->containers.network, "bridge");
	c->containers.pids_limit = 1024;
	c->containers.nofile = 1024;
	c->store.commit_window_ms = 1000;
	c->store.commit_max_records = 256;
	c->activations.max_count = 10000;
	c->activations.max_age_hours = 168;
	_Static_assert(sizeof(default_kinds) / sizeof(default_kinds[0]) <= CFG_MAX_KINDS,
		       "too many default kinds");
	for (size_t i = 0; i < sizeof(default_kinds) / sizeof(default_kinds[0]); i++)
		c->kinds[i] = default_kinds[i];
	c->kind_count = sizeof(default_kinds) / sizeof(default_kinds[0]);
	c->limits.timeout_ms = (struct cfg_limit){ 60000, 100, 300000 };
	c->limits.memory_mb = (struct cfg_limit){ 256, 128, 512 };
	c->limits.logs_mb = (struct cfg_limit){ 10, 0, 10 };
	c->limits.payload_bytes = (struct cfg_limit){ MIB, 0, MIB };
	c->limits.invocations_per_minute = 60000;
	c->limits.fires_per_minute = 60000;
	c->feeds.missed_grace_s = 300;
	c->feeds.mqtt_max_payload = 1024 * 1024;
	c->feeds.mqtt_hold_ms = 2000;
	c->limits.concurrent_invocations = 1000;
}

/* ---- small parsers shared by the loader and cfg_validate --------------- */

/* Plain decimal only: strtoull alone would skip blanks, accept a sign (and
 * negate!) and stop at the first non-digit. -ERANGE on overflow. */
static int parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end = NULL;

	/* Callers pass a buffer scalar_get filled; clang's analyzer misses
	 * that fail_at always returns < 0 and calls it garbage. */
	/* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult) */
	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (end == s || *end != '\0')
		return -EINVAL;
	*out = v;
	return 0;
}

int cfg_size_parse(const char *s, uint64_t *bytes_out)
{
	unsigned long long v;
	char *end = NULL;
	unsigned shift = 0;

	if (!s || !bytes_out || s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end != '\0')
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*bytes_out = (uint64_t)v << shift;
	return 0;
}

/* Render a size the way a user would write it: "4k", "1m", "3g", or bytes. */
static const char *size_str(uint64_t v, char *buf, size_t len)
{
	if (v && v % GIB == 0)
		snprintf(buf, len, "%" PRIu64 "g", v / GIB);
	else if (v && v % MIB == 0)
		snprintf(buf, len, "%" PRIu64 "m", v / MIB);
	else if (v && v % KIB == 0)
		snprintf(buf, len, "%" PRIu64 "k", v / KIB);
	else
		snprintf(buf, len, "%" PRIu64, v);
	return buf;
}

static bool is_alnum(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* strchr would match the terminator, so a NUL inside a YAML scalar must be
 * ruled out first. */
static bool in_set(char ch, const char *set)
{
	return ch != '\0' && strchr(set, ch) != NULL;
}

/* 8-4-4-4-12 hex digits, as OpenWhisk's BasicAuthenticationAuthKey wants. */
static bool uuid_ok(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : codec_hex_value((unsigned char)s[i]) < 0)
			return false;
	}
	return true;
}

static bool authkey_ok(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (size_t i = 0; i < 64; i++)
		if (!is_alnum(s[i]))
			return false;
	return true;
}

/* OpenWhisk's entity name rule \A([\w]|[\w][\w@ .-]*[\w@.-]+)\z, which
 * namespaces ("whisk.system") follow too. */
static bool namespace_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || !(is_alnum(s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(s[i]) && !in_set(s[i], "_@ .-"))
			return false;
	return s[n - 1] != ' ';
}

/* "nodejs:20", "python:3.11", "native": no spaces or slashes, so kind names
 * are safe inside key paths, messages and container labels. */
static bool kind_name_ok(const char *s, size_t n)
{
	if (n == 0 || n >= CFG_NAME_MAX || !is_alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(s[i]) && !in_set(s[i], "._:-"))
			return false;
	return true;
}

static size_t family_len(const char *name)
{
	const char *colon = strchr(name, ':');

	return colon ? (size_t)(colon - name) : strlen(name);
}

static bool has_space(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return true;
	return false;
}

/* Build "parent.name", or "name" at the top level. */
static bool path_join(char *out, size_t len, const char *parent, const char *name)
{
	int n = parent[0] ? snprintf(out, len, "%s.%s", parent, name)
			  : snprintf(out, len, "%s", name);

	return n >= 0 && (size_t)n < len;
}

/* ---- cross-key checks (cfg_validate) ----------------------------------- */

/* The failing key travels next to the message so cfg_load can look up
 * where that key sits in the file; `alt` is the related key to point at when
 * the failing one kept its default (payload.max vs queue.max_payload). */
struct check {
	struct err *e;
	char key[KEYPATH_MAX];
	char alt[KEYPATH_MAX];
};

static int check_fail(struct check *k, const char *key, const char *alt, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int check_fail(struct check *k, const char *key, const char *alt, const char *fmt, ...)
{
	char what[ERR_MSG_MAX];
	va_list ap;

	snprintf(k->key, sizeof(k->key), "%s", key);
	snprintf(k->alt, sizeof(k->alt), "%s", alt ? alt : "");
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_set(k->e, -EINVAL, "%s: %s", key, what);
}

/* A struct built in code (not by cfg_load) may hold anything: never read
 * past a buffer that lacks its NUL. */
static int check_str(struct check *k, const char *key, const char *s, size_t size, bool empty_ok)
{
	size_t n = strnlen(s, size);

	if (n == size)
		return check_fail(k, key, NULL, "not NUL-terminated");
	if (!empty_ok && n == 0)
		return check_fail(k, key, NULL, "must not be empty");
	return 0;
}

static int check_abs_path(struct check *k, const char *key, const char *s, size_t size)
{
	int r = check_str(k, key, s, size, false);

	if (r < 0)
		return r;
	if (s[0] != '/')
		return check_fail(k, key, NULL, "must be an absolute path");
	return 0;
}

static int check_auth(const struct cfg *c, struct check *k)
{
	char key[KEYPATH_MAX], entry[KEYPATH_MAX];

	if (c->key_count == 0)
		return check_fail(k, "auth", NULL, "at least one key is needed");
	if (c->key_count > CFG_MAX_KEYS)
		return check_fail(k, "auth", NULL, "more than %d keys", CFG_MAX_KEYS);
	for (uint32_t i = 0; i < c->key_count; i++) {
		const struct cfg_auth_key *a = &c->keys[i];
		int r;

		snprintf(entry, sizeof(entry), "auth[%" PRIu32 "]", i);
		path_join(key, sizeof(key), entry, "uuid");
		r = check_str(k, key, a->uuid, sizeof(a->uuid), true);
		if (r < 0)
			return r;
		if (a->uuid[0] == '\0')
			return check_fail(k, key, entry, "missing");
		if (!uuid_ok(a->uuid))
			return check_fail(k, key, entry,
					  "\"%s\" is not a UUID (8-4-4-4-12 hex digits)", a->uuid);
		for (uint32_t j = 0; j < i; j++)
			if (strcmp(c->keys[j].uuid, a->uuid) == 0)
				return check_fail(k, key, entry,
						  "\"%s\" is already used by auth[%" PRIu32 "]",
						  a->uuid, j);

		/* Never echo the secret itself: messages end up in logs. */
		path_join(key, sizeof(key), entry, "key");
		r = check_str(k, key, a->key, sizeof(a->key), true);
		if (r < 0)
			return r;
		if (a->key[0] == '\0')
			return check_fail(k, key, entry, "missing");
		if (!authkey_ok(a->key))
			return check_fail(k, key, entry,
					  "must be exactly 64 letters or digits (got %zu characters)",
					  strlen(a->key));

		path_join(key, sizeof(key), entry, "namespace");
		r = check_str(k, key, a->namespace, sizeof(a->namespace), true);
		if (r < 0)
			return r;
		if (a->namespace[0] == '\0')
			return check_fail(k, key, entry, "missing");
		if (!namespace_ok(a->namespace))
			return check_fail(k, key, entry,
					  "\"%s\" is not a valid namespace name", a->namespace);
	}
	return 0;
}

static int check_kinds(const struct cfg *c, struct check *k)
{
	char key[KEYPATH_MAX], entry[KEYPATH_MAX];

	if (c->kind_count > CFG_MAX_KINDS)
		return check_fail(k, "runtimes", NULL, "more than %d kinds", CFG_MAX_KINDS);
	for (uint32_t i = 0; i < c->kind_count; i++) {
		const struct cfg_kind *kd = &c->kinds[i];
		size_t n = strnlen(kd->name, sizeof(kd->name));
		size_t fam;
		int r;

		if (!kind_name_ok(kd->name, n))
			return check_fail(k, "runtimes", NULL,
					  "kind %" PRIu32 " has no valid name", i);
		snprintf(entry, sizeof(entry), "runtimes.%s", kd->name);
		/* "blackbox" means "run the user's image" and is built in; a
		 * ":default" version is what the family's default resolves to. */
		if (strcmp(kd->name, "blackbox") == 0)
			return check_fail(k, entry, NULL, "blackbox is built in, do not list it");
		fam = family_len(kd->name);
		if (strcmp(kd->name + fam, ":default") == 0)
			return check_fail(k, entry, NULL,
					  "\":default\" is reserved; set default: true on a kind instead");
		for (uint32_t j = 0; j < i; j++)
			if (strcmp(c->kinds[j].name, kd->name) == 0)
				return check_fail(k, entry, NULL, "listed twice");

		path_join(key, sizeof(key), entry, "image");
		r = check_str(k, key, kd->image, sizeof(kd->image), true);
		if (r < 0)
			return r;
		if (kd->image[0] == '\0')
			return check_fail(k, key, entry, "missing");
		if (!image_ref_is_valid(kd->image))
			return check_fail(k, key, entry,
					  "is not a valid image reference (name[:tag][@digest])");

		path_join(key, sizeof(key), entry, "prewarm");
		if (kd->prewarm > PREWARM_MAX)
			return check_fail(k, key, entry, "%" PRIu32 " is out of range [0, %d]",
					  kd->prewarm, PREWARM_MAX);

		if (!kd->is_default)
			continue;
		for (uint32_t j = 0; j < i; j++) {
			const struct cfg_kind *o = &c->kinds[j];

			if (o->is_default && family_len(o->name) == fam &&
			    memcmp(o->name, kd->name, fam) == 0) {
				path_join(key, sizeof(key), entry, "default");
				return check_fail(k, key, entry,
						  "%s is already the default of family \"%.*s\"",
						  o->name, (int)fam, kd->name);
			}
		}
	}
	return 0;
}

enum unit { UNIT_MS, UNIT_MB, UNIT_BYTES };

static const char *unit_str(enum unit u, uint64_t v, char *buf, size_t len)
{
	switch (u) {
	case UNIT_MS:
		snprintf(buf, len, "%" PRIu64, v);
		return buf;
	case UNIT_MB:
		snprintf(buf, len, "%" PRIu64 "m", v);
		return buf;
	case UNIT_BYTES:
		return size_str(v, buf, len);
	}
	return "?";
}

struct limit_spec {
	const char *name;
	enum unit unit;
	uint64_t lo, hi;   /* every one of default/min/max lies in [lo, hi] */
};

static int check_limit(const struct cfg_limit *l, const struct limit_spec *s, struct check *k)
{
	const uint64_t vals[3] = { l->def, l->min, l->max };
	static const char *const names[3] = { "default", "min", "max" };
	char key[KEYPATH_MAX], alt[KEYPATH_MAX], b1[32], b2[32], b3[32];

	for (int i = 0; i < 3; i++) {
		if (vals[i] >= s->lo && vals[i] <= s->hi)
			continue;
		snprintf(key, sizeof(key), "limits.%s.%s", s->name, names[i]);
		return check_fail(k, key, NULL, "%s is out of range [%s, %s]",
				  unit_str(s->unit, vals[i], b1, sizeof(b1)),
				  unit_str(s->unit, s->lo, b2, sizeof(b2)),
				  unit_str(s->unit, s->hi, b3, sizeof(b3)));
	}
	if (l->min > l->max) {
		snprintf(key, sizeof(key), "limits.%s.min", s->name);
		snprintf(alt, sizeof(alt), "limits.%s.max", s->name);
		return check_fail(k, key, alt, "%s is larger than limits.%s.max (%s)",
				  unit_str(s->unit, l->min, b1, sizeof(b1)), s->name,
				  unit_str(s->unit, l->max, b2, sizeof(b2)));
	}
	if (l->def < l->min || l->def > l->max) {
		snprintf(key, sizeof(key), "limits.%s.default", s->name);
		snprintf(alt, sizeof(alt), "limits.%s.%s", s->name,
			 l->def < l->min ? "min" : "max");
		return check_fail(k, key, alt, "%s is outside [%s, %s]",
				  unit_str(s->unit, l->def, b1, sizeof(b1)),
				  unit_str(s->unit, l->min, b2, sizeof(b2)),
				  unit_str(s->unit, l->max, b3, sizeof(b3)));
	}
	return 0;
}

static int check_limits(const struct cfg *c, struct check *k)
{
	static const struct limit_spec specs[4] = {
		{ "timeout", UNIT_MS, 1, TIMEOUT_MAX_MS },
		{ "memory", UNIT_MB, MEMORY_MIN_MB, USER_MEMORY_MAX_MB },
		{ "logs", UNIT_MB, 0, LOGS_MAX_MB },
		{ "payload", UNIT_BYTES, 0, QUEUE_PAYLOAD_MAX },
	};
	const struct cfg_limit *lims[4] = {
		&c->limits.timeout_ms, &c->limits.memory_mb,
		&c->limits.logs_mb, &c->limits.payload_bytes,
	};
	char b1[32], b2[32];

	for (int i = 0; i < 4; i++) {
		int r = check_limit(lims[i], &specs[i], k);

		if (r < 0)
			return r;
	}
	/* Payloads travel through ring slots / the arena, sized by the queue. */
	if (c->limits.payload_bytes.max > c->queue.max_payload_bytes)
		return check_fail(k, "limits.payload.max", "queue.max_payload",
				  "%s is larger than queue.max_payload (%s)",
				  size_str(c->limits.payload_bytes.max, b1, sizeof(b1)),
				  size_str(c->queue.max_payload_bytes, b2, sizeof(b2)));
	/* An action that may use more than its invoker's whole budget could
	 * never be scheduled. */
	if (c->limits.memory_mb.max > c->invokers.user_memory_mb)
		return check_fail(k, "limits.memory.max", "invokers.user_memory",
				  "%" PRIu64 "m is larger than invokers.user_memory (%" PRIu64 "m)",
				  c->limits.memory_mb.max, c->invokers.user_memory_mb);
	return 0;
}

static int cfg_check(const struct cfg *c, struct check *k)
{
	static const char *const levels[] = { "error", "warn", "info", "debug" };
	char b1[32], b2[32], b3[32];
	bool level_ok = false;
	int r;

	r = check_str(k, "api.address", c->api.address, sizeof(c->api.address), false);
	if (r < 0)
		return r;
	if (has_space(c->api.address))
		return check_fail(k, "api.address", NULL,
				  "must not contain spaces or control characters");
	if (c->api.port == 0)
		return check_fail(k, "api.port", NULL, "0 is out of range [1, 65535]");
	/* Room for one request of the largest payload at least. */
	if (c->api.inflight_body_bytes < MIB)
		return check_fail(k, "api.inflight_body_bytes", NULL, "must be at least 1m");
	if (c->feeds.mqtt_max_payload < 1024 || c->feeds.mqtt_max_payload > 64 * MIB)
		return check_fail(k, "feeds.mqtt_max_payload", NULL, "must be from 1k to 64m");
	if (c->feeds.mqtt_hold_ms < 10 || c->feeds.mqtt_hold_ms > 60000)
		return check_fail(k, "feeds.mqtt_hold_ms", NULL, "must be from 10 to 60000");

	r = check_auth(c, k);
	if (r < 0)
		return r;

	r = check_abs_path(k, "state_dir", c->state_dir, sizeof(c->state_dir));
	if (r < 0)
		return r;

	r = check_str(k, "log_level", c->log_level, sizeof(c->log_level), false);
	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		level_ok = level_ok || strcmp(c->log_level, levels[i]) == 0;
	if (!level_ok)
		return check_fail(k, "log_level", NULL,
				  "\"%s\" is not one of error, warn, info, debug", c->log_level);

	/* shm_open(3): one leading slash and no other. */
	r = check_str(k, "queue.name", c->queue.name, sizeof(c->queue.name), false);
	if (r < 0)
		return r;
	if (c->queue.name[0] != '/' || c->queue.name[1] == '\0' ||
	    strchr(c->queue.name + 1, '/') || has_space(c->queue.name))
		return check_fail(k, "queue.name", NULL,
				  "\"%s\" must be \"/name\" with no other slash or spaces",
				  c->queue.name);
	/* The ring masks free-running indices, so capacity must be 2^n. */
	if (c->queue.slots < SLOTS_MIN || c->queue.slots > SLOTS_MAX ||
	    (c->queue.slots & (c->queue.slots - 1)) != 0)
		return check_fail(k, "queue.slots", NULL,
				  "%" PRIu32 " is not a power of two in [%u, %u]",
				  c->queue.slots, SLOTS_MIN, SLOTS_MAX);
	if (c->queue.max_payload_bytes < QUEUE_PAYLOAD_MIN ||
	    c->queue.max_payload_bytes > QUEUE_PAYLOAD_MAX)
		return check_fail(k, "queue.max_payload", NULL, "%s is out of range [%s, %s]",
				  size_str(c->queue.max_payload_bytes, b1, sizeof(b1)),
				  size_str(QUEUE_PAYLOAD_MIN, b2, sizeof(b2)),
				  size_str(QUEUE_PAYLOAD_MAX, b3, sizeof(b3)));

	if (c->invokers.count > INVOKERS_MAX)
		return check_fail(k, "invokers.count", NULL,
				  "%" PRIu32 " is out of range [1, %d] (or auto)",
				  c->invokers.count, INVOKERS_MAX);
	if (c->invokers.cpu_count > CFG_MAX_CPUS)
		return check_fail(k, "invokers.cpus", NULL, "more than %d entries", CFG_MAX_CPUS);
	for (uint32_t i = 0; i < c->invokers.cpu_count; i++) {
		if (c->invokers.cpus[i] < CPU_SETSIZE)
			continue;
		snprintf(b1, sizeof(b1), "invokers.cpus[%" PRIu32 "]", i);
		return check_fail(k, b1, "invokers.cpus", "%" PRIu32 " is out of range [0, %d]",
				  c->invokers.cpus[i], CPU_SETSIZE - 1);
	}
	if (c->invokers.user_memory_mb < USER_MEMORY_MIN_MB ||
	    c->invokers.user_memory_mb > USER_MEMORY_MAX_MB)
		return check_fail(k, "invokers.user_memory", NULL,
				  "%" PRIu64 "m is out of range [%um, %um]",
				  c->invokers.user_memory_mb, USER_MEMORY_MIN_MB, USER_MEMORY_MAX_MB);

	r = check_abs_path(k, "docker.socket", c->docker.socket, sizeof(c->docker.socket));
	if (r < 0)
		return r;

	r = check_str(k, "containers.network", c->containers.network,
		      sizeof(c->containers.network), false);
	if (r < 0)
		return r;
	/* The invoker reaches each container inside its own namespace, so
	 * any network with one works, "none" included; "host" and another
	 * container's namespace would share one between actions. */
	if (strcmp(c->containers.network, "host") == 0 ||
	    strncmp(c->containers.network, "container:", 10) == 0 || has_space(c->containers.network))
		return check_fail(k, "containers.network", NULL,
				  "\"%s\" is not allowed: use bridge (the default), none (no network) "
				  "or a network of your own",
				  c->containers.network);
	if (c->containers.pids_limit < 16 || c->containers.pids_limit > 1000000)
		return check_fail(k, "containers.pids_limit", NULL,
				  "%" PRIu32 " is out of range [16, 1000000]", c->containers.pids_limit);
	if (c->containers.nofile < 64 || c->containers.nofile > 1048576)
		return check_fail(k, "containers.nofile", NULL,
				  "%" PRIu32 " is out of range [64, 1048576]", c->containers.nofile);

	if (c->store.commit_window_ms > 10000)
		return check_fail(k, "store.commit_window_ms", NULL,
				  "%" PRIu32 " is out of range [0, 10000]", c->store.commit_window_ms);
	if (c->store.commit_max_records < 1 || c->store.commit_max_records > 65536)
		return check_fail(k, "store.commit_max_records", NULL,
				  "%" PRIu32 " is out of range [1, 65536]",
				  c->store.commit_max_records);

	r = check_kinds(c, k);
	if (r < 0)
		return r;
	return check_limits(c, k);
}

int cfg_validate(const struct cfg *c, struct err *e)
{
	struct check k = { .e = e };

	if (!c)
		return err_set(e, -EINVAL, "cfg_validate: no config");
	return cfg_check(c, &k);
}

/* ---- YAML walk --------------------------------------------------------- */

/* Where a key's value sits in the file, kept so that errors found after the
 * walk (cfg_check) can still name a line. */
struct mark_rec {
	char path[MARK_PATH_MAX];
	size_t line, col;   /* 1-based */
};

struct load {
	struct cfg *c;
	yaml_document_t *doc;
	const char *name;
	struct err *e;
	uint32_t mark_count;
	struct mark_rec marks[MARKS_MAX];
};

static void mark_record(struct load *ld, const char *path, const yaml_node_t *n)
{
	struct mark_rec *m;
	int len;

	/* A full table only costs positions in later messages. */
	if (ld->mark_count >= MARKS_MAX)
		return;
	m = &ld->marks[ld->mark_count];
	len = snprintf(m->path, sizeof(m->path), "%s", path);
	if (len < 0 || (size_t)len >= sizeof(m->path))
		return;
	m->line = n->start_mark.line + 1;
	m->col = n->start_mark.column + 1;
	ld->mark_count++;
}

static const struct mark_rec *mark_find(const struct load *ld, const char *path)
{
	if (!path[0])
		return NULL;
	for (uint32_t i = 0; i < ld->mark_count; i++)
		if (strcmp(ld->marks[i].path, path) == 0)
			return &ld->marks[i];
	return NULL;
}

/* Render bytes for a message: printable ASCII as is, the rest as \xNN,
 * cut with "..." so a hostile value cannot flood a log line. */
static const char *render(char *out, size_t outlen, const unsigned char *s, size_t n, bool quote)
{
	size_t o = 0;
	bool cut = false;

	if (outlen < 8) {
		if (outlen)
			out[0] = '\0';
		return out;
	}
	if (quote)
		out[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		bool plain = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\';
		size_t need = plain ? 1 : 4;

		/* Keep room for the escape, closing quote, "..." and NUL. */
		if (o + need + 5 > outlen) {
			cut = true;
			break;
		}
		if (plain)
			out[o++] = (char)s[i];
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", s[i]);
	}
	if (quote)
		out[o++] = '"';
	if (cut) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

static const char *show(const yaml_node_t *n, char *buf, size_t len)
{
	return render(buf, len, n->data.scalar.value, n->data.scalar.length, true);
}

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a sequence";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "an empty node";
	}
}

static int fail_at(struct load *ld, const yaml_node_t *n, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail_at(struct load *ld, const yaml_node_t *n, const char *path, const char *fmt, ...)
{
	char what[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (path[0])
		return err_set(ld->e, -EINVAL, "%s:%zu:%zu: %s: %s", ld->name,
			       n->start_mark.line + 1, n->start_mark.column + 1, path, what);
	return err_set(ld->e, -EINVAL, "%s:%zu:%zu: %s", ld->name,
		       n->start_mark.line + 1, n->start_mark.column + 1, what);
}

static yaml_node_t *node_get(struct load *ld, int index)
{
	return yaml_document_get_node(ld->doc, index);
}

/* Copy scalar `n` into buf as a C string. `what` names the expected value
 * ("a number") for overlong input, where "too long" would be less helpful. */
static int scalar_get(struct load *ld, const yaml_node_t *n, const char *path,
		      char *buf, size_t len, const char *what)
{
	char shown[SHOW_MAX];

	if (n->type != YAML_SCALAR_NODE)
		return fail_at(ld, n, path, "expected a scalar, got %s", node_kind(n));
	if (memchr(n->data.scalar.value, '\0', n->data.scalar.length))
		return fail_at(ld, n, path, "contains a NUL byte");
	if (n->data.scalar.length >= len) {
		if (what)
			return fail_at(ld, n, path, "%s is not %s",
				       show(n, shown, sizeof(shown)), what);
		return fail_at(ld, n, path, "longer than %zu bytes", len - 1);
	}
	memcpy(buf, n->data.scalar.value, n->data.scalar.length);
	buf[n->data.scalar.length] = '\0';
	return 0;
}

static int node_uint(struct load *ld, const yaml_node_t *n, const char *path,
		     uint64_t max, uint64_t *out)
{
	char buf[32], shown[SHOW_MAX];
	uint64_t v = 0;
	int r;

	r = scalar_get(ld, n, path, buf, sizeof(buf), "a number");
	if (r < 0)
		return r;
	r = parse_u64(buf, &v);
	if (r == -ERANGE || (r == 0 && v > max))
		return fail_at(ld, n, path, "%s is too large (max %" PRIu64 ")",
			       show(n, shown, sizeof(shown)), max);
	if (r < 0)
		return fail_at(ld, n, path, "%s is not a number", show(n, shown, sizeof(shown)));
	*out = v;
	return 0;
}

#define SIZE_HINT "a size (use e.g. 256m, 1g)"

static int node_size(struct load *ld, const yaml_node_t *n, const char *path, uint64_t *out)
{
	char buf[32], shown[SHOW_MAX];
	int r;

	r = scalar_get(ld, n, path, buf, sizeof(buf), SIZE_HINT);
	if (r < 0)
		return r;
	if (cfg_size_parse(buf, out) < 0)
		return fail_at(ld, n, path, "%s is not " SIZE_HINT, show(n, shown, sizeof(shown)));
	return 0;
}

static int node_bool(struct load *ld, const yaml_node_t *n, const char *path, bool *out)
{
	/* YAML 1.2 core schema spellings; 1.1's yes/no/on/off are a known trap. */
	static const char *const yes[] = { "true", "True", "TRUE" };
	static const char *const no[] = { "false", "False", "FALSE" };
	char buf[8], shown[SHOW_MAX];
	int r;

	r = scalar_get(ld, n, path, buf, sizeof(buf), "true or false");
	if (r < 0)
		return r;
	for (int i = 0; i < 3; i++) {
		if (strcmp(buf, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(buf, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return fail_at(ld, n, path, "%s is not true or false", show(n, shown, sizeof(shown)));
}

/* libyaml keeps duplicate keys; a second `port:` silently winning is how
 * configs go wrong, so refuse it. Each mapping fails at its first unknown
 * key or at the first key beyond its table, so the scan stays short. */
static int dup_check(struct load *ld, const yaml_node_t *map, const yaml_node_pair_t *pair,
		     const yaml_node_t *key, const char *path)
{
	for (const yaml_node_pair_t *p = map->data.mapping.pairs.start; p < pair; p++) {
		const yaml_node_t *k = node_get(ld, p->key);

		if (k && k->type == YAML_SCALAR_NODE &&
		    k->data.scalar.length == key->data.scalar.length &&
		    memcmp(k->data.scalar.value, key->data.scalar.value, key->data.scalar.length) == 0)
			return fail_at(ld, key, path, "duplicate key (first at line %zu)",
				       k->start_mark.line + 1);
	}
	return 0;
}

/* Key tables: each entry names a key, how to read its value and where to
 * store it relative to the table's base object. */
enum ftype {
	FT_STR,       /* char[len] */
	FT_UINT,      /* unsigned integer of `len` bytes (2, 4 or 8) */
	FT_BOOL,
	FT_SIZE,      /* size in bytes, uint64_t */
	FT_SIZE_MB,   /* size in whole MiB, stored as MiB in a uint64_t */
	FT_MAP,       /* nested mapping; its table's base is base + off */
	FT_FN,        /* custom reader working on ld->c */
};

struct field {
	const char *name;
	enum ftype type;
	size_t off, len;
	const struct field *sub;
	int (*fn)(struct load *ld, const yaml_node_t *n, const char *path);
};

#define MEMBER_SIZE(T, m) sizeof(((T *)0)->m)
#define F_VAL(nm, ty, T, m) { nm, ty, offsetof(T, m), MEMBER_SIZE(T, m), NULL, NULL }
#define F_MAP(nm, T, m, tab) { nm, FT_MAP, offsetof(T, m), 0, tab, NULL }
#define F_SECTION(nm, tab) { nm, FT_MAP, 0, 0, tab, NULL }
#define F_FN(nm, f) { nm, FT_FN, 0, 0, NULL, f }
#define F_END { NULL, FT_STR, 0, 0, NULL, NULL }

static int walk_map(struct load *ld, const yaml_node_t *n, const char *path,
		    const struct field *tab, void *base);

static int field_load(struct load *ld, const struct field *f, const yaml_node_t *n,
		      const char *path, void *base)
{
	char *dst = (char *)base + f->off;
	uint64_t v = 0;
	bool b = false;
	int r;

	mark_record(ld, path, n);
	switch (f->type) {
	case FT_STR:
		return scalar_get(ld, n, path, dst, f->len, NULL);
	case FT_UINT: {
		/* memcpy, not a cast: the base is a char pointer and
		 * -Wcast-align is fatal on armhf. */
		uint64_t max = f->len == 2 ? UINT16_MAX : f->len == 4 ? UINT32_MAX : UINT64_MAX;

		r = node_uint(ld, n, path, max, &v);
		if (r < 0)
			return r;
		if (f->len == 2) {
			uint16_t v16 = (uint16_t)v;

			memcpy(dst, &v16, sizeof(v16));
		} else if (f->len == 4) {
			uint32_t v32 = (uint32_t)v;

			memcpy(dst, &v32, sizeof(v32));
		} else {
			memcpy(dst, &v, sizeof(v));
		}
		return 0;
	}
	case FT_BOOL:
		r = node_bool(ld, n, path, &b);
		if (r == 0)
			memcpy(dst, &b, sizeof(b));
		return r;
	case FT_SIZE:
		r = node_size(ld, n, path, &v);
		if (r == 0)
			memcpy(dst, &v, sizeof(v));
		return r;
	case FT_SIZE_MB: {
		char shown[SHOW_MAX];

		r = node_size(ld, n, path, &v);
		if (r < 0)
			return r;
		if (v % MIB)
			return fail_at(ld, n, path,
				       "%s is not a whole number of megabytes (use e.g. 256m)",
				       show(n, shown, sizeof(shown)));
		v /= MIB;
		memcpy(dst, &v, sizeof(v));
		return 0;
	}
	case FT_MAP:
		return walk_map(ld, n, path, f->sub, dst);
	case FT_FN:
		return f->fn(ld, n, path);
	}
	return fail_at(ld, n, path, "internal error: bad field type");
}

static int walk_map(struct load *ld, const yaml_node_t *n, const char *path,
		    const struct field *tab, void *base)
{
	char child[KEYPATH_MAX], name[SHOW_MAX];

	if (n->type != YAML_MAPPING_NODE)
		return fail_at(ld, n, path, "expected a mapping, got %s", node_kind(n));
	for (const yaml_node_pair_t *p = n->data.mapping.pairs.start;
	     p < n->data.mapping.pairs.top; p++) {
		const yaml_node_t *key = node_get(ld, p->key), *val = node_get(ld, p->value);
		const struct field *f = NULL;
		int r;

		if (!key || !val)
			return fail_at(ld, n, path, "internal error: dangling node");
		if (key->type != YAML_SCALAR_NODE)
			return fail_at(ld, key, path, "keys must be scalars, got %s",
				       node_kind(key));
		for (const struct field *t = tab; t->name; t++) {
			if (strlen(t->name) == key->data.scalar.length &&
			    memcmp(t->name, key->data.scalar.value, key->data.scalar.length) == 0) {
				f = t;
				break;
			}
		}
		if (!f) {
			/* The path is for the message only, so a cut is fine. */
			render(name, sizeof(name), key->data.scalar.value,
			       key->data.scalar.length, false);
			path_join(child, sizeof(child), path, name);
			return fail_at(ld, key, child, "unknown key");
		}
		if (!path_join(child, sizeof(child), path, f->name))
			return fail_at(ld, key, path, "key path too long");
		r = dup_check(ld, n, p, key, child);
		if (r < 0)
			return r;
		r = field_load(ld, f, val, child, base);
		if (r < 0)
			return r;
	}
	return 0;
}

/* invokers.count: "auto" (stored as 0) or 1..INVOKERS_MAX. */
static int load_invoker_count(struct load *ld, const yaml_node_t *n, const char *path)
{
	char buf[32], shown[SHOW_MAX];
	uint64_t v = 0;
	int r;

	r = scalar_get(ld, n, path, buf, sizeof(buf), "auto or a number");
	if (r < 0)
		return r;
	if (strcmp(buf, "auto") == 0) {
		ld->c->invokers.count = 0;
		return 0;
	}
	r = parse_u64(buf, &v);
	if (r == -EINVAL)
		return fail_at(ld, n, path, "%s is not auto or a number",
			       show(n, shown, sizeof(shown)));
	if (r < 0 || v < 1 || v > INVOKERS_MAX)
		return fail_at(ld, n, path, "%s is out of range [1, %d] (or auto)",
			       show(n, shown, sizeof(shown)), INVOKERS_MAX);
	ld->c->invokers.count = (uint32_t)v;
	return 0;
}

static int load_cpus(struct load *ld, const yaml_node_t *n, const char *path)
{
	struct cfg *c = ld->c;
	char child[KEYPATH_MAX];
	uint32_t i = 0;

	if (n->type != YAML_SEQUENCE_NODE)
		return fail_at(ld, n, path, "expected a sequence of CPU numbers, got %s",
			       node_kind(n));
	c->invokers.cpu_count = 0;
	for (const yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++, i++) {
		const yaml_node_t *item = node_get(ld, *it);
		uint64_t v = 0;
		int r;

		if (!item)
			return fail_at(ld, n, path, "internal error: dangling node");
		if (i >= CFG_MAX_CPUS)
			return fail_at(ld, item, path, "more than %d entries", CFG_MAX_CPUS);
		snprintf(child, sizeof(child), "%s[%" PRIu32 "]", path, i);
		r = node_uint(ld, item, child, CPU_SETSIZE - 1, &v);
		if (r < 0)
			return r;
		c->invokers.cpus[i] = (uint32_t)v;
		c->invokers.cpu_count = i + 1;
	}
	return 0;
}

static const struct field auth_fields[] = {
	F_VAL("uuid", FT_STR, struct cfg_auth_key, uuid),
	F_VAL("key", FT_STR, struct cfg_auth_key, key),
	F_VAL("namespace", FT_STR, struct cfg_auth_key, namespace),
	F_END,
};

/* auth: a list of {uuid, key, namespace}; replaces the default guest key
 * rather than appending, so a deployment can drop it. */
static int load_auth(struct load *ld, const yaml_node_t *n, const char *path)
{
	struct cfg *c = ld->c;
	char child[KEYPATH_MAX];
	uint32_t i = 0;

	if (n->type != YAML_SEQUENCE_NODE)
		return fail_at(ld, n, path, "expected a sequence of {uuid, key, namespace}, got %s",
			       node_kind(n));
	memset(c->keys, 0, sizeof(c->keys));
	c->key_count = 0;
	for (const yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++, i++) {
		const yaml_node_t *item = node_get(ld, *it);
		int r;

		if (!item)
			return fail_at(ld, n, path, "internal error: dangling node");
		if (i >= CFG_MAX_KEYS)
			return fail_at(ld, item, path, "more than %d keys", CFG_MAX_KEYS);
		snprintf(child, sizeof(child), "%s[%" PRIu32 "]", path, i);
		mark_record(ld, child, item);
		r = walk_map(ld, item, child, auth_fields, &c->keys[i]);
		if (r < 0)
			return r;
		c->key_count = i + 1;
	}
	return 0;
}

static const struct field kind_fields[] = {
	F_VAL("image", FT_STR, struct cfg_kind, image),
	F_VAL("default", FT_BOOL, struct cfg_kind, is_default),
	F_VAL("prewarm", FT_UINT, struct cfg_kind, prewarm),
	F_END,
};

/* runtimes: kind name -> {image, default, prewarm}; replaces the default
 * list, so what the file shows is exactly what the platform offers. */
static int load_runtimes(struct load *ld, const yaml_node_t *n, const char *path)
{
	struct cfg *c = ld->c;
	char child[KEYPATH_MAX], shown[SHOW_MAX];
	uint32_t i = 0;

	if (n->type != YAML_MAPPING_NODE)
		return fail_at(ld, n, path, "expected a mapping of kind names, got %s",
			       node_kind(n));
	memset(c->kinds, 0, sizeof(c->kinds));
	c->kind_count = 0;
	for (const yaml_node_pair_t *p = n->data.mapping.pairs.start;
	     p < n->data.mapping.pairs.top; p++, i++) {
		const yaml_node_t *key = node_get(ld, p->key), *val = node_get(ld, p->value);
		struct cfg_kind *kd;
		int r;

		if (!key || !val)
			return fail_at(ld, n, path, "internal error: dangling node");
		if (key->type != YAML_SCALAR_NODE)
			return fail_at(ld, key, path, "keys must be scalars, got %s",
				       node_kind(key));
		if (!kind_name_ok((const char *)key->data.scalar.value, key->data.scalar.length)) {
			render(shown, sizeof(shown), key->data.scalar.value,
			       key->data.scalar.length, false);
			path_join(child, sizeof(child), path, shown);
			return fail_at(ld, key, child,
				       "not a valid kind name (a letter or digit, then letters, "
				       "digits, '.', '_', '-', ':'; at most %d bytes)",
				       CFG_NAME_MAX - 1);
		}
		if (i >= CFG_MAX_KINDS)
			return fail_at(ld, key, path, "more than %d kinds", CFG_MAX_KINDS);
		kd = &c->kinds[i];
		/* kind_name_ok bounded the length below CFG_NAME_MAX. */
		memcpy(kd->name, key->data.scalar.value, key->data.scalar.length);
		kd->name[key->data.scalar.length] = '\0';
		if (!path_join(child, sizeof(child), path, kd->name))
			return fail_at(ld, key, path, "key path too long");
		r = dup_check(ld, n, p, key, child);
		if (r < 0)
			return r;
		mark_record(ld, child, val);
		r = walk_map(ld, val, child, kind_fields, kd);
		if (r < 0)
			return r;
		c->kind_count = i + 1;
	}
	return 0;
}

static const struct field api_fields[] = {
	F_VAL("address", FT_STR, struct cfg, api.address),
	F_VAL("port", FT_UINT, struct cfg, api.port),
	F_VAL("inflight_body_bytes", FT_SIZE, struct cfg, api.inflight_body_bytes),
	F_END,
};

static const struct field queue_fields[] = {
	F_VAL("name", FT_STR, struct cfg, queue.name),
	F_VAL("slots", FT_UINT, struct cfg, queue.slots),
	F_VAL("max_payload", FT_SIZE, struct cfg, queue.max_payload_bytes),
	F_END,
};

static const struct field invoker_fields[] = {
	F_FN("count", load_invoker_count),
	F_FN("cpus", load_cpus),
	F_VAL("user_memory", FT_SIZE_MB, struct cfg, invokers.user_memory_mb),
	F_END,
};

static const struct field docker_fields[] = {
	F_VAL("socket", FT_STR, struct cfg, docker.socket),
	F_END,
};

static const struct field container_fields[] = {
	F_VAL("pause_grace", FT_UINT, struct cfg, containers.pause_grace_ms),
	F_VAL("idle_timeout", FT_UINT, struct cfg, containers.idle_timeout_ms),
	F_VAL("network", FT_STR, struct cfg, containers.network),
	F_VAL("pids_limit", FT_UINT, struct cfg, containers.pids_limit),
	F_VAL("nofile", FT_UINT, struct cfg, containers.nofile),
	F_END,
};

static const struct field store_fields[] = {
	F_VAL("commit_window_ms", FT_UINT, struct cfg, store.commit_window_ms),
	F_VAL("commit_max_records", FT_UINT, struct cfg, store.commit_max_records),
	F_END,
};

static const struct field activation_fields[] = {
	F_VAL("max_count", FT_UINT, struct cfg, activations.max_count),
	F_VAL("max_age_hours", FT_UINT, struct cfg, activations.max_age_hours),
	F_END,
};

static const struct field feeds_fields[] = {
	F_VAL("missed_grace_s", FT_UINT, struct cfg, feeds.missed_grace_s),
	F_VAL("mqtt_max_payload", FT_SIZE, struct cfg, feeds.mqtt_max_payload),
	F_VAL("mqtt_hold_ms", FT_UINT, struct cfg, feeds.mqtt_hold_ms),
	F_END,
};

static const struct field limit_ms_fields[] = {
	F_VAL("default", FT_UINT, struct cfg_limit, def),
	F_VAL("min", FT_UINT, struct cfg_limit, min),
	F_VAL("max", FT_UINT, struct cfg_limit, max),
	F_END,
};

static const struct field limit_mb_fields[] = {
	F_VAL("default", FT_SIZE_MB, struct cfg_limit, def),
	F_VAL("min", FT_SIZE_MB, struct cfg_limit, min),
	F_VAL("max", FT_SIZE_MB, struct cfg_limit, max),
	F_END,
};

static const struct field limit_bytes_fields[] = {
	F_VAL("default", FT_SIZE, struct cfg_limit, def),
	F_VAL("min", FT_SIZE, struct cfg_limit, min),
	F_VAL("max", FT_SIZE, struct cfg_limit, max),
	F_END,
};

static const struct field limits_fields[] = {
	F_MAP("timeout", struct cfg, limits.timeout_ms, limit_ms_fields),
	F_MAP("memory", struct cfg, limits.memory_mb, limit_mb_fields),
	F_MAP("logs", struct cfg, limits.logs_mb, limit_mb_fields),
	F_MAP("payload", struct cfg, limits.payload_bytes, limit_bytes_fields),
	F_VAL("invocations_per_minute", FT_UINT, struct cfg, limits.invocations_per_minute),
	F_VAL("fires_per_minute", FT_UINT, struct cfg, limits.fires_per_minute),
	F_VAL("concurrent_invocations", FT_UINT, struct cfg, limits.concurrent_invocations),
	F_END,
};

static const struct field top_fields[] = {
	F_SECTION("api", api_fields),
	F_FN("auth", load_auth),
	F_VAL("state_dir", FT_STR, struct cfg, state_dir),
	F_VAL("log_level", FT_STR, struct cfg, log_level),
	F_SECTION("queue", queue_fields),
	F_SECTION("invokers", invoker_fields),
	F_SECTION("docker", docker_fields),
	F_SECTION("containers", container_fields),
	F_SECTION("store", store_fields),
	F_SECTION("activations", activation_fields),
	F_FN("runtimes", load_runtimes),
	F_SECTION("limits", limits_fields),
	F_SECTION("feeds", feeds_fields),
	F_END,
};

/* libyaml reports reader errors (bad UTF-8, control characters) as a byte
 * offset only; count lines to give the same file:line:col shape. */
static void offset_to_mark(const char *buf, size_t len, size_t off, size_t *line, size_t *col)
{
	size_t l = 1, c = 1;

	if (off > len)
		off = len;
	for (size_t i = 0; i < off; i++) {
		if (buf[i] == '\n') {
			l++;
			c = 1;
		} else {
			c++;
		}
	}
	*line = l;
	*col = c;
}

static int syntax_fail(struct load *ld, const yaml_parser_t *p, const char *buf, size_t len)
{
	const char *problem = p->problem ? p->problem : "invalid YAML";
	size_t line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return err_set(ld->e, -ENOMEM, "%s: out of memory while parsing YAML", ld->name);
	case YAML_READER_ERROR:
		offset_to_mark(buf, len, p->problem_offset, &line, &col);
		if (p->problem_value != -1)
			return err_set(ld->e, -EINVAL, "%s:%zu:%zu: invalid YAML: %s (byte 0x%02x)",
				       ld->name, line, col, problem, (unsigned)p->problem_value & 0xffu);
		return err_set(ld->e, -EINVAL, "%s:%zu:%zu: invalid YAML: %s",
			       ld->name, line, col, problem);
	case YAML_SCANNER_ERROR:
	case YAML_PARSER_ERROR:
	case YAML_COMPOSER_ERROR:
		if (p->context)
			return err_set(ld->e, -EINVAL,
				       "%s:%zu:%zu: invalid YAML: %s (%s at line %zu, column %zu)",
				       ld->name, p->problem_mark.line + 1, p->problem_mark.column + 1,
				       problem, p->context, p->context_mark.line + 1,
				       p->context_mark.column + 1);
		return err_set(ld->e, -EINVAL, "%s:%zu:%zu: invalid YAML: %s", ld->name,
			       p->problem_mark.line + 1, p->problem_mark.column + 1, problem);
	default:
		return err_set(ld->e, -EINVAL, "%s: invalid YAML: %s", ld->name, problem);
	}
}

static bool node_is_empty(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.length == 0 &&
	       n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static int load_buffer(struct cfg *c, const char *buf, size_t len, const char *name, struct err *e)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	struct check k = { .e = e };
	const struct mark_rec *m;
	struct load *ld = NULL;
	yaml_node_t *root;
	int r;

	/* ~30 KiB of key positions: heap, so small thread stacks and fuzzers
	 * calling this in a loop are not surprised. */
	ld = calloc(1, sizeof(*ld));
	if (!ld)
		return err_set(e, -ENOMEM, "%s: out of memory", name);
	ld->c = c;
	ld->name = name;
	ld->e = e;

	if (!yaml_parser_initialize(&parser)) {
		free(ld);
		return err_set(e, -ENOMEM, "%s: out of memory", name);
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);

	/* On failure yaml_parser_load has already freed the document. */
	if (!yaml_parser_load(&parser, &doc)) {
		r = syntax_fail(ld, &parser, buf, len);
		goto out_parser;
	}
	ld->doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (root && !node_is_empty(root)) {
		r = walk_map(ld, root, "", top_fields, c);
		if (r < 0)
			goto out_doc;
	}

	/* One document per file: a stray "---" usually means a merge gone
	 * wrong, and the rest of the stream must at least be valid YAML. */
	if (!yaml_parser_load(&parser, &extra)) {
		r = syntax_fail(ld, &parser, buf, len);
		goto out_doc;
	}
	root = yaml_document_get_root_node(&extra);
	if (root) {
		r = fail_at(ld, root, "", "only one YAML document is allowed");
		yaml_document_delete(&extra);
		goto out_doc;
	}
	yaml_document_delete(&extra);

	r = cfg_check(c, &k);
	if (r < 0) {
		m = mark_find(ld, k.key);
		if (!m)
			m = mark_find(ld, k.alt);
		if (m)
			err_wrap(e, r, "%s:%zu:%zu", name, m->line, m->col);
		else
			err_wrap(e, r, "%s", name);
	}
out_doc:
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
	free(ld);
	return r;
}

int cfg_load_string(struct cfg *c, const char *yaml, const char *name, struct err *e)
{
	if (!name)
		name = "<string>";
	if (!c || !yaml)
		return err_set(e, -EINVAL, "%s: no config or no input", name);
	return load_buffer(c, yaml, strlen(yaml), name, e);
}

/* Read the whole file (at most CFG_FILE_MAX bytes) into a heap buffer. */
static int file_read(const char *path, char **buf_out, size_t *len_out, struct err *e)
{
	int r = file_read_all(path, CFG_FILE_MAX, buf_out, len_out);

	if (r == -EFBIG)
		return err_set(e, r, "read %s: larger than %u bytes", path, CFG_FILE_MAX);
	if (r == -EISDIR)
		return err_set(e, r, "read %s: is a directory", path);
	if (r < 0)
		return err_set(e, r, "open %s: %s", path, strerror(-r));
	return 0;
}

int cfg_load(struct cfg *c, const char *path, struct err *e)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (!c || !path)
		return err_set(e, -EINVAL, "cfg_load: no config or no path");
	r = file_read(path, &buf, &len, e);
	if (r < 0)
		return r;
	r = load_buffer(c, buf, len, path, e);
	free(buf);
	return r;
}

/* ---- invoker placement -------------------------------------------------- */

static uint32_t online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	/* sysconf fails only in odd sandboxes; one CPU is a safe answer. */
	if (n < 1)
		return 1;
	/* Not (long)UINT32_MAX: that is -1 where long is 32 bits (armhf). */
	return (unsigned long long)n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

uint32_t cfg_invoker_count(const struct cfg *c)
{
	uint32_t n;

	if (c->invokers.count)
		return c->invokers.count;
	n = online_cpus();
	return n > INVOKERS_MAX ? INVOKERS_MAX : n;
}

uint32_t cfg_invoker_cpu(const struct cfg *c, uint32_t id)
{
	if (c->invokers.cpu_count && c->invokers.cpu_count <= CFG_MAX_CPUS)
		return c->invokers.cpus[id % c->invokers.cpu_count];
	return id % online_cpus();
}
