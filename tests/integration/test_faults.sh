#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Process faults, with real controller, invokers and containers:
#   1. SIGKILL an invoker holding non-blocking activations (running and
#      queued): every acknowledged one ends with a record in bounded time,
#      started ones as whisk errors (statusCode 3), queued ones run by the
#      restarted invoker.
#   2. An action container killed from outside: that activation fails
#      (not success) promptly, the container is gone, the next call works;
#      an idle warm container killed: the next call does not fail at all.
#   3. SIGKILL the controller mid-load: the store passes SQLite's
#      integrity check, every acknowledged activation has a record after the
#      restart (completed, or failed with statusCode 3), the containers of
#      the dead run are removed, the queue is re-created (new generation).
#   4. SIGKILL the controller under fast non-blocking calls, during group
#      commits: the store is intact, every acknowledged call has a record
#      (completed, or failed with statusCode 3), none is listed twice.
# (SIGKILL of an invoker under a blocking call: test_supervision.sh;
# dockerd restart: test_faults_dockerd.sh.) Prints its figures as "# ...".
set -uo pipefail
source "$(dirname "$0")/lib.sh"

ew_setup faults
ew_need_docker
ew_start_controller || ew_finish

SLEEPY='function main(p){return new Promise(r => setTimeout(() => r({slept: p.ms || 0}), p.ms || 0))}'
reqj PUT "/api/v1/namespaces/_/actions/sleepy" \
	"$(jq -nc --arg c "$SLEEPY" '{exec:{kind:"nodejs:20",code:$c},limits:{memory:128}}')"
check "create sleepy" test "$CODE" = 200

# fire N MS: N non-blocking invocations; their ids go to $T/ids.
fire() {
	: >"$T/ids"
	for _ in $(seq 1 "$1"); do
		reqj POST "/api/v1/namespaces/_/actions/sleepy" "{\"ms\":$2}"
		if [ "$CODE" = 202 ]; then
			printf '%s\n' "$BODY" | jq -r .activationId >>"$T/ids"
		else
			echo "# fire: $CODE $BODY"
		fi
	done
}

# records SECONDS: wait until every id of $T/ids has a record; sets
# GOT OKS FAILED3 OTHER and WAITED_MS.
records() {
	local deadline=$(($(date +%s) + $1)) start id sc
	start=$(date +%s%N)
	while :; do
		GOT=0 OKS=0 FAILED3=0 OTHER=0
		while read -r id; do
			req GET "/api/v1/namespaces/_/activations/$id"
			[ "$CODE" = 200 ] || continue
			GOT=$((GOT + 1))
			sc=$(printf '%s' "$BODY" | jq -r '.response.statusCode')
			case $sc in
			0) OKS=$((OKS + 1)) ;;
			3) FAILED3=$((FAILED3 + 1)) ;;
			*) OTHER=$((OTHER + 1)) && echo "# other: ${BODY:0:300}" ;;
			esac
		done <"$T/ids"
		[ "$GOT" -ge "$(wc -l <"$T/ids")" ] && break
		[ "$(date +%s)" -ge "$deadline" ] && break
		sleep 0.5
	done
	WAITED_MS=$((($(date +%s%N) - start) / 1000000))
}

invoker_pid() {
	req GET "/health"
	jq -r ".invokers[0].pid" "$T/resp"
}

wait_running() {
	local want=$1
	for _ in $(seq 1 150); do
		req GET "/health"
		[ "$(jq -r '.invokers[0].running' "$T/resp")" -ge "$want" ] 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# --- 2. An action container killed from outside -------------------------
req POST "/api/v1/namespaces/_/actions/sleepy?blocking=true&result=true"
check "warm-up call works" test "$CODE" = 200
"${CURL[@]}" -u "$GUEST_AUTH" -X POST -H 'Content-Type: application/json' -d '{"ms":8000}' \
	-o "$T/killed.json" -w '%{http_code}' \
	"$BASE/api/v1/namespaces/_/actions/sleepy?blocking=true" >"$T/killed.code" 2>/dev/null &
client=$!
wait_running 1
sleep 0.5
victim=$("$DOCKER" ps -q --filter "label=edgewhisk.instance=$INSTANCE" \
	--filter ancestor=edgewhisk/action-nodejs:1)
check "found the action's container (${victim//$'\n'/ })" test "$(echo "$victim" | wc -w)" = 1
start=$(date +%s%N)
# shellcheck disable=SC2086 # one id per word
"$DOCKER" kill $victim >/dev/null 2>&1
wait "$client"
ms=$((($(date +%s%N) - start) / 1000000))
BODY=$(cat "$T/killed.json")
CODE=$(cat "$T/killed.code")
echo "# container killed: answer $CODE in ${ms} ms: $(printf '%s' "$BODY" | jq -c '.response' 2>/dev/null | head -c 300)"
check "the waiting client got an error status (got $CODE)" test "$CODE" = 502 -o "$CODE" = 500
check "its record is not a success" jqb '.response.success == false and .response.statusCode != 0'
check "the answer came within 5 s of the kill (${ms} ms)" test "$ms" -lt 5000
gone=0
for _ in $(seq 1 100); do
	if ! "$DOCKER" inspect "$victim" >/dev/null 2>&1; then
		gone=1
		break
	fi
	sleep 0.1
done
check "the pool removed the killed container" test "$gone" = 1
req POST "/api/v1/namespaces/_/actions/sleepy?blocking=true&result=true" \
	-H 'Content-Type: application/json' -d '{"ms":1}'
check "the next call works (a new container)" eval 'test "$CODE" = 200 && jqb ".slept == 1"'
# An idle warm container killed from outside: the next call must not fail
# (nothing had reached the action; the invoker replaces the container).
idle=$("$DOCKER" ps -q --filter "label=edgewhisk.instance=$INSTANCE" \
	--filter ancestor=edgewhisk/action-nodejs:1)
# shellcheck disable=SC2086 # one id per word
"$DOCKER" kill $idle >/dev/null 2>&1
req POST "/api/v1/namespaces/_/actions/sleepy?blocking=true&result=true" \
	-H 'Content-Type: application/json' -d '{"ms":3}'
check "an idle warm container killed from outside: the next call still succeeds ($CODE)" \
	eval 'test "$CODE" = 200 && jqb ".slept == 3"'
check "the invoker said it replaced the dead container" grep -q 'refuses connections: replaced' "$T/controller.log"

# --- 1. SIGKILL an invoker holding non-blocking activations -------------
# Two workers (user_memory 512m / 256m): 2 run, the rest wait in the queue.
fire 5 4000
check "5 non-blocking invocations acknowledged (202)" test "$(wc -l <"$T/ids")" = 5
wait_running 2
check "two of them run" test "$(jq -r '.invokers[0].running' "$T/resp")" -ge 2
pid=$(invoker_pid)
kill -9 "$pid"
records 30
echo "# invoker SIGKILL: $GOT/5 records in ${WAITED_MS} ms: $OKS ok, $FAILED3 whisk errors, $OTHER other"
check "every acknowledged activation has a record within 30 s ($GOT/5)" test "$GOT" = 5
check "the running ones failed as whisk errors (statusCode 3: $FAILED3)" test "$FAILED3" -ge 1
check "the queued ones ran on the restarted invoker ($OKS ok)" test "$OKS" -ge 1
check "no other outcome ($OTHER)" test "$OTHER" = 0
ew_wait_up 30
check "invoker restarted" test "$(invoker_pid)" != "$pid"

# --- 3. SIGKILL the controller mid-load ---------------------------------
gen0=$(grep -o 'generation=[0-9]*' "$T/controller.log" | head -n 1 | cut -d= -f2)
fire 12 3000
acked=$(wc -l <"$T/ids")
check "12 non-blocking invocations acknowledged ($acked)" test "$acked" = 12
# 12 x 3 s on two workers: killed 3 s in, most are still queued.
sleep 3
before=$("$DOCKER" ps -aq --filter "label=edgewhisk.instance=$INSTANCE" | sort)
ipid=$(invoker_pid)
kill -9 "$CTRL_PID"
wait "$CTRL_PID" 2>/dev/null
CTRL_PID=
# The invoker follows its controller (parent-death signal) and removes its
# containers on the way out.
for _ in $(seq 1 300); do
	kill -0 "$ipid" 2>/dev/null || break
	sleep 0.1
done
check "the invoker exits after its controller died" eval '! kill -0 '"$ipid"' 2>/dev/null'
integrity=$(sqlite3 "$STATE/edgewhisk.db" 'PRAGMA integrity_check' 2>&1)
check "store passes PRAGMA integrity_check after the kill ($integrity)" test "$integrity" = ok
"$EW_ROOT/$O/edgewhisk-controller" -c "$T/edgewhisk.yaml" >>"$T/controller.log" 2>&1 &
CTRL_PID=$!
ew_wait_up 30
check "the controller restarts on the same state and queue" test $? = 0
records 10
echo "# controller SIGKILL: $GOT/$acked records after restart: $OKS completed, $FAILED3 recorded failed, $OTHER other"
check "every acknowledged activation has a record ($GOT/$acked)" test "$GOT" = "$acked"
check "each completed or failed with statusCode 3 ($OTHER other)" test "$OTHER" = 0
check "the restart says how many it recorded as failed" \
	grep -q 'never completed: recorded as failed' "$T/controller.log"
check "the controller checked the store at start" grep -q 'store integrity check: ok' "$T/controller.log"
gen1=$(grep -o 'generation=[0-9]*' "$T/controller.log" | tail -n 1 | cut -d= -f2)
echo "# queue generation before $gen0, after the restart $gen1"
check "the queue was re-created (generation $gen0 -> $gen1)" test "$gen1" -gt "$gen0"
left=0
for id in $before; do
	"$DOCKER" inspect "$id" >/dev/null 2>&1 && left=$((left + 1))
done
check "containers of the killed run removed ($(echo "$before" | wc -w) before, $left left)" test "$left" = 0
req POST "/api/v1/namespaces/_/actions/sleepy?blocking=true&result=true" \
	-H 'Content-Type: application/json' -d '{"ms":2}'
check "a new invocation succeeds after the restart" eval 'test "$CODE" = 200 && jqb ".slept == 2"'

# --- 4. SIGKILL the controller during group commits ---------------------
# Fast non-blocking calls as quickly as they are answered: records are
# queued and committed in batches, acknowledgement lines appended, when
# the kill comes.
reqj PUT "/api/v1/namespaces/_/actions/quick" '{"exec":{"kind":"nodejs:20","code":"function main(){return {}}"}}'
check "create quick" test "$CODE" = 200
python3 "$EW_ROOT/bench/store_load.py" --port "$PORT" --auth "$GUEST_AUTH" --action quick \
	--kind nonblocking --count 3000 >"$T/load.json" 2>/dev/null &
load=$!
sleep 1.5
kill -9 "$CTRL_PID"
wait "$CTRL_PID" 2>/dev/null
CTRL_PID=
wait "$load"
jq -r '.ids[]' "$T/load.json" >"$T/ids"
acked=$(wc -l <"$T/ids")
check "non-blocking calls were acknowledged before the kill ($acked)" test "$acked" -ge 50
sleep 1
integrity=$(sqlite3 "$STATE/edgewhisk.db" 'PRAGMA integrity_check' 2>&1)
check "store passes PRAGMA integrity_check after a kill mid-commit ($integrity)" test "$integrity" = ok
"$EW_ROOT/$O/edgewhisk-controller" -c "$T/edgewhisk.yaml" >>"$T/controller.log" 2>&1 &
CTRL_PID=$!
ew_wait_up 30
check "the controller restarts" test $? = 0
records 20
echo "# SIGKILL during group commits: $GOT/$acked records after restart: $OKS completed, $FAILED3 recorded failed, $OTHER other"
check "every acknowledged activation has a record ($GOT/$acked)" test "$GOT" = "$acked"
check "each completed or failed with statusCode 3 ($OTHER other)" test "$OTHER" = 0
# No record twice: the listing (200 a page) holds each id once.
: >"$T/listed"
for skip in $(seq 0 200 20000); do
	req GET "/api/v1/namespaces/_/activations?limit=200&skip=$skip&name=quick"
	n=$(jq -r 'length' "$T/resp")
	jq -r '.[].activationId' "$T/resp" >>"$T/listed"
	[ "$n" -lt 200 ] && break
done
listed=$(wc -l <"$T/listed")
unique=$(sort -u "$T/listed" | wc -l)
echo "# listed $listed records of quick, $unique distinct"
check "no record duplicated ($listed listed, $unique distinct)" test "$listed" = "$unique"
check "the listing holds every acknowledged one" \
	test "$(sort -u "$T/listed" | comm -12 - <(sort -u "$T/ids") | wc -l)" = "$acked"
ew_finish
