/* SPDX-License-Identifier: Apache-2.0 */
/* Entity names, as OpenWhisk has them: the name rule and its limit, and
 * fully qualified names ("/ns/[pkg/]name"). Pure, below the router
 * (route.c checks path segments with it) and the document builders
 * (entity_*.c check references with it). */
#ifndef EW_NAME_H
#define EW_NAME_H

#include <stdbool.h>
#include <stddef.h>

#define NAME_SIZE 257                     /* 256 chars + NUL (OpenWhisk's limit) */
#define NAME_FQN_SIZE (3 * NAME_SIZE + 4) /* "/ns/pkg/name" + NUL */

/* OpenWhisk's entity name rule: \A([\w]|[\w][\w@ .-]*[\w@.-]+)\z, ASCII
 * \w, at most 256 characters. NULL is invalid. */
bool name_is_valid(const char *name);
/* The same over s[0..len): a NUL byte inside is just an illegal one. */
bool name_is_valid_n(const char *s, size_t len);

struct name_fqn {
	char ns[NAME_SIZE];
	char pkg[NAME_SIZE];          /* "" outside a package */
	char name[NAME_SIZE];
};

/* An entity name as clients write it: "/ns/name", "/ns/pkg/name" ("_" =
 * default_ns), "name" or "pkg/name" (in default_ns). Each part must be a
 * valid name. -EINVAL otherwise (*out untouched). */
int name_fqn_parse(const char *s, const char *default_ns, struct name_fqn *out)
	__attribute__((warn_unused_result));
/* "/ns/[pkg/]name". */
void name_fqn_format(const struct name_fqn *f, char *buf, size_t size);

#endif
