#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench_api: blocking invocations of a warm noop action through the REST API
# (wrk POST .../actions/noop?blocking=true&result=true) at concurrency 1, 2,
# 4, 8, next to the same load sent straight to the action's warm container
# (wrk POST /run on the container's own 127.0.0.1:8080, run inside its
# network namespace with nsenter, as the invoker reaches it) and through a
# port published by docker-proxy (the old path), in the same run; CPU per request of
# each component; controller and invoker RSS idle and under load. See
# bench/README.md (`bench_api`).
#
#   bench/bench_api.sh [--quick] [--duration S] [--conc "1 2 4 8"]
#                      [--invokers auto|N] [--user-memory SIZE] [--no-native]
#                      [--profile] [--csv PATH]
#
# Loopback only. Starts its own controller (temp config, free port, unique
# queue name and state dir) and removes it and its containers on exit,
# Ctrl-C included. Exit status: 0 when the benchmark ran (a MISS does not
# change it), 1 when it could not run, 2 on a usage error.

set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
ROOT=$PWD
O=${O:-build}
case $O in /*) ;; *) O=$ROOT/$O ;; esac
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY PROXY proxy
export NO_PROXY='*' no_proxy='*'
if [ -z "${DOCKER:-}" ]; then
	if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
fi
LUA=$ROOT/bench/bench_api.lua
STAGES_AWK=$ROOT/bench/bench_api_stages.awk

GUEST_UUID=23bc46b1-71f6-4ed5-8c54-816aa4f8c502
GUEST_KEY=123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP
GUEST_AUTH="$GUEST_UUID:$GUEST_KEY"
SENTINEL=XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

# Targets (issue: controller benchmark).
T_P50_RATIO=1.3       # edgewhisk p50 <= 1.3x direct p50 (direct in the namespace)
T_P50_C1_MS=0.40      # and <= this many ms at concurrency 1
T_RPS_RATIO=0.8       # edgewhisk req/s >= 0.8x direct req/s at concurrency T_RPS_CONC
T_RPS_CONC=4
T_RSS_IDLE_MB=8       # controller VmRSS idle
T_RSS_LOAD_MB=32      # controller VmHWM after the load

usage() {
	cat <<EOF
usage: bench/bench_api.sh [--quick] [--duration S] [--conc "1 2 4 8"] [--invokers auto|N]
                          [--no-native] [--profile] [--csv PATH]
  --quick          2 s per wrk run, 1 s pool warm-up, nodejs only (smoke run, under 1 min)
  --duration S     seconds per wrk run, 1..60 (default 5)
  --conc LIST      concurrencies (connections), blank or comma separated (default "1 2 4 8")
  --invokers N     invokers.count: auto (one per CPU, default) or 1..64
  --user-memory M  invokers.user_memory in MB (256m, 1024m, ...; default 1024m): each
                   invoker runs M / 256m action containers at once
  --no-native      skip the native-kind noop (#!/bin/sh echo '{}': a process per run)
  --profile        after the measured nodejs runs (not in the table): a per-stage timeline
                   of sequential invocations (perf syscall tracepoints) and a system-wide
                   CPU profile at concurrency $T_RPS_CONC; saved in \$O/bench/api-perf.txt
  --csv PATH       CSV output (default \$O/bench/api.csv, directory created)
Environment: O (build directory, default build).
EOF
}

DUR=
WARM_S=3
CONCS="1 2 4 8"
INVOKERS=auto
USER_MEM_MB=1024
NATIVE=1
PROFILE=0
QUICK=0
CSV=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--duration) [ $# -ge 2 ] || { usage >&2; exit 2; }; DUR=$2; shift ;;
	--duration=*) DUR=${1#*=} ;;
	--conc) [ $# -ge 2 ] || { usage >&2; exit 2; }; CONCS=$2; shift ;;
	--conc=*) CONCS=${1#*=} ;;
	--invokers) [ $# -ge 2 ] || { usage >&2; exit 2; }; INVOKERS=$2; shift ;;
	--invokers=*) INVOKERS=${1#*=} ;;
	--user-memory) [ $# -ge 2 ] || { usage >&2; exit 2; }; USER_MEM_MB=${2%[mM]}; shift ;;
	--user-memory=*) USER_MEM_MB=${1#*=}; USER_MEM_MB=${USER_MEM_MB%[mM]} ;;
	--no-native) NATIVE=0 ;;
	--profile) PROFILE=1 ;;
	--csv) [ $# -ge 2 ] || { usage >&2; exit 2; }; CSV=$2; shift ;;
	--csv=*) CSV=${1#*=} ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench_api: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
if [ "$QUICK" = 1 ]; then
	: "${DUR:=2}"
	WARM_S=1
	NATIVE=0
fi
: "${DUR:=5}"
CSV=${CSV:-$O/bench/api.csv}
CONCS=${CONCS//,/ }
if ! [[ $DUR =~ ^[0-9]+$ ]] || [ "$DUR" -lt 1 ] || [ "$DUR" -gt 60 ]; then
	echo "bench_api: --duration $DUR: want 1..60 seconds" >&2
	exit 2
fi
MAXC=0
for c in $CONCS; do
	if ! [[ $c =~ ^[0-9]+$ ]] || [ "$c" -lt 1 ] || [ "$c" -gt 64 ]; then
		echo "bench_api: --conc: '$c' is not a concurrency in 1..64" >&2
		exit 2
	fi
	[ "$c" -gt "$MAXC" ] && MAXC=$c
done
if [ "$MAXC" = 0 ]; then
	echo "bench_api: --conc: no concurrency given" >&2
	exit 2
fi
if [ "$INVOKERS" != auto ] && { ! [[ $INVOKERS =~ ^[0-9]+$ ]] || [ "$INVOKERS" -lt 1 ] ||
	[ "$INVOKERS" -gt 64 ]; }; then
	echo "bench_api: --invokers $INVOKERS: want auto or 1..64" >&2
	exit 2
fi
if ! [[ $USER_MEM_MB =~ ^[0-9]+$ ]] || [ "$USER_MEM_MB" -lt 256 ] || [ "$USER_MEM_MB" -gt 65536 ]; then
	echo "bench_api: --user-memory: want 256m..65536m" >&2
	exit 2
fi
# limits.memory.max (512m as shipped) may not exceed user_memory.
MEM_MAX_MB=$((USER_MEM_MB < 512 ? USER_MEM_MB : 512))

die() {
	echo "bench_api: $*" >&2
	exit 1
}

# --- tools -------------------------------------------------------------

apt_install() {
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null 2>&1 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1; }
}

for tool in wrk:wrk jq:jq curl:curl; do
	if ! command -v "${tool%%:*}" >/dev/null 2>&1; then
		echo "# installing ${tool#*:} (apt-get install -y ${tool#*:})"
		apt_install "${tool#*:}"
		command -v "${tool%%:*}" >/dev/null 2>&1 ||
			die "${tool%%:*} is missing and apt-get install ${tool#*:} failed"
	fi
done
if [ "$PROFILE" = 1 ] && ! command -v perf >/dev/null 2>&1; then
	die "--profile needs perf (apt-get install linux-perf)"
fi
if [ ! -x "$O/edgewhisk-controller" ] || [ ! -x "$O/edgewhisk-invoker" ]; then
	die "$O/edgewhisk-controller or $O/edgewhisk-invoker is missing: run make"
fi
if ! command -v "$DOCKER" >/dev/null 2>&1 || ! timeout 10 "$DOCKER" version >/dev/null 2>&1; then
	die "Docker does not answer (start it with deploy/dockerd-up.sh)"
fi
for img in edgewhisk/action-nodejs:1 edgewhisk/action-native:1; do
	[ "$img" = edgewhisk/action-native:1 ] && [ "$NATIVE" = 0 ] && continue
	"$DOCKER" image inspect "$img" >/dev/null 2>&1 || die "image $img is missing: run make images"
done
[ -r "$LUA" ] || die "$LUA is missing"

# --- state and cleanup -------------------------------------------------

CTRL_PID=
WRK_PID=
PERF_PID=
INSTANCE=
STATE=
T=$(mktemp -d /tmp/ew-bench-api.XXXXXX) || die "mktemp failed"

cleanup() {
	local i ids p
	for p in $WRK_PID $PERF_PID; do
		kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	WRK_PID=''
	PERF_PID=''
	if [ -n "$CTRL_PID" ] && kill -0 "$CTRL_PID" 2>/dev/null; then
		kill -TERM "$CTRL_PID" 2>/dev/null
		for i in $(seq 1 250); do
			kill -0 "$CTRL_PID" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$CTRL_PID" 2>/dev/null; then
			echo "# controller did not stop within 25 s of SIGTERM: SIGKILL" >&2
			kill -KILL "$CTRL_PID" 2>/dev/null
		fi
		wait "$CTRL_PID" 2>/dev/null
	fi
	CTRL_PID=''
	if [ -n "$INSTANCE" ]; then
		ids=$("$DOCKER" ps -aq --filter "label=edgewhisk.instance=$INSTANCE" 2>/dev/null)
		if [ -n "$ids" ]; then
			# shellcheck disable=SC2086 # one id per word
			"$DOCKER" rm -f $ids >/dev/null 2>&1
		fi
	fi
	[ -z "$STATE" ] || rm -rf "$STATE"
	[ -z "$T" ] || rm -rf "$T"
	T=''
}
trap cleanup EXIT
trap 'echo "bench_api: interrupted" >&2; exit 130' INT TERM HUP

# --- controller --------------------------------------------------------

PORT=
BASE=
CURL=(curl -sS --noproxy '*' --max-time 70)

port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_port() {
	local i p
	for i in $(seq 1 50); do
		p=$((3290 + RANDOM % 500))
		if ! port_busy "$p"; then
			PORT=$p
			return 0
		fi
	done
	return 1
}

write_config() {
	cat >"$1" <<EOF
api:
  address: 127.0.0.1
  port: $PORT
state_dir: $STATE
log_level: warn
queue:
  name: /$INSTANCE
invokers:
  count: $INVOKERS
  user_memory: ${USER_MEM_MB}m
# The runs go far beyond a namespace's default rate: no throttles.
limits:
  memory:
    max: ${MEM_MAX_MB}m
  invocations_per_minute: 0
  concurrent_invocations: 0
containers:
  pause_grace: 0
# No pruning of activation records during the runs: the prune runs once a
# minute in the controller's completion thread and deletes everything over
# max_count in one transaction, which stalls every blocking invocation for
# as long (1.3 s for 69k records at ~1400 invocations/s here). The runs
# measure the per-invocation path; the records go with the state dir.
activations:
  max_count: 0
  max_age_hours: 0
EOF
}

start_controller() {
	local i
	INSTANCE="ewbench-api-$$"
	STATE="/tmp/ewbench-api-state-$$"
	rm -rf "$STATE"
	for _ in 1 2 3; do
		pick_port || die "no free loopback port"
		BASE="http://127.0.0.1:$PORT"
		write_config "$T/edgewhisk.yaml"
		"$O/edgewhisk-controller" -c "$T/edgewhisk.yaml" >>"$T/controller.log" 2>&1 &
		CTRL_PID=$!
		for i in $(seq 1 200); do
			if ! kill -0 "$CTRL_PID" 2>/dev/null; then
				wait "$CTRL_PID" 2>/dev/null
				CTRL_PID=''
				break
			fi
			[ "$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$BASE/ping" 2>/dev/null)" = 200 ] && break
			sleep 0.1
		done
		[ -n "$CTRL_PID" ] && break
		grep -qi 'in use' "$T/controller.log" || break
	done
	[ -n "$CTRL_PID" ] || die "the controller did not start: $(tail -n 20 "$T/controller.log")"
	for i in $(seq 1 300); do
		if "${CURL[@]}" "$BASE/health" 2>/dev/null |
			jq -e '(.invokers | length) > 0 and all(.invokers[]; .state == "up")' >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	die "the invokers did not come up within 30 s: $(tail -n 20 "$T/controller.log")"
}

# req METHOD PATH [curl args...]: sets CODE and BODY (guest credentials).
req() {
	local method=$1 path=$2
	shift 2
	CODE=$("${CURL[@]}" -u "$GUEST_AUTH" -X "$method" -o "$T/resp" -w '%{http_code}' "$@" \
		"$BASE$path" 2>"$T/curl.err") || CODE="curl failed: $(cat "$T/curl.err")"
	BODY=$(cat "$T/resp" 2>/dev/null)
}

# Wait until no activation is in flight (at most 30 s).
settle() {
	local i n=''
	for i in $(seq 1 300); do
		n=$("${CURL[@]}" "$BASE/health" 2>/dev/null | jq -r '.activationsInFlight // -1' 2>/dev/null)
		[ "$n" = 0 ] && return 0
		sleep 0.1
	done
	echo "# warning: still $n activation(s) in flight after 30 s" >&2
}

# --- measurements ------------------------------------------------------

# status_kb PID FIELD: a /proc/PID/status value in kB ('' when gone).
status_kb() {
	awk -v k="$2:" '$1 == k { print $2; exit }' "/proc/$1/status" 2>/dev/null
}

mib() {
	awk -v k="${1:-0}" 'BEGIN { printf "%.1f", k / 1024 }'
}

invoker_pids() {
	"${CURL[@]}" "$BASE/health" 2>/dev/null | jq -r '.invokers[].pid' 2>/dev/null | grep -v '^0$'
}

# rss_snapshot TAG: CTRL_RSS_<TAG>, CTRL_HWM_<TAG>, CTRL_THR_<TAG>, and
# INV_RSS_<TAG>, INV_HWM_<TAG> (space-separated, in invoker id order).
rss_snapshot() {
	local tag=$1 p rss="" hwm=""
	printf -v "CTRL_RSS_$tag" '%s' "$(status_kb "$CTRL_PID" VmRSS)"
	printf -v "CTRL_HWM_$tag" '%s' "$(status_kb "$CTRL_PID" VmHWM)"
	printf -v "CTRL_THR_$tag" '%s' "$(status_kb "$CTRL_PID" Threads)"
	for p in $INV_PIDS; do
		rss+="$(status_kb "$p" VmRSS) "
		hwm+="$(status_kb "$p" VmHWM) "
	done
	printf -v "INV_RSS_$tag" '%s' "${rss% }"
	printf -v "INV_HWM_$tag" '%s' "${hwm% }"
}

# cpu_ticks PID...: utime+stime+cutime+cstime summed over the processes
# (all threads; reaped children included, so a native action's short-lived
# processes count for their container's proxy).
cpu_ticks() {
	local p s=0 v
	for p in "$@"; do
		v=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$p/stat" 2>/dev/null)
		s=$((s + ${v:-0}))
	done
	echo "$s"
}

# descendants PID: PID and every live descendant.
descendants() {
	local c
	echo "$1"
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		descendants "$c"
	done
}

# cpu_snapshot: "controller invokers containers shims daemons busy total" in
# clock ticks. containers: each container's init process (the proxy) and
# its live descendants; shims: this instance's containerd-shims (they copy
# the containers' stdout/stderr into the json-file logs) and docker-proxy
# processes (the userland proxy behind each port published on 127.0.0.1);
# daemons: dockerd and containerd, shared with anything else using Docker on
# the machine. busy/total: all CPUs, from /proc/stat.
cpu_snapshot() {
	local ids pid ip f c cmd ctr="" shims="" daemons="" ips=" "
	ids=$("$DOCKER" ps -q --filter "label=edgewhisk.instance=$INSTANCE" 2>/dev/null)
	if [ -n "$ids" ]; then
		# shellcheck disable=SC2086 # one id per word
		while read -r pid ip; do
			[ "${pid:-0}" -gt 0 ] 2>/dev/null || continue
			ctr+=" $(descendants "$pid" | tr '\n' ' ')"
			shims+=" $(awk '{ sub(/^.*\) /, ""); print $2 }' "/proc/$pid/stat" 2>/dev/null)"
			ips+="$ip "
		done < <("$DOCKER" inspect \
			-f '{{.State.Pid}} {{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' $ids 2>/dev/null)
	fi
	for f in /proc/[0-9]*/comm; do
		{ read -r c <"$f"; } 2>/dev/null || continue
		pid=${f#/proc/}
		pid=${pid%/comm}
		case $c in
		dockerd | containerd) daemons+=" $pid" ;;
		docker-proxy)
			cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
			ip=${cmd#*-container-ip }
			ip=${ip%% *}
			[[ $cmd == *-container-ip* && $ips == *" $ip "* ]] && shims+=" $pid"
			;;
		esac
	done
	# shellcheck disable=SC2086 # pid lists
	echo "$(cpu_ticks "$CTRL_PID") $(cpu_ticks $INV_PIDS) $(cpu_ticks $ctr) $(cpu_ticks $shims)" \
		"$(cpu_ticks $daemons)" \
		"$(awk '/^cpu / { b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6; exit }' /proc/stat)"
}

# cpu_per_req BEFORE AFTER REQUESTS: "controller invokers containers shims
# daemons busy%" (CPU microseconds per request; machine busy percent).
cpu_per_req() {
	awk -v b="$1" -v a="$2" -v n="$3" -v hz="$CLK_TCK" 'BEGIN {
		split(b, x, " "); split(a, y, " ")
		if (n + 0 <= 0) { print "- - - - - -"; exit }
		for (i = 1; i <= 5; i++) printf "%.0f ", (y[i] - x[i]) * 1e6 / hz / n
		busy = (y[7] - x[7] > 0) ? 100 * (y[6] - x[6]) / (y[7] - x[7]) : 0
		printf "%.0f\n", busy }'
}

# parse_wrk FILE: "p50_ms p99_ms avg_ms req_per_s requests errors non2xx"
# from wrk --latency output (latencies converted to ms).
parse_wrk() {
	awk '
	function ms(v,  n, u) {
		n = v; sub(/[a-z]+$/, "", n)
		u = v; sub(/^[0-9.]+/, "", u)
		if (u == "us") return n / 1000
		if (u == "ms") return n + 0
		if (u == "s") return n * 1000
		if (u == "m") return n * 60000
		if (u == "h") return n * 3600000
		return n + 0
	}
	/^[ \t]*Latency Distribution/ { dist = 1; next }
	dist && $1 == "50%" { p50 = ms($2) }
	dist && $1 == "99%" { p99 = ms($2); dist = 0 }
	!dist && $1 == "Latency" && avg == "" { avg = ms($2) }
	/ requests in / { reqs = $1 }
	/Socket errors:/ { gsub(/,/, ""); errs = $4 + $6 + $8 + $10 }
	/Non-2xx or 3xx responses:/ { non2xx = $NF }
	/^Requests\/sec:/ { rps = $2 }
	END {
		if (reqs == "" || rps == "" || reqs + 0 == 0) { print "- - - - 0 0 0"; exit }
		printf "%.3f %.3f %.3f %.1f %d %d %d\n", p50, p99, avg, rps, reqs, errs, non2xx
	}' "$1"
}

# run_wrk OUT URL CONC BODY AUTH [THREADS]: one wrk run (threads default
# min(CONC, 2)); sets CPU_BEFORE/CPU_AFTER around it.
run_wrk() {
	local out=$1 url=$2 c=$3 body=$4 auth=$5 t=${6:-}
	[ -n "$t" ] || t=$((c < 2 ? c : 2))
	local -a ns=()
	# NS_PID: run wrk inside that process's network namespace (a
	# container's), where 127.0.0.1:8080 is the container's own.
	[ -n "${NS_PID:-}" ] && ns=(nsenter -t "$NS_PID" -n)
	CPU_BEFORE=$(cpu_snapshot)
	EW_BENCH_BODY=$body EW_BENCH_AUTH=$auth \
		"${ns[@]}" wrk -t"$t" -c"$c" -d"${DUR}s" --timeout 30s --latency -s "$LUA" "$url" >"$out" 2>&1 &
	WRK_PID=$!
	wait "$WRK_PID"
	WRK_PID=''
	CPU_AFTER=$(cpu_snapshot)
}

# ratio A B: A / B with 2 decimals ('-' when either is missing or B is 0).
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || a == "" || b == "" || b + 0 == 0) print "-"
		else printf "%.2f", a / b }'
}

# containers_of KIND ACTION: names of the instance's KIND containers that ran
# ACTION (named after it, or with a sentinel in their log: a prewarmed stem
# cell keeps its name "..._prewarm" when an action takes it).
containers_of() {
	local kind=$1 action=$2 n
	"$DOCKER" ps --filter "label=edgewhisk.instance=$INSTANCE" --filter "label=edgewhisk.kind=$kind" \
		--format '{{.Names}}' 2>/dev/null | sort | while read -r n; do
		if [[ $n == *_"$action" ]] ||
			"$DOCKER" logs --tail 4 "$n" 2>&1 | grep -q "$SENTINEL"; then
			echo "$n"
		fi
	done
}

host_port() {
	"$DOCKER" port "$1" 8080/tcp 2>/dev/null | awk -F: '/^127\.0\.0\.1:/ { print $NF; exit }'
}

ctr_pid() {
	"$DOCKER" inspect -f '{{.State.Pid}}' "$1" 2>/dev/null
}

# run_wrk_each OUT BODY PID...: one wrk (one thread, one connection) in
# each PID's network namespace at once; OUT gets the parse_wrk line of
# them together: req/s and requests summed, p50 the mean of theirs, p99
# the highest.
run_wrk_each() {
	local out=$1 body=$2 p i=0
	local -a pids=()
	shift 2
	CPU_BEFORE=$(cpu_snapshot)
	for p in "$@"; do
		EW_BENCH_BODY=$body EW_BENCH_AUTH='' nsenter -t "$p" -n wrk -t1 -c1 -d"${DUR}s" \
			--timeout 30s --latency -s "$LUA" http://127.0.0.1:8080/run >"$out.$i" 2>&1 &
		pids+=($!)
		i=$((i + 1))
	done
	wait "${pids[@]}"
	CPU_AFTER=$(cpu_snapshot)
	for i in $(seq 0 $(($# - 1))); do parse_wrk "$out.$i"; done | awk '
		$5 + 0 == 0 { bad = 1 }
		{ p50 += $1; if ($2 > p99) p99 = $2; avg += $3; rps += $4; n += $5; e += $6; x += $7; k++ }
		END { if (bad || k == 0) { print "- - - - 0 0 0"; exit }
		      printf "%.3f %.3f %.3f %.1f %d %d %d\n", p50 / k, p99, avg / k, rps, n, e, x }' >"$out"
}

# published_start KIND IMAGE CODE: the old path beside the new floor, a
# container of the image with 8080 published on 127.0.0.1 (so docker-proxy
# carries every call), labelled with the instance (removed with it) but
# with no kind (containers_of skips it), given the action's /init. Prints
# its port.
published_start() {
	local kind=$1 image=$2 code=$3 name port i n init
	name="$INSTANCE-published-${kind%%:*}"
	"$DOCKER" rm -f "$name" >/dev/null 2>&1
	"$DOCKER" run -d --name "$name" --label "edgewhisk.instance=$INSTANCE" -m 256m \
		--memory-swap 256m -p 127.0.0.1::8080 "$image" >/dev/null || return 1
	port=$(host_port "$name")
	[ -n "$port" ] || return 1
	init=$(jq -nc --arg c "$code" '{value: {code: $c, main: "main", name: "published", binary: false, env: {}}}')
	for i in $(seq 1 200); do
		n=$("${CURL[@]}" -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
			--data-binary "$init" "http://127.0.0.1:$port/init" 2>/dev/null)
		[ "$n" = 200 ] && { echo "$port"; return 0; }
		sleep 0.05
	done
	return 1
}

# activation_stats ACTION: "n wait_avg_ms duration_avg_ms inits" over the
# newest 200 activation records of ACTION.
activation_stats() {
	req GET "/api/v1/namespaces/_/activations?name=$1&docs=true&limit=200"
	[ "$CODE" = 200 ] || { echo "0 - - -"; return; }
	printf '%s' "$BODY" | jq -r '
		[ .[] | { w: ([.annotations[]? | select(.key == "waitTime") | .value][0] // 0),
		          d: (.duration // 0),
		          i: ([.annotations[]? | select(.key == "initTime")] | length) } ] as $r
		| ($r | length) as $n
		| if $n == 0 then "0 - - -" else
		  "\($n) \(([$r[].w] | add) / $n) \(([$r[].d] | add) / $n) \([$r[].i] | add)" end' \
		2>/dev/null || echo "0 - - -"
}

fmt_ms() {
	awk -v v="$1" 'BEGIN { if (v == "-" || v == "") print "-"; else if (v + 0 >= 100) printf "%.0f", v;
		else printf "%.2f", v }'
}

# summary FIELDS: "p50 X ms, p99 Y ms, Z req/s, N requests, E errors".
summary() {
	# shellcheck disable=SC2086 # the fields of one parse_wrk line
	set -- $1
	echo "p50 $1 ms, p99 $2 ms, $4 req/s, $5 requests, $(($6 + $7)) errors"
}

# --- machine -----------------------------------------------------------

START_S=$SECONDS
MODEL=$(awk -F: '/^(model name|Hardware)/ { sub(/^[ \t]+/, "", $2); print $2; exit }' /proc/cpuinfo)
echo "bench_api: blocking invocations through the REST API vs. straight to the warm container"
echo "machine: nproc $(nproc), $(uname -m), ${MODEL:-unknown} (kernel $(uname -r))"
echo "load average at start: $(cat /proc/loadavg)"
echo "docker $("$DOCKER" version -f '{{.Server.Version}}' 2>/dev/null)," \
	"$(wrk --version 2>&1 | head -n 1 | awk '{ print $1, $2 }')"

start_controller
INV_PIDS=$(invoker_pids | tr '\n' ' ')
INV_PIDS=${INV_PIDS% }
NINV=$(echo "$INV_PIDS" | wc -w)
WARMC=$((NINV * USER_MEM_MB / 256))   # user_memory / 256m per container
WARMC=$((WARMC > MAXC ? WARMC : MAXC))
sleep 1   # let the prewarm containers start before measuring "idle"
rss_snapshot START
echo "controller: pid $CTRL_PID, port $PORT, $NINV invoker(s) (pids $INV_PIDS), instance $INSTANCE, user_memory ${USER_MEM_MB}m"
echo "wrk: ${DUR} s per run, threads = min(concurrency, 2), connections = concurrency, --latency"
echo

API=/api/v1/namespaces/_/actions
DEADLINE=$((($(date +%s) + 365 * 86400) * 1000))
AUTH_B64=$(printf '%s' "$GUEST_AUTH" | base64 -w0)

# Results keyed "kind:c": EW (edgewhisk), DI (direct, one container), DN
# (direct, one container per connection): parse_wrk fields; EC/DC: CPU per
# request; ST: activation record stats; NCTR: containers after the run.
declare -A EW DI DN PB EC DC ST NCTR
KINDS=()
PROFILE_OUT=

# bench_kind KIND ACTION CODE IMAGE: create, warm, edgewhisk runs, direct runs
# (in the containers' namespaces), the published-port runs.
bench_kind() {
	local kind=$1 action=$2 code=$3 image=$4 c i ms times="" cold="" url n before after ctr port pid aid body
	local -a names pids
	req PUT "$API/$action?overwrite=true" -H 'Content-Type: application/json' \
		--data-binary "$(jq -nc --arg k "$kind" --arg c "$code" '{exec: {kind: $k, code: $c}}')"
	[ "$CODE" = 200 ] || die "create $kind action $action: $CODE $BODY"
	KINDS+=("$kind")

	# Warm: sequential blocking invocations (the first one starts a container).
	for i in 1 2 3 4 5 6; do
		ms=$("${CURL[@]}" -u "$GUEST_AUTH" -o "$T/resp" -w '%{http_code} %{time_total}' -X POST \
			-H 'Content-Type: application/json' --data-binary '{}' \
			"$BASE$API/$action?blocking=true&result=true" 2>/dev/null)
		[ "${ms%% *}" = 200 ] || die "invoke $action: ${ms%% *} $(cat "$T/resp" 2>/dev/null)"
		ms=$(awk -v s="${ms#* }" 'BEGIN { printf "%.1f", s * 1000 }')
		if [ "$i" = 1 ]; then cold=$ms; else times+="$ms "; fi
	done
	# Idle: after startup and a few invocations, before any load.
	[ "$kind" = nodejs:20 ] && rss_snapshot IDLE
	echo "$kind noop ($action): first invocation $cold ms (a cold start, or a prewarmed stem cell)," \
		"then ${times% } ms (curl, sequential)"

	url="$BASE$API/$action?blocking=true&result=true"
	# Fill the pool (every invoker's user_memory in 256 MB containers, or
	# the highest concurrency if that is more) so that the measured runs do
	# not include cold starts whichever invoker a request lands on; again
	# while it still grows (at most 3 rounds).
	n=0
	for i in 1 2 3; do
		DUR=$WARM_S run_wrk "$T/wrk-warm-$action.txt" "$url" "$WARMC" '{}' "$AUTH_B64"
		settle
		before=$n
		n=$(containers_of "$kind" "$action" | wc -l)
		[ "$n" -gt "$before" ] || break
	done
	echo "  pool warm-up: $i x $WARM_S s at concurrency $WARMC -> $n warm container(s)"

	for c in $CONCS; do
		before=$(containers_of "$kind" "$action" | wc -l)
		run_wrk "$T/wrk-ew-$action-$c.txt" "$url" "$c" '{}' "$AUTH_B64"
		EW[$kind:$c]=$(parse_wrk "$T/wrk-ew-$action-$c.txt")
		EC[$kind:$c]=$(cpu_per_req "$CPU_BEFORE" "$CPU_AFTER" "$(echo "${EW[$kind:$c]}" | cut -d' ' -f5)")
		settle
		after=$(containers_of "$kind" "$action" | wc -l)
		NCTR[$kind:$c]=$after
		[ "$after" -gt "$before" ] && NCTR[$kind:$c]="$after (+$((after - before)) cold)"
		ST[$kind:$c]=$(activation_stats "$action")
		echo "  edgewhisk c=$c: $(summary "${EW[$kind:$c]}")"
	done

	[ "$PROFILE" = 1 ] && [ "$kind" = nodejs:20 ] && profile_runs "$url"

	# Direct: the same load on the action's warm containers while no
	# invocation goes through the invoker. After all edgewhisk runs on
	# purpose: the invoker reads each activation's logs from the container's
	# log file up to the next sentinel pair, so /run requests it did not
	# send leave sentinels there that later activations of that container
	# would take for their own (and stop waiting early).
	settle
	mapfile -t names < <(containers_of "$kind" "$action")
	pids=()
	for n in "${names[@]}"; do
		pid=$(ctr_pid "$n")
		[ -n "$pid" ] && [ "$pid" != 0 ] && pids+=("$pid")
	done
	[ "${#pids[@]}" -gt 0 ] || die "no running warm $kind container of $action"
	ctr=${names[0]}
	aid=$(tr -d '-' </proc/sys/kernel/random/uuid)
	body="{\"value\":{},\"namespace\":\"guest\",\"action_name\":\"/guest/$action\",\"action_version\":\"0.0.1\",\"activation_id\":\"$aid\",\"transaction_id\":\"$aid\",\"deadline\":\"$DEADLINE\"}"
	for pid in "${pids[@]}"; do
		n=$(nsenter -t "$pid" -n "${CURL[@]}" -o "$T/resp" -w '%{http_code}' -X POST \
			-H 'Content-Type: application/json' --data-binary "$body" \
			"http://127.0.0.1:8080/run" 2>/dev/null)
		[ "$n" = 200 ] || die "direct /run in the namespace of pid $pid: $n $(cat "$T/resp" 2>/dev/null)"
	done
	echo "  direct: container $ctr, its own 127.0.0.1:8080/run (${#pids[@]} warm container(s))"
	for c in $CONCS; do
		NS_PID=${pids[0]} run_wrk "$T/wrk-direct-$action-$c.txt" "http://127.0.0.1:8080/run" "$c" "$body" ''
		DI[$kind:$c]=$(parse_wrk "$T/wrk-direct-$action-$c.txt")
		DC[$kind:$c]=$(cpu_per_req "$CPU_BEFORE" "$CPU_AFTER" "$(echo "${DI[$kind:$c]}" | cut -d' ' -f5)")
		echo "  direct    c=$c: $(summary "${DI[$kind:$c]}")"
	done
	# Direct, one container per connection (one wrk in each container's
	# namespace): what the containers give with no platform in between,
	# the fair baseline for the edgewhisk runs at c > 1, which spread over
	# several containers.
	for c in $CONCS; do
		if [ "$c" = 1 ]; then
			DN[$kind:$c]=${DI[$kind:$c]}
			continue
		fi
		if [ "${#pids[@]}" -lt "$c" ]; then
			DN[$kind:$c]="- - - - 0 0 0"
			echo "  direct xN c=$c: skipped (only ${#pids[@]} warm container(s))"
			continue
		fi
		run_wrk_each "$T/wrk-directn-$action-$c.txt" "$body" "${pids[@]:0:$c}"
		DN[$kind:$c]=$(cat "$T/wrk-directn-$action-$c.txt")
		echo "  direct xN c=$c: $(summary "${DN[$kind:$c]}") ($c containers)"
	done
	# The old path: the same calls through a published port.
	port=$(published_start "$kind" "$image" "$code") || die "published-port container of $kind"
	for c in $CONCS; do
		run_wrk "$T/wrk-published-$action-$c.txt" "http://127.0.0.1:$port/run" "$c" "$body" ''
		PB[$kind:$c]=$(parse_wrk "$T/wrk-published-$action-$c.txt")
		echo "  published c=$c: $(summary "${PB[$kind:$c]}") (127.0.0.1:$port, docker-proxy)"
	done
	"$DOCKER" rm -f "$INSTANCE-published-${kind%%:*}" >/dev/null 2>&1
	echo
}

comm_of() {
	cat "/proc/$1/comm" 2>/dev/null
}

# profile_runs URL: after the measured runs, not in the table. (1) Stage
# timeline of sequential invocations from syscall tracepoints of the
# controller and the invokers (bench/bench_api_stages.awk). (2) System-wide
# CPU profile during a run at concurrency T_RPS_CONC.
profile_runs() {
	local url=$1 c=$T_RPS_CONC pids ev
	PROFILE_OUT=$O/bench/api-perf.txt
	mkdir -p "$O/bench"
	pids="$CTRL_PID${INV_PIDS:+,${INV_PIDS// /,}}"
	ev="-e syscalls:sys_exit_readv -e syscalls:sys_enter_sendmsg -e syscalls:sys_exit_recvfrom"
	ev+=" -e syscalls:sys_enter_pread64 -e syscalls:sys_enter_futex -e syscalls:sys_exit_futex"
	# shellcheck disable=SC2086 # event list
	perf record $ev -p "$pids" -o "$T/trace.data" -- sleep $((DUR < 3 ? DUR + 1 : 4)) \
		>"$T/perf-trace.log" 2>&1 &
	PERF_PID=$!
	sleep 0.5
	DUR=$((DUR < 3 ? DUR : 3)) run_wrk "$T/wrk-trace.txt" "$url" 1 '{}' "$AUTH_B64"
	wait "$PERF_PID"
	PERF_PID=''
	settle
	perf record -a -g -F 999 -o "$T/perf.data" -- sleep "$DUR" >"$T/perf.log" 2>&1 &
	PERF_PID=$!
	run_wrk "$T/wrk-profile.txt" "$url" "$c" '{}' "$AUTH_B64"
	wait "$PERF_PID"
	PERF_PID=''
	settle
	{
		echo "# (1) perf record -e <syscall tracepoints> -p controller,invokers; wrk at concurrency 1:"
		echo "#     $(summary "$(parse_wrk "$T/wrk-trace.txt")") (traced)"
		perf script -i "$T/trace.data" -F comm,tid,time,event,trace 2>/dev/null | awk -f "$STAGES_AWK"
		echo
		echo "# (2) perf record -a -g -F 999 during an edgewhisk run at concurrency $c ($DUR s):"
		echo "#     $(summary "$(parse_wrk "$T/wrk-profile.txt")") (profiled)"
		echo "## CPU samples per command, whole machine (swapper = idle)"
		perf report -i "$T/perf.data" --stdio --no-children --sort comm -g none 2>/dev/null |
			grep -v '^#' | grep -v '^$' | head -n 20
		echo "## controller and invoker threads: shared objects"
		perf report -i "$T/perf.data" --stdio --no-children --pid "$pids" --sort comm,dso -g none \
			2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 25
		echo "## controller and invoker threads: top symbols"
		perf report -i "$T/perf.data" --stdio --no-children --pid "$pids" --sort comm,dso,sym \
			-g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 50
	} >"$PROFILE_OUT"
	echo "  profile (not in the table): per-stage timeline and CPU profile in ${PROFILE_OUT#"$ROOT"/}"
}

bench_kind nodejs:20 noop 'function main() { return {} }' edgewhisk/action-nodejs:1
if [ "$NATIVE" = 1 ]; then
	bench_kind native noopsh "#!/bin/sh
echo '{}'" edgewhisk/action-native:1
fi
rss_snapshot LOAD

# --- report ------------------------------------------------------------

echo "latency in ms (wrk --latency), req/s = wrk Requests/sec. direct = one warm container of the"
echo "action, reached on its own 127.0.0.1:8080 from inside its network namespace, as the invoker"
echo "reaches it (wrk under nsenter); it serves one connection"
echo "and one request at a time, so at c > 1 its clients take turns (a new connection replaces the"
echo "idle one: wrk counts the dropped ones as read errors). ratio p50 = edgewhisk / direct (lower is"
echo "better), ratio rps = edgewhisk / direct (higher is better)."
echo
printf '| %-9s | %4s | %-20s | %8s | %-17s | %9s | %9s | %9s | %-16s |\n' kind conc \
	'edgewhisk p50/p99 ms' 'ew req/s' 'direct p50/p99 ms' 'dir req/s' 'ratio p50' 'ratio rps' \
	'errors ew/direct'
printf '|%s|\n' '-----------|-----:|---------------------:|---------:|------------------:|----------:|----------:|----------:|-----------------:'
for kind in "${KINDS[@]}"; do
	for c in $CONCS; do
		read -r ep50 ep99 _ erps _ eerr enon <<<"${EW[$kind:$c]}"
		read -r dp50 dp99 _ drps _ derr dnon <<<"${DI[$kind:$c]}"
		printf '| %-9s | %4s | %20s | %8s | %17s | %9s | %9s | %9s | %16s |\n' "$kind" "$c" \
			"$(fmt_ms "$ep50") / $(fmt_ms "$ep99")" "$erps" "$(fmt_ms "$dp50") / $(fmt_ms "$dp99")" \
			"$drps" "$(ratio "$ep50" "$dp50")" "$(ratio "$erps" "$drps")" \
			"$((eerr + enon)) / $((derr + dnon))"
	done
done

echo
echo "direct xN: c containers of the action, one connection each (no platform in between);"
echo "edgewhisk spreads concurrent invocations over that many containers too."
echo
printf '| %-9s | %4s | %-21s | %12s | %8s | %-18s |\n' kind conc 'direct xN p50/p99 ms' \
	'dir xN req/s' 'ew req/s' 'ratio rps (ew/xN)'
printf '|%s|\n' '-----------|-----:|----------------------:|-------------:|---------:|-------------------:'
for kind in "${KINDS[@]}"; do
	for c in $CONCS; do
		read -r np50 np99 _ nrps _ <<<"${DN[$kind:$c]}"
		read -r _ _ _ erps _ <<<"${EW[$kind:$c]}"
		printf '| %-9s | %4s | %21s | %12s | %8s | %18s |\n' "$kind" "$c" \
			"$(fmt_ms "$np50") / $(fmt_ms "$np99")" "$nrps" "$erps" "$(ratio "$erps" "$nrps")"
	done
done

echo
echo "the old path: a container of the same image with 8080 published on 127.0.0.1, so"
echo "docker-proxy carries each call, against direct in the namespace (one container each)."
echo
printf '| %-9s | %4s | %-21s | %13s | %-17s | %14s |\n' kind conc 'published p50/p99 ms' \
	'published rps' 'direct p50/p99 ms' 'ratio p50 (p/d)'
printf '|%s|\n' '-----------|-----:|----------------------:|--------------:|------------------:|---------------:'
for kind in "${KINDS[@]}"; do
	for c in $CONCS; do
		read -r pp50 pp99 _ prps _ <<<"${PB[$kind:$c]:-- - - -}"
		read -r dp50 dp99 _ <<<"${DI[$kind:$c]}"
		printf '| %-9s | %4s | %21s | %13s | %17s | %14s |\n' "$kind" "$c" \
			"$(fmt_ms "$pp50") / $(fmt_ms "$pp99")" "$prps" "$(fmt_ms "$dp50") / $(fmt_ms "$dp99")" \
			"$(ratio "$pp50" "$dp50")"
	done
done

echo
echo "CPU per request in us (utime+stime over the run / requests): controller, invokers,"
echo "containers (proxy + runtime), shim+proxy (this instance's containerd-shims, which copy"
echo "container output into the json-file logs, and docker-proxy), dockerd (dockerd + containerd,"
echo "shared with any other Docker user on the machine); busy = all CPUs, wrk and others included."
echo
printf '| %-9s | %4s | %-9s | %10s | %8s | %10s | %10s | %7s | %5s |\n' kind conc run controller \
	invokers containers shim+proxy dockerd busy
printf '|%s|\n' '-----------|-----:|-----------|-----------:|---------:|-----------:|-----------:|--------:|------:'
for kind in "${KINDS[@]}"; do
	for c in $CONCS; do
		for run in edgewhisk direct; do
			if [ "$run" = edgewhisk ]; then v=${EC[$kind:$c]:-}; else v=${DC[$kind:$c]:-}; fi
			read -r cc ci cn cs cd cb <<<"${v:-- - - - - -}"
			printf '| %-9s | %4s | %-9s | %10s | %8s | %10s | %10s | %7s | %4s%% |\n' "$kind" "$c" \
				"$run" "$cc" "$ci" "$cn" "$cs" "$cd" "$cb"
		done
	done
done

echo
echo "edgewhisk time split from the activation records (newest 200 of each run; whole"
echo "milliseconds, so only the means say something): waitTime = controller arrival -> invoker"
echo "sends /run; duration = /run as the invoker sees it; rest = wrk mean - both (HTTP, auth,"
echo "store read, log collection, completion, activation record write, reply)."
echo
printf '| %-9s | %4s | %10s | %12s | %12s | %7s | %-14s |\n' kind conc 'wrk avg' 'waitTime avg' \
	'duration avg' rest 'containers'
printf '|%s|\n' '-----------|-----:|-----------:|-------------:|-------------:|--------:|:---------------'
for kind in "${KINDS[@]}"; do
	for c in $CONCS; do
		read -r _ _ eavg _ <<<"${EW[$kind:$c]}"
		read -r _ sw sd _ <<<"${ST[$kind:$c]}"
		rest=$(awk -v a="$eavg" -v w="$sw" -v d="$sd" 'BEGIN {
			if (a == "-" || w == "-" || d == "-") print "-"; else printf "%.2f", a - w - d }')
		printf '| %-9s | %4s | %10s | %12s | %12s | %7s | %-14s |\n' "$kind" "$c" "$(fmt_ms "$eavg")" \
			"$(fmt_ms "$sw")" "$(fmt_ms "$sd")" "$rest" "${NCTR[$kind:$c]}"
	done
done

if [ -n "$PROFILE_OUT" ] && [ -r "$PROFILE_OUT" ]; then
	echo
	sed -n '/^stages over/,/^  log file reads/p' "$PROFILE_OUT"
fi

echo
echo "memory (VmRSS / VmHWM in MiB):"
echo "  controller after startup:             $(mib "$CTRL_RSS_START") / $(mib "$CTRL_HWM_START")  ($CTRL_THR_START threads)"
echo "  controller idle (warm, before load):  $(mib "$CTRL_RSS_IDLE") / $(mib "$CTRL_HWM_IDLE")"
echo "  controller after the runs:            $(mib "$CTRL_RSS_LOAD") / $(mib "$CTRL_HWM_LOAD")  ($CTRL_THR_LOAD threads)"
read -r -a irs <<<"$INV_RSS_START"
read -r -a iri <<<"$INV_RSS_IDLE"
read -r -a irl <<<"$INV_RSS_LOAD"
read -r -a ihl <<<"$INV_HWM_LOAD"
i=0
for p in $INV_PIDS; do
	echo "  invoker $i (pid $p): startup $(mib "${irs[$i]:-}"), idle $(mib "${iri[$i]:-}")," \
		"after the runs $(mib "${irl[$i]:-}") / $(mib "${ihl[$i]:-}")"
	i=$((i + 1))
done

# --- CSV ---------------------------------------------------------------

mkdir -p "$(dirname "$CSV")" || die "cannot create $(dirname "$CSV")"
{
	echo "test,kind,concurrency,seconds,ew_p50_ms,ew_p99_ms,ew_avg_ms,ew_rps,ew_requests,ew_errors,direct_p50_ms,direct_p99_ms,direct_avg_ms,direct_rps,direct_requests,direct_errors,ratio_p50,ratio_rps,directn_p50_ms,directn_p99_ms,directn_rps,directn_errors,ratio_rps_n,containers,wait_avg_ms,duration_avg_ms,ew_cpu_controller_us,ew_cpu_invokers_us,ew_cpu_containers_us,ew_cpu_shims_us,ew_cpu_dockerd_us,ew_busy_pct,direct_cpu_containers_us,direct_cpu_shims_us,direct_cpu_dockerd_us,direct_busy_pct,published_p50_ms,published_p99_ms,published_rps,process,rss_startup_kb,rss_idle_kb,rss_after_kb,hwm_after_kb"
	for kind in "${KINDS[@]}"; do
		for c in $CONCS; do
			read -r ep50 ep99 eavg erps ereq eerr enon <<<"${EW[$kind:$c]}"
			read -r dp50 dp99 davg drps dreq derr dnon <<<"${DI[$kind:$c]}"
			read -r np50 np99 _ nrps _ nerr nnon <<<"${DN[$kind:$c]}"
			read -r _ sw sd _ <<<"${ST[$kind:$c]}"
			read -r cc ci cn cs cd cb <<<"${EC[$kind:$c]:-- - - - - -}"
			read -r _ _ xn xs xd xb <<<"${DC[$kind:$c]:-- - - - - -}"
			read -r pp50 pp99 _ prps _ <<<"${PB[$kind:$c]:-- - - -}"
			nc=${NCTR[$kind:$c]%% *}
			echo "invoke,$kind,$c,$DUR,$ep50,$ep99,$eavg,$erps,$ereq,$((eerr + enon)),$dp50,$dp99,$davg,$drps,$dreq,$((derr + dnon)),$(ratio "$ep50" "$dp50"),$(ratio "$erps" "$drps"),$np50,$np99,$nrps,$((nerr + nnon)),$(ratio "$erps" "$nrps"),$nc,$sw,$sd,$cc,$ci,$cn,$cs,$cd,$cb,$xn,$xs,$xd,$xb,$pp50,$pp99,$prps,,,,,"
		done
	done | sed 's/,-,/,,/g; s/,-,/,,/g; s/,-$/,/'
	echo "rss,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,controller,$CTRL_RSS_START,$CTRL_RSS_IDLE,$CTRL_RSS_LOAD,$CTRL_HWM_LOAD"
	i=0
	for p in $INV_PIDS; do
		echo "rss,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,invoker$i,${irs[$i]:-},${iri[$i]:-},${irl[$i]:-},${ihl[$i]:-}"
		i=$((i + 1))
	done
} >"$CSV.tmp" && mv "$CSV.tmp" "$CSV" || die "write $CSV failed"
echo
echo "csv: ${CSV#"$ROOT"/}"

# --- targets -----------------------------------------------------------

pass() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo MISS; fi; }

echo
echo "targets (nodejs noop; direct = one container, as the issue states them):"
for c in $CONCS; do
	read -r ep50 _ <<<"${EW[nodejs:20:$c]}"
	read -r dp50 _ <<<"${DI[nodejs:20:$c]}"
	r=$(ratio "$ep50" "$dp50")
	if [ "$r" = - ]; then
		printf '  MISS p50 <= %sx direct at concurrency %-2s   (no measurement)\n' "$T_P50_RATIO" "$c"
	else
		printf '  %s p50 <= %sx direct at concurrency %-2s   (%sx: %s ms vs %s ms)\n' \
			"$(pass "$r <= $T_P50_RATIO")" "$T_P50_RATIO" "$c" "$r" "$(fmt_ms "$ep50")" "$(fmt_ms "$dp50")"
	fi
done
if [ -n "${EW[nodejs:20:1]:-}" ]; then
	read -r ep50 _ <<<"${EW[nodejs:20:1]}"
	printf '  %s p50 <= %s ms at concurrency 1          (%s ms)\n' \
		"$([ "$ep50" = - ] && echo MISS || pass "$ep50 <= $T_P50_C1_MS")" "$T_P50_C1_MS" "$(fmt_ms "$ep50")"
fi
if [ -n "${EW[nodejs:20:$T_RPS_CONC]:-}" ]; then
	read -r _ _ _ erps _ <<<"${EW[nodejs:20:$T_RPS_CONC]}"
	read -r _ _ _ drps _ <<<"${DI[nodejs:20:$T_RPS_CONC]}"
	read -r _ _ _ nrps _ <<<"${DN[nodejs:20:$T_RPS_CONC]}"
	r=$(ratio "$erps" "$drps")
	printf '  %s req/s >= %sx direct at concurrency %s    (%sx: %s vs %s req/s; vs direct x%s: %sx)\n' \
		"$([ "$r" = - ] && echo MISS || pass "$r >= $T_RPS_RATIO")" "$T_RPS_RATIO" "$T_RPS_CONC" "$r" \
		"$erps" "$drps" "$T_RPS_CONC" "$(ratio "$erps" "$nrps")"
else
	echo "  ---- req/s >= ${T_RPS_RATIO}x direct at concurrency $T_RPS_CONC    (not measured: $T_RPS_CONC not in --conc)"
fi
printf '  %s controller RSS idle <= %s MiB            (%s MiB VmRSS, warm, before load)\n' \
	"$(pass "${CTRL_RSS_IDLE:-999999} <= $T_RSS_IDLE_MB * 1024")" "$T_RSS_IDLE_MB" "$(mib "$CTRL_RSS_IDLE")"
printf '  %s controller RSS under load <= %s MiB     (%s MiB VmHWM after the runs)\n' \
	"$(pass "${CTRL_HWM_LOAD:-999999} <= $T_RSS_LOAD_MB * 1024")" "$T_RSS_LOAD_MB" "$(mib "$CTRL_HWM_LOAD")"

echo
echo "load average at end: $(cat /proc/loadavg); total $((SECONDS - START_S)) s"
exit 0
