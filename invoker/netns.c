/* SPDX-License-Identifier: Apache-2.0 */
/* Container network namespaces (see netns.h). */
#include "invoker/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/file.h"

#define CGROUP_READ_MAX 65536 /* /proc/<pid>/cgroup: one line per hierarchy */

static const char *cap_hint(int rc)
{
	return rc == -EPERM || rc == -EACCES
		       ? " (the invoker needs CAP_SYS_ADMIN, and CAP_SYS_PTRACE when not root)"
		       : "";
}

/* Does the cgroup file under `dfd` name `id`? Docker puts each container
 * in a cgroup named after its full id, whatever the driver: "/docker/<id>"
 * or "/system.slice/docker-<id>.scope". */
static int in_container(int dfd, const char *id)
{
	char *buf = NULL;
	int rc = file_read_all_at(dfd, "cgroup", CGROUP_READ_MAX, &buf, NULL);

	if (rc < 0)
		return rc;
	rc = strstr(buf, id) ? 0 : -ESRCH;
	free(buf);
	return rc;
}

int netns_open(int pid, const char *container_id, int *fd_out, struct err *e)
{
	char path[32];
	int dfd, fd, rc;

	if (pid <= 0 || !container_id || strlen(container_id) < 12 || !fd_out)
		return err_set(e, -EINVAL, "network namespace: invalid pid %d or container id", pid);
	snprintf(path, sizeof(path), "/proc/%d", pid);
	/* The directory handle stays bound to the process found now: both
	 * files below are that process's, or the calls fail with ESRCH. */
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		rc = errno == ENOENT ? -ESRCH : -errno;
		return err_set(e, rc, "open %s: %s", path, strerror(-rc));
	}
	rc = in_container(dfd, container_id);
	if (rc < 0) {
		close(dfd);
		if (rc == -ESRCH)
			return err_set(e, rc, "process %d is not in container %.12s (it exited?)", pid,
				       container_id);
		return err_set(e, rc, "read %s/cgroup: %s", path, strerror(-rc));
	}
	fd = openat(dfd, "ns/net", O_RDONLY | O_CLOEXEC);
	rc = fd < 0 ? (errno == ENOENT ? -ESRCH : -errno) : 0;
	close(dfd);
	if (rc < 0)
		return err_set(e, rc, "open %s/ns/net: %s%s", path, strerror(-rc), cap_hint(rc));
	*fd_out = fd;
	return 0;
}

struct ns_call {
	int nsfd;
	int domain, type, protocol;
	int fd;          /* out */
	int rc;          /* out: 0, or -errno */
	const char *what; /* out: the call that failed */
};

/* The thread exits right after, so it never has to find its way back to
 * the invoker's namespace. */
static void *ns_thread(void *p)
{
	struct ns_call *c = p;

	if (setns(c->nsfd, CLONE_NEWNET) < 0) {
		c->rc = -errno;
		c->what = "setns";
		return NULL;
	}
	if (c->domain < 0)
		return NULL;  /* netns_check: entering was the test */
	c->fd = socket(c->domain, c->type, c->protocol);
	if (c->fd < 0) {
		c->rc = -errno;
		c->what = "socket";
	}
	return NULL;
}

static int ns_run(struct ns_call *c)
{
	pthread_t th;
	int rc = pthread_create(&th, NULL, ns_thread, c);

	if (rc != 0) {
		c->what = "start a thread";
		return -rc;
	}
	pthread_join(th, NULL);
	return c->rc;
}

int netns_socket(int nsfd, int domain, int type, int protocol, int *fd_out, struct err *e)
{
	struct ns_call c = { .nsfd = nsfd, .domain = domain, .type = type,
			     .protocol = protocol, .fd = -1 };
	int rc;

	if (domain < 0 || !fd_out)
		return err_set(e, -EINVAL, "socket in a namespace: invalid arguments");
	if (nsfd < 0) {
		int fd = socket(domain, type, protocol);

		if (fd < 0)
			return err_set(e, -errno, "socket: %s", strerror(errno));
		*fd_out = fd;
		return 0;
	}
	rc = ns_run(&c);
	if (rc < 0)
		return err_set(e, rc, "socket in the container's network namespace: %s: %s%s",
			       c.what, strerror(-rc), cap_hint(rc));
	*fd_out = c.fd;
	return 0;
}

int netns_check(struct err *e)
{
	struct ns_call c = { .domain = -1, .fd = -1 };
	int rc;

	c.nsfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (c.nsfd < 0)
		return err_set(e, -errno, "open /proc/self/ns/net: %s", strerror(errno));
	rc = ns_run(&c);
	close(c.nsfd);
	if (rc < 0)
		return err_set(e, rc, "cannot enter a network namespace: %s: %s%s", c.what,
			       strerror(-rc), cap_hint(rc));
	return 0;
}
