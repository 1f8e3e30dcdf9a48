/* SPDX-License-Identifier: Apache-2.0 */
/* Stderr line logger (see log.h). Formats into a stack buffer and writes the
 * line with one write(2): atomic under PIPE_BUF for pipes and journald. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *log_process = "edgewhisk";
static enum log_level log_max = LOGL_INFO;
static const char *const log_names[] = { "error", "warn", "info", "debug" };

void log_setup(const char *process, enum log_level level)
{
	log_process = process;
	log_max = level;
}

int log_level_parse(const char *name)
{
	for (int i = 0; i < (int)(sizeof(log_names) / sizeof(log_names[0])); i++)
		if (strcmp(name, log_names[i]) == 0)
			return i;
	return -1;
}

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
	char line[512];
	struct timespec ts;
	struct tm tm;
	size_t len;
	va_list ap;
	int n;

	if (level > log_max)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s[%d] %s: ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		     tm.tm_sec, ts.tv_nsec / 1000000, log_names[level], log_process,
		     (int)getpid(), module);
	if (n < 0)
		return;
	len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	va_start(ap, fmt);
	n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	len += (size_t)n;
	if (len > sizeof(line) - 2) /* truncated: keep the newline */
		len = sizeof(line) - 2;
	line[len++] = '\n';
	/* A failed log write has nowhere to be reported; drop it. */
	if (write(STDERR_FILENO, line, len) < 0)
		return;
}
