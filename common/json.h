/* SPDX-License-Identifier: Apache-2.0 */
/* JSON through cJSON: the one place that knows how we parse (length-bounded,
 * errors with a position), read fields with type checks, and print. Callers
 * hold cJSON trees (the type is part of this API); a cJSON version change
 * or a swap of library starts here. */
#ifndef EW_JSON_H
#define EW_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "common/cleanup.h"
#include "common/err.h"

/* Parse `len` bytes (no NUL needed). -EINVAL with "invalid JSON at byte N"
 * for malformed input, trailing garbage or nesting deeper than cJSON's
 * limit; -ENOMEM. On success *out is the caller's (json_delete). */
int json_parse(const char *buf, size_t len, cJSON **out, struct err *e)
	__attribute__((warn_unused_result));

/* A tree of client-supplied JSON costs up to ~40x its size (a node of
 * 64 bytes plus malloc's overhead per "1,"). json_parse_bounded first
 * counts the values with the scanner and refuses (-E2BIG, "too many JSON
 * values: N for L bytes") more than JSON_TREE_VALUES_MAX(len): the tree
 * then stays within about 3x the text. Otherwise as json_parse. */
#define JSON_TREE_VALUES_MAX(len) ((size_t)4096 + (len) / 32)
int json_parse_bounded(const char *buf, size_t len, cJSON **out, struct err *e)
	__attribute__((warn_unused_result));

/* Whether text[0..len) is exactly one JSON value, whitespace around it
 * allowed: the validating scanner (jscan), no tree built. */
bool json_is_value(const char *text, size_t len);

/* Field getters: NULL / false / -ENOENT when the key is absent, -EINVAL (or
 * NULL) when it has another type. The string is borrowed from the tree. */
const char *json_get_string(const cJSON *obj, const char *key);
const cJSON *json_get_object(const cJSON *obj, const char *key);
const cJSON *json_get_array(const cJSON *obj, const char *key);
int json_get_u64(const cJSON *obj, const char *key, uint64_t *out);
int json_get_i64(const cJSON *obj, const char *key, int64_t *out);
bool json_get_bool(const cJSON *obj, const char *key, bool def);

/* obj[key] = v, printed as its decimal digits: exact for all 64 bits and
 * without cJSON's number printing (a "%1.15g" sprintf and an sscanf to
 * check it for every value above 2^31, such as a timestamp in ms: ~3% of an
 * invoker's CPU per activation in perf). The item is raw, for trees built
 * to be printed (json_get_u64 does not read it back). false on ENOMEM. */
bool json_add_u64(cJSON *obj, const char *key, uint64_t v);

/* Print compactly. Returns a NUL-terminated string (length in *len_out when
 * not NULL) that the caller frees with json_free, or NULL on ENOMEM. */
char *json_print(const cJSON *item, size_t *len_out);
void json_free(void *p);

/* Free a tree (NULL is ignored). */
void json_delete(cJSON *item);

/* For __attribute__((cleanup)): `_cleanup_json_ cJSON *root = NULL;` */
static inline void json_deletep(cJSON **p)
{
	json_delete(*p);
}
#define _cleanup_json_ __attribute__((cleanup(json_deletep)))

#endif
