/* SPDX-License-Identifier: Apache-2.0 */
/* The acknowledgement log: activations the controller acknowledged (a 202
 * with their id) before their record exists. One line per activation is
 * appended, with one write(2), to a segment file in the state dir before
 * the 202 goes out; once its final record is committed to the store the
 * line is obsolete, and a segment whose lines are all obsolete is removed.
 * After a crash, acklog_recover() hands back every line whose activation
 * has no record, and the controller records it as failed.
 *
 * Why not an unfinished row in SQLite per activation: that is one more
 * transaction, four 4 KiB WAL frames, for each acknowledged call, where
 * this is ~150 bytes appended to a file that is usually removed before the
 * kernel writes it back. A write(2) that returned survives a crash of the
 * controller exactly as a SQLite commit at synchronous=NORMAL does (both
 * sit in the page cache); neither survives a power loss before writeback.
 *
 * Segments: <dir>/acks-<N>.log, N counting up; a new one after 256 KiB.
 * Thread-safe (one mutex; a write per accept). */
#ifndef EW_ACKLOG_H
#define EW_ACKLOG_H

#include <stdint.h>

#include "common/err.h"
#include "controller/entity.h"

struct acklog;

/* Open the log in dir (which exists). Segments left by an earlier run are
 * not touched (acklog_recover() first). -errno of the directory. */
int acklog_open(const char *dir, struct acklog **out, struct err *e)
	__attribute__((warn_unused_result));
/* Close; segments whose lines are all released are removed. */
void acklog_close(struct acklog *l);

/* Append the line of an activation about to be acknowledged; *ticket
 * names it for cancel/release. -ENOSPC (nothing appended: a short write is
 * cut back off), -EIO, -EINVAL for a string of info holding a control
 * character, -ENOMEM. */
int acklog_accept(struct acklog *l, const struct entity_activation_info *info, uint64_t start_ms,
		  uint64_t *ticket, struct err *e) __attribute__((warn_unused_result));

/* The activation was refused after all (never queued): its line must not
 * come back from recovery. */
void acklog_cancel(struct acklog *l, uint64_t ticket, const char *activation_id);

/* Its final record is committed: the line is obsolete. */
void acklog_release(struct acklog *l, uint64_t ticket);

/* Segments open now (tests). */
uint32_t acklog_segments(struct acklog *l);

/* Called for each line of an earlier run, oldest first, whose activation
 * was not cancelled; `info` is valid during the call. Non-zero stops. Then
 * once with info NULL, before the files are removed: make what the calls
 * wrote durable. */
typedef int (*acklog_entry_fn)(void *arg, const struct entity_activation_info *info,
			       uint64_t start_ms);

/* Read every segment in dir, hand its live lines to fn, then remove the
 * segments (kept when fn failed: its error is returned). A cut-off last
 * line is skipped; so are malformed ones (counted in *bad). *entries gets
 * how many lines went to fn. 0 when there is no segment. */
int acklog_recover(const char *dir, acklog_entry_fn fn, void *arg, uint32_t *entries,
		   uint32_t *bad, struct err *e) __attribute__((warn_unused_result));

#endif
