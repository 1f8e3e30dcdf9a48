#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Report of bench/bench_seed.sh: reads the CSVs in OUT, writes one Markdown
table per experiment, gnuplot data + scripts + PNGs, and OUT/REPORT.md with
the headline table (edgewhisk vs the same-run direct baseline vs the
results reported for Lean OpenWhisk on a Raspberry Pi 4) and PASS/MISS per
target. OUT/NOTES.md, when present (written by hand after a run: profile,
analysis), is appended to REPORT.md.

    bench/seed_report.py OUT"""
import csv
import os
import shlex
import statistics as st
import subprocess
import sys

PI = "reported, Raspberry Pi 4"
SLEEP_MS = 30.0
PER_BACKEND = 1000.0 / SLEEP_MS  # req/s one backend gives a 30 ms action

DEFAULT_GRID = {
    "A_NS": "1 2 3 4 5 6 7 8 9 10 11", "A_CS": "1 2 4 8 11 16 30", "REPEATS": "3", "REQS": "100",
    "B_NS": "1 2 3 4 5", "B_CS": "1 2 5 10", "B_SIZES": "0 1024 102400 1024000", "B_REPEATS": "1",
    "C_SIZES": "0 1024 5120 10240 20480 51200 100000 128000 208000 256000 400000 512000 650000 1000000",
    "C_RUNS": "20", "COLD_N": "5", "IDLE_S": "60", "EXPERIMENTS": "footprint A B C cold",
}


def rd(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def med(xs):
    xs = [x for x in xs if x is not None]
    return st.median(xs) if xs else None


def f(v, nd=1):
    if v is None:
        return "-"
    if abs(v) >= 100:
        return "%.0f" % v
    return ("%." + str(nd) + "f") % v


def ratio(a, b):
    return "-" if a is None or not b else "%.2f" % (a / b)


def size_label(n):
    """Bytes as given, with a short human form (1024000 -> "1024000 B (~1 MB)")."""
    n = int(n)
    if n < 1000:
        return "%d B" % n
    if n >= 1000000:
        return "%d B (~%.0f MB)" % (n, n / 1e6)
    return "%d B (%g KB)" % (n, round(n / 1000.0, 1))


def trimmed(xs, lo=20, hi=85):
    """Mean of the values between the lo-th and hi-th percentiles."""
    s = sorted(xs)
    if not s:
        return None
    a, b = int(len(s) * lo / 100), max(int(len(s) * hi / 100 + 0.5), int(len(s) * lo / 100) + 1)
    part = s[a:b] or s
    return sum(part) / len(part)


def table(head, rows, align=None):
    out = ["| " + " | ".join(head) + " |"]
    out.append("|" + "|".join((":---" if (align and align[i] == "l") else "---:") for i in range(len(head))) + "|")
    for r in rows:
        out.append("| " + " | ".join(str(x) for x in r) + " |")
    return "\n".join(out) + "\n"


def gnuplot(out, name, script, key="top left"):
    p = os.path.join(out, name + ".gp")
    with open(p, "w") as fh:
        fh.write("set terminal pngcairo size 900,560 font ',10'\nset output '%s.png'\n" % name)
        fh.write("set grid\nset key %s\n" % key + script)
    r = subprocess.run(["gnuplot", name + ".gp"], cwd=out, capture_output=True, text=True)
    if r.returncode != 0:
        print("seed_report: gnuplot %s: %s" % (name, r.stderr.strip()[:400]), file=sys.stderr)
        return False
    return True


# Set by main() when the run predates the cpu_ns fix: B's 1 MB cells are where
# the controller's lifetime CPU crossed 2^31 ns, so their readings are cut.
CPU_1MB_SUSPECT = False


def r_is_1mb(rs):
    return any(r.get("size") == "1024000" for r in rs)


def cpu_val(r, s):
    """A CPU-per-request reading, None when it cannot be right: a process
    that served the run's requests used some CPU, so exactly 0 is a failed
    reading (runs before the cpu_ns fix in bench/lib.sh: mawk's %d stopped
    at 2^31 ns of a process's lifetime CPU, which zeroed every later delta
    and cut short the one that crossed it). Only the first repeat's readings
    are used: they come first in each controller's life."""
    v = num(r.get(s))
    return v if v and r.get("rep") == "1" else None


def agg_load(rows, keys):
    """Group load rows by keys; median over repeats of each statistic."""
    g = {}
    for r in rows:
        g.setdefault(tuple(r[k] for k in keys), []).append(r)
    res = {}
    for k, rs in g.items():
        res[k] = {s: med([num(r[s]) for r in rs]) for s in
                  ("p50_ms", "p95_ms", "p99_ms", "mean_ms", "rps", "busy_pct")}
        for s in ("ctrl_cpu_us_per_req", "inv_cpu_us_per_req"):
            res[k][s] = med([cpu_val(r, s) for r in rs])
            if r_is_1mb(rs) and s == "ctrl_cpu_us_per_req" and CPU_1MB_SUSPECT:
                res[k][s] = None
        res[k]["errors"] = sum(int(num(r["errors"]) or 0) for r in rs)
        res[k]["reps"] = len(rs)
        res[k]["requests"] = sum(int(num(r["requests"]) or 0) for r in rs)
    return res


def main():
    out = sys.argv[1]
    meta = {}
    if os.path.exists(os.path.join(out, "meta.txt")):
        for line in open(os.path.join(out, "meta.txt")):
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    grid = {}
    for tok in shlex.split(meta.get("grid", "")):
        if "=" in tok:
            k, v = tok.split("=", 1)
            grid[k] = v
    global CPU_1MB_SUSPECT
    A = rd(os.path.join(out, "a_concurrency.csv"))
    B = rd(os.path.join(out, "b_payload.csv"))
    CPU_1MB_SUSPECT = any(r["mode"] == "edgewhisk" and num(r["ctrl_cpu_us_per_req"]) == 0 for r in A + B)
    C = rd(os.path.join(out, "c_transfer.csv"))
    COLD = rd(os.path.join(out, "cold_start.csv"))
    FP = rd(os.path.join(out, "footprint.csv"))
    cnote = open(os.path.join(out, "c_note.txt")).read().strip() if os.path.exists(
        os.path.join(out, "c_note.txt")) else ""
    targets = []   # (PASS/MISS/----, text)
    head = {}      # headline values

    def target(ok, text):
        targets.append(("----" if ok is None else ("PASS" if ok else "MISS"), text))

    # ---- A ----
    a = agg_load(A, ("mode", "backends", "conc"))
    a_ns = sorted({int(k[1]) for k in a})
    a_cs = sorted({int(k[2]) for k in a})
    md_a = ""
    if a:
        rows = []
        for n in a_ns:
            for c in a_cs:
                e = a.get(("edgewhisk", str(n), str(c)))
                d = a.get(("direct", str(n), str(c)))
                if not e:
                    continue
                rows.append([n, c, "%s / %s / %s" % (f(e["p50_ms"]), f(e["p95_ms"]), f(e["p99_ms"])),
                             f(e["rps"]),
                             "%s / %s / %s" % (f(d["p50_ms"]), f(d["p95_ms"]), f(d["p99_ms"])) if d else "-",
                             f(d["rps"]) if d else "-", ratio(e["p50_ms"], d and d["p50_ms"]),
                             ratio(e["rps"], d and d["rps"]), f(min(n, c) * PER_BACKEND),
                             "%s / %s" % (f(e["ctrl_cpu_us_per_req"], 0), f(e["inv_cpu_us_per_req"], 0)),
                             f(e["busy_pct"], 0), "%d / %d" % (e["errors"], d["errors"] if d else 0)])
        md_a = table(["N", "c", "edgewhisk p50/p95/p99 ms", "ew req/s", "direct p50/p95/p99 ms",
                      "direct req/s", "ratio p50", "ratio req/s", "ideal req/s", "CPU us/req ctrl / inv",
                      "busy %", "errors ew / direct"], rows)
        # data files for plots
        with open(os.path.join(out, "a_rps.dat"), "w") as fh:
            for n in a_ns:
                fh.write("# N=%d\n" % n)
                for c in a_cs:
                    e = a.get(("edgewhisk", str(n), str(c)))
                    d = a.get(("direct", str(n), str(c)))
                    if e:
                        fh.write("%d %s %s %s %s\n" % (c, e["rps"], e["p50_ms"], d["rps"] if d else "NaN",
                                                      d["p50_ms"] if d else "NaN"))
                fh.write("\n\n")
        peaks = {}
        with open(os.path.join(out, "a_peak.dat"), "w") as fh:
            for n in a_ns:
                ep = max((a[k]["rps"] for k in a if k[0] == "edgewhisk" and k[1] == str(n)), default=None)
                dp = max((a[k]["rps"] for k in a if k[0] == "direct" and k[1] == str(n)), default=None)
                peaks[n] = (ep, dp)
                fh.write("%d %s %s %s\n" % (n, ep, dp if dp is not None else "NaN", n * PER_BACKEND))
        with open(os.path.join(out, "a_pi.dat"), "w") as fh:
            fh.write("2 20\n11 7\n")
        plot = "plot "
        plot += ", ".join("'a_rps.dat' index %d using 1:2 with linespoints title 'N=%d'" % (i, n)
                          for i, n in enumerate(a_ns))
        gnuplot(out, "a_throughput", "set title 'A: edgewhisk throughput, sleepy 30 ms, blocking'\n"
                "set xlabel 'client concurrency'\nset ylabel 'req/s'\nset yrange [0:*]\n" + plot + "\n",
                key="outside right top")
        plot = ", ".join("'a_rps.dat' index %d using 1:3 with linespoints title 'N=%d'" % (i, n)
                         for i, n in enumerate(a_ns))
        gnuplot(out, "a_latency", "set title 'A: edgewhisk per-request p50 latency'\n"
                "set xlabel 'client concurrency'\nset ylabel 'p50 ms'\nset logscale y\nplot " + plot + "\n",
                key="outside right top")
        gnuplot(out, "a_peak", "set title 'A: peak throughput over client concurrency vs backends N'\n"
                "set xlabel 'backend concurrency N (max concurrent action containers)'\n"
                "set ylabel 'req/s'\nset yrange [0:*]\nset xrange [0:%d]\nset xtics 1\n"
                "plot 'a_peak.dat' u 1:2 w lp lw 2 t 'edgewhisk', 'a_peak.dat' u 1:3 w lp t 'direct (same run)', "
                "'a_peak.dat' u 1:4 w l dt 2 t 'N x 33.3 req/s', 'a_peak.dat' u 1:($4*0.9) w l dt 3 t 'target 0.9 x N x 33.3', "
                "'a_pi.dat' u 1:2 w p pt 7 ps 1.5 t '%s'\n" % (max(a_ns) + 1, PI))
        # targets
        e11 = a.get(("edgewhisk", "1", "1")) or next((a[k] for k in sorted(a) if k[0] == "edgewhisk"
                                                      and k[2] == "1"), None)
        d11 = a.get(("direct", "1", "1")) or next((a[k] for k in sorted(a) if k[0] == "direct"
                                                   and k[2] == "1"), None)
        if e11:
            target(e11["p50_ms"] <= 32.0, "A: lc=1 latency <= 32 ms p50 for the 30 ms action: %s ms "
                   "(direct %s ms, ratio %s)" % (f(e11["p50_ms"], 2), f(d11 and d11["p50_ms"], 2),
                                                 ratio(e11["p50_ms"], d11 and d11["p50_ms"])))
            head["lc1"] = (e11, d11)
        # What the machine holds: the N up to which the direct baseline
        # itself reaches 0.9 x N x 33 req/s (the first N where it does not
        # ends the range).
        hold = 0
        for n in a_ns:
            if peaks[n][1] is None or peaks[n][1] < 0.9 * n * PER_BACKEND:
                break
            hold = n
        for n in a_ns:
            ep, dp = peaks[n]
            goal = 0.9 * n * PER_BACKEND
            if n <= hold:
                target(ep >= goal, "A: N=%d peak >= 0.9 x N x 33 = %.0f req/s: %s req/s (direct %s)"
                       % (n, goal, f(ep), f(dp)))
            else:
                target(None, "A: N=%d: beyond what the machine holds (direct reaches %s of %.0f req/s); "
                       "edgewhisk %s req/s = %s x direct" % (n, f(dp), goal, f(ep), ratio(ep, dp)))
        best, coll = 0.0, []
        for n in a_ns:
            ep = peaks[n][0] or 0
            if best and ep < 0.8 * best:
                coll.append("N=%d: %s req/s < 0.8 x %s" % (n, f(ep), f(best)))
            best = max(best, ep)
        target(not coll, "A: throughput never collapses as N grows (peak stays >= 0.8 x the best at "
               "smaller N)%s" % (": " + "; ".join(coll) if coll else ""))
        head["peaks"] = peaks
        head["hold"] = hold

    # ---- B ----
    b = agg_load(B, ("mode", "size", "backends", "conc"))
    md_b = ""
    if b:
        sizes = sorted({int(k[1]) for k in b})
        bns = sorted({int(k[2]) for k in b})
        bcs = sorted({int(k[3]) for k in b})
        rows = []
        for s in sizes:
            for n in bns:
                for c in bcs:
                    e = b.get(("edgewhisk", str(s), str(n), str(c)))
                    d = b.get(("direct", str(s), str(n), str(c)))
                    if not e:
                        continue
                    rows.append([size_label(s), n, c,
                                 "%s / %s / %s" % (f(e["p50_ms"]), f(e["p95_ms"]), f(e["p99_ms"])),
                                 f(e["rps"]),
                                 "%s / %s / %s" % (f(d["p50_ms"]), f(d["p95_ms"]), f(d["p99_ms"])) if d else "-",
                                 f(d["rps"]) if d else "-", ratio(e["p50_ms"], d and d["p50_ms"]),
                                 ratio(e["rps"], d and d["rps"]),
                                 "%s / %s" % (f(e["ctrl_cpu_us_per_req"], 0), f(e["inv_cpu_us_per_req"], 0)),
                                 "%d / %d" % (e["errors"], d["errors"] if d else 0)])
        md_b = table(["message", "N", "c", "edgewhisk p50/p95/p99 ms", "ew req/s", "direct p50/p95/p99 ms",
                      "direct req/s", "ratio p50", "ratio req/s", "CPU us/req ctrl / inv",
                      "errors ew / direct"], rows)
        n0, c0 = str(bns[0]), str(bcs[0])
        with open(os.path.join(out, "b_payload.dat"), "w") as fh:
            for s in sizes:
                e = b.get(("edgewhisk", str(s), n0, c0))
                d = b.get(("direct", str(s), n0, c0))
                fh.write("%d %s %s %s %s\n" % (max(s, 1), e["p50_ms"] if e else "NaN", d["p50_ms"] if d else "NaN",
                                               e["p99_ms"] if e else "NaN", d["p99_ms"] if d else "NaN"))
        with open(os.path.join(out, "b_pi.dat"), "w") as fh:
            fh.write("102400 1400\n1024000 1400\n")
        gnuplot(out, "b_payload", "set title 'B: latency vs message size, N=%s, c=%s (0 B plotted at 1 B)'\n"
                "set xlabel 'message bytes'\nset ylabel 'ms'\nset logscale xy\n"
                "plot 'b_payload.dat' u 1:2 w lp lw 2 t 'edgewhisk p50', 'b_payload.dat' u 1:4 w lp dt 2 t "
                "'edgewhisk p99', 'b_payload.dat' u 1:3 w lp t 'direct p50', 'b_pi.dat' u 1:2 w p pt 7 ps 1.5 "
                "t '%s (~1.4 s)'\n" % (n0, c0, PI))
        e = b.get(("edgewhisk", "1024000", "1", "1"))
        d = b.get(("direct", "1024000", "1", "1"))
        if e:
            target(e["p50_ms"] <= 45.0, "B: 1 MB body at lc=1 <= 45 ms p50: %s ms (direct %s ms; reported "
                   "1.4 s)" % (f(e["p50_ms"], 2), f(d and d["p50_ms"], 2)))
        head["b"] = {s: (b.get(("edgewhisk", str(s), "1", "1")), b.get(("direct", str(s), "1", "1")))
                     for s in sizes}

    # ---- C ----
    md_c = ""
    cres = {}
    for r in C:
        cres.setdefault((r["mode"], int(r["size"])), []).append(r)
    if cres:
        sizes = sorted({k[1] for k in cres})
        rows = []
        with open(os.path.join(out, "c_transfer.dat"), "w") as fh:
            for s in sizes:
                e = cres.get(("edgewhisk", s), [])
                d = cres.get(("direct", s), [])
                ev = [float(r["comtime_ms"]) for r in e]
                dv = [float(r["comtime_ms"]) for r in d]
                el = [float(r["latency_ms"]) for r in e]
                cold_t = sum(1 for r in e if r["tail_cold"] == "1")
                cold_h = sum(1 for r in e if r["head_cold"] == "1")
                rows.append([size_label(s) if s else "0 B",
                             f(med(ev)), f(min(ev)) if ev else "-", f(max(ev)) if ev else "-", f(trimmed(ev)),
                             "%d / %d" % (cold_t, len(e)) if e else "-", "%d" % cold_h if e else "-",
                             f(med(el)),
                             f(med(dv)), f(min(dv)) if dv else "-", f(max(dv)) if dv else "-", f(trimmed(dv))])
                fh.write("%d %s %s %s %s %s %s\n" % (max(s, 1), med(ev) if ev else "NaN", min(ev) if ev else "NaN",
                                                     max(ev) if ev else "NaN", med(dv) if dv else "NaN",
                                                     min(dv) if dv else "NaN", max(dv) if dv else "NaN"))
                cres[("agg", s)] = (med(ev), cold_t + cold_h, len(e), med(dv), trimmed(ev))
        md_c = table(["payload", "ew comTime median ms", "min", "max", "trimmed mean 20-85%",
                      "tails in a new container", "heads in a new container", "ew call latency median ms",
                      "direct comTime median ms", "min", "max", "trimmed mean"], rows)
        with open(os.path.join(out, "c_pi.dat"), "w") as fh:
            fh.write("1 39\n100000 75\n256000 3800\n512000 3850\n1000000 3900\n")
        gnuplot(out, "c_transfer", "set title 'C: data transfer between 2 steps of a sequence (comTime; "
                "0 B at 1 B, 0 ms at 0.5 ms)'\nset xlabel 'payload bytes'\nset ylabel 'ms'\nset logscale x\n"
                "set logscale y\nf(v) = v < 0.5 ? 0.5 : v\n"
                "plot 'c_transfer.dat' u 1:(f($2)):(f($3)):(f($4)) w yerrorlines lw 2 t 'edgewhisk median "
                "(min..max)', 'c_transfer.dat' u 1:(f($5)):(f($6)):(f($7)) w yerrorlines t 'direct chain median "
                "(min..max)', 'c_pi.dat' u 1:2 w lp pt 7 dt 2 t '%s'\n" % PI)
        e0 = cres.get(("agg", 0))
        e1 = cres.get(("agg", 1000000))
        if e0 and e0[0] is not None:
            target(e0[0] <= 3.0, "C: comTime median at 0 B <= 3 ms: %s ms (direct chain %s ms; reported "
                   "~39 ms)" % (f(e0[0], 1), f(e0[3], 1)))
        elif 0 not in sizes:
            target(None, "C: comTime at 0 B: not in C_SIZES")
        else:
            target(False, "C: comTime at 0 B: not measured (%s)" % cnote)
        if e1 and e1[0] is not None:
            target(e1[0] <= 15.0, "C: comTime median at 1 MB <= 15 ms: %s ms (direct chain %s ms; reported "
                   "~3.7-3.9 s)" % (f(e1[0], 1), f(e1[3], 1)))
        elif 1000000 not in sizes:
            target(None, "C: comTime at 1 MB: not in C_SIZES")
        else:
            target(False, "C: comTime at 1 MB: not measured (%s)" % cnote)
        ew_rows = [r for r in C if r["mode"] == "edgewhisk"]
        if ew_rows:
            nc = sum(1 for r in ew_rows if r["tail_cold"] == "1" or r["head_cold"] == "1")
            target(nc == 0, "C: no cold-container mode at any size: %d of %d invocations had a step in a new "
                   "container" % (nc, len(ew_rows)))
        head["c"] = cres
    elif cnote:
        target(False, "C: not measured: %s" % cnote)

    # ---- cold start ----
    md_cold = ""
    cold = {}
    for r in COLD:
        cold.setdefault((r["kind"], r["mode"]), []).append(r)
    if cold:
        kinds = []
        for r in COLD:
            if r["kind"] not in kinds:
                kinds.append(r["kind"])
        rows = []
        with open(os.path.join(out, "cold_start.dat"), "w") as fh:
            for k in kinds:
                v = {}
                for m in ("no-prewarm", "prewarm", "docker-create-start"):
                    xs = [float(r["ms"]) for r in cold.get((k, m), [])]
                    v[m] = (med(xs), min(xs) if xs else None, max(xs) if xs else None, len(xs))
                init = med([num(r["init_ms"]) for r in cold.get((k, "no-prewarm"), [])])
                initp = med([num(r["init_ms"]) for r in cold.get((k, "prewarm"), [])])
                stem = sum(1 for r in cold.get((k, "prewarm"), []) if r["stemcell"] == "1")
                rows.append([k, "%s (%s..%s)" % (f(v["no-prewarm"][0]), f(v["no-prewarm"][1]), f(v["no-prewarm"][2])),
                             f(init), "%s (%s..%s)" % (f(v["prewarm"][0]), f(v["prewarm"][1]), f(v["prewarm"][2])),
                             f(initp), "%d / %d" % (stem, v["prewarm"][3]),
                             "%s (%s..%s)" % (f(v["docker-create-start"][0]), f(v["docker-create-start"][1]),
                                                       f(v["docker-create-start"][2])),
                             ratio(v["no-prewarm"][0], v["docker-create-start"][0]), v["no-prewarm"][3]])
                fh.write('"%s" %s %s %s\n' % (k, v["no-prewarm"][0] or "NaN", v["prewarm"][0] or "NaN",
                                              v["docker-create-start"][0] or "NaN"))
                head.setdefault("cold", {})[k] = v
        md_cold = table(["kind", "no prewarm: invoke -> result ms p50 (min..max)", "initTime ms",
                         "prewarm (stem cell) ms p50 (min..max)", "initTime ms", "ran in a stem cell",
                         "docker create+start ms p50 (min..max)", "ratio no-prewarm / docker", "n"], rows,
                        align="l" + "r" * 8)
        gnuplot(out, "cold_start", "set title 'Cold start: invoke of a never-seen action -> result'\n"
                "set style data histograms\nset style histogram clustered gap 1\nset style fill solid 0.8\n"
                "set ylabel 'ms (p50)'\nset yrange [0:*]\n"
                "plot 'cold_start.dat' u 2:xtic(1) t 'no prewarm', '' u 3 t 'prewarm (stem cell)', "
                "'' u 4 t 'docker create+start (baseline)'\n")

    # ---- footprint ----
    md_fp = ""
    if FP:
        rows = []
        for r in FP:
            if r["what"] == "image":
                continue
            rows.append([r["what"], r["process"], f((num(r["rss_kb"]) or 0) / 1024, 1),
                         f((num(r["hwm_kb"]) or 0) / 1024, 1), r["cpu_pct"] or "-", r["seconds"]])
        md_fp = table(["state", "process", "VmRSS MiB", "VmHWM MiB", "CPU % of one core", "over s"], rows,
                      align="llrrrr")
        imgs = [[r["process"], f((num(r["seconds"]) or 0) / 1e6, 1)] for r in FP if r["what"] == "image"]
        if imgs:
            md_fp += "\n" + table(["image", "size MB"], imgs, align="lr")

    for name, md in (("a_concurrency", md_a), ("b_payload", md_b), ("c_transfer", md_c),
                     ("cold_start", md_cold), ("footprint", md_fp)):
        if md:
            with open(os.path.join(out, name + ".md"), "w") as fh:
                fh.write(md)

    # ---- REPORT.md ----
    R = []
    R.append("# edgewhisk vs the seed's experiments (`make bench-seed%s`)\n" %
             (" QUICK=1" if meta.get("quick") == "1" else ""))
    R.append("- date %s, host `%s`, %s, docker %s, commit %s" % (meta.get("date", "?"), meta.get("host", "?"),
                                                                meta.get("machine", "?"), meta.get("docker", "?"),
                                                                meta.get("commit", "?")))
    R.append("- load average (1/5/15 min) at start %s, at end %s; run took %s s" %
             (meta.get("load_start", "?"), meta.get("load_end", "?"), meta.get("seconds", "?")))
    R.append("- the machine is a shared 2-vCPU VM: other work ran beside the benchmark; see the load average")
    if "interrupted" in meta.get("seconds", ""):
        R.append("- **the run was cut short** (stopped after %s s); what it had measured is reported below"
                 % meta["seconds"].split()[0])
    for name, rows, key, col in (("A", A, "A_NS", "backends"), ("B", B, "B_NS", "backends")):
        want = grid.get(key, "").split()
        have = {r[col] for r in rows}
        if rows and want and [n for n in want if n not in have]:
            R.append("- **%s measured for N = %s only** (%s = `%s`)" % (name, " ".join(n for n in want if n in have),
                                                                     key, grid[key]))
    cut = [k for k, v in DEFAULT_GRID.items() if grid.get(k) is not None and
           " ".join(grid[k].split()) != " ".join(v.split())]
    if cut:
        R.append("- **grid differs from the default (full) grid**: " + "; ".join(
            "%s=`%s` (default `%s`)" % (k, grid[k], DEFAULT_GRID[k]) for k in cut))
    else:
        R.append("- full default grid")
    if os.path.exists(os.path.join(out, "NOTES.md")):
        R.append("- **read the notes at the end** (written by hand after the run: re-runs, corrections, "
                 "where the time goes)")
    R.append("- baseline (\"direct\"): the same requests sent in the same run straight to warm runtime "
             "containers of the action (their `/run` on 127.0.0.1, the invoker's body format), N containers "
             "shared by the c clients; ratio = edgewhisk / direct")
    R.append("")
    R.append("## Headline\n")
    hr = []
    lc1 = head.get("lc1")
    if lc1:
        e, d = lc1
        hr.append(["warm blocking call, 30 ms action, 1 client (p50 / p99)", "%s / %s ms" % (f(e["p50_ms"], 2), f(e["p99_ms"], 2)),
                   "%s / %s ms" % (f(d["p50_ms"], 2), f(d["p99_ms"], 2)) if d else "-", ratio(e["p50_ms"], d and d["p50_ms"]),
                   "100-170 ms"])
    peaks = head.get("peaks", {})
    for n, pi in ((2, "19-21 req/s"), (11, "~7 req/s")):
        if n in peaks:
            ep, dp = peaks[n]
            hr.append(["peak throughput, backend concurrency N=%d" % n, "%s req/s" % f(ep), "%s req/s" % f(dp),
                       ratio(ep, dp), pi])
    if peaks:
        nmax = max(peaks)
        if nmax not in (2, 11):
            ep, dp = peaks[nmax]
            hr.append(["peak throughput, N=%d (largest run)" % nmax, "%s req/s" % f(ep), "%s req/s" % f(dp),
                       ratio(ep, dp), "-"])
    for s, pi in ((102400, "~1.4 s"), (1024000, "~1.4 s")):
        v = head.get("b", {}).get(s)
        if v and v[0]:
            e, d = v
            hr.append(["%s body, 1 client, N=1 (p50)" % size_label(s), "%s ms" % f(e["p50_ms"], 2),
                       "%s ms" % f(d["p50_ms"], 2) if d else "-", ratio(e["p50_ms"], d and d["p50_ms"]), pi])
    cr = head.get("c", {})
    for s, pi in ((0, "~39 ms"), (100000, "~75 ms"), (256000, "3.7-3.9 s"), (1000000, "3.7-3.9 s")):
        v = cr.get(("agg", s))
        if v and v[0] is not None:
            hr.append(["sequence data passing, %s (comTime median)" % (size_label(s) if s else "0 B"),
                       "%s ms" % f(v[0]), "%s ms" % f(v[3]) if v[3] is not None else "-", ratio(v[0], v[3]), pi])
    for k, v in head.get("cold", {}).items():
        hr.append(["cold start %s, no prewarm (p50)" % k, "%s ms" % f(v["no-prewarm"][0]),
                   "%s ms (docker create+start)" % f(v["docker-create-start"][0]),
                   ratio(v["no-prewarm"][0], v["docker-create-start"][0]),
                   "docker run 1.3-1.7 s" if k.startswith("nodejs") else "-"])
        if v["prewarm"][0] is not None:
            hr.append(["cold start %s, prewarmed stem cell (p50)" % k, "%s ms" % f(v["prewarm"][0]), "-", "-", "-"])
    idle = {r["process"]: r for r in FP if r["what"] == "idle"}
    if idle:
        hr.append(["idle RSS after %s s: controller / invoker" % grid.get("IDLE_S", "?"),
                   " / ".join("%s MiB" % f((num(idle[p]["rss_kb"]) or 0) / 1024, 1) for p in sorted(idle)),
                   "-", "-", "-"])
    R.append(table(["", "edgewhisk (this machine)", "direct baseline (same run)", "ratio", PI], hr, align="lrrrr"))
    R.append("## Targets\n")
    for s, t in targets:
        R.append("- **%s** %s" % (s, t))
    if not targets:
        R.append("- (no experiment ran)")
    R.append("")
    sections = (
        ("A. Concurrency", "a_concurrency", md_a, ["a_peak", "a_throughput", "a_latency"],
         "Node.js `sleepy` (30 ms timer), body `{\"timeout\":\"30\"}`, blocking with `result=true`; backend "
         "concurrency N = one invoker with `user_memory` = 256 MB x N (`limits.memory` 256m, no prewarm, no "
         "pause); c client threads in closed loop (`bench/seed_load`), each cell %s requests after c warm-up "
         "ones, %s repeat(s); the table shows the median over repeats of each statistic. Per-request "
         "percentiles (nearest rank, no coordinated-omission correction). ideal = min(N, c) x 33.3 req/s. "
         "CPU us/req: controller / invoker threads (schedstat) per request, first repeat only; busy = the whole "
         "machine." %
         (grid.get("REQS", "?"), grid.get("REPEATS", "?"))),
        ("B. Payload", "b_payload", md_b, ["b_payload"],
         "`sleepy` with `{\"timeout\":\"30\",\"message\":\"<N random alphanumerics>\"}`; same client and "
         "baseline as A, %s repeat(s)." % grid.get("B_REPEATS", "?")),
        ("C. Data transfer (2-step sequence)", "c_transfer", md_c, ["c_transfer"],
         "`ParamPass` -> `ParamPass` as a sequence; payload `{\"payload\":\"<N zeros>\"}`, %s sequential "
         "blocking invocations per size; comTime is measured inside the actions (ms clock). A step \"in a new "
         "container\" = its activation record has `initTime`. Direct chain: `/run` step 1 then `/run` step 2 "
         "on the warm container from a Python client (`bench/seed_transfer.py`), which parses and re-serialises "
         "the result as the controller does. Sequence creation: %s" % (grid.get("C_RUNS", "?"), cnote or "-")),
        ("Cold start", "cold_start", md_cold, ["cold_start"],
         "invoke (blocking) of a never-seen action -> result, curl timing; no prewarm: every kind `prewarm: 0`; "
         "prewarm: `prewarm: 1` per kind, stem cells up before each call. Baseline: docker create + start of "
         "the runtime image with the invoker's options through the Docker API (curl's times)."),
        ("Footprint", "footprint", md_fp, [],
         "controller + invoker VmRSS/VmHWM and CPU (schedstat, %% of one core) idle (1 invoker, shipped "
         "user_memory 1024m, over %s s after start) and over all edgewhisk A runs at the largest N (VmHWM = "
         "peak); image sizes from docker image inspect." %
         grid.get("IDLE_S", "?")),
    )
    for title, name, md, plots, desc in sections:
        R.append("## %s\n" % title)
        R.append(desc + "\n")
        if md:
            R.append(md)
            for p in plots:
                if os.path.exists(os.path.join(out, p + ".png")):
                    R.append("![%s](%s.png)\n" % (p, p))
        else:
            R.append("(not run)\n")
    R.append("## Errors and container churn\n")
    ev = os.path.join(out, "docker_events.txt")
    if os.path.exists(ev):
        creates, ooms, per = 0, 0, {}
        for line in open(ev):
            w = line.split()
            if len(w) < 3:
                continue
            if w[1] == "create":
                creates += 1
                # ewk<invoker id>_<invoker pid>_<n>_<action>: one invoker per controller
                parts = w[2].split("_")
                key = "_".join(parts[:2]) if len(parts) > 2 else w[2]
                per[key] = per.get(key, 0) + 1
            elif w[1] == "oom":
                ooms += 1
        R.append("- containers created during the run: %d (per invoker: %s); OOM kills: %d "
                 "(`docker_events.txt`: lifecycle events of this run's containers; every controller "
                 "stop kills its containers too)" % (creates, ", ".join("%s %d" % kv for kv in per.items()) or "-",
                                                     ooms))
    if os.path.exists(os.path.join(out, "errors.log")):
        n = sum(1 for line in open(os.path.join(out, "errors.log")) if line.startswith("== "))
        R.append("- %d run(s) had errors: `errors.log` has the first error of each and the controller's log "
                 "around it" % n)
    else:
        R.append("- no run had an error")
    R.append("")
    if os.path.exists(os.path.join(out, "profile.md")):
        R.append("Profiles of the tight cells (`bench/seed_profile.sh`): [profile.md](profile.md)\n")
    notes = os.path.join(out, "NOTES.md")
    if os.path.exists(notes):
        R.append(open(notes).read())
    with open(os.path.join(out, "REPORT.md"), "w") as fh:
        fh.write("\n".join(R) + "\n")
    print("targets:")
    for s, t in targets:
        print("  %s %s" % (s, t))
    return 0


if __name__ == "__main__":
    sys.exit(main())
