/* SPDX-License-Identifier: Apache-2.0 */
/* The activation queue: what replaces Kafka between the controller and the
 * invokers. One POSIX shared-memory object, created by the controller and
 * mapped by every invoker, holds:
 *
 *   header    magic (stored last), layout version, sizes, generation, state
 *   invokers  per invoker: futex wake word, online pid, capacity, in-flight
 *   leases    per client (a thread of a process): its pid, the ring_op it is
 *             in the middle of, and the activations it holds
 *   rings     one request ring per invoker + one completion ring (ring.h)
 *   arena     payload blocks in size classes (arena.h)
 *
 * Messages. A ring slot carries a fixed struct queue_msg header and, when it
 * fits (inline_max, default 192 bytes), the payload itself. A larger payload
 * is written once by its producer straight into an arena block returned by
 * queue_buf_alloc() and read in place by its consumer: only the block id
 * travels, so a 1 MiB payload costs no malloc and no copy per hop. The block
 * is freed by the consumer when it releases the message (or by the
 * supervisor when the consumer dies).
 *
 * Routing (warm-container affinity). A request names its home invoker (the
 * controller hashes namespace/action). It goes to the home ring while the
 * home invoker is online and has room (queued + in flight < capacity);
 * otherwise to the online invoker with the most room. An invoker pops its own
 * ring first and, when that is empty, steals from a ring whose owner is
 * saturated or offline; an invoker that takes a message and leaves its own
 * ring backlogged while saturated wakes an idle peer. So the same action
 * called again and again stays on its warm home, and no invoker idles while
 * another has a backlog.
 *
 * Blocking. push never waits: a full ring answers -EAGAIN (the controller
 * says 429/503), an exhausted arena -ENOSPC. Pops wait on a futex with a
 * timeout; idle consumers use no CPU.
 *
 * Crash semantics (at-most-once; retries and truth live in the controller).
 * A client that dies does not wedge anything: the supervisor calls
 * queue_reap() with its pid after waitpid(). For each of its leases:
 *   - a slot it claimed but never published gets a tombstone (consumers skip
 *     it); a slot it claimed but never released is released;
 *   - a request it popped but had not marked started (queue_item_start) is
 *     re-queued for another invoker: it never ran;
 *   - a request it had started is handed to the caller's callback, which
 *     completes it as failed (OpenWhisk statusCode 3, whisk error);
 *   - arena blocks it owned are freed; its invoker goes offline so its ring
 *     is drained by the others.
 * A completion is pushed before the request is released, so a consumer that
 * dies between the two can make the same activation both complete and be
 * reported failed: the controller keeps the first result for an id.
 *
 * A restarted controller retires the old object (state RETIRED, name
 * unlinked, generation + 1 in the new one); invokers of the old generation
 * see queue_is_retired() and exit. */
#ifndef EW_QUEUE_H
#define EW_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

#define QUEUE_LAYOUT_VERSION 1u
#define QUEUE_MAGIC 0x6577687153484d51ull /* "ewhqSHMQ" */
#define QUEUE_DEFAULT_NAME "/edgewhisk-act-v1"
#define QUEUE_MAX_INVOKERS 64
#define QUEUE_HELD_MAX 32      /* activations one client may hold at once */
#define QUEUE_ID_LEN 32        /* OpenWhisk activation id: 32 hex chars */

enum queue_msg_type {
	QUEUE_MSG_ACTIVATION = 1,  /* controller -> invoker */
	QUEUE_MSG_COMPLETION = 2,  /* invoker -> controller */
	QUEUE_MSG_TOMBSTONE = 3,   /* written by the supervisor in a dead claim; skipped */
};

enum queue_role {
	QUEUE_ROLE_CONTROLLER = 1, /* pushes requests, pops completions, reaps */
	QUEUE_ROLE_INVOKER = 2,    /* pops requests of its invoker id, pushes completions */
};

/* The fixed header of every message. Callers fill id, home, cookie,
 * enqueue_ns and, in completions, status; the queue fills the rest. */
struct queue_msg {
	uint64_t cookie;           /* caller's opaque value, carried back in the completion */
	uint64_t enqueue_ns;       /* caller's timestamp, carried as is (the controller's
				    * request arrival, for waitTime); no clock read here */
	uint32_t type;             /* enum queue_msg_type */
	uint32_t status;           /* completion: OpenWhisk statusCode 0..3 */
	uint32_t block;            /* arena block of the payload, or ARENA_NO_BLOCK */
	uint32_t len;              /* payload bytes */
	uint32_t home;             /* home invoker (request); invoker that ran it (completion) */
	uint32_t attempt;          /* times re-queued after an invoker died */
	char id[QUEUE_ID_LEN + 8]; /* activation id, NUL-terminated */
};

struct queue_params {
	const char *name;          /* shm name, default QUEUE_DEFAULT_NAME */
	uint32_t slots;            /* per request ring, power of two (default 1024) */
	uint32_t invokers;         /* request rings (default 1) */
	uint32_t max_payload;      /* largest payload (default 1 MiB) */
	uint32_t inline_max;       /* payload bytes carried in the slot (default 192) */
	uint32_t max_clients;      /* lease records (default 64) */
	uint32_t big_blocks;       /* arena blocks of max_payload (default 32) */
};

struct queue;
struct queue_client;

/* A payload buffer being written by a producer: `data` has room for `len`
 * bytes; it lives in an arena block (block != ARENA_NO_BLOCK) or in the
 * client's inline scratch. */
struct queue_buf {
	void *data;
	uint32_t len;
	uint32_t block;
};

/* A message held by a consumer. `msg` and `payload` point into shared memory
 * owned by the holder until it releases the item. */
struct queue_item {
	uint32_t held;             /* index in the holder's lease */
	const struct queue_msg *msg;
	const void *payload;       /* msg->len bytes */
};

/* Fill *p with defaults. */
void queue_params_defaults(struct queue_params *p);

/* Controller: create the queue. An existing object of that name (a previous
 * controller) is marked RETIRED and unlinked first; the new generation is
 * the old one + 1. -EINVAL for bad params, -errno from shm. */
int queue_create(const struct queue_params *p, struct queue **out, struct err *e)
	__attribute__((warn_unused_result));

/* Invoker: map an existing queue and check its header. -ENOENT when absent,
 * -EPROTO for a wrong magic or a layout version/size this binary does not
 * know (the message names both versions), -EAGAIN when the creator has not
 * finished laying it out (retry). */
int queue_attach(const char *name, struct queue **out, struct err *e)
	__attribute__((warn_unused_result));

/* Unmap; the creator also unlinks the name. NULL is ignored. */
void queue_close(struct queue *q);

/* True once a newer controller replaced this queue. */
bool queue_is_retired(const struct queue *q);
uint32_t queue_generation(const struct queue *q);
uint32_t queue_invoker_count(const struct queue *q);
uint32_t queue_max_payload(const struct queue *q);

/* Open a client (one per thread that uses the queue). An INVOKER client
 * registers invoker `invoker_id` online with `capacity` concurrent
 * activations (1..QUEUE_HELD_MAX). -ENOSPC when no lease is free, -EINVAL
 * for a bad id/capacity, -EBUSY when another live process is that invoker. */
int queue_client_open(struct queue *q, enum queue_role role, uint32_t invoker_id,
		      uint32_t capacity, struct queue_client **out, struct err *e)
	__attribute__((warn_unused_result));

/* queue_client_open for an owner other than this process: the lease and
 * the invoker registration carry `owner` (1..2^31-1) where they would carry
 * the pid, and queue_reap(owner) reclaims them. For tests that run
 * producers and consumers as threads of one process (ThreadSanitizer sees
 * one process only) and stop one thread as if its process had died. Pick
 * owners above the system's pid_max, so no live process is mistaken. */
int queue_client_open_as(struct queue *q, enum queue_role role, uint32_t invoker_id,
			 uint32_t capacity, pid_t owner, struct queue_client **out, struct err *e)
	__attribute__((warn_unused_result));

/* Release the lease. Held requests that were never started are re-queued
 * for other invokers; started ones and completions are dropped as by
 * queue_item_release (complete them first). NULL is ignored. */
void queue_client_close(struct queue_client *c);

/* Get a buffer for a payload of `len` bytes. -EMSGSIZE above max_payload,
 * -ENOSPC when the arena has no free block of that size. */
int queue_buf_alloc(struct queue_client *c, uint32_t len, struct queue_buf *b)
	__attribute__((warn_unused_result));

/* Give back a buffer that was not pushed. */
void queue_buf_free(struct queue_client *c, struct queue_buf *b);

/* Controller: route and push an activation request (see Routing). `b` may be
 * NULL for an empty payload; on success the queue owns it. -EAGAIN when
 * every ring is full. Never blocks. */
int queue_request_push(struct queue_client *c, struct queue_msg *m, struct queue_buf *b)
	__attribute__((warn_unused_result));

/* Invoker: take a request for this invoker (own ring, else steal), waiting
 * up to timeout_ms. -ETIMEDOUT when none came (early too: woken by a kick,
 * or by a message another consumer took first), -ENOBUFS when the client
 * already holds QUEUE_HELD_MAX items, -EINTR on a signal. */
int queue_request_pop(struct queue_client *c, uint32_t timeout_ms, struct queue_item *it)
	__attribute__((warn_unused_result));

/* Invoker: mark a held request as started (from now on a crash reports it
 * failed instead of re-queueing it). */
void queue_item_start(struct queue_client *c, const struct queue_item *it);

/* Invoker: push the completion of held item `it` and release the item.
 * `done` carries status and cookie; the id is taken from the request. `b`
 * may be NULL. -EAGAIN when the completion ring is full (retry). */
int queue_completion_push(struct queue_client *c, const struct queue_item *it,
			  struct queue_msg *done, struct queue_buf *b)
	__attribute__((warn_unused_result));

/* Invoker: push an early completion of held item `it` (the result, before
 * the logs) and keep holding the item; the final queue_completion_push
 * follows. The controller answers a waiting client on the first and
 * completes the record with the second. -EAGAIN when the ring is full. */
int queue_result_push(struct queue_client *c, const struct queue_item *it, struct queue_msg *done,
		      struct queue_buf *b) __attribute__((warn_unused_result));

/* Drop a held item without a completion (frees its payload). */
void queue_item_release(struct queue_client *c, const struct queue_item *it);

/* Controller: take a completion, waiting up to timeout_ms. The item must be
 * given back with queue_completion_done(). -ETIMEDOUT when none came
 * (early too, as for queue_request_pop). */
int queue_completion_pop(struct queue_client *c, uint32_t timeout_ms, struct queue_item *it)
	__attribute__((warn_unused_result));
void queue_completion_done(struct queue_client *c, const struct queue_item *it);

/* Wake the threads sleeping in queue_completion_pop (or, for
 * queue_request_kick, in invoker id's queue_request_pop) without a
 * message: they return -ETIMEDOUT early (or pop what came). For consumers
 * that sleep until a deadline of their own and must look again: a new,
 * earlier deadline, or shutdown. */
void queue_completion_kick(struct queue *q);
void queue_request_kick(struct queue *q, uint32_t invoker_id);

/* Supervisor callback for an activation that a dead invoker had started:
 * complete it as failed. `payload` is valid during the call only. */
typedef void (*queue_lost_fn)(void *arg, const struct queue_msg *m, const void *payload);

struct queue_reap_stats {
	uint32_t leases;           /* lease records of the pid */
	uint32_t requeued;         /* requests that never started, queued again */
	uint32_t lost;             /* started requests handed to the callback */
	uint32_t tombstones;       /* unpublished claims turned into tombstones */
	uint32_t released;         /* unreleased claims released */
	uint32_t blocks;           /* arena blocks freed */
	uint32_t undecided;        /* claims left alone: a live client was still about to
				    * claim the same slot after the wait (see queue.c) */
};

/* Controller: clean up after process `pid` died (call after waitpid). `c` is
 * the controller's client, used to re-queue. A request that cannot be
 * re-queued (rings full) is reported lost. Never blocks. */
int queue_reap(struct queue_client *c, pid_t pid, queue_lost_fn lost, void *arg,
	       struct queue_reap_stats *st);

/* Snapshot of an invoker's ring depth / in-flight count / online pid. */
uint32_t queue_invoker_depth(const struct queue *q, uint32_t id);
uint32_t queue_invoker_inflight(const struct queue *q, uint32_t id);
pid_t queue_invoker_pid(const struct queue *q, uint32_t id);
uint32_t queue_arena_free(const struct queue *q);

#endif
