/* SPDX-License-Identifier: Apache-2.0 */
/* Spawning and talking to child processes (see child.h). fork + exec rather
 * than posix_spawn because the child must move pipes onto fixed descriptor
 * numbers, chdir, and fall back to /bin/sh on ENOEXEC; the proxy is tiny and
 * single-threaded, so fork is cheap and only async-signal-safe calls run
 * between fork and exec. */
#include "runtimes/proxy/child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/now.h"

#define CHILD_READ_CHUNK (64 * 1024)

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void child_close_fds(struct child *c)
{
	close_fd(&c->in_fd);
	close_fd(&c->out_fd);
	close_fd(&c->res_fd);
}

static void child_fail(const char *what, const char *path, int err)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "ewproxy: %s %s: %s\n", what, path, strerror(err));
	if (n > 0)
		(void)!write(STDERR_FILENO, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	_exit(127);
}

/* In the child: put `fd` on descriptor `target`. fd is first moved above
 * any target number so dup2 never clobbers a pipe still to be placed, and
 * the dup2 result has close-on-exec cleared. */
static int place_fd(int fd, int target)
{
	if (fd < 0)
		return 0;
	return dup2(fd, target) < 0 ? -1 : 0;
}

static int lift_fd(int *fd)
{
	if (*fd < 0)
		return 0;
	int n = fcntl(*fd, F_DUPFD_CLOEXEC, 10);
	if (n < 0)
		return -1;
	*fd = n;
	return 0;
}

int child_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
		int pipes, struct child *out)
{
	int in[2] = { -1, -1 }, o[2] = { -1, -1 }, r[2] = { -1, -1 };
	int err = 0;

	if ((pipes & CHILD_PIPE_STDIN) && pipe2(in, O_CLOEXEC) < 0)
		goto fail;
	if ((pipes & CHILD_PIPE_STDOUT) && pipe2(o, O_CLOEXEC) < 0)
		goto fail;
	if ((pipes & CHILD_PIPE_FD3) && pipe2(r, O_CLOEXEC) < 0)
		goto fail;

	pid_t pid = fork();
	if (pid < 0)
		goto fail;
	if (pid == 0) {
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		setpgid(0, 0);
		if (lift_fd(&in[0]) < 0 || lift_fd(&o[1]) < 0 || lift_fd(&r[1]) < 0 ||
		    place_fd(in[0], 0) < 0 || place_fd(o[1], 1) < 0 || place_fd(r[1], 3) < 0)
			child_fail("set up descriptors for", path, errno);
		if (cwd && chdir(cwd) < 0)
			child_fail("chdir for", path, errno);
		execve(path, argv, envp);
		if (errno == ENOEXEC) {
			/* No "#!": run it as a shell script, as execvp would. */
			char *sh_argv[64];
			size_t n = 0;
			sh_argv[n++] = (char *)"/bin/sh";
			sh_argv[n++] = (char *)path;
			for (size_t i = 1; argv[i] && n < 63; i++)
				sh_argv[n++] = argv[i];
			sh_argv[n] = NULL;
			execve("/bin/sh", sh_argv, envp);
		}
		child_fail("exec", path, errno);
	}
	setpgid(pid, pid);  /* also in the parent, so child_kill never races the child */

	close_fd(&in[0]);
	close_fd(&o[1]);
	close_fd(&r[1]);
	if (in[1] >= 0)
		(void)fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
	out->pid = pid;
	out->in_fd = in[1];
	out->out_fd = o[0];
	out->res_fd = r[0];
	return 0;

fail:
	err = -errno;
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&o[0]);
	close_fd(&o[1]);
	close_fd(&r[0]);
	close_fd(&r[1]);
	return err;
}

int child_exchange(int *wfd, const char *data, size_t len, bool close_after, int rfd,
		   struct buf *acc, child_sink_fn sink, void *ctx, int timeout_ms)
{
	size_t off = 0;
	long deadline = timeout_ms >= 0 ? (long)now_mono_ms() + timeout_ms : 0;

	if (*wfd < 0)
		off = len;
	if (off == len && close_after)
		close_fd(wfd);
	for (;;) {
		struct pollfd p[2];
		nfds_t n = 0;
		int wait_ms = -1;
		bool writing = *wfd >= 0 && off < len;

		if (writing)
			p[n++] = (struct pollfd){ .fd = *wfd, .events = POLLOUT };
		p[n++] = (struct pollfd){ .fd = rfd, .events = POLLIN };
		if (timeout_ms >= 0) {
			long left = deadline - (long)now_mono_ms();
			if (left <= 0)
				return -ETIMEDOUT;
			wait_ms = (int)left;
		}
		int k = poll(p, n, wait_ms);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			continue;  /* the deadline check above returns */
		if (writing && p[0].revents) {
			ssize_t w = write(*wfd, data + off, len - off);
			if (w > 0) {
				off += (size_t)w;
			} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				off = len;  /* EPIPE: the child does not read its input */
			}
			if (off == len && close_after)
				close_fd(wfd);
		}
		if (p[n - 1].revents) {
			if (buf_reserve(acc, CHILD_READ_CHUNK) < 0)
				return -ENOMEM;
			size_t from = acc->len;
			ssize_t rd = read(rfd, acc->data + acc->len, CHILD_READ_CHUNK);
			if (rd < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			bool eof = rd <= 0;
			if (rd > 0) {
				acc->len += (size_t)rd;
				acc->data[acc->len] = '\0';
			}
			int s = sink(ctx, acc, from, eof);
			if (s != 0)
				return s;
			if (eof)
				return -EPIPE;
		}
	}
}

int child_write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

bool child_try_reap(struct child *c, int *status)
{
	if (c->pid < 0)
		return false;
	int st;
	pid_t r = waitpid(c->pid, &st, WNOHANG);
	if (r == c->pid || (r < 0 && errno == ECHILD)) {
		c->pid = -1;
		if (status)
			*status = r < 0 ? 0 : st;
		return true;
	}
	return false;
}

int child_wait(struct child *c)
{
	int st = -1;
	child_close_fds(c);
	if (c->pid < 0)
		return -1;
	while (waitpid(c->pid, &st, 0) < 0) {
		if (errno != EINTR) {
			st = 0;
			break;
		}
	}
	c->pid = -1;
	return st;
}

void child_kill(struct child *c)
{
	if (c->pid > 0) {
		kill(-c->pid, SIGKILL);
		kill(c->pid, SIGKILL);
	}
	(void)child_wait(c);
}
