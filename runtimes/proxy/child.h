/* SPDX-License-Identifier: Apache-2.0 */
/* Child processes of the action proxy: spawn with pipes on stdin, stdout and
 * fd 3, feed input while collecting output without deadlocking on full
 * pipes, and kill/reap. Every descriptor the proxy opens is close-on-exec,
 * so a child sees only 0, 1, 2 and (when asked) 3. */
#ifndef EW_CHILD_H
#define EW_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/buf.h"

enum child_pipes {
	CHILD_PIPE_STDIN = 1,   /* child's stdin is a pipe from us (else /dev/null-ish: inherited) */
	CHILD_PIPE_STDOUT = 2,  /* child's stdout is a pipe to us (else inherited) */
	CHILD_PIPE_FD3 = 4,     /* child's fd 3 is a pipe to us */
};

struct child {
	pid_t pid;    /* -1 when no process */
	int in_fd;    /* write end of the child's stdin, or -1 */
	int out_fd;   /* read end of the child's stdout, or -1 */
	int res_fd;   /* read end of the child's fd 3, or -1 */
};

#define CHILD_INIT { -1, -1, -1, -1 }

/* Start path with argv/envp in directory cwd (NULL: ours), in its own process
 * group, with SIGPIPE and the signal mask reset. A script without "#!" is run
 * by /bin/sh, as execvp does. stderr is always inherited. Fills *out on
 * success; 0 or a negative errno (exec failures show up as exit status 127
 * with a message on stderr). */
int child_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
		int pipes, struct child *out) __attribute__((warn_unused_result));

/* Called after each read with everything accumulated in acc; bytes from
 * new_from on are new. eof is true once, when the read side closed. Returns
 * 0 to keep reading, or a non-zero value that child_exchange returns. The
 * sink may consume (shrink) acc. */
typedef int (*child_sink_fn)(void *ctx, struct buf *acc, size_t new_from, bool eof);

/* Write data[0..len) to *wfd (closing it and setting -1 afterwards when
 * close_after; a child that stops reading just loses the rest) while reading
 * rfd into acc and calling sink. Returns the sink's non-zero value,
 * -ETIMEDOUT after timeout_ms (< 0: none) without one, or a negative errno.
 * May block up to the timeout. */
int child_exchange(int *wfd, const char *data, size_t len, bool close_after, int rfd,
		   struct buf *acc, child_sink_fn sink, void *ctx, int timeout_ms);

/* Write all of data to fd, retrying EINTR and partial writes (used for
 * stdout/stderr forwarding). 0 or a negative errno. */
int child_write_all(int fd, const char *data, size_t len);

/* Reap c->pid without blocking. Returns true (and *status) when it has
 * exited; c->pid becomes -1 then. */
bool child_try_reap(struct child *c, int *status);

/* Wait for c->pid to exit (blocking) and close c's descriptors. Returns the
 * wait status, or -1 when there was no process. */
int child_wait(struct child *c);

/* SIGKILL c's process group, reap it and close its descriptors. Accepts an
 * empty child. */
void child_kill(struct child *c);

/* Close c's pipe descriptors (the process is left alone). */
void child_close_fds(struct child *c);

#endif
