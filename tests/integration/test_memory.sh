#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Memory bounded by design: 16 concurrent ~1 MB bodies of the worst JSON
# shapes (many small elements, many keys, many small objects, deep
# nesting, one long string) at the unauthenticated web route, at a
# trigger fire (with a rule) and at a blocking invoke, against a private
# controller with two invokers and real containers (memory_load.py).
# Checks, for the controller and each invoker:
#   - peak RSS growth per in-flight request <= MEM_PER_REQ_KB (3 MB);
#   - RSS back within MEM_IDLE_SLACK_KB (2 MB) of idle within 60 s.
# The figures go to $O/memory.csv. Not under ASan (its quarantine and
# shadow memory are not the program's). MEM_SHAPES / MEM_ROUTES (comma
# lists) run a part; MEM_IDLE_WAIT (default 60) bounds the wait for idle.
# Exit: 0 all passed, 1 a failure, 77 Docker absent (and CI is not "true").
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PER_REQ_KB=${MEM_PER_REQ_KB:-3072}
SLACK_KB=${MEM_IDLE_SLACK_KB:-2048}
CONC=${MEM_CONC:-16}
IDLE_WAIT=${MEM_IDLE_WAIT:-60}
EW_INVOKERS=2
export EW_INVOKERS

ew_setup memory
if [ "$O" = build-san ]; then
	echo "# skipped under ASan"
	ew_finish
fi
ew_need_docker
if ! ew_start_controller; then
	ew_controller_log_tail 40
	ew_finish
fi
NS=/api/v1/namespaces/_

reqj PUT "$NS/actions/memsink?overwrite=true" \
	'{"exec":{"kind":"nodejs:20","code":"function main(p){return {keys: Object.keys(p).length}}"},"limits":{"memory":128},"annotations":[{"key":"web-export","value":true}]}'
check "sink action created" test "$CODE" = 200
reqj PUT "$NS/triggers/memtrig?overwrite=true" '{}'
check "trigger created" test "$CODE" = 200
reqj PUT "$NS/rules/memrule?overwrite=true" '{"trigger":"memtrig","action":"memsink"}'
check "rule created" test "$CODE" = 200

pids=$CTRL_PID
for p in $("${CURL[@]}" "$BASE/health" | jq -r '.invokers[].pid'); do pids="$pids,$p"; done
rss_of() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# Warm-up: what a normal client touches, containers included, and one
# 1 MB body per route, so idle is the steady state (SQLite's page cache,
# warm containers) and not the cold start.
# (curl, not req: a background req would run the EXIT trap.)
post() { "${CURL[@]}" -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"x":1}' "$@"; }
for i in 1 2 3 4; do
	post "$BASE/api/v1/web/guest/default/memsink.json" &
	p1=$!
	post -u "$GUEST_AUTH" "$BASE$NS/triggers/memtrig" &
	p2=$!
	post -u "$GUEST_AUTH" "$BASE$NS/actions/memsink?blocking=true" &
	wait "$p1" "$p2" "$!"
	sleep 1
done
head -c 1000000 /dev/zero | tr '\0' x | sed 's/^/{"pad":"/; s/$/"}/' >"$T/big.json"
"${CURL[@]}" -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary "@$T/big.json" \
	"$BASE/api/v1/web/guest/default/memsink.json"
"${CURL[@]}" -o /dev/null -u "$GUEST_AUTH" -X POST -H 'Content-Type: application/json' \
	--data-binary "@$T/big.json" "$BASE$NS/triggers/memtrig"
"${CURL[@]}" -o /dev/null -u "$GUEST_AUTH" -X POST -H 'Content-Type: application/json' \
	--data-binary "@$T/big.json" "$BASE$NS/actions/memsink?blocking=true"
sleep 3
declare -A idle
for p in ${pids//,/ }; do idle[$p]=$(rss_of "$p"); done
echo "# idle RSS (KB): $(for p in ${pids//,/ }; do printf '%s=%s ' "$p" "${idle[$p]}"; done)"

part=()
[ -n "${MEM_SHAPES:-}" ] && part+=(--shapes "$MEM_SHAPES")
[ -n "${MEM_ROUTES:-}" ] && part+=(--routes "$MEM_ROUTES")
python3 "$EW_ROOT/tests/integration/memory_load.py" --port "$PORT" --auth "$GUEST_AUTH" \
	--pids "$pids" --csv "$T/memory.csv" --conc "$CONC" "${part[@]}"
check "load driver ran" test -s "$T/memory.csv"
cp "$T/memory.csv" "$EW_ROOT/$O/memory.csv" 2>/dev/null
# 503 is the answer to a full queue (its payload blocks are in use): a
# clear refusal, not a failure; anything else 5xx is.
check "every request answered: 2xx, or 503 for a full queue" \
	awk -F, 'NR > 1 && ($4 ~ /error|50[0-24-9]|5[1-9][0-9]/) { bad = 1 } END { exit bad }' "$T/memory.csv"

npids=$(echo "${pids//,/ }" | wc -w)
worst=$(awk -F, -v n="$npids" -v c="$CONC" 'NR > 1 { for (i = 0; i < n; i++) { v = $(5 + n + i) / c;
	if (v > w) { w = v; at = $1 "/" $2 "/process-" i } } } END { printf "%d %s", w, at }' "$T/memory.csv")
check "peak RSS growth per in-flight 1 MB request ${worst%% *} KB (worst: ${worst#* }) <= $PER_REQ_KB KB" \
	test "${worst%% *}" -le "$PER_REQ_KB"

# Back to idle: freed memory given back within IDLE_WAIT seconds.
for p in ${pids//,/ }; do
	back=0
	for s in $(seq 1 "$IDLE_WAIT"); do
		r=$(rss_of "$p")
		if [ "$r" -le $((idle[$p] + SLACK_KB)) ]; then back=$s; break; fi
		sleep 1
	done
	what=invoker
	[ "$p" = "$CTRL_PID" ] && what=controller
	check "$what $p: RSS $r KB back within $SLACK_KB KB of idle ${idle[$p]} KB (after ${back} s)" \
		test "$back" -gt 0
done
ew_finish
