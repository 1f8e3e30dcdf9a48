/* SPDX-License-Identifier: Apache-2.0 */
/* Reaching an action container through its own network namespace, so no
 * port is published on the host and no docker-proxy runs: the invoker holds
 * a handle on the container's namespace and creates each socket inside it,
 * on a short-lived thread that enters the namespace, makes the socket and
 * exits. A socket keeps the namespace it was made in, so the connect and
 * every later read and write happen on the caller's thread as before, and no
 * thread that entered a container's namespace ever serves anything else.
 * Needs CAP_SYS_ADMIN (setns) and, when the invoker is not root, CAP_SYS_PTRACE
 * (opening another user's /proc/<pid>/ns/net): see deploy/systemd. */
#ifndef EW_NETNS_H
#define EW_NETNS_H

#include "common/err.h"

/* Open the network namespace of process `pid`, which must belong to the
 * container `container_id` (its id appears in /proc/<pid>/cgroup): the
 * guard against a pid that was reused between Docker's inspect and now.
 * Both files are opened through one /proc/<pid> directory handle, which
 * stays bound to the process it was opened for. *fd_out is an O_CLOEXEC
 * handle that keeps the namespace alive until closed. -ESRCH (no such
 * process, or it is not in that container), -EACCES/-EPERM (the invoker
 * lacks the capabilities), -EINVAL, -errno. */
int netns_open(int pid, const char *container_id, int *fd_out, struct err *e)
	__attribute__((warn_unused_result));

/* socket(domain, type, protocol) inside namespace `nsfd` (-1: the
 * caller's own, no thread). *fd_out on success. -EPERM when the namespace
 * cannot be entered, -EAGAIN when no thread can be started, -errno of
 * socket(). */
int netns_socket(int nsfd, int domain, int type, int protocol, int *fd_out, struct err *e)
	__attribute__((warn_unused_result));

/* At start: enter this process's own network namespace on a thread, the
 * same call netns_socket makes, so a missing capability is reported once,
 * clearly, before any container is started. 0 or -EPERM with the reason. */
int netns_check(struct err *e) __attribute__((warn_unused_result));

#endif
