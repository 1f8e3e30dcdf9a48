#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The measurements behind deploy/TUNING.md: bench_invoker and bench_api.sh
# (what `make bench-invoker` / `make bench-api` run) at invokers 1 and 2 and
# user_memory 256m and 1024m, each cell REPS times, interleaved so that a
# noisy minute on a shared machine hits every cell alike; then one summary
# table of the means (and min..max) per cell.
#   deploy/bench-tuning.sh [--reps N] [--out DIR]     (needs dockerd + images; make first)
#   deploy/bench-tuning.sh --summary DIR              only summarise an earlier run
set -euo pipefail
cd "$(dirname "$0")/.."
reps=2
out=build/bench/tuning
summary_only=0
while [ $# -gt 0 ]; do
	case $1 in
	--reps) reps=$2; shift ;;
	--out) out=$2; shift ;;
	--summary) out=$2; summary_only=1; shift ;;
	*) echo "usage: deploy/bench-tuning.sh [--reps N] [--out DIR] | --summary DIR" >&2; exit 2 ;;
	esac
	shift
done

if [ "$summary_only" = 0 ]; then
	[ -x build/bench/bench_invoker ] || make -s all build/bench/bench_invoker
	mkdir -p "$out"
	for rep in $(seq 1 "$reps"); do
		for um in 256 1024; do
			echo "== rep $rep: bench_invoker user_memory ${um}m (throughput with 1 and 2 invokers)"
			build/bench/bench_invoker --kinds nodejs --cold 3 --warm 200 --seconds 3 \
				--user-memory "$um" --csv "$out/inv-$um-$rep.csv" >"$out/inv-$um-$rep.log" 2>&1 ||
				echo "   failed: $out/inv-$um-$rep.log"
			for inv in 1 2; do
				echo "== rep $rep: bench_api invokers $inv user_memory ${um}m"
				bench/bench_api.sh --quick --no-native --conc "1 4 8" --invokers "$inv" \
					--user-memory "${um}m" --csv "$out/api-$inv-$um-$rep.csv" \
					>"$out/api-$inv-$um-$rep.log" 2>&1 || echo "   failed: $out/api-$inv-$um-$rep.log"
			done
		done
	done
fi

python3 - "$out" <<'EOF'
import csv, glob, os, re, statistics, sys
out = sys.argv[1]

def fmt(vals, nd=0):
    if not vals:
        return "-"
    m = statistics.median(vals)
    s = f"{m:.{nd}f}"
    if len(vals) > 1:
        s += f" ({min(vals):.{nd}f}..{max(vals):.{nd}f})"
    return s

api = {}
for f in sorted(glob.glob(os.path.join(out, "api-*-*-*.csv"))):
    inv, um, _ = os.path.basename(f)[4:-4].split("-")
    cell = api.setdefault((int(inv), int(um)), {})
    for row in csv.DictReader(open(f)):
        if row["test"] == "invoke":
            c = int(row["concurrency"])
            cell.setdefault(("rps", c), []).append(float(row["ew_rps"]))
            cell.setdefault(("p50", c), []).append(float(row["ew_p50_ms"]))
            cell.setdefault(("p99", c), []).append(float(row["ew_p99_ms"]))
            cell.setdefault(("ctr", c), []).append(float(row["containers"] or 0))
            if row["wait_avg_ms"]:
                cell.setdefault(("wait", c), []).append(float(row["wait_avg_ms"]))
        elif row["test"] == "memory" or row.get("process"):
            p = row.get("process", "")
            if p.startswith("controller") and row.get("hwm_after_kb"):
                cell.setdefault("ctl_hwm", []).append(float(row["hwm_after_kb"]) / 1024)
            elif p.startswith("invoker") and row.get("hwm_after_kb"):
                cell.setdefault("inv_hwm", []).append(float(row["hwm_after_kb"]) / 1024)

print("bench_api (nodejs noop, blocking invoke through the REST API; wrk 2 s per run):")
print("median over runs (min..max)\n")
print("| invokers | user_memory | req/s c=1 | req/s c=4 | req/s c=8 | p50 ms c=1 | p50 ms c=8 | p99 ms c=8 | waitTime ms c=8 | containers c=8 | controller HWM MiB |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for (inv, um), cell in sorted(api.items()):
    g = lambda k, nd=0: fmt(cell.get(k, []), nd)
    print(f"| {inv} | {um}m | {g(('rps',1))} | {g(('rps',4))} | {g(('rps',8))} | {g(('p50',1),2)} "
          f"| {g(('p50',8),2)} | {g(('p99',8),1)} | {g(('wait',8),2)} | {g(('ctr',8))} | {g('ctl_hwm',1)} |")

inv = {}
# The printed table, not the CSV: metric names carry commas.
for f in sorted(glob.glob(os.path.join(out, "inv-*-*.log"))):
    um, _ = os.path.basename(f)[4:-4].split("-")
    cell = inv.setdefault(int(um), {})
    for line in open(f):
        cols = [c.strip() for c in line.split("|")]
        if len(cols) < 8 or cols[1] in ("kind", "") or cols[1].startswith("--"):
            continue
        try:
            cell.setdefault(cols[2], []).append(float(cols[3]))
        except ValueError:
            pass
print("\nbench_invoker (nodejs, the invoker driven through the queue; K=8 in flight, 3 s):\n")
print("| user_memory | 1 invoker req/s | 2 invokers req/s | cold start ms | prewarmed cold start ms | warm p50 us | idle invoker RSS kB |")
print("|---:|---:|---:|---:|---:|---:|---:|")
for um, cell in sorted(inv.items()):
    g = lambda k, nd=0: fmt(cell.get(k, []), nd)
    print(f"| {um}m | {g('throughput, 1 invoker (req/s)')} | {g('throughput, 2 invokers (req/s)')} "
          f"| {g('cold start, no prewarm, p50 (ms)')} | {g('cold start, prewarmed, p50 (ms)')} "
          f"| {g('warm, sequential, p50 (us)')} | {g('idle invoker VmRSS (kB)')} |")
EOF
