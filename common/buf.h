/* SPDX-License-Identifier: Apache-2.0 */
/* Growable byte buffer (the action proxy, the scanner's quoting): request
 * bodies, child output, response text. Always NUL-terminated after `len`
 * bytes (when data != NULL) so callers may treat the contents as a C string. Growth is bounded by the
 * caller's checks, never by this module: sizes from the network are checked
 * against a limit before buf_reserve. Not thread-safe (the proxy has one). */
#ifndef EW_BUF_H
#define EW_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;    /* owned; NULL until the first reserve */
	size_t len;    /* bytes in use */
	size_t cap;    /* bytes allocated, excluding the NUL slot */
};

#define BUF_INIT { NULL, 0, 0 }

/* Make room for `extra` more bytes (+ NUL). Returns 0 or -ENOMEM (allocation
 * failure or size overflow); *b is unchanged on failure. */
int buf_reserve(struct buf *b, size_t extra) __attribute__((warn_unused_result));

/* Append n bytes. 0 or -ENOMEM. */
int buf_append(struct buf *b, const void *p, size_t n) __attribute__((warn_unused_result));

/* Append a NUL-terminated string. 0 or -ENOMEM. */
int buf_puts(struct buf *b, const char *s) __attribute__((warn_unused_result));

/* Append formatted text. 0, -ENOMEM, or -EINVAL on a format error. */
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), warn_unused_result));

/* Drop the first n bytes (n <= len), keeping the rest. */
void buf_consume(struct buf *b, size_t n);

/* Set len to 0, keeping the allocation unless it exceeds keep_bytes (then it
 * is freed, so one 48 MB /init does not pin 48 MB for the container's life). */
void buf_clear(struct buf *b, size_t keep_bytes);

/* Free the storage; accepts an empty or zeroed buffer. */
void buf_fini(struct buf *b);

/* For __attribute__((cleanup)): `_cleanup_buf_ struct buf b = BUF_INIT;` */
static inline void buf_finip(struct buf *b)
{
	buf_fini(b);
}
#define _cleanup_buf_ __attribute__((cleanup(buf_finip)))

#endif
