#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Run edgewhisk-controller as a daemon on hosts without systemd (containers,
# minimal images); the playbooks use it when PID 1 is not systemd. The
# controller starts and supervises the invokers itself.
#   edgewhisk-launch start|stop|restart|status [-c CONFIG] [-b BINDIR]
#                    [-p PIDFILE] [-l LOGFILE] [-u USER] [-t SECONDS]
# -u: run the controller as USER (its groups too: docker for the socket);
# the pid and log files stay root's.
# start waits until the controller logs "ready" (or exits: then it prints
# the log's tail and fails); it does nothing if the controller of this pid
# file is already running. stop sends SIGTERM (the controller stops its
# invokers, which remove their containers) and SIGKILL after -t seconds.
# status exits 0 when running, 3 when not (LSB). Output of start and stop
# says "started", "stopped" or "already ..." so a caller can tell a change.
set -eu

cmd=${1:-}
[ $# -gt 0 ] && shift
config=/etc/edgewhisk/edgewhisk.yaml
bindir=/usr/local/bin
pidfile=
logfile=
timeout=30
user=
while getopts c:b:p:l:u:t: opt; do
	case $opt in
	c) config=$OPTARG ;;
	b) bindir=$OPTARG ;;
	p) pidfile=$OPTARG ;;
	l) logfile=$OPTARG ;;
	u) user=$OPTARG ;;
	t) timeout=$OPTARG ;;
	*) exit 2 ;;
	esac
done
name=$(basename "$config" .yaml)
pidfile=${pidfile:-/run/edgewhisk/$name.pid}
logfile=${logfile:-/var/log/edgewhisk/$name.log}
ctl=$bindir/edgewhisk-controller

# The pid in the pid file, if that process is still our controller (a
# stale file or a reused pid counts as not running).
running_pid() {
	[ -s "$pidfile" ] || return 1
	pid=$(cat "$pidfile")
	case $pid in '' | *[!0-9]*) return 1 ;; esac
	[ -d "/proc/$pid" ] || return 1
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
	[ "${exe% (deleted)}" = "$(readlink -f "$ctl")" ] || return 1
	echo "$pid"
}

start() {
	if pid=$(running_pid); then
		echo "already running (pid $pid)"
		return 0
	fi
	[ -x "$ctl" ] || { echo "edgewhisk-launch: $ctl: not executable" >&2; return 1; }
	[ -r "$config" ] || { echo "edgewhisk-launch: $config: not readable" >&2; return 1; }
	mkdir -p "$(dirname "$pidfile")" "$(dirname "$logfile")"
	start_line=$(($(wc -l <"$logfile" 2>/dev/null || echo 0) + 1))
	# A session of its own, no terminal, stdin closed: a daemon. setpriv
	# execs in place (runuser would fork), so $! is the controller. The
	# invokers it starts enter containers' network namespaces: as another
	# user they need CAP_SYS_ADMIN and CAP_SYS_PTRACE, passed on as ambient
	# capabilities (the controller drops them from its own effective set),
	# and nothing else (the systemd units do the same).
	if [ -n "$user" ] && [ "$user" != root ]; then
		setsid setpriv --reuid="$user" --regid="$user" --init-groups \
			--inh-caps=-all,+sys_admin,+sys_ptrace --ambient-caps=+sys_admin,+sys_ptrace \
			--bounding-set=-all,+sys_admin,+sys_ptrace \
			"$ctl" -c "$config" </dev/null >>"$logfile" 2>&1 &
	else
		setsid "$ctl" -c "$config" </dev/null >>"$logfile" 2>&1 &
	fi
	pid=$!
	echo "$pid" >"$pidfile"
	i=0
	while [ "$i" -lt $((timeout * 10)) ]; do
		if tail -n "+$start_line" "$logfile" | grep -q ' ready api='; then
			echo "started (pid $pid, log $logfile)"
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			rm -f "$pidfile"
			echo "edgewhisk-launch: the controller exited; its log:" >&2
			tail -n "+$start_line" "$logfile" | tail -n 20 >&2
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
	echo "edgewhisk-launch: no 'ready' from the controller within ${timeout}s (pid $pid, log $logfile)" >&2
	return 1
}

stop() {
	if ! pid=$(running_pid); then
		rm -f "$pidfile"
		echo "already stopped"
		return 0
	fi
	kill -TERM "$pid"
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$i" -ge $((timeout * 10)) ]; then
			echo "edgewhisk-launch: pid $pid ignored SIGTERM for ${timeout}s; SIGKILL" >&2
			kill -KILL "$pid" 2>/dev/null || true
			break
		fi
		sleep 0.1
		i=$((i + 1))
	done
	rm -f "$pidfile"
	echo "stopped (pid $pid)"
}

case $cmd in
start) start ;;
stop) stop ;;
restart) stop && start ;;
status)
	if pid=$(running_pid); then
		echo "running (pid $pid)"
	else
		echo "not running"
		exit 3
	fi
	;;
*)
	echo "usage: edgewhisk-launch start|stop|restart|status [-c CONFIG] [-b BINDIR] [-p PIDFILE] [-l LOGFILE] [-u USER] [-t SECONDS]" >&2
	exit 2
	;;
esac
