/* SPDX-License-Identifier: Apache-2.0 */
/* Activation payload framing (see act.h). */
#include "common/act.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int act_budget_of(uint64_t max_value_bytes, struct act_budget *b)
{
	uint64_t result;

	if (max_value_bytes + ACT_META_HEADROOM > UINT32_MAX)
		return -EINVAL;
	b->queue_payload = (uint32_t)(max_value_bytes + ACT_META_HEADROOM);
	/* Tiny limits (tests) keep half for the completion's metadata. */
	result = max_value_bytes > 2 * ACT_RESULT_META_RESERVE ? max_value_bytes - ACT_RESULT_META_RESERVE
							     : max_value_bytes / 2;
	b->result_max = (uint32_t)(result > ACT_RESULT_MAX ? ACT_RESULT_MAX : result);
	return 0;
}

size_t act_payload_len(size_t meta_len, size_t value_len)
{
	return meta_len + 1 + value_len;
}

void act_payload_write(char *dst, const char *meta, size_t meta_len, const char *value,
		       size_t value_len)
{
	memcpy(dst, meta, meta_len);
	dst[meta_len] = '\n';
	if (value_len)
		memcpy(dst + meta_len + 1, value, value_len);
}

char *act_request_meta_encode(const struct act_request *r, size_t *len_out)
{
	_cleanup_json_ cJSON *meta = cJSON_CreateObject();
	cJSON *act, *lim;

	/* Keys in the order act.h documents them. */
	if (!meta || !cJSON_AddStringToObject(meta, "activationId", r->activation_id) ||
	    (r->transaction_id && !cJSON_AddStringToObject(meta, "transactionId", r->transaction_id)) ||
	    !cJSON_AddStringToObject(meta, "namespace", r->namespace) ||
	    !(act = cJSON_AddObjectToObject(meta, "action")))
		return NULL;
	if (!cJSON_AddStringToObject(act, "path", r->path) ||
	    !cJSON_AddStringToObject(act, "name", r->name) ||
	    !cJSON_AddStringToObject(act, "version", r->version) ||
	    (r->rev && !cJSON_AddStringToObject(act, "rev", r->rev)) ||
	    !cJSON_AddStringToObject(act, "kind", r->kind) ||
	    !cJSON_AddStringToObject(act, "image", r->image) ||
	    (r->main && !cJSON_AddStringToObject(act, "main", r->main)) ||
	    !cJSON_AddBoolToObject(act, "binary", r->binary) ||
	    (r->code_file && !cJSON_AddStringToObject(act, "codeFile", r->code_file)) ||
	    (!r->code_file && r->code && !cJSON_AddStringToObject(act, "code", r->code)) ||
	    (r->env && !cJSON_AddItemToObject(act, "env", cJSON_Duplicate(r->env, true))) ||
	    !(lim = cJSON_AddObjectToObject(act, "limits")))
		return NULL;
	if (!json_add_u64(lim, "timeout", r->timeout_ms) || !json_add_u64(lim, "memory", r->memory_mb) ||
	    !json_add_u64(lim, "logs", r->logs_mb) ||
	    (r->api_key && !cJSON_AddStringToObject(meta, "apiKey", r->api_key)) ||
	    (r->arrival_ms && !json_add_u64(meta, "arrival", r->arrival_ms)))
		return NULL;
	return json_print(meta, len_out);
}

/* Printed metadata m (taken: freed here), '\n', value: a malloc'd
 * payload with a NUL after it. NULL on ENOMEM. */
static char *payload_frame(char *m, size_t mlen, const char *value, size_t value_len,
			   size_t *len_out)
{
	size_t len = act_payload_len(mlen, value_len);
	char *out = m ? malloc(len + 1) : NULL;

	if (out) {
		act_payload_write(out, m, mlen, value, value_len);
		out[len] = '\0';
		*len_out = len;
	}
	json_free(m);
	return out;
}

char *act_request_encode(const struct act_request *r, const char *value, size_t value_len,
			 size_t *len_out)
{
	size_t mlen = 0;
	char *m = act_request_meta_encode(r, &mlen);

	return payload_frame(m, mlen, value, value_len, len_out);
}


int act_payload_split(const char *payload, size_t len, size_t *meta_len, const char **value,
		      size_t *value_len)
{
	const char *nl = memchr(payload, '\n', len);

	if (!nl)
		return -EINVAL;
	*meta_len = (size_t)(nl - payload);
	*value = nl + 1;
	*value_len = len - *meta_len - 1;
	return 0;
}

static int need_string(const cJSON *obj, const char *key, const char *where, const char **out,
		       struct err *e)
{
	*out = json_get_string(obj, key);
	if (!*out || !**out)
		return err_set(e, -EINVAL, "activation request: %s%s missing or not a string", where,
			       key);
	return 0;
}

int act_request_parse(const char *payload, size_t len, struct act_request *r, struct err *e)
{
	const cJSON *action, *limits;
	size_t mlen;
	int rc;

	memset(r, 0, sizeof(*r));
	if (act_payload_split(payload, len, &mlen, &r->value, &r->value_len) < 0)
		return err_set(e, -EINVAL, "activation request: no newline after the metadata");
	rc = json_parse(payload, mlen, &r->meta, e);
	if (rc < 0)
		return err_wrap(e, rc, "activation request metadata");
	action = json_get_object(r->meta, "action");
	limits = json_get_object(action, "limits");
	if (!action || !limits) {
		rc = err_set(e, -EINVAL, "activation request: action or action.limits missing");
		goto err;
	}
	if ((rc = need_string(r->meta, "activationId", "", &r->activation_id, e)) < 0 ||
	    (rc = need_string(r->meta, "namespace", "", &r->namespace, e)) < 0 ||
	    (rc = need_string(action, "path", "action.", &r->path, e)) < 0 ||
	    (rc = need_string(action, "name", "action.", &r->name, e)) < 0 ||
	    (rc = need_string(action, "version", "action.", &r->version, e)) < 0 ||
	    (rc = need_string(action, "kind", "action.", &r->kind, e)) < 0 ||
	    (rc = need_string(action, "image", "action.", &r->image, e)) < 0)
		goto err;
	r->transaction_id = json_get_string(r->meta, "transactionId");
	r->rev = json_get_string(action, "rev");
	r->main = json_get_string(action, "main");
	r->code = json_get_string(action, "code");
	r->code_file = json_get_string(action, "codeFile");
	r->api_key = json_get_string(r->meta, "apiKey");
	r->binary = json_get_bool(action, "binary", false);
	r->env = json_get_object(action, "env");
	if (json_get_u64(limits, "timeout", &r->timeout_ms) < 0 ||
	    json_get_u64(limits, "memory", &r->memory_mb) < 0 ||
	    json_get_u64(limits, "logs", &r->logs_mb) < 0 || r->timeout_ms == 0 ||
	    r->memory_mb == 0) {
		rc = err_set(e, -EINVAL, "activation request: action.limits needs positive "
					 "timeout and memory and a logs size");
		goto err;
	}
	if (json_get_u64(r->meta, "arrival", &r->arrival_ms) == -EINVAL) {
		rc = err_set(e, -EINVAL, "activation request: arrival is not a whole number");
		goto err;
	}
	if (!r->main || !*r->main)
		r->main = "main";
	if (!r->transaction_id)
		r->transaction_id = r->activation_id;
	return 0;
err:
	act_request_fini(r);
	return rc;
}

void act_request_fini(struct act_request *r)
{
	json_delete(r->meta);
	r->meta = NULL;
}

int act_request_key(const struct act_request *r, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s@%s#%s", r->path, r->name, r->version,
			 r->rev ? r->rev : "");

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

char *act_result_encode(const struct act_result *r, size_t *len_out)
{
	_cleanup_json_ cJSON *meta = cJSON_CreateObject();
	size_t mlen = 0;
	cJSON *logs;
	char *m;

	if (!meta)
		return NULL;
	if (!json_add_u64(meta, "statusCode", (uint64_t)r->status) ||
	    !json_add_u64(meta, "start", r->start_ms) || !json_add_u64(meta, "end", r->end_ms) ||
	    !json_add_u64(meta, "waitTime", r->wait_ms) ||
	    (r->has_init && !json_add_u64(meta, "initTime", r->init_ms)) ||
	    !cJSON_AddBoolToObject(meta, "timeout", r->timeout) ||
	    (r->partial && !cJSON_AddBoolToObject(meta, "partial", true)) ||
	    (r->logs_only && !cJSON_AddBoolToObject(meta, "logsOnly", true)) ||
	    (r->container[0] && !cJSON_AddStringToObject(meta, "container", r->container)))
		return NULL;
	logs = r->logs ? cJSON_Duplicate(r->logs, 1) : cJSON_CreateArray();
	if (!logs)
		return NULL;
	cJSON_AddItemToObject(meta, "logs", logs);
	m = json_print(meta, &mlen);
	return payload_frame(m, mlen, r->result, r->result_len, len_out);
}

int act_result_parse(const char *payload, size_t len, struct act_result *r, struct err *e)
{
	_cleanup_json_ cJSON *meta = NULL;
	uint64_t status = 0;
	size_t mlen;
	cJSON *logs;
	int rc;

	memset(r, 0, sizeof(*r));
	if (act_payload_split(payload, len, &mlen, &r->result, &r->result_len) < 0)
		return err_set(e, -EINVAL, "activation result: no newline after the metadata");
	rc = json_parse(payload, mlen, &meta, e);
	if (rc < 0)
		return err_wrap(e, rc, "activation result metadata");
	if (json_get_u64(meta, "statusCode", &status) < 0 || status > ACT_WHISK_ERROR ||
	    json_get_u64(meta, "start", &r->start_ms) < 0 ||
	    json_get_u64(meta, "end", &r->end_ms) < 0)
		return err_set(e, -EINVAL, "activation result: statusCode, start or end missing");
	r->status = (enum act_status)status;
	(void)json_get_u64(meta, "waitTime", &r->wait_ms);
	r->has_init = json_get_u64(meta, "initTime", &r->init_ms) == 0;
	r->timeout = json_get_bool(meta, "timeout", false);
	r->partial = json_get_bool(meta, "partial", false);
	r->logs_only = json_get_bool(meta, "logsOnly", false);
	snprintf(r->container, sizeof(r->container), "%s",
		 json_get_string(meta, "container") ? json_get_string(meta, "container") : "");
	logs = cJSON_DetachItemFromObjectCaseSensitive(meta, "logs");
	r->logs = cJSON_IsArray(logs) ? logs : NULL;
	if (!r->logs)
		json_delete(logs);
	return 0;
}

void act_result_fini(struct act_result *r)
{
	json_delete(r->logs);
	r->logs = NULL;
}

/* The first k log lines of `logs`, plus a notice that the rest was cut. */
static cJSON *logs_head(const cJSON *logs, int k)
{
	cJSON *out = cJSON_CreateArray();
	int i = 0;
	const cJSON *l;

	cJSON_ArrayForEach(l, logs) {
		if (i++ >= k || !out)
			break;
		cJSON_AddItemToArray(out, cJSON_Duplicate(l, 0));
	}
	if (out)
		cJSON_AddItemToArray(out, cJSON_CreateString(
			"Logs were cut to fit the activation record into the queue payload limit."));
	return out;
}

char *act_result_encode_within(struct act_result *r, size_t max, size_t *len_out, int *rc)
{
	size_t len = 0;
	char *p = act_result_encode(r, &len);
	bool searched = false;

	if (p && len > max && r->logs) {
		searched = true;
		cJSON *all = r->logs, *best = NULL;
		int lo = 0, hi = cJSON_GetArraySize(all) - 1;

		free(p);
		p = NULL;
		/* Binary search over the count of first lines kept. */
		while (lo <= hi) {
			int mid = lo + (hi - lo) / 2;
			cJSON *head = logs_head(all, mid);
			size_t l = 0;
			char *q;

			r->logs = head;
			q = head ? act_result_encode(r, &l) : NULL;
			if (q && l <= max) {
				free(p);
				json_delete(best);
				p = q;
				len = l;
				best = head;
				lo = mid + 1;
			} else {
				free(q);
				json_delete(head);
				hi = mid - 1;
			}
		}
		json_delete(all);
		r->logs = best;
	}
	if (!p) {
		/* Not even the first line fits (or memory ran out on the way). */
		*rc = searched ? -EMSGSIZE : -ENOMEM;
		return NULL;
	}
	if (len > max) {
		free(p);
		*rc = -EMSGSIZE;
		return NULL;
	}
	*rc = 0;
	*len_out = len;
	return p;
}
