/* SPDX-License-Identifier: Apache-2.0 */
/* Container pool policy (see pool.h). Linear scans: a board's pool holds a
 * few dozen containers at most, and POOL_MAX_CONTAINERS bounds it. */
#include "invoker/pool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pool {
	struct pool_config cfg;
	struct pool_container c[POOL_MAX_CONTAINERS];
	uint32_t used_mb;            /* memory of every non-free container */
	uint64_t prewarm_after_ms;   /* no stem cell before (a creation failed) */
};

int pool_new(const struct pool_config *cfg, struct pool **out)
{
	struct pool *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->cfg = *cfg;
	*out = p;
	return 0;
}

void pool_free(struct pool *p)
{
	free(p);
}

const struct pool_container *pool_slot(const struct pool *p, uint32_t slot)
{
	return &p->c[slot];
}

void *pool_slot_data(const struct pool *p, uint32_t slot)
{
	return p->c[slot].data;
}

void pool_slot_set_data(struct pool *p, uint32_t slot, void *data)
{
	p->c[slot].data = data;
}

uint32_t pool_used_mb(const struct pool *p)
{
	return p->used_mb;
}

static void slot_take(struct pool *p, uint32_t i, enum pool_state st, const char *kind,
		      uint32_t memory_mb)
{
	struct pool_container *c = &p->c[i];

	memset(c, 0, sizeof(*c));
	c->state = st;
	snprintf(c->kind, sizeof(c->kind), "%s", kind);
	c->memory_mb = memory_mb;
	p->used_mb += memory_mb;
}

static void slot_free(struct pool *p, uint32_t i)
{
	struct pool_container *c = &p->c[i];

	if (c->state == POOL_FREE)
		return;
	p->used_mb -= c->memory_mb;
	memset(c, 0, sizeof(*c));
}

static int free_slot(const struct pool *p)
{
	for (uint32_t i = 0; i < POOL_MAX_CONTAINERS; i++)
		if (p->c[i].state == POOL_FREE)
			return (int)i;
	return -1;
}

static bool idle(const struct pool_container *c)
{
	return c->state == POOL_WARM || c->state == POOL_PAUSED;
}

/* Least recently used idle container that is not `keep_key`'s; stem cells
 * only when `prewarms` is set (they are evicted last). */
static int lru_victim(const struct pool *p, bool prewarms)
{
	int best = -1;

	for (uint32_t i = 0; i < POOL_MAX_CONTAINERS; i++) {
		const struct pool_container *c = &p->c[i];
		bool eligible = prewarms ? c->state == POOL_PREWARM : idle(c);

		if (eligible && (best < 0 || c->last_used_ms < p->c[best].last_used_ms))
			best = (int)i;
	}
	return best;
}

void pool_acquire(struct pool *p, const char *key, const char *kind, uint32_t memory_mb,
		  uint64_t now_ms, struct pool_acquire *out)
{
	uint32_t free_mb, planned = 0;
	int slot = -1;

	(void)now_ms;
	memset(out, 0, sizeof(*out));
	if (memory_mb > p->cfg.user_memory_mb) {
		out->decision = POOL_TOO_BIG;
		return;
	}
	/* 1. warm or paused, same action and revision: a running one before a
	 * paused one, then the most recently used. */
	for (uint32_t i = 0; i < POOL_MAX_CONTAINERS; i++) {
		struct pool_container *c = &p->c[i];
		const struct pool_container *b = slot >= 0 ? &p->c[slot] : NULL;

		if (!idle(c) || strcmp(c->key, key) != 0 || c->memory_mb != memory_mb)
			continue;
		if (!b || (b->state != c->state ? c->state == POOL_WARM
						 : c->last_used_ms > b->last_used_ms))
			slot = (int)i;
	}
	if (slot >= 0) {
		out->was_paused = p->c[slot].state == POOL_PAUSED;
		goto use;
	}
	/* 1b. one of that action finishing its logs: wait for it. */
	for (uint32_t i = 0; i < POOL_MAX_CONTAINERS; i++) {
		const struct pool_container *c = &p->c[i];

		if (c->state == POOL_FINISHING && strcmp(c->key, key) == 0 &&
		    c->memory_mb == memory_mb) {
			out->decision = POOL_WAIT;
			return;
		}
	}
	/* 2. a stem cell of that kind and memory. */
	for (uint32_t i = 0; i < POOL_MAX_CONTAINERS; i++) {
		struct pool_container *c = &p->c[i];

		if (c->state == POOL_PREWARM && strcmp(c->kind, kind) == 0 &&
		    c->memory_mb == memory_mb) {
			slot = (int)i;
			out->from_prewarm = true;
			c->stem_cell = false;
			snprintf(c->key, sizeof(c->key), "%s", key);
			goto use;
		}
	}
	/* 3./4. create, evicting idle containers of other actions (LRU), then
	 * stem cells, until the memory fits. */
	free_mb = p->cfg.user_memory_mb - p->used_mb;
	while (free_mb + planned < memory_mb) {
		int v = lru_victim(p, false);

		if (v < 0)
			v = lru_victim(p, true);
		if (v < 0)
			break;
		p->c[v].state = POOL_REMOVING;  /* its memory stays counted until removed */
		out->evict[out->evict_count++] = (uint32_t)v;
		planned += p->c[v].memory_mb;
	}
	if (free_mb + planned < memory_mb) {
		/* 5. wait; the evictions already chosen still happen and free
		 * memory for the retry. */
		out->decision = POOL_WAIT;
		return;
	}
	if (free_mb < memory_mb) {
		/* Memory frees only once the runner removed the evictees. */
		out->decision = POOL_WAIT;
		return;
	}
	slot = free_slot(p);
	if (slot < 0) {
		out->decision = POOL_WAIT;
		return;
	}
	slot_take(p, (uint32_t)slot, POOL_CREATING, kind, memory_mb);
	snprintf(p->c[slot].key, sizeof(p->c[slot].key), "%s", key);
	p->c[slot].uses = 1;
	out->decision = POOL_CREATE;
	out->slot = (uint32_t)slot;
	return;
use:
	p->c[slot].state = POOL_BUSY;
	p->c[slot].uses++;
	out->decision = POOL_USE;
	out->slot = (uint32_t)slot;
}

void pool_created(struct pool *p, uint32_t slot, bool ok, uint64_t now_ms)
{
	struct pool_container *c = &p->c[slot];

	if (slot >= POOL_MAX_CONTAINERS || c->state != POOL_CREATING)
		return;
	if (!ok) {
		slot_free(p, slot);
		return;
	}
	c->state = c->stem_cell ? POOL_PREWARM : POOL_BUSY;
	c->last_used_ms = now_ms;
}

void pool_release(struct pool *p, uint32_t slot, const char *key, bool keep, uint64_t now_ms)
{
	struct pool_container *c;

	if (slot >= POOL_MAX_CONTAINERS)
		return;
	c = &p->c[slot];
	if (c->state != POOL_BUSY && c->state != POOL_FINISHING)
		return;
	if (!keep) {
		c->state = POOL_REMOVING;
		return;
	}
	c->state = POOL_WARM;
	c->initialised = true;
	snprintf(c->key, sizeof(c->key), "%s", key);
	c->last_used_ms = now_ms;
}

void pool_finishing(struct pool *p, uint32_t slot)
{
	if (slot < POOL_MAX_CONTAINERS && p->c[slot].state == POOL_BUSY)
		p->c[slot].state = POOL_FINISHING;
}

void pool_removed(struct pool *p, uint32_t slot)
{
	if (slot < POOL_MAX_CONTAINERS && p->c[slot].state == POOL_REMOVING)
		slot_free(p, slot);
}

void pool_paused(struct pool *p, uint32_t slot, bool ok)
{
	if (slot >= POOL_MAX_CONTAINERS || p->c[slot].state != POOL_PAUSING)
		return;
	p->c[slot].state = ok ? POOL_PAUSED : POOL_REMOVING;
}

static uint32_t kind_count(const struct pool *p, const char *kind, uint32_t memory_mb)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < POOL_MAX_CONTAINERS; i++) {
		const struct pool_container *c = &p->c[i];

		if ((c->state == POOL_PREWARM || (c->state == POOL_CREATING && c->stem_cell)) &&
		    strcmp(c->kind, kind) == 0 && c->memory_mb == memory_mb)
			n++;
	}
	return n;
}

static void due_at(struct pool_tick *out, uint64_t at)
{
	if (!out->next_ms || at < out->next_ms)
		out->next_ms = at;
}

void pool_tick(struct pool *p, uint64_t now_ms, struct pool_tick *out)
{
	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < POOL_MAX_CONTAINERS; i++) {
		struct pool_container *c = &p->c[i];
		uint64_t idle_ms = now_ms > c->last_used_ms ? now_ms - c->last_used_ms : 0;

		if (!idle(c))
			continue;
		if (p->cfg.idle_timeout_ms && idle_ms >= p->cfg.idle_timeout_ms) {
			c->state = POOL_REMOVING;
			out->remove[out->remove_count++] = i;
			continue;
		}
		if (c->state == POOL_WARM && p->cfg.pause_grace_ms &&
		    idle_ms >= p->cfg.pause_grace_ms) {
			c->state = POOL_PAUSING;
			out->pause[out->pause_count++] = i;
		} else if (c->state == POOL_WARM && p->cfg.pause_grace_ms) {
			due_at(out, c->last_used_ms + p->cfg.pause_grace_ms);
		}
		if (p->cfg.idle_timeout_ms)
			due_at(out, c->last_used_ms + p->cfg.idle_timeout_ms);
	}
	if (now_ms < p->prewarm_after_ms) {
		if (p->cfg.prewarm_count)
			due_at(out, p->prewarm_after_ms);
		return;
	}
	/* Top up stem cells while memory allows; never evict for them. */
	for (uint32_t k = 0; k < p->cfg.prewarm_count; k++) {
		const struct pool_prewarm *pw = &p->cfg.prewarm[k];

		for (uint32_t have = kind_count(p, pw->kind, pw->memory_mb); have < pw->count; have++) {
			int slot = free_slot(p);

			if (slot < 0 || p->used_mb + pw->memory_mb > p->cfg.user_memory_mb)
				return;
			slot_take(p, (uint32_t)slot, POOL_CREATING, pw->kind, pw->memory_mb);
			p->c[slot].stem_cell = true;
			out->create[out->create_count++] = (uint32_t)slot;
		}
	}
}

void pool_prewarm_hold(struct pool *p, uint64_t until_ms)
{
	p->prewarm_after_ms = until_ms;
}

uint32_t pool_count(const struct pool *p, enum pool_state st)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < POOL_MAX_CONTAINERS; i++)
		n += p->c[i].state == st;
	return n;
}
