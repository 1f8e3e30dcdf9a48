/* SPDX-License-Identifier: Apache-2.0 */
/* Packages as operations (spec §7): store one (a binding must name a
 * package that exists and is ours or published, that is not itself a
 * binding, and a package holding actions cannot become a binding), read
 * one with the summaries of its actions, delete one (refused while it
 * holds actions, unless forced: then its actions go first). nng-free;
 * errors are a negative errno with OpenWhisk's message in *e. */
#ifndef EW_PACKAGES_H
#define EW_PACKAGES_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "common/json.h"
#include "controller/invoke.h"
#include "controller/store.h"

/* PUT package `name` of ns from body (NULL = {}). -EINVAL ("Binding
 * references a package that does not exist.", "Cannot bind to another
 * package binding.", "Cannot bind a package that contains actions.",
 * build errors), -EEXIST (409 message), store errors. *out: the stored
 * document (caller frees). */
int packages_put(struct store *s, const char *ns, const char *name, const cJSON *body,
		 bool overwrite, cJSON **out, struct err *e) __attribute__((warn_unused_result));

/* GET: the document with "actions" (name, version, annotations of each
 * action inside; for a binding, those of the bound package, whose
 * parameters it shows under its own, as upstream) and "feeds": [].
 * -ENOENT ("The requested resource does not exist."), store errors. */
int packages_get(struct store *s, const char *ns, const char *name, cJSON **out,
		 struct err *e) __attribute__((warn_unused_result));

/* DELETE: -EEXIST ("Package not empty (contains N entities). ...") when it
 * holds actions and !force; with force its actions are deleted first (and
 * their code files dropped through iv). *doc, *len: the deleted document's
 * text (caller frees). -ENOENT, store errors. */
int packages_delete(struct store *s, struct invoke *iv, const char *ns, const char *name,
		    bool force, char **doc, size_t *len, struct err *e)
	__attribute__((warn_unused_result));

#endif
