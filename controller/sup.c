/* SPDX-License-Identifier: Apache-2.0 */
/* Invoker supervision (see sup.h). A thread sleeps in poll(2) on a pidfd
 * per invoker (readable once it exits) and an eventfd for the stop, with
 * the next restart as its only deadline: no SIGCHLD handler races with the
 * HTTP threads, and an idle board is not woken. Kernels without
 * pidfd_open (before 5.3) fall back to a look every second. */
#include "controller/sup.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/now.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 10000
#define STABLE_MS 30000
#define FALLBACK_POLL_MS 1000        /* without pidfds */

struct slot {
	struct sup_invoker_state st;
	uint64_t backoff_ms;
	uint64_t restart_at_ms;      /* when down: when to start again */
	int pidfd;                   /* of st.pid, -1 when none */
};

struct sup {
	struct sup_config cfg;
	char invoker_path[PATH_MAX];
	pthread_mutex_t lock;
	pthread_t thread;
	_Atomic bool stop;
	int stop_fd;                 /* eventfd: written by sup_stop */
	struct slot *slots;
};

static int spawn(struct sup *s, uint32_t id, pid_t *pid_out)
{
	char idbuf[16], cpubuf[16];
	pid_t pid;

	snprintf(idbuf, sizeof(idbuf), "%u", id);
	snprintf(cpubuf, sizeof(cpubuf), "%u", cfg_invoker_cpu(s->cfg.cfg, id));
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		sigset_t none;

		/* The controller may block signals in its threads: start clean. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execl(s->invoker_path, s->invoker_path, "--id", idbuf, "--cpu", cpubuf, "-c",
		      s->cfg.config_path, (char *)NULL);
		fprintf(stderr, "edgewhisk-controller: exec %s: %s\n", s->invoker_path, strerror(errno));
		_exit(127);
	}
	*pid_out = pid;
	return 0;
}

static void start_one(struct sup *s, uint32_t id)
{
	struct slot *sl = &s->slots[id];
	pid_t pid = 0;
	int rc = spawn(s, id, &pid);

	if (rc < 0) {
		log_error("sup", "start invoker %u: %s", id, strerror(-rc));
		sl->restart_at_ms = now_mono_ms() + sl->backoff_ms;
		return;
	}
	sl->st.pid = pid;
	sl->st.up_since_ms = now_mono_ms();
	sl->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	log_info("sup", "invoker %u started pid=%d cpu=%u", id, (int)pid, cfg_invoker_cpu(s->cfg.cfg, id));
}

/* Sleep until an invoker exits, the stop, or the first restart is due. */
static void wait_event(struct sup *s)
{
	struct pollfd fds[1 + 64];
	uint64_t now = now_mono_ms(), due = 0;
	int n = 0, timeout;
	bool blind = s->stop_fd < 0;   /* no way to be woken: look every second */

	fds[n++] = (struct pollfd){ .fd = s->stop_fd, .events = POLLIN };
	pthread_mutex_lock(&s->lock);
	for (uint32_t i = 0; i < s->cfg.count; i++) {
		const struct slot *sl = &s->slots[i];

		if (sl->st.pid == 0) {
			if (!due || sl->restart_at_ms < due)
				due = sl->restart_at_ms;
		} else if (sl->pidfd >= 0 && n < (int)(sizeof(fds) / sizeof(fds[0]))) {
			fds[n++] = (struct pollfd){ .fd = sl->pidfd, .events = POLLIN };
		} else {
			blind = true;
		}
	}
	pthread_mutex_unlock(&s->lock);
	timeout = due ? (due > now ? (int)(due - now) : 0) : -1;
	if (blind && (timeout < 0 || timeout > FALLBACK_POLL_MS))
		timeout = FALLBACK_POLL_MS;
	(void)poll(fds, (nfds_t)n, timeout);
}

static void *sup_main(void *arg)
{
	struct sup *s = arg;

	while (!atomic_load(&s->stop)) {
		uint64_t now;
		int status;
		pid_t pid;

		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (uint32_t i = 0; i < s->cfg.count; i++) {
				struct slot *sl = &s->slots[i];
				uint64_t up;

				pthread_mutex_lock(&s->lock);
				if (sl->st.pid != pid) {
					pthread_mutex_unlock(&s->lock);
					continue;
				}
				up = now_mono_ms() - sl->st.up_since_ms;
				sl->st.pid = 0;
				if (sl->pidfd >= 0)
					close(sl->pidfd);
				sl->pidfd = -1;
				sl->st.up_since_ms = 0;
				sl->st.last_status = status;
				sl->st.restarts++;
				sl->backoff_ms = up >= STABLE_MS ? BACKOFF_MIN_MS
					       : sl->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
					       : sl->backoff_ms * 2;
				sl->restart_at_ms = now_mono_ms() + sl->backoff_ms;
				pthread_mutex_unlock(&s->lock);
				if (WIFSIGNALED(status))
					log_warn("sup", "invoker %u pid=%d killed by signal %d; restart in %llu ms",
						 i, (int)pid, WTERMSIG(status),
						 (unsigned long long)sl->backoff_ms);
				else
					log_warn("sup", "invoker %u pid=%d exited with %d; restart in %llu ms", i,
						 (int)pid, WEXITSTATUS(status),
						 (unsigned long long)sl->backoff_ms);
				if (s->cfg.died)
					s->cfg.died(s->cfg.arg, i, pid, status);
			}
		}
		now = now_mono_ms();
		for (uint32_t i = 0; i < s->cfg.count; i++) {
			struct slot *sl = &s->slots[i];

			pthread_mutex_lock(&s->lock);
			if (sl->st.pid == 0 && now >= sl->restart_at_ms && !atomic_load(&s->stop))
				start_one(s, i);
			pthread_mutex_unlock(&s->lock);
		}
		if (!atomic_load(&s->stop))
			wait_event(s);
	}
	return NULL;
}

static int find_invoker(char *buf, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n < 0)
		return -errno;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	if ((size_t)snprintf(buf, size, "%s/edgewhisk-invoker", self) >= size)
		return -ENAMETOOLONG;
	return access(buf, X_OK) == 0 ? 0 : -errno;
}

int sup_start(const struct sup_config *c, struct sup **out, struct err *e)
{
	struct sup *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return err_set(e, -ENOMEM, "allocate supervisor");
	s->cfg = *c;
	if (c->invoker_path)
		rc = snprintf(s->invoker_path, sizeof(s->invoker_path), "%s", c->invoker_path) <
				     (int)sizeof(s->invoker_path) ? 0 : -ENAMETOOLONG;
	else
		rc = find_invoker(s->invoker_path, sizeof(s->invoker_path));
	if (rc < 0) {
		free(s);
		return err_set(e, rc, "find edgewhisk-invoker beside the controller: %s", strerror(-rc));
	}
	s->slots = calloc(c->count ? c->count : 1, sizeof(*s->slots));
	if (!s->slots) {
		free(s);
		return err_set(e, -ENOMEM, "allocate supervisor");
	}
	pthread_mutex_init(&s->lock, NULL);
	s->stop_fd = eventfd(0, EFD_CLOEXEC);
	for (uint32_t i = 0; i < c->count; i++) {
		s->slots[i].backoff_ms = BACKOFF_MIN_MS;
		s->slots[i].pidfd = -1;
		start_one(s, i);
	}
	if (pthread_create(&s->thread, NULL, sup_main, s) != 0) {
		s->thread = 0;
		sup_stop(s, 1000);
		return err_set(e, -EAGAIN, "start the supervisor thread");
	}
	*out = s;
	return 0;
}

void sup_stop(struct sup *s, uint32_t timeout_ms)
{
	uint64_t until;

	if (!s)
		return;
	atomic_store(&s->stop, true);
	if (s->stop_fd >= 0 && write(s->stop_fd, &(uint64_t){ 1 }, sizeof(uint64_t)) < 0)
		log_warn("sup", "wake the supervisor: %s", strerror(errno));
	if (s->thread)
		pthread_join(s->thread, NULL);
	for (uint32_t i = 0; i < s->cfg.count; i++)
		if (s->slots[i].st.pid > 0)
			kill(s->slots[i].st.pid, SIGTERM);
	until = now_mono_ms() + timeout_ms;
	for (;;) {
		bool left = false;

		for (uint32_t i = 0; i < s->cfg.count; i++) {
			struct slot *sl = &s->slots[i];
			int status;

			if (sl->st.pid <= 0)
				continue;
			if (waitpid(sl->st.pid, &status, WNOHANG) == sl->st.pid)
				sl->st.pid = 0;
			else
				left = true;
		}
		if (!left)
			break;
		if (now_mono_ms() >= until) {
			for (uint32_t i = 0; i < s->cfg.count; i++) {
				struct slot *sl = &s->slots[i];

				if (sl->st.pid <= 0)
					continue;
				log_warn("sup", "invoker %u pid=%d did not stop in time: SIGKILL", i,
					 (int)sl->st.pid);
				kill(sl->st.pid, SIGKILL);
				waitpid(sl->st.pid, NULL, 0);
				sl->st.pid = 0;
			}
			break;
		}
		usleep(20000);
	}
	for (uint32_t i = 0; i < s->cfg.count; i++)
		if (s->slots[i].pidfd >= 0)
			close(s->slots[i].pidfd);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	pthread_mutex_destroy(&s->lock);
	free(s->slots);
	free(s);
}

int sup_state(struct sup *s, uint32_t id, struct sup_invoker_state *out)
{
	if (id >= s->cfg.count)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	*out = s->slots[id].st;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

