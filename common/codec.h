/* SPDX-License-Identifier: Apache-2.0 */
/* Byte codecs every process needs: base64 (Basic auth, web action bodies,
 * /init's binary code), hex digits, percent-decoding (paths, queries,
 * forms). Pure functions over caller buffers, libc only (the static action
 * proxy links this file too). The three callers of base64 want different
 * strictness, so the decoder takes a mode rather than each keeping its own
 * copy. */
#ifndef EW_CODEC_H
#define EW_CODEC_H

#include <stdbool.h>
#include <stddef.h>

enum codec_b64_mode {
	/* RFC 4648 exactly: non-empty, padded to a multiple of 4, '=' only
	 * as the last one or two characters, zero pad bits (each text has
	 * one encoding). For credentials. */
	CODEC_B64_STRICT,
	/* Standard alphabet; padding optional, but when present it must
	 * complete the last quantum; nothing else allowed, whitespace
	 * included (java.util.Base64's decoder, which OpenWhisk uses for
	 * web action bodies). */
	CODEC_B64_PAD_OPTIONAL,
	/* MIME-tolerant: whitespace skipped, the URL-safe '-' and '_'
	 * accepted, padding not checked (action code pasted by people). */
	CODEC_B64_LENIENT,
};

/* Room codec_b64_decode needs for len input bytes (+1 for a NUL the caller
 * may add). */
#define CODEC_B64_DECODED_MAX(len) ((len) / 4 * 3 + 3)

/* Decode src[0..len) into dst, which holds CODEC_B64_DECODED_MAX(len)
 * bytes; dst may be src (decoding in place never overtakes the input).
 * Writes *out_len on success. -EINVAL when the text is not base64 of the
 * mode. No NUL is appended. */
int codec_b64_decode(const char *src, size_t len, char *dst, size_t *out_len,
		     enum codec_b64_mode mode) __attribute__((warn_unused_result));

/* Padded standard base64 of in[0..len), NUL-terminated, malloc'd (caller
 * frees); *out_len (when not NULL) is its length. NULL on ENOMEM. */
char *codec_b64_encode(const void *in, size_t len, size_t *out_len);

/* The value of one hex digit (either case), or -1. */
int codec_hex_value(unsigned char c);

/* Lower-case hex of in[0..len) into out, which holds 2 * len + 1 bytes
 * (NUL-terminated). */
void codec_hex_encode(const void *in, size_t len, char *out);

/* Decode one byte of the percent-encoded text [*p, end) into *out and
 * advance *p. Returns 1 for a byte, 0 at the end, -1 for a '%' not
 * followed by two hex digits. `plus` maps '+' to a space (queries and
 * forms; in a path '+' is itself). Decoded bytes may be NUL. */
int codec_pct_next(const char **p, const char *end, bool plus, unsigned char *out);

#endif
