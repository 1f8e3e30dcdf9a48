# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# Shared helpers for benchmark scripts that drive a private controller
# (bench/bench_seed.sh). Built on tests/integration/lib.sh, which starts a
# controller on a free loopback port with a unique queue name and state dir
# and cleans up after it; this file gives it a benchmark configuration and
# adds restart, process and container measurements. Source it from bash
# after `set -uo pipefail`; it changes to the repository root.
#
#   bench_setup NAME           temp dir T, traps (cleanup on exit/Ctrl-C)
#   bench_start                controller with the BENCH_* configuration below
#   bench_stop                 stop it, remove its containers and state (T stays)
#   BENCH_INVOKERS BENCH_USER_MEMORY BENCH_PREWARM BENCH_LOG_LEVEL: the knobs;
#   BENCH_CONFIG_EXTRA: more top-level config sections (no key twice)
#   invoke_time ACTION BODY    sequential blocking invocation: "HTTP ms"
#   status_kb PID FIELD, cpu_ticks PID..., cpu_ns PID..., invoker_pids, settle,
#   containers_of KIND ACTION, host_port NAME, image_size IMAGE

# shellcheck source=../tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tests/integration/lib.sh"

# shellcheck disable=SC2034 # read by tests/integration/lib.sh
EW_PREFIX=ewbench
SENTINEL=XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX
API=/api/v1/namespaces/_/actions
BENCH_INVOKERS=${BENCH_INVOKERS:-1}
BENCH_USER_MEMORY=${BENCH_USER_MEMORY:-1024m}
BENCH_PREWARM=${BENCH_PREWARM:-0}
BENCH_LOG_LEVEL=${BENCH_LOG_LEVEL:-warn}

# tests/integration/lib.sh reports through notok; a benchmark just says it.
notok() {
	echo "bench: failed: $1" >&2
	shift
	local l
	for l in "$@"; do printf '  %s\n' "${l:0:600}" >&2; done
}

bench_die() {
	echo "bench: $*" >&2
	exit 1
}

# The benchmark configuration (replaces the tests' one): no pause, no idle
# removal, no pruning of activation records during the runs, prewarm
# BENCH_PREWARM for every kind, and limits.memory.max at 256m so that
# user_memory may be as small as one 256 MB container.
ew_write_config() {
	local pw=$BENCH_PREWARM
	cat >"$1" <<EOF
api:
  address: 127.0.0.1
  port: $PORT
state_dir: $STATE
log_level: $BENCH_LOG_LEVEL
queue:
  name: /$INSTANCE
invokers:
  count: $BENCH_INVOKERS
  user_memory: $BENCH_USER_MEMORY
containers:
  pause_grace: 0
  idle_timeout: 0
activations:
  max_count: 0
  max_age_hours: 0
runtimes:
  "nodejs:20": {image: edgewhisk/action-nodejs:1, default: true, prewarm: $pw}
  "python:3.11": {image: edgewhisk/action-python:1, default: true, prewarm: $pw}
  native: {image: edgewhisk/action-native:1, default: false, prewarm: $pw}
limits:
  memory: {default: 256m, min: 128m, max: 256m}
${BENCH_CONFIG_EXTRA:-}
EOF
}

bench_setup() {
	# shellcheck disable=SC2034 # read by tests/integration/lib.sh
	EW_NAME=$1
	T=$(mktemp -d "/tmp/ew-bench-$1.XXXXXX") || bench_die "mktemp failed"
	trap ew_cleanup EXIT
	trap 'echo "bench: interrupted" >&2; exit 130' INT TERM HUP
}

bench_start() {
	: >"$T/controller.log"
	ew_start_controller || bench_die "the controller did not start (config: $T/edgewhisk.yaml)"
	INV_PIDS=$(invoker_pids | tr '\n' ' ')
	INV_PIDS=${INV_PIDS% }
}

# Stop the controller and remove its containers and state dir, keeping T:
# ew_cleanup sees T empty for the duration of the call only.
bench_stop() {
	T='' ew_cleanup
	INSTANCE=''
	STATE=''
}

invoker_pids() {
	"${CURL[@]}" "$BASE/health" 2>/dev/null | jq -r '.invokers[].pid' 2>/dev/null | grep -v '^0$'
}

# Wait until no activation is in flight (at most 30 s).
settle() {
	local i n=''
	for i in $(seq 1 300); do
		n=$("${CURL[@]}" "$BASE/health" 2>/dev/null | jq -r '.activationsInFlight // -1' 2>/dev/null)
		[ "$n" = 0 ] && return 0
		sleep 0.1
	done
	echo "# warning: still $n activation(s) in flight after 30 s" >&2
}

# create_action NAME KIND CODE: PUT the action (overwrite).
create_action() {
	reqj PUT "$API/$1?overwrite=true" "$(jq -nc --arg k "$2" --arg c "$3" '{exec: {kind: $k, code: $c}}')"
	[ "$CODE" = 200 ] || bench_die "create $2 action $1: $CODE $BODY"
}

# invoke_time ACTION BODY [QUERY]: one blocking invocation; prints
# "HTTP_CODE MS"; the response body is in $T/resp.
invoke_time() {
	local r
	r=$("${CURL[@]}" -u "$GUEST_AUTH" -o "$T/resp" -w '%{http_code} %{time_total}' -X POST \
		-H 'Content-Type: application/json' --data-binary "$2" \
		"$BASE$API/$1?${3:-blocking=true&result=true}" 2>/dev/null) || r="000 0"
	awk -v c="${r%% *}" -v s="${r#* }" 'BEGIN { printf "%s %.2f\n", c, s * 1000 }'
}

# status_kb PID FIELD: a /proc/PID/status value in kB ('' when gone).
status_kb() {
	awk -v k="$2:" '$1 == k { print $2; exit }' "/proc/$1/status" 2>/dev/null
}

# cpu_ticks PID...: utime+stime (all threads, reaped children included).
cpu_ticks() {
	local p s=0 v
	for p in "$@"; do
		v=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$p/stat" 2>/dev/null)
		s=$((s + ${v:-0}))
	done
	echo "$s"
}

# cpu_ns PID...: CPU time of every live thread of the processes, in ns
# (/proc/PID/task/*/schedstat, first field).
cpu_ns() {
	local p s=0 v
	for p in "$@"; do
		# %.0f: mawk's %d stops at 2^31 - 1 (2.1 s of CPU).
		v=$(cat /proc/"$p"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }')
		s=$((s + ${v:-0}))
	done
	echo "$s"
}

# busy_ticks: "busy total" jiffies of all CPUs from /proc/stat.
busy_ticks() {
	awk '/^cpu / { b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6; exit }' /proc/stat
}

# containers_of KIND ACTION: names of the instance's KIND containers that ran
# ACTION (named after it, or a stem cell with a sentinel in its log).
containers_of() {
	local kind=$1 action=$2 n
	"$DOCKER" ps --filter "label=edgewhisk.instance=$INSTANCE" --filter "label=edgewhisk.kind=$kind" \
		--format '{{.Names}}' 2>/dev/null | sort | while read -r n; do
		if [[ $n == *_"$action" ]] || "$DOCKER" logs --tail 4 "$n" 2>&1 | grep -q "$SENTINEL"; then
			echo "$n"
		fi
	done
}

host_port() {
	"$DOCKER" port "$1" 8080/tcp 2>/dev/null | awk -F: '/^127\.0\.0\.1:/ { print $NF; exit }'
}

image_size() {
	"$DOCKER" image inspect -f '{{.Size}}' "$1" 2>/dev/null
}

# run_envelope ACTION VALUE_FILE OUT: the /run body the invoker sends to a
# container, around the JSON value in VALUE_FILE (for direct baselines).
run_envelope() {
	local aid deadline
	aid=$(tr -d '-' </proc/sys/kernel/random/uuid)
	deadline=$((($(date +%s) + 365 * 86400) * 1000))
	{
		printf '{"value":'
		cat "$2"
		printf ',"namespace":"guest","action_name":"/guest/%s","action_version":"0.0.1",' "$1"
		printf '"activation_id":"%s","transaction_id":"%s","deadline":"%s"}' "$aid" "$aid" "$deadline"
	} >"$3"
}
