#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Black-box malformed-request client for test_malformed.sh (stdlib only).

Sends a bounded, seeded set of malformed HTTP requests to a running
controller over raw sockets (so broken framing reaches the server as
written), a bounded number of slow clients holding connections, then
checks the server still works. Every answer is checked:

  - a status line with a status in 100..599 and no 5xx (malformed input is
    the client's fault; only 505 for a bad HTTP version is expected);
  - every 4xx with a body carries OpenWhisk's {"error": str, "code": str}
    (non-empty) JSON object;
  - a connection closed without an answer is allowed only for input that is
    not HTTP at all (class "protocol", raw bytes in the request line,
    headers past the server's limit): it is counted and printed.

Prints figures (requests, per-class counts and statuses, duration, slow
clients) and TAP-like lines; exits 1 on any failed check.
usage: malformed.py --port P --auth UUID:KEY [--requests N] [--seed S]
"""
import argparse
import base64
import collections
import json
import random
import re
import socket
import sys
import threading
import time

NS = "/api/v1/namespaces/_"
TIMEOUT = 15.0


class Result:
    __slots__ = ("status", "headers", "body", "closed", "error")

    def __init__(self):
        self.status = None
        self.headers = {}
        self.body = b""
        self.closed = False
        self.error = None


def read_response(sock, head_only=False):
    """Read one HTTP/1.1 response; Result.closed when none came."""
    r = Result()
    buf = b""
    while b"\r\n\r\n" not in buf:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        if not chunk:
            r.closed = True
            if buf:
                r.error = "truncated head: %r" % buf[:200]
            return r
        buf += chunk
        if len(buf) > 1 << 20:
            r.error = "response head over 1 MiB"
            return r
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", lines[0] + b" ")
    if not m:
        r.error = "bad status line: %r" % lines[0][:200]
        return r
    r.status = int(m.group(1))
    for ln in lines[1:]:
        k, _, v = ln.partition(b":")
        r.headers[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    if head_only or r.status in (204, 304) or r.status < 200:
        return r
    if "content-length" in r.headers:
        try:
            n = int(r.headers["content-length"])
        except ValueError:
            r.error = "bad Content-Length %r" % r.headers["content-length"]
            return r
        body = rest
        while len(body) < n:
            try:
                chunk = sock.recv(min(65536, n - len(body)))
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if not chunk:
                r.error = "body truncated at %d of %d" % (len(body), n)
                return r
            body += chunk
        r.body = body[:n]
    else:
        r.error = "no Content-Length"
    return r


def exchange(port, data, head_only=False, half_close=False):
    """Send raw bytes, read one response. Send errors after the server
    answered early (e.g. 413 before a huge body) are fine."""
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    try:
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            return read_response(s, head_only)
        except socket.timeout:
            r = Result()
            r.error = "no answer within %.0f s" % TIMEOUT
            return r
    finally:
        s.close()


def request(method, path, headers=(), body=b"", auth=None, ctype=None, clen=None):
    h = [b"%s %s HTTP/1.1" % (method, path), b"Host: 127.0.0.1"]
    if auth:
        h.append(b"Authorization: Basic " + base64.b64encode(auth))
    if ctype:
        h.append(b"Content-Type: " + ctype)
    if body or clen is not None:
        h.append(b"Content-Length: %d" % (len(body) if clen is None else clen))
    h.extend(headers)
    h.append(b"Connection: close")
    return b"\r\n".join(h) + b"\r\n\r\n" + body


# --- generators: each returns (class, raw bytes, may_close, head_only) ---

GOOD_DOC = {"exec": {"kind": "nodejs:20", "code": "function main(a){return a}"},
            "parameters": [{"key": "a", "value": 1}],
            "annotations": [{"key": "x", "value": True}],
            "limits": {"timeout": 1000, "memory": 256, "logs": 1}}
PATHS = [b"/", b"/api/v1", b"/api/v1/namespaces", NS.encode() + b"/actions",
         NS.encode() + b"/actions/mf", NS.encode() + b"/activations",
         NS.encode() + b"/activations/0123456789abcdef0123456789abcdef",
         NS.encode() + b"/limits", b"/ping", b"/health"]


class Gen:
    def __init__(self, rnd, auth):
        self.r = rnd
        self.auth = auth
        self.good = json.dumps(GOOD_DOC).encode()

    def mutate(self, b, n=None):
        b = bytearray(b)
        for _ in range(n or self.r.randint(1, 8)):
            op = self.r.randrange(4)
            i = self.r.randrange(len(b) + 1)
            if op == 0 and b:
                del b[min(i, len(b) - 1)]
            elif op == 1:
                b.insert(i, self.r.choice(b'{}[]",:\\0-e.\x00\xff tn'))
            elif op == 2 and b:
                b[min(i, len(b) - 1)] = self.r.randrange(256)
            else:
                b = b[:i]
        return bytes(b)

    def bad_method(self):
        m = self.r.choice([b"FOO", b"get", b"PATCH", b"TRACE", b"CONNECT", b"PROPFIND",
                           b"G" * self.r.randint(20, 4000), b"PU\x01T", b"OPTIONS", b"HEAD"])
        p = self.r.choice(PATHS)
        # A control character in the method is not HTTP: may close.
        return "bad_method", request(m, p, auth=self.auth), b"\x01" in m, m == b"HEAD"

    def broken_json(self):
        body = self.mutate(self.good)
        if self.r.random() < 0.3:
            body = body[: self.r.randrange(len(body) + 1)]
        if self.r.random() < 0.5:
            path = NS.encode() + b"/actions/mf?overwrite=true"
            m = b"PUT"
        else:
            path = NS.encode() + b"/actions/mf-missing?blocking=true"
            m = b"POST"
        return "broken_json", request(m, path, body=body, auth=self.auth,
                                      ctype=b"application/json"), False, False

    def deep_nesting(self):
        n = self.r.choice([1001, 5000, 100000])
        kind = self.r.randrange(3)
        if kind == 0:
            body = b"[" * n
        elif kind == 1:
            body = b'{"a":' * n + b"1" + b"}" * n
        else:
            body = b'{"exec":{"kind":"nodejs:20","code":"x"},"parameters":[{"key":"k","value":' + \
                b"[" * n + b"]" * n + b"}]}"
        m, p = self.r.choice([(b"PUT", b"/actions/mf?overwrite=true"),
                              (b"POST", b"/actions/mf-missing")])
        return "deep_nesting", request(m, NS.encode() + p, body=body, auth=self.auth,
                                       ctype=b"application/json"), False, False

    def huge_headers(self):
        k = self.r.randrange(3)
        if k == 0:
            hdrs = [b"X-Big: " + b"a" * self.r.choice([8000, 64000, 1000000])]
        elif k == 1:
            hdrs = [b"X-H%d: v" % i for i in range(self.r.choice([100, 1000, 5000]))]
        else:
            hdrs = [b"Authorization: Basic " + b"QUFB" * self.r.choice([1000, 50000])]
        # Past the server's header limit it may just close: allowed.
        return "huge_headers", request(b"GET", self.r.choice(PATHS), headers=hdrs,
                                       auth=self.auth if k != 2 else None), True, False

    def content_type(self):
        ct = self.r.choice([b"text/plain", b"application/x-www-form-urlencoded",
                            b"multipart/form-data; boundary=x", b"application/xml",
                            b"application/json; charset=latin-1", b"\xff\xfe", b""])
        body = self.r.choice([b"a=1&b=2", b"<a>1</a>", b"--x\r\n\r\n--x--", self.good,
                              b"\x00\x01\x02"])
        return "content_type", request(b"PUT", NS.encode() + b"/actions/mf-ct?overwrite=true",
                                       body=body, auth=self.auth, ctype=ct), ct in (b"\xff\xfe", b""), \
            False

    def bad_utf8(self):
        bad = self.r.choice([b"\xff", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80",
                             b"\xc0\xaf", b"\x80"])
        k = self.r.randrange(3)
        if k == 0:
            doc = b'{"exec":{"kind":"nodejs:20","code":"' + bad + b'"}}'
            return "bad_utf8", request(b"PUT", NS.encode() + b"/actions/mf-u8?overwrite=true",
                                       body=doc, auth=self.auth, ctype=b"application/json"), \
                False, False
        if k == 1:
            return "bad_utf8", request(b"POST", NS.encode() + b"/actions/mf-missing",
                                       body=b'{"p":"' + bad + b'"}', auth=self.auth,
                                       ctype=b"application/json"), False, False
        # raw bytes in the request line or header: not HTTP, may close
        where = self.r.randrange(2)
        if where == 0:
            return "bad_utf8", request(b"GET", NS.encode() + b"/actions/" + bad, auth=self.auth), \
                True, False
        return "bad_utf8", request(b"GET", b"/ping", headers=[b"X-U: " + bad]), True, False

    def traversal(self):
        name = self.r.choice([b"..", b"../../etc/passwd", b"%2e%2e", b"%2e%2e%2f%2e%2e%2fetc",
                              b"a%00b", b"%00", b"..%2f..%2fx", b"a/../../b", b"%252e%252e",
                              b"x" * 300, b"%2F", b".", b"a%2fb%2fc%2fd", b"%c0%ae%c0%ae",
                              b"default/x", b"\\..\\x", b"a%", b"a%zz", b"%ff%fe"])
        m = self.r.choice([b"GET", b"PUT", b"DELETE", b"POST"])
        coll = self.r.choice([b"actions", b"activations"])
        body = self.good if m in (b"PUT", b"POST") else b""
        return "traversal", request(m, NS.encode() + b"/" + coll + b"/" + name, body=body,
                                    auth=self.auth, ctype=b"application/json"), False, False

    def oversized(self):
        k = self.r.randrange(4)
        if k == 0:  # invocation payload over the 1 MiB limit: 413
            body = b'{"p":"' + b"x" * (1 << 20) + b'"}'
            return "oversized", request(b"POST", NS.encode() + b"/actions/mf-missing", body=body,
                                        auth=self.auth, ctype=b"application/json"), False, False
        if k == 1:  # declared far beyond the server's body limit
            return "oversized", request(b"PUT", NS.encode() + b"/actions/mf-big",
                                        body=b"{}", clen=self.r.choice([1 << 40, 99999999999]),
                                        auth=self.auth), True, False
        if k == 2:  # body shorter than declared, then EOF
            return "oversized", (request(b"PUT", NS.encode() + b"/actions/mf-big", body=b"{}",
                                         clen=1000, auth=self.auth), "half"), True, False
        clen = self.r.choice([b"-1", b"abc", b"1, 2", b"18446744073709551616"])
        return "oversized", request(b"PUT", NS.encode() + b"/actions/mf-big",
                                    headers=[b"Content-Length: " + clen], auth=self.auth), \
            True, False

    def bad_auth(self):
        v = self.r.choice([b"Basic", b"Basic ", b"Basic !!!!", b"Basic " + base64.b64encode(b"a:b"),
                           b"Bearer x", b"basic " + base64.b64encode(self.auth),
                           b"Basic " + base64.b64encode(self.auth)[:-2],
                           b"Basic " + base64.b64encode(self.auth + b"\x00"),
                           b"Basic " + base64.b64encode(b":" * 200), b"Digest a=b"])
        return "bad_auth", request(b"GET", NS.encode() + b"/actions", headers=[b"Authorization: " + v]), \
            False, False

    def bad_query(self):
        q = self.r.choice([b"limit=-1", b"limit=201", b"limit=%zz", b"skip=1e9", b"count=yes",
                           b"docs=1&count=true", b"since=99999999999999999999999", b"limit",
                           b"name=%00", b"name=" + b"a" * 600, b"limit=1&limit=2", b"&&&&=",
                           b"blocking=maybe", b"timeout=0", b"timeout=60001"])
        p = self.r.choice([b"/actions", b"/activations", b"/actions/mf-missing"])
        m = b"POST" if p.endswith(b"missing") else b"GET"
        return "bad_query", request(m, NS.encode() + p + b"?" + q, auth=self.auth), False, False

    def protocol(self):
        raw = self.r.choice([b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET ping HTTP/1.1\r\n\r\n",
                             b"\r\n\r\n", b"GET / HTTP/1.1\nHost: x\n\n", b"GET\r\n\r\n",
                             b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
                             b"PUT " + NS.encode() + b"/actions/mf HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{}\r\n0\r\n\r\n",
                             b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\n\r\n",
                             bytes(self.r.randrange(256) for _ in range(self.r.randint(1, 200))) + b"\r\n\r\n",
                             b"GET / HTTP/1.1\r\nHost x\r\n\r\n", b"GET / HTTP/1.1\r\n: v\r\n\r\n",
                             b"GET /\x00 HTTP/1.1\r\n\r\n"])
        if not raw.strip(b"\r\n"):
            # Blank lines only: the server ignores them and waits for a
            # request line (RFC 9112 2.2), so the client ends its side.
            return "protocol", (raw, True), True, False
        return "protocol", raw, True, False


def check(res, cls, may_close):
    """None when the answer is acceptable, else a reason."""
    if res.error and not (res.closed and may_close):
        return res.error
    if res.status is None:
        return None if may_close else "connection closed without a response"
    if not 100 <= res.status <= 599:
        return "status %d" % res.status
    if res.status >= 500 and res.status != 505:
        return "server error %d: %r" % (res.status, res.body[:200])
    if res.status >= 400 and res.body:
        try:
            j = json.loads(res.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            return "error body is not JSON (%s): %r" % (e, res.body[:200])
        if not (isinstance(j, dict) and isinstance(j.get("error"), str)
                and isinstance(j.get("code"), str) and j["code"]):
            return "error body lacks error/code: %r" % res.body[:200]
    if res.status >= 200 and res.body and res.headers.get("content-type", "").startswith(
            "application/json"):
        try:
            json.loads(res.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            return "JSON response is not valid UTF-8 JSON (%s): %r" % (e, res.body[:200])
    return None


def slow_clients(port, n, hold_s):
    """n connections that dribble a request's head one byte at a time for
    hold_s, while /ping must keep answering promptly. Returns
    (max /ping latency in s, how many slow clients got an answer or were
    closed by the server)."""
    stop = time.monotonic() + hold_s
    socks = []
    for _ in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"PUT " + NS.encode() + b"/actions/mf HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        except OSError:
            pass
    worst = 0.0
    ended = 0
    while time.monotonic() < stop:
        for s in list(socks):
            try:
                s.sendall(b"X")
            except OSError:
                socks.remove(s)
                ended += 1
        t0 = time.monotonic()
        r = exchange(port, request(b"GET", b"/ping"))
        dt = time.monotonic() - t0
        if r.status != 200:
            worst = float("inf")
        worst = max(worst, dt)
        time.sleep(0.2)
    for s in socks:
        s.close()
    return worst, len(socks), ended


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--auth", required=True)
    ap.add_argument("--requests", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--slow", type=int, default=64, help="slow clients")
    ap.add_argument("--slow-seconds", type=float, default=10)
    ap.add_argument("--only", help="comma-separated classes (debugging)")
    a = ap.parse_args()
    auth = a.auth.encode()
    rnd = random.Random(a.seed)
    g = Gen(rnd, auth)
    gens = [g.bad_method, g.broken_json, g.deep_nesting, g.huge_headers, g.content_type,
            g.bad_utf8, g.traversal, g.oversized, g.bad_auth, g.bad_query, g.protocol]
    # Heavy kinds (1 MiB bodies, 100k nesting) are rarer to stay bounded.
    weights = [10, 20, 4, 3, 8, 10, 12, 2, 10, 10, 11]
    if a.only:
        keep = a.only.split(",")
        weights = [w if f.__name__ in keep else 0 for f, w in zip(gens, weights)]
    work = [rnd.choices(gens, weights)[0]() for _ in range(a.requests)]

    lock = threading.Lock()
    per_class = collections.Counter()
    statuses = collections.defaultdict(collections.Counter)
    failures = []
    idx = [0]

    def worker():
        while True:
            with lock:
                i = idx[0]
                idx[0] += 1
            if i >= len(work):
                return
            cls, data, may_close, head_only = work[i]
            half = False
            if isinstance(data, tuple):
                data, half = data[0], True
            try:
                res = exchange(a.port, data, head_only, half_close=half)
                why = check(res, cls, may_close)
                st = str(res.status) if res.status else "closed"
            except OSError as e:
                why, st = "socket: %s" % e, "oserror"
            with lock:
                per_class[cls] += 1
                statuses[cls][st] += 1
                if why:
                    failures.append((cls, why, data[:160]))

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dur = time.monotonic() - t0
    total = sum(per_class.values())
    print("# malformed requests: %d in %.1f s (%.0f/s), %d threads, seed %d"
          % (total, dur, total / dur, a.threads, a.seed))
    for cls in sorted(per_class):
        st = " ".join("%s:%d" % kv for kv in sorted(statuses[cls].items()))
        print("#   %-13s %5d  %s" % (cls, per_class[cls], st))
    rc = 0
    if failures:
        rc = 1
        print("not ok - every malformed request got a proper answer (%d bad)" % len(failures))
        seen = set()
        for cls, why, data in failures:
            if (cls, why[:40]) in seen:
                continue
            seen.add((cls, why[:40]))
            print("  # %s: %s; request %r" % (cls, why[:300], data))
            if len(seen) > 15:
                break
    else:
        print("ok - every malformed request got a proper answer")
    if total < a.requests:
        rc = 1
        print("not ok - all %d requests sent (only %d)" % (a.requests, total))

    worst, held, ended = slow_clients(a.port, a.slow, a.slow_seconds)
    print("# slow clients: %d held for %.0f s (%d closed by the server); worst /ping meanwhile %.3f s"
          % (held, a.slow_seconds, ended, worst))
    if worst > 2.0:
        rc = 1
        print("not ok - /ping answers within 2 s while %d slow clients hold connections" % a.slow)
    else:
        print("ok - /ping answers within 2 s while %d slow clients hold connections" % a.slow)
    return rc


if __name__ == "__main__":
    sys.exit(main())
