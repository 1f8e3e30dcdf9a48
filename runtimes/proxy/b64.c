/* SPDX-License-Identifier: Apache-2.0 */
/* Base64 decoder (see b64.h). Table-free: the alphabet is mapped by range
 * checks, which is plenty fast for one decode per container. */
#include "b64.h"

#include <errno.h>
#include <stdint.h>

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int b64_decode(const char *src, size_t len, char *dst, size_t *out_len)
{
	uint32_t acc = 0;
	int nbits = 0, pad = 0;
	size_t o = 0, syms = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		int v = b64_val(c);
		if (v < 0 || pad)
			return -EINVAL;
		acc = (acc << 6) | (uint32_t)v;
		nbits += 6;
		syms++;
		if (nbits >= 8) {
			nbits -= 8;
			/* o <= i * 3 / 4, so writing dst[o] never clobbers unread input. */
			dst[o++] = (char)((acc >> nbits) & 0xFF);
		}
	}
	if (syms % 4 == 1 || pad > 2)
		return -EINVAL;
	*out_len = o;
	return 0;
}
