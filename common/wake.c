/* SPDX-License-Identifier: Apache-2.0 */
/* Futex-backed event counter (see wake.h). */
#include "wake.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

uint32_t wake_prepare(struct wake *w)
{
	/* seq_cst on both sides of the handshake: the producer's seq bump and
	 * waiters load versus our waiters bump and seq load (Dekker). */
	atomic_fetch_add(&w->waiters, 1);
	return atomic_load(&w->seq);
}

void wake_cancel(struct wake *w)
{
	atomic_fetch_sub(&w->waiters, 1);
}

int wake_wait(struct wake *w, uint32_t token, uint32_t timeout_ms)
{
	struct timespec ts = { .tv_sec = timeout_ms / 1000,
			       .tv_nsec = (long)(timeout_ms % 1000) * 1000000L };
	long rc = 0;
	int ret = 0;

	if (timeout_ms == 0) {
		ret = atomic_load(&w->seq) == token ? -ETIMEDOUT : 0;
	} else {
		/* Relative timeout; EAGAIN = the counter already moved. */
		rc = syscall(SYS_futex, (uint32_t *)&w->seq, FUTEX_WAIT, token, &ts, NULL, 0);
		if (rc != 0) {
			if (errno == ETIMEDOUT)
				ret = -ETIMEDOUT;
			else if (errno == EINTR)
				ret = -EINTR;
		}
	}
	atomic_fetch_sub(&w->waiters, 1);
	return ret;
}

void wake_signal(struct wake *w, int n)
{
	/* Release half: the message published before this bump is visible to
	 * a consumer whose seq load observes it (paired in wake_prepare). */
	atomic_fetch_add(&w->seq, 1);
	if (atomic_load(&w->waiters) > 0)
		syscall(SYS_futex, (uint32_t *)&w->seq, FUTEX_WAKE, n > 0 ? n : INT_MAX, NULL, NULL, 0);
}

void wake_reset_waiters(struct wake *w)
{
	atomic_store(&w->waiters, 0);
}
