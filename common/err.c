/* SPDX-License-Identifier: Apache-2.0 */
/* Fixed-buffer error messages (see err.h). */
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/utf8.h"

/* Messages quote input and snprintf cuts at a byte: keep them valid
 * UTF-8, cut on a character boundary. */
static void scrub(struct err *e)
{
	char raw[ERR_MSG_MAX];

	memcpy(raw, e->msg, sizeof(raw));
	utf8_scrub(raw, strnlen(raw, sizeof(raw)), e->msg, sizeof(e->msg));
}

int err_set(struct err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	scrub(e);
	return code;
}

int err_wrap(struct err *e, int code, const char *fmt, ...)
{
	char old[ERR_MSG_MAX];
	va_list ap;
	int n;

	if (!e)
		return code;
	if (e->code == 0)
		e->code = code;
	memcpy(old, e->msg, sizeof(old));
	va_start(ap, fmt);
	n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n + 2 < sizeof(e->msg)) {
		/* Append ": old", truncated to fit; truncation is expected. */
		size_t pos = (size_t)n, room = sizeof(e->msg) - pos - 3, len = strlen(old);

		if (len > room)
			len = room;
		e->msg[pos++] = ':';
		e->msg[pos++] = ' ';
		memcpy(e->msg + pos, old, len);
		e->msg[pos + len] = '\0';
	}
	scrub(e);
	return e->code;
}

void err_clear(struct err *e)
{
	if (!e)
		return;
	e->code = 0;
	e->msg[0] = '\0';
}
