/* SPDX-License-Identifier: Apache-2.0 */
/* Base64 decoding for /init's `binary` code (RFC 4648 standard alphabet and
 * the URL-safe one). Whitespace is skipped, padding is optional. */
#ifndef EW_B64_H
#define EW_B64_H

#include <stddef.h>

/* Decode src[0..len) into dst, which needs len * 3 / 4 + 3 bytes and may
 * equal src (decoding in place: output never overtakes input). Writes
 * *out_len. 0, or -EINVAL on a character outside the alphabet, data after
 * padding, or a dangling single symbol. */
int b64_decode(const char *src, size_t len, char *dst, size_t *out_len)
	__attribute__((warn_unused_result));

#endif
