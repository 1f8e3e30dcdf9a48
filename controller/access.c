/* SPDX-License-Identifier: Apache-2.0 */
/* Entitlements (see access.h). */
#include "controller/access.h"

#include <errno.h>
#include <string.h>

#include "controller/entity.h"

bool access_package_shared(const cJSON *pkg)
{
	return json_get_bool(pkg, "publish", false) && !entity_package_is_binding(pkg);
}

static int refuse(const struct route *r, const char *ns, struct err *e)
{
	return err_set(e, -EPERM, "The supplied authentication is not authorized to access '%s%s%s%s%s'.",
		       ns, r->package[0] ? "/" : "", r->package, r->name[0] ? "/" : "", r->name);
}

/* Invoking an action or firing a trigger runs something; it changes no
 * entity. */
static bool is_write(const struct route *r, const char *method)
{
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
		return false;
	if (strcmp(method, "POST") == 0)
		return r->kind != ROUTE_ACTION && r->kind != ROUTE_TRIGGER;
	return true;
}

/* Package `pkg` of ns shared with other namespaces? A package that does
 * not exist is refused like an unshared one. */
static int shared_package(struct store *s, const struct route *r, const char *ns,
			  const char *pkg, struct err *e)
{
	_cleanup_json_ cJSON *doc = NULL;
	int rc = store_entity_load(s, ns, "packages", pkg, &doc, e);

	if (rc == -ENOENT) {
		err_clear(e);
		return refuse(r, ns, e);
	}
	if (rc < 0)
		return rc;
	return access_package_shared(doc) ? 0 : refuse(r, ns, e);
}

int access_check(struct store *s, const char *caller, const struct route *r, const char *method,
		 struct access *out, struct err *e)
{
	const char *ns = strcmp(r->ns, "_") == 0 || r->kind == ROUTE_NAMESPACES ? caller : r->ns;
	bool get = strcmp(method, "GET") == 0;
	int rc;

	out->ns = ns;
	out->shared = false;
	if (strcmp(ns, ACCESS_SYSTEM_NS) == 0 && is_write(r, method))
		return err_set(e, -EPERM,
			       "The namespace " ACCESS_SYSTEM_NS
			       " is managed by edgewhisk and cannot be changed through the API.");
	if (strcmp(ns, caller) == 0)
		return 0;
	switch (r->kind) {
	case ROUTE_PACKAGES:
		rc = get ? 0 : refuse(r, ns, e);
		break;
	case ROUTE_PACKAGE:
		rc = get ? shared_package(s, r, ns, r->name, e) : refuse(r, ns, e);
		break;
	case ROUTE_ACTIONS:
		rc = get && r->package[0] ? shared_package(s, r, ns, r->package, e) : refuse(r, ns, e);
		break;
	case ROUTE_ACTION:
		rc = (get || strcmp(method, "POST") == 0) && r->package[0]
			     ? shared_package(s, r, ns, r->package, e)
			     : refuse(r, ns, e);
		break;
	default:
		rc = refuse(r, ns, e);
		break;
	}
	out->shared = rc == 0;
	return rc;
}
