/* SPDX-License-Identifier: Apache-2.0 */
/* Packages (spec §7; see rest.h): list, put (bindings checked), get (with
 * the actions inside), delete (?force=true deletes the actions too). The
 * operations are packages.c's. */
#include "controller/rest.h"

#include <stdlib.h>

#include "controller/packages.h"

void rest_packages_list(struct rest_req *q)
{
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
