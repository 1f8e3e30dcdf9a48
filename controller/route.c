/* SPDX-License-Identifier: Apache-2.0 */
/* Request routing (see route.h): URI path -> struct route, OpenWhisk's name
 * rule, query parameters and Basic credentials. Pure functions on caller
 * strings with fixed stack buffers: no malloc, no I/O, so every input is
 * bounded by NAME_SIZE and the fuzzer can throw anything at it.
 * Called by controller/api.c for each request. */
#include "controller/route.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/codec.h"

#define MSG_NAME "The name of the entity contains illegal characters."
#define MSG_PKG_DEFAULT "The package name 'default' is reserved."
#define MSG_ACT_INVALID "The activation id is not valid."
#define MSG_MALFORMED "malformed URI"

#define ROUTE_SEGS_MAX 7         /* api v1 namespaces ns actions pkg name */
#define ACTIVATION_ID_LEN 32
#define AUTH_TOKEN_MAX 512       /* base64 chars; uuid:key needs 136 */
#define AUTH_DECODED_MAX CODEC_B64_DECODED_MAX(AUTH_TOKEN_MAX)

/* ---- path -------------------------------------------------------------- */

/* One decoded path segment. `len` is the full decoded length even when it
 * exceeds the buffer, which then holds only the first NAME_SIZE - 1
 * bytes: an oversized segment can be measured and rejected but never
 * matched or copied. Decoded bytes may include NUL and '/'; both fail
 * every name check. */
struct seg {
	char buf[NAME_SIZE];
	size_t len;
};

static bool seg_is_long(const struct seg *s)
{
	return s->len > NAME_SIZE - 1;
}

static bool seg_eq(const struct seg *s, const char *lit)
{
	size_t n = strlen(lit);

	return s->len == n && memcmp(s->buf, lit, n) == 0;
}

static int seg_decode(struct seg *s, const char *raw, const char *end)
{
	unsigned char c;
	int r;

	s->len = 0;
	while ((r = codec_pct_next(&raw, end, false, &c)) == 1) {
		if (s->len < sizeof(s->buf) - 1)
			s->buf[s->len] = (char)c;
		s->len++;
	}
	if (r < 0)
		return -1;
	s->buf[seg_is_long(s) ? sizeof(s->buf) - 1 : s->len] = '\0';
	return 0;
}

/* Names (namespace, package, action) must be short enough and match the
 * regex; copied into dst (NAME_SIZE bytes) only when valid. */
static int take_name(const struct seg *s, char *dst, struct err *e)
{
	if (seg_is_long(s) || !name_is_valid_n(s->buf, s->len))
		return err_set(e, -EINVAL, MSG_NAME);
	memcpy(dst, s->buf, s->len + 1);
	return 0;
}

/* Called once every name of the path is known valid, so a bad name is
 * reported before the reserved one. */
static int check_package(const char *pkg, struct err *e)
{
	if (strcmp(pkg, "default") == 0)
		return err_set(e, -EINVAL, MSG_PKG_DEFAULT);
	return 0;
}

/* Upstream ActivationId: 32 chars, else the length message. We keep to the
 * lowercase hex we generate (a random UUID without dashes). */
static int take_activation_id(const struct seg *s, char *dst, struct err *e)
{
	if (s->len != ACTIVATION_ID_LEN)
		return err_set(e, -EINVAL, "Activation id length is %zu but must be %d.", s->len,
			       ACTIVATION_ID_LEN);
	for (size_t i = 0; i < s->len; i++) {
		unsigned char c = (unsigned char)s->buf[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return err_set(e, -EINVAL, MSG_ACT_INVALID);
	}
	memcpy(dst, s->buf, s->len + 1);
	return 0;
}

/* /api/v1/namespaces/{ns}/... with segs[3] = ns already taken. */
static int parse_namespace_tail(const struct seg *segs, size_t n, bool trailing_slash,
				struct route *out, struct err *e)
{
	const struct seg *coll = &segs[4];
	int r;

	if (n == 5 && seg_eq(coll, "limits")) {
		out->kind = ROUTE_LIMITS;
		return 0;
	}
	if (seg_eq(coll, "actions")) {
		if (n == 5) {
			out->kind = ROUTE_ACTIONS;
			return 0;
		}
		if (n == 6 && trailing_slash) {     /* actions/{pkg}/ lists a package */
			r = take_name(&segs[5], out->package, e);
			if (r == 0)
				r = check_package(out->package, e);
			out->kind = ROUTE_ACTIONS;
			return r;
		}
		if (n == 6) {
			r = take_name(&segs[5], out->name, e);
			out->kind = ROUTE_ACTION;
			return r;
		}
		/* n == 7: actions/{pkg}/{name} */
		r = take_name(&segs[5], out->package, e);
		if (r == 0)
			r = take_name(&segs[6], out->name, e);
		if (r == 0)
			r = check_package(out->package, e);
		out->kind = ROUTE_ACTION;
		return r;
	}
	if (seg_eq(coll, "triggers") || seg_eq(coll, "rules") || seg_eq(coll, "packages")) {
		bool trig = seg_eq(coll, "triggers"), rule = seg_eq(coll, "rules");

		if (n == 5) {
			out->kind = trig ? ROUTE_TRIGGERS : rule ? ROUTE_RULES : ROUTE_PACKAGES;
			return 0;
		}
		out->kind = trig ? ROUTE_TRIGGER : rule ? ROUTE_RULE : ROUTE_PACKAGE;
		r = take_name(&segs[5], out->name, e);
		if (r == 0 && out->kind == ROUTE_PACKAGE)
			r = check_package(out->name, e);
		return r;
	}
	if (seg_eq(coll, "activations")) {
		if (n == 5) {
			out->kind = ROUTE_ACTIVATIONS;
			return 0;
		}
		if (n == 6) {
			out->kind = ROUTE_ACTIVATION;
		} else if (seg_eq(&segs[6], "result")) {
			out->kind = ROUTE_ACTIVATION_RESULT;
		} else if (seg_eq(&segs[6], "logs")) {
			out->kind = ROUTE_ACTIVATION_LOGS;
		} else {
			out->kind = ROUTE_NONE;
			return 0;
		}
		return take_activation_id(&segs[5], out->name, e);
	}
	out->kind = ROUTE_NONE;
	return 0;
}

/* Is this a shape we serve? Checked before any name is validated so an
 * unknown path is a 404 whatever its segments contain. */
static bool namespace_shape_known(const struct seg *segs, size_t n)
{
	const struct seg *coll = &segs[4];

	if (seg_eq(coll, "limits"))
		return n == 5;
	if (seg_eq(coll, "actions"))
		return n <= 7;
	if (seg_eq(coll, "activations"))
		return n <= 6 || seg_eq(&segs[6], "result") || seg_eq(&segs[6], "logs");
	if (seg_eq(coll, "triggers") || seg_eq(coll, "rules") || seg_eq(coll, "packages"))
		return n <= 6;
	return false;
}

static const char *const web_exts[] = { "http", "json", "html", "svg", "text" };

/* /api/v1/web/{ns}/{pkg}/{name}[.ext][/anything]: the tail after the
 * action segment is free-form, so it is split here rather than with the
 * fixed segment table. p points after "api/v1/web/". */
static int parse_web(const char *p, const char *end, struct route *out, struct err *e)
{
	struct seg s[3];
	const char *q = p;

	for (int i = 0; i < 3; i++) {
		const char *slash = memchr(q, '/', (size_t)(end - q));
		const char *seg_end = i < 2 ? slash : (slash ? slash : end);

		if (!seg_end || seg_end == q)
			return 0;
		if (seg_decode(&s[i], q, seg_end) < 0)
			return err_set(e, -EINVAL, MSG_MALFORMED);
		q = seg_end;
		if (i < 2)
			q++;
	}
	snprintf(out->ext, sizeof(out->ext), "http");
	if (!seg_is_long(&s[2])) {
		char *dot = strrchr(s[2].buf, '.');

		for (size_t i = 0; dot && i < sizeof(web_exts) / sizeof(web_exts[0]); i++) {
			if (strcmp(dot + 1, web_exts[i]) == 0) {
				snprintf(out->ext, sizeof(out->ext), "%s", web_exts[i]);
				s[2].len = (size_t)(dot - s[2].buf);
				*dot = '\0';
				break;
			}
		}
	}
	if (take_name(&s[0], out->ns, e) < 0 || take_name(&s[2], out->name, e) < 0)
		return -EINVAL;
	if (!seg_eq(&s[1], "default") && take_name(&s[1], out->package, e) < 0)
		return -EINVAL;
	out->web_path = q;
	out->web_path_len = (size_t)(end - q);
	out->kind = ROUTE_WEB;
	return 0;
}

/* /api/{tenant}/{path} with tenant not "v1": an HTTP route of the
 * namespace `tenant` (controller/gateway.h). p points after "api/". The
 * path stays raw: the route's templates decide what its segments are. */
static int parse_gateway(const char *p, const char *end, struct route *out, struct err *e)
{
	const char *slash = memchr(p, '/', (size_t)(end - p));
	struct seg s;

	if (!slash || slash == p || slash + 1 >= end)
		return 0;
	if (seg_decode(&s, p, slash) < 0)
		return err_set(e, -EINVAL, MSG_MALFORMED);
	if (seg_eq(&s, "v1") || seg_is_long(&s) || !name_is_valid_n(s.buf, s.len))
		return 0;
	memcpy(out->ns, s.buf, s.len);
	out->ns[s.len] = '\0';
	out->web_path = slash;
	out->web_path_len = (size_t)(end - slash);
	out->kind = ROUTE_GATEWAY;
	return 0;
}

int route_parse(const char *uri, struct route *r, struct err *e)
{
	struct seg segs[ROUTE_SEGS_MAX];
	struct route out;
	const char *path, *end, *p;
	bool trailing_slash = false;
	size_t n = 0;
	int rc;

	memset(&out, 0, sizeof(out));
	out.kind = ROUTE_NONE;
	if (!uri || uri[0] != '/')
		goto done;
	path = uri + 1;
	end = path + strcspn(path, "?#");
	if (strncmp(path, "api/v1/web/", 11) == 0 && end >= path + 11) {
		rc = parse_web(path + 11, end, &out, e);
		if (rc < 0)
			return rc;
		goto done;
	}
	if (strncmp(path, "api/", 4) == 0 && strncmp(path, "api/v1/", 7) != 0 && end > path + 4) {
		rc = parse_gateway(path + 4, end, &out, e);
		if (rc < 0)
			return rc;
		if (out.kind == ROUTE_GATEWAY)
			goto done;
	}
	if (end > path && end[-1] == '/') {
		/* One trailing slash, as akka's pathEndOrSingleSlash; it also
		 * marks actions/{pkg}/ as a package listing. */
		trailing_slash = true;
		end--;
	}

	/* Split and decode; any empty segment left ("//", a second trailing
	 * slash) or too many segments is a path we do not serve. */
	if (trailing_slash && end == path)
		goto done;              /* "//" */
	for (p = path; p < end;) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		const char *seg_end = slash ? slash : end;

		if (seg_end == p || n == ROUTE_SEGS_MAX)
			goto done;
		if (seg_decode(&segs[n], p, seg_end) < 0)
			return err_set(e, -EINVAL, MSG_MALFORMED);
		n++;
		if (!slash)
			break;
		p = slash + 1;
		if (p == end)   /* "a//" became "a/" above: empty last segment */
			goto done;
	}
	for (size_t i = 0; i < n; i++) {
		if (seg_eq(&segs[i], ".") || seg_eq(&segs[i], ".."))
			goto done;
	}

	if (n == 0) {
		out.kind = ROUTE_ROOT;
		goto done;
	}
	if (n == 1) {
		if (seg_eq(&segs[0], "ping"))
			out.kind = ROUTE_PING;
		else if (seg_eq(&segs[0], "health"))
			out.kind = ROUTE_HEALTH;
		goto done;
	}
	if (!seg_eq(&segs[0], "api") || !seg_eq(&segs[1], "v1"))
		goto done;
	if (n == 2) {
		out.kind = ROUTE_API_INFO;
		goto done;
	}
	if (!seg_eq(&segs[2], "namespaces"))
		goto done;
	if (n == 3) {
		out.kind = ROUTE_NAMESPACES;
		goto done;
	}
	if (n < 5 || !namespace_shape_known(segs, n))
		goto done;
	rc = take_name(&segs[3], out.ns, e);
	if (rc < 0)
		return rc;
	rc = parse_namespace_tail(segs, n, trailing_slash, &out, e);
	if (rc < 0)
		return rc;
done:
	if (out.kind == ROUTE_NONE)
		memset(&out, 0, sizeof(out));
	*r = out;
	return 0;
}

/* ---- query ------------------------------------------------------------- */

/* The query part of uri: after the first '?', up to a '#'. */
static bool query_span(const char *uri, const char **begin, const char **end)
{
	const char *q;

	if (!uri)
		return false;
	q = uri + strcspn(uri, "?#");
	if (*q != '?')
		return false;
	*begin = q + 1;
	*end = *begin + strcspn(*begin, "#");
	return true;
}

/* Does the encoded key [p, end) decode to exactly `key`? A key that does
 * not decode matches nothing. */
static bool query_key_eq(const char *p, const char *end, const char *key)
{
	unsigned char c;
	int r;

	while ((r = codec_pct_next(&p, end, true, &c)) == 1) {
		if (*key == '\0' || (unsigned char)*key != c)
			return false;
		key++;
	}
	return r == 0 && *key == '\0';
}

int route_query_get(const char *uri, const char *key, char *buf, size_t size)
{
	const char *p, *end;

	if (!key || !query_span(uri, &p, &end))
		return -ENOENT;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pair_end = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(pair_end - p));
		const char *key_end = eq ? eq : pair_end;

		if (pair_end > p && query_key_eq(p, key_end, key)) {
			const char *v = eq ? eq + 1 : pair_end;
			size_t len = 0;
			unsigned char c;
			int r;

			while ((r = codec_pct_next(&v, pair_end, true, &c)) == 1) {
				if (c == '\0')
					return -EINVAL;
				if (len + 1 >= size) {
					if (size > 0)
						buf[0] = '\0';
					return -ENAMETOOLONG;
				}
				buf[len++] = (char)c;
			}
			if (r < 0)
				return -EINVAL;
			if (size == 0)
				return -ENAMETOOLONG;
			buf[len] = '\0';
			return 0;
		}
		p = amp ? amp + 1 : end;
	}
	return -ENOENT;
}

int route_query_u64(const char *uri, const char *key, uint64_t def, uint64_t min, uint64_t max,
		    uint64_t *out)
{
	char buf[32];
	uint64_t v = 0;
	int r = route_query_get(uri, key, buf, sizeof(buf));

	if (r == -ENOENT) {
		*out = def;
		return 0;
	}
	if (r < 0 || buf[0] == '\0')
		return -EINVAL;
	for (const char *s = buf; *s; s++) {
		unsigned d;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int route_query_bool(const char *uri, const char *key, bool def, bool *out)
{
	char buf[8];
	int r = route_query_get(uri, key, buf, sizeof(buf));

	if (r == -ENOENT) {
		*out = def;
		return 0;
	}
	if (r < 0)
		return -EINVAL;
	if (strcmp(buf, "true") == 0)
		*out = true;
	else if (strcmp(buf, "false") == 0)
		*out = false;
	else
		return -EINVAL;
	return 0;
}

/* ---- auth -------------------------------------------------------------- */

/* Compare a presented secret to the configured one touching every byte of
 * the configured key whatever matches: only the presented length (not
 * secret) shapes the timing. */
static bool secret_eq(const char *want, size_t want_len, const unsigned char *got, size_t got_len)
{
	volatile unsigned char diff = (unsigned char)(want_len != got_len);

	for (size_t i = 0; i < want_len; i++) {
		unsigned char g = i < got_len ? got[i] : 0;

		diff |= (unsigned char)((unsigned char)want[i] ^ g);
	}
	return diff == 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int route_auth(const struct cfg *c, const char *authorization)
{
	unsigned char dec[AUTH_DECODED_MAX];
	const unsigned char *colon, *secret;
	const char *s = authorization, *tok;
	size_t tok_len, dec_len = 0, uuid_len, secret_len, keys;
	int rc = -EACCES;

	if (!s)
		return -ENOENT;
	while (is_blank(*s))
		s++;
	if (*s == '\0')
		return -ENOENT;
	if (!c || strncasecmp(s, "basic", 5) != 0 || !is_blank(s[5]))
		return -EACCES;
	s += 5;
	while (is_blank(*s))
		s++;
	tok = s;
	while (*s && !is_blank(*s))
		s++;
	tok_len = (size_t)(s - tok);
	while (is_blank(*s))
		s++;
	if (*s != '\0' || tok_len > AUTH_TOKEN_MAX)
		return -EACCES;
	if (codec_b64_decode(tok, tok_len, (char *)dec, &dec_len, CODEC_B64_STRICT) < 0)
		goto out;
	colon = memchr(dec, ':', dec_len);
	if (!colon || memchr(dec, '\0', dec_len))
		goto out;
	uuid_len = (size_t)(colon - dec);
	secret = colon + 1;
	secret_len = dec_len - uuid_len - 1;
	keys = c->key_count < CFG_MAX_KEYS ? c->key_count : CFG_MAX_KEYS;
	/* cppcheck 2.10 wrongly takes keys as < 1 here (value flow). */
	/* cppcheck-suppress knownConditionTrueFalse */
	for (size_t i = 0; i < keys; i++) {
		const struct cfg_auth_key *k = &c->keys[i];
		size_t klen = strnlen(k->key, sizeof(k->key));

		/* The uuid names the key and is not secret: a plain compare. */
		if (strnlen(k->uuid, sizeof(k->uuid)) != uuid_len ||
		    memcmp(k->uuid, dec, uuid_len) != 0)
			continue;
		if (klen > 0 && secret_eq(k->key, klen, secret, secret_len))
			rc = (int)i;
		break;
	}
out:
	explicit_bzero(dec, sizeof(dec));
	return rc;
}
