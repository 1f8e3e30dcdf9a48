#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Idle is idle: with nothing in flight and nothing due, the controller and
# each invoker wake at most once per second. After some calls (warm and
# paused containers, records in the store) and once the pause grace has
# passed, the context switches of every thread (voluntary and not, from
# /proc/PID/task/*/status) are counted over IDLE_SECONDS (default 10) and
# must stay at or under that many per process. Prints the figures per
# thread as "# ...". With real containers.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

IDLE_SECONDS=${IDLE_SECONDS:-10}
EW_PAUSE_GRACE=300
ew_setup idle
ew_need_docker
ew_start_controller || ew_finish

reqj PUT "/api/v1/namespaces/_/actions/noop" '{"exec":{"kind":"nodejs:20","code":"function main(){return {}}"}}'
check "create noop" test "$CODE" = 200
for i in $(seq 1 5); do
	req POST "/api/v1/namespaces/_/actions/noop?blocking=true&result=true"
done
check "blocking calls answer" test "$CODE" = 200
for i in $(seq 1 5); do
	req POST "/api/v1/namespaces/_/actions/noop"
done
check "non-blocking calls are acknowledged" test "$CODE" = 202
req GET "/health"
invokers=$(jq -r '.invokers[].pid' "$T/resp" | grep -v '^0$' | tr '\n' ' ')
check "invokers are up ($invokers)" test -n "$invokers"
# Nothing in flight, the containers paused, the last records committed.
for _ in $(seq 1 100); do
	req GET "/health"
	[ "$(jq -r '.activationsInFlight' "$T/resp")" = 0 ] && break
	sleep 0.1
done
sleep 2

# switches PID: "tid name count" for every thread of PID.
switches() {
	local t
	for t in /proc/"$1"/task/*; do
		printf '%s %s %s\n' "${t##*/}" "$(tr ' ' _ <"$t/comm")" \
			"$(awk '/^(non)?voluntary_ctxt_switches/ { s += $2 } END { print s + 0 }' "$t/status")"
	done
}
for p in "$CTRL_PID" $invokers; do
	switches "$p" >"$T/before.$p"
done
sleep "$IDLE_SECONDS"
for p in "$CTRL_PID" $invokers; do
	switches "$p" >"$T/after.$p"
	total=$(join "$T/before.$p" "$T/after.$p" | awk '{ d = $5 - $3; if (d) printf "#   %s %s: %d\n", $1, $2, d; t += d } END { print "total", t + 0 }' | tee "$T/diff.$p" | awk '/^total/ { print $2 }')
	grep '^#' "$T/diff.$p"
	name=invoker
	[ "$p" = "$CTRL_PID" ] && name=controller
	echo "# $name pid=$p: $total wake-ups in $IDLE_SECONDS s"
	check "$name pid=$p wakes at most once a second at rest ($total in $IDLE_SECONDS s)" \
		test "$total" -le "$IDLE_SECONDS"
done
req POST "/api/v1/namespaces/_/actions/noop?blocking=true&result=true"
check "and still answers at once after the rest" test "$CODE" = 200
ew_finish
