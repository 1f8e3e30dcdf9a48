#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration test of the /whisk.system/mqtt/subscribe feed against the real
# system: Debian's mosquitto broker started here on loopback ports (plain,
# with a password file, and TLS with a CA made here), mosquitto_pub as the
# publisher, fires through a rule into real containers. Covers wildcard
# filters, the payload encodings, READ/UPDATE/PAUSE/DELETE, refused
# parameters, an unreachable broker, bad credentials, TLS, the client
# process killed, the broker restarted, qos 1 messages published while the
# controller is down (none lost; duplicates counted), a 1 MB message, one
# over the limit, and a 2,000-message burst into a namespace throttled to
# 1,200 fires a minute.
# Talks to 127.0.0.1 only.
# Prints ok/not ok per case, then "mqtt: N passed, M failed".
# Exit: 0 all passed, 1 a failure, 77 Docker or mosquitto absent (and CI is
# not "true").
# shellcheck disable=SC2016 # checks are single-quoted eval strings
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ew_setup mqtt
ew_need_docker
ew_need_tools mosquitto mosquitto_pub mosquitto_passwd openssl

# ------------------------------------------------------------ the broker
MQ_PORT=$(ew_free_port)
MQ_AUTH_PORT=$(ew_free_port)
MQ_TLS_PORT=$(ew_free_port)
DEAD_PORT=$(ew_free_port)
mosquitto_passwd -b -c "$T/passwd" sensor s3cret >/dev/null 2>&1
# A CA and the broker's certificate for 127.0.0.1, made here.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=ew-test-ca \
	-keyout "$T/ca.key" -out "$T/ca.pem" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$T/broker.key" \
	-out "$T/broker.csr" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1\n' >"$T/san.ext"
openssl x509 -req -in "$T/broker.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
	-days 2 -extfile "$T/san.ext" -out "$T/broker.pem" >/dev/null 2>&1
cat >"$T/mosquitto.conf" <<EOF
user root
per_listener_settings true
persistence false
# The burst below: the session's backlog stays with the broker.
max_queued_messages 20000
log_dest file $T/mosquitto.log
listener $MQ_PORT 127.0.0.1
allow_anonymous true
listener $MQ_AUTH_PORT 127.0.0.1
allow_anonymous false
password_file $T/passwd
listener $MQ_TLS_PORT 127.0.0.1
allow_anonymous true
cafile $T/ca.pem
certfile $T/broker.pem
keyfile $T/broker.key
EOF
broker_start() { ew_mosquitto_start "$T/mosquitto.conf" "$MQ_PORT" "$MQ_AUTH_PORT" "$MQ_TLS_PORT"; }
broker_stop() { ew_mosquitto_stop; }
mqtt_cleanup() {
	ew_mosquitto_stop
	ew_cleanup
}
trap mqtt_cleanup EXIT
broker_start
check "mosquitto listens on 127.0.0.1 (plain, password, TLS)" test $? = 0

# 1,200 fires a minute for the namespace: the burst below meets it.
EW_CONFIG_EXTRA="limits:
  fires_per_minute: 1200"
if ! ew_start_controller; then
	ew_controller_log_tail 40
	ew_finish
fi
echo "# controller pid $CTRL_PID on $BASE, broker on $MQ_PORT/$MQ_AUTH_PORT/$MQ_TLS_PORT"

NS=/api/v1/namespaces/_
SYS=/api/v1/namespaces/whisk.system
URL="mqtt://127.0.0.1:$MQ_PORT"

# feed EVENT TRIGGER [JSON object of parameters]: the feed action invoked
# blocking as the CLI does; CODE/BODY are the activation's.
feed() {
	local params
	params=$(jq -cn --arg e "$1" --arg t "/_/$2" --arg k "$GUEST_AUTH" \
		"{lifecycleEvent: \$e, triggerName: \$t, authKey: \$k} + (${3:-{\}})")
	reqj POST "$SYS/actions/mqtt/subscribe?blocking=true" "$params"
}
feed_trigger() {
	reqj PUT "$NS/triggers/$1" '{"annotations":[{"key":"feed","value":"/whisk.system/mqtt/subscribe"}]}'
}
pub() { mosquitto_pub -h 127.0.0.1 -p "$MQ_PORT" -q 1 "$@"; }
# results NAME: the trigger's fire parameters, one JSON object a line.
results() {
	req GET "$NS/activations?name=$1&limit=200&docs=true"
	printf '%s' "$BODY" | jq -c '.[].response.result'
}
fires() {
	req GET "$NS/activations?name=$1&limit=200"
	printf '%s' "$BODY" | jq 'length'
}
wait_fires() {
	for _ in $(seq 1 $(($3 * 5))); do
		[ "$(fires "$1")" -ge "$2" ] && return 0
		sleep 0.2
	done
	return 1
}
count_fires() {
	req GET "$NS/activations?name=$1&count=true"
	printf '%s' "$BODY" | jq '.activations // 0'
}
# all_results NAME: every fire's parameters, 200 records a request.
all_results() {
	local skip=0 got
	while :; do
		req GET "$NS/activations?name=$1&limit=200&skip=$skip&docs=true"
		got=$(printf '%s' "$BODY" | jq 'length')
		[ "${got:-0}" -gt 0 ] || break
		printf '%s' "$BODY" | jq -c '.[].response.result'
		skip=$((skip + got))
	done
}
client_pids() { pgrep -f "$EW_ROOT/$O/edgewhisk-mqtt" || true; }

# ------------------------------------------------------------ the package
req GET "$SYS/packages/mqtt"
check "whisk.system/mqtt has subscribe, feed: true" eval 'test "$CODE" = 200 && jqb "[.actions[].name] == [\"subscribe\"] and any(.actions[0].annotations[]; .key == \"feed\" and .value == true)"'

# ------------------------------------------------ wildcards through a rule
reqj PUT "$NS/actions/echo" '{"exec":{"kind":"nodejs:default","code":"function main(p){return p}"}}'
check "create action echo" test "$CODE" = 200
reqj PUT "$NS/triggers/sensors" '{"annotations":[{"key":"feed","value":"/whisk.system/mqtt/subscribe"}],"parameters":[{"key":"site","value":"lab"}]}'
reqj PUT "$NS/rules/sensors-echo" '{"trigger":"/_/sensors","action":"/_/echo"}'
check "trigger sensors with its rule" test "$CODE" = 200
feed CREATE sensors "{url: \"$URL\", topic: [\"sensors/+/temp\", \"alerts/#\"]}"
check "CREATE with two wildcard filters -> success" eval 'test "$CODE" = 200 && jqb ".response.result == {status: \"success\"}"'
pub -t sensors/kitchen/temp -m '{"c":21.5}'
pub -t sensors/kitchen/humidity -m '{"rh":40}'
pub -t alerts -m 'smoke in the hall'
pub -t alerts/x/y -m '[1,2]'
printf '\377\376\000' | pub -t sensors/raw/temp -s
wait_fires sensors 4 10
sleep 1
check "4 of the 5 messages fire the trigger ($(fires sensors))" test "$(fires sensors)" = 4
wait_fires echo 4 20
res=$(results echo)
check "sensors/+/temp: a JSON payload as JSON, with qos, topic, the trigger's own parameters" eval 'printf "%s\n" "$res" | jq -se "any(.[]; .topic == \"sensors/kitchen/temp\" and .payload == {c: 21.5} and .encoding == \"json\" and .qos == 1 and .retain == false and (.messageId | type == \"number\") and (.receivedAt > 1700000000000) and .site == \"lab\")" >/dev/null'
check "alerts/# matches alerts: text as utf8" eval 'printf "%s\n" "$res" | jq -se "any(.[]; .topic == \"alerts\" and .payload == \"smoke in the hall\" and .encoding == \"utf8\")" >/dev/null'
check "alerts/# matches alerts/x/y" eval 'printf "%s\n" "$res" | jq -se "any(.[]; .topic == \"alerts/x/y\" and .payload == [1,2])" >/dev/null'
check "bytes that are not UTF-8 come as base64" eval 'printf "%s\n" "$res" | jq -se "any(.[]; .topic == \"sensors/raw/temp\" and .payload == \"//4A\" and .encoding == \"base64\")" >/dev/null'
check "sensors/+/temp does not match sensors/kitchen/humidity" eval '! printf "%s\n" "$res" | jq -se "any(.[]; .topic == \"sensors/kitchen/humidity\")" >/dev/null'
feed READ sensors
check "READ -> config, status active, connection up, no password" eval 'test "$CODE" = 200 && jqb ".response.result.config.topic == [\"sensors/+/temp\", \"alerts/#\"] and .response.result.config.qos == 1 and .response.result.config.cleanSession == false and (.response.result.config.clientId | startswith(\"ew-\")) and .response.result.status.active == true and .response.result.status.connection.state == \"up\" and (.response.result.config | has(\"password\") | not)"'
feed UPDATE sensors '{payloadEncoding: "base64"}'
check "UPDATE payloadEncoding -> success" eval 'test "$CODE" = 200 && jqb ".response.result.status == \"success\""'
pub -t sensors/hall/temp -m '{"c":19}'
wait_fires echo 6 20
check "after UPDATE a JSON payload comes as base64" eval 'results echo | jq -se "any(.[]; .topic == \"sensors/hall/temp\" and .encoding == \"base64\" and (.payload | @base64d) == \"{\\\"c\\\":19}\")" >/dev/null'
feed PAUSE sensors
check "PAUSE -> success" test "$CODE" = 200
f0=$(fires sensors)
pub -t sensors/hall/temp -m '{"c":1}'
sleep 1.5
check "a paused registration does not fire ($f0 -> $(fires sensors))" test "$(fires sensors)" = "$f0"
feed UNPAUSE sensors
pub -t sensors/hall/temp -m '{"c":2}'
wait_fires sensors $((f0 + 1)) 8
check "UNPAUSE: it fires again" test $? = 0

# ------------------------------------------------- refused parameters
feed_trigger bad
for spec in "topic: \"a\"|url" "url: \"http://127.0.0.1:1\", topic: \"a\"|url" \
	"url: \"$URL\"|topic" "url: \"$URL\", topic: \"a/#/b\"|topic" \
	"url: \"$URL\", topic: \"a+\"|topic" "url: \"$URL\", topic: \"a\", qos: 3|qos" \
	"url: \"$URL\", topic: \"a\", payloadEncoding: \"hex\"|payloadEncoding" \
	"url: \"$URL\", topic: \"a\", retained: \"maybe\"|retained" \
	"url: \"$URL\", topic: \"a\", caCert: \"x\"|caCert"; do
	feed CREATE bad "{${spec%|*}}"
	check "CREATE with a bad ${spec#*|} -> error naming it" eval 'test "$CODE" = 502 && jqb --arg p "${spec#*|}" ".response.result.error | contains(\$p)"'
done
feed CREATE bad "{url: \"mqtt://127.0.0.1:$DEAD_PORT\", topic: \"a\"}"
check "an unreachable broker -> the feed action's error" eval 'test "$CODE" = 502 && jqb ".response.result.error | contains(\"cannot connect\")"'
feed READ bad
check "a failed CREATE leaves no registration" test "$CODE" = 502
feed CREATE nosuch "{url: \"$URL\", topic: \"a\"}"
check "CREATE for a trigger that does not exist -> error" test "$CODE" = 502

# ------------------------------------------------- credentials and TLS
feed_trigger secure
feed CREATE secure "{url: \"mqtt://127.0.0.1:$MQ_AUTH_PORT\", topic: \"door/#\", username: \"sensor\", password: \"wrong\"}"
check "a wrong password -> the broker's refusal" eval 'test "$CODE" = 502 && jqb ".response.result.error | contains(\"not authorized by the broker (check username and password)\")"'
feed CREATE secure "{url: \"mqtt://127.0.0.1:$MQ_AUTH_PORT\", topic: \"door/#\", username: \"sensor\", password: \"s3cret\"}"
check "the right password -> success" test "$CODE" = 200
mosquitto_pub -h 127.0.0.1 -p "$MQ_AUTH_PORT" -u sensor -P s3cret -q 1 -t door/front -m open
wait_fires secure 1 8
check "a message through the password listener fires" test $? = 0
feed_trigger tls
feed CREATE tls "{url: \"mqtts://127.0.0.1:$MQ_TLS_PORT\", topic: \"t\"}"
check "mqtts:// with the system CAs refuses the test CA's broker" eval 'test "$CODE" = 502 && jqb ".response.result.error | contains(\"cannot connect\")"'
CA=$(cat "$T/ca.pem")
feed CREATE tls "$(jq -cn --arg u "mqtts://127.0.0.1:$MQ_TLS_PORT" --arg ca "$CA" '{url: $u, topic: "t", caCert: $ca}')"
check "mqtts:// with caCert -> success" test "$CODE" = 200
mosquitto_pub -h 127.0.0.1 -p "$MQ_TLS_PORT" --cafile "$T/ca.pem" -q 1 -t t -m '"over tls"'
wait_fires tls 1 8
check "a message over TLS fires" test $? = 0
feed DELETE tls
feed_trigger tls2
feed CREATE tls2 "{url: \"mqtts://127.0.0.1:$MQ_TLS_PORT\", topic: \"t\", insecure: true}"
check "mqtts:// insecure: true skips verification -> success" test "$CODE" = 200
feed DELETE tls2

# --------------------------------------- the client process is killed
before=$(client_pids | head -n 1)
kill -KILL $(client_pids) 2>/dev/null
for _ in $(seq 1 50); do
	now=$(client_pids | wc -l)
	[ "$now" -ge 2 ] && break
	sleep 0.1
done
check "killed client processes are started again ($now running)" test "$now" -ge 2
sleep 0.5
f0=$(fires sensors)
pub -t sensors/after/temp -m '{"c":3}'
wait_fires sensors $((f0 + 1)) 10
check "a message after the kill fires" test $? = 0
check "the new process is not the old one" eval 'test "$(client_pids | head -n 1)" != "$before"'

# ------------------------------------------------- the broker restarts
broker_stop
sleep 1
broker_start
check "mosquitto restarted (no persistence: it forgot the subscriptions)" test $? = 0
f0=$(fires sensors)
for _ in $(seq 1 40); do
	pub -t sensors/restart/temp -m '{"c":4}' 2>/dev/null
	sleep 0.5
	[ "$(fires sensors)" -gt "$f0" ] && break
done
check "after the broker's restart the client reconnects and subscribes again" test "$(fires sensors)" -gt "$f0"

# --------------------------------- qos 1 while the controller is down
feed_trigger down
feed CREATE down "{url: \"$URL\", topic: \"down/#\", qos: 1}"
check "CREATE down (qos 1, persistent session)" test "$CODE" = 200
kill -TERM "$CTRL_PID"
wait "$CTRL_PID" 2>/dev/null
CTRL_PID=
sleep 0.5
check "no client process outlives the controller" test -z "$(client_pids)"
seq 1 50 | sed 's/.*/{"i":&}/' | pub -t down/meter -l
"$EW_ROOT/$O/edgewhisk-controller" -c "$T/edgewhisk.yaml" >>"$T/controller.log" 2>&1 &
CTRL_PID=$!
ew_wait_up 30
check "the controller restarts on the same state" test $? = 0
wait_fires down 50 20
got=$(results down | jq -s '[.[].payload.i] | length')
distinct=$(results down | jq -s '[.[].payload.i] | unique | length')
echo "# published while down: 50; fired after restart: $got ($distinct distinct, $((got - distinct)) duplicates)"
check "all 50 qos 1 messages published while down arrive after restart ($distinct distinct)" test "$distinct" = 50
feed READ sensors
check "registrations survive the restart" eval 'jqb ".response.result.status.active == true and .response.result.config.payloadEncoding == \"base64\""'

# ------------------------------------------------- 1 MB, and over the limit
feed_trigger big
feed CREATE big "{url: \"$URL\", topic: \"big\"}"
head -c 750000 /dev/urandom | base64 -w 0 | head -c 1000000 >"$T/1mb"
pub -t big -f "$T/1mb"
wait_fires big 1 15
req GET "$NS/activations?name=big&limit=1&docs=true"
check "a 1 MB message fires with its 1,000,000-byte payload" eval 'jqb ".[0].response.result.payload | length == 1000000"'
head -c 2000000 /dev/zero | tr '\0' 'x' >"$T/2mb"
pub -t big -f "$T/2mb"
sleep 2
check "a message over feeds.mqtt_max_payload is dropped, said in the log" eval 'grep -q "was dropped" "$T/controller.log" && test "$(fires big)" = 1'
req GET /ping
check "the API still answers" test "$CODE" = 200

# -------------------- a 2,000-message burst into a throttled namespace
feed_trigger burst
feed CREATE burst "{url: \"$URL\", topic: \"burst\", qos: 1}"
check "CREATE burst" test "$CODE" = 200
rss() { awk '/VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
c_rss0=$(rss "$CTRL_PID")
t0=$(date +%s)
seq 1 2000 | sed 's/.*/{"n":&}/' | pub -t burst -l
peak_c=0
peak_m=0
for _ in $(seq 1 180); do
	n_now=$(count_fires burst)
	c=$(rss "$CTRL_PID")
	[ "$c" -gt "$peak_c" ] && peak_c=$c
	for p in $(client_pids); do
		m=$(rss "$p")
		[ "$m" -gt "$peak_m" ] && peak_m=$m
	done
	[ "$n_now" -ge 2000 ] && break
	sleep 1
done
t1=$(date +%s)
distinct=$(all_results burst | jq -s '[.[].payload.n] | unique | length')
echo "# burst: 2000 qos 1 messages at 1200 fires/min: $n_now fires, $distinct distinct in $((t1 - t0)) s; controller RSS ${c_rss0} -> peak ${peak_c} KiB, client peak ${peak_m} KiB"
check "every burst message fired at least once ($distinct distinct of 2000)" test "$distinct" = 2000
check "within about two minutes ($((t1 - t0)) s)" test $((t1 - t0)) -le 150
check "memory bounded: controller grew < 64 MiB, client process < 64 MiB" test $((peak_c - c_rss0)) -lt 65536 -a "$peak_m" -lt 65536

# ------------------------------------------------- DELETE, trigger delete
feed DELETE sensors
check "DELETE -> success" eval 'test "$CODE" = 200 && jqb ".response.result.status == \"success\""'
feed READ sensors
check "READ after DELETE -> error" test "$CODE" = 502
req DELETE "$NS/triggers/down"
check "delete a trigger with a registration" test "$CODE" = 200
feed_trigger down
feed READ down
check "deleting the trigger ended its registration" test "$CODE" = 502
for t in secure big burst; do feed DELETE "$t"; done
for _ in $(seq 1 50); do
	[ -z "$(client_pids)" ] && break
	sleep 0.1
done
check "no client process is left once every registration is gone" test -z "$(client_pids)"

ew_finish
