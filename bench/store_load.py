#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Paced invocations over one kept-alive connection, for bench_store.sh.

  store_load.py --port P --auth UUID:KEY --action NAME --kind blocking|nonblocking
                --count N [--rate R]

Sends N POSTs of {} to /api/v1/namespaces/_/actions/NAME, blocking
(?blocking=true&result=true, expects 200) or not (expects 202), at R per
second on a fixed schedule (0 = as fast as the answers come), and prints one
JSON line: sent, ok, p50/p90/max latency in ms, elapsed seconds, and the
activation ids it was given. Loopback only."""
import argparse
import base64
import http.client
import json
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--auth", required=True)
    ap.add_argument("--action", required=True)
    ap.add_argument("--kind", choices=("blocking", "nonblocking"), required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--rate", type=float, default=0.0)
    a = ap.parse_args()

    blocking = a.kind == "blocking"
    path = "/api/v1/namespaces/_/actions/%s?%s" % (
        a.action, "blocking=true&result=true" if blocking else "blocking=false")
    want = 200 if blocking else 202
    headers = {
        "Authorization": "Basic " + base64.b64encode(a.auth.encode()).decode(),
        "Content-Type": "application/json",
    }
    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=60)
    lat, ids, ok = [], [], 0
    t0 = time.monotonic()
    for i in range(a.count):
        if a.rate > 0:
            due = t0 + i / a.rate
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
        s = time.monotonic()
        try:
            conn.request("POST", path, body=b"{}", headers=headers)
            r = conn.getresponse()
            body = r.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=60)
            continue
        lat.append((time.monotonic() - s) * 1000.0)
        if r.status == want:
            ok += 1
            aid = r.getheader("x-openwhisk-activation-id")
            if not aid and not blocking:
                try:
                    aid = json.loads(body).get("activationId")
                except ValueError:
                    aid = None
            if aid:
                ids.append(aid)
    elapsed = time.monotonic() - t0
    lat.sort()

    def pct(p):
        return round(lat[min(len(lat) - 1, int(p * len(lat)))], 3) if lat else None

    print(json.dumps({"sent": a.count, "ok": ok, "p50_ms": pct(0.50), "p90_ms": pct(0.90),
                      "max_ms": round(lat[-1], 3) if lat else None,
                      "elapsed_s": round(elapsed, 3), "ids": ids}))
    return 0 if ok == a.count else 1


if __name__ == "__main__":
    sys.exit(main())
