#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Resource faults, with real containers:
#   - state_dir on a small tmpfs that fills up while non-blocking calls
#     come in (their records in the group commit): writes (create, invoke)
#     get 503 with a clear message, reads still work, every call that was
#     acknowledged (202) has its record once space returns, the store stays
#     intact, and everything works again;
#   - actions that fork without bound, allocate past their memory limit,
#     write megabytes of logs, never return, or return 5 MB: each ends in
#     the documented error, and the invoker stays up (same pid, no restart)
#     and runs the next call.
# Needs root (mount -t tmpfs). Prints its figures as "# ...".
set -uo pipefail
source "$(dirname "$0")/lib.sh"

MNT=/tmp/ewtest-resources-tmpfs-$$
cleanup_mnt() {
	mountpoint -q "$MNT" 2>/dev/null && umount "$MNT"
	rmdir "$MNT" 2>/dev/null
}
EW_STATE_DIR=$MNT/state
EW_CONFIG_EXTRA="containers:
  pause_grace: 0
  pids_limit: 64
activations:
  max_count: 0
  max_age_hours: 0"
export EW_STATE_DIR EW_CONFIG_EXTRA

ew_setup resources
ew_need_docker
trap 'cleanup_mnt; ew_cleanup' EXIT
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=6m tmpfs "$MNT"; then
	notok "mount a 6 MB tmpfs for state_dir (needs root)"
	ew_finish
fi
# ew_write_config writes containers: itself; ours replaces it.
ew_write_config() {
	cat >"$1" <<EOF
api:
  address: 127.0.0.1
  port: $PORT
state_dir: $STATE
log_level: ${EW_LOG_LEVEL:-info}
queue:
  name: /$INSTANCE
invokers:
  count: 1
  user_memory: 512m
$EW_CONFIG_EXTRA
EOF
}
ew_start_controller || ew_finish

invoker() {
	"${CURL[@]}" "$BASE/health" | jq -c '.invokers[0] | {pid, restarts, state}'
}
inv0=$(invoker)

# --- disk full ---
reqj PUT "/api/v1/namespaces/_/actions/hello" \
	'{"exec":{"kind":"nodejs:20","code":"function main(p){return {hi: p.n || 0}}"},"limits":{"memory":128}}'
check "create hello" test "$CODE" = 200
req POST "/api/v1/namespaces/_/actions/hello?blocking=true&result=true"
check "invoke hello" test "$CODE" = 200
# Non-blocking calls as fast as they are answered, while the disk fills.
python3 "$EW_ROOT/bench/store_load.py" --port "$PORT" --auth "$GUEST_AUTH" --action hello \
	--kind nonblocking --count 400 --rate 200 >"$T/load.json" 2>/dev/null &
load=$!
sleep 0.5
dd if=/dev/zero of="$MNT/filler" bs=64k 2>/dev/null
wait "$load"
jq -r '.ids[]' "$T/load.json" >"$T/acked"
echo "# tmpfs: $(df -k "$MNT" | awk 'NR==2 {print $3 " KB used, " $4 " KB free"}')"
echo "# calls while the disk filled: $(wc -l <"$T/acked") of 400 acknowledged, the rest refused"
check "calls were acknowledged before the disk was full" test "$(wc -l <"$T/acked")" -ge 1
big=$(head -c 300000 /dev/zero | tr '\0' 'x')
reqj PUT "/api/v1/namespaces/_/actions/big" \
	"{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"// $big\nfunction main(){return {}}\"}}"
check "create on a full disk -> 503" test "$CODE" = 503
check "with a clear message ($(printf '%s' "$BODY" | jq -r .error))" jqb '.error | test("full")'
ok503=0
for i in $(seq 1 20); do
	req POST "/api/v1/namespaces/_/actions/hello"
	[ "$CODE" = 503 ] && ok503=$((ok503 + 1))
	[ "$CODE" = 202 ] && echo "# invoke $i on the full disk: 202"
done
check "non-blocking invokes on a full disk -> 503 (no acknowledgement it cannot keep: $ok503/20)" \
	test "$ok503" -ge 18
printf '%s' "$BODY" | jq -r '"# invoke on a full disk: " + .error'
req GET "/api/v1/namespaces/_/actions/hello"
check "reads still work on a full disk" test "$CODE" = 200
req GET "/ping"
check "the controller still answers" test "$CODE" = 200
rm -f "$MNT/filler"
reqj PUT "/api/v1/namespaces/_/actions/big" \
	"{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"// $big\nfunction main(){return {big: true}}\"},\"limits\":{\"memory\":128}}"
check "space back: create works" test "$CODE" = 200
req POST "/api/v1/namespaces/_/actions/big?blocking=true&result=true"
check "space back: invoke works" eval 'test "$CODE" = 200 && jqb ".big == true"'
# The records kept in memory while the disk was full are written now.
missing=0 others=0
while read -r id; do
	req GET "/api/v1/namespaces/_/activations/$id"
	if [ "$CODE" != 200 ]; then
		missing=$((missing + 1))
	elif ! jqb '.response.statusCode == 0 or .response.statusCode == 3'; then
		others=$((others + 1))
	fi
done <"$T/acked"
check "every acknowledged call has its record once space is back ($missing missing)" \
	test "$missing" = 0
check "each completed, or failed as a whisk error ($others other)" test "$others" = 0
# The controller holds the database exclusively: check it stopped, then
# start again on the same state.
kill -TERM "$CTRL_PID"
wait "$CTRL_PID" 2>/dev/null
CTRL_PID=
integrity=$(sqlite3 "$STATE/edgewhisk.db" 'PRAGMA integrity_check' 2>&1)
check "the store passes PRAGMA integrity_check ($integrity)" test "$integrity" = ok
"$EW_ROOT/$O/edgewhisk-controller" -c "$T/edgewhisk.yaml" >>"$T/controller.log" 2>&1 &
CTRL_PID=$!
ew_wait_up 30
check "the controller starts again on the same state" test $? = 0
# The misbehaving actions below must not cost this invoker a restart.
inv0=$(invoker)

# --- misbehaving actions ---
# run NAME KIND CODE LIMITS: create, invoke blocking; sets BODY (the record), MS.
run() {
	local start
	reqj PUT "/api/v1/namespaces/_/actions/$1" \
		"$(jq -nc --arg k "$2" --arg c "$3" --argjson l "$4" '{exec:{kind:$k,code:$c},limits:$l}')"
	[ "$CODE" = 200 ] || notok "create $1" "$CODE $BODY"
	start=$(date +%s%N)
	req POST "/api/v1/namespaces/_/actions/$1?blocking=true"
	MS=$((($(date +%s%N) - start) / 1000000))
	echo "# $1: HTTP $CODE in $MS ms: $(printf '%s' "$BODY" | jq -c '.response | {statusCode, error: (.result.error // "" | tostring | .[0:160])}' 2>/dev/null)"
}

FORK='import os, time
def main(a):
    n = 0
    while True:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        n += 1'
run forkbomb python:3.11 "$FORK" '{"memory":256,"timeout":20000}'
check "fork bomb: stopped by the pids limit (an error, not a hang)" \
	jqb '.response.success == false and (.response.result.error | tostring | test("Resource temporarily unavailable|exhausted|fork"; "i"))'
check "fork bomb: answered within 20 s ($MS ms)" test "$MS" -lt 20000

run memhog nodejs:20 'function main(){const a=[]; for(;;) a.push(Buffer.alloc(8<<20, 1))}' \
	'{"memory":128,"timeout":30000}'
check "memory hog: 'exhausted its memory' (statusCode 2)" \
	jqb '.response.statusCode == 2 and .response.result.error == "The action exhausted its memory and was aborted."'

run chatty nodejs:20 'function main(){const l="y".repeat(1023); for (let i = 0; i < 5000; i++) console.log(l); return {done: true}}' \
	'{"memory":128,"logs":1}'
check "5 MB of logs: the call succeeds" jqb '.response.success == true'
id=$(printf '%s' "$BODY" | jq -r .activationId)
req GET "/api/v1/namespaces/_/activations/$id/logs"
bytes=$(printf '%s' "$BODY" | jq '[.logs[] | length] | add')
echo "# chatty: $(printf '%s' "$BODY" | jq '.logs | length') log lines, $bytes bytes kept of ~5 MB"
check "5 MB of logs: cut at the 1 MB limit with OpenWhisk's notice" \
	jqb '.logs[-1] | test("Logs were truncated because the total bytes size exceeds the limit of 1048576 bytes.")'
check "5 MB of logs: at most ~1 MB kept (with the timestamps: $bytes)" test "$bytes" -lt 1400000

run forever nodejs:20 'function main(){return new Promise(() => {})}' '{"memory":128,"timeout":1000}'
check "never returns: the time-limit error" \
	jqb '.response.statusCode == 2 and (.response.result.error | test("exceeded its time limit of 1000 milliseconds"))'
check "never returns: answered within 5 s ($MS ms)" test "$MS" -lt 5000

run huge nodejs:20 'function main(){return {x: "a".repeat(5 << 20)}}' '{"memory":256}'
check "5 MB result: application error naming the size limit" \
	jqb '.response.success == false and (.response.result.error | test("exceeded the allowed length: 52[0-9]{5} > [0-9]+ bytes"))'

inv1=$(invoker)
echo "# invoker before: $inv0, after: $inv1"
check "the invoker stayed up all along (same pid, no restart)" test "$inv0" = "$inv1"
req POST "/api/v1/namespaces/_/actions/hello?blocking=true&result=true" \
	-H 'Content-Type: application/json' -d '{"n":7}'
check "and runs the next call" eval 'test "$CODE" = 200 && jqb ".hi == 7"'
ew_stop_checks
cleanup_mnt
ew_finish
