/* SPDX-License-Identifier: Apache-2.0 */
/* The mqtt/subscribe feed's parameters, filters and fire parameters (see
 * mqttsub.h). */
#include "controller/mqttsub.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"
#include "common/jscan.h"
#include "common/utf8.h"

#define KEEPALIVE_MAX 65535u

void mqttsub_fini(struct mqttsub *s)
{
	free(s->url);
	free(s->uri);
	for (uint32_t i = 0; i < s->topic_count; i++)
		free(s->topics[i]);
	free(s->client_id);
	free(s->username);
	free(s->password);
	free(s->ca_cert);
	memset(s, 0, sizeof(*s));
}

bool mqttsub_filter_valid(const char *f)
{
	size_t len = f ? strlen(f) : 0;

	if (!len || len > MQTTSUB_FILTER_MAX || !utf8_is_valid(f, len, NULL))
		return false;
	for (size_t i = 0; i < len; i++) {
		bool starts = i == 0 || f[i - 1] == '/', ends = i + 1 == len || f[i + 1] == '/';

		if (f[i] == '+' && !(starts && ends))
			return false;
		if (f[i] == '#' && !(starts && i + 1 == len))
			return false;
	}
	return true;
}

bool mqttsub_match(const char *filter, const char *topic, size_t topic_len)
{
	const char *t = topic, *end = topic + topic_len, *f = filter;

	/* §4.7.2: $SYS and the like are not for a wildcard at the top. */
	if (topic_len && topic[0] == '$' && (f[0] == '+' || f[0] == '#'))
		return false;
	for (;;) {
		const char *fl = strchr(f, '/'), *tl = memchr(t, '/', (size_t)(end - t));
		size_t flen = fl ? (size_t)(fl - f) : strlen(f);
		size_t tlen = tl ? (size_t)(tl - t) : (size_t)(end - t);

		if (flen == 1 && f[0] == '#')
			return true; /* this level and all below, or none ("a/#" matches "a") */
		if (!(flen == 1 && f[0] == '+') && (flen != tlen || memcmp(f, t, flen) != 0))
			return false;
		if (!fl || !tl) {
			/* One ran out: a match only if both did, or the filter's
			 * rest is "/#". */
			if (!fl && !tl)
				return true;
			return !tl && fl && strcmp(fl, "/#") == 0;
		}
		f = fl + 1;
		t = tl + 1;
	}
}

bool mqttsub_matches(const struct mqttsub *s, const char *topic, size_t topic_len)
{
	for (uint32_t i = 0; i < s->topic_count; i++)
		if (mqttsub_match(s->topics[i], topic, topic_len))
			return true;
	return false;
}

/* tcp://host:port for the client library, from the user's URL. */
static int parse_url(const char *url, struct mqttsub *out, struct err *e)
{
	static const struct {
		const char *scheme, *lib;
		bool tls;
		unsigned port;
	} schemes[] = { { "mqtt://", "tcp://", false, 1883 },
			{ "mqtts://", "ssl://", true, 8883 },
			{ "ws://", "ws://", false, 80 },
			{ "wss://", "wss://", true, 443 } };
	const char *host = NULL, *lib = NULL;
	unsigned port = 0;
	bool tls = false;
	size_t hlen, n;

	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncmp(url, schemes[i].scheme, strlen(schemes[i].scheme)) == 0) {
			host = url + strlen(schemes[i].scheme);
			lib = schemes[i].lib;
			tls = schemes[i].tls;
			port = schemes[i].port;
		}
	if (!host)
		return err_set(e, -EINVAL,
			       "url must start with mqtt://, mqtts://, ws:// or wss:// (got '%.64s').",
			       url);
	hlen = strcspn(host, "/?#");
	if (!hlen || host[strcspn(host, " \t\r\n@")] != '\0')
		return err_set(e, -EINVAL, "url must name a broker as scheme://host:port.");
	if (lib[0] != 'w' && host[hlen] != '\0' && strcmp(host + hlen, "/") != 0)
		return err_set(e, -EINVAL, "url must be scheme://host:port, without a path.");
	n = strlen(lib) + strlen(host) + 8;
	out->uri = malloc(n);
	if (!out->uri)
		return err_set(e, -ENOMEM, "out of memory");
	/* host:port, [v6]:port, or a host without a port. */
	{
		const char *colon = memchr(host, ']', hlen) ? strchr(memchr(host, ']', hlen), ':')
							    : memchr(host, ':', hlen);
		if (colon && colon < host + hlen) {
			char *endp;
			unsigned long p = strtoul(colon + 1, &endp, 10);

			if (endp == colon + 1 || p == 0 || p > 65535 || endp != host + hlen)
				return err_set(e, -EINVAL, "url has a bad port.");
			snprintf(out->uri, n, "%s%.*s%s", lib, (int)hlen, host,
				 lib[0] == 'w' ? host + hlen : "");
		} else {
			snprintf(out->uri, n, "%s%.*s:%u%s", lib, (int)hlen, host, port,
				 lib[0] == 'w' ? host + hlen : "");
		}
	}
	out->tls = tls;
	return 0;
}

static int parse_topics(const cJSON *t, struct mqttsub *out, struct err *e)
{
	const cJSON *it;

	if (cJSON_IsString(t)) {
		if (!mqttsub_filter_valid(t->valuestring))
			return err_set(e, -EINVAL, "topic '%.64s' is not a valid MQTT topic filter.",
				       t->valuestring);
		out->topics[0] = strdup(t->valuestring);
		out->topic_count = 1;
		return out->topics[0] ? 0 : err_set(e, -ENOMEM, "out of memory");
	}
	if (!cJSON_IsArray(t) || cJSON_GetArraySize(t) == 0)
		return err_set(e, -EINVAL, "topic is required: a topic filter or an array of them.");
	if (cJSON_GetArraySize(t) > (int)MQTTSUB_TOPICS_MAX)
		return err_set(e, -EINVAL, "topic: at most %u filters.", MQTTSUB_TOPICS_MAX);
	cJSON_ArrayForEach(it, t) {
		if (!cJSON_IsString(it) || !mqttsub_filter_valid(it->valuestring))
			return err_set(e, -EINVAL, "topic[%u] is not a valid MQTT topic filter.",
				       out->topic_count);
		out->topics[out->topic_count] = strdup(it->valuestring);
		if (!out->topics[out->topic_count])
			return err_set(e, -ENOMEM, "out of memory");
		out->topic_count++;
	}
	return 0;
}

/* A JSON number or a string of one (wsk -p sends "1" as 1, the npm
 * client as given). */
static int get_uint(const cJSON *params, const char *key, uint32_t min, uint32_t max,
		    uint32_t def, uint32_t *out, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, key);
	double d;

	if (!v || cJSON_IsNull(v)) {
		*out = def;
		return 0;
	}
	if (cJSON_IsNumber(v)) {
		d = v->valuedouble;
	} else if (cJSON_IsString(v) && v->valuestring[0]) {
		char *end;

		d = strtod(v->valuestring, &end);
		if (*end)
			d = -1;
	} else {
		d = -1;
	}
	if (d < min || d > max || d != (double)(uint32_t)d)
		return err_set(e, -EINVAL, "%s must be an integer from %u to %u.", key, min, max);
	*out = (uint32_t)d;
	return 0;
}

static int get_bool(const cJSON *params, const char *key, bool def, bool *out, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, key);

	if (!v || cJSON_IsNull(v))
		*out = def;
	else if (cJSON_IsBool(v))
		*out = cJSON_IsTrue(v);
	else if (cJSON_IsString(v) && (!strcmp(v->valuestring, "true") ||
				       !strcmp(v->valuestring, "false")))
		*out = v->valuestring[0] == 't';
	else
		return err_set(e, -EINVAL, "%s must be true or false.", key);
	return 0;
}

static int get_str(const cJSON *params, const char *key, size_t max, char **out, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, key);

	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || strlen(v->valuestring) > max)
		return err_set(e, -EINVAL, "%s must be a string of at most %zu bytes.", key, max);
	*out = strdup(v->valuestring);
	return *out ? 0 : err_set(e, -ENOMEM, "out of memory");
}

static void default_client_id(const char *ns, const char *trigger, char out[24])
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (const char *p = ns; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	h = (h ^ '/') * 1099511628211ull;
	for (const char *p = trigger; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	/* 19 characters: within MQTT 3.1's 23. */
	snprintf(out, 24, "ew-%016llx", (unsigned long long)h);
}

static int parse_all(const cJSON *p, const char *ns, const char *trigger, struct mqttsub *out,
		     struct err *e)
{
	static const char *const encs[] = { "auto", "utf8", "base64", "json" };
	const char *url = json_get_string(p, "url"), *enc = json_get_string(p, "payloadEncoding");
	const char *ret = json_get_string(p, "retained");
	uint32_t qos = 1;
	char id[24];
	int rc;

	if (!url)
		return err_set(e, -EINVAL, "url is required, e.g. mqtt://127.0.0.1:1883.");
	out->url = strdup(url);
	if (!out->url)
		return err_set(e, -ENOMEM, "out of memory");
	if ((rc = parse_url(url, out, e)) < 0 ||
	    (rc = parse_topics(cJSON_GetObjectItemCaseSensitive(p, "topic"), out, e)) < 0 ||
	    (rc = get_uint(p, "qos", 0, 2, 1, &qos, e)) < 0 ||
	    (rc = get_bool(p, "cleanSession", qos == 0, &out->clean, e)) < 0 ||
	    (rc = get_uint(p, "keepalive", 1, KEEPALIVE_MAX, 60, &out->keepalive_s, e)) < 0 ||
	    (rc = get_bool(p, "insecure", false, &out->insecure, e)) < 0 ||
	    (rc = get_str(p, "clientId", 23, &out->client_id, e)) < 0 ||
	    (rc = get_str(p, "username", 1024, &out->username, e)) < 0 ||
	    (rc = get_str(p, "password", 1024, &out->password, e)) < 0 ||
	    (rc = get_str(p, "caCert", 256 * 1024, &out->ca_cert, e)) < 0)
		return rc;
	out->qos = (int)qos;
	if (out->client_id && (!out->client_id[0] || strspn(out->client_id,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
		strlen(out->client_id)))
		return err_set(e, -EINVAL, "clientId must be 1 to 23 letters, digits, '-', '_' or "
					   "'.'.");
	if (!out->client_id) {
		default_client_id(ns, trigger, id);
		if (!(out->client_id = strdup(id)))
			return err_set(e, -ENOMEM, "out of memory");
	}
	if (out->password && !out->username)
		return err_set(e, -EINVAL, "password needs a username.");
	if (out->ca_cert && strncmp(out->ca_cert, "-----BEGIN CERTIFICATE-----", 27) != 0)
		return err_set(e, -EINVAL, "caCert must be the CA's certificate as PEM text "
					   "(-----BEGIN CERTIFICATE-----...).");
	if ((out->ca_cert || out->insecure) && !out->tls)
		return err_set(e, -EINVAL, "caCert and insecure need an mqtts:// or wss:// url.");
	out->enc = MQTTSUB_AUTO;
	if (enc) {
		size_t i;

		for (i = 0; i < sizeof(encs) / sizeof(encs[0]) && strcmp(enc, encs[i]) != 0; i++)
			;
		if (i == sizeof(encs) / sizeof(encs[0]))
			return err_set(e, -EINVAL,
				       "payloadEncoding must be auto, utf8, base64 or json.");
		out->enc = (enum mqttsub_enc)i;
	} else if (cJSON_GetObjectItemCaseSensitive(p, "payloadEncoding")) {
		return err_set(e, -EINVAL, "payloadEncoding must be auto, utf8, base64 or json.");
	}
	if (ret && strcmp(ret, "deliver") != 0 && strcmp(ret, "skip") != 0)
		return err_set(e, -EINVAL, "retained must be deliver or skip.");
	if (!ret && cJSON_GetObjectItemCaseSensitive(p, "retained"))
		return err_set(e, -EINVAL, "retained must be deliver or skip.");
	out->skip_retained = ret && !strcmp(ret, "skip");
	return 0;
}

int mqttsub_parse(const cJSON *params, const char *ns, const char *trigger, struct mqttsub *out,
		  struct err *e)
{
	int rc;

	memset(out, 0, sizeof(*out));
	rc = parse_all(params, ns, trigger, out, e);
	if (rc < 0)
		mqttsub_fini(out);
	return rc;
}

cJSON *mqttsub_params(const struct mqttsub *s, bool for_read)
{
	static const char *const encs[] = { "auto", "utf8", "base64", "json" };
	_cleanup_json_ cJSON *o = cJSON_CreateObject();
	cJSON *t = cJSON_CreateArray();

	if (!o || !t || !cJSON_AddItemToObject(o, "topic", t))
		return cJSON_Delete(t), NULL;
	for (uint32_t i = 0; i < s->topic_count; i++)
		if (!cJSON_AddItemToArray(t, cJSON_CreateString(s->topics[i])))
			return NULL;
	if (!cJSON_AddStringToObject(o, "url", s->url) ||
	    !cJSON_AddNumberToObject(o, "qos", s->qos) ||
	    !cJSON_AddStringToObject(o, "clientId", s->client_id) ||
	    !cJSON_AddBoolToObject(o, "cleanSession", s->clean) ||
	    !cJSON_AddNumberToObject(o, "keepalive", s->keepalive_s) ||
	    !cJSON_AddBoolToObject(o, "insecure", s->insecure) ||
	    !cJSON_AddStringToObject(o, "payloadEncoding", encs[s->enc]) ||
	    !cJSON_AddStringToObject(o, "retained", s->skip_retained ? "skip" : "deliver") ||
	    (s->username && !cJSON_AddStringToObject(o, "username", s->username)))
		return NULL;
	if (!for_read) {
		if ((s->password && !cJSON_AddStringToObject(o, "password", s->password)) ||
		    (s->ca_cert && !cJSON_AddStringToObject(o, "caCert", s->ca_cert)))
			return NULL;
	} else if (!cJSON_AddBoolToObject(o, "caCert", s->ca_cert != NULL)) {
		return NULL;
	}
	return TAKE_PTR(o);
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

bool mqttsub_same_client(const struct mqttsub *a, const struct mqttsub *b)
{
	return strcmp(a->uri, b->uri) == 0 && strcmp(a->client_id, b->client_id) == 0;
}

bool mqttsub_same_connection(const struct mqttsub *a, const struct mqttsub *b)
{
	return mqttsub_same_client(a, b) && str_eq(a->username, b->username) &&
	       str_eq(a->password, b->password) && str_eq(a->ca_cert, b->ca_cert) &&
	       a->insecure == b->insecure && a->clean == b->clean &&
	       a->keepalive_s == b->keepalive_s;
}

int mqttsub_fire_params(struct buf *b, const struct mqttsub_msg *m, enum mqttsub_enc enc)
{
	const char *p = m->payload;
	bool json_ok = (enc == MQTTSUB_AUTO || enc == MQTTSUB_JSON) && m->payload_len &&
		       json_is_value(p, m->payload_len);
	bool utf8_ok = !json_ok && (enc == MQTTSUB_AUTO || enc == MQTTSUB_UTF8) &&
		       utf8_is_valid(p, m->payload_len, NULL);
	const char *used = json_ok ? "json" : utf8_ok ? "utf8" : "base64";

	if (buf_puts(b, "{\"topic\":") < 0 || jscan_quote(b, m->topic, m->topic_len) < 0 ||
	    buf_puts(b, ",\"payload\":") < 0)
		return -ENOMEM;
	if (json_ok) {
		if (buf_append(b, p, m->payload_len) < 0)
			return -ENOMEM;
	} else if (utf8_ok) {
		if (jscan_quote(b, p, m->payload_len) < 0)
			return -ENOMEM;
	} else {
		size_t n = 0;
		char *b64 = codec_b64_encode(p, m->payload_len, &n);
		int rc = b64 && jscan_quote(b, b64, n) == 0 ? 0 : -ENOMEM;

		free(b64);
		if (rc < 0)
			return rc;
	}
	return buf_printf(b,
			  ",\"encoding\":\"%s\",\"qos\":%d,\"retain\":%s,\"dup\":%s,"
			  "\"messageId\":%u,\"receivedAt\":%llu}",
			  used, m->qos, m->retain ? "true" : "false", m->dup ? "true" : "false",
			  m->message_id, (unsigned long long)m->received_ms) < 0
		       ? -ENOMEM
		       : 0;
}
