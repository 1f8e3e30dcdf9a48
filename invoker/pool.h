/* SPDX-License-Identifier: Apache-2.0 */
/* Container pool policy of one invoker: which container an activation runs
 * in, what to create, evict, pause or remove, within a memory budget. Pure
 * bookkeeping with no I/O and no clock of its own (callers pass now_ms), so
 * every rule is unit-tested without Docker; the invoker's runner performs
 * the Docker calls the pool asks for and reports back. Not thread-safe: the
 * runner serialises calls with its own lock.
 *
 * Rules (OpenWhisk's ContainerPool, on a board's budget):
 *  1. a WARM or PAUSED container of the same action key (namespace/action +
 *     revision) that is idle: reuse it (unpause first when PAUSED);
 *  2. else a PREWARM stem cell of the same kind and memory: /init it;
 *  3. else create a new container if its memory fits in user_memory;
 *  4. else evict idle WARM/PAUSED containers of other actions, least
 *     recently used first, until it fits; prewarms are evicted last;
 *  5. else the activation waits (POOL_WAIT) until memory frees.
 * Idle WARM containers are paused after pause_grace_ms and removed after
 * idle_timeout_ms. Prewarm counts per kind are kept topped up while memory
 * allows. A container whose activation failed (developer or whisk error,
 * timeout, OOM) is removed, never reused. Concurrency per container is 1. */
#ifndef EW_POOL_H
#define EW_POOL_H

#include <stdbool.h>
#include <stdint.h>

#define POOL_MAX_CONTAINERS 128
#define POOL_KEY_MAX 512
#define POOL_KIND_MAX 64
#define POOL_MAX_PREWARM_KINDS 32

enum pool_state {
	POOL_FREE = 0,      /* slot unused */
	POOL_CREATING,      /* being created/started by the runner */
	POOL_PREWARM,       /* started, not initialised, idle */
	POOL_BUSY,          /* running an activation */
	POOL_FINISHING,     /* result sent, logs being collected: free in a moment */
	POOL_WARM,          /* initialised, idle, running */
	POOL_PAUSING,       /* being paused by the runner (not to be used meanwhile) */
	POOL_PAUSED,        /* initialised, idle, paused */
	POOL_REMOVING,      /* being removed by the runner */
};

struct pool_container {
	enum pool_state state;
	char key[POOL_KEY_MAX];      /* action key once initialised; "" for stem cells */
	char kind[POOL_KIND_MAX];
	uint32_t memory_mb;
	uint64_t last_used_ms;       /* when it last became idle */
	bool initialised;            /* /init done */
	bool stem_cell;              /* created by pool_tick as a prewarm, not for an activation */
	uint32_t uses;               /* activations run */
	void *data;                  /* the runner's per-container data (id, port, connection) */
};

struct pool_prewarm {
	char kind[POOL_KIND_MAX];
	char image[256];             /* for the runner; the policy ignores it */
	uint32_t memory_mb;
	uint32_t count;
};

struct pool_config {
	uint32_t user_memory_mb;
	uint64_t pause_grace_ms;     /* 0 = never pause */
	uint64_t idle_timeout_ms;    /* 0 = never remove idle */
	struct pool_prewarm prewarm[POOL_MAX_PREWARM_KINDS];
	uint32_t prewarm_count;
};

struct pool;

enum pool_decision {
	POOL_USE,       /* run in *slot: state now BUSY; unpause if it was PAUSED,
			 * /init when it is not initialised */
	POOL_CREATE,    /* *slot reserved in CREATING: create, start, then
			 * pool_created(); run in it (it is yours, BUSY after created) */
	POOL_WAIT,      /* no memory now: try again after a release */
	POOL_TOO_BIG,   /* the action's memory exceeds user_memory: fail it */
};

struct pool_acquire {
	enum pool_decision decision;
	uint32_t slot;
	bool was_paused;             /* POOL_USE: unpause before use */
	bool from_prewarm;           /* POOL_USE of a stem cell */
	uint32_t evict[POOL_MAX_CONTAINERS]; /* slots to remove first (now REMOVING) */
	uint32_t evict_count;
};

/* An empty pool with this policy. -ENOMEM. *out on success only. */
int pool_new(const struct pool_config *cfg, struct pool **out) __attribute__((warn_unused_result));
void pool_free(struct pool *p);

/* A slot as the policy sees it (read only; slot < POOL_MAX_CONTAINERS). */
const struct pool_container *pool_slot(const struct pool *p, uint32_t slot);
/* The runner's data of a slot (set once the container exists). */
void *pool_slot_data(const struct pool *p, uint32_t slot);
void pool_slot_set_data(struct pool *p, uint32_t slot, void *data);
/* Memory of every non-free container, MB. */
uint32_t pool_used_mb(const struct pool *p);

/* Pick a container for an activation of action `key`, kind, memory_mb. */
void pool_acquire(struct pool *p, const char *key, const char *kind, uint32_t memory_mb,
		  uint64_t now_ms, struct pool_acquire *out);

/* The runner finished creating/starting slot (ok) or failed (the slot is
 * freed). A CREATING slot from pool_acquire becomes BUSY, one from
 * pool_tick's prewarm list becomes PREWARM. */
void pool_created(struct pool *p, uint32_t slot, bool ok, uint64_t now_ms);

/* The activation in slot ended. keep = it succeeded or was an application
 * error (container healthy) -> WARM, initialised under `key`; otherwise the
 * slot goes REMOVING and the runner must remove it and call pool_removed. */
void pool_release(struct pool *p, uint32_t slot, const char *key, bool keep, uint64_t now_ms);

/* The activation in a BUSY slot has its result; the runner collects its
 * logs before pool_release. Meanwhile an activation of the same action
 * waits for this container (POOL_WAIT) instead of creating another: the
 * wait is a fraction of a millisecond, a cold start hundreds. */
void pool_finishing(struct pool *p, uint32_t slot);

/* The runner removed the container of a REMOVING slot: free it. */
void pool_removed(struct pool *p, uint32_t slot);

/* The runner paused (ok: PAUSED) or failed to pause (REMOVING: remove it)
 * a PAUSING slot that pool_tick asked for. */
void pool_paused(struct pool *p, uint32_t slot, bool ok);

/* Periodic work: slots to pause (WARM idle >= grace; marked PAUSING), to
 * remove (idle >= idle timeout; marked REMOVING), and stem cells to create
 * (marked CREATING, kind/memory filled); and when to look again (the next
 * pause or removal of an idle slot; other changes come as events). */
struct pool_tick {
	uint32_t pause[POOL_MAX_CONTAINERS], pause_count;
	uint32_t remove[POOL_MAX_CONTAINERS], remove_count;
	uint32_t create[POOL_MAX_CONTAINERS], create_count;
	uint64_t next_ms;            /* when the next pause or removal falls due; 0 = none */
};
void pool_tick(struct pool *p, uint64_t now_ms, struct pool_tick *out);

/* Create no stem cell before until_ms (a creation failed: not again at
 * once); pool_tick's next_ms then includes it. */
void pool_prewarm_hold(struct pool *p, uint64_t until_ms);

/* Counts by state (for health and tests). */
uint32_t pool_count(const struct pool *p, enum pool_state st);

#endif
