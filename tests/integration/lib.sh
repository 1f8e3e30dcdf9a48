# SPDX-License-Identifier: Apache-2.0
# Shared helpers for the REST API integration tests (test_api.sh,
# test_npm.sh): TAP-style counters, a private controller (temp config,
# free loopback port, unique queue name and state_dir) with cleanup, and
# curl/jq helpers. Source it from bash after `set -uo pipefail`.
#
#   ew_setup NAME          counters, temp dir, traps; NAME prefixes the summary
#   ew_need_docker         exit 77 (skip) when Docker is absent outside CI
#   ew_start_controller    config + controller; sets PORT BASE INSTANCE STATE
#                          (EW_INVOKERS, EW_STATE_DIR, EW_CONFIG_EXTRA adjust it)
#   ew_wait_up             wait for /ping and every invoker up (after a restart)
#   req METHOD PATH [curl args...]   sets CODE, BODY, $T/hdrs (auth: guest)
#   ew_finish              prints "NAME: N passed, M failed", exits
#
# Loopback only: every request goes to 127.0.0.1 with proxies disabled.

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
EW_ROOT=$PWD
O=${O:-build}
if [ -z "${DOCKER:-}" ]; then
	if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
fi
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY PROXY proxy
export NO_PROXY='*' no_proxy='*'

GUEST_UUID=23bc46b1-71f6-4ed5-8c54-816aa4f8c502
GUEST_KEY=123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP
GUEST_AUTH="$GUEST_UUID:$GUEST_KEY"
CURL=(curl -sS --noproxy '*' --max-time 70)

passed=0
failed=0
n=0
CTRL_PID=
PORT=
BASE=
INSTANCE=
STATE=
EW_NAME='test'

ok() {
	n=$((n + 1)) passed=$((passed + 1))
	echo "ok $n - $1"
}

# notok DESC [detail lines...]
notok() {
	n=$((n + 1)) failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	local l
	for l in "$@"; do printf '  # %s\n' "${l:0:600}"; done
}

# check DESC CONDITION-COMMAND...: ok when the command succeeds; on failure
# shows the last response.
check() {
	local desc=$1
	shift
	if "$@"; then
		ok "$desc"
	else
		notok "$desc" "check: $*" "last response: ${CODE:-} ${BODY:0:400}"
	fi
}

# ew_finish: stop the controller (checking a clean shutdown), clean up,
# print the summary as the last line and exit (1 on any failure).
ew_finish() {
	[ -z "$CTRL_PID" ] || ew_stop_checks
	trap - EXIT
	ew_cleanup
	echo "$EW_NAME: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}

# SIGTERM must stop the controller with status 0, and its invokers must
# have removed every container of the instance.
ew_stop_checks() {
	local i rc ids
	kill -TERM "$CTRL_PID" 2>/dev/null
	for i in $(seq 1 250); do
		kill -0 "$CTRL_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$CTRL_PID" 2>/dev/null; then
		notok "controller stops within 25 s of SIGTERM"
		return
	fi
	wait "$CTRL_PID" 2>/dev/null
	rc=$?
	CTRL_PID=
	if [ "$rc" -eq 0 ]; then
		ok "controller exits 0 on SIGTERM"
	else
		notok "controller exits 0 on SIGTERM" "exit status $rc" "$(tail -n 10 "$T/controller.log")"
	fi
	# Sanitizer builds (O=build-san, make leakcheck): the controller and
	# its invokers report leaks and errors at exit into the log.
	if grep -qE 'ERROR: (LeakSanitizer|AddressSanitizer)|LeakSanitizer has encountered|runtime error:' "$T/controller.log"; then
		notok "no sanitizer report from the controller or its invokers" \
			"$(grep -m 5 -E 'ERROR: |SUMMARY: |runtime error:' "$T/controller.log")"
	elif [ "$O" = build-san ]; then
		ok "no sanitizer report from the controller or its invokers"
	fi
	ids=$("$DOCKER" ps -aq --filter "label=edgewhisk.instance=$INSTANCE" 2>/dev/null)
	if [ -z "$ids" ]; then
		ok "no containers of the instance left after shutdown"
	else
		notok "no containers of the instance left after shutdown" "left: ${ids//$'\n'/ }"
	fi
}

# Stop the controller (SIGTERM, then SIGKILL after 25 s), remove the state
# dir, leftover containers of this instance and the temp dir.
ew_cleanup() {
	local ids i
	if [ -n "$CTRL_PID" ] && kill -0 "$CTRL_PID" 2>/dev/null; then
		kill -TERM "$CTRL_PID" 2>/dev/null
		for i in $(seq 1 250); do
			kill -0 "$CTRL_PID" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$CTRL_PID" 2>/dev/null; then
			echo "# controller did not stop within 25 s: SIGKILL"
			kill -KILL "$CTRL_PID" 2>/dev/null
		fi
		wait "$CTRL_PID" 2>/dev/null
	fi
	CTRL_PID=
	if [ -n "$INSTANCE" ] && command -v "$DOCKER" >/dev/null 2>&1; then
		ids=$("$DOCKER" ps -aq --filter "label=edgewhisk.instance=$INSTANCE" 2>/dev/null)
		if [ -n "$ids" ]; then
			echo "# removing leftover containers of $INSTANCE: ${ids//$'\n'/ }"
			# shellcheck disable=SC2086 # one id per word
			"$DOCKER" rm -f $ids >/dev/null 2>&1
		fi
	fi
	[ -z "$STATE" ] || rm -rf "$STATE"
	[ -z "${T:-}" ] || rm -rf "$T"
}

# ew_setup NAME: temp dir and traps.
ew_setup() {
	EW_NAME=$1
	# jq checks the JSON (`make deps` should install it; this is a fallback).
	if ! command -v jq >/dev/null 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q jq >/dev/null 2>&1 ||
			{ apt-get update -q >/dev/null 2>&1 &&
				DEBIAN_FRONTEND=noninteractive apt-get install -y -q jq >/dev/null 2>&1; }
	fi
	if ! command -v jq >/dev/null 2>&1; then
		echo "not ok 1 - jq is installed (apt-get install jq)"
		echo "$EW_NAME: 0 passed, 1 failed"
		exit 1
	fi
	T=$(mktemp -d "/tmp/ew-test-$1.XXXXXX")
	trap ew_cleanup EXIT
	trap 'exit 130' INT TERM
}

docker_answers() {
	command -v "$DOCKER" >/dev/null 2>&1 &&
		timeout 10 "$DOCKER" version -f '{{.Server.Version}}' >/dev/null 2>&1
}

# Skip (77) without Docker unless CI=true, where a missing Docker fails.
ew_need_docker() {
	if docker_answers; then
		return 0
	fi
	if [ "${CI:-}" = true ]; then
		notok "Docker answers (deploy/dockerd-up.sh)"
		ew_finish
	fi
	echo "# Docker is not available: skipping (start it with deploy/dockerd-up.sh)"
	trap - EXIT
	ew_cleanup
	exit 77
}

port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ew_free_port: a free loopback port in 4300..5799 (out of ew_pick_port's
# range), printed.
ew_free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((4300 + RANDOM % 1500))
		port_busy "$p" || { echo "$p"; return 0; }
	done
	return 1
}

# ew_need_tools TOOL...: each on PATH (or in /usr/sbin); otherwise a failure
# under CI=true, else the test skips (77).
ew_need_tools() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] && continue
		if [ "${CI:-}" = true ]; then
			notok "$tool is installed (make deps)"
			ew_finish
		fi
		echo "# $tool is not installed (make deps): skipping"
		trap - EXIT
		ew_cleanup
		exit 77
	done
}

# ew_mosquitto_start CONF PORT...: Debian's broker on its config file,
# waited for until every PORT listens; MQ_PID is it. ew_mosquitto_stop.
MQ_PID=
ew_mosquitto_start() {
	local conf=$1 p ok
	shift
	"$(command -v mosquitto || echo /usr/sbin/mosquitto)" -c "$conf" >>"$T/mosquitto.out" 2>&1 &
	MQ_PID=$!
	for _ in $(seq 1 50); do
		ok=1
		for p in "$@"; do port_busy "$p" || ok=0; done
		[ "$ok" = 1 ] && return 0
		sleep 0.1
	done
	return 1
}
ew_mosquitto_stop() {
	[ -n "$MQ_PID" ] || return 0
	kill -TERM "$MQ_PID" 2>/dev/null
	wait "$MQ_PID" 2>/dev/null
	MQ_PID=
}

ew_pick_port() {
	local i p
	for i in $(seq 1 50); do
		p=$((3290 + RANDOM % 500))
		if ! port_busy "$p"; then
			PORT=$p
			return 0
		fi
	done
	return 1
}

# ew_write_config FILE: the test configuration (keys: config/edgewhisk.yaml).
# EW_CONFIG_EXTRA: more top-level sections appended (no key twice);
# EW_QUEUE_SLOTS: queue.slots; EW_NETWORK: containers.network.
ew_write_config() {
	cat >"$1" <<EOF
api:
  address: 127.0.0.1
  port: $PORT
state_dir: $STATE
log_level: ${EW_LOG_LEVEL:-info}
queue:
  name: /$INSTANCE
  slots: ${EW_QUEUE_SLOTS:-1024}
invokers:
  count: ${EW_INVOKERS:-1}
  user_memory: 512m
containers:
  pause_grace: ${EW_PAUSE_GRACE:-0}
  network: ${EW_NETWORK:-bridge}
${EW_CONFIG_EXTRA:-}
EOF
}

# ew_start_controller: start build/edgewhisk-controller on a free port and
# wait until /ping answers and /health reports the invoker up. Retries with
# another port if the chosen one was taken meanwhile.
ew_start_controller() {
	local bin="$EW_ROOT/$O" ctl attempt i
	case $O in /*) bin=$O ;; esac
	ctl="$bin/edgewhisk-controller"
	if [ ! -x "$ctl" ] || [ ! -x "$bin/edgewhisk-invoker" ]; then
		notok "controller and invoker are built ($O/edgewhisk-controller: run make)"
		return 1
	fi
	# EW_PREFIX: benchmarks (bench/lib.sh) name their instances apart.
	INSTANCE="${EW_PREFIX:-ewtest}-$EW_NAME-$$"
	STATE=${EW_STATE_DIR:-"/tmp/${EW_PREFIX:-ewtest}-$EW_NAME-state-$$"}
	rm -rf "$STATE"
	for attempt in 1 2 3; do
		ew_pick_port || { notok "find a free port"; return 1; }
		BASE="http://127.0.0.1:$PORT"
		ew_write_config "$T/edgewhisk.yaml"
		"$ctl" -c "$T/edgewhisk.yaml" >>"$T/controller.log" 2>&1 &
		CTRL_PID=$!
		for i in $(seq 1 200); do
			if ! kill -0 "$CTRL_PID" 2>/dev/null; then
				wait "$CTRL_PID" 2>/dev/null
				CTRL_PID=
				break
			fi
			if [ "$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$BASE/ping" 2>/dev/null)" = 200 ]; then
				break
			fi
			sleep 0.1
		done
		[ -n "$CTRL_PID" ] && break
		grep -qi 'in use' "$T/controller.log" || break
	done
	if [ -z "$CTRL_PID" ]; then
		notok "controller starts" "$(tail -n 20 "$T/controller.log")"
		return 1
	fi
	# The invokers are up once /health says so (they register on the queue).
	for i in $(seq 1 300); do
		if "${CURL[@]}" "$BASE/health" 2>/dev/null |
			jq -e '(.invokers | length) > 0 and all(.invokers[]; .state == "up")' >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	notok "invoker comes up within 30 s" "$(tail -n 20 "$T/controller.log")"
	return 1
}

# ew_wait_up [SECONDS]: /ping answers and /health reports every invoker up.
ew_wait_up() {
	for _ in $(seq 1 $((${1:-30} * 10))); do
		if "${CURL[@]}" "$BASE/health" 2>/dev/null |
			jq -e '(.invokers | length) > 0 and all(.invokers[]; .state == "up")' >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

ew_controller_log_tail() {
	tail -n "${1:-30}" "$T/controller.log" 2>/dev/null | sed 's/^/  # log: /'
}

# req METHOD PATH [curl args...]: request $BASE$PATH with the guest key
# (unless NOAUTH=1), sets CODE and BODY, response headers in $T/hdrs.
req() {
	local method=$1 path=$2
	shift 2
	local auth=(-u "$GUEST_AUTH")
	[ "${NOAUTH:-0}" = 1 ] && auth=()
	: >"$T/hdrs"
	: >"$T/resp"
	CODE=$("${CURL[@]}" "${auth[@]}" -X "$method" -o "$T/resp" -D "$T/hdrs" -w '%{http_code}' \
		"$@" "$BASE$path" 2>"$T/curl.err") || CODE="curl-failed:$(cat "$T/curl.err")"
	BODY=$(cat "$T/resp" 2>/dev/null || true)
}

# reqj METHOD PATH JSON [curl args...]: like req with a JSON body.
reqj() {
	local method=$1 path=$2 json=$3
	shift 3
	printf '%s' "$json" >"$T/req.json"
	req "$method" "$path" -H 'Content-Type: application/json' --data-binary "@$T/req.json" "$@"
}

# jqb FILTER: jq -e over the last BODY (quiet).
jqb() {
	printf '%s' "$BODY" | jq -e "$@" >/dev/null 2>&1
}

# header NAME: value of a response header of the last request ('' if none).
header() {
	grep -i "^$1:" "$T/hdrs" | tail -n 1 | sed -e 's/^[^:]*:[[:space:]]*//' -e 's/\r$//'
}

# expect_error DESC STATUS SUBSTRING: the last response has STATUS and the
# standard error shape: `error` containing SUBSTRING, a non-empty `code`.
expect_error() {
	local desc=$1 status=$2 sub=$3
	if [ "$CODE" = "$status" ] &&
		jqb --arg s "$sub" '(.error | type == "string" and contains($s)) and
			(.code | type == "string" and length > 0)'; then
		ok "$desc"
	else
		notok "$desc" "want $status {error: *$sub*, code}" "got  $CODE ${BODY:0:400}"
	fi
}
