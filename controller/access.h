/* SPDX-License-Identifier: Apache-2.0 */
/* Who may do what to which namespace: OpenWhisk's entitlement rules, as
 * its PackageCollection and ActionCollection grant them. A key has every
 * right in its own namespace. In another namespace it may only read and
 * invoke what that namespace shares: a package with "publish": true that
 * is no binding, and the actions inside it; and it may list that
 * namespace's packages (the list then holds only the shared ones). Every
 * other request across namespaces is 403, writes always. The platform's
 * own namespace (whisk.system) is written by edgewhisk alone (the
 * catalog), never through the API, whatever the key. nng-free; the one
 * door api.c sends every authenticated request through. */
#ifndef EW_ACCESS_H
#define EW_ACCESS_H

#include <stdbool.h>

#include "common/err.h"
#include "controller/name.h"
#include "controller/route.h"
#include "controller/store.h"

#define ACCESS_SYSTEM_NS "whisk.system"

struct access {
	const char *ns;   /* the addressed namespace ("_" resolved): r->ns or caller */
	bool shared;      /* granted because another namespace shares it */
};

/* Decide on route r with method for a key of namespace caller. 0 and *out
 * when allowed; -EPERM (403) with OpenWhisk's message ("The supplied
 * authentication is not authorized to access 'ns/pkg/name'.") when not,
 * also for a package that does not exist in another namespace (no hint of
 * what is there); store errors (-EIO, -ENOMEM) as they are. Reads the
 * store only for a request across namespaces. */
int access_check(struct store *s, const char *caller, const struct route *r, const char *method,
		 struct access *out, struct err *e) __attribute__((warn_unused_result));

/* A package document another namespace may read and invoke from. */
bool access_package_shared(const cJSON *pkg);

#endif
