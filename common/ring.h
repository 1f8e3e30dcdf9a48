/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded lock-free MPMC ring of fixed-size slots (Dmitry Vyukov's bounded
 * MPMC queue) laid out in caller-provided memory, so it can live in POSIX
 * shared memory and be used by many processes at once.
 *
 * Each slot starts with a sequence number. Slot i starts at seq = i. A
 * producer at position p may claim it when seq == p (CAS on the enqueue
 * cursor), writes the slot and publishes with seq = p + 1. A consumer at p
 * may claim when seq == p + 1, reads, and releases with seq = p + capacity.
 * Cursors are free-running uint32_t compared by signed difference, so they
 * wrap safely. Full and empty answer -EAGAIN at once: nothing here waits.
 *
 * Crash repair: a process that dies between its claim and its publish or
 * release would wedge the ring at that slot. Every claim therefore records
 * what it is doing in a struct ring_op (in shared memory, one per client)
 * before the CAS and advances the record after it; a supervisor that reaped
 * the dead process reads the record and uses ring_slot_state() plus
 * ring_slot_force_publish()/ring_slot_force_release() to unwedge the slot.
 * The claim -> publish/release windows only copy bytes (no I/O, no malloc,
 * no logging), so a live process never stays in one for long. */
#ifndef EW_RING_H
#define EW_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EW_CACHELINE 64

/* What a client was doing to a ring slot; read by the supervisor after the
 * client died, and (ring, pos) of live clients too, while it judges whose a
 * claim is (queue.c's claimed_by_other). So every field is atomic: relaxed
 * stores before the release store of `state`, and a reader that acquires
 * `state` sees the fields written before it (a dead process's record is a
 * prefix of its program order). */
enum ring_op_state {
	RING_OP_IDLE = 0,
	RING_OP_PUSH_TRY,      /* about to CAS the enqueue cursor at pos */
	RING_OP_PUSH_CLAIMED,  /* owns slot pos, not yet published */
	RING_OP_POP_TRY,       /* about to CAS the dequeue cursor at pos */
	RING_OP_POP_CLAIMED,   /* owns slot pos, not yet released */
};

struct ring_op {
	_Atomic uint32_t state;  /* enum ring_op_state */
	_Atomic uint32_t ring;   /* which ring (the caller's numbering) */
	_Atomic uint32_t pos;    /* cursor position being claimed */
	_Atomic uint32_t arg;    /* caller's data (held index, arena block) */
};

/* Shared-memory layout. Cursors each own a cache line; the slots follow the
 * header at ring_slot_offset(). Fixed-width fields only. */
struct ring {
	_Alignas(EW_CACHELINE) _Atomic uint32_t enq;  /* next position to claim for push */
	_Alignas(EW_CACHELINE) _Atomic uint32_t deq;  /* next position to claim for pop */
	_Alignas(EW_CACHELINE) uint32_t capacity;     /* power of two */
	uint32_t mask;
	uint32_t slot_size;                           /* bytes per slot incl. seq, multiple of 64 */
	uint32_t data_size;                           /* usable bytes per slot */
};

/* Bytes of the seq word kept at the start of every slot (padded to 8 so the
 * data that follows is 8-byte aligned). */
#define RING_SLOT_HDR 8u

/* Slot size (bytes, multiple of EW_CACHELINE) that holds `data_size` bytes. */
uint32_t ring_slot_size_for(uint32_t data_size);

/* Total bytes ring_init() needs for `capacity` slots of `slot_size`. */
size_t ring_bytes(uint32_t capacity, uint32_t slot_size);

/* Lay out an empty ring in `mem` (aligned to EW_CACHELINE, ring_bytes()
 * long). capacity: power of two >= 2; slot_size from ring_slot_size_for().
 * Returns 0 or -EINVAL. Not thread-safe: call before publishing the memory. */
int ring_init(struct ring *r, uint32_t capacity, uint32_t slot_size)
	__attribute__((warn_unused_result));

/* Claim the next slot for writing. Returns its data area (data_size bytes)
 * and the position in *pos, or NULL when the ring is full. The caller must
 * fill it and call ring_push_commit() with no I/O in between. `op` (may be
 * NULL when no crash repair is wanted) records the claim. Lock-free. */
void *ring_push_claim(struct ring *r, struct ring_op *op, uint32_t *pos);

/* Publish a slot claimed by ring_push_claim(). */
void ring_push_commit(struct ring *r, struct ring_op *op, uint32_t pos);

/* Claim the next full slot for reading; NULL when empty. As for push, the
 * caller copies out and calls ring_pop_commit() at once. */
const void *ring_pop_claim(struct ring *r, struct ring_op *op, uint32_t *pos);

/* Release a slot claimed by ring_pop_claim() to producers. */
void ring_pop_commit(struct ring *r, struct ring_op *op, uint32_t pos);

/* Copying conveniences: -EAGAIN when full/empty, -EMSGSIZE when len >
 * data_size. ring_pop copies min(out_len, data_size) bytes into out. */
int ring_push(struct ring *r, struct ring_op *op, const void *data, uint32_t len);
int ring_pop(struct ring *r, struct ring_op *op, void *out, uint32_t out_len);

/* Messages queued (published or being published), a snapshot. */
uint32_t ring_count(const struct ring *r);

/* --- crash repair (supervisor only, after the owner of a ring_op died) --- */

enum ring_slot_state {
	RING_SLOT_SETTLED,           /* nothing pending at pos */
	RING_SLOT_PUSH_UNPUBLISHED,  /* claimed by a producer, never published */
	RING_SLOT_POP_UNRELEASED,    /* claimed by a consumer, never released */
};

/* What is pending at `pos`, judged from the cursors and the slot's seq. */
enum ring_slot_state ring_slot_state(const struct ring *r, uint32_t pos);

/* Data area of the slot at pos (for reading what a dead client held or for
 * writing a tombstone before force_publish). */
void *ring_slot_data(struct ring *r, uint32_t pos);

/* Finish a dead producer's push (seq = pos + 1) or a dead consumer's pop
 * (seq = pos + capacity), so the ring moves on. Only valid in the state
 * ring_slot_state() reported. */
void ring_slot_force_publish(struct ring *r, uint32_t pos);
void ring_slot_force_release(struct ring *r, uint32_t pos);

#endif
