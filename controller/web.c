/* SPDX-License-Identifier: Apache-2.0 */
/* Web actions (see web.h): request -> action arguments and action result ->
 * HTTP response. Pure functions over cJSON trees; api.c owns the transport.
 * Messages are OpenWhisk's (WebActions.scala / Messages.scala) so clients
 * that match on them keep working. */
#include "controller/web.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/codec.h"
#include "common/jscan.h"
#include "controller/args.h"

#define MSG_RESERVED "Request defines parameters that are not allowed (e.g., reserved properties)."
#define MSG_MALFORMED "The request content was malformed."
#define MSG_PROCESSING "There was an error processing your request."
#define MSG_MEDIA "Response type in header did not match generated content type."
#define MSG_INVALID "The action did not produce a valid response."
#define CT_JSON "application/json"

/* Internal outcome of a soft failure that becomes a 400 (not an errno). */
#define WEB_BAD 1

int web_ext_parse(const char *ext, enum web_ext *out)
{
	static const char *const names[] = { "http", "json", "html", "svg", "text" };

	for (size_t i = 0; ext && i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(ext, names[i]) == 0) {
			*out = (enum web_ext)i;
			return 0;
		}
	}
	return -EINVAL;
}

enum media { MEDIA_BINARY, MEDIA_TEXT, MEDIA_JSON, MEDIA_FORM };

/* Classify a Content-Type by its media type (lower case, parameters cut).
 * No type at all is application/octet-stream to HTTP, hence binary. */
static enum media media_of(const char *ct)
{
	char mt[128];
	size_t n = 0;

	if (!ct)
		return MEDIA_BINARY;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	while (*ct && *ct != ';' && n + 1 < sizeof(mt))
		mt[n++] = (char)tolower((unsigned char)*ct++);
	while (n > 0 && (mt[n - 1] == ' ' || mt[n - 1] == '\t'))
		n--;
	mt[n] = '\0';
	if (strcmp(mt, "application/x-www-form-urlencoded") == 0)
		return MEDIA_FORM;
	if (strcmp(mt, CT_JSON) == 0 || (n > 5 && strcmp(mt + n - 5, "+json") == 0))
		return MEDIA_JSON;
	if (strncmp(mt, "text/", 5) == 0 || strcmp(mt, "application/xml") == 0 ||
	    strstr(mt, "+json") || strstr(mt, "+xml"))
		return MEDIA_TEXT;
	return MEDIA_BINARY;
}

/* Standard alphabet, padding optional (as java.util.Base64's decoder, which
 * upstream uses); anything else, whitespace included, is -EINVAL. */
static int b64_decode(const char *in, size_t len, char **out, size_t *out_len)
{
	char *buf = malloc(CODEC_B64_DECODED_MAX(len) + 1);
	int rc;

	if (!buf)
		return -ENOMEM;
	rc = codec_b64_decode(in, len, buf, out_len, CODEC_B64_PAD_OPTIONAL);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[*out_len] = '\0';
	*out = buf;
	return 0;
}

static void lower(char *s)
{
	for (; s && *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* application/x-www-form-urlencoded decoding of s[0..len). %00 is refused:
 * parameters are C strings. -EINVAL, -ENOMEM. */
static int pct_decode(const char *s, size_t len, char **out)
{
	char *buf = malloc(len + 1), *o = buf;
	const char *end = s + len;
	unsigned char c;
	int r;

	if (!buf)
		return -ENOMEM;
	while ((r = codec_pct_next(&s, end, true, &c)) == 1 && c != '\0')
		*o++ = (char)c;
	if (r != 0) {
		free(buf);
		return -EINVAL;
	}
	*o = '\0';
	*out = buf;
	return 0;
}

/* Set obj[key] = val (replacing), taking val. -ENOMEM (val freed). */
static int obj_set(cJSON *obj, const char *key, cJSON *val)
{
	bool ok = val && (cJSON_GetObjectItemCaseSensitive(obj, key)
				  ? cJSON_ReplaceItemInObjectCaseSensitive(obj, key, val)
				  : cJSON_AddItemToObject(obj, key, val));

	if (!ok)
		cJSON_Delete(val);
	return ok ? 0 : -ENOMEM;
}

static bool key_is_reserved(const char *key)
{
	return strncmp(key, "__ow_", 5) == 0;
}

/* Each field of "k=v&k2=v2", decoded, to fn (which may stop the walk
 * with a negative value). -EINVAL bad escape, -EPERM reserved key,
 * -ENOMEM, or fn's. */
static int form_each(const char *s, size_t len, int (*fn)(void *ctx, const char *k, const char *v),
		     void *ctx)
{
	const char *end = s + len;

	while (s < end) {
		const char *amp = memchr(s, '&', (size_t)(end - s)), *seg_end = amp ? amp : end;
		const char *eq = memchr(s, '=', (size_t)(seg_end - s));
		char *key = NULL, *val = NULL;
		int rc = 0;

		if (seg_end > s) {
			rc = pct_decode(s, (size_t)((eq ? eq : seg_end) - s), &key);
			if (rc == 0)
				rc = eq ? pct_decode(eq + 1, (size_t)(seg_end - eq - 1), &val)
					: pct_decode("", 0, &val);
			if (rc == 0 && key_is_reserved(key))
				rc = -EPERM;
			if (rc == 0)
				rc = fn(ctx, key, val);
		}
		free(key);
		free(val);
		if (rc < 0)
			return rc;
		s = seg_end + 1;
	}
	return 0;
}

static int form_set(void *obj, const char *k, const char *v)
{
	return obj_set(obj, k, cJSON_CreateString(v));
}

/* Merge the fields into obj as strings, last wins (the query: small). */
static int form_merge(cJSON *obj, const char *s, size_t len)
{
	return form_each(s, len, form_set, obj);
}

static cJSON *headers_object(const struct web_request *r)
{
	cJSON *h = cJSON_CreateObject();

	for (size_t i = 0; h && i < r->header_count; i++) {
		const struct web_header *w = &r->headers[i];
		char *name = w->name ? strdup(w->name) : NULL;

		lower(name);
		if (w->name &&
		    (!name || obj_set(h, name, cJSON_CreateString(w->value ? w->value : "")) < 0)) {
			cJSON_Delete(h);
			h = NULL;
		}
		free(name);
	}
	return h;
}

/* The body as the JSON string __ow_body: as is when text-like, else
 * base64. Quoted straight from the bytes. */
static int put_body_string(struct args *a, const struct web_request *r)
{
	const unsigned char *b = (const unsigned char *)r->body;
	char *enc;
	int rc;

	if (media_of(r->content_type) != MEDIA_BINARY)
		return args_put_string(a, "__ow_body", r->body, r->body_len);
	enc = codec_b64_encode(b, r->body_len, NULL);
	if (!enc)
		return -ENOMEM;
	rc = args_put_string(a, "__ow_body", enc, strlen(enc));
	free(enc);
	return rc;
}

/* Pass 1 of a form body: reserved keys, and what each field overrides. */
static int form_mark(void *ctx, const char *k, const char *v)
{
	struct args_base *b = args_find(ctx, k, strlen(k));

	(void)v;
	if (b)
		b->overridden = true;
	return 0;
}

static int form_put(void *ctx, const char *k, const char *v)
{
	return args_put_string(ctx, k, v, strlen(v));
}

/* Pass 1 of a JSON object body: reserved keys, and overrides. */
static int json_mark(void *ctx, const char *key, size_t klen, const struct jscan_member *m)
{
	struct args_base *b;

	(void)m;
	(void)klen;
	if (key_is_reserved(key)) /* NUL-terminated by args_each */
		return -EPERM;
	if ((b = args_find(ctx, key, klen)))
		b->overridden = true;
	return 0;
}

static int json_put(void *ctx, const char *key, size_t klen, const struct jscan_member *m)
{
	(void)key;
	(void)klen;
	return args_put_raw(ctx, m->key, m->key_len, m->val, m->val_len);
}

/* The first byte that is not JSON whitespace, or 0. */
static char first_byte(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return s[i];
	return 0;
}

enum body_kind { BODY_NONE, BODY_FORM, BODY_OBJECT, BODY_STRING };

/* How the body merges (web.h); -EINVAL for malformed JSON of a JSON type. */
static int body_kind_of(const struct web_request *r, enum body_kind *k)
{
	enum media m = media_of(r->content_type);

	*k = BODY_NONE;
	if (!r->body || r->body_len == 0)
		return 0;
	if (r->raw_http) {
		*k = BODY_STRING;
		return 0;
	}
	if (m == MEDIA_FORM) {
		*k = BODY_FORM;
		return 0;
	}
	*k = BODY_STRING;
	if (m != MEDIA_JSON && r->content_type)
		return 0;
	if (first_byte(r->body, r->body_len) == '{' && json_is_value(r->body, r->body_len)) {
		*k = BODY_OBJECT;
		return 0;
	}
	return r->content_type && !json_is_value(r->body, r->body_len) ? -EINVAL : 0;
}

int web_params(const cJSON *defaults, const struct web_request *r, struct buf *out, struct err *e)
{
	_cleanup_json_ cJSON *p = cJSON_IsObject(defaults) ? cJSON_Duplicate(defaults, 1)
							   : cJSON_CreateObject();
	_cleanup_json_ cJSON *method = NULL;
	struct args_base *base = NULL;
	struct args a = { 0 };
	enum body_kind bk = BODY_NONE;
	size_t n = 0, i = 0;
	const cJSON *c;
	int rc = p ? 0 : -ENOMEM;

	if (rc == 0 && !r->raw_http && r->query && *r->query) {
		rc = form_merge(p, r->query, strlen(r->query));
		if (rc == -EINVAL)
			return err_set(e, rc, "malformed query");
	}
	if (rc == 0)
		rc = body_kind_of(r, &bk);
	if (rc == -EINVAL)
		return err_set(e, rc, MSG_MALFORMED);
	cJSON_ArrayForEach(c, p)
		n++;
	base = rc == 0 ? calloc(n ? n : 1, sizeof(*base)) : NULL;
	if (rc == 0 && !base)
		rc = -ENOMEM;
	for (c = base ? p->child : NULL; c; c = c->next)
		base[i++] = (struct args_base){ c->string, c, 0, false };
	if (rc == 0)
		rc = args_begin(&a, base, n);
	/* Pass 1: what the body overrides (and its reserved keys). */
	if (rc == 0 && bk == BODY_FORM)
		rc = form_each(r->body, r->body_len, form_mark, &a);
	else if (rc == 0 && bk == BODY_OBJECT)
		rc = args_each(&a, r->body, r->body_len, json_mark, &a);
	if (rc == -EINVAL) {
		args_fini(&a);
		free(base);
		return err_set(e, rc, MSG_MALFORMED);
	}
	for (i = 0; rc == 0 && i < n; i++)
		if (!base[i].overridden)
			rc = args_put(&a, base[i].key, base[i].value);
	if (rc == 0 && r->raw_http && r->query && *r->query)
		rc = args_put_string(&a, "__ow_query", r->query, strlen(r->query));
	if (rc == 0 && bk == BODY_FORM)
		rc = form_each(r->body, r->body_len, form_put, &a);
	else if (rc == 0 && bk == BODY_OBJECT)
		rc = args_each(&a, r->body, r->body_len, json_put, &a);
	else if (rc == 0 && bk == BODY_STRING)
		rc = put_body_string(&a, r);
	if (rc == 0) {
		method = cJSON_CreateString(r->method ? r->method : "get");
		if (method)
			lower(method->valuestring);
		rc = method ? args_put(&a, "__ow_method", method) : -ENOMEM;
	}
	if (rc == 0) {
		_cleanup_json_ cJSON *h = headers_object(r);

		rc = h ? args_put(&a, "__ow_headers", h) : -ENOMEM;
	}
	if (rc == 0) {
		const char *path = r->path ? r->path : "";

		rc = args_put_string(&a, "__ow_path", path, strlen(path));
	}
	if (rc == 0 && r->user)
		rc = args_put_string(&a, "__ow_user", r->user, strlen(r->user));
	if (rc == 0)
		rc = args_end(&a, out);
	args_fini(&a);
	free(base);
	if (rc == -EPERM)
		return err_set(e, -EINVAL, MSG_RESERVED);
	if (rc < 0)
		return err_set(e, rc, "web action parameters: out of memory");
	return 0;
}

void web_response_fini(struct web_response *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->header_count; i++) {
		free(w->headers[i].name);
		free(w->headers[i].value);
	}
	free(w->headers);
	free(w->content_type);
	free(w->body);
	memset(w, 0, sizeof(*w));
}

/* Body = copy of s[0..len), Content-Type = ct. -ENOMEM. */
static int set_body(struct web_response *w, int status, const char *ct, const char *s, size_t len)
{
	free(w->content_type);
	free(w->body);
	w->status = status;
	w->content_type = strdup(ct);
	w->body = strndup(s, len);
	w->body_len = len;
	return w->content_type && w->body ? 0 : -ENOMEM;
}

static int set_json(struct web_response *w, int status, const cJSON *v)
{
	size_t len = 0;
	char *s = json_print(v, &len);
	int rc = s ? set_body(w, status, CT_JSON, s, len) : -ENOMEM;

	json_free(s);
	return rc;
}

/* Replace whatever was built with a 400 {"error","code"} body. */
static int set_error(struct web_response *w, const char *msg, const char *code)
{
	_cleanup_json_ cJSON *j = cJSON_CreateObject();

	web_response_fini(w);
	if (!j || !cJSON_AddStringToObject(j, "error", msg) ||
	    (code && !cJSON_AddStringToObject(j, "code", code)))
		return -ENOMEM;
	return set_json(w, 400, j);
}

/* A header value as text: string, number or boolean; NULL otherwise. */
static char *header_text(const cJSON *v, bool *bad)
{
	char num[32];

	if (cJSON_IsString(v))
		return strdup(v->valuestring);
	if (cJSON_IsBool(v))
		return strdup(cJSON_IsTrue(v) ? "true" : "false");
	if (cJSON_IsNumber(v)) {
		snprintf(num, sizeof(num), "%.15g", v->valuedouble);
		return strdup(num);
	}
	*bad = true;
	return NULL;
}

/* RFC 9110 §5.1: a field name is a token. */
static bool header_name_ok(const char *s)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~";

	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(tchar, *s))
			return false;
	return true;
}

/* RFC 9110 §5.5: visible bytes, space and tab (obs-text allowed); never
 * CR or LF, which would start a header line of the action's choosing. */
static bool header_value_ok(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return false;
	return true;
}

/* Framing is the server's: an action's own would desynchronise the
 * connection, so these are dropped. */
static bool header_is_framing(const char *name)
{
	return strcasecmp(name, "content-length") == 0 ||
	       strcasecmp(name, "transfer-encoding") == 0 || strcasecmp(name, "connection") == 0;
}

static int add_header(struct web_response *w, const char *name, const cJSON *v)
{
	struct web_header_owned *h;
	bool bad = !header_name_ok(name);
	char *val = bad ? NULL : header_text(v, &bad);

	if (!val)
		return bad ? WEB_BAD : -ENOMEM;
	if (!header_value_ok(val)) {
		free(val);
		return WEB_BAD;
	}
	if (header_is_framing(name)) {
		free(val);
		return 0;
	}
	if (strcasecmp(name, "content-type") == 0) {
		free(w->content_type);
		w->content_type = val;
		return 0;
	}
	h = realloc(w->headers, (w->header_count + 1) * sizeof(*h));
	if (!h) {
		free(val);
		return -ENOMEM;
	}
	w->headers = h;
	h[w->header_count].name = strdup(name);
	h[w->header_count].value = val;
	if (!h[w->header_count++].name)
		return -ENOMEM;
	return 0;
}

/* 100..599 from a whole number or a string of digits; -1 otherwise. */
static int status_of(const cJSON *sc)
{
	const char *s = cJSON_GetStringValue(sc);
	size_t n = s ? strlen(s) : 0;
	double d = cJSON_IsNumber(sc)				     ? sc->valuedouble
		   : n && n <= 3 && strspn(s, "0123456789") == n ? strtol(s, NULL, 10)
								     : -1;

	return d == floor(d) && d >= 100 && d <= 599 ? (int)d : -1;
}

/* The .http projection. 0, WEB_BAD (invalid response), -ENOMEM. */
static int respond_http(const cJSON *v, struct web_response *w)
{
	const cJSON *sc, *hs, *body;
	int rc = 0;

	w->status = 204;
	if (!v)
		return 0;
	if (!cJSON_IsObject(v))
		return WEB_BAD;
	sc = cJSON_GetObjectItemCaseSensitive(v, "statusCode");
	hs = cJSON_GetObjectItemCaseSensitive(v, "headers");
	body = cJSON_GetObjectItemCaseSensitive(v, "body");
	if (cJSON_IsNull(body))
		body = NULL;
	if (sc && (w->status = status_of(sc)) < 0)
		return WEB_BAD;
	if (!sc)
		w->status = body ? 200 : 204;
	if (hs && !cJSON_IsObject(hs))
		return WEB_BAD;
	for (const cJSON *h = hs ? hs->child : NULL; h && rc == 0; h = h->next) {
		if (!cJSON_IsArray(h))
			rc = add_header(w, h->string, h);
		for (const cJSON *a = cJSON_IsArray(h) ? h->child : NULL; a && rc == 0; a = a->next)
			rc = add_header(w, h->string, a);
	}
	if (rc != 0 || !body)
		return rc;
	if (!cJSON_IsString(body))
		return set_json(w, w->status, body);
	if (w->content_type && media_of(w->content_type) == MEDIA_BINARY) {
		const char *b = body->valuestring;

		rc = b64_decode(b, strlen(b), &w->body, &w->body_len);
		return rc == -EINVAL ? WEB_BAD : rc;
	}
	if (!w->content_type && !(w->content_type = strdup("text/html")))
		return -ENOMEM;
	w->body_len = strlen(body->valuestring);
	w->body = strdup(body->valuestring);
	return w->body ? 0 : -ENOMEM;
}

int web_respond(enum web_ext ext, const cJSON *result, int status_code, const char *code,
		struct web_response *out)
{
	static const char *const field[] = { [WEB_HTML] = "html", [WEB_SVG] = "svg",
					     [WEB_TEXT] = "text" };
	static const char *const ctype[] = { [WEB_HTML] = "text/html", [WEB_SVG] = "image/svg+xml",
					     [WEB_TEXT] = "text/plain" };
	struct web_response w = { 0 };
	const cJSON *v = result, *err_val, *b;
	int rc;

	/* An application error answers with its "error" value, projected
	 * like a successful result (upstream's ERROR_FIELD path). */
	err_val = cJSON_IsObject(result) ? cJSON_GetObjectItemCaseSensitive(result, "error") : NULL;
	if (status_code == 1 && err_val)
		v = err_val;
	if (status_code != 0 && status_code != 1) {
		rc = set_error(&w, MSG_PROCESSING, code);
	} else if (ext == WEB_HTTP) {
		rc = respond_http(v, &w);
		if (rc == WEB_BAD)
			rc = set_error(&w, MSG_INVALID, code);
	} else if (ext == WEB_JSON) {
		if (!v)
			rc = set_body(&w, 200, CT_JSON, "{}", 2);
		else if (cJSON_IsObject(v) || cJSON_IsArray(v))
			rc = set_json(&w, 200, v);
		else
			rc = set_error(&w, MSG_MEDIA, code);
	} else if ((unsigned)ext > WEB_TEXT) {
		rc = set_error(&w, MSG_MEDIA, code);
	} else {
		b = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, "body") : NULL;
		if (!b && cJSON_IsObject(v))
			b = cJSON_GetObjectItemCaseSensitive(v, field[ext]);
		if (b && cJSON_IsString(b))
			rc = set_body(&w, 200, ctype[ext], b->valuestring, strlen(b->valuestring));
		else
			rc = set_error(&w, MSG_MEDIA, code);
	}
	if (rc < 0) {
		web_response_fini(&w);
		return rc;
	}
	*out = w;
	return 0;
}
