#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench_store: what an activation costs the storage and the CPU. The state
# dir lives on an ext4 file system on a loop device made for the run, so
# the bytes that reach a block device are counted (sectors written in
# /sys/block/loopN/stat, ext4's journal included), next to the controller's
# /proc/PID/io write_bytes (up to the stop: the stop's checkpoint is in the
# device figure only). For each store mode, blocking and non-blocking
# calls of a warm no-op action over one kept-alive connection at 10/s,
# 100/s and as fast as the answers come: bytes per activation accepted
# (device and process), the record's own size (the floor), controller and
# invoker CPU per activation (schedstat), p50/p90 latency and the rate
# reached.
#
#   bench/bench_store.sh [--quick] [--modes "per-record group"] [--csv PATH]
#
# Modes: per-record = one transaction per record (store.commit_window_ms: 0,
# the path before group commits, the baseline); group = the shipped
# defaults; group-MS = group commit with a window of MS milliseconds. Needs root (losetup, mkfs.ext4, mount) and dockerd; removes the
# loop device, its image file, the controller and its containers on exit.
# Loopback only. Exit status 0 when it ran, 1 when it could not.

set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
# shellcheck source=lib.sh
. bench/lib.sh

QUICK=0
MODES="per-record group"
CSV=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--modes) [ $# -ge 2 ] || { echo "bench_store: --modes LIST" >&2; exit 2; }; MODES=$2; shift ;;
	--csv) [ $# -ge 2 ] || { echo "bench_store: --csv PATH" >&2; exit 2; }; CSV=$2; shift ;;
	-h | --help) sed -n '3,19p' "$0"; exit 0 ;;
	*) echo "bench_store: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done
CSV=${CSV:-$O/bench/store.csv}
# rate:count pairs; 0 = as fast as the answers come.
if [ -n "${BENCH_STORE_RUNS:-}" ]; then
	RUNS=$BENCH_STORE_RUNS
elif [ "$QUICK" = 1 ]; then
	RUNS="10:30 100:200 0:300"
else
	RUNS="10:150 100:1500 0:3000"
fi

mode_config() {
	case $1 in
	per-record) printf 'store:\n  commit_window_ms: 0\n' ;;
	group) ;;
	group-*) printf 'store:\n  commit_window_ms: %s\n' "${1#group-}" ;;
	current) ;;
	*) return 1 ;;
	esac
}
for m in $MODES; do
	mode_config "$m" >/dev/null || { echo "bench_store: unknown mode '$m'" >&2; exit 2; }
done

[ "$(id -u)" = 0 ] || bench_die "needs root (losetup, mkfs.ext4, mount)"
for t in losetup mkfs.ext4 mount python3 jq; do
	command -v "$t" >/dev/null 2>&1 || bench_die "needs $t"
done
docker_answers || bench_die "dockerd does not answer (deploy/dockerd-up.sh)"
make -s all images >/dev/null || bench_die "build failed (make all images)"

bench_setup store
IMG=$T/state.img
MNT=$T/mnt
LOOP=
store_cleanup() {
	bench_stop 2>/dev/null
	if [ -n "$LOOP" ]; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
		losetup -d "$LOOP" 2>/dev/null
	fi
	rm -rf "$T"
}
trap store_cleanup EXIT

truncate -s 512M "$IMG" || bench_die "create $IMG"
LOOP=$(losetup -f --show "$IMG") || bench_die "losetup"
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$LOOP" >/dev/null 2>&1 || bench_die "mkfs.ext4 $LOOP"
mkdir -p "$MNT"
mount "$LOOP" "$MNT" || bench_die "mount $LOOP"
DEV=$(basename "$LOOP")

sectors() { awk '{ print $7 }' "/sys/block/$DEV/stat"; }
wbytes() { awk '/^write_bytes:/ { print $2 }' "/proc/$1/io" 2>/dev/null; }

# What a quiet store still has to write (the group commit's last batch, a
# checkpoint when quiet): wait until the device counter stops moving.
quiesce() {
	local a b i
	sync -f "$MNT"
	a=$(sectors)
	for i in $(seq 1 20); do
		sleep 0.5
		sync -f "$MNT"
		b=$(sectors)
		[ "$a" = "$b" ] && [ "$i" -ge 3 ] && return 0
		a=$b
	done
}

mkdir -p "$(dirname "$CSV")"
echo "mode,kind,rate,calls,ok,device_bytes_per_act,process_bytes_per_act,record_bytes,ctl_cpu_us_per_act,inv_cpu_us_per_act,p50_ms,p90_ms,achieved_per_s" >"$CSV"
printf '%-10s %-11s %5s %6s %10s %10s %7s %8s %8s %7s %7s %7s\n' mode kind rate calls \
	dev_B/act proc_B/act rec_B ctl_us inv_us p50_ms p90_ms got/s
run=0
for mode in $MODES; do
	for kind in blocking nonblocking; do
		for r in $RUNS; do
			rate=${r%%:*} count=${r#*:} run=$((run + 1))
			# A controller of its own per run, on a fresh store: each run's
			# figure holds its own checkpoint (the one at a clean stop),
			# none left over from the run before.
			EW_STATE_DIR=$MNT/run$run
			BENCH_CONFIG_EXTRA=$(mode_config "$mode")
			export EW_STATE_DIR BENCH_CONFIG_EXTRA
			bench_start
			create_action noop nodejs:20 'function main() { return {} }'
			python3 bench/store_load.py --port "$PORT" --auth "$GUEST_AUTH" --action noop \
				--kind blocking --count 20 >/dev/null || bench_die "warm-up calls failed"
			settle
			quiesce
			s0=$(sectors) w0=$(wbytes "$CTRL_PID")
			c0=$(cpu_ns "$CTRL_PID") i0=$(cpu_ns $INV_PIDS)
			out=$(python3 bench/store_load.py --port "$PORT" --auth "$GUEST_AUTH" \
				--action noop --kind "$kind" --count "$count" --rate "$rate")
			settle
			c1=$(cpu_ns "$CTRL_PID") i1=$(cpu_ns $INV_PIDS) w1=$(wbytes "$CTRL_PID")
			ok=$(jq -r .ok <<<"$out")
			id=$(jq -r '.ids[-1] // empty' <<<"$out")
			rec=0
			if [ -n "$id" ]; then
				rec=$("${CURL[@]}" -u "$GUEST_AUTH" "$BASE/api/v1/namespaces/_/activations/$id" |
					jq -c . | head -c -1 | wc -c)
			fi
			# A clean stop commits what is queued and checkpoints the WAL.
			kill -TERM "$CTRL_PID" 2>/dev/null
			wait "$CTRL_PID" 2>/dev/null
			CTRL_PID=
			quiesce
			s1=$(sectors)
			bench_stop
			row=$(awk -v m="$mode" -v k="$kind" -v r="$rate" -v n="$count" -v ok="$ok" \
				-v ds=$((s1 - s0)) -v dw=$((w1 - w0)) -v rec="$rec" \
				-v dc=$((c1 - c0)) -v di=$((i1 - i0)) \
				-v p50="$(jq -r .p50_ms <<<"$out")" -v p90="$(jq -r .p90_ms <<<"$out")" \
				-v el="$(jq -r .elapsed_s <<<"$out")" 'BEGIN {
				# Per activation accepted: a refused call (429 when
				# non-blocking calls outrun the invokers) writes nothing.
				a = ok > 0 ? ok : 1
				printf "%s,%s,%s,%d,%d,%.0f,%.0f,%d,%.0f,%.0f,%.3f,%.3f,%.1f\n", m, k,
					r == 0 ? "max" : r, n, ok, ds * 512 / a, dw / a, rec,
					dc / 1000 / a, di / 1000 / a, p50, p90, n / el }')
			echo "$row" >>"$CSV"
			IFS=, read -r a b c d e f g h i j k l mm <<<"$row"
			printf '%-10s %-11s %5s %6s %10s %10s %7s %8s %8s %7s %7s %7s\n' \
				"$a" "$b" "$c" "$d" "$f" "$g" "$h" "$i" "$j" "$k" "$l" "$mm"
			[ "$e" = "$d" ] || echo "# $mode $kind $c: $e of $d calls accepted, the rest refused (429: faster than the invokers); figures per accepted one" >&2
		done
	done
done
echo "# machine: $(nproc) CPU ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(uname -r); state on ext4 on $LOOP"
echo "# csv: $CSV"
