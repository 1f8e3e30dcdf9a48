#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration test of the built-in feeds against the real system: OpenWhisk's
# feed protocol on /whisk.system/alarms (alarm, once, interval) as the wsk CLI
# drives it (trigger with a feed annotation, then the feed action invoked
# blocking with lifecycleEvent, triggerName and authKey), fires through rules
# into real containers, registrations across a controller restart, a fire
# missed while the controller was down, and refused parameters.
# Talks to 127.0.0.1 only.
# Prints ok/not ok per case, then "feeds: N passed, M failed".
# Exit: 0 all passed, 1 a failure, 77 Docker absent (and CI is not "true").
# shellcheck disable=SC2016 # checks are single-quoted eval strings
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ew_setup feeds
ew_need_docker
if ! ew_start_controller; then
	ew_controller_log_tail 40
	ew_finish
fi
echo "# controller pid $CTRL_PID on $BASE, instance $INSTANCE, state $STATE"

NS=/api/v1/namespaces/_
SYS=/api/v1/namespaces/whisk.system

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# feed ACTION EVENT TRIGGER [JSON object of parameters]: invoke the feed
# action blocking as the CLI does; CODE/BODY are the activation's.
feed() {
	local params
	params=$(jq -cn --arg e "$2" --arg t "/_/$3" --arg k "$GUEST_AUTH" \
		"{lifecycleEvent: \$e, triggerName: \$t, authKey: \$k} + (${4:-{\}})")
	reqj POST "$SYS/actions/alarms/$1?blocking=true" "$params"
}

# feed_trigger NAME ACTION: the trigger as `wsk trigger create --feed` makes it.
feed_trigger() {
	reqj PUT "$NS/triggers/$1" \
		"$(jq -cn --arg f "/whisk.system/alarms/$2" '{annotations: [{key: "feed", value: $f}]}')"
}

# fires NAME: how many activation records the trigger has (fires).
fires() {
	req GET "$NS/activations?name=$1&limit=200"
	printf '%s' "$BODY" | jq 'length'
}

# wait_fires NAME N SECONDS: poll until NAME has >= N fires.
wait_fires() {
	local i
	for i in $(seq 1 $(($3 * 5))); do
		[ "$(fires "$1")" -ge "$2" ] && return 0
		sleep 0.2
	done
	return 1
}

# ------------------------------------------------------------ the package
req GET "$SYS/packages"
check "whisk.system lists the alarms package" eval 'test "$CODE" = 200 && jqb "any(.[]; .name == \"alarms\")"'
req GET "$SYS/packages/alarms"
check "alarms has alarm, once, interval, each feed: true" eval 'test "$CODE" = 200 && jqb "([.actions[].name] | sort) == [\"alarm\", \"interval\", \"once\"] and all(.actions[]; any(.annotations[]; .key == \"feed\" and .value == true))"'
reqj PUT "$SYS/actions/alarms/mine" '{"exec":{"kind":"nodejs:default","code":"function main(){}"}}'
check "an ordinary key cannot write into whisk.system -> 403" test "$CODE" = 403

# --------------------------------------- a seconds cron through a rule
reqj PUT "$NS/actions/echo" '{"exec":{"kind":"nodejs:default","code":"function main(p){return p}"}}'
check "create action echo" test "$CODE" = 200
feed_trigger tick alarm
check "trigger tick with feed annotation" test "$CODE" = 200
reqj PUT "$NS/rules/tick-echo" '{"trigger":"/_/tick","action":"/_/echo"}'
check "rule tick -> echo" test "$CODE" = 200
feed alarm CREATE tick '{cron: "* * * * * *", trigger_payload: {sensor: "s1"}}'
check "CREATE a seconds cron -> success" eval 'test "$CODE" = 200 && jqb ".response.success and .response.result == {status: \"success\"}"'
t0=$(fires tick)
sleep 5
t1=$(fires tick)
nf=$((t1 - t0))
echo "# seconds cron: $nf fires in 5 s"
check "a seconds cron fires 4-6 times in 5 s ($nf)" test "$nf" -ge 4 -a "$nf" -le 6
req GET "$NS/activations?name=echo&limit=1&docs=true"
check "the rule ran echo with the trigger_payload" eval 'jqb ".[0].response.result.sensor == \"s1\""'
feed alarm READ tick
check "READ -> config and status active" eval 'test "$CODE" = 200 && jqb ".response.result.config.cron == \"* * * * * *\" and .response.result.config.payload == {sensor: \"s1\"} and .response.result.status.active == true and (.response.result.status.dateChangedISO | type == \"string\")"'
feed alarm UPDATE tick '{trigger_payload: {sensor: "s2"}}'
check "UPDATE the payload -> success" eval 'test "$CODE" = 200 && jqb ".response.result.status == \"success\""'
feed alarm READ tick
check "READ after UPDATE keeps the cron, shows the new payload" eval 'jqb ".response.result.config.cron == \"* * * * * *\" and .response.result.config.payload == {sensor: \"s2\"}"'
feed alarm PAUSE tick
check "PAUSE -> success" eval 'test "$CODE" = 200'
sleep 1.2
p0=$(fires tick)
sleep 2.5
p1=$(fires tick)
check "a paused alarm does not fire ($p0 -> $p1)" test "$p0" = "$p1"
feed alarm READ tick
check "READ a paused alarm -> active false, reason kind USER" eval 'jqb ".response.result.status.active == false and .response.result.status.reason.kind == \"USER\""'
feed alarm UNPAUSE tick
check "UNPAUSE -> success" test "$CODE" = 200
wait_fires tick $((p1 + 2)) 6
check "an unpaused alarm fires again" test $? = 0

# ---------------------------------------------------- errors of the protocol
feed alarm CREATE nosuch '{cron: "* * * * *"}'
check "CREATE for a trigger that does not exist -> error result" eval 'test "$CODE" = 502 && jqb ".response.success == false and (.response.result.error | type == \"string\")"'
feed_trigger bad alarm
for spec in 'cron: "61 * * * *"|cron' 'cron: "* * * * *", timezone: "Mars/Olympus"|timezone' \
	'cron: "* * * * *", startDate: 1000|startDate' \
	"cron: \"* * * * *\", startDate: $(($(now_ms) + 600000)), stopDate: $(($(now_ms) + 60000))|stopDate" \
	'cron: "* * * * *", trigger_payload: 5|trigger_payload'; do
	feed alarm CREATE bad "{${spec%|*}}"
	check "alarm CREATE with a bad ${spec#*|} -> error naming it" eval 'test "$CODE" = 502 && jqb --arg p "${spec#*|}" ".response.result.error | contains(\$p)"'
done
feed once CREATE bad "{date: $(($(now_ms) - 1000))}"
check "once CREATE with a past date -> error naming date" eval 'test "$CODE" = 502 && jqb ".response.result.error | contains(\"date\")"'
feed interval CREATE bad '{minutes: 0}'
check "interval CREATE with minutes 0 -> error naming minutes" eval 'test "$CODE" = 502 && jqb ".response.result.error | contains(\"minutes\")"'
params=$(jq -cn --arg t "/_/bad" '{lifecycleEvent: "CREATE", triggerName: $t, authKey: "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:wrong", cron: "* * * * *"}')
reqj POST "$SYS/actions/alarms/alarm?blocking=true" "$params"
check "CREATE with a wrong authKey -> error" eval 'test "$CODE" = 502 && jqb ".response.result.error | type == \"string\""'
feed alarm SHOUT bad
check "an unknown lifecycleEvent -> error naming the events" eval 'test "$CODE" = 502 && jqb ".response.result.error | contains(\"CREATE\")"'
feed alarm READ bad
check "READ of a trigger without registration -> error" eval 'test "$CODE" = 502'

# ------------------------------------------------- once, deleteAfterFire
feed_trigger one once
feed once CREATE one "{date: $(($(now_ms) + 1500)), deleteAfterFire: true}"
check "once CREATE with deleteAfterFire true -> success" test "$CODE" = 200
wait_fires one 1 8
check "once fires" test $? = 0
for _ in $(seq 1 25); do
	req GET "$NS/triggers/one"
	[ "$CODE" = 404 ] && break
	sleep 0.2
done
check "deleteAfterFire: the trigger is deleted after its fire" test "$CODE" = 404

feed_trigger keep once
feed once CREATE keep "{date: \"$(date -u -d @$(($(date +%s) + 2)) +%Y-%m-%dT%H:%M:%S.000Z)\"}"
check "once CREATE with an ISO-8601 date -> success" test "$CODE" = 200
wait_fires keep 1 8
check "once with an ISO date fires" test $? = 0
sleep 1.5
check "once fires exactly once ($(fires keep))" test "$(fires keep)" = 1
feed once READ keep
check "READ after the fire -> active false" eval 'jqb ".response.result.status.active == false"'
req GET "$NS/triggers/keep"
check "deleteAfterFire false keeps the trigger" test "$CODE" = 200

# ------------------------------------------------- interval, stopDate
feed_trigger iv interval
feed interval CREATE iv "{minutes: 1, startDate: $(($(now_ms) + 1500))}"
check "interval CREATE with a startDate -> success" test "$CODE" = 200
wait_fires iv 1 8
check "interval fires at its startDate" test $? = 0
feed interval READ iv
check "READ interval -> minutes 1" eval 'jqb ".response.result.config.minutes == 1"'

feed_trigger stop alarm
feed alarm CREATE stop "{cron: \"* * * * * *\", stopDate: $(($(now_ms) + 2500))}"
check "cron with a stopDate -> success" test "$CODE" = 200
sleep 4
s0=$(fires stop)
sleep 2
s1=$(fires stop)
check "no fires after stopDate ($s0 -> $s1, 1-3 before)" test "$s0" = "$s1" -a "$s0" -ge 1 -a "$s0" -le 3

# ------------------------------------------------- DELETE, trigger delete
feed alarm DELETE stop
check "DELETE -> success" eval 'test "$CODE" = 200 && jqb ".response.result.status == \"success\""'
feed alarm READ stop
check "READ after DELETE -> error" test "$CODE" = 502
feed_trigger gone alarm
feed alarm CREATE gone '{cron: "* * * * * *"}'
req DELETE "$NS/triggers/gone"
check "delete a trigger with a registration -> 200" test "$CODE" = 200
feed_trigger gone alarm
feed alarm READ gone
check "deleting the trigger ended its registration" test "$CODE" = 502
g0=$(fires gone)
sleep 2
check "a re-created trigger of the name is not fired ($g0 -> $(fires gone))" test "$(fires gone)" = "$g0"

# ------------------------------------------------- restart, missed fire
feed_trigger late once
feed once CREATE late "{date: $(($(now_ms) + 3000))}"
check "once CREATE 3 s ahead -> success" test "$CODE" = 200
kill -TERM "$CTRL_PID"
wait "$CTRL_PID" 2>/dev/null
CTRL_PID=
sleep 4
"$EW_ROOT/$O/edgewhisk-controller" -c "$T/edgewhisk.yaml" >>"$T/controller.log" 2>&1 &
CTRL_PID=$!
ew_wait_up 30
check "the controller restarts on the same state" test $? = 0
wait_fires late 1 5
check "the once fire missed while down is made at start-up" test $? = 0
sleep 1
check "and made once ($(fires late))" test "$(fires late)" = 1
feed alarm READ tick
check "a registration survives the restart" eval 'jqb ".response.result.status.active == true and .response.result.config.payload == {sensor: \"s2\"}"'
r0=$(fires tick)
sleep 3
r1=$(fires tick)
check "the seconds cron fires again after the restart ($r0 -> $r1)" test "$((r1 - r0))" -ge 2
grep -q 'missed' "$T/controller.log"
check "the log says a missed fire was made" test $? = 0
feed alarm DELETE tick
check "DELETE tick -> success" test "$CODE" = 200

ew_finish
