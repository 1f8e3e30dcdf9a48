/* SPDX-License-Identifier: Apache-2.0 */
/* UTF-8 checks and repair (see utf8.h). */
#include "common/utf8.h"

#include <stdint.h>
#include <string.h>

/* The valid range of the second byte after lead c (RFC 3629 table 3-7),
 * and the count of continuation bytes; 0 when c cannot lead. */
static size_t lead_of(unsigned char c, unsigned char *lo, unsigned char *hi)
{
	*lo = 0x80;
	*hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf)
		return 1;
	if (c >= 0xe0 && c <= 0xef) {
		if (c == 0xe0)
			*lo = 0xa0; /* overlong */
		else if (c == 0xed)
			*hi = 0x9f; /* surrogates */
		return 2;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (c == 0xf0)
			*lo = 0x90; /* overlong */
		else if (c == 0xf4)
			*hi = 0x8f; /* past U+10FFFF */
		return 3;
	}
	return 0;
}

enum seq { SEQ_WHOLE, SEQ_BAD, SEQ_CUT };

/* The maximal prefix of s[0..avail) that starts a well-formed sequence
 * (at least 1 byte, for a bad lead) in *n, and whether it is the whole
 * sequence, bad, or a good start that avail cut off. avail >= 1. */
static enum seq prefix_of(const unsigned char *s, size_t avail, size_t *n)
{
	unsigned char lo, hi;
	size_t want, k;

	*n = 1;
	if (s[0] < 0x80)
		return SEQ_WHOLE;
	want = lead_of(s[0], &lo, &hi);
	if (want == 0)
		return SEQ_BAD;
	for (k = 1; k <= want; k++) {
		if (k == avail) {
			*n = k;
			return SEQ_CUT;
		}
		if (k == 1 ? (s[k] < lo || s[k] > hi) : (s[k] & 0xc0) != 0x80) {
			*n = k;
			return SEQ_BAD;
		}
	}
	*n = k;
	return SEQ_WHOLE;
}

size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
	size_t k;

	return avail && prefix_of(s, avail, &k) == SEQ_WHOLE ? k : 0;
}

bool utf8_is_valid(const char *buf, size_t len, size_t *bad_at)
{
	const unsigned char *s = (const unsigned char *)buf;
	size_t i = 0;

	while (i < len) {
		size_t n;

		if (s[i] < 0x80) {
			uint64_t w;

			/* ASCII, the usual case, eight bytes a step. */
			while (i + 8 <= len && (memcpy(&w, s + i, 8), !(w & 0x8080808080808080ull)))
				i += 8;
			if (i < len && s[i] < 0x80)
				i++;
			continue;
		}
		n = utf8_seq_len(s + i, len - i);
		if (n == 0) {
			if (bad_at)
				*bad_at = i;
			return false;
		}
		i += n;
	}
	return true;
}

size_t utf8_scrub(const char *src, size_t len, char *dst, size_t size)
{
	static const char replacement[] = "\xef\xbf\xbd";
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0;

	if (size == 0)
		return 0;
	while (i < len) {
		size_t k, n;
		enum seq kind = prefix_of(s + i, len - i, &k);
		const char *from = src + i;

		/* A good start that the end of the text cut off: a cut. */
		if (kind == SEQ_CUT)
			break;
		n = k;
		if (kind == SEQ_BAD) {
			from = replacement;
			n = 3;
		}
		if (o + n >= size)
			break;
		memcpy(dst + o, from, n);
		o += n;
		i += k;
	}
	dst[o] = '\0';
	return o;
}
