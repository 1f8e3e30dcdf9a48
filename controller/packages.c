/* SPDX-License-Identifier: Apache-2.0 */
/* Packages (see packages.h). An action inside package p of ns is stored
 * in ns under the name "p/action" with "namespace": "ns/p"; the package
 * document does not list its actions, so they are found by that
 * namespace. */
#include "controller/packages.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/now.h"
#include "controller/entity.h"

/* Actions stored in one package. */
struct pkg_actions {
	cJSON *arr;                  /* summaries, or NULL to only count */
	char docns[NAME_SIZE * 2 + 2];   /* "ns/pkg" */
	char (*names)[NAME_SIZE * 2 + 2]; /* "pkg/action" */
	uint32_t n, cap;
};

static int pkg_action_row(void *arg, const char *doc, size_t len)
{
	struct pkg_actions *p = arg;
	_cleanup_json_ cJSON *j = NULL;
	const char *ns, *name;

	if (json_parse(doc, len, &j, NULL) < 0)
		return 0;
	ns = json_get_string(j, "namespace");
	name = json_get_string(j, "name");
	if (!ns || !name || strcmp(ns, p->docns) != 0)
		return 0;
	if (p->arr) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "name", name);
		cJSON_AddStringToObject(o, "version", json_get_string(j, "version")
							  ? json_get_string(j, "version") : "0.0.1");
		cJSON_AddItemToObject(o, "annotations",
				      cJSON_Duplicate(json_get_array(j, "annotations"), true));
		cJSON_AddItemToArray(p->arr, o);
	}
	if (p->n == p->cap) {
		uint32_t cap = p->cap ? p->cap * 2 : 8;
		void *nn = realloc(p->names, cap * sizeof(*p->names));

		if (!nn)
			return -ENOMEM;
		p->names = nn;
		p->cap = cap;
	}
	snprintf(p->names[p->n++], sizeof(p->names[0]), "%s/%s", strchr(p->docns, '/') + 1, name);
	return 0;
}

static int package_actions(struct store *s, const char *ns, const char *name,
			   struct pkg_actions *p, struct err *e)
{
	snprintf(p->docns, sizeof(p->docns), "%s/%s", ns, name);
	return store_entity_list(s, ns, "actions", 0, 0, pkg_action_row, p, e);
}

/* A binding must name a package that exists, is ours or published, and is
 * no binding itself; a package with actions cannot become one. */
static int check_binding(struct store *s, const char *ns, const char *name, const cJSON *doc,
			 bool updating, struct err *e)
{
	const cJSON *b = json_get_object(doc, "binding");
	const char *bns = json_get_string(b, "namespace"), *bname = json_get_string(b, "name");
	_cleanup_json_ cJSON *target = NULL;
	struct pkg_actions mine = { 0 };
	int rc = store_entity_load(s, bns, "packages", bname, &target, NULL);

	if (rc < 0 || (strcmp(bns, ns) != 0 && !json_get_bool(target, "publish", false)))
		return err_set(e, -EINVAL, "Binding references a package that does not exist.");
	if (entity_package_is_binding(target))
		return err_set(e, -EINVAL, "Cannot bind to another package binding.");
	rc = updating ? package_actions(s, ns, name, &mine, NULL) : 0;
	free(mine.names);
	if (rc == 0 && mine.n > 0)
		return err_set(e, -EINVAL, "Cannot bind a package that contains actions.");
	return 0;
}

int packages_put(struct store *s, const char *ns, const char *name, const cJSON *body,
		 bool overwrite, cJSON **out, struct err *e)
{
	_cleanup_json_ cJSON *old = NULL, *doc = NULL;
	int rc;

	rc = store_entity_load_old(s, ns, "packages", name, overwrite, &old, e);
	if (rc < 0)
		return rc;
	rc = entity_package_build(ns, name, body, old, now_epoch_ms(), &doc, e);
	if (rc < 0)
		return rc;
	if (entity_package_is_binding(doc)) {
		rc = check_binding(s, ns, name, doc, old != NULL, e);
		if (rc < 0)
			return rc;
	}
	rc = store_entity_save(s, ns, "packages", name, doc, now_epoch_ms(), overwrite, e);
	if (rc == 0)
		*out = TAKE_PTR(doc);
	return rc;
}

int packages_get(struct store *s, const char *ns, const char *name, cJSON **out,
		 struct err *e)
{
	_cleanup_json_ cJSON *doc = NULL;
	struct pkg_actions p = { 0 };
	int rc = store_entity_load(s, ns, "packages", name, &doc, e);

	if (rc < 0)
		return store_not_found(rc, e);
	p.arr = cJSON_AddArrayToObject(doc, "actions");
	if (entity_package_is_binding(doc)) {
		/* As upstream: the bound package's actions, and its parameters
		 * under the binding's. A bound package since deleted leaves
		 * the binding with none. */
		const cJSON *b = json_get_object(doc, "binding");
		const char *bns = json_get_string(b, "namespace"), *bname = json_get_string(b, "name");
		_cleanup_json_ cJSON *bound = NULL;

		rc = bns && bname ? store_entity_load(s, bns, "packages", bname, &bound, NULL) : -ENOENT;
		if (rc == 0 && entity_params_inherit(doc, json_get_array(bound, "parameters")) < 0)
			rc = err_set(e, -ENOMEM, "out of memory");
		else if (rc == 0)
			rc = package_actions(s, bns, bname, &p, e);
		else
			rc = rc == -ENOENT ? 0 : store_not_found(rc, e);
	} else {
		rc = package_actions(s, ns, name, &p, e);
	}
	free(p.names);
	if (rc < 0)
		return rc;
	cJSON_AddArrayToObject(doc, "feeds");
	*out = TAKE_PTR(doc);
	return 0;
}

int packages_delete(struct store *s, struct invoke *iv, const char *ns, const char *name,
		    bool force, char **doc, size_t *len, struct err *e)
{
	struct pkg_actions p = { 0 };
	int rc = package_actions(s, ns, name, &p, e);

	if (rc == 0 && p.n > 0 && !force) {
		free(p.names);
		return err_set(e, -EEXIST,
			       "Package not empty (contains %u entities). Set force param or delete "
			       "package contents.",
			       p.n);
	}
	for (uint32_t i = 0; rc == 0 && i < p.n; i++) {
		_cleanup_json_ cJSON *adoc = NULL;
		char *text = NULL;
		size_t tlen = 0;

		if (store_entity_delete(s, ns, "actions", p.names[i], &text, &tlen, NULL) == 0 &&
		    json_parse(text, tlen, &adoc, NULL) == 0)
			invoke_code_forget(iv, ns, p.names[i], adoc);
		free(text);
	}
	free(p.names);
	if (rc < 0)
		return rc;
	rc = store_entity_delete(s, ns, "packages", name, doc, len, e);
	return store_not_found(rc, e);
}
