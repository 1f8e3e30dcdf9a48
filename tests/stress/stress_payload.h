/* SPDX-License-Identifier: Apache-2.0 */
/* Payloads of the queue stress tests (processes and threads): the size of
 * message n and a checksum that ties its bytes to n, so a payload that is
 * torn, stale or delivered under another number is caught. */
#ifndef EW_TESTS_STRESS_PAYLOAD_H
#define EW_TESTS_STRESS_PAYLOAD_H

#include <stdint.h>
#include <string.h>

static inline uint64_t stress_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

/* Size of message n: 98.95% 16..1024 B, 1% up to 64 KiB, 0.05% up to 1 MiB. */
static inline uint32_t stress_size_of(uint32_t n)
{
	uint64_t h = stress_mix(n);
	uint32_t r = (uint32_t)(h % 10000);

	if (r < 5)
		return 65536 + (uint32_t)((h >> 20) % (1024 * 1024 - 65536 + 1));
	if (r < 105)
		return 1025 + (uint32_t)((h >> 20) % (65536 - 1025));
	return 16 + (uint32_t)((h >> 20) % (1024 - 16 + 1));
}

/* Checksum of everything after the first 8 bytes, seeded by the message
 * number so a payload delivered under the wrong number fails too. */
static inline uint64_t stress_checksum(uint32_t n, const unsigned char *p, uint32_t len)
{
	uint64_t h = stress_mix(n + 0x9e3779b97f4a7c15ull), w;
	uint32_t i = 8;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ull;
	}
	for (; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* Fill message n's payload; its first 8 bytes are the checksum. */
static inline void stress_fill(uint32_t n, unsigned char *p, uint32_t len)
{
	uint64_t x = stress_mix(n) | 1, h;

	for (uint32_t i = 8; i < len; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + i, &x, len - i < 8 ? len - i : 8);
	}
	h = stress_checksum(n, p, len);
	memcpy(p, &h, 8);
}

/* Is the payload message n's, whole? */
static inline int stress_payload_ok(uint32_t n, const void *payload, uint32_t len)
{
	uint64_t sum;

	if (len != stress_size_of(n))
		return 0;
	memcpy(&sum, payload, 8);
	return sum == stress_checksum(n, payload, len);
}

#endif
