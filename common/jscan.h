/* SPDX-License-Identifier: Apache-2.0 */
/* A tiny JSON scanner, shared by the action proxy, the invoker and the
 * controller: validates JSON text in place and walks the members of an
 * object without building a tree, so a 48 MB /init body costs no second
 * copy and a result is checked without being parsed. Values are returned as slices of the input.
 * Strict RFC 8259 grammar (no comments, no trailing commas); nesting is
 * limited to JSCAN_MAX_DEPTH and the scanner never recurses, so hostile input
 * cannot exhaust the stack. UTF-8 is passed through unchecked (as cJSON). */
#ifndef EW_JSCAN_H
#define EW_JSCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

#define JSCAN_MAX_DEPTH 512

/* Skip whitespace then one complete JSON value in s[*pos..len). On success
 * *pos is just past the value and 0 is returned; -EINVAL on malformed input
 * or nesting deeper than JSCAN_MAX_DEPTH (*pos is then unchanged). */
int jscan_skip_value(const char *s, size_t len, size_t *pos) __attribute__((warn_unused_result));

/* Whether s[0..len) is exactly one JSON value (whitespace around it
 * allowed), and how many values it holds, nested ones included: the
 * nodes a tree of it would take. 0 or -EINVAL. */
int jscan_count_values(const char *s, size_t len, size_t *count)
	__attribute__((warn_unused_result));

/* The same, and the deepest nesting (0 for a scalar, 1 for [] or {}). Either
 * output may be NULL. */
int jscan_measure(const char *s, size_t len, size_t *count, size_t *depth)
	__attribute__((warn_unused_result));

/* Copy the JSON text s[0..len) — which must be valid (jscan_skip_value) —
 * into dst (len bytes suffice) without the whitespace outside strings: the
 * compact form cJSON would print, without building a tree. Returns the
 * bytes written. Strings are copied eight bytes a step; a \u escape of a
 * surrogate without its pair becomes \ufffd (the same length), which cJSON
 * reads where it refuses the lone one. */
size_t jscan_copy_compact(const char *s, size_t len, char *dst);

/* True when s[0..len) is exactly one JSON object or array, with optional
 * surrounding whitespace. */
bool jscan_is_object_or_array(const char *s, size_t len);

/* One member of an object: slices of the scanned text. `key` is the raw key
 * between the quotes (escapes not decoded); `val` is the whole value text
 * (strings include their quotes). */
struct jscan_member {
	const char *key;
	size_t key_len;
	const char *val;
	size_t val_len;
};

/* Iterator over an object's members; storage is the caller's. */
struct jscan_iter {
	const char *s;
	size_t len;
	size_t pos;
	int state;  /* 0 before first member, 1 after a member, 2 done */
};

/* Start iterating the object that s[0..len) must hold (whitespace around it
 * allowed). The whole text is validated first, so jscan_object_next can only
 * fail on a bug. Returns 0, or -EINVAL when s is not one valid JSON object. */
int jscan_object_begin(struct jscan_iter *it, const char *s, size_t len)
	__attribute__((warn_unused_result));

/* The same for text the caller has validated already (jscan_skip_value,
 * jscan_measure, json_is_value): no second pass over it. Each member is
 * still checked as jscan_object_next reaches it, so bad text fails there
 * (-EINVAL) instead of here. Returns 0, or -EINVAL when s does not start
 * with an object. */
int jscan_object_walk(struct jscan_iter *it, const char *s, size_t len)
	__attribute__((warn_unused_result));

/* Next member into *m: returns 1 (member), 0 (end of object), -EINVAL. */
int jscan_object_next(struct jscan_iter *it, struct jscan_member *m)
	__attribute__((warn_unused_result));

/* Find member `key` (compared after decoding escapes) in the object s[0..len).
 * Returns 1 and fills *m, 0 when absent, -EINVAL when s is not an object. The
 * last duplicate wins, as in most JSON libraries. */
int jscan_object_find(const char *s, size_t len, const char *key, struct jscan_member *m)
	__attribute__((warn_unused_result));

/* True when the value slice is a string (starts with '"'). */
bool jscan_is_string(const char *val, size_t val_len);

/* Decode the raw contents of a JSON string (between the quotes) into dst,
 * which needs raw_len bytes (decoding never grows text) and may equal raw for
 * in-place decoding. Writes *out_len; does not NUL-terminate. \u0000 yields a
 * NUL byte; unpaired surrogates become U+FFFD. 0 or -EINVAL on a bad escape. */
int jscan_string_decode(const char *raw, size_t raw_len, char *dst, size_t *out_len)
	__attribute__((warn_unused_result));

/* Append s[0..n) to b as a quoted JSON string (control characters escaped).
 * 0 or -ENOMEM. */
int jscan_quote(struct buf *b, const char *s, size_t n) __attribute__((warn_unused_result));

#endif
