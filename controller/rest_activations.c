/* SPDX-License-Identifier: Apache-2.0 */
/* Activation records (spec §4; see rest.h): list (filters, ?count,
 * ?docs), one record as stored, its response, its logs. */
#include "controller/rest.h"

#include <errno.h>
#include <stdlib.h>

void rest_activations_list(struct rest_req *q)
{
	const struct rest_env *env = q->env;
	_cleanup_json_ cJSON *arr = cJSON_CreateArray();
	struct rest_list_ctx l = { .arr = arr, .activations = 1 };
	struct err e = { 0 };
	uint64_t limit, skip, since, upto;
	char name[NAME_SIZE * 2 + 2] = "";
	bool docs, count;
	int rc;

	if (!rest_is(q, "GET"))
		return rest_reply_method(q, "GET");
	if (rest_query_limit(q, "activations", &limit, &skip) < 0)
		return;
	if (route_query_u64(q->uri, "since", 0, 0, UINT64_MAX, &since) < 0 ||
	    route_query_u64(q->uri, "upto", 0, 0, UINT64_MAX, &upto) < 0 ||
	    route_query_bool(q->uri, "docs", false, &docs) < 0 ||
	    route_query_bool(q->uri, "count", false, &count) < 0)
		return rest_reply_error(q, 400,
					"The values of since, upto, docs or count are malformed.");
	if (count && docs)
		return rest_reply_error(q, 400,
					"The parameters 'count' and 'docs' cannot be combined.");
	rc = route_query_get(q->uri, "name", name, sizeof(name));
	if (rc == -ENAMETOOLONG)
		return rest_reply_error(q, 400, "The name of the entity contains illegal characters.");
	if (count) {
		_cleanup_json_ cJSON *j = cJSON_CreateObject();
		uint64_t n = 0;

		rc = store_activation_count(env->store, q->ns, name[0] ? name : NULL, since, upto, &n,
					    &e);
		if (rc < 0)
			return rest_reply_err(q, rc, &e);
		cJSON_AddNumberToObject(j, "activations", (double)n);
		return rest_reply_json(&q->reply, 200, j, NULL);
	}
	l.activations = docs ? 2 : 1;
	rc = store_activation_list(env->store, q->ns, name[0] ? name : NULL, since, upto,
				   (uint32_t)limit, (uint32_t)skip, rest_list_row, &l, &e);
	if (rc < 0)
		return rest_reply_err(q, rc, &e);
	rest_reply_json(&q->reply, 200, arr, NULL);
}

void rest_activation(struct rest_req *q)
{
	_cleanup_json_ cJSON *rec = NULL, *j = NULL;
	struct err e = { 0 };
	const cJSON *part;
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (!rest_is(q, "GET"))
		return rest_reply_method(q, "GET");
	rc = store_activation_get(q->env->store, q->ns, q->r.name, &text, &len, &e);
	if (rc == -ENOENT)
		return rest_reply_not_found(q);
	if (rc < 0)
		return rest_reply_err(q, rc, &e);
	if (q->r.kind == ROUTE_ACTIVATION) {
		rest_reply_raw(&q->reply, 200, "application/json", text, len, NULL);
		free(text);
		return;
	}
	rc = json_parse(text, len, &rec, &e);
	free(text);
	if (rc < 0)
		return rest_reply_error(q, 500, "The stored activation record is unreadable.");
	if (q->r.kind == ROUTE_ACTIVATION_RESULT) {
		part = json_get_object(rec, "response");
		return part ? rest_reply_json(&q->reply, 200, part, NULL) : rest_reply_not_found(q);
	}
	j = cJSON_CreateObject();
	part = json_get_array(rec, "logs");
	cJSON_AddItemToObject(j, "logs", part ? cJSON_Duplicate(part, 1) : cJSON_CreateArray());
	rest_reply_json(&q->reply, 200, j, NULL);
}
