#!/usr/bin/env bash
# Make sure a Docker daemon answers on /var/run/docker.sock: use the one
# that runs, else start dockerd in the background (no systemd needed) and
# wait for its socket. Copes with a stale pid file from a daemon that died.
# Usage: deploy/dockerd-up.sh [timeout_seconds]   (root)
set -euo pipefail
timeout=${1:-60}
sock=/var/run/docker.sock
pidfile=/var/run/docker.pid
log=${DOCKERD_LOG:-/var/log/edgewhisk-dockerd.log}
docker_cli=$(command -v /usr/bin/docker || command -v docker || true)

answers() {
	# _ping over the socket; curl ships with the build dependencies.
	[ -S "$sock" ] && curl -sf --max-time 2 --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1
}

if answers; then
	echo "dockerd-up: dockerd already answers on $sock"
	exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
	echo "dockerd-up: dockerd is not installed (apt-get install docker.io)" >&2
	exit 1
fi
if [ -f "$pidfile" ]; then
	pid=$(cat "$pidfile" 2>/dev/null || true)
	# Alive, really dockerd (not a reused pid) and not a zombie.
	if [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = dockerd ] &&
		! grep -q '^State:[[:space:]]*Z' /proc/"$pid"/status 2>/dev/null; then
		echo "dockerd-up: dockerd (pid $pid) runs but does not answer yet; waiting"
	else
		echo "dockerd-up: removing stale $pidfile (pid ${pid:-?} is gone)"
		rm -f "$pidfile"
	fi
fi
if [ ! -f "$pidfile" ]; then
	mkdir -p "$(dirname "$log")"
	# setsid: the daemon outlives this script and its terminal.
	setsid dockerd >>"$log" 2>&1 </dev/null &
	echo "dockerd-up: started dockerd (log: $log)"
fi
for _ in $(seq 1 $((timeout * 4))); do
	if answers; then
		echo "dockerd-up: dockerd answers on $sock${docker_cli:+ ($("$docker_cli" version -f '{{.Server.Version}}' 2>/dev/null || true))}"
		exit 0
	fi
	sleep 0.25
done
echo "dockerd-up: dockerd did not answer within ${timeout}s; last lines of $log:" >&2
tail -n 20 "$log" >&2 || true
exit 1
