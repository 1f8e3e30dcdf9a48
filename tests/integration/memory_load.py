#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Worst-shape request bodies against a running controller (test_memory.sh).

For each shape of a ~1 MB JSON body (many small elements, many keys, many
small objects, deep nesting, one long string) and each route that takes a
body to pass on (the unauthenticated web action route, a trigger fire, a
blocking invoke), sends CONC requests at once and reads the peak RSS
(VmHWM, reset through /proc/PID/clear_refs before each round) of the
controller and of each invoker. Prints a table and writes CSV; exits 0
(the bounds are checked by the caller from the CSV).
usage: memory_load.py --port P --auth UUID:KEY --pids CTRL,INV1,... --csv F
                      [--conc N] [--size BYTES] [--shapes A,B] [--routes web,trigger,invoke]
"""
import argparse
import base64
import http.client
import json
import sys
import threading
import time

MB = 1 << 20


def shapes(size):
    size -= 64  # under the payload limit with the envelope
    yield "small-elements", b'{"a":[' + b",".join([b"1"] * ((size - 8) // 2)) + b"]}"
    keys = []
    total, i = 0, 0
    while total < size - 16:
        k = b'"k%d":0' % i
        keys.append(k)
        total += len(k) + 1
        i += 1
    yield "many-keys", b"{" + b",".join(keys) + b"}"
    yield "small-objects", b'{"a":[' + b",".join([b"{}"] * ((size - 8) // 3)) + b"]}"
    # Nesting within the limits (500 deep), repeated to fill the body.
    one = b"[" * 500 + b"]" * 500
    yield "deep-nesting", b'{"a":[' + b",".join([one] * (size // (len(one) + 1))) + b"]}"
    yield "long-string", b'{"a":"' + b"x" * (size - 10) + b'"}'


def rss(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith(field + ":"):
                return int(ln.split()[1])
    return 0


def reset_peak(pid):
    with open("/proc/%d/clear_refs" % pid, "w") as f:
        f.write("5")


def send(port, method, path, body, auth, out):
    h = {"Content-Type": "application/json"}
    if auth:
        h["Authorization"] = auth
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        r.read()
        out.append(r.status)
        c.close()
    except OSError as e:
        out.append("error:%s" % e)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--auth", required=True)
    ap.add_argument("--pids", required=True)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--conc", type=int, default=16)
    ap.add_argument("--size", type=int, default=MB)
    ap.add_argument("--shapes", help="comma-separated shapes (default all)")
    ap.add_argument("--routes", help="comma-separated routes (default all)")
    a = ap.parse_args()
    auth = "Basic " + base64.b64encode(a.auth.encode()).decode()
    pids = [int(p) for p in a.pids.split(",")]
    routes = [
        ("web", "POST", "/api/v1/web/guest/default/memsink.json", None),
        ("trigger", "POST", "/api/v1/namespaces/_/triggers/memtrig", auth),
        ("invoke", "POST", "/api/v1/namespaces/_/actions/memsink?blocking=true&result=true", auth),
    ]
    rows = []
    print("# %d concurrent bodies of %d bytes per round; peak RSS growth in KB over the idle RSS"
          % (a.conc, a.size))
    print("# %-14s %-8s %-10s %s" % ("shape", "route", "statuses", "  ".join(
        "pid%d" % p for p in pids)))
    for shape, body in shapes(a.size):
        if a.shapes and shape not in a.shapes.split(","):
            continue
        json.loads(body)  # every shape is valid JSON
        for route, method, path, hdr in routes:
            if a.routes and route not in a.routes.split(","):
                continue
            time.sleep(1)
            base = [rss(p, "VmRSS") for p in pids]
            for p in pids:
                reset_peak(p)
            out = []
            ts = [threading.Thread(target=send, args=(a.port, method, path, body, hdr, out))
                  for _ in range(a.conc)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            peak = [rss(p, "VmHWM") - b for p, b in zip(pids, base)]
            st = ",".join(sorted(set(str(s) for s in out)))
            rows.append((shape, route, len(body), st, base, peak))
            print("  %-14s %-8s %-10s %s" % (shape, route, st, "  ".join(
                "%8d" % k for k in peak)))
    with open(a.csv, "w") as f:
        f.write("shape,route,body_bytes,statuses,%s,%s\n" % (
            ",".join("idle_kb_%d" % i for i in range(len(pids))),
            ",".join("peak_growth_kb_%d" % i for i in range(len(pids)))))
        for shape, route, n, st, base, peak in rows:
            f.write("%s,%s,%d,%s,%s,%s\n" % (shape, route, n, st.replace(",", "/"),
                                            ",".join(map(str, base)), ",".join(map(str, peak))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
