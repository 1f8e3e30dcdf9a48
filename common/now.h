/* SPDX-License-Identifier: Apache-2.0 */
/* The clock, in the units the code uses: wall-clock milliseconds for
 * anything that leaves the process (records, queue timestamps, store
 * rows), monotonic time for intervals and deadlines. Inline because the
 * queue's hot path reads it per message; libc only, so the static action
 * proxy links it too. */
#ifndef EW_NOW_H
#define EW_NOW_H

#include <stdint.h>
#include <time.h>

/* Milliseconds since the epoch (CLOCK_REALTIME): comparable across
 * processes and restarts, may jump. */
static inline uint64_t now_epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Monotonic nanoseconds (CLOCK_MONOTONIC): for intervals only; shared
 * across processes of one boot. */
static inline uint64_t now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t now_mono_us(void)
{
	return now_mono_ns() / 1000u;
}

static inline uint64_t now_mono_ms(void)
{
	return now_mono_ns() / 1000000u;
}

#endif
