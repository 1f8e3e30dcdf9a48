/* SPDX-License-Identifier: Apache-2.0 */
/* Byte codecs (see codec.h). Table-free base64: the alphabet is mapped by
 * range checks, plenty fast for a header or one body per request. */
#include "common/codec.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(unsigned char c, bool url_safe)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || (url_safe && c == '-'))
		return 62;
	if (c == '/' || (url_safe && c == '_'))
		return 63;
	return -1;
}

static bool is_b64_space(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

int codec_b64_decode(const char *src, size_t len, char *dst, size_t *out_len,
		     enum codec_b64_mode mode)
{
	bool lenient = mode == CODEC_B64_LENIENT;
	uint32_t acc = 0;
	size_t o = 0, syms = 0, pad = 0;
	int nbits = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];
		int v;

		if (lenient && is_b64_space(c))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		v = b64_value(c, lenient);
		/* Data after '=' is never base64. */
		if (v < 0 || pad)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)v;
		nbits += 6;
		syms++;
		if (nbits >= 8) {
			nbits -= 8;
			/* o <= i * 3 / 4: writing dst[o] never clobbers unread input. */
			dst[o++] = (char)(acc >> nbits & 0xff);
		}
	}
	if (pad > 2 || syms % 4 == 1)
		return -EINVAL;
	switch (mode) {
	case CODEC_B64_STRICT:
		if (syms == 0 || (syms + pad) % 4 != 0 || (acc & ((1u << nbits) - 1)) != 0)
			return -EINVAL;
		break;
	case CODEC_B64_PAD_OPTIONAL:
		if (pad && (syms + pad) % 4 != 0)
			return -EINVAL;
		break;
	case CODEC_B64_LENIENT:
		break;
	}
	*out_len = o;
	return 0;
}

char *codec_b64_encode(const void *in, size_t len, size_t *out_len)
{
	const unsigned char *b = in;
	char *out = malloc(len / 3 * 4 + 5), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)b[i] << 16 | (i + 1 < len ? (uint32_t)b[i + 1] << 8 : 0) |
			     (i + 2 < len ? b[i + 2] : 0);

		/* Characters 2 and 3 exist only when input byte k - 1 does. */
		for (int k = 0; k < 4; k++)
			*o++ = k < 2 || i + (size_t)k - 1 < len ? b64_alphabet[v >> (18 - 6 * k) & 63]
								: '=';
	}
	*o = '\0';
	if (out_len)
		*out_len = (size_t)(o - out);
	return out;
}

int codec_hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void codec_hex_encode(const void *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *b = in;

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * len] = '\0';
}

int codec_pct_next(const char **p, const char *end, bool plus, unsigned char *out)
{
	const char *s = *p;
	int hi, lo;

	if (s >= end)
		return 0;
	if (*s != '%') {
		*out = plus && *s == '+' ? ' ' : (unsigned char)*s;
		*p = s + 1;
		return 1;
	}
	if (end - s < 3 || (hi = codec_hex_value((unsigned char)s[1])) < 0 ||
	    (lo = codec_hex_value((unsigned char)s[2])) < 0)
		return -1;
	*out = (unsigned char)(hi << 4 | lo);
	*p = s + 3;
	return 1;
}
