/* SPDX-License-Identifier: Apache-2.0 */
/* Per-namespace throttles (OpenWhisk's invocationsPerMinute and
 * concurrentInvocations and firesPerMinute, spec §8): a counter per calendar minute and a
 * count of activations in flight, for each namespace of the configured
 * keys. A refusal is -EAGAIN (429) with OpenWhisk's message. Thread-safe;
 * no allocation after throttle_new. Time comes from the caller (testable). */
#ifndef EW_THROTTLE_H
#define EW_THROTTLE_H

#include <stdint.h>

#include "common/cfg.h"
#include "common/err.h"

struct throttle;

/* Limits from c->limits (0 = none); namespaces are those of c->keys. */
int throttle_new(const struct cfg *c, struct throttle **out, struct err *e)
	__attribute__((warn_unused_result));
void throttle_free(struct throttle *l);

/* Count one invocation of `ns` in the minute of now_ms. -EAGAIN with
 * "Too many requests in the last minute (count: n, allowed: m)." when the
 * count (this one included) is over the limit; refused ones count too, as
 * in OpenWhisk. An unknown namespace is not limited. */
int throttle_rate_admit(struct throttle *l, const char *ns, uint64_t now_ms, struct err *e)
	__attribute__((warn_unused_result));
/* The same for trigger fires (OpenWhisk's firesPerMinute), counted apart. */
int throttle_fire_admit(struct throttle *l, const char *ns, uint64_t now_ms, struct err *e)
	__attribute__((warn_unused_result));

/* Take one in-flight slot of `ns`: -EAGAIN with "Too many concurrent
 * requests in flight (count: n, allowed: m)." when n already reach the
 * limit. Every successful acquire is paired with one release. */
int throttle_concurrent_acquire(struct throttle *l, const char *ns, struct err *e)
	__attribute__((warn_unused_result));
void throttle_concurrent_release(struct throttle *l, const char *ns);

/* Activations of `ns` in flight now (0 for an unknown namespace). */
uint32_t throttle_concurrent(struct throttle *l, const char *ns);

#endif
