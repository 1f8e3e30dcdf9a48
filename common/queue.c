/* SPDX-License-Identifier: Apache-2.0 */
/* The activation queue in shared memory (see queue.h for the design, the
 * routing policy and the crash semantics).
 *
 * Memory ordering. Messages and payloads are ordered by the ring slots'
 * seq (ring.c) and arena blocks by their owner words (arena.c). Here:
 *   magic      release in queue_create -> acquire in validate/retire_old:
 *              an attacher sees the whole layout
 *   held[k]    release in pop_into/held_release/item_start/close
 *              -> acquire in queue_reap/repair_op: the supervisor sees the
 *              held copy (and a freed block) that the state describes
 *   lease pid  release of 0 in close/reap -> acquire CAS in client_open:
 *              a lease is reused only after its last owner is done with it
 *   op.state   release in ring.c's op_note -> acquire in claimed_by_other
 *              and repair_op: op.ring/pos/arg written before it
 * Everything else (invoker pid, capacity, in-flight counts, retired state,
 * wake words) steers routing and shutdown and carries no data: relaxed.
 * The supervisor reads a dead client's lease after waitpid(), which orders
 * all the dead process's writes before it; the acquires above are what a
 * supervisor needs when the writer is a thread of its own process. */
#include "common/queue.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/ring.h"
#include "common/shm.h"
#include "common/wake.h"
#include "common/now.h"

#define QUEUE_RING_CMP 0xffffu   /* ring id of the completion ring in ring_op.ring */
#define QUEUE_STATE_LIVE 1u
#define QUEUE_STATE_RETIRED 2u
#define QUEUE_SPIN_TRIES 128    /* polls before a consumer sleeps (see wait_take) */
/* How long the supervisor waits for a live client to leave its TRY state
 * at the slot a dead client also tried (see settle_other_claim). */
#define QUEUE_REPAIR_WAIT_NS (100ull * 1000000ull)

enum held_state { HELD_FREE = 0, HELD_QUEUED, HELD_RUNNING };

/* Shared header; fixed-width fields only, offsets from the mapping start. */
struct queue_hdr {
	_Atomic uint64_t magic;        /* stored last by the creator (release) */
	uint32_t layout_version;
	uint32_t header_size;
	uint32_t msg_size;             /* sizeof(struct queue_msg) of the creator */
	uint32_t slot_size;            /* ring slot bytes */
	uint32_t slots;                /* request ring capacity */
	uint32_t cmp_slots;            /* completion ring capacity */
	uint32_t invokers;
	uint32_t max_clients;
	uint32_t held_max;
	uint32_t inline_max;
	uint32_t max_payload;
	uint32_t generation;
	uint32_t creator_pid;
	uint32_t features;             /* none defined yet */
	_Atomic uint32_t state;        /* QUEUE_STATE_* */
	uint32_t pad;
	uint64_t total_bytes;
	uint64_t inv_off, lease_off, lease_stride, ring_off, ring_stride, cmp_off, arena_off;
	_Alignas(EW_CACHELINE) struct wake cmp_wake;   /* the controller sleeps here */
};

/* Three lines: the wake word (written when the invoker sleeps), the
 * read-mostly registration, and the in-flight count the invoker bumps per
 * activation, so producers routing on pid/capacity do not bounce the line
 * the invoker writes. */
struct queue_inv {
	_Alignas(EW_CACHELINE) struct wake wake;       /* this invoker sleeps here */
	_Alignas(EW_CACHELINE) _Atomic uint32_t pid;   /* online invoker process, 0 = offline */
	_Atomic uint32_t capacity;
	_Alignas(EW_CACHELINE) _Atomic uint32_t inflight;
};

struct queue_lease {
	_Alignas(EW_CACHELINE) _Atomic uint32_t pid;   /* 0 = free */
	uint32_t role;
	uint32_t invoker;
	uint32_t pad;
	struct ring_op op;
	_Atomic uint32_t held[QUEUE_HELD_MAX];         /* enum held_state */
	/* held message copies (slot data) follow at QUEUE_LEASE_COPIES */
};

#define QUEUE_LEASE_COPIES ((sizeof(struct queue_lease) + EW_CACHELINE - 1) / EW_CACHELINE * EW_CACHELINE)

_Static_assert(sizeof(struct queue_msg) == 80, "queue_msg layout changed: bump QUEUE_LAYOUT_VERSION");
_Static_assert(offsetof(struct queue_hdr, cmp_wake) % EW_CACHELINE == 0, "wake word owns its line");
_Static_assert(sizeof(struct queue_inv) == 3 * EW_CACHELINE, "queue_inv layout changed");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "the header magic needs lock-free 64-bit atomics");

struct queue {
	struct queue_hdr *hdr;
	size_t bytes;
	bool creator;
	char name[64];
	struct queue_inv *inv;
	struct ring *req[QUEUE_MAX_INVOKERS];
	struct ring *cmp;
	struct arena *arena;
	uint32_t spin_tries;           /* 0 on a single CPU: nobody could refill meanwhile */
};

struct queue_client {
	struct queue *q;
	struct queue_lease *lease;
	uint32_t index;                /* lease index; arena owner id is index + 1 */
	uint32_t owner;                /* pid in the lease (getpid() but in tests) */
	enum queue_role role;
	uint32_t invoker;
	uint32_t steal_next;
	char *scratch;                 /* inline payload being written */
	bool scratch_busy;
};

static size_t align_up(size_t n, size_t a)
{
	return (n + a - 1) / a * a;
}

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t p = 1;

	while (p < n && p < (1u << 30))
		p <<= 1;
	return p;
}

static struct queue_lease *lease_at(const struct queue *q, uint32_t i)
{
	return (struct queue_lease *)(uintptr_t)((char *)q->hdr + q->hdr->lease_off +
						 (size_t)i * q->hdr->lease_stride);
}

static struct queue_msg *held_copy(const struct queue *q, struct queue_lease *l, uint32_t k)
{
	return (struct queue_msg *)(uintptr_t)((char *)l + QUEUE_LEASE_COPIES +
					       (size_t)k * (q->hdr->slot_size - RING_SLOT_HDR));
}

/* State of held slot k of the caller's own lease. Relaxed: only the
 * owner writes it while the owner lives. */
static uint32_t own_held(const struct queue_client *c, uint32_t k)
{
	return atomic_load_explicit(&c->lease->held[k], memory_order_relaxed);
}

static struct ring *ring_by_id(const struct queue *q, uint32_t id)
{
	if (id == QUEUE_RING_CMP)
		return q->cmp;
	if (id < q->hdr->invokers)
		return q->req[id];
	return NULL;
}

static const void *msg_payload(const struct queue *q, const struct queue_msg *m)
{
	if (m->block != ARENA_NO_BLOCK)
		return arena_block_data(q->arena, m->block);
	return m + 1;
}

void queue_params_defaults(struct queue_params *p)
{
	p->name = QUEUE_DEFAULT_NAME;
	p->slots = 1024;
	p->invokers = 1;
	p->max_payload = 1024 * 1024;
	p->inline_max = 192;
	p->max_clients = 64;
	p->big_blocks = 16;
}

/* Arena classes: 4 KiB and 64 KiB blocks for the common sizes, and
 * max_payload blocks for the rest. Pages of tmpfs are only used once
 * touched, so the reservation costs little until payloads are large. */
static uint32_t arena_classes(const struct queue_params *p, uint32_t *sizes, uint32_t *counts)
{
	uint32_t big = (uint32_t)align_up(p->max_payload, 64);
	uint32_t n = 0;

	if (big > 4096) {
		sizes[n] = 4096;
		counts[n++] = p->slots / 4 > 16 ? p->slots / 4 : 16;
	}
	if (big > 65536) {
		sizes[n] = 65536;
		counts[n++] = p->slots / 16 > 16 ? p->slots / 16 : 16;
	}
	sizes[n] = big;
	counts[n++] = p->big_blocks;
	return n;
}

static int check_params(const struct queue_params *p, struct err *e)
{
	if (!p->name || p->name[0] != '/' || strlen(p->name) >= 64 || strchr(p->name + 1, '/'))
		return err_set(e, -EINVAL, "queue name \"%s\" must be /name, under 64 chars",
			       p->name ? p->name : "");
	if (p->slots < 16 || p->slots > 65536 || (p->slots & (p->slots - 1)))
		return err_set(e, -EINVAL, "queue slots %u must be a power of two in [16, 65536]",
			       p->slots);
	if (p->invokers < 1 || p->invokers > QUEUE_MAX_INVOKERS)
		return err_set(e, -EINVAL, "queue invokers %u must be in [1, %d]", p->invokers,
			       QUEUE_MAX_INVOKERS);
	if (p->max_payload < 4096 || p->max_payload > 64u * 1024 * 1024)
		return err_set(e, -EINVAL, "queue max_payload %u must be in [4 KiB, 64 MiB]",
			       p->max_payload);
	if (p->inline_max > 4096)
		return err_set(e, -EINVAL, "queue inline_max %u must be at most 4096", p->inline_max);
	if (p->max_clients < 2 || p->max_clients > 1024)
		return err_set(e, -EINVAL, "queue max_clients %u must be in [2, 1024]", p->max_clients);
	if (p->big_blocks < 1 || p->big_blocks > 4096)
		return err_set(e, -EINVAL, "queue big_blocks %u must be in [1, 4096]", p->big_blocks);
	return 0;
}

/* Mark a previous controller's queue RETIRED so its invokers leave, and
 * return its generation (0 when unreadable). */
static uint32_t retire_old(const char *name)
{
	struct queue_hdr *old = NULL;
	uint32_t gen = 0;
	size_t bytes = 0;

	if (shm_region_attach(name, sizeof(*old), (void **)&old, &bytes, NULL) < 0)
		return 0;
	/* Acquire, pairs with queue_create's release of magic: the generation
	 * read below is the creator's. */
	if (atomic_load_explicit(&old->magic, memory_order_acquire) == QUEUE_MAGIC &&
	    old->header_size == sizeof(*old)) {
		gen = old->generation;
		/* Relaxed: a flag its invokers poll; no data travels with it. */
		atomic_store_explicit(&old->state, QUEUE_STATE_RETIRED, memory_order_relaxed);
	}
	shm_region_unmap(old, bytes);
	return gen;
}

static void map_views(struct queue *q)
{
	struct queue_hdr *h = q->hdr;

	q->spin_tries = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? QUEUE_SPIN_TRIES : 0;
	q->inv = (struct queue_inv *)(uintptr_t)((char *)h + h->inv_off);
	for (uint32_t i = 0; i < h->invokers; i++)
		q->req[i] = (struct ring *)(uintptr_t)((char *)h + h->ring_off + (size_t)i * h->ring_stride);
	q->cmp = (struct ring *)(uintptr_t)((char *)h + h->cmp_off);
	q->arena = (struct arena *)(uintptr_t)((char *)h + h->arena_off);
}

int queue_create(const struct queue_params *p, struct queue **out, struct err *e)
{
	uint32_t sizes[ARENA_MAX_CLASSES], counts[ARENA_MAX_CLASSES], nclass;
	struct queue_hdr layout = { 0 };
	struct queue *q = NULL;
	void *base = NULL;
	uint32_t gen;
	size_t off;
	int rc;

	rc = check_params(p, e);
	if (rc < 0)
		return rc;
	layout.slot_size = ring_slot_size_for((uint32_t)sizeof(struct queue_msg) + p->inline_max);
	layout.inline_max = layout.slot_size - RING_SLOT_HDR - (uint32_t)sizeof(struct queue_msg);
	layout.slots = p->slots;
	layout.cmp_slots = pow2_at_least(p->slots > p->invokers * QUEUE_HELD_MAX ?
					 p->slots : p->invokers * QUEUE_HELD_MAX);
	layout.invokers = p->invokers;
	layout.max_clients = p->max_clients;
	layout.held_max = QUEUE_HELD_MAX;
	layout.max_payload = p->max_payload;
	nclass = arena_classes(p, sizes, counts);

	off = align_up(sizeof(struct queue_hdr), EW_CACHELINE);
	layout.inv_off = off;
	off += (size_t)p->invokers * sizeof(struct queue_inv);
	layout.lease_off = off = align_up(off, EW_CACHELINE);
	layout.lease_stride = align_up(QUEUE_LEASE_COPIES +
				       (size_t)QUEUE_HELD_MAX * (layout.slot_size - RING_SLOT_HDR),
				       EW_CACHELINE);
	off += (size_t)p->max_clients * layout.lease_stride;
	layout.ring_off = off = align_up(off, EW_CACHELINE);
	layout.ring_stride = align_up(ring_bytes(p->slots, layout.slot_size), EW_CACHELINE);
	off += (size_t)p->invokers * layout.ring_stride;
	layout.cmp_off = off = align_up(off, EW_CACHELINE);
	off += ring_bytes(layout.cmp_slots, layout.slot_size);
	layout.arena_off = off = align_up(off, 4096);
	off += arena_bytes(sizes, counts, nclass);
	layout.total_bytes = off;

	q = calloc(1, sizeof(*q));
	if (!q)
		return err_set(e, -ENOMEM, "allocate queue handle");
	gen = 0;
	rc = shm_region_create(p->name, off, &base, e);
	if (rc == -EEXIST) {
		gen = retire_old(p->name);
		shm_region_unlink(p->name);
		err_clear(e);
		rc = shm_region_create(p->name, off, &base, e);
	}
	if (rc < 0) {
		free(q);
		return rc;
	}
	q->hdr = base;
	q->bytes = off;
	q->creator = true;
	snprintf(q->name, sizeof(q->name), "%s", p->name);

	/* Everything is laid out before the magic is published. */
	memcpy((char *)base + sizeof(layout.magic), (char *)&layout + sizeof(layout.magic),
	       offsetof(struct queue_hdr, cmp_wake) - sizeof(layout.magic));
	q->hdr->layout_version = QUEUE_LAYOUT_VERSION;
	q->hdr->header_size = sizeof(struct queue_hdr);
	q->hdr->msg_size = sizeof(struct queue_msg);
	q->hdr->generation = gen + 1;
	q->hdr->creator_pid = (uint32_t)getpid();
	/* Plain initialisation, like the rings' and the arena's: all of it is
	 * published by the release store of magic below. */
	atomic_init(&q->hdr->state, QUEUE_STATE_LIVE);
	map_views(q);
	for (uint32_t i = 0; i < p->invokers; i++) {
		rc = ring_init(q->req[i], p->slots, layout.slot_size);
		if (rc < 0)
			goto err;
	}
	rc = ring_init(q->cmp, layout.cmp_slots, layout.slot_size);
	if (rc == 0)
		rc = arena_init(q->arena, sizes, counts, nclass);
	if (rc < 0)
		goto err;
	/* Release pairs with the acquire load in queue_attach(): an attacher
	 * that sees the magic sees the whole layout. */
	atomic_store_explicit(&q->hdr->magic, QUEUE_MAGIC, memory_order_release);
	*out = q;
	return 0;
err:
	err_set(e, rc, "lay out queue %s", p->name);
	queue_close(q);
	return rc;
}

static int validate(const struct queue_hdr *h, size_t bytes, const char *name, struct err *e)
{
	uint64_t magic = atomic_load_explicit(&h->magic, memory_order_acquire);

	if (magic == 0)
		return err_set(e, -EAGAIN, "queue %s is still being created", name);
	if (magic != QUEUE_MAGIC)
		return err_set(e, -EPROTO, "%s is not an edgewhisk queue (magic %#llx)", name,
			       (unsigned long long)magic);
	if (h->layout_version != QUEUE_LAYOUT_VERSION)
		return err_set(e, -EPROTO,
			       "queue %s has layout version %u, this binary speaks version %u: "
			       "run controller and invokers of the same build",
			       name, h->layout_version, QUEUE_LAYOUT_VERSION);
	if (h->header_size != sizeof(*h) || h->msg_size != sizeof(struct queue_msg) ||
	    h->held_max != QUEUE_HELD_MAX)
		return err_set(e, -EPROTO,
			       "queue %s layout mismatch: header %u/%zu bytes, message %u/%zu, held %u/%d",
			       name, h->header_size, sizeof(*h), h->msg_size, sizeof(struct queue_msg),
			       h->held_max, QUEUE_HELD_MAX);
	if (h->total_bytes > bytes || h->invokers < 1 || h->invokers > QUEUE_MAX_INVOKERS ||
	    h->arena_off >= h->total_bytes || h->cmp_off >= h->arena_off ||
	    h->slot_size < sizeof(struct queue_msg) + RING_SLOT_HDR)
		return err_set(e, -EPROTO, "queue %s has an inconsistent header (%llu of %zu bytes)",
			       name, (unsigned long long)h->total_bytes, bytes);
	return 0;
}

int queue_attach(const char *name, struct queue **out, struct err *e)
{
	struct queue *q;
	void *base = NULL;
	size_t bytes = 0;
	int rc;

	rc = shm_region_attach(name, sizeof(struct queue_hdr), &base, &bytes, e);
	if (rc < 0)
		return rc;
	rc = validate(base, bytes, name, e);
	if (rc < 0) {
		shm_region_unmap(base, bytes);
		return rc;
	}
	q = calloc(1, sizeof(*q));
	if (!q) {
		shm_region_unmap(base, bytes);
		return err_set(e, -ENOMEM, "allocate queue handle");
	}
	q->hdr = base;
	q->bytes = bytes;
	snprintf(q->name, sizeof(q->name), "%s", name);
	map_views(q);
	if (q->req[0]->capacity != q->hdr->slots || q->req[0]->slot_size != q->hdr->slot_size ||
	    q->cmp->capacity != q->hdr->cmp_slots) {
		queue_close(q);
		return err_set(e, -EPROTO, "queue %s: ring headers disagree with the queue header", name);
	}
	*out = q;
	return 0;
}

void queue_close(struct queue *q)
{
	if (!q)
		return;
	/* Unlink only our own object: once a newer controller retired this
	 * one, the name belongs to the new queue. */
	/* Relaxed: atomicity is what counts, of this close and a newer
	 * controller's retire_old() exactly one sees LIVE. */
	if (q->creator && atomic_exchange_explicit(&q->hdr->state, QUEUE_STATE_RETIRED,
						   memory_order_relaxed) == QUEUE_STATE_LIVE)
		shm_region_unlink(q->name);
	shm_region_unmap(q->hdr, q->bytes);
	free(q);
}

bool queue_is_retired(const struct queue *q)
{
	/* Relaxed: the retire flag (see retire_old). */
	return atomic_load_explicit(&q->hdr->state, memory_order_relaxed) != QUEUE_STATE_LIVE;
}

uint32_t queue_generation(const struct queue *q) { return q->hdr->generation; }
uint32_t queue_invoker_count(const struct queue *q) { return q->hdr->invokers; }
uint32_t queue_max_payload(const struct queue *q) { return q->hdr->max_payload; }

uint32_t queue_invoker_depth(const struct queue *q, uint32_t id)
{
	return id < q->hdr->invokers ? ring_count(q->req[id]) : 0;
}

uint32_t queue_invoker_inflight(const struct queue *q, uint32_t id)
{
	/* Relaxed: a snapshot for health and stats. */
	return id < q->hdr->invokers ?
		       atomic_load_explicit(&q->inv[id].inflight, memory_order_relaxed) : 0;
}

pid_t queue_invoker_pid(const struct queue *q, uint32_t id)
{
	/* Relaxed: a snapshot for health and stats. */
	return id < q->hdr->invokers ?
		       (pid_t)atomic_load_explicit(&q->inv[id].pid, memory_order_relaxed) : 0;
}

uint32_t queue_arena_free(const struct queue *q)
{
	return arena_free_count(q->arena);
}

static bool pid_alive(uint32_t pid)
{
	return pid != 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

int queue_client_open(struct queue *q, enum queue_role role, uint32_t invoker_id,
		      uint32_t capacity, struct queue_client **out, struct err *e)
{
	return queue_client_open_as(q, role, invoker_id, capacity, getpid(), out, e);
}

int queue_client_open_as(struct queue *q, enum queue_role role, uint32_t invoker_id,
			 uint32_t capacity, pid_t owner, struct queue_client **out, struct err *e)
{
	uint32_t me = (uint32_t)owner;
	struct queue_client *c;
	struct queue_lease *l = NULL;
	uint32_t idx = 0;

	if (role != QUEUE_ROLE_CONTROLLER && role != QUEUE_ROLE_INVOKER)
		return err_set(e, -EINVAL, "queue client: unknown role %d", (int)role);
	if (owner <= 0)
		return err_set(e, -EINVAL, "queue client: owner %d must be positive", (int)owner);
	if (role == QUEUE_ROLE_INVOKER) {
		uint32_t cur;

		if (invoker_id >= q->hdr->invokers)
			return err_set(e, -EINVAL, "invoker id %u: the queue has %u invokers",
				       invoker_id, q->hdr->invokers);
		if (capacity < 1 || capacity > QUEUE_HELD_MAX)
			return err_set(e, -EINVAL, "invoker capacity %u must be in [1, %d]", capacity,
				       QUEUE_HELD_MAX);
		/* Relaxed: a best-effort refusal of a second live invoker. */
		cur = atomic_load_explicit(&q->inv[invoker_id].pid, memory_order_relaxed);
		if (cur != 0 && cur != me && pid_alive(cur))
			return err_set(e, -EBUSY, "invoker %u is already online as pid %u",
				       invoker_id, cur);
	}
	c = calloc(1, sizeof(*c));
	if (c)
		c->scratch = malloc(q->hdr->inline_max > 0 ? q->hdr->inline_max : 1);
	if (!c || !c->scratch) {
		if (c)
			free(c->scratch);
		free(c);
		return err_set(e, -ENOMEM, "allocate queue client");
	}
	for (idx = 0; idx < q->hdr->max_clients; idx++) {
		uint32_t expect = 0;

		l = lease_at(q, idx);
		/* Acquire, pairs with the release of pid = 0 in close/reap: the
		 * lease's last owner is done with it before we write it. */
		if (atomic_compare_exchange_strong_explicit(&l->pid, &expect, me,
							    memory_order_acquire,
							    memory_order_relaxed))
			break;
	}
	if (idx == q->hdr->max_clients) {
		free(c->scratch);
		free(c);
		return err_set(e, -ENOSPC, "queue %s: all %u client leases are taken", q->name,
			       q->hdr->max_clients);
	}
	l->role = (uint32_t)role;
	l->invoker = invoker_id;
	/* Relaxed: close and reap leave a lease idle and empty; this only
	 * resets it, publishing nothing. */
	atomic_store_explicit(&l->op.state, RING_OP_IDLE, memory_order_relaxed);
	for (uint32_t k = 0; k < QUEUE_HELD_MAX; k++)
		atomic_store_explicit(&l->held[k], HELD_FREE, memory_order_relaxed);
	c->q = q;
	c->lease = l;
	c->index = idx;
	c->owner = me;
	c->role = role;
	c->invoker = invoker_id;
	c->steal_next = invoker_id + 1;
	if (role == QUEUE_ROLE_INVOKER) {
		struct queue_inv *inv = &q->inv[invoker_id];

		/* Relaxed: routing reads these as a hint (inv_room); a router
		 * that sees the pid before the capacity routes once by an old
		 * figure, which the full-ring fallback absorbs. */
		atomic_store_explicit(&inv->capacity, capacity, memory_order_relaxed);
		atomic_store_explicit(&inv->inflight, 0, memory_order_relaxed);
		atomic_store_explicit(&inv->pid, me, memory_order_relaxed);
	}
	*out = c;
	return 0;
}

static int request_push(struct queue_client *c, struct queue_msg *m, const struct queue_buf *b);

static void held_release(struct queue_client *c, uint32_t k)
{
	struct queue_msg *m = held_copy(c->q, c->lease, k);

	if (m->block != ARENA_NO_BLOCK)
		arena_free(c->q->arena, m->block);
	m->block = ARENA_NO_BLOCK;
	/* Release: the supervisor must not see the slot reusable before the
	 * block free above. */
	atomic_store_explicit(&c->lease->held[k], HELD_FREE, memory_order_release);
}

void queue_client_close(struct queue_client *c)
{
	if (!c)
		return;
	/* Offline first, so the requests re-queued below are routed away. */
	if (c->role == QUEUE_ROLE_INVOKER) {
		uint32_t me = c->owner;

		/* Relaxed: the online flag routing reads (see client_open). */
		atomic_compare_exchange_strong_explicit(&c->q->inv[c->invoker].pid, &me, 0,
							memory_order_relaxed,
							memory_order_relaxed);
	}
	for (uint32_t k = 0; k < QUEUE_HELD_MAX; k++) {
		uint32_t hs = own_held(c, k);
		struct queue_msg *m = held_copy(c->q, c->lease, k);

		if (hs == HELD_FREE)
			continue;
		/* A request that never started goes back for another invoker. */
		if (hs == HELD_QUEUED && m->type == QUEUE_MSG_ACTIVATION) {
			struct queue_buf b = { .data = m + 1, .len = m->len, .block = m->block };

			if (request_push(c, m, &b) == 0) {
				/* Release, pairs with queue_reap's acquire: the
				 * block is the queue's now, not ours to free. */
				atomic_store_explicit(&c->lease->held[k], HELD_FREE,
						      memory_order_release);
				continue;
			}
		}
		held_release(c, k);
	}
	arena_reclaim(c->q->arena, c->index + 1);
	if (c->role == QUEUE_ROLE_INVOKER) {
		/* Wake the others: this ring now belongs to whoever steals it. */
		for (uint32_t j = 0; j < c->q->hdr->invokers; j++)
			if (j != c->invoker)
				wake_signal(&c->q->inv[j].wake);
	}
	/* Release, pairs with the acquire CAS in client_open: everything we did
	 * to the lease comes before its reuse. */
	atomic_store_explicit(&c->lease->pid, 0, memory_order_release);
	free(c->scratch);
	free(c);
}

int queue_buf_alloc(struct queue_client *c, uint32_t len, struct queue_buf *b)
{
	struct queue *q = c->q;
	uint32_t block;
	int rc;

	if (len > q->hdr->max_payload)
		return -EMSGSIZE;
	if (len <= q->hdr->inline_max && !c->scratch_busy) {
		c->scratch_busy = true;
		b->data = c->scratch;
		b->len = len;
		b->block = ARENA_NO_BLOCK;
		return 0;
	}
	rc = arena_alloc(q->arena, len, c->index + 1, &block);
	if (rc < 0)
		return rc == -EMSGSIZE ? -EMSGSIZE : -ENOSPC;
	b->data = arena_block_data(q->arena, block);
	b->len = len;
	b->block = block;
	return 0;
}

void queue_buf_free(struct queue_client *c, struct queue_buf *b)
{
	if (!b || !b->data)
		return;
	if (b->block != ARENA_NO_BLOCK)
		arena_free(c->q->arena, b->block);
	else
		c->scratch_busy = false;
	b->data = NULL;
}

/* Push one message into ring `ring_id`. The claim -> commit window only
 * copies; the lease's ring_op tells the supervisor where we were. */
static int push_msg(struct queue_client *c, uint32_t ring_id, struct queue_msg *m,
		    const struct queue_buf *b)
{
	struct ring *r = ring_by_id(c->q, ring_id);
	struct ring_op *op = &c->lease->op;
	uint32_t pos;
	char *slot;

	/* Relaxed: published by op_note's release store of the state. */
	atomic_store_explicit(&op->ring, ring_id, memory_order_relaxed);
	atomic_store_explicit(&op->arg, m->block, memory_order_relaxed);
	slot = ring_push_claim(r, op, &pos);
	if (!slot)
		return -EAGAIN;
	memcpy(slot, m, sizeof(*m));
	if (m->block == ARENA_NO_BLOCK && m->len > 0)
		memcpy(slot + sizeof(*m), b->data, m->len);
	if (m->block != ARENA_NO_BLOCK)
		arena_set_owner(c->q->arena, m->block, ARENA_OWNER_QUEUED);
	ring_push_commit(r, op, pos);
	return 0;
}

static void fill_payload(struct queue_msg *m, const struct queue_buf *b)
{
	m->block = b && b->data ? b->block : ARENA_NO_BLOCK;
	m->len = b && b->data ? b->len : 0;
}

static bool inv_online(const struct queue *q, uint32_t i)
{
	return atomic_load_explicit(&q->inv[i].pid, memory_order_relaxed) != 0;
}

/* Load = queued + in flight; room = capacity - load (may be negative). */
static int32_t inv_room(const struct queue *q, uint32_t i)
{
	const struct queue_inv *inv = &q->inv[i];

	return (int32_t)atomic_load_explicit(&inv->capacity, memory_order_relaxed) -
	       (int32_t)atomic_load_explicit(&inv->inflight, memory_order_relaxed) -
	       (int32_t)ring_count(q->req[i]);
}

static uint32_t route(const struct queue *q, uint32_t home)
{
	uint32_t n = q->hdr->invokers, best = home;
	int32_t best_room = INT32_MIN;

	if (n == 1 || (inv_online(q, home) && inv_room(q, home) > 0))
		return home;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = (home + k) % n;
		int32_t room;

		if (!inv_online(q, i))
			continue;
		room = inv_room(q, i);
		if (room > best_room) {
			best_room = room;
			best = i;
		}
	}
	return best;
}

static int request_push(struct queue_client *c, struct queue_msg *m, const struct queue_buf *b)
{
	struct queue *q = c->q;
	uint32_t n = q->hdr->invokers, home = m->home % n, target = route(q, home);
	int rc = push_msg(c, target, m, b);

	/* Full target: any ring with space beats refusing the request. */
	for (uint32_t k = 1; rc == -EAGAIN && k < n; k++) {
		uint32_t i = (target + k) % n;

		if (inv_online(q, i))
			rc = push_msg(c, i, m, b);
		if (rc == 0)
			target = i;
	}
	if (rc == 0)
		wake_signal(&q->inv[target].wake);
	return rc;
}

int queue_request_push(struct queue_client *c, struct queue_msg *m, struct queue_buf *b)
{
	int rc;

	m->type = QUEUE_MSG_ACTIVATION;
	m->id[QUEUE_ID_LEN] = '\0';
	fill_payload(m, b);
	rc = request_push(c, m, b);
	if (rc == 0 && b && b->data) {
		if (b->block == ARENA_NO_BLOCK)
			c->scratch_busy = false;
		b->data = NULL;
	}
	return rc;
}

static size_t msg_copy_len(const struct queue *q, const struct queue_msg *m)
{
	size_t n = sizeof(*m);

	if (m->block == ARENA_NO_BLOCK)
		n += m->len < q->hdr->inline_max ? m->len : q->hdr->inline_max;
	return n;
}

/* Pop one message of ring `ring_id` into held slot k. Tombstones are
 * consumed and skipped. */
static int pop_into(struct queue_client *c, uint32_t ring_id, uint32_t k)
{
	struct ring *r = ring_by_id(c->q, ring_id);
	struct ring_op *op = &c->lease->op;
	struct queue_msg *dst = held_copy(c->q, c->lease, k);

	for (;;) {
		const void *src;
		uint32_t pos;

		/* Relaxed: published by op_note's release store of the state. */
		atomic_store_explicit(&op->ring, ring_id, memory_order_relaxed);
		atomic_store_explicit(&op->arg, k, memory_order_relaxed);
		src = ring_pop_claim(r, op, &pos);
		if (!src)
			return -EAGAIN;
		/* Copy only the header and the inline bytes actually used. */
		memcpy(dst, src, msg_copy_len(c->q, src));
		/* Release: the copy is complete before a supervisor can see it
		 * held (it reads the copy after seeing HELD_QUEUED). */
		atomic_store_explicit(&c->lease->held[k], HELD_QUEUED, memory_order_release);
		ring_pop_commit(r, op, pos);
		if (dst->type != QUEUE_MSG_TOMBSTONE)
			return 0;
		/* Relaxed: a tombstone holds no block; a supervisor that still
		 * reads HELD_QUEUED for it skips it as it is no activation. */
		atomic_store_explicit(&c->lease->held[k], HELD_FREE, memory_order_relaxed);
	}
}

static int take_request(struct queue_client *c, uint32_t k)
{
	struct queue *q = c->q;
	uint32_t n = q->hdr->invokers;

	if (pop_into(c, c->invoker, k) == 0)
		return 0;
	/* Steal only from a ring whose owner cannot get to it soon. */
	for (uint32_t s = 0; s < n; s++) {
		uint32_t j = (c->steal_next + s) % n;

		if (j == c->invoker || ring_count(q->req[j]) == 0)
			continue;
		/* Relaxed: whether its owner is busy is a hint for stealing. */
		if (inv_online(q, j) &&
		    atomic_load_explicit(&q->inv[j].inflight, memory_order_relaxed) <
			    atomic_load_explicit(&q->inv[j].capacity, memory_order_relaxed))
			continue;
		if (pop_into(c, j, k) == 0) {
			c->steal_next = j + 1;
			return 0;
		}
	}
	return -EAGAIN;
}

static int free_held_index(const struct queue_client *c)
{
	for (uint32_t k = 0; k < QUEUE_HELD_MAX; k++)
		if (own_held(c, k) == HELD_FREE)
			return (int)k;
	return -ENOBUFS;
}

static void fill_item(struct queue_client *c, uint32_t k, struct queue_item *it)
{
	const struct queue_msg *m = held_copy(c->q, c->lease, k);

	it->held = k;
	it->msg = m;
	it->payload = msg_payload(c->q, m);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/* Wait on `w` until take() succeeds or timeout_ms passes. Under load the
 * ring refills within microseconds, and a futex sleep + wake costs tens of
 * them on both sides, so a consumer first polls for a bounded few
 * microseconds (only with another CPU to fill the ring meanwhile), then
 * sleeps. An idle consumer therefore burns at most QUEUE_SPIN_TRIES polls
 * per wait before it uses no CPU. */
static int wait_take(struct queue_client *c, struct wake *w, uint32_t timeout_ms, uint32_t k,
		     int (*take)(struct queue_client *, uint32_t))
{
	uint64_t deadline, now;
	int rc;

	if (take(c, k) == 0)
		return 0;
	for (uint32_t i = 0; i < c->q->spin_tries; i++) {
		cpu_relax();
		if (take(c, k) == 0)
			return 0;
	}
	deadline = now_mono_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		wake_arm(w);
		if (take(c, k) == 0) {
			wake_disarm(w);
			return 0;
		}
		now = now_mono_ns();
		if (now >= deadline) {
			wake_disarm(w);
			return -ETIMEDOUT;
		}
		rc = wake_wait(w, (uint32_t)((deadline - now + 999999) / 1000000));
		if (rc == -EINTR) {
			wake_disarm(w);
			return -EINTR;
		}
		if (take(c, k) == 0)
			return 0;
		/* Woken with nothing to take: a kick (the caller has a new
		 * deadline to look at), or another consumer was faster. */
		if (rc == 0)
			return -ETIMEDOUT;
	}
}

int queue_request_pop(struct queue_client *c, uint32_t timeout_ms, struct queue_item *it)
{
	struct queue *q = c->q;
	struct queue_inv *me = &q->inv[c->invoker];
	int k = free_held_index(c);
	int rc;

	if (c->role != QUEUE_ROLE_INVOKER)
		return -EINVAL;
	if (k < 0)
		return k;
	rc = wait_take(c, &me->wake, timeout_ms, (uint32_t)k, take_request);
	if (rc < 0)
		return rc;
	/* Relaxed: a count routing reads as a hint. */
	atomic_fetch_add_explicit(&me->inflight, 1, memory_order_relaxed);
	fill_item(c, (uint32_t)k, it);
	/* Saturated with a backlog: hand the backlog to an idle peer. The
	 * cheap local test first, the producer's cursor line only then. */
	if (q->hdr->invokers > 1 &&
	    atomic_load_explicit(&me->inflight, memory_order_relaxed) >=
		    atomic_load_explicit(&me->capacity, memory_order_relaxed) &&
	    ring_count(q->req[c->invoker]) > 0) {
		for (uint32_t j = 0; j < q->hdr->invokers; j++) {
			struct queue_inv *p = &q->inv[j];

			if (j != c->invoker && inv_online(q, j) &&
			    atomic_load_explicit(&p->wake.armed, memory_order_relaxed)) {
				wake_signal(&p->wake);
				break;
			}
		}
	}
	return 0;
}

void queue_item_start(struct queue_client *c, const struct queue_item *it)
{
	/* Release, pairs with queue_reap's acquire, like the other held
	 * states (after a death, waitpid orders it anyway). */
	atomic_store_explicit(&c->lease->held[it->held], HELD_RUNNING, memory_order_release);
}

static void request_done(struct queue_client *c, uint32_t k)
{
	held_release(c, k);
	if (c->role == QUEUE_ROLE_INVOKER)
		/* Relaxed: the routing count again. */
		atomic_fetch_sub_explicit(&c->q->inv[c->invoker].inflight, 1, memory_order_relaxed);
}

static int completion_push(struct queue_client *c, const struct queue_item *it,
			   struct queue_msg *done, struct queue_buf *b, bool release);

int queue_completion_push(struct queue_client *c, const struct queue_item *it,
			  struct queue_msg *done, struct queue_buf *b)
{
	return completion_push(c, it, done, b, true);
}

int queue_result_push(struct queue_client *c, const struct queue_item *it, struct queue_msg *done,
		      struct queue_buf *b)
{
	return completion_push(c, it, done, b, false);
}

static int completion_push(struct queue_client *c, const struct queue_item *it,
			   struct queue_msg *done, struct queue_buf *b, bool release)
{
	struct queue *q = c->q;
	int rc;

	if (it->held >= QUEUE_HELD_MAX || own_held(c, it->held) == HELD_FREE)
		return -EINVAL;
	done->type = QUEUE_MSG_COMPLETION;
	done->home = c->invoker;
	memcpy(done->id, it->msg->id, sizeof(done->id));
	done->attempt = it->msg->attempt;
	fill_payload(done, b);
	rc = push_msg(c, QUEUE_RING_CMP, done, b);
	if (rc < 0)
		return rc;
	if (b && b->data) {
		if (b->block == ARENA_NO_BLOCK)
			c->scratch_busy = false;
		b->data = NULL;
	}
	wake_signal(&q->hdr->cmp_wake);
	if (release)
		request_done(c, it->held);
	return 0;
}

void queue_item_release(struct queue_client *c, const struct queue_item *it)
{
	if (it->held < QUEUE_HELD_MAX && own_held(c, it->held) != HELD_FREE)
		request_done(c, it->held);
}

static int take_completion(struct queue_client *c, uint32_t k)
{
	return pop_into(c, QUEUE_RING_CMP, k);
}

int queue_completion_pop(struct queue_client *c, uint32_t timeout_ms, struct queue_item *it)
{
	int k = free_held_index(c);
	int rc;

	if (c->role != QUEUE_ROLE_CONTROLLER)
		return -EINVAL;
	if (k < 0)
		return k;
	rc = wait_take(c, &c->q->hdr->cmp_wake, timeout_ms, (uint32_t)k, take_completion);
	if (rc < 0)
		return rc;
	fill_item(c, (uint32_t)k, it);
	return 0;
}

void queue_completion_kick(struct queue *q)
{
	wake_signal(&q->hdr->cmp_wake);
}

void queue_request_kick(struct queue *q, uint32_t invoker_id)
{
	if (invoker_id < q->hdr->invokers)
		wake_signal(&q->inv[invoker_id].wake);
}

void queue_completion_done(struct queue_client *c, const struct queue_item *it)
{
	if (it->held < QUEUE_HELD_MAX && own_held(c, it->held) != HELD_FREE)
		held_release(c, it->held);
}

/* --- supervision --- */

enum other_claim {
	OTHER_NONE,      /* no live client claims (ring, pos) */
	OTHER_TRYING,    /* a live client is about to CAS for it */
	OTHER_CLAIMED,   /* a live client owns it */
};

/* Does a live client other than lease `self` claim (ring, pos) right now? */
static enum other_claim other_claim(const struct queue *q, uint32_t self, pid_t dead,
				    uint32_t ring_id, uint32_t pos, bool push)
{
	enum other_claim found = OTHER_NONE;

	for (uint32_t i = 0; i < q->hdr->max_clients; i++) {
		struct queue_lease *l = lease_at(q, i);
		/* Relaxed: which leases are live is a snapshot; a client that
		 * opens after it cannot hold a claim made before. */
		uint32_t pid = atomic_load_explicit(&l->pid, memory_order_relaxed), st;

		if (i == self || pid == 0 || pid == (uint32_t)dead)
			continue;
		/* Acquire, pairs with op_note's release: ring and pos (relaxed
		 * loads after it) are at least as new as this state. */
		st = atomic_load_explicit(&l->op.state, memory_order_acquire);
		if (atomic_load_explicit(&l->op.ring, memory_order_relaxed) != ring_id ||
		    atomic_load_explicit(&l->op.pos, memory_order_relaxed) != pos)
			continue;
		if (push ? st == RING_OP_PUSH_CLAIMED : st == RING_OP_POP_CLAIMED)
			return OTHER_CLAIMED;
		if (push ? st == RING_OP_PUSH_TRY : st == RING_OP_POP_TRY)
			found = OTHER_TRYING;
	}
	return found;
}

/* The dead client noted TRY at pos and died before or after winning its
 * CAS; the slot is claimed, so someone won. When a live client noted TRY at
 * the same pos, it is the other candidate, and it leaves TRY within one CAS
 * (for CLAIMED if it won, for another pos if it lost): wait for that,
 * briefly. Answering "theirs" without waiting would leave the slot wedged
 * for good whenever the dead one had won. */
static enum other_claim settle_other_claim(const struct queue *q, uint32_t self, pid_t dead,
					   uint32_t ring_id, uint32_t pos, bool push)
{
	uint64_t until = now_mono_ns() + QUEUE_REPAIR_WAIT_NS;
	enum other_claim c;

	while ((c = other_claim(q, self, dead, ring_id, pos, push)) == OTHER_TRYING &&
	       now_mono_ns() < until)
		sched_yield();
	return c;
}

/* Unwedge the slot a dead client was claiming (see ring.h). */
static void repair_op(struct queue *q, uint32_t idx, pid_t dead, struct queue_reap_stats *st)
{
	struct queue_lease *l = lease_at(q, idx);
	/* Acquire, pairs with op_note's release (ring.c): the fields below
	 * are the ones written with this state. */
	uint32_t state = atomic_load_explicit(&l->op.state, memory_order_acquire);
	uint32_t ring_id = atomic_load_explicit(&l->op.ring, memory_order_relaxed);
	uint32_t pos = atomic_load_explicit(&l->op.pos, memory_order_relaxed);
	uint32_t arg = atomic_load_explicit(&l->op.arg, memory_order_relaxed);
	struct ring *r = ring_by_id(q, ring_id);
	bool push = state == RING_OP_PUSH_TRY || state == RING_OP_PUSH_CLAIMED;
	enum ring_slot_state ss;

	if (!r || state == RING_OP_IDLE)
		return;
	ss = ring_slot_state(r, pos);
	if (ss != (push ? RING_SLOT_PUSH_UNPUBLISHED : RING_SLOT_POP_UNRELEASED))
		return;
	if (state == RING_OP_PUSH_TRY || state == RING_OP_POP_TRY) {
		enum other_claim c = settle_other_claim(q, idx, dead, ring_id, pos, push);

		/* Still trying after the wait: whose the slot is stays unknown,
		 * and tombstoning a live producer's slot (or releasing a live
		 * consumer's) would corrupt a message; leave it, and count it. */
		if (c == OTHER_TRYING)
			st->undecided++;
		if (c != OTHER_NONE)
			return;
	}
	if (push) {
		struct queue_msg *m;

		m = ring_slot_data(r, pos);
		memset(m, 0, sizeof(*m));
		m->type = QUEUE_MSG_TOMBSTONE;
		m->block = ARENA_NO_BLOCK;
		ring_slot_force_publish(r, pos);
		st->tombstones++;
		/* The block never made it into a message. */
		if (arg != ARENA_NO_BLOCK && arena_owner(q->arena, arg) == ARENA_OWNER_QUEUED) {
			arena_free(q->arena, arg);
			st->blocks++;
		}
	} else {
		/* Acquire, pairs with the owner's release stores of held[]; the
		 * relaxed store after is the supervisor's own note, read back by
		 * itself in queue_reap. */
		if (arg < QUEUE_HELD_MAX &&
		    atomic_load_explicit(&l->held[arg], memory_order_acquire) == HELD_FREE) {
			memcpy(held_copy(q, l, arg), ring_slot_data(r, pos), r->data_size);
			atomic_store_explicit(&l->held[arg], HELD_QUEUED, memory_order_relaxed);
		}
		ring_slot_force_release(r, pos);
		st->released++;
	}
}

int queue_reap(struct queue_client *c, pid_t pid, queue_lost_fn lost, void *arg,
	       struct queue_reap_stats *st)
{
	struct queue *q = c->q;
	struct queue_reap_stats local = { 0 };

	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	if (pid <= 0)
		return -EINVAL;
	/* Offline first, so re-queued requests are routed away from it. */
	for (uint32_t i = 0; i < q->hdr->invokers; i++) {
		uint32_t expect = (uint32_t)pid;

		/* Relaxed: the online flag and routing count (see client_open). */
		if (atomic_compare_exchange_strong_explicit(&q->inv[i].pid, &expect, 0,
							    memory_order_relaxed,
							    memory_order_relaxed)) {
			atomic_store_explicit(&q->inv[i].inflight, 0, memory_order_relaxed);
			wake_reset(&q->inv[i].wake);
		}
	}
	for (uint32_t i = 0; i < q->hdr->max_clients; i++) {
		struct queue_lease *l = lease_at(q, i);

		/* Acquire, pairs with the claiming CAS only in name: the dead
		 * owner's writes are ordered before us by waitpid(), and leases
		 * of live owners are skipped. */
		if (atomic_load_explicit(&l->pid, memory_order_acquire) != (uint32_t)pid)
			continue;
		st->leases++;
		repair_op(q, i, pid, st);
		for (uint32_t k = 0; k < QUEUE_HELD_MAX; k++) {
			uint32_t hs = atomic_load_explicit(&l->held[k], memory_order_acquire);
			struct queue_msg *m = held_copy(q, l, k);
			bool done = true;

			if (hs == HELD_FREE)
				continue;
			if (hs == HELD_QUEUED && m->type == QUEUE_MSG_ACTIVATION) {
				struct queue_buf b = { .data = (char *)(m + 1), .len = m->len,
						       .block = m->block };

				m->attempt++;
				done = request_push(c, m, &b) != 0;
				if (!done)
					st->requeued++;
			}
			if (done) {
				if (m->type == QUEUE_MSG_ACTIVATION) {
					if (lost)
						lost(arg, m, msg_payload(q, m));
					st->lost++;
				}
				if (m->block != ARENA_NO_BLOCK) {
					arena_free(q->arena, m->block);
					st->blocks++;
				}
			}
			/* Relaxed: published with the lease by pid = 0 below. */
			atomic_store_explicit(&l->held[k], HELD_FREE, memory_order_relaxed);
		}
		st->blocks += arena_reclaim(q->arena, i + 1);
		atomic_store_explicit(&l->op.state, RING_OP_IDLE, memory_order_relaxed);
		/* Release, pairs with the acquire CAS in client_open. */
		atomic_store_explicit(&l->pid, 0, memory_order_release);
	}
	/* Its ring, if it had one, is now for the others to steal. */
	for (uint32_t j = 0; j < q->hdr->invokers; j++)
		wake_signal(&q->inv[j].wake);
	return 0;
}
