/* SPDX-License-Identifier: Apache-2.0 */
/* Vyukov bounded MPMC ring in shared memory (see ring.h for the protocol and
 * the crash-repair contract). Every atomic operation names its ordering and
 * what it pairs with. The pairs that carry data:
 *   push_commit / force_publish  (release seq = pos + 1)
 *       -> pop_claim             (acquire seq): the message bytes
 *   pop_commit / force_release   (release seq = pos + capacity)
 *       -> push_claim            (acquire seq): the reader is done with them
 *   op_note                      (release op->state)
 *       -> queue.c's supervisor  (acquire op->state): op->ring/pos/arg
 * The cursors (enq, deq) order nothing: a slot's seq does, so their loads
 * and CASes are relaxed, as in Vyukov's original. */
#include "common/ring.h"

#include <errno.h>
#include <string.h>

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the ring needs lock-free 32-bit atomics");
_Static_assert(sizeof(struct ring) == 3 * EW_CACHELINE, "ring header layout changed");
_Static_assert(offsetof(struct ring, deq) == EW_CACHELINE, "cursors must not share a line");
_Static_assert(sizeof(struct ring_op) == 16, "ring_op layout changed");

static inline _Atomic uint32_t *slot_seq(const struct ring *r, uint32_t pos)
{
	const char *base = (const char *)r + sizeof(*r);

	return (_Atomic uint32_t *)(uintptr_t)(base + (size_t)(pos & r->mask) * r->slot_size);
}

static inline void *slot_data(const struct ring *r, uint32_t pos)
{
	return (char *)slot_seq(r, pos) + RING_SLOT_HDR;
}

static inline void op_note(struct ring_op *op, uint32_t pos, enum ring_op_state st)
{
	if (!op)
		return;
	/* Relaxed: published by the release store of `state` below. */
	atomic_store_explicit(&op->pos, pos, memory_order_relaxed);
	/* Release: a supervisor that acquires `state` (after this process died,
	 * or while judging a live client's claim) sees the pos, ring and arg
	 * written before it. */
	atomic_store_explicit(&op->state, st, memory_order_release);
}

uint32_t ring_slot_size_for(uint32_t data_size)
{
	uint32_t need = data_size + RING_SLOT_HDR;

	return (need + EW_CACHELINE - 1) / EW_CACHELINE * EW_CACHELINE;
}

size_t ring_bytes(uint32_t capacity, uint32_t slot_size)
{
	return sizeof(struct ring) + (size_t)capacity * slot_size;
}

int ring_init(struct ring *r, uint32_t capacity, uint32_t slot_size)
{
	if (capacity < 2 || (capacity & (capacity - 1)) != 0)
		return -EINVAL;
	if (slot_size < EW_CACHELINE || slot_size % EW_CACHELINE != 0)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->capacity = capacity;
	r->mask = capacity - 1;
	r->slot_size = slot_size;
	r->data_size = slot_size - RING_SLOT_HDR;
	for (uint32_t i = 0; i < capacity; i++)
		atomic_init(slot_seq(r, i), i);
	/* Plain initialisation: the memory is published later, by the queue
	 * header's release store of its magic (queue.c). */
	atomic_init(&r->enq, 0);
	atomic_init(&r->deq, 0);
	return 0;
}

void *ring_push_claim(struct ring *r, struct ring_op *op, uint32_t *pos_out)
{
	/* Relaxed: only a guess of where to start; the slot's seq decides. */
	uint32_t pos = atomic_load_explicit(&r->enq, memory_order_relaxed);

	for (;;) {
		/* Acquire pairs with the consumer's release in ring_pop_commit():
		 * the slot is free to overwrite only once its reader is done. */
		uint32_t seq = atomic_load_explicit(slot_seq(r, pos), memory_order_acquire);
		int32_t dif = (int32_t)(seq - pos);

		if (dif == 0) {
			op_note(op, pos, RING_OP_PUSH_TRY);
			/* Relaxed: the CAS only decides who owns pos; the
			 * acquire of seq above ordered the slot's reuse. */
			if (atomic_compare_exchange_weak_explicit(&r->enq, &pos, pos + 1,
								  memory_order_relaxed,
								  memory_order_relaxed)) {
				op_note(op, pos, RING_OP_PUSH_CLAIMED);
				*pos_out = pos;
				return slot_data(r, pos);
			}
			/* pos was reloaded by the failed CAS */
		} else if (dif < 0) {
			/* The slot still holds the previous lap's message: full. */
			op_note(op, pos, RING_OP_IDLE);
			return NULL;
		} else {
			/* Another producer took pos: start again from the cursor. */
			pos = atomic_load_explicit(&r->enq, memory_order_relaxed);
		}
	}
}

void ring_push_commit(struct ring *r, struct ring_op *op, uint32_t pos)
{
	/* Release pairs with the acquire load in ring_pop_claim(): a consumer
	 * that sees pos + 1 sees the whole message. */
	atomic_store_explicit(slot_seq(r, pos), pos + 1, memory_order_release);
	op_note(op, pos, RING_OP_IDLE);
}

const void *ring_pop_claim(struct ring *r, struct ring_op *op, uint32_t *pos_out)
{
	/* Relaxed: a guess of where to start, as in push. */
	uint32_t pos = atomic_load_explicit(&r->deq, memory_order_relaxed);

	for (;;) {
		/* Acquire pairs with the producer's release in ring_push_commit(). */
		uint32_t seq = atomic_load_explicit(slot_seq(r, pos), memory_order_acquire);
		int32_t dif = (int32_t)(seq - (pos + 1));

		if (dif == 0) {
			op_note(op, pos, RING_OP_POP_TRY);
			/* Relaxed: ownership only; the acquire of seq above
			 * ordered the message bytes. */
			if (atomic_compare_exchange_weak_explicit(&r->deq, &pos, pos + 1,
								  memory_order_relaxed,
								  memory_order_relaxed)) {
				op_note(op, pos, RING_OP_POP_CLAIMED);
				*pos_out = pos;
				return slot_data(r, pos);
			}
		} else if (dif < 0) {
			/* Not yet published at pos: empty (or a producer is mid-copy). */
			op_note(op, pos, RING_OP_IDLE);
			return NULL;
		} else {
			/* Another consumer took pos: start again from the cursor. */
			pos = atomic_load_explicit(&r->deq, memory_order_relaxed);
		}
	}
}

void ring_pop_commit(struct ring *r, struct ring_op *op, uint32_t pos)
{
	/* Release pairs with the acquire load in ring_push_claim(): the next
	 * lap's producer overwrites only after this reader has copied out. */
	atomic_store_explicit(slot_seq(r, pos), pos + r->capacity, memory_order_release);
	op_note(op, pos, RING_OP_IDLE);
}

int ring_push(struct ring *r, struct ring_op *op, const void *data, uint32_t len)
{
	uint32_t pos;
	void *dst;

	if (len > r->data_size)
		return -EMSGSIZE;
	dst = ring_push_claim(r, op, &pos);
	if (!dst)
		return -EAGAIN;
	memcpy(dst, data, len);
	ring_push_commit(r, op, pos);
	return 0;
}

int ring_pop(struct ring *r, struct ring_op *op, void *out, uint32_t out_len)
{
	const void *src;
	uint32_t pos;

	src = ring_pop_claim(r, op, &pos);
	if (!src)
		return -EAGAIN;
	memcpy(out, src, out_len < r->data_size ? out_len : r->data_size);
	ring_pop_commit(r, op, pos);
	return 0;
}

uint32_t ring_count(const struct ring *r)
{
	/* Read deq first: it never passes enq, so a later enq read keeps the
	 * difference from going negative. Acquire on deq keeps the enq load
	 * after it (a relaxed pair may be reordered and read a newer deq than
	 * enq); enq's acquire orders nothing and is kept for symmetry. It is a
	 * snapshot for routing and stats: no data is read on its strength. */
	uint32_t deq = atomic_load_explicit(&r->deq, memory_order_acquire);
	uint32_t enq = atomic_load_explicit(&r->enq, memory_order_acquire);
	int32_t n = (int32_t)(enq - deq);

	return n > 0 ? (uint32_t)n : 0;
}

enum ring_slot_state ring_slot_state(const struct ring *r, uint32_t pos)
{
	/* Acquire on seq pairs with the commits' release stores: the repair
	 * that follows reads the slot (a dead consumer's unreleased message).
	 * Acquire on the cursors keeps them read after seq, so a cursor seen
	 * past pos is at least as new as the seq judged with it. */
	uint32_t seq = atomic_load_explicit(slot_seq(r, pos), memory_order_acquire);
	uint32_t enq = atomic_load_explicit(&r->enq, memory_order_acquire);
	uint32_t deq = atomic_load_explicit(&r->deq, memory_order_acquire);

	if (seq == pos && (int32_t)(enq - pos) > 0)
		return RING_SLOT_PUSH_UNPUBLISHED;
	if (seq == pos + 1 && (int32_t)(deq - pos) > 0)
		return RING_SLOT_POP_UNRELEASED;
	return RING_SLOT_SETTLED;
}

void *ring_slot_data(struct ring *r, uint32_t pos)
{
	return slot_data(r, pos);
}

void ring_slot_force_publish(struct ring *r, uint32_t pos)
{
	/* Release pairs with ring_pop_claim()'s acquire, as a commit would. */
	atomic_store_explicit(slot_seq(r, pos), pos + 1, memory_order_release);
}

void ring_slot_force_release(struct ring *r, uint32_t pos)
{
	/* Release pairs with ring_push_claim()'s acquire, as a commit would. */
	atomic_store_explicit(slot_seq(r, pos), pos + r->capacity, memory_order_release);
}
