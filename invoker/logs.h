/* SPDX-License-Identifier: Apache-2.0 */
/* Per-activation logs from a container's json-file log (the file Docker
 * writes for the container, LogPath in inspect): read from the byte offset
 * where the previous activation's logs ended until the runtime's sentinel
 * line has been seen on both stdout and stderr, so logs of one activation
 * never leak into another's across warm reuse. Lines become OpenWhisk's
 * "<time padded to 30> <stream>: <text>" strings; sentinel lines are
 * dropped; the total is cut at the activation's log limit with OpenWhisk's
 * truncation notice. */
#ifndef EW_LOGS_H
#define EW_LOGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/json.h"

#define LOGS_SENTINEL "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"

/* Reader state for one container's log file, kept across activations.
 * One collection at a time per reader (no locking inside). */
struct logs_reader {
	int fd;                  /* -1 until opened */
	uint64_t offset;         /* bytes consumed (whole lines only) */
	char *partial;           /* read buffer: bytes past offset read but not
				  * consumed (an unfinished last line, or lines
				  * after the sentinels, kept for the next
				  * activation); reused across collections */
	size_t partial_len, partial_cap;
};

/* What one collection produced. */
struct logs_result {
	cJSON *lines;            /* array of strings (caller owns; logs_result_fini) */
	size_t bytes;            /* bytes of log text kept (what counts against the limit) */
	bool truncated;          /* the limit cut it (notice appended) */
	bool complete;           /* both sentinels seen */
};

void logs_reader_init(struct logs_reader *r);
void logs_reader_fini(struct logs_reader *r);

/* Collect one activation's lines from `path` (opened on first use).
 * Reading stops right after the line of the second sentinel (r->offset
 * lands there); sentinel lines are dropped. Docker's partial records (a
 * "log" without its "\n") are joined per stream into one line stamped with
 * the first record's time; non-record lines are skipped.
 * wait_sentinels: keep polling the file (every ~1 ms) until both sentinels
 * arrived, no new byte came for idle_ms, or total_ms passed; without it read
 * what is there now (the file's size at the call) and stop, and missing
 * sentinels are no error (complete false, no notice), as upstream does for
 * blackbox actions. limit_bytes: text bytes kept (without newlines); the
 * line that would pass it is replaced by OpenWhisk's truncation notice
 * (stderr, that line's time) and later lines are dropped but still consumed
 * up to the sentinels. 0 = collect nothing, no notices either (still skip
 * to after the sentinels so the next activation starts clean). When waiting
 * gave up, or the file was truncated under us, the OpenWhisk notice "There
 * was an issue while collecting your logs. Data might be missing." is
 * appended (stream stderr, current time) and complete is false. A rotated
 * file (renamed, new one at `path`) is drained and followed. On success
 * *out is filled (release with logs_result_fini). -ENOENT/-EACCES/... when
 * the file cannot be opened or read, -ENOMEM; *out untouched then. May
 * block up to total_ms. */
int logs_collect(struct logs_reader *r, const char *path, uint64_t limit_bytes,
		 bool wait_sentinels, uint32_t idle_ms, uint32_t total_ms,
		 struct logs_result *out, struct err *e) __attribute__((warn_unused_result));

void logs_result_fini(struct logs_result *res);

/* --- pure helpers, for tests and fuzzing --- */

/* Format one json-file line ({"log":"text\n","stream":"stdout","time":"..."})
 * as OpenWhisk's "<time padded to 30> <stream>: <text without newline>".
 * Returns a malloc'd string (caller frees), or NULL when the line is not a
 * log record; *is_sentinel is set when the text ends with the sentinel and
 * *stream to 1 (stdout) or 2 (stderr). For a sentinel, nothing is returned
 * when the text is just the sentinel; text before it (output written without
 * a newline just before the runtime's sentinel) is returned formatted. */
char *logs_format_line(const char *line, size_t len, bool *is_sentinel, int *stream);

#endif
