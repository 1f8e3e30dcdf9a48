/* SPDX-License-Identifier: Apache-2.0 */
/* The platform's own routes (see rest.h): API info, /ping, /health (the
 * invokers' state from the queue and the supervisor), the caller's
 * namespaces and its limits. */
#include "controller/rest.h"

#include <stdio.h>

static bool get_or_head(struct rest_req *q)
{
	if (rest_is(q, "GET") || rest_is(q, "HEAD"))
		return true;
	rest_reply_method(q, "GET");
	return false;
}

void rest_info(struct rest_req *q)
{
	_cleanup_json_ cJSON *j = cJSON_CreateObject();
	cJSON *paths;

	if (!get_or_head(q))
		return;
	if (q->r.kind == ROUTE_ROOT) {
		cJSON_AddStringToObject(j, "description", "OpenWhisk");
		paths = cJSON_AddArrayToObject(j, "api_paths");
		cJSON_AddItemToArray(paths, cJSON_CreateString("/api/v1"));
	} else {
		cJSON_AddStringToObject(j, "description", "OpenWhisk API");
		cJSON_AddStringToObject(j, "api_version", "1.0.0");
		cJSON_AddStringToObject(j, "api_version_path", "v1");
		cJSON_AddStringToObject(j, "build", q->env->build);
		cJSON_AddStringToObject(j, "buildno", "edgewhisk");
		paths = cJSON_AddObjectToObject(j, "swagger_paths");
		cJSON_AddStringToObject(paths, "ui", "/docs");
		cJSON_AddStringToObject(paths, "api-docs", "/api-docs");
	}
	rest_reply_json(&q->reply, 200, j, NULL);
}

void rest_ping(struct rest_req *q)
{
	if (get_or_head(q))
		rest_reply_raw(&q->reply, 200, "text/plain", "pong", 4, NULL);
}

void rest_health(struct rest_req *q)
{
	const struct rest_env *env = q->env;
	_cleanup_json_ cJSON *j = NULL;
	uint32_t n, up = 0;
	cJSON *arr;

	if (!get_or_head(q))
		return;
	j = cJSON_CreateObject();
	n = queue_invoker_count(env->queue);
	arr = cJSON_AddArrayToObject(j, "invokers");
	for (uint32_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		struct sup_invoker_state st = { 0 };
		pid_t pid = queue_invoker_pid(env->queue, i);

		if (env->sup)
			(void)sup_state(env->sup, i, &st);
		cJSON_AddNumberToObject(o, "id", i);
		cJSON_AddStringToObject(o, "state", pid ? "up" : "down");
		cJSON_AddNumberToObject(o, "pid", pid);
		cJSON_AddNumberToObject(o, "restarts", st.restarts);
		cJSON_AddNumberToObject(o, "queued", queue_invoker_depth(env->queue, i));
		cJSON_AddNumberToObject(o, "running", queue_invoker_inflight(env->queue, i));
		cJSON_AddItemToArray(arr, o);
		up += pid != 0;
	}
	cJSON_AddStringToObject(j, "status", up == n ? "ok" : up ? "degraded" : "down");
	cJSON_AddNumberToObject(j, "activationsInFlight", dispatch_inflight(env->dispatch));
	rest_reply_json(&q->reply, up ? 200 : 503, j, NULL);
}

void rest_namespaces(struct rest_req *q)
{
	_cleanup_json_ cJSON *j = cJSON_CreateArray();

	if (!rest_is(q, "GET"))
		return rest_reply_method(q, "GET");
	cJSON_AddItemToArray(j, cJSON_CreateString(q->caller));
	rest_reply_json(&q->reply, 200, j, NULL);
}

void rest_limits(struct rest_req *q)
{
	const struct cfg *c = q->env->cfg;
	_cleanup_json_ cJSON *j = cJSON_CreateObject();
	char size[32];

	if (!rest_is(q, "GET"))
		return rest_reply_method(q, "GET");
	snprintf(size, sizeof(size), "%llu MB",
		 (unsigned long long)(c->limits.payload_bytes.max >> 20));
	/* 0 = unlimited: OpenWhisk has no such value, so the key is left out. */
	if (c->limits.invocations_per_minute)
		cJSON_AddNumberToObject(j, "invocationsPerMinute",
					(double)c->limits.invocations_per_minute);
	if (c->limits.fires_per_minute)
		cJSON_AddNumberToObject(j, "firesPerMinute", (double)c->limits.fires_per_minute);
	if (c->limits.concurrent_invocations)
		cJSON_AddNumberToObject(j, "concurrentInvocations",
					(double)c->limits.concurrent_invocations);
	cJSON_AddNumberToObject(j, "maxActionMemory", (double)c->limits.memory_mb.max);
	cJSON_AddNumberToObject(j, "minActionMemory", (double)c->limits.memory_mb.min);
	cJSON_AddNumberToObject(j, "maxActionTimeout", (double)c->limits.timeout_ms.max);
	cJSON_AddNumberToObject(j, "minActionTimeout", (double)c->limits.timeout_ms.min);
	cJSON_AddNumberToObject(j, "maxActionLogs", (double)c->limits.logs_mb.max);
	cJSON_AddNumberToObject(j, "minActionLogs", (double)c->limits.logs_mb.min);
	cJSON_AddNumberToObject(j, "maxActionConcurrency", 1);
	cJSON_AddNumberToObject(j, "minActionConcurrency", 1);
	cJSON_AddStringToObject(j, "maxParameterSize", size);
	rest_reply_json(&q->reply, 200, j, NULL);
}
