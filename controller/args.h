/* SPDX-License-Identifier: Apache-2.0 */
/* Invocation arguments as JSON text, built without a tree of the request
 * (pure, no I/O). A request body is up to 1 MB of client JSON, and a tree
 * of it costs up to 40x its size (a cJSON node per "1,"): so a body is
 * checked by the scanner and its members are copied as bytes, under a
 * small base layer (an action's or trigger's parameters, a web request's
 * query fields) that the body's keys override.
 *
 * Use: args_begin with the base; pass 1 over the body, args_find each
 * (decoded) key and mark what it overrides; args_put the base entries that
 * stay; pass 2 args_put_raw the body members; args_put any fields that
 * go last; args_end. Duplicate keys inside the body pass through as sent
 * (the action's JSON parser takes the last, as in Node.js and Python). */
#ifndef EW_ARGS_H
#define EW_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/json.h"

struct args_base {
	const char *key;
	const cJSON *value;   /* NULL prints JSON null */
	unsigned flags;       /* the caller's */
	bool overridden;      /* set by the caller in pass 1 */
};

struct args {
	struct args_base *base;
	size_t n;
	size_t *by_key;       /* indices of base, sorted by key */
	char *scratch;        /* a decoded key */
	size_t scratch_cap;
	struct buf out;       /* "{...}" */
	bool any;             /* a member written */
};

/* base[0..n) stays the caller's and must outlive the builder. 0, -ENOMEM. */
int args_begin(struct args *a, struct args_base *base, size_t n)
	__attribute__((warn_unused_result));

/* Decode a raw key (between the quotes, escapes as sent) into the
 * builder's scratch: *key is valid until the next call. 0, -EINVAL (bad
 * escape), -ENOMEM. */
int args_decode_key(struct args *a, const char *raw, size_t raw_len, const char **key,
		    size_t *key_len) __attribute__((warn_unused_result));

/* Each member of the JSON object text body[0..len), which the caller has
 * validated (one pass is enough: the walk does not scan it again), its
 * key decoded (valid until fn returns) and the raw member: fn may stop
 * the walk with a negative value. 0, -EINVAL (not an object, a bad
 * escape), -ENOMEM, or fn's value. */
struct jscan_member;
typedef int (*args_member_fn)(void *ctx, const char *key, size_t key_len,
			      const struct jscan_member *m);
int args_each(struct args *a, const char *body, size_t len, args_member_fn fn, void *ctx)
	__attribute__((warn_unused_result));

/* The last base entry with this (decoded) key, or NULL. */
struct args_base *args_find(const struct args *a, const char *key, size_t key_len);

/* Append "key":value (value printed compactly) / "raw_key":val (the raw
 * key as sent and the value text, which must be valid JSON, compacted) /
 * "key":"s" (s quoted). 0 or -ENOMEM. */
int args_put(struct args *a, const char *key, const cJSON *value)
	__attribute__((warn_unused_result));
int args_put_raw(struct args *a, const char *raw_key, size_t raw_len, const char *val,
		 size_t val_len) __attribute__((warn_unused_result));
int args_put_string(struct args *a, const char *key, const char *s, size_t n)
	__attribute__((warn_unused_result));

/* Close the object; on success *out takes the text (the caller's,
 * buf_fini). 0 or -ENOMEM. */
int args_end(struct args *a, struct buf *out) __attribute__((warn_unused_result));

/* Free what the builder holds (after args_end or on an error). */
void args_fini(struct args *a);

#endif
