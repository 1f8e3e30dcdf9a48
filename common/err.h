/* SPDX-License-Identifier: Apache-2.0 */
/* Error values that carry a message: a negative errno plus fixed text, no
 * malloc, so lower layers can describe a failure and the layer that handles
 * it logs it once. Every function accepts a NULL struct err. */
#ifndef EW_ERR_H
#define EW_ERR_H

#include <stddef.h>

#define ERR_MSG_MAX 512

struct err {
	int code;               /* negative errno, 0 when unset */
	char msg[ERR_MSG_MAX];  /* NUL-terminated UTF-8 (bad input bytes become
	                         * U+FFFD), cut on a character boundary */
};

/* Record `code` (a negative errno) and a formatted message in *e; returns
 * `code` so callers can `return err_set(e, -EINVAL, "...")`. */
int err_set(struct err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepend formatted context ("ctx: old message") to *e and return e->code
 * (or `code` when e is NULL). */
int err_wrap(struct err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Clear *e to "no error". */
void err_clear(struct err *e);

#endif
