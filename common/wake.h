/* SPDX-License-Identifier: Apache-2.0 */
/* Cross-process sleep/wake for consumers of the shared-memory rings: a
 * consumer that finds its ring empty sleeps in a futex (0% CPU) until a
 * producer signals or the timeout passes, and a producer makes a syscall
 * only when someone sleeps, once per sleep.
 *
 * The futex word is an "armed" flag. Consumer:
 *     if (try_pop()) ...; wake_arm(w); if (try_pop()) { wake_disarm(w); ... }
 *     else wake_wait(w, ms);
 * Producer: publish; wake_signal(w).
 * wake_arm and wake_signal put a seq_cst fence between their store and their
 * load (Dekker): either the consumer's retry sees the message or the producer
 * sees the flag set, clears it and wakes. A signal that clears the flag
 * before the consumer sleeps makes FUTEX_WAIT return at once (the word is no
 * longer 1), so no wake-up is lost. Signals while nobody is armed, and
 * further signals after the one that woke a sleeper, cost a fence and a load.
 * Several consumers may share a word: a wake wakes them all and each re-arms.
 * Lives in shared memory, so the futex is never FUTEX_PRIVATE_FLAG. */
#ifndef EW_WAKE_H
#define EW_WAKE_H

#include <stdatomic.h>
#include <stdint.h>

struct wake {
	_Atomic uint32_t armed;    /* 1 while a consumer is about to sleep or sleeping */
	_Atomic uint32_t signals;  /* wake-ups issued (FUTEX_WAKE calls), for tests and stats */
};

/* Announce that the caller is about to sleep; retry the pop after this. */
void wake_arm(struct wake *w);

/* The retry found work: do not sleep after all. */
void wake_disarm(struct wake *w);

/* Sleep until a signal, or timeout_ms (0 = do not sleep). Returns 0 when
 * woken (or already signalled), -ETIMEDOUT, or -EINTR on a signal handler.
 * Spurious returns are possible: callers loop. */
int wake_wait(struct wake *w, uint32_t timeout_ms);

/* After publishing: wake the armed consumers, if any. */
void wake_signal(struct wake *w);

/* Forget an armed consumer that died (supervisor only). */
void wake_reset(struct wake *w);

#endif
