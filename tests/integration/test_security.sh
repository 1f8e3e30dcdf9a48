#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Isolation and hardening, against a real controller with three namespaces
# (guest, alice and bob, one key each):
#   - every authenticated route refuses the other namespace (403 when it is
#     named, 404 through "_"), and a key never works with another uuid;
#   - but a published package and its actions are read and invoked by
#     every key (the invocation is the caller's: record, subject,
#     throttle), never written; unpublished packages and bindings of
#     another namespace stay 403 on every route; whisk.system is
#     read-only for every key, its utils run for anyone;
#   - action containers: no-new-privileges, NET_RAW/NET_ADMIN dropped, not
#     privileged, pids and memory limits, no mounts (so no Docker socket),
#     no port published and no docker-proxy process for any of them (the
#     invoker reaches each one inside its network namespace);
#   - the action's environment holds only what spec sections 9/10 list;
#   - per-namespace throttles answer 429 with OpenWhisk's messages,
#     promptly.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

ALICE_UUID=4a1ce000-71f6-4ed5-8c54-816aa4f8c502
ALICE_KEY=alicekeyalicekeyalicekeyalicekeyalicekeyalicekeyalicekeyalicekey
ALICE_AUTH="$ALICE_UUID:$ALICE_KEY"
# bob is used for the per-minute limit only, so his count is known.
BOB_UUID=b0b00000-71f6-4ed5-8c54-816aa4f8c502
BOB_KEY=bobkeybobkeybobkeybobkeybobkeybobkeybobkeybobkeybobkeybobkeybobk
BOB_AUTH="$BOB_UUID:$BOB_KEY"
PER_MINUTE=40
EW_CONFIG_EXTRA="auth:
  - {uuid: $GUEST_UUID, key: $GUEST_KEY, namespace: guest}
  - {uuid: $ALICE_UUID, key: $ALICE_KEY, namespace: alice}
  - {uuid: $BOB_UUID, key: $BOB_KEY, namespace: bob}
limits:
  invocations_per_minute: $PER_MINUTE
  concurrent_invocations: 2"
export EW_CONFIG_EXTRA

ew_setup security
ew_need_docker
ew_start_controller || ew_finish

# as AUTH METHOD PATH [curl args]: req with another key.
as() {
	local auth=$1 method=$2 path=$3
	shift 3
	: >"$T/hdrs"
	CODE=$("${CURL[@]}" -u "$auth" -X "$method" -o "$T/resp" -D "$T/hdrs" -w '%{http_code}' \
		"$@" "$BASE$path" 2>"$T/curl.err") || CODE="curl-failed:$(cat "$T/curl.err")"
	BODY=$(cat "$T/resp" 2>/dev/null || true)
}

# alice_expects: for each "METHOD PATH [CODE]" line on stdin (CODE 403 when
# left out), alice's request answers CODE; a 403 says why (OpenWhisk's "not
# authorized", or whisk.system being edgewhisk's).
alice_expects() {
	local method path want args
	while read -r method path want; do
		want=${want:-403}
		args=()
		[ "$method" = PUT ] || [ "$method" = POST ] && args=("${J[@]}")
		as "$ALICE_AUTH" "$method" "$path" "${args[@]}"
		check "alice: $method $path -> $want" \
			eval 'test "$CODE" = "$want" && { [ "$want" != 403 ] || jqb ".error | test(\"not authorized|managed by edgewhisk\")"; }'
	done
}

# --- guest's entities and activations ---
reqj PUT "/api/v1/namespaces/_/actions/secret" \
	'{"exec":{"kind":"nodejs:20","code":"function main(){return {secret: 42}}"},"parameters":[{"key":"token","value":"guest-only"}]}'
check "guest creates an action" test "$CODE" = 200
req POST "/api/v1/namespaces/_/actions/secret?blocking=true"
check "guest invokes it" test "$CODE" = 200
gid=$(printf '%s' "$BODY" | jq -r .activationId)

# --- alice against guest, naming guest's namespace: 403 everywhere ---
J=(-H 'Content-Type: application/json' --data-binary '{}')
alice_expects <<EOF
GET /api/v1/namespaces/guest/limits
GET /api/v1/namespaces/guest/actions
GET /api/v1/namespaces/guest/actions/secret
PUT /api/v1/namespaces/guest/actions/secret?overwrite=true
POST /api/v1/namespaces/guest/actions/secret?blocking=true
DELETE /api/v1/namespaces/guest/actions/secret
GET /api/v1/namespaces/guest/actions/pkg/secret
GET /api/v1/namespaces/guest/activations
GET /api/v1/namespaces/guest/activations/$gid
GET /api/v1/namespaces/guest/activations/$gid/result
GET /api/v1/namespaces/guest/activations/$gid/logs
GET /api/v1/namespaces/guest/triggers
PUT /api/v1/namespaces/guest/triggers/t
POST /api/v1/namespaces/guest/triggers/t
DELETE /api/v1/namespaces/guest/triggers/t
GET /api/v1/namespaces/guest/rules
PUT /api/v1/namespaces/guest/rules/r
POST /api/v1/namespaces/guest/rules/r
PUT /api/v1/namespaces/guest/packages/p
DELETE /api/v1/namespaces/guest/packages/p
EOF

# --- alice through "_" (her own namespace): guest's things do not exist ---
as "$ALICE_AUTH" GET "/api/v1/namespaces"
check "alice sees only her namespace" jqb '. == ["alice"]'
as "$ALICE_AUTH" GET "/api/v1/namespaces/_/actions"
check "alice's action list is empty" jqb '. == []'
as "$ALICE_AUTH" GET "/api/v1/namespaces/_/actions?count=true"
check "alice's action count is 0" jqb '.actions == 0'
for m in GET POST DELETE; do
	as "$ALICE_AUTH" "$m" "/api/v1/namespaces/_/actions/secret"
	check "alice: $m _/actions/secret -> 404" test "$CODE" = 404
done
for sub in "" /result /logs; do
	as "$ALICE_AUTH" GET "/api/v1/namespaces/_/activations/$gid$sub"
	check "alice: GET _/activations/<guest's id>$sub -> 404" test "$CODE" = 404
done
as "$ALICE_AUTH" GET "/api/v1/namespaces/_/activations?docs=true"
check "alice's activation list is empty" jqb '. == []'
as "$ALICE_AUTH" GET "/api/v1/namespaces/_/activations?count=true"
check "alice's activation count is 0" jqb '.activations == 0'
# Her own action of the same name is hers only.
as "$ALICE_AUTH" PUT "/api/v1/namespaces/_/actions/secret" -H 'Content-Type: application/json' \
	--data-binary '{"exec":{"kind":"nodejs:20","code":"function main(){return {mine: 1}}"}}'
check "alice creates her own 'secret'" test "$CODE" = 200
as "$ALICE_AUTH" POST "/api/v1/namespaces/_/actions/secret?blocking=true&result=true"
check "alice's call runs her code" jqb '. == {"mine": 1}'
as "$ALICE_AUTH" DELETE "/api/v1/namespaces/_/actions/secret"
check "alice deletes her own" test "$CODE" = 200
req GET "/api/v1/namespaces/_/actions/secret"
check "guest's action is intact, parameters included" \
	jqb '.parameters == [{"key":"token","value":"guest-only"}]'
req GET "/api/v1/namespaces/_/activations/$gid"
check "guest still reads its activation" test "$CODE" = 200

# --- events: guest's triggers, rules, packages stay guest's ---
reqj PUT "/api/v1/namespaces/_/triggers/gt" '{}'
reqj PUT "/api/v1/namespaces/_/rules/gr" '{"trigger":"gt","action":"secret"}'
reqj PUT "/api/v1/namespaces/_/packages/gp" '{"parameters":[{"key":"k","value":"guest-only"}]}'
check "guest creates a trigger, rule and private package" test "$CODE" = 200
for path in triggers/gt rules/gr packages/gp; do
	as "$ALICE_AUTH" GET "/api/v1/namespaces/_/$path"
	check "alice: GET _/$path (guest's) -> 404" test "$CODE" = 404
done
as "$ALICE_AUTH" POST "/api/v1/namespaces/_/triggers/gt" -H 'Content-Type: application/json' --data-binary '{}'
check "alice cannot fire guest's trigger -> 404" test "$CODE" = 404
as "$ALICE_AUTH" PUT "/api/v1/namespaces/_/triggers/at" -H 'Content-Type: application/json' --data-binary '{}'
as "$ALICE_AUTH" PUT "/api/v1/namespaces/_/rules/ar" -H 'Content-Type: application/json' \
	--data-binary '{"trigger":"at","action":"/guest/secret"}'
check "alice: rule to guest's action -> 400 does not exist" \
	eval 'test "$CODE" = 400 && jqb ".error | test(\"does not exist\")"'
as "$ALICE_AUTH" PUT "/api/v1/namespaces/_/actions/aseq" -H 'Content-Type: application/json' \
	--data-binary '{"exec":{"kind":"sequence","components":["/guest/secret"]}}'
check "alice: sequence of guest's action -> 400" test "$CODE" = 400
as "$ALICE_AUTH" PUT "/api/v1/namespaces/_/packages/ab" -H 'Content-Type: application/json' \
	--data-binary '{"binding":{"namespace":"guest","name":"gp"}}'
check "alice: binding to guest's private package -> 400" test "$CODE" = 400
as "$ALICE_AUTH" POST "/api/v1/namespaces/guest/actions/gp/x?blocking=true" -H 'Content-Type: application/json' --data-binary '{}'
check "alice: invoke through guest's package path -> 403" test "$CODE" = 403

# --- shared packages: guest publishes gpub (with a parameter), keeps gpriv
# private, and has a published binding gbind of gpub ---
reqj PUT "/api/v1/namespaces/_/packages/gpub" '{"publish":true,"parameters":[{"key":"from","value":"gpub"}]}'
reqj PUT "/api/v1/namespaces/_/actions/gpub/echo" \
	'{"exec":{"kind":"nodejs:20","code":"function main(a){return {args: a, ns: process.env.__OW_NAMESPACE}}"},"limits":{"memory":128}}'
reqj PUT "/api/v1/namespaces/_/packages/gpriv" '{}'
reqj PUT "/api/v1/namespaces/_/actions/gpriv/x" '{"exec":{"kind":"nodejs:20","code":"function main(){return {}}"}}'
reqj PUT "/api/v1/namespaces/_/packages/gbind" '{"publish":true,"binding":{"namespace":"guest","name":"gpub"}}'
check "guest creates a published package, a private one and a published binding" test "$CODE" = 200
alice_expects <<EOF
GET /api/v1/namespaces/guest/packages/gpub 200
PUT /api/v1/namespaces/guest/packages/gpub?overwrite=true 403
DELETE /api/v1/namespaces/guest/packages/gpub 403
GET /api/v1/namespaces/guest/actions/gpub/ 200
GET /api/v1/namespaces/guest/actions/gpub/echo 200
PUT /api/v1/namespaces/guest/actions/gpub/echo?overwrite=true 403
PUT /api/v1/namespaces/guest/actions/gpub/new 403
DELETE /api/v1/namespaces/guest/actions/gpub/echo 403
GET /api/v1/namespaces/guest/packages/gpriv 403
PUT /api/v1/namespaces/guest/packages/gpriv?overwrite=true 403
DELETE /api/v1/namespaces/guest/packages/gpriv 403
GET /api/v1/namespaces/guest/actions/gpriv/ 403
GET /api/v1/namespaces/guest/actions/gpriv/x 403
POST /api/v1/namespaces/guest/actions/gpriv/x?blocking=true 403
DELETE /api/v1/namespaces/guest/actions/gpriv/x 403
GET /api/v1/namespaces/guest/packages/gbind 403
GET /api/v1/namespaces/guest/actions/gbind/echo 403
POST /api/v1/namespaces/guest/actions/gbind/echo?blocking=true 403
GET /api/v1/namespaces/guest/packages/nothere 403
POST /api/v1/namespaces/guest/actions/nothere/x 403
EOF
as "$ALICE_AUTH" GET "/api/v1/namespaces/guest/packages"
check "alice lists guest's packages: the published one only" jqb '[.[].name] == ["gpub"]'
as "$ALICE_AUTH" GET "/api/v1/namespaces/guest/packages?count=true"
check "... and counts one" jqb '.packages == 1'
as "$ALICE_AUTH" GET "/api/v1/namespaces/_/packages?public=true"
check "alice's ?public=true list holds guest's published package and whisk.system's" \
	jqb '[.[] | "\(.namespace)/\(.name)"] | (index("guest/gpub") != null and index("whisk.system/utils") != null and index("guest/gpriv") == null and index("guest/gbind") == null)'
as "$ALICE_AUTH" POST "/api/v1/namespaces/guest/actions/gpub/echo?blocking=true" -H 'Content-Type: application/json' \
	--data-binary '{"x":1}'
check "alice invokes guest's shared action: runs as alice, with the package's parameter" \
	jqb '.namespace == "alice" and .subject == "alice" and .response.result.ns == "alice" and .response.result.args == {"from":"gpub","x":1}'
aid=$(printf '%s' "$BODY" | jq -r .activationId)
as "$ALICE_AUTH" GET "/api/v1/namespaces/_/activations/$aid"
check "the record is alice's" test "$CODE" = 200
req GET "/api/v1/namespaces/_/activations/$aid"
check "... not guest's" test "$CODE" = 404
as "$ALICE_AUTH" PUT "/api/v1/namespaces/_/packages/abind" -H 'Content-Type: application/json' \
	--data-binary '{"binding":{"namespace":"guest","name":"gpub"}}'
check "alice binds guest's published package" test "$CODE" = 200
as "$ALICE_AUTH" POST "/api/v1/namespaces/_/actions/abind/echo?blocking=true&result=true" \
	-H 'Content-Type: application/json' --data-binary '{}'
check "... and invokes through her binding" jqb '.ns == "alice" and .args.from == "gpub"'

# --- whisk.system: read and run by all, written by none ---
as "$ALICE_AUTH" GET "/api/v1/namespaces/whisk.system/packages/utils"
check "alice reads /whisk.system/utils: published, its nine actions" \
	jqb '.publish == true and ([.actions[].name] | sort) == ["cat","date","echo","head","hosturl","namespace","smash","sort","split"]'
as "$ALICE_AUTH" POST "/api/v1/namespaces/whisk.system/actions/utils/echo?blocking=true&result=true" \
	-H 'Content-Type: application/json' --data-binary '{"payload":"hi"}'
check "alice runs /whisk.system/utils/echo" jqb '. == {"payload":"hi"}'
alice_expects <<EOF
PUT /api/v1/namespaces/whisk.system/packages/utils?overwrite=true
DELETE /api/v1/namespaces/whisk.system/packages/utils
PUT /api/v1/namespaces/whisk.system/actions/utils/echo?overwrite=true
DELETE /api/v1/namespaces/whisk.system/actions/utils/echo
PUT /api/v1/namespaces/whisk.system/packages/mine
GET /api/v1/namespaces/whisk.system/actions
GET /api/v1/namespaces/whisk.system/triggers
EOF
NOAUTH=1 req GET "/api/v1/web/guest/default/secret.json"
check "guest's action without web-export is not on the web -> 404" test "$CODE" = 404

# --- keys are bound to their uuid ---
as "$ALICE_UUID:$GUEST_KEY" GET "/api/v1/namespaces/_/actions"
check "alice's uuid with guest's key -> 401" test "$CODE" = 401
as "$GUEST_UUID:$ALICE_KEY" GET "/api/v1/namespaces/_/actions"
check "guest's uuid with alice's key -> 401" test "$CODE" = 401
as "$GUEST_UUID:${GUEST_KEY%?}x" GET "/api/v1/namespaces/_/actions"
check "guest's key with its last character changed -> 401" test "$CODE" = 401

# --- the container ---
reqj PUT "/api/v1/namespaces/_/actions/env" \
	'{"exec":{"kind":"nodejs:20","code":"function main(){return {env: process.env}}"},"limits":{"memory":128}}'
req POST "/api/v1/namespaces/_/actions/env?blocking=true&result=true"
check "env action runs" test "$CODE" = 200
printf '%s' "$BODY" >"$T/env.json"
cid=$("$DOCKER" ps -q --filter "label=edgewhisk.instance=$INSTANCE" \
	--filter ancestor=edgewhisk/action-nodejs:1 | head -n 1)
"$DOCKER" inspect "$cid" >"$T/inspect.json" 2>/dev/null
BODY=$(jq -c '.[0]' "$T/inspect.json")
echo "# HostConfig: $(printf '%s' "$BODY" | jq -c '.HostConfig | {SecurityOpt, CapDrop, CapAdd, Privileged, PidsLimit, Memory, Binds, PortBindings, NetworkMode}')"
check "container: no-new-privileges" jqb '.HostConfig.SecurityOpt | index("no-new-privileges") != null'
check "container: NET_RAW and NET_ADMIN dropped, none added" \
	jqb '(.HostConfig.CapDrop | map(sub("^CAP_"; "")) | (index("NET_RAW") != null and index("NET_ADMIN") != null)) and (.HostConfig.CapAdd == null or .HostConfig.CapAdd == [])'
check "container: not privileged" jqb '.HostConfig.Privileged == false'
check "container: pids limit 1024" jqb '.HostConfig.PidsLimit == 1024'
check "container: memory limit 128 MB, no swap beyond it" \
	jqb '.HostConfig.Memory == 134217728 and .HostConfig.MemorySwap == 134217728'
check "container: no binds, no mounts (no Docker socket)" \
	jqb '(.HostConfig.Binds == null or .HostConfig.Binds == []) and .Mounts == [] and (tostring | test("docker.sock") | not)'
check "container: no port published" \
	jqb '(.HostConfig.PortBindings // {} | length) == 0 and ([.NetworkSettings.Ports // {} | .[] | select(. != null)] | length) == 0'
# Every container of this instance, warm or paused: none published, and no
# docker-proxy carries traffic to any of their addresses.
ids=$("$DOCKER" ps -aq --filter "label=edgewhisk.instance=$INSTANCE")
published=$("$DOCKER" inspect $ids 2>/dev/null |
	jq '[.[] | (.HostConfig.PortBindings // {} | length) + ([.NetworkSettings.Ports // {} | .[] | select(. != null)] | length)] | add')
ips=$("$DOCKER" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' $ids 2>/dev/null | tr -s ' \n' ' ')
proxies=0
for pid in $(pgrep -x docker-proxy); do
	for ip in $ips; do
		tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | grep -qw -- "-container-ip $ip" &&
			proxies=$((proxies + 1))
	done
done
echo "# $(echo $ids | wc -w) container(s) of this instance, addresses: ${ips:-none}; docker-proxy processes on this machine: $(pgrep -cx docker-proxy)"
check "containers: none of them publishes a port" test "$published" = 0
check "containers: no docker-proxy for any of them" test "$proxies" = 0
check "container: bridge network, not host" jqb '.HostConfig.NetworkMode == "bridge"'
check "container: runs as an unprivileged user" jqb '.Config.User != "" and .Config.User != "root" and .Config.User != "0"'

# --- the action's environment (spec sections 9, 10) ---
BODY=$(cat "$T/env.json")
echo "# action env keys: $(jq -r '.env | keys | join(" ")' "$T/env.json")"
check "env: __OW_* of the activation present" \
	jqb '.env | (.__OW_NAMESPACE == "guest" and .__OW_ACTION_NAME == "/guest/env" and (.__OW_ACTIVATION_ID | length) == 32 and has("__OW_DEADLINE") and has("__OW_API_HOST") and has("__OW_ACTION_VERSION") and has("__OW_TRANSACTION_ID"))'
check "env: no API key without provide-api-key" jqb '.env | has("__OW_API_KEY") | not'
allowed='["__OW_API_HOST","__OW_PROXY_VERSION","__OW_WAIT_FOR_ACK","__OW_EXECUTION_ENV","__OW_NAMESPACE","__OW_ACTION_NAME","__OW_ACTION_VERSION","__OW_ACTIVATION_ID","__OW_TRANSACTION_ID","__OW_DEADLINE","PATH","HOME"]'
extra=$(jq -c --argjson a "$allowed" '.env | keys - $a' "$T/env.json")
check "env: nothing beyond the spec's names, PATH and HOME (extra: $extra)" test "$extra" = "[]"
reqj PUT "/api/v1/namespaces/_/actions/envk" \
	'{"exec":{"kind":"python:3.11","code":"import os\ndef main(a):\n  return {\"env\": dict(os.environ)}"},"annotations":[{"key":"provide-api-key","value":true}],"parameters":[{"key":"initp","value":"v","init":true}],"limits":{"memory":128}}'
req POST "/api/v1/namespaces/_/actions/envk?blocking=true&result=true"
printf '%s' "$BODY" >"$T/envk.json"
check "env (python, provide-api-key): the caller's key and the init parameter" \
	jqb ".env.__OW_API_KEY == \"$GUEST_AUTH\" and .env.initp == \"v\""
extra=$(jq -c --argjson a "$allowed" '.env | keys - $a - ["__OW_API_KEY", "initp", "PYTHONDONTWRITEBYTECODE", "SSL_CERT_FILE"]' "$T/envk.json")
check "env (python): nothing else but the image's PYTHONDONTWRITEBYTECODE, SSL_CERT_FILE (extra: $extra)" \
	test "$extra" = "[]"

# --- throttles ---
req GET "/api/v1/namespaces/_/limits"
check "limits report the throttles" jqb ".invocationsPerMinute == $PER_MINUTE and .concurrentInvocations == 2"
reqj PUT "/api/v1/namespaces/_/actions/sleepy" \
	'{"exec":{"kind":"nodejs:20","code":"function main(){return new Promise(r => setTimeout(() => r({}), 4000))}"},"limits":{"memory":128}}'
for i in 1 2; do
	req POST "/api/v1/namespaces/_/actions/sleepy"
	check "concurrent call $i of 2 accepted" test "$CODE" = 202
done
start=$(date +%s%N)
req POST "/api/v1/namespaces/_/actions/sleepy"
ms=$((($(date +%s%N) - start) / 1000000))
check "the third concurrent call -> 429 in ${ms} ms (not held until a slot frees)" test "$CODE" = 429 -a "$ms" -lt 3000
check "with OpenWhisk's concurrency message" \
	jqb '.error == "Too many concurrent requests in flight (count: 2, allowed: 2)." and (.code | length) > 0'
as "$BOB_AUTH" PUT "/api/v1/namespaces/_/actions/quick" -H 'Content-Type: application/json' \
	--data-binary '{"exec":{"kind":"nodejs:20","code":"function main(){return {}}"},"limits":{"memory":128}}'
# Per minute (bob): stay within one calendar minute.
while [ "$(date +%-S)" -gt 40 ]; do sleep 1; done
as "$BOB_AUTH" POST "/api/v1/namespaces/_/actions/quick?blocking=true"
check "another namespace is not held back by guest's limit" test "$CODE" = 200
# An activation holds its concurrency slot until its logs are in, shortly
# after the answer: let each finish, so only the per-minute limit can bite.
idle() {
	for _ in $(seq 1 100); do
		"${CURL[@]}" "$BASE/health" | jq -e '.activationsInFlight == 0' >/dev/null && return
		sleep 0.05
	done
}
oks=0
for _ in $(seq 2 "$PER_MINUTE"); do
	idle
	as "$BOB_AUTH" POST "/api/v1/namespaces/_/actions/quick?blocking=true"
	if [ "$CODE" = 200 ]; then
		oks=$((oks + 1))
	else
		echo "# unexpected: $CODE ${BODY:0:200}"
	fi
done
idle
check "bob's calls up to the per-minute limit succeed ($((oks + 1))/$PER_MINUTE)" \
	test "$oks" = $((PER_MINUTE - 1))
start=$(date +%s%N)
as "$BOB_AUTH" POST "/api/v1/namespaces/_/actions/quick?blocking=true"
ms=$((($(date +%s%N) - start) / 1000000))
check "the next one -> 429 in ${ms} ms" test "$CODE" = 429 -a "$ms" -lt 3000
check "with OpenWhisk's rate message" \
	jqb ".error == \"Too many requests in the last minute (count: $((PER_MINUTE + 1)), allowed: $PER_MINUTE).\""
ew_finish
