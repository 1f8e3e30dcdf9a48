/* SPDX-License-Identifier: Apache-2.0 */
/* Line logger: `ts level process[pid] module: message`, one write(2) per line
 * so lines from several processes never interleave. No malloc. */
#ifndef EW_LOG_H
#define EW_LOG_H

enum log_level { LOGL_ERROR, LOGL_WARN, LOGL_INFO, LOGL_DEBUG };

/* Set the process name shown in every line and the most verbose level that
 * is written. Call once at start, before other threads exist. */
void log_setup(const char *process, enum log_level level);

/* Parse "error"|"warn"|"info"|"debug"; returns -1 when unknown. */
int log_level_parse(const char *name);

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(mod, ...) log_msg(LOGL_ERROR, mod, __VA_ARGS__)
#define log_warn(mod, ...) log_msg(LOGL_WARN, mod, __VA_ARGS__)
#define log_info(mod, ...) log_msg(LOGL_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...) log_msg(LOGL_DEBUG, mod, __VA_ARGS__)

#endif
