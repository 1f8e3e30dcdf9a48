/* SPDX-License-Identifier: Apache-2.0 */
/* Cross-process sleep/wake on a 32-bit event counter with a futex, for
 * consumers of the shared-memory rings. A consumer that finds its ring empty
 * sleeps (0% CPU) until a producer signals or the timeout passes; a producer
 * makes a syscall only when someone sleeps. Lives in shared memory, so the
 * futex is never FUTEX_PRIVATE_FLAG.
 *
 * Consumer:  t = wake_prepare(w); if (try_pop()) { wake_cancel(w); ... }
 *            else wake_wait(w, t, ms);   (wake_wait also ends the wait)
 * Producer:  publish; wake_signal(w);
 * wake_prepare registers as waiter and reads the counter (seq_cst) before the
 * consumer's last try, so a publish after that try changes the counter and
 * the futex wait returns at once: no lost wake-ups. */
#ifndef EW_WAKE_H
#define EW_WAKE_H

#include <stdatomic.h>
#include <stdint.h>

struct wake {
	_Atomic uint32_t seq;      /* bumped by every signal; the futex word */
	_Atomic uint32_t waiters;  /* consumers between prepare and wait/cancel */
};

/* Register as a waiter; returns the token to pass to wake_wait(). */
uint32_t wake_prepare(struct wake *w);

/* Unregister without sleeping (the retry found work). */
void wake_cancel(struct wake *w);

/* Sleep until the counter moves away from `token`, a signal, or timeout_ms
 * passes (0 = do not sleep). Unregisters. Returns 0 when woken or the
 * counter had moved, -ETIMEDOUT on timeout, -EINTR on a signal. */
int wake_wait(struct wake *w, uint32_t token, uint32_t timeout_ms);

/* Bump the counter; wake up to `n` sleepers when any are registered. */
void wake_signal(struct wake *w, int n);

/* Forget waiters (the supervisor, after the only process that waits on this
 * word died while registered). */
void wake_reset_waiters(struct wake *w);

#endif
