#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The README's event and feed examples (sections "Events" and "Feeds") run
# as written against a private controller and a mosquitto broker started
# here, and give the answers the README promises: docs that match the
# code. Talks to 127.0.0.1 only.
# Prints ok/not ok per case, then "readme: N passed, M failed".
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ew_setup readme
ew_need_docker
ew_need_tools mosquitto mosquitto_pub
MQ_PORT=$(ew_free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\n' \
	"$MQ_PORT" >"$T/mosquitto.conf"
readme_cleanup() {
	ew_mosquitto_stop
	ew_cleanup
}
trap readme_cleanup EXIT
ew_mosquitto_start "$T/mosquitto.conf" "$MQ_PORT"
check "mosquitto listens on 127.0.0.1:$MQ_PORT" test $? = 0
if ! ew_start_controller; then
	ew_controller_log_tail 40
	ew_finish
fi
export AUTH=$GUEST_AUTH API=$BASE/api/v1/namespaces/_
# The README's hello, as deploy/run-local.sh creates it.
"${CURL[@]}" -u "$AUTH" -X PUT "$API/actions/hello" -H 'Content-Type: application/json' \
	-d '{"exec":{"kind":"nodejs:default","code":"function main(p){return {greeting:\"Hello \"+p.name}}"}}' >/dev/null

# The sh blocks of the section, trailing "  # comment"s dropped, the
# documented address replaced by this controller's, and the fire's id kept
# for the "<trigger>" placeholder; the broker's port is this test's, and a
# publish gets a moment to fire before the next line reads its record.
awk '/^## Events/,/^## How it runs/' "$EW_ROOT/README.md" |
	awk '/^```sh/{f=1;next}/^```/{f=0}f' |
	sed -E -e "s#http://127.0.0.1:3233#$BASE#" -e 's#^curl #curl -s #' -e 's#<trigger>#$TID#' \
		-e 's/[[:space:]]{2,}# .*$//' \
		-e 's#^(curl -s -u \$AUTH -X POST \$API/triggers/door .*)$#TID=$(\1 | jq -r .activationId); sleep 1#' \
		-e "s#127.0.0.1:1883#127.0.0.1:$MQ_PORT#" -e "s#^mosquitto_pub -h 127.0.0.1 #mosquitto_pub -h 127.0.0.1 -p $MQ_PORT #" \
		-e 's#^(mosquitto_pub .*)$#\1; sleep 2#' \
		>"$T/cmds.sh"
check "the Events section has its examples" test "$(grep -c '^curl\|^TID' "$T/cmds.sh")" -ge 14
(cd "$T" && bash -e "$T/cmds.sh") >"$T/out" 2>&1
rc=$?
check "every example runs" test "$rc" = 0
out=$(cat "$T/out")
BODY=${out: -300}
check "trigger fire: its record lists the rule's activation" eval 'grep -q "\"name\":\"door\".*on-door" <<<"$out"'
check "sequence example answers HELLO EDGE" eval 'grep -qF "{\"greeting\":\"HELLO EDGE\"}" <<<"$out"'
check "binding example answers Hello bound" eval 'grep -qF "{\"greeting\":\"Hello bound\"}" <<<"$out"'
check "whisk.system/utils example lists its actions" eval 'grep -q "\"namespace\":\"whisk.system\".*\"name\":\"utils\"" <<<"$out" && grep -q "\"name\":\"sort\"" <<<"$out"'
check "utils/sort example answers apple, pear" eval 'grep -qF "{\"lines\":[\"apple\",\"pear\"],\"length\":2}" <<<"$out"'
check "sequence of sort and cat answers a\\nb" eval 'grep -qF "{\"lines\":[\"a\",\"b\"],\"payload\":\"a\\nb\"}" <<<"$out"'
check "route example answers sensor 42 in F" eval 'grep -qF "{\"sensor\":\"42\",\"unit\":\"F\"}" <<<"$out"'
check "route example's createApi gives the route's URL" eval 'grep -qF "\"gwApiUrl\":\"$BASE/api/guest\"" <<<"$out"'
check "web example answers 201 with X-Edge and the page" eval 'grep -q "HTTP/1.1 201 Created" <<<"$out" && grep -q "^X-Edge: yes" <<<"$out" && grep -qF "<h1>Hi edge</h1>" <<<"$out"'
check "alarm and mqtt CREATE examples answer success" test "$(grep -oF '{"status":"success"}' <<<"$out" | wc -l)" -ge 2
check "mqtt example: the published reading fired the trigger with its JSON payload" eval 'grep -qF "\"payload\":{\"c\":4.5}" <<<"$out" && grep -qF "\"topic\":\"sensors/shed/temp\"" <<<"$out"'
check "mqtt READ example: its config and the connection up" eval 'grep -qF "\"topic\":[\"sensors/+/temp\"]" <<<"$out" && grep -qF "\"connection\":{\"state\":\"up\"}" <<<"$out"'
[ "$failed" = 0 ] || { sed 's/^/  # /' "$T/out" | head -40; echo; }
ew_finish
