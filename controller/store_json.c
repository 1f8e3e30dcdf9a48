/* SPDX-License-Identifier: Apache-2.0 */
/* The store's documents as cJSON trees (see store.h): the get-then-parse
 * and print-then-put every handler and domain module needs, in one place.
 * Only the store's public API, no SQLite here. */
#include "controller/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/now.h"

int store_entity_load(struct store *s, const char *ns, const char *coll, const char *name,
		      cJSON **out, struct err *e)
{
	char *doc = NULL;
	size_t len = 0;
	struct err pe = { 0 };
	int rc = store_entity_get(s, ns, coll, name, &doc, &len, e);

	if (rc < 0)
		return rc;
	rc = json_parse(doc, len, out, &pe);
	free(doc);
	if (rc < 0)
		return err_set(e, rc, "stored %s %s/%s is unreadable: %s", coll, ns, name, pe.msg);
	return 0;
}

int store_not_found(int rc, struct err *e)
{
	if (rc != -ENOENT)
		return rc;
	err_clear(e);
	return err_set(e, rc, "The requested resource does not exist.");
}

int store_entity_load_old(struct store *s, const char *ns, const char *coll, const char *name,
			  bool overwrite, cJSON **out, struct err *e)
{
	int rc;

	*out = NULL;
	if (!overwrite)
		return 0;
	rc = store_entity_load(s, ns, coll, name, out, e);
	if (rc != -ENOENT)
		return rc;
	err_clear(e);
	return 0;
}

int store_entity_save(struct store *s, const char *ns, const char *coll, const char *name,
		      const cJSON *doc, uint64_t updated_ms, bool overwrite, struct err *e)
{
	size_t len = 0;
	char *text = json_print(doc, &len);
	int rc;

	if (!text)
		return err_set(e, -ENOMEM, "out of memory");
	if (!updated_ms && json_get_u64(doc, "updated", &updated_ms) < 0)
		updated_ms = 0;
	rc = store_entity_put(s, ns, coll, name, text, len, updated_ms ? updated_ms : now_epoch_ms(),
			      overwrite, e);
	json_free(text);
	if (rc == -EEXIST) {
		char other[32] = "";

		if (store_entity_collection(s, ns, name, other, sizeof(other), NULL) < 0)
			other[0] = '\0';
		err_clear(e);
		return err_set(e, rc, "%s",
			       other[0] && strcmp(other, coll) != 0
				       ? "Resource by this name exists but is not in this collection."
				       : "resource already exists");
	}
	return rc;
}
