/* SPDX-License-Identifier: Apache-2.0 */
/* The action runtime protocol (see protocol.h). */
#include "invoker/protocol.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jscan.h"
#include "common/json.h"

void protocol_outcome_error(struct protocol_outcome *o, enum act_status st, const char *msg)
{
	_cleanup_json_ cJSON *j = cJSON_CreateObject();
	char *s = NULL;

	if (j && cJSON_AddStringToObject(j, "error", msg))
		s = json_print(j, &o->result_len);
	free(o->result);
	o->result = s;
	if (!s)
		o->result_len = 0;
	o->status = st;
	o->keep = st == ACT_SUCCESS || st == ACT_APPLICATION_ERROR;
}

void protocol_outcome_errorf(struct protocol_outcome *o, enum act_status st, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	protocol_outcome_error(o, st, msg);
}

void protocol_outcome_fini(struct protocol_outcome *o)
{
	free(o->result);
	o->result = NULL;
	o->result_len = 0;
}

/* The `error` of a runtime's JSON error body, or NULL. */
char *protocol_body_error(const char *body, size_t len)
{
	_cleanup_json_ cJSON *j = NULL;
	const cJSON *v;

	if (!body || json_parse(body, len, &j, NULL) < 0)
		return NULL;
	v = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (!v)
		return NULL;
	return cJSON_IsString(v) ? strdup(v->valuestring) : json_print(v, NULL);
}

/* The activation context both bodies carry: as __OW_* environment
 * variables for /init, as fields beside the value for /run. */
static bool add_context(cJSON *obj, const struct act_request *q, uint64_t deadline_ms, bool env)
{
	const char *const keys[2][7] = {
		{ "namespace", "action_name", "action_version", "activation_id", "transaction_id",
		  "deadline", "api_key" },
		{ "__OW_NAMESPACE", "__OW_ACTION_NAME", "__OW_ACTION_VERSION", "__OW_ACTIVATION_ID",
		  "__OW_TRANSACTION_ID", "__OW_DEADLINE", "__OW_API_KEY" },
	};
	char action_name[1024], num[32];
	const char *vals[7] = { q->namespace, action_name, q->version, q->activation_id,
				q->transaction_id, num, q->api_key };

	snprintf(action_name, sizeof(action_name), "/%s/%s", q->path, q->name);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)deadline_ms);
	for (int i = 0; i < 7; i++)
		if (vals[i] && !cJSON_AddStringToObject(obj, keys[env][i], vals[i]))
			return false;
	return true;
}

char *protocol_init_body(const struct act_request *q, const char *code, uint64_t deadline_ms,
			 size_t *len)
{
	_cleanup_json_ cJSON *root = cJSON_CreateObject();
	cJSON *value = cJSON_AddObjectToObject(root, "value"), *env;
	const cJSON *p;

	if (!value || (code && !cJSON_AddStringToObject(value, "code", code)))
		return NULL;
	if (!cJSON_AddStringToObject(value, "name", q->name) ||
	    !cJSON_AddStringToObject(value, "main", q->main) ||
	    !cJSON_AddBoolToObject(value, "binary", q->binary) ||
	    !(env = cJSON_AddObjectToObject(value, "env")) || !add_context(env, q, deadline_ms, true))
		return NULL;
	/* Init parameters reach the process as environment strings. */
	cJSON_ArrayForEach(p, q->env) {
		char *s = cJSON_IsString(p) ? NULL : json_print(p, NULL);

		if (!p->string || !cJSON_AddStringToObject(env, p->string, s ? s : p->valuestring)) {
			json_free(s);
			return NULL;
		}
		json_free(s);
	}
	return json_print(root, len);
}

/* {"value":<value>,"namespace":...}: the value bytes are copied as they came. */
char *protocol_run_body(const struct act_request *q, uint64_t deadline_ms, size_t *len)
{
	_cleanup_json_ cJSON *rest = cJSON_CreateObject();
	const char *value = q->value_len ? q->value : "{}";
	size_t vlen = q->value_len ? q->value_len : 2, tlen = 0;
	char *tail, *out;

	if (!rest || !add_context(rest, q, deadline_ms, false))
		return NULL;
	tail = json_print(rest, &tlen);
	if (!tail)
		return NULL;
	out = malloc(9 + vlen + tlen + 1);
	if (out) {
		memcpy(out, "{\"value\":", 9);
		memcpy(out + 9, value, vlen);
		tail[0] = ',';   /* the tail object's '{' becomes the separator */
		memcpy(out + 9 + vlen, tail, tlen);
		out[9 + vlen + tlen] = '\0';
		*len = 9 + vlen + tlen;
	}
	json_free(tail);
	return out;
}

void protocol_init_outcome(const struct http_response *resp, struct protocol_outcome *o)
{
	char *msg;

	if (resp->status == 200)
		return;
	msg = protocol_body_error(resp->body, resp->len);
	if (msg)
		protocol_outcome_error(o, ACT_DEVELOPER_ERROR, msg);
	else
		protocol_outcome_errorf(o, ACT_DEVELOPER_ERROR,
					"The action failed during initialization: %.1024s",
					resp->body ? resp->body : "");
	o->keep = false;
	free(msg);
}

/* Classify a /run response as OpenWhisk does (spec §3, §9). */
void protocol_run_outcome(struct http_response *resp, uint64_t max_result_bytes,
			  struct protocol_outcome *o)
{
	struct jscan_member err;
	char *msg;
	int found;

	o->keep = true;
	if (resp->status != 200) {
		o->keep = false;
		msg = protocol_body_error(resp->body, resp->len);
		if (msg)
			protocol_outcome_error(o, ACT_DEVELOPER_ERROR, msg);
		else
			protocol_outcome_errorf(o, ACT_DEVELOPER_ERROR,
				       "The action did not produce a valid JSON or JSON Array response: %.1024s",
				       resp->body ? resp->body : "");
		free(msg);
		o->keep = false;
		return;
	}
	if (resp->full_len > max_result_bytes) {
		protocol_outcome_errorf(o, ACT_APPLICATION_ERROR,
			       "The action produced a response that exceeded the allowed length: %zu > %llu "
			       "bytes. The truncated response was: %.1024s",
			       resp->full_len, (unsigned long long)max_result_bytes,
			       resp->body ? resp->body : "");
		return;
	}
	/* Scanned, not parsed: a megabyte result is checked without building
	 * a tree, and handed on as it came. */
	/* An object is validated by the lookup of "error" itself. */
	found = resp->body ? jscan_object_find(resp->body, resp->len, "error", &err) : -EINVAL;
	if (found < 0 && (!resp->body || !jscan_is_object_or_array(resp->body, resp->len))) {
		protocol_outcome_errorf(o, ACT_DEVELOPER_ERROR,
			       "The action did not produce a valid JSON or JSON Array response: %.1024s",
			       resp->body ? resp->body : "");
		o->keep = false;
		return;
	}
	if (found == 1) {
		/* Application error: the result is {"error": <value>} alone. */
		char *only = malloc(err.val_len + 11);

		if (!only) {
			protocol_outcome_error(o, ACT_WHISK_ERROR, "out of memory");
			return;
		}
		memcpy(only, "{\"error\":", 9);
		memcpy(only + 9, err.val, err.val_len);
		memcpy(only + 9 + err.val_len, "}", 2);
		free(o->result);
		o->result = only;
		o->result_len = err.val_len + 10;
		o->status = ACT_APPLICATION_ERROR;
		return;
	}
	/* Success: hand over the body as it came. */
	free(o->result);
	o->result = resp->body;
	o->result_len = resp->len;
	resp->body = NULL;
	o->status = ACT_SUCCESS;
}
