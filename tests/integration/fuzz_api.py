#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Structure-aware mutation fuzz of the REST API (test_fuzz_api.sh).

Starts from valid requests on every route -- actions in and out of a
package, invoke blocking and not, triggers and fires, rules and their
status, packages and bindings, web actions with query and body,
activations with every query parameter -- and mutates their JSON (types,
sizes, nesting, unicode, duplicate keys), names, query strings, headers
and methods with a seeded generator, bounded in count and time. Every
answer is checked: a status line, no 500 (502 is an action's own error,
503 a full queue or the body budget), every >= 400 answer valid UTF-8
JSON with a string "error" and "code". Prints the seed, per-route
counts and statuses; exits 1 on a bad answer.
usage: fuzz_api.py --port P --auth UUID:KEY [--seed S] [--requests N] [--seconds T]
"""
import argparse
import base64
import collections
import json
import random
import socket
import sys
import threading
import time

NS = "/api/v1/namespaces/_"
NAMES = ["fz-a", "fz-b", "fz-c"]
TEXTS = ["", "x", "é", "\u00e9\u20ac\U0001F600", "\ud800", "\u0000", "a\"b\\c", "\n\r\t",
         "%", "%zz", "..", "/", "a" * 300, "<script>", "' OR 1=1 --"]


class Gen:
    def __init__(self, rnd, auth):
        self.r = rnd
        self.auth = auth

    # ---- values
    def value(self, depth=0):
        r = self.r
        k = r.randrange(10 if depth < 4 else 6)
        if k == 0:
            return None
        if k == 1:
            return r.choice([True, False])
        if k == 2:
            return r.choice([0, -1, 1.5, 1e308, -1e-308, 2 ** 63, 12345678901234567890])
        if k in (3, 4, 5):
            return r.choice(TEXTS) * r.choice([1, 1, 2, 50])
        if k in (6, 7):
            return [self.value(depth + 1) for _ in range(r.randrange(4))]
        return {r.choice(TEXTS + ["k", "__ow_x", "final"]): self.value(depth + 1)
                for _ in range(r.randrange(4))}

    def mutate_json(self, obj):
        """A JSON text from obj, mutated: types, sizes, nesting, unicode,
        duplicate keys, truncation, raw bytes."""
        r = self.r
        obj = json.loads(json.dumps(obj))
        k = r.randrange(12)
        if isinstance(obj, dict) and obj and k < 4:
            key = r.choice(list(obj))
            obj[key] = self.value()
        elif isinstance(obj, dict) and k == 4:
            obj[r.choice(TEXTS)] = self.value()
        elif isinstance(obj, dict) and obj and k == 5:
            del obj[r.choice(list(obj))]
        text = json.dumps(obj, ensure_ascii=r.random() < 0.5).encode("utf-8", "surrogatepass")
        if k == 6:  # duplicate keys
            text = text.rstrip(b"}") + (b"," if len(text) > 2 else b"") + text[1:]
        elif k == 7:  # deep nesting
            d = r.choice([100, 511, 513, 1000, 5000])
            text = b'{"p":' + b"[" * d + b"]" * d + b"}"
        elif k == 8:  # size
            text = b'{"p":[' + b",".join([b"1"] * r.choice([1000, 50000])) + b"]}"
        elif k == 9:  # truncation
            text = text[:r.randrange(len(text) + 1)]
        elif k == 10:  # raw bytes
            i = r.randrange(len(text) + 1)
            text = text[:i] + bytes(r.randrange(256) for _ in range(r.randrange(1, 4))) + text[i:]
        return text

    def name(self):
        r = self.r
        if r.random() < 0.8:
            return r.choice(NAMES)
        return r.choice(["", "%2e%2e", "a%2Fb", "%ff", "%C3", "x" * 300, "a b", "é",
                         "fz-a.json", "fz-a%00", "~", "@"])

    def query(self, keys):
        r = self.r
        parts = []
        for k in keys:
            if r.random() < 0.5:
                v = r.choice(["1", "0", "-1", "true", "false", "200", "201", "99999999999999999999",
                              "%ff", "%", "", "x" * 1000, "1e3", "null", "%C3%A9"])
                parts.append("%s=%s" % (k, v))
        if r.random() < 0.1:
            parts.append(r.choice(["=", "&&", "a", "%zz=1", "limit=1&limit=2"]))
        return "?" + "&".join(parts) if parts else ""

    # ---- requests from valid seeds
    def request(self):
        r = self.r
        kind = r.choice(["action_put", "action_get", "action_invoke", "actions_list",
                         "trigger_put", "trigger_fire", "rule_put", "rule_status",
                         "package_put", "binding_put", "web", "activations"])
        method, path, body, ctype = "GET", "", None, "application/json"
        n = self.name()
        if kind == "action_put":
            method = "PUT"
            pkg = "fz-p/" if r.random() < 0.3 else ""
            path = "%s/actions/%s%s%s" % (NS, pkg, n, self.query(["overwrite"]))
            body = self.mutate_json({"exec": {"kind": r.choice(["nodejs:20", "python:3.11",
                                                                "blackbox", "sequence", "x"]),
                                              "code": "function main(a){return a}",
                                              "image": r.choice(["-v", "a b", "busybox"]),
                                              "components": ["/_/fz-echo"]},
                                     "parameters": [{"key": "p", "value": 1}],
                                     "annotations": [{"key": "web-export", "value": True}],
                                     "limits": {"timeout": 1000, "memory": 128}})
        elif kind == "action_get":
            method = r.choice(["GET", "DELETE", "HEAD"])
            path = "%s/actions/%s%s" % (NS, n, self.query(["code"]))
        elif kind == "action_invoke":
            method = "POST"
            path = "%s/actions/fz-echo%s" % (NS, self.query(["blocking", "result", "timeout"]))
            body = self.mutate_json({"a": 1, "b": "two", "c": [1, 2]})
        elif kind == "actions_list":
            path = "%s/%s%s" % (NS, r.choice(["actions", "triggers", "rules", "packages"]),
                                self.query(["limit", "skip", "count", "public"]))
        elif kind == "trigger_put":
            method = r.choice(["PUT", "DELETE", "GET"])
            path = "%s/triggers/%s%s" % (NS, n, self.query(["overwrite"]))
            body = self.mutate_json({"parameters": [{"key": "t", "value": 1}]})
        elif kind == "trigger_fire":
            method = "POST"
            path = "%s/triggers/fz-t" % NS
            body = self.mutate_json({"x": 1, "y": {"z": [1]}})
        elif kind == "rule_put":
            method = r.choice(["PUT", "DELETE", "GET"])
            path = "%s/rules/%s%s" % (NS, n, self.query(["overwrite"]))
            body = self.mutate_json({"trigger": "fz-t", "action": "fz-echo"})
        elif kind == "rule_status":
            method = "POST"
            path = "%s/rules/fz-r" % NS
            body = self.mutate_json({"status": r.choice(["active", "inactive"])})
        elif kind == "package_put":
            method = r.choice(["PUT", "DELETE", "GET"])
            path = "%s/packages/%s%s" % (NS, n, self.query(["overwrite", "force"]))
            body = self.mutate_json({"publish": True, "parameters": [{"key": "q", "value": 2}]})
        elif kind == "binding_put":
            method = "PUT"
            path = "%s/packages/fz-bind?overwrite=true" % NS
            body = self.mutate_json({"binding": {"namespace": "_", "name": "fz-p"}})
        elif kind == "web":
            method = r.choice(["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"])
            ext = r.choice([".json", ".http", ".text", ".html", "", ".svg", ".xyz"])
            path = "/api/v1/web/guest/default/fz-web%s%s%s" % (
                ext, r.choice(["", "/sub/path"]), self.query(["a", "b", "__ow_x", "hv"]))
            body = self.mutate_json({"w": 1, "s": "x"}) if method in ("POST", "PUT") else None
            ctype = r.choice(["application/json", "text/plain", "application/x-www-form-urlencoded",
                              "application/octet-stream", None, "application/json; charset=x"])
        else:
            path = "%s/activations%s" % (NS, self.query(["limit", "skip", "since", "upto", "name",
                                                         "docs", "count"]))
            if r.random() < 0.3:
                path = "%s/activations/%s%s" % (NS, r.choice(["0" * 32, "x", "%ff", "a" * 40]),
                                               r.choice(["", "/logs", "/result", "/x"]))
        if r.random() < 0.08:
            method = r.choice(["PATCH", "FOO", "OPTIONS", "TRACE", "get"])
        headers = []
        auth = self.auth
        if r.random() < 0.05:
            auth = r.choice([b"", b"Basic", b"Basic !!!!", b"Bearer x",
                             b"Basic " + base64.b64encode(b"nouser:nokey")])
        if auth:
            headers.append(b"Authorization: " + (auth if auth.startswith((b"Basic", b"Bearer"))
                                                 or not auth else b"Basic " + auth))
        if ctype and body is not None:
            headers.append(b"Content-Type: " + ctype.encode())
        if r.random() < 0.05:
            headers.append(r.choice([b"X-Long: " + b"h" * 5000, b"Accept: \xff",
                                     b"Content-Type: application/json\r\nContent-Type: text/plain"]))
        # Paths go out percent-encoded, as a client sends them.
        path = "".join(c if ord(c) < 0x80 else "".join("%%%02X" % b for b in
                       c.encode("utf-8", "surrogatepass")) for c in path)
        return kind, method, path, body, headers


def may_close(headers):
    """nng drops a connection without an answer for bytes >= 0x80 in a
    header line and for a header past its line buffer: not HTTP it takes."""
    return any(any(b >= 0x80 for b in h) or len(h) > 4000 for h in headers)


def exchange(port, method, path, body, headers):
    data = body or b""
    req = (method.encode() + b" " + path.encode("utf-8", "surrogatepass") + b" HTTP/1.1\r\n"
           b"Host: 127.0.0.1\r\nConnection: close\r\n" + b"".join(h + b"\r\n" for h in headers) +
           b"Content-Length: " + str(len(data)).encode() + b"\r\n\r\n" + data)
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    try:
        s.sendall(req)
        buf = b""
        while True:
            c = s.recv(65536)
            if not c:
                break
            buf += c
    finally:
        s.close()
    head, _, rest = buf.partition(b"\r\n\r\n")
    line = head.split(b"\r\n")[0]
    parts = line.split(b" ")
    if len(parts) < 2 or not parts[1].isdigit():
        return None, head, rest
    return int(parts[1]), head, rest


def check(method, status, head, body, closable):
    if status is None:
        return None if closable and not head else "no status line: %r" % head[:120]
    if not 100 <= status <= 599:
        return "status %d" % status
    if status == 500 or (status > 503 and status != 505):
        return "server error %d: %r" % (status, body[:200])
    if status >= 400 and method != "HEAD" and body:
        try:
            j = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            return "error body is not UTF-8 JSON (%s): %r" % (e, body[:200])
        if not (isinstance(j, dict) and isinstance(j.get("error"), str)
                and isinstance(j.get("code"), str)):
            return "error body lacks error/code: %r" % body[:200]
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--auth", required=True)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--seconds", type=float, default=180)
    ap.add_argument("--threads", type=int, default=4)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else int(time.time()) % 1000000
    print("# fuzz seed %d (replay: --seed %d)" % (seed, seed))
    gen = Gen(random.Random(seed), base64.b64encode(a.auth.encode()))
    work = [gen.request() for _ in range(a.requests)]
    lock = threading.Lock()
    counts = collections.defaultdict(collections.Counter)
    failures = []
    idx = [0]
    deadline = time.monotonic() + a.seconds

    def worker():
        while time.monotonic() < deadline:
            with lock:
                i = idx[0]
                idx[0] += 1
            if i >= len(work):
                return
            kind, method, path, body, headers = work[i]
            try:
                st, head, resp = exchange(a.port, method, path, body, headers)
                why = check(method, st, head, resp, may_close(headers))
            except OSError as e:
                st, why = None, "socket: %s" % e
            with lock:
                counts[kind][str(st)] += 1
                if why:
                    failures.append((i, kind, method, path[:100],
                                     why + " headers %r" % [h[:40] for h in headers]))

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker) for _ in range(a.threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    total = sum(sum(c.values()) for c in counts.values())
    print("# fuzz: %d requests in %.1f s, %d threads" % (total, time.monotonic() - t0, a.threads))
    for kind in sorted(counts):
        print("#   %-15s %5d  %s" % (kind, sum(counts[kind].values()), " ".join(
            "%s:%d" % kv for kv in sorted(counts[kind].items()))))
    for f in failures[:15]:
        print("  # request %d (%s) %s %s: %s" % f)
    if failures:
        print("not ok - every fuzzed request got a proper answer (%d bad, seed %d)"
              % (len(failures), seed))
        return 1
    print("ok - every fuzzed request got a proper answer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
