/* SPDX-License-Identifier: Apache-2.0 */
/* Per-namespace throttles (see throttle.h). At most CFG_MAX_KEYS namespaces:
 * a linear scan of a small array under one mutex beats any hash. */
#include "controller/throttle.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct ns_count {
	char ns[CFG_NAME_MAX];
	uint64_t minute;              /* now_ms / 60000 of `count` */
	uint32_t count;               /* invocations in that minute */
	uint64_t fire_minute;         /* the same for trigger fires */
	uint32_t fires;
	uint32_t inflight;
};

struct throttle {
	pthread_mutex_t lock;
	uint32_t per_minute, fires_per_minute, concurrent;
	uint32_t n;
	struct ns_count ns[CFG_MAX_KEYS];
};

int throttle_new(const struct cfg *c, struct throttle **out, struct err *e)
{
	struct throttle *l = calloc(1, sizeof(*l));

	if (!l)
		return err_set(e, -ENOMEM, "allocate throttle");
	pthread_mutex_init(&l->lock, NULL);
	l->per_minute = c->limits.invocations_per_minute;
	l->fires_per_minute = c->limits.fires_per_minute;
	l->concurrent = c->limits.concurrent_invocations;
	for (uint32_t i = 0; i < c->key_count && i < CFG_MAX_KEYS; i++) {
		uint32_t j;

		/* Several keys may share a namespace: one counter for it. */
		for (j = 0; j < l->n; j++)
			if (strcmp(l->ns[j].ns, c->keys[i].namespace) == 0)
				break;
		if (j == l->n)
			memcpy(l->ns[l->n++].ns, c->keys[i].namespace, sizeof(l->ns[0].ns));
	}
	*out = l;
	return 0;
}

void throttle_free(struct throttle *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/* Caller holds the lock. */
static struct ns_count *find(struct throttle *l, const char *ns)
{
	for (uint32_t i = 0; ns && i < l->n; i++)
		if (strcmp(l->ns[i].ns, ns) == 0)
			return &l->ns[i];
	return NULL;
}

/* Count one event in the calendar minute of now_ms against limit. */
static int minute_admit(struct throttle *l, const char *ns, uint64_t now_ms, bool fire,
			uint32_t limit, struct err *e)
{
	uint64_t minute = now_ms / 60000;
	struct ns_count *c;
	uint32_t count = 0;
	int rc = 0;

	if (!l || !limit)
		return 0;
	pthread_mutex_lock(&l->lock);
	c = find(l, ns);
	if (c) {
		uint64_t *at = fire ? &c->fire_minute : &c->minute;
		uint32_t *n = fire ? &c->fires : &c->count;

		if (*at != minute) {
			*at = minute;
			*n = 0;
		}
		if (*n < UINT32_MAX)
			(*n)++;
		count = *n;
		rc = count > limit ? -EAGAIN : 0;
	}
	pthread_mutex_unlock(&l->lock);
	if (rc < 0)
		return err_set(e, rc, "Too many requests in the last minute (count: %u, allowed: %u).",
			       count, limit);
	return 0;
}

int throttle_rate_admit(struct throttle *l, const char *ns, uint64_t now_ms, struct err *e)
{
	return minute_admit(l, ns, now_ms, false, l ? l->per_minute : 0, e);
}

int throttle_fire_admit(struct throttle *l, const char *ns, uint64_t now_ms, struct err *e)
{
	return minute_admit(l, ns, now_ms, true, l ? l->fires_per_minute : 0, e);
}

int throttle_concurrent_acquire(struct throttle *l, const char *ns, struct err *e)
{
	struct ns_count *c;
	uint32_t count = 0;
	int rc = 0;

	if (!l)
		return 0;
	pthread_mutex_lock(&l->lock);
	c = find(l, ns);
	if (c) {
		count = c->inflight;
		if (l->concurrent && count >= l->concurrent)
			rc = -EAGAIN;
		else
			c->inflight++;
	}
	pthread_mutex_unlock(&l->lock);
	if (rc < 0)
		return err_set(e, rc, "Too many concurrent requests in flight (count: %u, allowed: %u).",
			       count, l->concurrent);
	return 0;
}

void throttle_concurrent_release(struct throttle *l, const char *ns)
{
	struct ns_count *c;

	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	c = find(l, ns);
	if (c && c->inflight)
		c->inflight--;
	pthread_mutex_unlock(&l->lock);
}

uint32_t throttle_concurrent(struct throttle *l, const char *ns)
{
	struct ns_count *c;
	uint32_t n = 0;

	if (!l)
		return 0;
	pthread_mutex_lock(&l->lock);
	c = find(l, ns);
	if (c)
		n = c->inflight;
	pthread_mutex_unlock(&l->lock);
	return n;
}
