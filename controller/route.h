/* SPDX-License-Identifier: Apache-2.0 */
/* Request routing for the REST API: split an /api/v1 URI into what it
 * addresses, validate names as OpenWhisk does, parse query parameters, and
 * check Basic credentials. Pure functions, no I/O (unit-tested and fuzzed). */
#ifndef EW_ROUTE_H
#define EW_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cfg.h"
#include "common/err.h"
#include "controller/name.h"

enum route_kind {
	ROUTE_NONE = 0,          /* not an API path we serve: 404 */
	ROUTE_ROOT,              /* GET / */
	ROUTE_API_INFO,          /* GET /api/v1 */
	ROUTE_NAMESPACES,        /* GET /api/v1/namespaces */
	ROUTE_LIMITS,            /* GET /api/v1/namespaces/{ns}/limits */
	ROUTE_ACTIONS,           /* /api/v1/namespaces/{ns}/actions (list) */
	ROUTE_ACTION,            /* /api/v1/namespaces/{ns}/actions/{[pkg/]name} */
	ROUTE_ACTIVATIONS,       /* /api/v1/namespaces/{ns}/activations (list) */
	ROUTE_ACTIVATION,        /* .../activations/{id} */
	ROUTE_ACTIVATION_RESULT, /* .../activations/{id}/result */
	ROUTE_ACTIVATION_LOGS,   /* .../activations/{id}/logs */
	ROUTE_TRIGGERS,          /* /api/v1/namespaces/{ns}/triggers (list) */
	ROUTE_TRIGGER,           /* .../triggers/{name} */
	ROUTE_RULES,             /* .../rules (list) */
	ROUTE_RULE,              /* .../rules/{name} */
	ROUTE_PACKAGES,          /* .../packages (list) */
	ROUTE_PACKAGE,           /* .../packages/{name} */
	ROUTE_WEB,               /* /api/v1/web/{ns}/{pkg|default}/{name}[.{ext}][/{path}] */
	ROUTE_GATEWAY,           /* /api/{tenant}/{path}: an API route (tenant = namespace, not "v1") */
	ROUTE_PING,              /* GET /ping */
	ROUTE_HEALTH,            /* GET /health */
};

struct route {
	enum route_kind kind;
	char ns[NAME_SIZE];       /* as written: "_" or a namespace */
	char package[NAME_SIZE];  /* "" when none */
	char name[NAME_SIZE];     /* entity name, or activation id */
	/* ROUTE_WEB (and ROUTE_GATEWAY: web_path is the path after the
	 * tenant, "/...", raw) only: the extension ("http" when none or not a known
	 * one: then the whole segment is the name) and what followed it,
	 * still percent-encoded ("" or "/..."), pointing into the uri. */
	char ext[8];
	const char *web_path;
	size_t web_path_len;
};

/* Parse the path part of `uri` (query and fragment ignored; percent-decoding
 * applied to each segment, '+' kept, an encoded '/' is a name character).
 * Returns 0 and fills *r, or -EINVAL with the OpenWhisk message in e
 * ("The name of the entity contains illegal characters." for a bad, empty
 * or over-256-char name or one holding %00; "The package name 'default' is
 * reserved."; "Activation id length is 7 but must be 32."; "The activation
 * id is not valid." for 32 chars that are not lowercase hex; "malformed
 * URI" for a bad %-escape anywhere in the path). *r is written only on
 * success. An unknown path (other shapes, empty segments, "." or "..",
 * a uri not starting with '/') gives 0 with kind ROUTE_NONE and empty
 * fields; the shape is matched before names are checked. One trailing
 * slash is tolerated; "actions/pkg/" lists a package (kind ROUTE_ACTIONS
 * with package set). Web paths: package "default" means none (package
 * ""), the extension is one of http json html svg text, anything after the
 * action segment is web_path. /api/{tenant}/{path} (tenant a valid name
 * other than "v1", path not empty) is ROUTE_GATEWAY with ns = tenant and
 * web_path = "/{path}" raw. Thread-safe, no allocation. */
int route_parse(const char *uri, struct route *r, struct err *e)
	__attribute__((warn_unused_result));

/* Query parameters. route_query_get copies the percent-decoded value of
 * `key` from the query part of `uri` (after '?', up to '#') into buf: keys
 * and values are decoded ('+' is a space), the first occurrence wins, a key
 * without '=' has the empty value. -ENOENT when absent, -ENAMETOOLONG when
 * it does not fit, -EINVAL when the value has a bad %-escape or %00. */
int route_query_get(const char *uri, const char *key, char *buf, size_t size);

/* Typed query parameters: absent -> def; present but malformed or outside
 * [min, max] -> -EINVAL (*out untouched). Numbers are plain decimal digits
 * (no sign, at most 31). Booleans accept "true"/"false" only. */
int route_query_u64(const char *uri, const char *key, uint64_t def, uint64_t min, uint64_t max,
		    uint64_t *out) __attribute__((warn_unused_result));
int route_query_bool(const char *uri, const char *key, bool def, bool *out)
	__attribute__((warn_unused_result));

/* Check an "Authorization: Basic base64(uuid:key)" header against the
 * configured keys (the key compared in constant time). Returns the index
 * of the matching key, -ENOENT when the header is absent/empty or blank
 * (401 "requires authentication"), -EACCES for anything else (401
 * "invalid"): other schemes, strict base64 only (padded, canonical). */
int route_auth(const struct cfg *c, const char *authorization);

#endif
