#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Invalid and truncated UTF-8 through every query parameter, name and
body field that can appear in an error message (test_hardening.sh).

Every answer must be valid UTF-8; every >= 400 answer a JSON object with
a string "error" and "code"; no 5xx. Prints the count and the first
failures; exits 1 on any.
usage: utf8_errors.py --port P --auth UUID:KEY
"""
import argparse
import base64
import http.client
import json
import sys

BAD = [b"\xff", b"\xff\xfe", b"\xc3", b"\xed\xa0\x80", b"\xe2\x82", b"\xf4\x90\x80\x80",
       b"\xc0\xaf", b"a\x80b", "é".encode() * 300, "é".encode() * 257 + b"\xc3"]
QUERY = ["limit", "skip", "since", "upto", "name", "docs", "count", "blocking", "result",
         "overwrite", "force", "timeout", "public"]
NS = "/api/v1/namespaces/_"
ROUTES_GET = [NS + "/actions", NS + "/activations", NS + "/triggers", NS + "/rules",
              NS + "/packages", NS + "/activations/0123456789abcdef0123456789abcdef",
              NS + "/actions/u8"]
ROUTES_POST = [NS + "/actions/u8", NS + "/triggers/u8t"]


def pct(b):
    return "".join("%%%02X" % c for c in b)


class Client:
    def __init__(self, port, auth):
        self.port = port
        self.auth = "Basic " + base64.b64encode(auth.encode()).decode()
        self.n = 0
        self.fail = []

    def send(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = {"Authorization": self.auth}
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        raw = r.read()
        c.close()
        self.n += 1
        why = None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            why = "not UTF-8 (%s)" % e
        else:
            if r.status >= 500:
                why = "server error %d" % r.status
            elif r.status >= 400:
                try:
                    j = json.loads(text)
                    if not (isinstance(j, dict) and isinstance(j.get("error"), str)
                            and isinstance(j.get("code"), str)):
                        why = "error body lacks error/code"
                except ValueError as e:
                    why = "error body is not JSON (%s)" % e
        if why:
            self.fail.append("%s %s -> %d: %s: %r" % (method, path[:120], r.status, why, raw[:160]))
        return r.status, raw


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--auth", required=True)
    a = ap.parse_args()
    c = Client(a.port, a.auth)
    c.send("PUT", NS + "/actions/u8?overwrite=true",
           {"exec": {"kind": "nodejs:20", "code": "function main(a){return a}"}})
    c.send("PUT", NS + "/triggers/u8t?overwrite=true", {})
    for bad in BAD:
        p = pct(bad)
        for route in ROUTES_GET:
            for q in QUERY:
                c.send("GET", "%s?%s=%s" % (route, q, p))
        for route in ROUTES_POST:
            for q in QUERY:
                c.send("POST", "%s?%s=%s" % (route, q, p), {})
        # Names in every position (percent-encoded bytes of the path).
        for coll in ("actions", "triggers", "rules", "packages"):
            c.send("GET", "%s/%s/%s" % (NS, coll, p))
            c.send("PUT", "%s/%s/%s" % (NS, coll, p), {})
        c.send("GET", "/api/v1/namespaces/%s/actions" % p)
        c.send("GET", "%s/actions/%s/x" % (NS, p))
        c.send("GET", "/api/v1/web/guest/%s/x.json" % p)
        c.send("GET", "/api/v1/web/guest/default/x.%s" % p)
        # Body fields quoted in messages; JSON cannot carry bad bytes, so
        # they go raw (refused as malformed) and as long valid text.
        text = bad.decode("utf-8", "replace")
        for body in ({"trigger": text, "action": "x"}, {"trigger": "u8t", "action": text},
                     {"status": text}):
            c.send("PUT", NS + "/rules/u8r?overwrite=true", body)
            c.send("POST", NS + "/rules/u8r", body)
        c.send("PUT", NS + "/actions/u8k?overwrite=true", {"exec": {"kind": text, "code": "x"}})
        c.send("PUT", NS + "/actions/u8k?overwrite=true",
               {"exec": {"kind": "blackbox", "image": text}})
        c.send("PUT", NS + "/actions/u8k?overwrite=true", b'{"exec":{"kind":"' + bad + b'"}}')
        c.send("PUT", NS + "/packages/u8p?overwrite=true", {"binding": {"namespace": text, "name": text}})
    print("# utf8 errors: %d requests, %d bad answers" % (c.n, len(c.fail)))
    for f in c.fail[:15]:
        print("  # " + f)
    return 1 if c.fail else 0


if __name__ == "__main__":
    sys.exit(main())
