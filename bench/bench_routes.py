#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Per-request latency of an HTTP route and of a shared action, each next
to its baseline in the same run (see bench_routes.sh). Prints a table with
ratios and writes CSV."""
import argparse, base64, csv, http.client, statistics, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--auth", required=True)
ap.add_argument("--shared-auth", required=True)
ap.add_argument("--count", type=int, default=2000)
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--csv", required=True)
a = ap.parse_args()


def basic(k):
    return {"Authorization": "Basic " + base64.b64encode(k.encode()).decode(),
            "Content-Type": "application/json"}


INVOKE = "actions/pub/noop?blocking=true&result=true"
# name, method, path, headers, baseline name
CASES = [
    ("web action, direct", "GET", "/api/v1/web/guest/default/noop.json", {}, None),
    ("web action, through a route", "GET", "/api/guest/b/1", {}, "web action, direct"),
    ("invoke, own namespace", "POST", "/api/v1/namespaces/_/" + INVOKE, basic(a.auth), None),
    ("invoke, shared (other key)", "POST", "/api/v1/namespaces/guest/" + INVOKE,
     basic(a.shared_auth), "invoke, own namespace"),
]


def run(method, path, headers):
    c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=70)
    body = b"{}" if method == "POST" else None
    lat = []
    for _ in range(a.count):
        t = time.perf_counter()
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        d = r.read()
        lat.append((time.perf_counter() - t) * 1e6)
        if r.status != 200:
            sys.exit(f"bench-routes: {method} {path}: {r.status} {d[:200]!r}")
    c.close()
    lat.sort()
    return lat[len(lat) // 2], lat[int(len(lat) * 0.99)]


got = {name: [] for name, *_ in CASES}
for _ in range(a.rounds):       # interleaved, so noise spreads over all
    for name, method, path, headers, _base in CASES:
        got[name].append(run(method, path, headers))

rows = []
for name, _m, _p, _h, base in CASES:
    p50 = statistics.median(x[0] for x in got[name])
    p99 = statistics.median(x[1] for x in got[name])
    rows.append((name, p50, p99, base))
p50_of = {r[0]: r[1] for r in rows}
print(f"# {a.rounds} rounds x {a.count} blocking calls each, one kept-alive connection; median of the rounds")
print(f"{'case':30s} {'p50 us':>8s} {'p99 us':>8s} {'p50 vs baseline':>16s}")
with open(a.csv, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["case", "p50_us", "p99_us", "baseline", "p50_ratio"])
    for name, p50, p99, base in rows:
        ratio = p50 / p50_of[base] if base else None
        print(f"{name:30s} {p50:8.0f} {p99:8.0f} {(f'{ratio:.2f}x' if ratio else 'baseline'):>16s}")
        w.writerow([name, f"{p50:.0f}", f"{p99:.0f}", base or "", f"{ratio:.3f}" if ratio else ""])
print(f"# csv: {a.csv}")
