/* SPDX-License-Identifier: Apache-2.0 */
/* Activation payload framing (see act.h). */
#include "common/act.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

char *act_payload_join(const cJSON *meta, const char *value, size_t value_len, size_t *len_out)
{
	size_t mlen = 0;
	char *m = json_print(meta, &mlen), *out;

	if (!m)
		return NULL;
	out = malloc(mlen + 1 + value_len + 1);
	if (out) {
		memcpy(out, m, mlen);
		out[mlen] = '\n';
		if (value_len)
			memcpy(out + mlen + 1, value, value_len);
		out[mlen + 1 + value_len] = '\0';
		*len_out = mlen + 1 + value_len;
	}
	json_free(m);
	return out;
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
	cJSON *logs;
	char *out;

	if (!meta)
		return NULL;
	if (!cJSON_AddNumberToObject(meta, "statusCode", r->status) ||
	    !cJSON_AddNumberToObject(meta, "start", (double)r->start_ms) ||
	    !cJSON_AddNumberToObject(meta, "end", (double)r->end_ms) ||
	    !cJSON_AddNumberToObject(meta, "waitTime", (double)r->wait_ms) ||
	    (r->has_init && !cJSON_AddNumberToObject(meta, "initTime", (double)r->init_ms)) ||
	    !cJSON_AddBoolToObject(meta, "timeout", r->timeout) ||
	    (r->partial && !cJSON_AddBoolToObject(meta, "partial", true)) ||
	    (r->logs_only && !cJSON_AddBoolToObject(meta, "logsOnly", true)) ||
	    (r->container[0] && !cJSON_AddStringToObject(meta, "container", r->container)))
		return NULL;
	logs = r->logs ? cJSON_Duplicate(r->logs, 1) : cJSON_CreateArray();
	if (!logs)
		return NULL;
	cJSON_AddItemToObject(meta, "logs", logs);
	out = act_payload_join(meta, r->result, r->result_len, len_out);
	return out;
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
