#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench_seed: the experiments of the project edgewhisk grew from (Lean
# OpenWhisk on a Raspberry Pi 4), run against edgewhisk on this machine:
#   A  concurrency   sleepy (30 ms timer), backends N x client concurrency c
#   B  payload       sleepy + a message of 0 B .. 1000 KB
#   C  data transfer ParamPass -> ParamPass as a 2-step sequence, 0 B .. 1 MB
#   cold start per kind, with and without prewarm, next to docker create+start
#   footprint of controller + invokers, idle and under the A load; image sizes
# each next to a same-run baseline straight to warm runtime containers.
# Writes CSV, Markdown tables, gnuplot PNGs and REPORT.md into OUT
# (bench/results/<date>-<host>/ by default). See bench/README.md (bench_seed).
#
#   QUICK=1 bench/bench_seed.sh     CI subset (<= 5 min)
#   bench/bench_seed.sh             full grid
# Every grid knob can be set from the environment: A_NS A_CS B_NS B_CS
# B_SIZES B_REPEATS C_SIZES C_RUNS REQS REPEATS COLD_N IDLE_S OUT EXPERIMENTS
# (default "footprint A B C cold").
#
# Loopback only. Each experiment starts its own controller (bench/lib.sh:
# free port, unique queue and state dir) and removes it and its containers
# when done, Ctrl-C included. Exit status: 0 when it ran (a MISS does not
# change it), 1 when it could not run.

set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT=$EW_ROOT
# O stays as given (tests/integration/lib.sh reads $EW_ROOT/$O); OB is absolute.
case $O in /*) OB=$O ;; *) OB=$ROOT/$O ;; esac
LOAD=$OB/bench/seed_load

QUICK=${QUICK:-0}
[ "$QUICK" = 1 ] || QUICK=0
if [ "$QUICK" = 1 ]; then
	: "${A_NS:=1 3}" "${A_CS:=1 4}" "${REPEATS:=1}" "${REQS:=40}"
	: "${B_NS:=1}" "${B_CS:=1}" "${B_SIZES:=0 1024 102400 1024000}"
	: "${C_SIZES:=0 102400 1000000}" "${C_RUNS:=5}" "${COLD_N:=1}" "${IDLE_S:=5}"
	: "${OUT:=$OB/bench/results/$(date -u +%Y-%m-%d)-$(hostname -s)-quick}"
else
	: "${A_NS:=1 2 3 4 5 6 7 8 9 10 11}" "${A_CS:=1 2 4 8 11 16 30}" "${REPEATS:=3}" "${REQS:=100}"
	: "${B_NS:=1 2 3 4 5}" "${B_CS:=1 2 5 10}" "${B_SIZES:=0 1024 102400 1024000}" "${B_REPEATS:=1}"
	: "${C_SIZES:=0 1024 5120 10240 20480 51200 100000 128000 208000 256000 400000 512000 650000 1000000}"
	: "${C_RUNS:=20}" "${COLD_N:=5}" "${IDLE_S:=60}"
	: "${OUT:=$ROOT/bench/results/$(date -u +%Y-%m-%d)-$(hostname -s)}"
fi
: "${B_REPEATS:=$REPEATS}"
: "${EXPERIMENTS:=footprint A B C cold}"
case $OUT in /*) ;; *) OUT=$ROOT/$OUT ;; esac
SLEEP_MS=30

# Debian's python3.11 package (make deps) has no python3 command.
PY=$(command -v python3 || command -v python3.11) || bench_die "python3 is missing (make deps)"
for tool in jq curl gnuplot; do
	command -v "$tool" >/dev/null 2>&1 || bench_die "$tool is missing (make deps)"
done
[ -x "$LOAD" ] || bench_die "$LOAD is missing: make $O/bench/seed_load (or make bench-seed)"
docker_answers || bench_die "Docker does not answer (start it with deploy/dockerd-up.sh)"
for img in nodejs python native; do
	"$DOCKER" image inspect "edgewhisk/action-$img:1" >/dev/null 2>&1 ||
		bench_die "image edgewhisk/action-$img:1 is missing: run make images"
done
has() { [[ " $EXPERIMENTS " == *" $1 "* ]]; }
max() { echo $(($1 > $2 ? $1 : $2)); }

bench_setup seed
mkdir -p "$OUT" || bench_die "cannot create $OUT"
# Generated files only: a hand-written NOTES.md stays.
rm -f "$OUT"/*.csv "$OUT"/*.dat "$OUT"/*.png "$OUT"/*.gp "$OUT"/*.txt "$OUT/REPORT.md" "$OUT/errors.log" \
	"$OUT"/a_*.md "$OUT"/b_*.md "$OUT"/c_*.md "$OUT"/cold_*.md "$OUT"/footprint.md
A_CSV=$OUT/a_concurrency.csv
B_CSV=$OUT/b_payload.csv
C_CSV=$OUT/c_transfer.csv
COLD_CSV=$OUT/cold_start.csv
FP_CSV=$OUT/footprint.csv
LOADCOLS="requests,errors,p50_ms,p95_ms,p99_ms,mean_ms,min_ms,max_ms,rps,wall_s"
echo "mode,backends,conc,rep,$LOADCOLS,ctrl_cpu_us_per_req,inv_cpu_us_per_req,busy_pct" >"$A_CSV"
echo "mode,size,backends,conc,rep,$LOADCOLS,ctrl_cpu_us_per_req,inv_cpu_us_per_req,busy_pct" >"$B_CSV"
echo "mode,size,run,comtime_ms,latency_ms,head_cold,tail_cold" >"$C_CSV"
echo "kind,mode,i,ms,init_ms,stemcell" >"$COLD_CSV"
echo "what,process,rss_kb,hwm_kb,cpu_pct,seconds" >"$FP_CSV"

START_S=$SECONDS
# Container lifecycle of the whole run (every controller of this run uses
# the same instance label): churn, deaths and OOM kills show up here.
"$DOCKER" events --filter "label=edgewhisk.instance=$EW_PREFIX-seed-$$" \
	--format '{{.Time}} {{.Action}} {{.Actor.Attributes.name}} exit={{.Actor.Attributes.exitCode}}' \
	>"$OUT/docker_events.txt" 2>/dev/null &
EVENTS_PID=$!
# On Ctrl-C/SIGTERM the CSVs written so far stay: bench/seed_report.py OUT
# reports them, and meta.txt says the run was cut short.
seed_cleanup() {
	[ -z "${EVENTS_PID:-}" ] || kill "$EVENTS_PID" 2>/dev/null
	if ! grep -q '^load_end=' "$OUT/meta.txt" 2>/dev/null; then
		echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.txt"
		echo "seconds=$((SECONDS - START_S)) (interrupted)" >>"$OUT/meta.txt"
	fi
	ew_cleanup
}
trap seed_cleanup EXIT
MODEL=$(awk -F: '/^(model name|Hardware)/ { sub(/^[ \t]+/, "", $2); print $2; exit }' /proc/cpuinfo)
{
	echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "host=$(hostname -s)"
	echo "machine=nproc $(nproc), $(uname -m), ${MODEL:-unknown}, kernel $(uname -r), $(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
	echo "docker=$("$DOCKER" version -f '{{.Server.Version}}' 2>/dev/null)"
	echo "commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo '+dirty')"
	echo "quick=$QUICK"
	echo "grid=A_NS='$A_NS' A_CS='$A_CS' REPEATS=$REPEATS REQS=$REQS B_NS='$B_NS' B_CS='$B_CS' B_SIZES='$B_SIZES' B_REPEATS=$B_REPEATS C_SIZES='$C_SIZES' C_RUNS=$C_RUNS COLD_N=$COLD_N IDLE_S=$IDLE_S EXPERIMENTS='$EXPERIMENTS'"
	echo "load_start=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/meta.txt"
echo "bench_seed: $(sed -n 's/^machine=//p' "$OUT/meta.txt"); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  output: ${OUT#"$ROOT"/}"

# proc_snapshot: "ctrl_ns inv_ns busy_ticks total_ticks" now (CPU time of
# the controller's and the invokers' threads, in ns, from schedstat: clock
# ticks are too coarse for 100 requests).
proc_snapshot() {
	# shellcheck disable=SC2086 # pid list
	echo "$(cpu_ns "$CTRL_PID") $(cpu_ns $INV_PIDS) $(busy_ticks)"
}

# cpu_per_req BEFORE AFTER N: "ctrl_us,inv_us,busy_pct" (per request; busy
# share of all CPUs, everything on the machine included).
cpu_per_req() {
	awk -v b="$1" -v a="$2" -v n="$3" 'BEGIN {
		split(b, x, " "); split(a, y, " ")
		if (n + 0 <= 0) { print ",,"; exit }
		busy = (y[4] - x[4] > 0) ? 100 * (y[3] - x[3]) / (y[4] - x[4]) : 0
		printf "%.0f,%.0f,%.0f\n", (y[1] - x[1]) / 1e3 / n, (y[2] - x[2]) / 1e3 / n, busy }'
}

# csv_of LOADLINE: the key=value line of seed_load as CSV fields.
csv_of() {
	echo "$1" | tr ' ' '\n' | sed -n 's/^[a-z0-9_]*=//p' | paste -sd, -
}

# load_run CSV PREFIX PATH PORTS CONC BODYFILE [AUTH]: one seed_load run
# (REQS requests after CONC warm-up ones), appended to CSV as PREFIX,fields.
# Without AUTH the ports are containers: one connection each (-s).
load_run() {
	local csv=$1 prefix=$2 path=$3 ports=$4 c=$5 body=$6 auth=${7:-} line before after
	local -a a=(-s)
	[ -n "$auth" ] && a=(-a "$auth")
	before=$(proc_snapshot)
	line=$("$LOAD" -c "$c" -n "$REQS" -w "$c" -b "$body" -e '"timeout"' -p "$path" "${a[@]}" \
		"$ports" 2>"$T/load.err") || bench_die "seed_load failed: $(cat "$T/load.err")"
	after=$(proc_snapshot)
	if [ -s "$T/load.err" ]; then
		echo "    ($prefix: $(head -c 400 "$T/load.err"))"
		# Keep the evidence: the error and the controller's log around it.
		{
			echo "== $(date -u +%H:%M:%S) $prefix (mode,[size,]N,c,rep): $(cat "$T/load.err")"
			grep -v ' debug ' "$T/controller.log" | tail -n 40
		} >>"$OUT/errors.log"
	fi
	echo "$prefix,$(csv_of "$line"),$(cpu_per_req "$before" "$after" "$REQS")" >>"$csv"
	LAST=$line
}

short() {
	# shellcheck disable=SC2086 # key=value words
	set -- $1
	local k v s=""
	for kv in "$@"; do
		k=${kv%%=*} v=${kv#*=}
		case $k in p50_ms | p99_ms | rps | errors) s+="$k $v  " ;; esac
	done
	echo "$s"
}

# footprint_snapshot WHAT SECONDS BEFORE: RSS/HWM of controller and invokers
# and their CPU share since BEFORE (a proc_snapshot-like "ticks per pid").
fp_ticks() {
	local p s
	s=$(cpu_ns "$CTRL_PID")
	for p in $INV_PIDS; do s+=" $(cpu_ns "$p")"; done
	echo "$s"
}
footprint_rows() {
	local what=$1 secs=$2 before=$3 after i=0 p t0 t1
	after=$(fp_ticks)
	read -r -a b <<<"$before"
	read -r -a a <<<"$after"
	for p in "$CTRL_PID" $INV_PIDS; do
		t0=${b[$i]:-0} t1=${a[$i]:-0}
		name=controller
		[ "$i" -gt 0 ] && name=invoker$((i - 1))
		echo "$what,$name,$(status_kb "$p" VmRSS),$(status_kb "$p" VmHWM),$(awk -v d=$((t1 - t0)) -v s="$secs" 'BEGIN { printf "%.2f", (s > 0 ? 100 * d / 1e9 / s : 0) }'),$secs" >>"$FP_CSV"
		i=$((i + 1))
	done
}

SLEEPY=$(cat "$ROOT/bench/seed/sleepy.js")
PARAMPASS=$(cat "$ROOT/bench/seed/parampass.js")
PATH_SLEEPY="$API/sleepy?blocking=true&result=true"

# Payload bodies for B (and A's, size "a"): {"timeout":"30","message":"<N>"}.
mkbody() {
	local n=$1 f=$T/body-$1.json
	if [ "$n" = a ]; then
		printf '{"timeout":"%s"}' "$SLEEP_MS" >"$f"
	else
		{
			printf '{"timeout":"%s","message":"' "$SLEEP_MS"
			head -c $((n * 5 + 4096)) /dev/urandom | tr -dc 'a-zA-Z0-9' | head -c "$n"
			printf '"}'
		} >"$f"
		[ "$(($(stat -c %s "$f") - 29))" -ge "$n" ] || bench_die "could not make a $n-byte message"
	fi
	run_envelope sleepy "$f" "$T/run-$1.json"
}

# --- bodies, backend counts, footprint ----------------------------------

NS_AB=""
has A && NS_AB+=" $A_NS"
has B && NS_AB+=" $B_NS"
NS_AB=$(echo "$NS_AB" | tr ' ' '\n' | grep -E '^[0-9]+$' | sort -n | uniq | tr '\n' ' ')
MAX_A_N=$(echo "$A_NS" | tr ' ' '\n' | sort -n | tail -n 1)
mkbody a
for s in $B_SIZES; do has B && mkbody "$s"; done

if has footprint; then
	echo "footprint: controller + invokers idle for $IDLE_S s (1 invoker, shipped user_memory 1024m)"
	BENCH_USER_MEMORY=1024m bench_start
	sleep 2
	before=$(fp_ticks)
	sleep "$IDLE_S"
	footprint_rows idle "$IDLE_S" "$before"
	bench_stop
	for img in nodejs python native; do
		echo "image,edgewhisk/action-$img:1,,,,$(image_size "edgewhisk/action-$img:1")" >>"$FP_CSV"
	done
fi

# --- C: data transfer through a 2-step sequence ------------------------

C_NOTE=""
if has C; then
	BENCH_USER_MEMORY=512m bench_start
	create_action ParamPass nodejs:20 "$PARAMPASS"
	# The spec's form (/_/ParamPass), and the fully qualified one upstream
	# wsk sends (/guest/ParamPass); the run uses the first one accepted.
	SEQ=""
	for form in "/_/ParamPass" "/guest/ParamPass"; do
		name=seq
		[ "$form" = /guest/ParamPass ] && name=seqfq
		reqj PUT "$API/$name?overwrite=true" \
			"$(jq -nc --arg f "$form" '{exec: {kind: "sequence", components: [$f, $f]}}')"
		if [ "$CODE" = 200 ]; then
			C_NOTE+="components $form: accepted. "
			[ -n "$SEQ" ] || SEQ=$name
		else
			C_NOTE+="components $form: HTTP $CODE $(printf '%s' "$BODY" | jq -r '.error // empty' 2>/dev/null | head -c 160). "
		fi
	done
	echo "C: $C_NOTE"
	# Warm ParamPass (the first call creates its container).
	for i in 1 2 3; do invoke_time ParamPass '{"payload":""}' >/dev/null; done
	if [ -n "$SEQ" ]; then
		for i in 1 2 3; do invoke_time "$SEQ" '{"payload":""}' >/dev/null; done
		"$PY" "$ROOT/bench/seed_transfer.py" --mode edgewhisk --port "$PORT" --auth "$GUEST_AUTH" \
			--seq "$SEQ" --sizes "$C_SIZES" --runs "$C_RUNS" --out "$C_CSV" ||
			C_NOTE+="edgewhisk run failed (see the log). "
	fi
	settle
	mapfile -t names < <(containers_of nodejs:20 ParamPass)
	p=$(host_port "${names[0]:-none}")
	if [ -n "$p" ]; then
		"$PY" "$ROOT/bench/seed_transfer.py" --mode direct --port "$PORT" --auth "$GUEST_AUTH" \
			--seq - --direct-port "$p" --sizes "$C_SIZES" --runs "$C_RUNS" --out "$C_CSV" ||
			C_NOTE+="direct run failed. "
	else
		C_NOTE+="no warm ParamPass container for the direct baseline. "
	fi
	awk -F, 'NR > 1 { n[$1 " " $2]++; s[$1 " " $2] += $4 }
		END { for (k in n) printf "  C %s: mean comTime %.1f ms over %d\n", k, s[k] / n[k], n[k] }' \
		"$C_CSV" | sort -k3,3 -k4n
	bench_stop
fi
echo "$C_NOTE" >"$OUT/c_note.txt"

# --- cold start ----------------------------------------------------------

if has cold; then
	KINDS="nodejs:20 python:3.11 native"
	declare -A CODE_OF=(
		[nodejs:20]='function main() { return {ok: true} }'
		[python:3.11]='def main(args): return {"ok": True}'
		[native]=$'#!/bin/sh\necho \'{"ok":true}\''
	)
	# cold_invoke KIND MODE I NAME: create NAME and time its first invocation.
	cold_invoke() {
		local r ms init stem
		create_action "$4" "$1" "${CODE_OF[$1]}"
		r=$(invoke_time "$4" '{}' 'blocking=true')
		[ "${r%% *}" = 200 ] || bench_die "cold invoke $4: ${r%% *} $(head -c 300 "$T/resp")"
		ms=${r#* }
		init=$(jq -r '[.annotations[]? | select(.key == "initTime") | .value][0] // ""' "$T/resp")
		# A container created for the action is named after it; a stem
		# cell keeps its "prewarm" name when an action takes it.
		stem=1
		"$DOCKER" ps --filter "label=edgewhisk.instance=$INSTANCE" --format '{{.Names}}' |
			grep -q "_$4\$" && stem=0
		echo "$1,$3,$2,$ms,$init,$stem" >>"$COLD_CSV"
		echo "  cold $1 $3 #$2: $ms ms (initTime $init ms)"
	}
	stemcells() {
		"$DOCKER" ps --filter "label=edgewhisk.instance=$INSTANCE" --filter status=running \
			--format '{{.Names}}' | grep -c prewarm
	}
	BENCH_USER_MEMORY=4096m BENCH_PREWARM=0 bench_start
	for kind in $KINDS; do
		for i in $(seq 1 "$COLD_N"); do cold_invoke "$kind" "$i" no-prewarm "cold-${kind%%:*}-$i"; done
	done
	bench_stop
	BENCH_USER_MEMORY=4096m BENCH_PREWARM=1 bench_start
	for kind in $KINDS; do
		for i in $(seq 1 "$COLD_N"); do
			# Wait for the three stem cells (one per kind) to be up again.
			for _ in $(seq 1 100); do [ "$(stemcells)" -ge 3 ] && break; sleep 0.2; done
			sleep 0.3
			cold_invoke "$kind" "$i" prewarm "pw-${kind%%:*}-$i"
		done
	done
	bench_stop
	# Baseline: docker create + start of the runtime image with the
	# invoker's options, through the Docker API (curl's own timing).
	DS=/var/run/docker.sock
	for kind in $KINDS; do
		img=edgewhisk/action-${kind%%:*}:1
		for i in $(seq 1 "$COLD_N"); do
			name="ewbench-seed-docker-$$-$i"
			spec=$(jq -nc --arg img "$img" --arg inst "ewbench-seed-$$" \
				'{Image: $img, Labels: {"edgewhisk.instance": $inst},
				  HostConfig: {Memory: 268435456, PidsLimit: 1024, NetworkMode: "bridge"}}')
			t1=$(curl -sS --unix-socket "$DS" -o "$T/dc.json" -w '%{time_total}' -X POST \
				-H 'Content-Type: application/json' --data-binary "$spec" \
				"http://localhost/containers/create?name=$name")
			id=$(jq -r '.Id // empty' "$T/dc.json")
			[ -n "$id" ] || bench_die "docker create: $(cat "$T/dc.json")"
			t2=$(curl -sS --unix-socket "$DS" -o /dev/null -w '%{time_total}' -X POST \
				"http://localhost/containers/$id/start")
			curl -sS --unix-socket "$DS" -o /dev/null -X DELETE "http://localhost/containers/$id?force=true"
			ms=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f", (a + b) * 1000 }')
			echo "$kind,docker-create-start,$i,$ms,," >>"$COLD_CSV"
			echo "  docker create+start $img #$i: $ms ms"
		done
	done
fi

# --- A + B: one controller per backend count N (last: the longest part,
# so a run cut short loses only its largest N) ---------------------------

for N in $NS_AB; do
	inA=0 inB=0
	has A && [[ " $A_NS " == *" $N "* ]] && inA=1
	has B && [[ " $B_NS " == *" $N "* ]] && inB=1
	BENCH_USER_MEMORY=$((256 * N))m bench_start
	create_action sleepy nodejs:20 "$SLEEPY"
	# Warm the pool to N containers: rounds of 2N concurrent requests until
	# it holds N (at most 5 rounds).
	for i in 1 2 3 4 5; do
		"$LOAD" -c "$((2 * N))" -n "$((4 * N))" -b "$T/body-a.json" -e '"timeout"' -p "$PATH_SLEEPY" \
			-a "$GUEST_AUTH" "$PORT" >/dev/null 2>&1
		settle
		mapfile -t names < <(containers_of nodejs:20 sleepy)
		[ "${#names[@]}" -ge "$N" ] && break
	done
	echo "N=$N: user_memory $((256 * N))m, ${#names[@]} warm sleepy container(s) after $i warm-up round(s)"
	# Footprint under load: over all edgewhisk A runs at the largest N.
	fp_before=$(fp_ticks) fp_s0=$(date +%s.%N)
	for rep in $(seq 1 "$(max "$REPEATS" "$B_REPEATS")"); do
		if [ "$inA" = 1 ] && [ "$rep" -le "$REPEATS" ]; then
			for c in $A_CS; do
				load_run "$A_CSV" "edgewhisk,$N,$c,$rep" "$PATH_SLEEPY" "$PORT" "$c" "$T/body-a.json" \
					"$GUEST_AUTH"
				echo "  A edgewhisk N=$N c=$c rep $rep: $(short "$LAST")"
			done
		fi
		if [ "$inB" = 1 ] && [ "$rep" -le "$B_REPEATS" ]; then
			for s in $B_SIZES; do
				for c in $B_CS; do
					load_run "$B_CSV" "edgewhisk,$s,$N,$c,$rep" "$PATH_SLEEPY" "$PORT" "$c" \
						"$T/body-$s.json" "$GUEST_AUTH"
					echo "  B edgewhisk size=$s N=$N c=$c rep $rep: $(short "$LAST")"
				done
			done
		fi
	done
	if [ "$inA" = 1 ] && [ "$N" = "$MAX_A_N" ]; then
		footprint_rows "A load N=$N (all c)" \
			"$(awk -v a="$fp_s0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')" "$fp_before"
	fi
	settle
	n_after=$(containers_of nodejs:20 sleepy | wc -l)
	[ "$n_after" -gt "${#names[@]}" ] && echo "  note: $((n_after - ${#names[@]})) container(s) started during the runs"
	# Direct: the same requests on the N warm containers (one connection
	# each, borrowed by the c clients). After all edgewhisk runs of this
	# controller: /run calls the invoker did not send leave log sentinels
	# that would confuse its log reader on later activations.
	ports=""
	for n in "${names[@]:0:$N}"; do
		p=$(host_port "$n")
		[ -n "$p" ] && ports+="${ports:+,}$p"
	done
	if [ -z "$ports" ]; then
		echo "  N=$N: no warm sleepy container left for the direct runs: skipped (see errors.log)"
		echo "== N=$N: direct runs skipped, no warm container" >>"$OUT/errors.log"
		bench_stop
		continue
	fi
	for rep in $(seq 1 "$(max "$REPEATS" "$B_REPEATS")"); do
		if [ "$inA" = 1 ] && [ "$rep" -le "$REPEATS" ]; then
			for c in $A_CS; do
				load_run "$A_CSV" "direct,$N,$c,$rep" /run "$ports" "$c" "$T/run-a.json"
				echo "  A direct    N=$N c=$c rep $rep: $(short "$LAST")"
			done
		fi
		if [ "$inB" = 1 ] && [ "$rep" -le "$B_REPEATS" ]; then
			for s in $B_SIZES; do
				for c in $B_CS; do
					load_run "$B_CSV" "direct,$s,$N,$c,$rep" /run "$ports" "$c" "$T/run-$s.json"
					echo "  B direct    size=$s N=$N c=$c rep $rep: $(short "$LAST")"
				done
			done
		fi
	done
	bench_stop
done

kill "$EVENTS_PID" 2>/dev/null
wait "$EVENTS_PID" 2>/dev/null
EVENTS_PID=''
echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.txt"
echo "seconds=$((SECONDS - START_S))" >>"$OUT/meta.txt"
"$PY" "$ROOT/bench/seed_report.py" "$OUT" || bench_die "report failed"
echo "report: ${OUT#"$ROOT"/}/REPORT.md ($((SECONDS - START_S)) s)"
trap - EXIT
T='' ew_cleanup
rm -rf "$T"
exit 0
