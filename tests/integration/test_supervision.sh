#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Invoker supervision: SIGKILL an invoker while it runs a blocking
# activation. The client must get an answer (whisk error, statusCode 3,
# HTTP 500) within a bounded time, the invoker must be restarted, the
# containers of the dead one removed, and a new invocation must succeed.
# Real controller, invoker and containers; loopback only.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

ew_setup supervision
ew_need_docker
ew_start_controller || ew_finish

reqj PUT "/api/v1/namespaces/_/actions/sleepy" \
	'{"exec":{"kind":"nodejs:20","code":"function main(){return new Promise(r => setTimeout(() => r({done:true}), 20000))}"},"limits":{"memory":128}}'
check "create sleepy" test "$CODE" = 200
req GET "/health"
pid=$(jq -r '.invokers[0].pid' "$T/resp")
check "invoker 0 up" test "$pid" -gt 0

# A blocking call in the background; kill the invoker once it runs.
"${CURL[@]}" -u "$GUEST_AUTH" -X POST -o "$T/killed.json" -w '%{http_code}' \
	"$BASE/api/v1/namespaces/_/actions/sleepy?blocking=true" >"$T/killed.code" 2>/dev/null &
client=$!
for _ in $(seq 1 100); do
	req GET "/health"
	[ "$(jq -r '.invokers[0].running' "$T/resp")" = 1 ] && break
	sleep 0.1
done
old=$("$DOCKER" ps -q --filter "label=edgewhisk.instance=$INSTANCE" | sort)
start=$(date +%s%N)
kill -9 "$pid"
wait "$client"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "the waiting client got HTTP 500 (got $(cat "$T/killed.code"))" test "$(cat "$T/killed.code")" = 500
BODY=$(cat "$T/killed.json")
check "its record is a whisk error (statusCode 3) naming the lost invoker" \
	jqb '.response.statusCode == 3 and (.response.result.error | test("invoker"))'
check "the answer came within 2 s of the kill (${ms} ms)" test "$ms" -lt 2000

for _ in $(seq 1 100); do
	req GET "/health"
	jqb '.invokers[0].state == "up" and .invokers[0].restarts == 1' && break
	sleep 0.1
done
check "invoker 0 restarted (restarts 1, new pid)" \
	jqb ".invokers[0].state == \"up\" and .invokers[0].restarts == 1 and .invokers[0].pid != $pid"
left=0
for id in $old; do
	"$DOCKER" inspect "$id" >/dev/null 2>&1 && left=$((left + 1))
done
check "containers of the killed invoker removed by the new one (left: $left)" test "$left" = 0

reqj PUT "/api/v1/namespaces/_/actions/quick" \
	'{"exec":{"kind":"nodejs:20","code":"function main(){return {ok:true}}"},"limits":{"memory":128}}'
req POST "/api/v1/namespaces/_/actions/quick?blocking=true&result=true"
check "a new invocation succeeds" eval 'test "$CODE" = 200 && jqb ". == {\"ok\": true}"'
ew_finish
