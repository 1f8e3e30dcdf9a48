/* SPDX-License-Identifier: Apache-2.0 */
/* Packages (spec §7; see rest.h): list, put (bindings checked), get (with
 * the actions inside), delete (?force=true deletes the actions too). The
 * operations are packages.c's. */
#include "controller/rest.h"

#include <errno.h>
#include <stdlib.h>

#include "controller/access.h"
#include "controller/entity.h"
#include "controller/packages.h"

/* Summaries of the shared packages among the rows walked. */
static int shared_row(void *arg, const char *doc, size_t len)
{
	cJSON *arr = arg, *item;
	_cleanup_json_ cJSON *j = NULL;

	if (json_parse(doc, len, &j, NULL) < 0 || !access_package_shared(j))
		return 0;
	item = entity_summary("packages", j);
	if (!item)
		return -ENOMEM;
	cJSON_AddItemToArray(arr, item);
	return 0;
}

/* Another namespace's packages (only the shared ones), or with ?public=true
 * ours followed by every other namespace's shared ones. Filtered after the
 * query, so skip and limit apply here. */
static void list_with_shared(struct rest_req *q, bool ours)
{
	_cleanup_json_ cJSON *all = cJSON_CreateArray(), *page = cJSON_CreateArray();
	struct rest_list_ctx l = { .arr = all, .coll = "packages" };
	struct err e = { 0 };
	uint64_t limit, skip, i = 0;
	bool count;
	cJSON *it;
	int rc;

	if (!all || !page)
		return rest_reply_error(q, 500, "out of memory");
	if (rest_query_limit(q, "packages", &limit, &skip) < 0)
		return;
	if (route_query_bool(q->uri, "count", false, &count) < 0)
		return rest_reply_error(q, 400, "The value of count must be true or false.");
	rc = ours ? store_entity_list(q->env->store, q->ns, "packages", 0, 0, rest_list_row, &l, &e)
		  : store_entity_list(q->env->store, q->ns, "packages", 0, 0, shared_row, all, &e);
	if (rc == 0 && ours)
		rc = store_entity_list_others(q->env->store, q->ns, "packages", shared_row, all, &e);
	if (rc < 0)
		return rest_reply_err(q, rc, &e);
	if (count) {
		_cleanup_json_ cJSON *j = cJSON_CreateObject();

		cJSON_AddNumberToObject(j, "packages", (double)cJSON_GetArraySize(all));
		return rest_reply_json(&q->reply, 200, j, NULL);
	}
	while ((it = cJSON_DetachItemFromArray(all, 0))) {
		if (i >= skip && i - skip < limit)
			cJSON_AddItemToArray(page, it);
		else
			cJSON_Delete(it);
		i++;
	}
	rest_reply_json(&q->reply, 200, page, NULL);
}

void rest_packages_list(struct rest_req *q)
{
	bool public;

	if (!rest_is(q, "GET"))
		return rest_reply_method(q, "GET");
	if (route_query_bool(q->uri, "public", false, &public) < 0)
		return rest_reply_error(q, 400, "The value of public must be true or false.");
	if (q->shared || public)
		return list_with_shared(q, !q->shared);
	rest_list(q, "packages");
}

static void package_delete(struct rest_req *q)
{
	struct err e = { 0 };
	char *text = NULL;
	size_t len = 0;
	bool force;
	int rc;

	if (route_query_bool(q->uri, "force", false, &force) < 0)
		return rest_reply_error(q, 400, "The value of force must be true or false.");
	rc = packages_delete(q->env->store, q->env->invoke, q->ns, q->r.name, force, &text, &len,
			     &e);
	if (rc < 0)
		return rest_reply_err(q, rc, &e);
	rest_reply_raw(&q->reply, 200, "application/json", text, len, NULL);
	free(text);
}

void rest_package(struct rest_req *q)
{
	_cleanup_json_ cJSON *body = NULL, *doc = NULL;
	struct err e = { 0 };
	bool overwrite;
	int rc;

	if (rest_is(q, "DELETE"))
		return package_delete(q);
	if (rest_is(q, "PUT")) {
		if (rest_put_body(q, &overwrite, &body) < 0)
			return;
		rc = packages_put(q->env->store, q->ns, q->r.name, body, overwrite, &doc, &e);
	} else if (rest_is(q, "GET")) {
		rc = packages_get(q->env->store, q->ns, q->r.name, &doc, &e);
	} else {
		return rest_reply_method(q, "GET, PUT, DELETE");
	}
	if (rc < 0)
		return rest_reply_err(q, rc, &e);
	rest_reply_json(&q->reply, 200, doc, NULL);
}
