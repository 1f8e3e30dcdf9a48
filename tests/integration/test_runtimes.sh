#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration test of the runtime images and their action proxy
# (runtimes/, spec sections 9 and 10). Part 1 runs build/runtimes/ewproxy on
# the host (no Docker): HTTP framing, keep-alive, bad input. Part 2 starts
# each image with a loopback-only published port and drives /init and /run
# with curl, then checks results, status codes and `docker logs` (action
# output and exactly one sentinel pair per /run on each stream).
# Needs: `make -f runtimes/images.mk images` first; curl; python3.
# Talks to 127.0.0.1 only. Prints ok/not ok per case, then "N passed, M failed".
# Exit: 0 all passed, 1 a failure, 77 Docker absent (host part still ran).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
O=${O:-build}
if [ -z "${DOCKER:-}" ]; then
	if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
fi
PY=${PY:-$(command -v /usr/bin/python3 || command -v python3)}
TAG=${EW_IMAGE_TAG:-1}
LABEL=edgewhisk.test=runtimes
API_HOST=http://127.0.0.1:3233 # passed as the invoker does; never contacted
SENTINEL=XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX
# Loopback only, whatever proxy the environment configures.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
CURL=(curl -sS --noproxy '*' --max-time 60)

T=$(mktemp -d /tmp/ew-test-runtimes.XXXXXX)
HOST_PIDS=()
passed=0
failed=0
n=0

cleanup() {
	local p ids
	for p in "${HOST_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	ids=$("$DOCKER" ps -aq --filter "label=$LABEL" 2>/dev/null)
	[ -z "$ids" ] || "$DOCKER" rm -f $ids >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() {
	n=$((n + 1)) passed=$((passed + 1))
	echo "ok $n - $1"
}
notok() {
	n=$((n + 1)) failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	[ $# -eq 0 ] || printf '  %s\n' "$@"
}

# ---- HTTP + JSON helpers ----

# post PATH FILE [curl args...]: POST FILE to $BASE$PATH; sets CODE, BODY.
post() {
	local path=$1 file=$2
	shift 2
	CODE=$("${CURL[@]}" -o "$T/resp" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		--data-binary "@$file" "$@" "$BASE$path" 2>"$T/curl.err") || CODE="curl-failed:$(cat "$T/curl.err")"
	BODY=$(cat "$T/resp" 2>/dev/null || true)
}

# postj PATH JSON: like post, with inline JSON.
postj() {
	printf '%s' "$2" >"$T/req.json"
	post "$1" "$T/req.json"
}

# init_body OUT CODEFILE [binary(0/1)] [main] [env-json]: write an /init body.
# binary=1 with a directory zips it; with a file sends the file base64.
init_body() {
	"$PY" - "$@" <<'EOF'
import base64, io, json, os, sys, zipfile
out, src = sys.argv[1], sys.argv[2]
binary = len(sys.argv) > 3 and sys.argv[3] == "1"
main = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else "main"
env = json.loads(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[5] else None
if binary and os.path.isdir(src):
    mem = io.BytesIO()
    with zipfile.ZipFile(mem, "w", zipfile.ZIP_DEFLATED) as z:
        for root, _, files in os.walk(src):
            for f in sorted(files):
                p = os.path.join(root, f)
                info = zipfile.ZipInfo(os.path.relpath(p, src))
                info.external_attr = (os.stat(p).st_mode & 0o777) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                with open(p, "rb") as fh:
                    z.writestr(info, fh.read())
    code = base64.b64encode(mem.getvalue()).decode()
elif binary:
    code = base64.b64encode(open(src, "rb").read()).decode()
else:
    code = open(src).read()
value = {"name": "t", "main": main, "binary": binary, "code": code}
if env is not None:
    value["env"] = env
json.dump({"value": value}, open(out, "w"))
EOF
}

# json_eq JSON_TEXT EXPECTED_JSON: semantic equality.
json_eq() {
	"$PY" -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1]) == json.loads(sys.argv[2]) else 1)' "$1" "$2" 2>/dev/null
}

# json_field JSON_TEXT KEY: print a top-level field (strings raw).
json_field() {
	"$PY" -c 'import json,sys
v = json.loads(sys.argv[1]).get(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2" 2>/dev/null
}

# expect NAME WANT_CODE WANT_JSON: check the last response exactly.
expect() {
	if [ "$CODE" = "$2" ] && json_eq "$BODY" "$3"; then
		ok "$1"
	else
		notok "$1" "want $2 $3" "got  $CODE $BODY"
	fi
}

# expect_error NAME WANT_CODE SUBSTRING: {"error": "...SUBSTRING..."}.
expect_error() {
	local e
	e=$(json_field "$BODY" error)
	if [ "$CODE" = "$2" ] && [[ $e == *"$3"* ]]; then
		ok "$1"
	else
		notok "$1" "want $2 with error containing '$3'" "got  $CODE $BODY"
	fi
}

# ---- part 1: the proxy on the host ----

host_part() {
	local unit=$O/runtimes/proxy_test proxy=$O/runtimes/ewproxy port pid _
	if [ -x "$unit" ]; then
		if "$unit" >"$T/unit.out" 2>&1; then ok "proxy unit tests ($(tail -n1 "$T/unit.out"))"; else
			notok "proxy unit tests" "$(cat "$T/unit.out")"
		fi
	fi
	if [ ! -x "$proxy" ]; then
		# The images carry their own proxy; only the host checks need this one.
		echo "# host checks skipped: no $proxy (make -f runtimes/images.mk ewproxy, or set O)"
		return
	fi
	port=$((20000 + RANDOM % 20000))
	mkdir -p "$T/hostaction"
	EW_ACTION_DIR="$T/hostaction" EW_PROXY_MODE=native __OW_PROXY_PORT=$port \
		"$proxy" >"$T/host.out" 2>"$T/host.err" &
	pid=$!
	HOST_PIDS+=("$pid")
	BASE=http://127.0.0.1:$port
	for _ in $(seq 50); do
		"${CURL[@]}" -o /dev/null "$BASE/" 2>/dev/null && break
		sleep 0.1
	done

	postj /run '{"value":{}}'
	expect_error "host: /run before /init -> 500" 500 "no action defined yet"

	cat >"$T/echo.sh" <<'EOF'
#!/bin/sh
# argv[1] and stdin both carry the value; print a log line, then the result.
echo "log: $#"
read -r line
printf '{"argc":%s,"stdin":%s,"ns":"%s"}\n' "$#" "$line" "$__OW_NAMESPACE"
EOF
	init_body "$T/init.json" "$T/echo.sh"
	post /init "$T/init.json"
	expect "host: /init native script" 200 '{"ok":true}'

	postj /run '{"value":{"a":1},"namespace":"guest"}'
	expect "host: /run argv + stdin + __OW_ env" 200 '{"argc":1,"stdin":{"a":1},"ns":"guest"}'

	# Chunked request body and Expect: 100-continue (curl waits 1 s for the
	# 100 if the server ignores it, so also check the time).
	printf '{"value":{"c":"%s"},"namespace":"x"}' "$(head -c 3000 /dev/zero | tr '\0' 'z')" >"$T/big.json"
	local t0 t1
	t0=$(date +%s%N)
	post /run "$T/big.json" -H 'Transfer-Encoding: chunked' -H 'Expect: 100-continue'
	t1=$(date +%s%N)
	if [ "$CODE" = 200 ] && [ "$(json_field "$BODY" ns)" = x ] && [ $(((t1 - t0) / 1000000)) -lt 900 ]; then
		ok "host: chunked body with Expect: 100-continue"
	else
		notok "host: chunked body with Expect: 100-continue" "got $CODE $BODY in $(((t1 - t0) / 1000000)) ms"
	fi

	# Keep-alive: two requests, one connection.
	local conns
	printf '{"value":{}}' >"$T/e.json"
	conns=$("${CURL[@]}" -o /dev/null -o /dev/null -w '%{num_connects} ' -X POST --data-binary "@$T/e.json" \
		"$BASE/run" "$BASE/run" 2>&1)
	if [ "$conns" = "1 0 " ]; then ok "host: keep-alive reuses the connection"; else
		notok "host: keep-alive reuses the connection" "num_connects per request: '$conns'"
	fi

	# An idle connection must not block a new one; garbage must not kill it.
	exec 7<>"/dev/tcp/127.0.0.1/$port"
	postj /run '{"value":{}}'
	[ "$CODE" = 200 ] && ok "host: new connection preempts an idle one" ||
		notok "host: new connection preempts an idle one" "got $CODE $BODY"
	exec 7>&-
	exec 7<>"/dev/tcp/127.0.0.1/$port"
	printf 'GARBAGE \x01\x02\r\n\r\n' >&7
	local garbage
	garbage=$(timeout 5 head -c 12 <&7 2>/dev/null)
	exec 7>&-
	postj /run '{"value":{}}'
	if [[ $garbage == "HTTP/1.1 400" ]] && [ "$CODE" = 200 ]; then ok "host: malformed request -> 400, proxy survives"; else
		notok "host: malformed request -> 400, proxy survives" "got '$garbage', then $CODE"
	fi

	postj /run '{"value":{"a":1},'
	expect_error "host: malformed JSON /run -> 400" 400 "not a valid JSON"
	postj /init '[1,2'
	[ "$CODE" = 403 ] && ok "host: second /init -> 403 (even malformed)" ||
		notok "host: second /init -> 403 (even malformed)" "got $CODE $BODY"
	local deep
	deep=$(printf '%0.s[' $(seq 5000))
	postj /run "{\"value\":$deep"
	[ "$CODE" = 400 ] && ok "host: 5000-deep nesting -> 400" || notok "host: 5000-deep nesting -> 400" "got $CODE"
	if kill -0 "$pid" 2>/dev/null; then ok "host: proxy still alive after bad input"; else
		notok "host: proxy still alive after bad input" "$(cat "$T/host.err")"
	fi
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# ---- part 2: the images ----

# start KIND: run the image; sets CID and BASE once the proxy answers.
start() {
	local image=edgewhisk/action-$1:$TAG port _
	CID=$("$DOCKER" run -d --rm -p 127.0.0.1::8080 --label "$LABEL" -e "__OW_API_HOST=$API_HOST" \
		--memory 256m --memory-swap 256m --cap-drop NET_RAW --cap-drop NET_ADMIN \
		--ulimit nofile=1024:1024 --pids-limit 1024 --log-driver json-file "$image" 2>"$T/run.err") || {
		CID=
		return 1
	}
	port=$("$DOCKER" port "$CID" 8080/tcp | grep -m1 '^127\.0\.0\.1:' | sed 's/.*://')
	BASE=http://127.0.0.1:$port
	# docker-proxy accepts before the container listens: wait for our 404.
	for _ in $(seq 100); do
		[ "$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$BASE/" 2>/dev/null)" = 404 ] && return 0
		sleep 0.05
	done
	return 1
}

# logs_wait STREAM N: wait (up to 5 s) until the container's STREAM
# (stdout|stderr) shows N sentinels, then print that stream.
logs_stream() {
	# stderr only: swap the streams, drop the container's stdout.
	if [ "$1" = stdout ]; then "$DOCKER" logs "$CID" 2>/dev/null; else { "$DOCKER" logs "$CID" 3>&1 1>/dev/null 2>&3; }; fi
}
logs_wait() {
	local _
	for _ in $(seq 50); do
		[ "$(logs_stream "$1" | grep -c "^$SENTINEL\$")" -ge "$2" ] && break
		sleep 0.1
	done
	sleep 0.2 # anything extra would show up now
	logs_stream "$1"
}

# check_sentinels NAME N: exactly N sentinel lines on each stream.
check_sentinels() {
	local so se
	so=$(logs_wait stdout "$2" | grep -c "^$SENTINEL\$")
	se=$(logs_wait stderr "$2" | grep -c "^$SENTINEL\$")
	if [ "$so" = "$2" ] && [ "$se" = "$2" ]; then ok "$1: $2 sentinel(s) on stdout and stderr"; else
		notok "$1: $2 sentinel(s) on stdout and stderr" "stdout has $so, stderr has $se"
	fi
}

# check_order NAME STREAM RE1 RE2: on STREAM, a line matching RE1 appears
# before the first sentinel and one matching RE2 between the first and the
# second (awk regular expressions).
check_order() {
	if logs_wait "$2" 2 | awk -v a="$3" -v b="$4" -v s="$SENTINEL" '
		$0 == s { seg++; next }
		$0 ~ a && seg == 0 { fa = 1 }
		$0 ~ b && seg == 1 { fb = 1 }
		END { exit !(fa && fb) }'; then
		ok "$1: action output lands before its own sentinel ($2)"
	else
		notok "$1: action output lands before its own sentinel ($2)" "$(logs_stream "$2" | head -20)"
	fi
}

stop() {
	[ -z "${CID:-}" ] || "$DOCKER" rm -f "$CID" >/dev/null 2>&1
	CID=
}

# A hello action in each language: warm reuse, re-init, logs, sentinels.
hello_case() {
	local kind=$1 file=$2
	shift 2
	if ! start "$kind"; then
		notok "$kind: container starts and the proxy answers" "$(cat "$T/run.err")"
		stop
		return
	fi
	init_body "$T/init.json" "$file" 0 main '{"GREETING_PREFIX":"Hello"}'
	post /init "$T/init.json"
	expect "$kind: /init hello" 200 '{"ok":true}'
	postj /run '{"value":{"name":"Ada"},"namespace":"guest","action_name":"/guest/hello","activation_id":"a1","deadline":"1700000060000"}'
	expect "$kind: /run hello (Ada)" 200 '{"greeting":"Hello Ada","ns":"guest","api":"'$API_HOST'"}'
	postj /run '{"value":{},"namespace":"other","action_name":"/other/hello","activation_id":"a2","deadline":"1700000060000"}'
	expect "$kind: warm /run differs (stranger)" 200 '{"greeting":"Hello stranger","ns":"other","api":"'$API_HOST'"}'
	init_body "$T/init2.json" "$file"
	post /init "$T/init2.json"
	expect "$kind: second /init -> 403" 403 '{"error":"Cannot initialize the action more than once."}'
	check_order "$kind" stdout "^greeting Ada" "^greeting (undefined|None|stranger)"
	check_order "$kind" stderr "^stderr from .. Ada" "^stderr from .. (undefined|None|stranger)"
	check_sentinels "$kind hello" 2
	stop
}

# Run one action: /init FILE, then each "REQ|CODE|CHECK" (CHECK = exact JSON
# or ~substring of the error). Checks the sentinel count at the end.
action_case() {
	local kind=$1 name=$2 file=$3 binary=${4:-0} runs=0 spec req code want
	shift 4
	if ! start "$kind"; then
		notok "$kind/$name: container starts" "$(cat "$T/run.err")"
		stop
		return
	fi
	init_body "$T/init.json" "$file" "$binary"
	post /init "$T/init.json"
	expect "$kind/$name: /init" 200 '{"ok":true}'
	for spec in "$@"; do
		IFS='|' read -r req code want <<<"$spec"
		postj /run "$req"
		runs=$((runs + 1))
		local label="$kind/$name: /run ${req:0:48}"
		[ ${#req} -le 48 ] || label+="...(${#req} B)"
		label+=" -> $code"
		if [[ $want == "~"* ]]; then
			expect_error "$label" "$code" "${want#\~}"
		else
			expect "$label" "$code" "$want"
		fi
	done
	check_sentinels "$kind/$name" "$runs"
	stop
}

# An /init that must fail: 502 with an error, sentinels written.
init_fail_case() {
	local kind=$1 name=$2 file=$3 want=$4
	start "$kind" || { notok "$kind/$name: container starts"; stop; return; }
	init_body "$T/init.json" "$file"
	post /init "$T/init.json"
	expect_error "$kind/$name: /init -> 502" 502 "$want"
	check_sentinels "$kind/$name (failed init)" 1
	stop
}

docker_part() {
	local k missing=0
	for k in nodejs python native; do
		if ! "$DOCKER" image inspect "edgewhisk/action-$k:$TAG" >/dev/null 2>&1; then
			notok "image edgewhisk/action-$k:$TAG exists" "build it: make -f runtimes/images.mk images"
			missing=1
		fi
	done
	[ $missing = 0 ] || return

	# -- nodejs --
	cat >"$T/hello.js" <<'EOF'
function main(p) {
	console.log("greeting " + p.name);
	console.error("stderr from js " + p.name);
	return { greeting: process.env.GREETING_PREFIX + " " + (p.name || "stranger"),
		ns: process.env.__OW_NAMESPACE, api: process.env.__OW_API_HOST };
}
EOF
	hello_case nodejs "$T/hello.js"

	cat >"$T/promise.js" <<'EOF'
function main(p) {
	return new Promise((resolve) => setTimeout(() => resolve({ doubled: p.n * 2, id: process.env.__OW_ACTIVATION_ID }), 30));
}
EOF
	action_case nodejs promise "$T/promise.js" 0 \
		'{"value":{"n":21},"activation_id":"x1"}|200|{"doubled":42,"id":"x1"}' \
		'{"value":{"n":5},"activation_id":"x2"}|200|{"doubled":10,"id":"x2"}'

	cat >"$T/throws.js" <<'EOF'
exports.main = async function (p) {
	if (p.reject) throw { code: 42 };
	if (p.str) return "just a string";
	if (p.nul) return null;
	if (p.exit) process.exit(3);
	throw new Error("boom " + p.x);
};
EOF
	action_case nodejs errors "$T/throws.js" 0 \
		'{"value":{"x":1}}|200|~boom 1' \
		'{"value":{"reject":true}}|200|{"error":{"code":42}}' \
		'{"value":{"str":true}}|502|~did not return a dictionary or array' \
		'{"value":{"nul":true}}|502|~did not return a dictionary or array' \
		'{"value":{"big":"'"$(head -c 1200000 /dev/zero | tr '\0' 'b')"'","x":2}}|200|~boom 2' \
		'{"value":{"exit":true}}|400|~command exited' \
		'{"value":{}}|400|~command exited'

	mkdir -p "$T/jszip/lib"
	cat >"$T/jszip/package.json" <<'EOF'
{ "name": "zipped", "main": "lib/entry.js" }
EOF
	cat >"$T/jszip/lib/entry.js" <<'EOF'
const helper = require("./helper");
exports.main = (p) => ({ sum: helper.add(p.a, p.b), big: (p.pad || "").length });
EOF
	echo 'exports.add = (a, b) => a + b;' >"$T/jszip/lib/helper.js"
	action_case nodejs zip "$T/jszip" 1 \
		'{"value":{"a":2,"b":3}}|200|{"sum":5,"big":0}' \
		'{"value":{"a":1,"b":1,"pad":"'"$(head -c 1100000 /dev/zero | tr '\0' 'p')"'"}}|200|{"sum":2,"big":1100000}'

	echo 'function main(p) { return {' >"$T/syntax.js"
	init_fail_case nodejs syntax-error "$T/syntax.js" "Initialization has failed"

	# -- python --
	cat >"$T/hello.py" <<'EOF'
import os, sys

def main(args):
    print("greeting", args.get("name"))
    print("stderr from py", args.get("name"), file=sys.stderr)
    return {"greeting": os.environ["GREETING_PREFIX"] + " " + args.get("name", "stranger"),
            "ns": os.environ.get("__OW_NAMESPACE"), "api": os.environ.get("__OW_API_HOST")}
EOF
	hello_case python "$T/hello.py"

	cat >"$T/errors.py" <<'EOF'
import hashlib, json, ssl, sqlite3  # the trimmed stdlib still has these

def main(args):
    if args.get("num"):
        return 42
    if args.get("none"):
        return None
    if args.get("list"):
        return [1, "two", {"three": 3}]
    if args.get("big"):
        return {"len": len(args["big"]), "sha": hashlib.sha256(args["big"].encode()).hexdigest()[:8]}
    raise ValueError("bad input %s" % args.get("x"))
EOF
	action_case python errors "$T/errors.py" 0 \
		'{"value":{"x":7}}|200|~bad input 7' \
		'{"value":{"num":true}}|502|~did not return a dictionary or array' \
		'{"value":{"none":true}}|502|~did not return a dictionary or array' \
		'{"value":{"list":true}}|200|[1,"two",{"three":3}]' \
		'{"value":{"big":"'"$(head -c 1500000 /dev/zero | tr '\0' 'q')"'"}}|200|{"len":1500000,"sha":"'"$(head -c 1500000 /dev/zero | tr '\0' 'q' | sha256sum | cut -c1-8)"'"}'

	mkdir -p "$T/pyzip"
	printf 'def twice(x):\n    return 2 * x\n' >"$T/pyzip/helper.py"
	printf 'from helper import twice\n\ndef main(args):\n    return {"twice": twice(args.get("v", 0))}\n' >"$T/pyzip/__main__.py"
	action_case python zip "$T/pyzip" 1 \
		'{"value":{"v":4}}|200|{"twice":8}' \
		'{"value":{"v":-1}}|200|{"twice":-2}'

	printf 'def main(args)\n    return {}\n' >"$T/syntax.py"
	init_fail_case python syntax-error "$T/syntax.py" "SyntaxError"

	# -- native --
	cat >"$T/hello.sh" <<'EOF'
#!/bin/sh
name=$(echo "$1" | sed -n 's/.*"name":"\([^"]*\)".*/\1/p')
echo "greeting ${name:-stranger}"
echo "stderr from sh ${name:-stranger}" >&2
echo "{\"greeting\":\"$GREETING_PREFIX ${name:-stranger}\",\"ns\":\"$__OW_NAMESPACE\",\"api\":\"$__OW_API_HOST\"}"
EOF
	hello_case native "$T/hello.sh"

	mkdir -p "$T/shzip"
	cat >"$T/shzip/exec" <<'EOF'
#!/bin/sh
cd "$(dirname "$0")"
n=$(wc -c)  # the value arrives on stdin as well
echo "{\"data\":\"$(cat data.txt)\",\"stdin_bytes\":$n,\"argc\":$#}"
EOF
	chmod +x "$T/shzip/exec"
	echo "from the zip" >"$T/shzip/data.txt"
	action_case native zip "$T/shzip" 1 \
		'{"value":{"k":1}}|200|{"data":"from the zip","stdin_bytes":8,"argc":1}' \
		'{"value":{"k":"'"$(head -c 200000 /dev/zero | tr '\0' 'k')"'"}}|200|{"data":"from the zip","stdin_bytes":200009,"argc":0}'

	if command -v "${CC:-gcc}" >/dev/null 2>&1; then
		cat >"$T/elf.c" <<'EOF'
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv)
{
	printf("a log line from C\n");
	printf("{\"argv1_len\":%zu}\n", argc > 1 ? strlen(argv[1]) : 0);
	return 0;
}
EOF
		if "${CC:-gcc}" -static -O2 -o "$T/elf" "$T/elf.c" 2>"$T/cc.err"; then
			action_case native elf-binary "$T/elf" 1 \
				'{"value":{"a":"xyz"}}|200|{"argv1_len":11}' \
				'{"value":{}}|200|{"argv1_len":2}'
		else
			notok "native/elf-binary: compile a static test binary" "$(cat "$T/cc.err")"
		fi
	fi

	printf '#!/bin/sh\necho "{\\"fine\\":true}"\necho "not json at the end"\n' >"$T/notjson.sh"
	printf '#!/bin/sh\necho "[1,2]"\n' >"$T/array.sh"
	action_case native not-json "$T/notjson.sh" 0 \
		'{"value":{}}|502|{"error":"The action did not return a dictionary or array."}'
	action_case native array "$T/array.sh" 0 '{"value":{}}|200|[1,2]'

	# /run before /init, and malformed bodies, on a real container.
	if start native; then
		postj /run '{"value":{}}'
		expect_error "native: /run before /init -> 500" 500 "no action defined yet"
		postj /init '{"value":'
		expect_error "native: malformed /init JSON -> 400" 400 "not a valid JSON"
		stop
	fi
}

host_part
if "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1; then
	docker_part
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ] || exit 1
	exit 0
fi
echo "# Docker is not available: image tests skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] || exit 1
exit 77
