/* SPDX-License-Identifier: Apache-2.0 */
/* UTF-8 (RFC 3629) checks and repair, libc only. cJSON and snprintf pass
 * bytes through, so text that quotes a client's input (an error message,
 * a log line) is scrubbed here before it is served as JSON: invalid
 * sequences become U+FFFD and a cut never splits a character. */
#ifndef EW_UTF8_H
#define EW_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length (1-4) of the well-formed sequence at s[0..avail), or 0 when it is
 * not one: a stray continuation byte, an overlong form, a surrogate,
 * beyond U+10FFFF, or cut off by avail. */
size_t utf8_seq_len(const unsigned char *s, size_t avail);

/* Whether s[0..len) is well-formed UTF-8. On false, *bad_at (when not
 * NULL) is the offset of the first bad sequence. */
bool utf8_is_valid(const char *s, size_t len, size_t *bad_at);

/* Copy s[0..len) into dst (size bytes, NUL-terminated, size >= 1) as
 * well-formed UTF-8: each maximal invalid subpart becomes U+FFFD, a
 * sequence cut off by the end of s is dropped (that is a cut, not bad
 * input), and when dst is too small the copy ends on a character
 * boundary. Returns the bytes written, without the NUL. */
size_t utf8_scrub(const char *s, size_t len, char *dst, size_t size);

#endif
