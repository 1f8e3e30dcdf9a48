#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# seed_profile: where the time goes in the cells of bench_seed whose targets
# are tight, written to OUT/profile.md (bench_seed keeps that file; its
# REPORT.md links it). Needs perf (root), dockerd, make, make images.
#   A  lc=1 overhead: bench/bench_api.sh --profile (stage timeline of
#      sequential invocations from syscall tracepoints) on a noop action,
#      and edgewhisk - direct p50 of sleepy at 0, 2, 10 and 30 ms
#   B  1 MB body at N=1, c=1: CPU per request of the controller and the
#      invoker (schedstat) and perf --call-graph dwarf of both
#   C  1 MB through a 2-step sequence: CPU per invocation of every process
#      on the path (controller, invoker, the container's ewproxy and node,
#      docker-proxy) against the direct chain, and the gap between step 1's
#      end and step 2's start from the activation records
#
#   T  controller + invoker CPU per request under the A load (N=4, c=8)
#      and perf --call-graph dwarf of both
#
#   bench/seed_profile.sh OUT [a] [t] [b] [c]     (default: all four)
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
case $O in /*) OB=$O ;; *) OB=$EW_ROOT/$O ;; esac
LOAD=$OB/bench/seed_load
OUT=${1:?usage: bench/seed_profile.sh OUT [a] [t] [b] [c]}
shift
PARTS=${*:-a t b c}
command -v perf >/dev/null 2>&1 || bench_die "perf is missing (apt-get install linux-perf)"
[ -x "$LOAD" ] || bench_die "$LOAD is missing: make $O/bench/seed_load"
PY=$(command -v python3 || command -v python3.11) || bench_die "python3 is missing (make deps)"
mkdir -p "$OUT" || bench_die "cannot create $OUT"
bench_setup profile
P=$OUT/profile.md
results=()
{
	echo "# Profiles of the tight cells (\`bench/seed_profile.sh\`)"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null)," \
		"load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
} >"$P"

# 1 MB message body, as bench_seed's B.
big() {
	{
		printf '{"timeout":"30","message":"'
		head -c 6000000 /dev/urandom | tr -dc 'a-zA-Z0-9' | head -c 1024000
		printf '"}'
	} >"$1"
}

if [[ " $PARTS " == *" a "* ]]; then
	echo "A: bench_api --profile (about 1 min)"
	O=$O bench/bench_api.sh --quick --profile --conc 1 --no-native --csv "$T/api.csv" >"$T/api.log" 2>&1 ||
		bench_die "bench_api failed: $(tail -n 5 "$T/api.log")"
	{
		echo "## A: per-stage timeline of a warm blocking call (noop, sequential)"
		echo
		echo '```'
		grep -E '^  edgewhisk c=1|^  direct    c=1' "$T/api.log"
		sed -n '/^stages over/,/^  log file reads/p' "$OB/bench/api-perf.txt"
		echo '```'
		echo
	} >>"$P"
fi

if [[ " $PARTS " == *" a "* ]]; then
	echo "A: platform overhead vs the action's own duration (sleepy, N=1, c=1)"
	BENCH_USER_MEMORY=256m bench_start
	create_action sleepy nodejs:20 "$(cat bench/seed/sleepy.js)"
	path="$API/sleepy?blocking=true&result=true"
	printf '{"timeout":"0"}' >"$T/t.json"
	"$LOAD" -c 1 -n 10 -b "$T/t.json" -e '"timeout"' -p "$path" -a "$GUEST_AUTH" "$PORT" >/dev/null
	name=$(containers_of nodejs:20 sleepy | head -n 1)
	port=$(host_port "$name")
	{
		echo "## A: edgewhisk - direct p50 vs the action's duration (sleepy, N=1, c=1, 150 calls each)"
		echo
		echo "If the overhead grows with the time the action sleeps, the extra is the cost of waking the"
		echo "platform's idle threads (and, on a VM, idle vCPUs) at each hand-off, not work per request."
		echo
		echo '```'
		for ms in 0 2 10 30; do
			printf '{"timeout":"%s"}' "$ms" >"$T/t.json"
			run_envelope sleepy "$T/t.json" "$T/t-run.json"
			e=$("$LOAD" -c 1 -n 150 -w 3 -b "$T/t.json" -e '"timeout"' -p "$path" -a "$GUEST_AUTH" "$PORT")
			e50=$(echo "$e" | tr ' ' '\n' | sed -n 's/^p50_ms=//p')
			results+=("$ms $e50")
		done
		# Direct after every platform call (log sentinels, see bench/README.md).
		for ms in 0 2 10 30; do
			printf '{"timeout":"%s"}' "$ms" >"$T/t.json"
			run_envelope sleepy "$T/t.json" "$T/t-run.json"
			d=$("$LOAD" -s -c 1 -n 150 -w 3 -b "$T/t-run.json" -e '"timeout"' -p /run "$port")
			d50=$(echo "$d" | tr ' ' '\n' | sed -n 's/^p50_ms=//p')
			for r in "${results[@]}"; do
				read -r rms e50 <<<"$r"
				[ "$rms" = "$ms" ] && awk -v m="$ms" -v e="$e50" -v d="$d50" 'BEGIN {
					printf "sleep %2s ms: edgewhisk p50 %7.3f ms, direct p50 %7.3f ms, overhead %.3f ms\n",
						m, e, d, e - d }'
			done
		done
		echo '```'
		echo
	} >>"$P"
	bench_stop
fi

if [[ " $PARTS " == *" t "* ]]; then
	echo "T: controller + invoker CPU under the A load (N=4, c=8), perf --call-graph dwarf"
	BENCH_USER_MEMORY=1024m bench_start
	create_action sleepy nodejs:20 "$(cat bench/seed/sleepy.js)"
	path="$API/sleepy?blocking=true&result=true"
	printf '{"timeout":"30"}' >"$T/a.json"
	"$LOAD" -c 8 -n 80 -b "$T/a.json" -e '"timeout"' -p "$path" -a "$GUEST_AUTH" "$PORT" >/dev/null
	# shellcheck disable=SC2086 # pid list
	c0=$(cpu_ns "$CTRL_PID") i0=$(cpu_ns $INV_PIDS)
	perf record --call-graph dwarf,16384 -F 999 -p "$CTRL_PID,${INV_PIDS// /,}" -o "$T/t.data" \
		-- sleep 6 >/dev/null 2>&1 &
	pp=$!
	sleep 0.3
	line=$("$LOAD" -c 8 -n 600 -b "$T/a.json" -e '"timeout"' -p "$path" -a "$GUEST_AUTH" "$PORT")
	wait "$pp"
	# shellcheck disable=SC2086 # pid list
	c1=$(cpu_ns "$CTRL_PID") i1=$(cpu_ns $INV_PIDS)
	{
		echo "## A load: where the controller's and the invoker's CPU goes (N=4, c=8, 600 calls)"
		echo
		echo '```'
		echo "$line"
		echo "CPU per request (with perf attached): controller $(((c1 - c0) / 600000)) us," \
			"invoker $(((i1 - i0) / 600000)) us"
		echo '```'
		echo
		echo "Samples per thread, then per function (callees included):"
		echo
		echo '```'
		perf report -i "$T/t.data" --stdio --no-children --sort comm -g none 2>/dev/null |
			grep -v '^#' | grep -v '^$' | head -n 8
		echo
		perf report -i "$T/t.data" --stdio --children --sort sym -g none 2>/dev/null |
			grep -v '^#' | grep -v '^$' | grep -v '0x0000' | grep -v '\[k\]' | head -n 40
		echo '```'
		echo
	} >>"$P"
	bench_stop
fi

if [[ " $PARTS " == *" b "* ]]; then
	echo "B: 1 MB body, N=1, c=1, perf --call-graph dwarf of controller + invoker"
	BENCH_USER_MEMORY=256m bench_start
	create_action sleepy nodejs:20 "$(cat bench/seed/sleepy.js)"
	path="$API/sleepy?blocking=true&result=true"
	big "$T/b.json"
	printf '{"timeout":"30"}' >"$T/a.json"
	"$LOAD" -c 1 -n 10 -b "$T/b.json" -e '"timeout"' -p "$path" -a "$GUEST_AUTH" "$PORT" >/dev/null
	{
		echo "## B: 1 MB body vs empty body, N=1, c=1 (60 requests each)"
		echo
		echo '```'
		for f in a b; do
			# shellcheck disable=SC2086 # pid list
			c0=$(cpu_ns "$CTRL_PID") i0=$(cpu_ns $INV_PIDS)
			line=$("$LOAD" -c 1 -n 60 -b "$T/$f.json" -e '"timeout"' -p "$path" -a "$GUEST_AUTH" "$PORT")
			# shellcheck disable=SC2086 # pid list
			c1=$(cpu_ns "$CTRL_PID") i1=$(cpu_ns $INV_PIDS)
			echo "$([ $f = a ] && echo 'empty' || echo '1 MB ') body: $line"
			echo "           CPU per request: controller $(((c1 - c0) / 60000)) us, invoker $(((i1 - i0) / 60000)) us"
		done
		echo '```'
		echo
	} >>"$P"
	perf record --call-graph dwarf,16384 -F 999 -p "$CTRL_PID,${INV_PIDS// /,}" -o "$T/b.data" \
		-- sleep 5 >/dev/null 2>&1 &
	pp=$!
	sleep 0.3
	"$LOAD" -c 1 -n 60 -b "$T/b.json" -e '"timeout"' -p "$path" -a "$GUEST_AUTH" "$PORT" >/dev/null
	wait "$pp"
	{
		echo "perf record --call-graph dwarf -p controller,invoker during 1 MB calls; share of their"
		echo "samples per function, callees included (libcjson is stripped: its frames show as addresses):"
		echo
		echo '```'
		perf report -i "$T/b.data" --stdio --children --sort sym -g none 2>/dev/null |
			grep -v '^#' | grep -v '^$' | grep -v '0x0000' | grep -v '\[k\]' | head -n 30
		echo '```'
		echo
	} >>"$P"
	bench_stop
fi

if [[ " $PARTS " == *" c "* ]]; then
	echo "C: 1 MB through the sequence, CPU per component"
	BENCH_USER_MEMORY=512m bench_start
	create_action ParamPass nodejs:20 "$(cat bench/seed/parampass.js)"
	reqj PUT "$API/seq?overwrite=true" \
		'{"exec":{"kind":"sequence","components":["/_/ParamPass","/_/ParamPass"]}}'
	[ "$CODE" = 200 ] || bench_die "create the sequence: $CODE $BODY"
	for _ in 1 2 3; do invoke_time seq '{"payload":""}' >/dev/null; done
	name=$(containers_of nodejs:20 ParamPass | head -n 1)
	port=$(host_port "$name")
	cpid=$("$DOCKER" inspect -f '{{.State.Pid}}' "$name")
	ip=$("$DOCKER" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$name")
	ewp=$cpid
	node=$(cat /proc/"$cpid"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -m1 .)
	dp=$(for f in /proc/[0-9]*/cmdline; do
		{ tr '\0' ' ' <"$f"; } 2>/dev/null | grep -q -- "-container-ip $ip " &&
			{ x=${f#/proc/}; echo "${x%/cmdline}"; }
	done | tr '\n' ' ')
	snap() {
		# shellcheck disable=SC2086 # pid lists
		echo "$(cpu_ns "$CTRL_PID") $(cpu_ns $INV_PIDS) $(cpu_ns "$ewp") $(cpu_ns "$node") $(cpu_ns $dp)"
	}
	{
		echo "## C: 1 MB through the 2-step sequence vs the direct chain (30 calls each)"
		echo
		echo "CPU ms per call (schedstat) of each process on the path; comTime median in ms:"
		echo
		echo '```'
		for mode in edgewhisk direct; do
			rm -f "$T/c.csv"
			b=$(snap)
			"$PY" bench/seed_transfer.py --mode "$mode" --port "$PORT" --auth "$GUEST_AUTH" --seq seq \
				--direct-port "$port" --sizes 1000000 --runs 30 --out "$T/c.csv" >/dev/null
			a=$(snap)
			med=$(cut -d, -f4 "$T/c.csv" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
			awk -v b="$b" -v a="$a" -v m="$mode" -v med="$med" 'BEGIN {
				split(b, x, " "); split(a, y, " ")
				n = split("controller invoker ewproxy node docker-proxy", nm, " ")
				printf "%-9s comTime median %3s ms | CPU ms/call:", m, med
				for (i = 1; i <= n; i++) printf " %s %.2f", nm[i], (y[i] - x[i]) / 1e6 / 30
				printf "\n" }'
		done
		echo '```'
		echo
		echo "Step 1 end -> step 2 start (activation records, whole ms), newest 10 sequence calls:"
		echo
		req GET "/api/v1/namespaces/_/activations?name=ParamPass&docs=true&limit=60"
		echo '```'
		printf '%s' "$BODY" | jq -r '[.[] | select(.cause != null)] | group_by(.cause) | map(sort_by(.start))
			| map(select(length == 2)) | sort_by(.[0].start) | reverse | .[:10][]
			| "step 1 duration \(.[0].duration) ms, gap \(.[1].start - .[0].end) ms, step 2 duration \(.[1].duration) ms"'
		echo '```'
		echo
	} >>"$P"
	bench_stop
fi
echo "profile: $P"
