#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Defects an outside fuzz found, each reproduced against a private
# controller (one invoker, real Docker):
#   - an image reference Docker cannot parse is refused at create (400),
#     an image missing on this board is the developer's error (502,
#     statusCode 2, a message that says edgewhisk never pulls);
#   - a web action's .http headers cannot add header lines (CR/LF);
#   - every error body is valid UTF-8 JSON, whatever bytes the query
#     parameters, names and body fields carried (utf8_errors.py);
#   - blank lines before a request line are ignored (RFC 9112 §2.2);
#   - request bodies in flight are bounded (api.inflight_body_bytes): past
#     it a request is answered 503 before its body is read, and the room
#     comes back when the bodies are done or their clients go away.
# Exit: 0 all passed, 1 a failure, 77 Docker absent (and CI is not "true").
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ew_setup hardening
ew_need_docker
if ! ew_start_controller; then
	ew_controller_log_tail 40
	ew_finish
fi
NS=/api/v1/namespaces/_

# ---------------------------------------------------------------- images
reqj PUT "$NS/actions/bb?overwrite=true" '{"exec":{"kind":"blackbox","image":"-v"}}'
expect_error "blackbox image '-v' -> 400 at create" 400 "is not a valid image reference"
reqj PUT "$NS/actions/bb?overwrite=true" '{"exec":{"kind":"blackbox","image":"a b"}}'
expect_error "blackbox image 'a b' -> 400 at create" 400 "is not a valid image reference"
req GET "$NS/actions/bb"
check "nothing stored for a refused image" test "$CODE" = 404
reqj PUT "$NS/actions/bb?overwrite=true" '{"exec":{"kind":"blackbox","image":"edgewhisk/not-on-this-board:1"}}'
check "blackbox with a well-formed image that is absent -> 200 at create" test "$CODE" = 200
req POST "$NS/actions/bb?blocking=true"
check "invoking it -> 502 with a developer error (statusCode 2)" eval \
	'test "$CODE" = 502 && jqb ".response.statusCode == 2 and .response.status == \"action developer error\""'
check "the message says the image is not present and edgewhisk never pulls" \
	jqb '.response.result.error | contains("not present on this board") and contains("never pulls")'
req POST "$NS/actions/bb?blocking=true&result=true"
check "result=true: 502 with the error object" eval \
	'test "$CODE" = 502 && jqb ".error | contains(\"edgewhisk/not-on-this-board:1\")"'
left=$("$DOCKER" ps -aq --filter "label=edgewhisk.instance=$INSTANCE" --filter "ancestor=edgewhisk/not-on-this-board:1" | wc -l)
check "no container left for the missing image" test "$left" = 0

# ---------------------------------------------------------------- dense bodies
# A body that needs a tree (an entity) may not cost more than ~3x its size.
python3 -c 'import sys; sys.stdout.write("{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"x\"},\"parameters\":[{\"key\":\"p\",\"value\":[" + ",".join(["1"] * 100000) + "]}]}")' >"$T/dense.json"
req PUT "$NS/actions/dense?overwrite=true" -H 'Content-Type: application/json' --data-binary "@$T/dense.json"
expect_error "PUT of 100,000 values in 200 KB -> 413" 413 "too many JSON values"

# ---------------------------------------------------------------- headers
reqj PUT "$NS/actions/hdr?overwrite=true" \
	'{"exec":{"kind":"nodejs:20","code":"function main(p){return {headers:{\"X-Fz\": p.hv}, body:\"x\"}}"},"annotations":[{"key":"web-export","value":true}]}'
check "web action for headers created" test "$CODE" = 200
NOAUTH=1 req GET "/api/v1/web/guest/default/hdr.http?hv=plain"
check "a plain header value passes" eval 'test "$CODE" = 200 && [ "$(header X-Fz)" = plain ]'
NOAUTH=1 req GET "/api/v1/web/guest/default/hdr.http?hv=a%0D%0ASet-Cookie:%20x=1"
check "CRLF in a header value -> 400, not a new header line" eval \
	'test "$CODE" = 400 && jqb ".error == \"The action did not produce a valid response.\"" && ! grep -qi "^Set-Cookie" "$T/hdrs"'
NOAUTH=1 req GET "/api/v1/web/guest/default/hdr.http?hv=a%0Ab"
check "LF alone -> 400" test "$CODE" = 400

# ---------------------------------------------------------------- nesting
# Arguments travel inside the /run body: what is deeper than every hop
# takes is refused up front (the fuzz found depth 512 accepted here and
# refused by the runtime's proxy as "The /run body is not a valid JSON
# object.").
nest() { python3 -c 'import sys; n = int(sys.argv[1]); sys.stdout.write("{\"p\":" + "[" * n + "]" * n + "}")' "$1"; }
nest 511 >"$T/deep.json"
req POST "$NS/actions/hdr?blocking=true" -H 'Content-Type: application/json' --data-binary "@$T/deep.json"
expect_error "arguments 512 deep -> 400 before the trip" 400 "nested too deeply: 512 levels"
nest 499 >"$T/deep.json"
req POST "$NS/actions/hdr?blocking=true&result=true" -H 'Content-Type: application/json' --data-binary "@$T/deep.json"
check "arguments 500 deep reach the action (200)" test "$CODE" = 200
NOAUTH=1 req POST "/api/v1/web/guest/default/hdr.http" -H 'Content-Type: application/json' --data-binary "@$T/deep.json"
check "the same through the web route (200)" test "$CODE" = 200

# ---------------------------------------------------------------- UTF-8
if python3 "$EW_ROOT/tests/integration/utf8_errors.py" --port "$PORT" --auth "$GUEST_AUTH" >"$T/u8.out" 2>&1; then
	cat "$T/u8.out"
	ok "every answer to invalid or cut UTF-8 is valid UTF-8 JSON"
else
	cat "$T/u8.out"
	notok "every answer to invalid or cut UTF-8 is valid UTF-8 JSON"
fi
req GET "$NS/activations?limit=%ff"
check "limit=%ff: 400 whose message shows U+FFFD" eval \
	'test "$CODE" = 400 && printf "%s" "$BODY" | python3 -c "import json,sys; m=json.loads(sys.stdin.buffer.read().decode()) [\"error\"]; sys.exit(0 if \"\\ufffd\" in m else 1)"'

# ---------------------------------------------------------------- blank lines
blank_lines() {
	python3 - "$PORT" "$1" <<'PY'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(b"\r\n" * n + b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n" + b"\r\n" * n +
          b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
buf = b""
while True:
    try:
        c = s.recv(65536)
    except socket.timeout:
        break
    if not c:
        break
    buf += c
print(buf.count(b"HTTP/1.1 "), buf.count(b"HTTP/1.1 200"))
PY
}
read -r answers oks < <(blank_lines 1)
check "one CRLF before each request line: 2 answers, both 200 (got $answers, $oks)" \
	test "$answers.$oks" = 2.2
read -r answers oks < <(blank_lines 1000)
check "1,000 CRLF before each request line: 2 answers, both 200 (got $answers, $oks)" \
	test "$answers.$oks" = 2.2

# A chunked body cannot be read by the server: refused, not misread as
# the next request.
chunked=$(python3 - "$PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"POST /api/v1/web/guest/default/hdr.json HTTP/1.1\r\nHost: x\r\n"
          b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
buf = b""
while True:
    c = s.recv(65536)
    if not c:
        break
    buf += c
print(buf.count(b"HTTP/1.1 "), buf.split(b"\r\n")[0].decode())
PY
)
check "a chunked body -> one 411 answer, then the connection closes ($chunked)" \
	test "$chunked" = "1 HTTP/1.1 411 Length Required"

# ---------------------------------------------------------------- body budget
# 40 clients each announce a 1,000,000-byte body and send only half: the
# default budget (32 MiB) holds 33 of them, the rest are refused at once.
budget_out=$(python3 - "$PORT" "$GUEST_AUTH" <<'PY'
import base64, socket, sys, time
port, auth = int(sys.argv[1]), base64.b64encode(sys.argv[2].encode())
head = (b"POST /api/v1/namespaces/_/actions/hdr?blocking=true HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Basic " + auth + b"\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000000\r\n\r\n")
socks, refused, msg = [], 0, b""
for i in range(40):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(head + b"{" + b" " * 499999)
    s.settimeout(0.3)
    try:
        r = s.recv(4096)
        if b" 503 " in r.split(b"\r\n")[0]:
            refused += 1
            msg = r
    except socket.timeout:
        pass
    socks.append(s)
print(refused, b"Too many large requests" in msg and b"Connection: close" in msg)
for s in socks:
    s.close()
PY
)
read -r refused clear <<<"$budget_out"
check "past the body budget: 503 before the body is read ($refused of 40 refused, clear message: $clear)" \
	eval '[ "$refused" -ge 1 ] && [ "$refused" -le 8 ] && [ "$clear" = True ]'
sleep 1
head -c 900000 /dev/zero | tr '\0' x | sed 's/^/{"p":"/; s/$/"}/' >"$T/big.json"
req POST "$NS/actions/hdr?blocking=true" -H 'Content-Type: application/json' --data-binary "@$T/big.json"
check "the budget is free again once those clients left (a 900 KB invoke -> 200)" test "$CODE" = 200

ew_finish
