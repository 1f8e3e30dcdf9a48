/* SPDX-License-Identifier: Apache-2.0 */
/* Futex-backed armed flag (see wake.h for the protocol). The word carries
 * no data: a woken consumer retries its pop, whose acquire of the ring
 * slot's seq (ring.c) orders the message. So every access to `armed` is
 * relaxed, and the two seq_cst fences (arm, signal) are the one pair that
 * matters: Dekker's, so no wake-up is lost. */
#include "common/wake.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void wake_arm(struct wake *w)
{
	atomic_store_explicit(&w->armed, 1, memory_order_relaxed);
	/* Pairs with the fence in wake_signal(): our store before our retry's
	 * loads, their publish before their load of `armed`. */
	atomic_thread_fence(memory_order_seq_cst);
}

void wake_disarm(struct wake *w)
{
	/* Clearing another sleeper's flag is harmless: its FUTEX_WAIT sees 0
	 * and returns, and it re-arms. */
	atomic_store_explicit(&w->armed, 0, memory_order_relaxed);
}

int wake_wait(struct wake *w, uint32_t timeout_ms)
{
	struct timespec ts = { .tv_sec = timeout_ms / 1000,
			       .tv_nsec = (long)(timeout_ms % 1000) * 1000000L };

	/* Relaxed: whether a signal cleared the flag, nothing more. */
	if (timeout_ms == 0)
		return atomic_load_explicit(&w->armed, memory_order_relaxed) ? -ETIMEDOUT : 0;
	/* Sleeps only while the word is still 1 (armed, not yet signalled). */
	if (syscall(SYS_futex, (uint32_t *)&w->armed, FUTEX_WAIT, 1, &ts, NULL, 0) == 0)
		return 0;
	if (errno == ETIMEDOUT)
		return -ETIMEDOUT;
	if (errno == EINTR)
		return -EINTR;
	return 0; /* EAGAIN: already signalled */
}

void wake_signal(struct wake *w)
{
	/* Pairs with the fence in wake_arm(): our publish (a release store of
	 * the slot's seq, before this) precedes our load of `armed`. */
	atomic_thread_fence(memory_order_seq_cst);
	/* Relaxed: the cheap test first; ordered by the fence above. */
	if (atomic_load_explicit(&w->armed, memory_order_relaxed) == 0)
		return;
	/* Relaxed: atomicity picks the one producer that wakes. */
	if (atomic_exchange_explicit(&w->armed, 0, memory_order_relaxed) == 0)
		return; /* another producer got there first and wakes */
	/* Relaxed: a counter for tests and stats. */
	atomic_fetch_add_explicit(&w->signals, 1, memory_order_relaxed);
	syscall(SYS_futex, (uint32_t *)&w->armed, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

void wake_reset(struct wake *w)
{
	/* Relaxed: the sleeper is dead and the word carries no data. */
	atomic_store_explicit(&w->armed, 0, memory_order_relaxed);
}
