#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Experiment C of bench/bench_seed.sh (ServerlessBench Testcase5 shape):
sequential blocking invocations of a 2-step sequence ParamPass -> ParamPass
with {"payload": "<N zeros>"}; the second step returns comTime, the time the
payload took from the end of step 1 to the start of step 2, measured inside
the action (Date.now() in ms), so the client's own speed does not enter it.
For each invocation it reads the sequence's activation record (logs = the
component activation ids) and each component's record: a component with an
initTime annotation ran in a container created for it (a cold container).

Baseline (--direct-port): the same two steps straight on a warm ParamPass
container: POST /run with the payload, then POST /run with the result, over
one kept-alive connection; what passing the data costs with no platform.

Appends CSV rows: mode,size,run,comtime_ms,latency_ms,head_cold,tail_cold.
Loopback only. Exit status 1 when an invocation fails."""
import argparse
import base64
import http.client
import json
import sys
import time
import uuid


def post(conn, path, body, headers):
    conn.request("POST", path, body=body, headers=headers)
    r = conn.getresponse()
    return r.status, r.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--auth", required=True)
    ap.add_argument("--seq", required=True)
    ap.add_argument("--action", default="ParamPass")
    ap.add_argument("--sizes", required=True)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--direct-port", type=int, default=0)
    ap.add_argument("--mode", choices=["edgewhisk", "direct"], required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.replace(",", " ").split()]
    auth = "Basic " + base64.b64encode(a.auth.encode()).decode()
    hdr = {"Content-Type": "application/json", "Authorization": auth}
    out = open(a.out, "a")

    if a.mode == "edgewhisk":
        conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=120)
        path = "/api/v1/namespaces/_/actions/%s?blocking=true" % a.seq
        for size in sizes:
            body = json.dumps({"payload": "0" * size})
            for run in range(1, a.runs + 1):
                t0 = time.monotonic()
                st, data = post(conn, path, body, hdr)
                lat = (time.monotonic() - t0) * 1000
                if st != 200:
                    print("seed_transfer: %s size %d: HTTP %d %s" % (a.seq, size, st, data[:300]),
                          file=sys.stderr)
                    return 1
                rec = json.loads(data)
                res = rec.get("response", {}).get("result", {})
                if "comTime" not in res:
                    print("seed_transfer: size %d: no comTime in %s" % (size, str(res)[:300]),
                          file=sys.stderr)
                    return 1
                cold = []
                for aid in rec.get("logs", [])[:2]:
                    conn.request("GET", "/api/v1/namespaces/_/activations/%s" % aid, headers=hdr)
                    r = conn.getresponse()
                    c = json.loads(r.read())
                    cold.append(int(any(x.get("key") == "initTime" for x in c.get("annotations", []))))
                while len(cold) < 2:
                    cold.append("")
                out.write("edgewhisk,%d,%d,%s,%.3f,%s,%s\n" % (size, run, res["comTime"], lat,
                                                               cold[0], cold[1]))
                out.flush()
        return 0

    conn = http.client.HTTPConnection("127.0.0.1", a.direct_port, timeout=120)
    h = {"Content-Type": "application/json"}
    deadline = str(int(time.time() * 1000) + 365 * 86400 * 1000)

    def run_body(value):
        aid = uuid.uuid4().hex
        return json.dumps({"value": value, "namespace": "guest", "action_name": "/guest/" + a.action,
                           "action_version": "0.0.1", "activation_id": aid, "transaction_id": aid,
                           "deadline": deadline})

    for size in sizes:
        for run in range(1, a.runs + 1):
            t0 = time.monotonic()
            st, data = post(conn, "/run", run_body({"payload": "0" * size}), h)
            if st != 200:
                print("seed_transfer: direct step 1: HTTP %d %s" % (st, data[:300]), file=sys.stderr)
                return 1
            st, data = post(conn, "/run", run_body(json.loads(data)), h)
            lat = (time.monotonic() - t0) * 1000
            res = json.loads(data) if st == 200 else {}
            if "comTime" not in res:
                print("seed_transfer: direct step 2: HTTP %d %s" % (st, data[:300]), file=sys.stderr)
                return 1
            out.write("direct,%d,%d,%s,%.3f,0,0\n" % (size, run, res["comTime"], lat))
            out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
