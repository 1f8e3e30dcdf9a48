#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration test of the controller's OpenWhisk REST API (spec
# /work/shared/spec/openwhisk-compat.md sections 1-4 and 12) against the
# real system: a private controller (temp config: free loopback port,
# unique queue name and state_dir, one invoker) running actions in Docker
# containers. Every route and error the controller serves is exercised
# with curl; JSON is checked with jq.
# Needs: `make` (controller, invoker), `make images`, dockerd
# (deploy/dockerd-up.sh), curl, jq. Talks to 127.0.0.1 only.
# Prints ok/not ok per case, then "api: N passed, M failed".
# Exit: 0 all passed, 1 a failure, 77 Docker absent (and CI is not "true").
# shellcheck disable=SC2016,SC2034 # checks are single-quoted eval strings reading these variables
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ew_setup api
ew_need_docker
if ! ew_start_controller; then
	ew_controller_log_tail 40
	ew_finish
fi
echo "# controller pid $CTRL_PID on $BASE, instance $INSTANCE, state $STATE"

NS=/api/v1/namespaces/_
HEX32='^[0-9a-f]{32}$'


# put_action NAME JSON [query]: PUT an action document.
put_action() {
	reqj PUT "$NS/actions/$1${3:+?$3}" "$2"
}

# code_doc KIND CODE [extra jq object merged in]: an action body.
code_doc() {
	jq -cn --arg k "$1" --arg c "$2" "{exec: {kind: \$k, code: \$c}} + (${3:-{\}})"
}

# wait_activation ID [seconds]: poll GET activations/ID until it is stored.
wait_activation() {
	local i
	for i in $(seq 1 $((${2:-30} * 5))); do
		req GET "$NS/activations/$1"
		[ "$CODE" = 200 ] && return 0
		sleep 0.2
	done
	return 1
}

NODE_HELLO='function main(params) {
  const name = params.name || "world";
  console.log("hello-log " + name);
  return { greeting: "Hello " + name };
}'
NODE_HELLO2='function main(params) {
  console.log("hello2-log");
  return { greeting: "Hi " + (params.name || "world"), v: 2 };
}'
PY_HELLO='def main(args):
    print("py-log " + args.get("name", "world"))
    return {"greeting": "Hello " + args.get("name", "world"), "lang": "python"}
'
NATIVE_HELLO='#!/bin/sh
echo "native-log $1" >&2
echo "{\"native\":true}"
'
NODE_APPERR='function main() { return { error: "boom", extra: 1 }; }'
NODE_SYNTAX='function main(params) { return {; }'
NODE_INITTHROW='throw new Error("init-fail-marker");
function main() { return {}; }'
NODE_SLEEP='function main(p) {
  return new Promise(r => setTimeout(() => r({ slept: p.ms }), p.ms || 3000));
}'
NODE_ARRAY='function main() { return [1, 2, 3]; }'
NODE_SIZE='function main(p) { return { len: (p.name || "").length }; }'

# ---------------------------------------------------------------- info
req GET /ping
check "GET /ping -> 200 pong" test "$CODE:$BODY" = "200:pong"

NOAUTH=1 req GET /api/v1
check "GET /api/v1 (no auth) -> 200 API info" eval 'test "$CODE" = 200 && jqb ".description == \"OpenWhisk API\" and .api_version == \"1.0.0\" and .api_version_path == \"v1\" and (.build | type == \"string\") and (.buildno | type == \"string\") and .swagger_paths.ui == \"/docs\" and .swagger_paths[\"api-docs\"] == \"/api-docs\""'

NOAUTH=1 req GET /
check "GET / (no auth) -> 200 {description, api_paths}" eval 'test "$CODE" = 200 && jqb ".description == \"OpenWhisk\" and .api_paths == [\"/api/v1\"]"'

NOAUTH=1 req GET /health
check "GET /health -> 200, invoker 0 up, status ok" eval 'test "$CODE" = 200 && jqb ".status == \"ok\" and (.invokers | length) == 1 and .invokers[0].state == \"up\" and .invokers[0].pid > 0 and (.activationsInFlight | type == \"number\")"'

req GET /api/v1/namespaces
check "GET /api/v1/namespaces -> [\"guest\"]" eval 'test "$CODE" = 200 && jqb ". == [\"guest\"]"'

req GET "$NS/limits"
check "GET limits -> configured limits" eval 'test "$CODE" = 200 && jqb ".maxActionMemory == 512 and .minActionMemory == 128 and .maxActionTimeout == 300000 and .minActionTimeout == 100 and .maxActionLogs == 10 and .minActionLogs == 0 and .maxActionConcurrency == 1 and .minActionConcurrency == 1 and .maxParameterSize == \"1 MB\""'
req GET /api/v1/namespaces/guest/limits
check "GET limits by real namespace name -> 200" test "$CODE" = 200

# ---------------------------------------------------------------- CORS
check "CORS headers on an API response" eval '[ "$(header Access-Control-Allow-Origin)" = "*" ] && header Access-Control-Allow-Methods | grep -q PUT && header Access-Control-Allow-Headers | grep -q Authorization'
# Short --max-time: a response without Content-Length never ends on a
# keep-alive connection; the headers are judged on their own first.
NOAUTH=1 req OPTIONS "$NS/actions/hello" --max-time 5
options_code=$CODE
check "OPTIONS (no auth) -> 200 with CORS headers" eval 'head -n 1 "$T/hdrs" | grep -q "^HTTP/1.1 200" && [ "$(header Access-Control-Allow-Origin)" = "*" ] && header Access-Control-Allow-Methods | grep -q "GET" && header Access-Control-Allow-Methods | grep -q "DELETE" && header Access-Control-Allow-Headers | grep -q "Content-Type"'
check "OPTIONS response is complete (Content-Length: 0, no hang)" \
	eval '[ "$options_code" = 200 ] && [ "$(header Content-Length)" = 0 ]'

# ---------------------------------------------------------------- auth
NOAUTH=1 req GET "$NS/actions"
expect_error "no Authorization -> 401 requires authentication" 401 \
	"The resource requires authentication, which was not supplied with the request"
check "401 carries WWW-Authenticate: Basic realm" eval 'header WWW-Authenticate | grep -q "^Basic realm=\"OpenWhisk secure realm\""'

NOAUTH=1 req GET "$NS/actions" -u "$GUEST_UUID:${GUEST_KEY%?}X"
expect_error "wrong key -> 401 authentication is invalid" 401 "The supplied authentication is invalid"
check "wrong key 401 carries WWW-Authenticate" eval '[ -n "$(header WWW-Authenticate)" ]'

NOAUTH=1 req GET "$NS/actions" -u "00000000-0000-0000-0000-000000000000:$GUEST_KEY"
expect_error "unknown uuid -> 401" 401 "The supplied authentication is invalid"

NOAUTH=1 req GET "$NS/actions" -H 'Authorization: Bearer abc'
expect_error "non-Basic Authorization -> 401" 401 "The supplied authentication is invalid"

req GET /api/v1/namespaces/other/actions
expect_error "another namespace -> 403" 403 "The supplied authentication is not authorized to access 'other"
req POST /api/v1/namespaces/other/actions/x
expect_error "invoke in another namespace -> 403 naming other/x" 403 "not authorized to access 'other/x'."

# ---------------------------------------------------------------- create
put_action hello "$(code_doc nodejs:default "$NODE_HELLO")"
check "PUT nodejs:default action -> 200 doc, version 0.0.1, kind nodejs:20" eval 'test "$CODE" = 200 && jqb --arg c "$NODE_HELLO" ".namespace == \"guest\" and .name == \"hello\" and .version == \"0.0.1\" and .publish == false and .exec.kind == \"nodejs:20\" and .exec.code == \$c and .exec.binary == false and (.updated | type == \"number\")"'
check "created action has annotations exec=nodejs:20 and provide-api-key=false" \
	jqb '(.annotations | map({(.key): .value}) | add) as $a | $a.exec == "nodejs:20" and $a["provide-api-key"] == false'
check "created action has default limits" \
	jqb '.limits.timeout == 60000 and .limits.memory == 256 and .limits.logs == 10 and .limits.concurrency == 1'

put_action pyhello "$(code_doc python:default "$PY_HELLO" '{limits: {memory: 128}}')"
check "PUT python:default action -> 200, kind python:3.11" eval 'test "$CODE" = 200 && jqb ".exec.kind == \"python:3.11\" and .version == \"0.0.1\" and (.annotations | any(.key == \"exec\" and .value == \"python:3.11\")) and .limits.memory == 128"'

put_action nat "$(code_doc native "$NATIVE_HELLO" '{limits: {memory: 128}}')"
check "PUT native action -> 200, kind native" eval 'test "$CODE" = 200 && jqb ".exec.kind == \"native\" and .version == \"0.0.1\" and (.annotations | any(.key == \"exec\" and .value == \"native\"))"'

put_action pyexplicit "$(code_doc python:3.11 "$PY_HELLO" '{limits: {memory: 128}, annotations: [{key: "provide-api-key", value: true}, {key: "mine", value: 7}]}')"
check "PUT keeps caller's provide-api-key and annotations" eval 'test "$CODE" = 200 && jqb "(.annotations | map({(.key): .value}) | add) as \$a | \$a[\"provide-api-key\"] == true and \$a.mine == 7 and \$a.exec == \"python:3.11\""'

put_action hello "$(code_doc nodejs:default "$NODE_HELLO")"
expect_error "PUT existing without overwrite -> 409 resource already exists" 409 "resource already exists"
put_action hello "$(code_doc nodejs:default "$NODE_HELLO")" overwrite=false
expect_error "PUT existing with overwrite=false -> 409" 409 "resource already exists"

put_action hello "$(code_doc nodejs:default "$NODE_HELLO2")" overwrite=true
check "PUT overwrite=true -> 200, version 0.0.2, new code" eval 'test "$CODE" = 200 && jqb --arg c "$NODE_HELLO2" ".version == \"0.0.2\" and .exec.code == \$c and .exec.kind == \"nodejs:20\""'

put_action hello '{"parameters":[{"key":"name","value":"bound"}]}' overwrite=true
check "partial PUT overwrite=true keeps exec, adds parameters, version 0.0.3" eval 'test "$CODE" = 200 && jqb --arg c "$NODE_HELLO2" ".version == \"0.0.3\" and .exec.code == \$c and .parameters == [{\"key\":\"name\",\"value\":\"bound\"}] and (.annotations | any(.key == \"exec\"))"'

put_action hello "$(code_doc nodejs:20 "$NODE_HELLO" '{parameters: [{key: "name", value: "bound"}]}')" overwrite=true
check "PUT overwrite=true back to v1 code -> 0.0.4" eval 'test "$CODE" = 200 && jqb ".version == \"0.0.4\""'

put_action fresh "$(code_doc nodejs:20 "$NODE_ARRAY")" overwrite=true
check "PUT overwrite=true of a new action -> 200 version 0.0.1" eval 'test "$CODE" = 200 && jqb ".version == \"0.0.1\" and .name == \"fresh\""'

# ---------------------------------------------------------------- get
req GET "$NS/actions/hello"
check "GET action -> 200 with exec.code" eval 'test "$CODE" = 200 && jqb --arg c "$NODE_HELLO" ".name == \"hello\" and .namespace == \"guest\" and .exec.code == \$c and .version == \"0.0.4\""'
req GET "$NS/actions/hello?code=false"
check "GET action ?code=false -> no exec.code" eval 'test "$CODE" = 200 && jqb ".name == \"hello\" and .exec.kind == \"nodejs:20\" and (.exec | has(\"code\") | not)"'
req GET "/api/v1/namespaces/guest/actions/hello"
check "GET action via real namespace name -> 200" eval 'test "$CODE" = 200 && jqb ".name == \"hello\""'
req GET "$NS/actions/hello?code=maybe"
expect_error "GET ?code=maybe -> 400" 400 "code"
req GET "$NS/actions/nothere"
expect_error "GET missing action -> 404" 404 "The requested resource does not exist."

# ---------------------------------------------------------------- list
req GET "$NS/actions"
check "list actions -> 5 summaries, newest first" eval 'test "$CODE" = 200 && jqb "(map(.name) | sort) == [\"fresh\",\"hello\",\"nat\",\"pyexplicit\",\"pyhello\"] and (map(.updated) as \$u | \$u == (\$u | sort | reverse))"'
check "list summaries: exec {binary} without code, exec annotation" \
	jqb 'all(.[]; (.exec | has("code") | not) and (.exec.binary | type == "boolean") and (.annotations | any(.key == "exec")) and .namespace == "guest" and (.version | type == "string"))'
req GET "$NS/actions?limit=2"
check "list limit=2 -> 2 items" eval 'test "$CODE" = 200 && jqb "length == 2"'
first2=$(printf '%s' "$BODY" | jq -c 'map(.name)')
req GET "$NS/actions?limit=2&skip=2"
check "list limit=2&skip=2 -> next 2 items" eval 'test "$CODE" = 200 && jqb --argjson f "$first2" "length == 2 and (map(.name) - \$f) == map(.name)"'
req GET "$NS/actions?skip=4"
check "list skip=4 -> 1 item" eval 'test "$CODE" = 200 && jqb "length == 1"'
req GET "$NS/actions?limit=0"
check "list limit=0 -> all (max)" eval 'test "$CODE" = 200 && jqb "length == 5"'
req GET "$NS/actions?count=true"
check "list count=true -> {actions: 5}" eval 'test "$CODE" = 200 && jqb ". == {\"actions\": 5}"'
req GET "$NS/actions?limit=201"
expect_error "list limit=201 -> 400 range message" 400 "The value '201' is not in the range of 0 to 200 for actions."
req GET "$NS/actions?skip=-1"
expect_error "list skip=-1 -> 400" 400 "skip"
req GET "$NS/actions?count=yes"
expect_error "list count=yes -> 400" 400 "count"

# ---------------------------------------------------------------- invoke
req POST "$NS/actions/hello?blocking=true" -H 'Content-Type: application/json' --data-binary '{"name":"edge"}'
id1=$(printf '%s' "$BODY" | jq -r '.activationId // empty' 2>/dev/null)
check "blocking invoke -> 200 record, success, result" eval 'test "$CODE" = 200 && jqb ".response.success == true and .response.status == \"success\" and .response.result == {\"greeting\":\"Hello edge\"}"'
check "blocking record: activationId 32 hex = x-openwhisk-activation-id header" \
	eval '[[ "$id1" =~ $HEX32 ]] && [ "$(header x-openwhisk-activation-id)" = "$id1" ]'
check "blocking record: namespace/subject guest, name, version, publish" \
	jqb '.namespace == "guest" and .subject == "guest" and .name == "hello" and .version == "0.0.4" and .publish == false'
check "blocking record: start <= end, duration = end - start" \
	jqb '(.start | type == "number") and .end >= .start and .duration == (.end - .start)'
check "first call annotations: kind, path, waitTime, initTime, limits, timeout=false" \
	jqb '(.annotations | map({(.key): .value}) | add) as $a | $a.kind == "nodejs:20" and $a.path == "guest/hello" and ($a.waitTime | type == "number") and ($a.initTime | type == "number") and $a.timeout == false and $a.limits.timeout == 60000 and $a.limits.memory == 256'

req POST "$NS/actions/hello?blocking=true"
check "warm blocking invoke without body uses bound parameter, no initTime" eval 'test "$CODE" = 200 && jqb ".response.result == {\"greeting\":\"Hello bound\"} and (.annotations | any(.key == \"waitTime\")) and (.annotations | any(.key == \"initTime\") | not)"'

reqj POST "$NS/actions/hello?blocking=true&result=true" '{"name":"result"}'
check "blocking+result=true -> just the result" eval 'test "$CODE" = 200 && jqb ". == {\"greeting\":\"Hello result\"}"'
check "blocking+result=true carries x-openwhisk-activation-id" eval '[[ "$(header x-openwhisk-activation-id)" =~ $HEX32 ]]'

reqj POST "$NS/actions/hello?blocking=false&result=false" '{"name":"async"}'
aid=$(printf '%s' "$BODY" | jq -r '.activationId // empty' 2>/dev/null)
check "non-blocking invoke -> 202 {activationId} + header" \
	eval 'test "$CODE" = 202 && jqb "keys == [\"activationId\"]" && [[ "$aid" =~ $HEX32 ]] && [ "$(header x-openwhisk-activation-id)" = "$aid" ]'
if [ -n "$aid" ] && wait_activation "$aid" 30; then
	check "polled GET activations/{id} -> record with the result" \
		jqb --arg id "$aid" '.activationId == $id and .response.result == {"greeting":"Hello async"} and .response.success == true'
else
	notok "polled GET activations/{id} -> record with the result" "last: $CODE $BODY"
fi
req POST "$NS/actions/hello"
aid2=$(printf '%s' "$BODY" | jq -r '.activationId // empty' 2>/dev/null)
check "invoke without query or body -> 202 (non-blocking default)" eval 'test "$CODE" = 202 && [[ "$aid2" =~ $HEX32 ]]'

reqj POST "$NS/actions/pyhello?blocking=true" '{"name":"py"}'
pyid=$(printf '%s' "$BODY" | jq -r '.activationId // empty' 2>/dev/null)
check "python blocking invoke -> 200 result, kind python:3.11" eval 'test "$CODE" = 200 && jqb ".response.result == {\"greeting\":\"Hello py\",\"lang\":\"python\"} and (.annotations | any(.key == \"kind\" and .value == \"python:3.11\"))"'

reqj POST "$NS/actions/nat?blocking=true" '{"x":1}'
natid=$(printf '%s' "$BODY" | jq -r '.activationId // empty' 2>/dev/null)
check "native blocking invoke -> 200 result, kind native" eval 'test "$CODE" = 200 && jqb ".response.result == {\"native\":true} and (.annotations | any(.key == \"kind\" and .value == \"native\"))"'

req POST "$NS/actions/fresh?blocking=true"
check "array result -> the bare array even without result=true" eval 'test "$CODE" = 200 && jqb ". == [1,2,3]" && [[ "$(header x-openwhisk-activation-id)" =~ $HEX32 ]]'

# ---------------------------------------------------------------- invoke errors
put_action apperr "$(code_doc nodejs:20 "$NODE_APPERR" '{limits: {memory: 128}}')"
req POST "$NS/actions/apperr?blocking=true"
apperr_id=$(printf '%s' "$BODY" | jq -r '.activationId // empty' 2>/dev/null)
check "application error -> 502 with the record (no top-level code)" eval 'test "$CODE" = 502 && jqb ".response.status == \"application error\" and .response.success == false and .response.result == {\"error\":\"boom\"} and (has(\"code\") | not)" && [ "$(header x-openwhisk-activation-id)" = "$apperr_id" ]'
status_line() {
	head -n 1 "$T/hdrs" | tr -d '\r'
}
check "a 502 goes out with its reason phrase" eval '[ "$(status_line)" = "HTTP/1.1 502 Bad Gateway" ]'
req POST "$NS/actions/apperr?blocking=true&result=true"
check "application error with result=true -> 502 {error}" eval 'test "$CODE" = 502 && jqb ". == {\"error\":\"boom\"}"'

put_action syntax "$(code_doc nodejs:20 "$NODE_SYNTAX" '{limits: {memory: 128}}')"
req POST "$NS/actions/syntax?blocking=true"
check "developer error (syntax error) -> 502, action developer error" eval 'test "$CODE" = 502 && jqb ".response.status == \"action developer error\" and .response.success == false and (.response.result.error | type == \"string\" and length > 0)"'

put_action initthrow "$(code_doc nodejs:20 "$NODE_INITTHROW" '{limits: {memory: 128}}')"
req POST "$NS/actions/initthrow?blocking=true"
check "developer error (throw at init) -> 502, error mentions it" eval 'test "$CODE" = 502 && jqb ".response.status == \"action developer error\" and (.response.result.error | contains(\"init-fail-marker\"))"'

put_action sleeper "$(code_doc nodejs:20 "$NODE_SLEEP" '{limits: {timeout: 500, memory: 128}}')"
check "PUT limits.timeout 500 accepted" eval 'test "$CODE" = 200 && jqb ".limits.timeout == 500"'
reqj POST "$NS/actions/sleeper?blocking=true" '{"ms":3000}'
check "timeout -> 502 exceeded its time limit, annotation timeout=true" eval 'test "$CODE" = 502 && jqb ".response.status == \"action developer error\" and (.response.result.error | contains(\"exceeded its time limit\")) and (.annotations | any(.key == \"timeout\" and .value == true))"'

# A blocking wait shorter than the run: 202 now, the record later.
put_action slowok "$(code_doc nodejs:20 "$NODE_SLEEP" '{limits: {timeout: 10000, memory: 128}}')"
reqj POST "$NS/actions/slowok?blocking=true&timeout=300" '{"ms":2500}'
slowid=$(printf '%s' "$BODY" | jq -r '.activationId // empty' 2>/dev/null)
check "blocking wait expired (timeout=300) -> 202 {activationId}" eval 'test "$CODE" = 202 && [[ "$slowid" =~ $HEX32 ]] && [ "$(header x-openwhisk-activation-id)" = "$slowid" ]'
if [ -n "$slowid" ] && wait_activation "$slowid" 30; then
	check "the expired blocking activation completes later" jqb '.response.result == {"slept":2500}'
else
	notok "the expired blocking activation completes later" "last: $CODE $BODY"
fi

req POST "$NS/actions/nothere?blocking=true"
expect_error "invoke missing action -> 404" 404 "The requested resource does not exist."
req POST "$NS/actions/hello?blocking=yes"
expect_error "invoke blocking=yes -> 400" 400 "must be true or false"
req POST "$NS/actions/hello?blocking=true&timeout=0"
expect_error "invoke timeout=0 -> 400" 400 "Timeout must be number of milliseconds up to 60000."
req POST "$NS/actions/hello?blocking=true&timeout=60001"
expect_error "invoke timeout=60001 -> 400" 400 "Timeout must be number of milliseconds up to 60000."
reqj POST "$NS/actions/hello?blocking=true" '{"name":'
expect_error "invoke with bad JSON body -> 400" 400 "The request content was malformed"
reqj POST "$NS/actions/hello?blocking=true" '[1,2]'
expect_error "invoke with a non-object body -> 400" 400 "malformed"
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' 'a' >"$T/big.json"
req POST "$NS/actions/hello?blocking=true" -H 'Content-Type: application/json' --data-binary "@$T/big.json"
expect_error "invoke payload 1 MiB + 1 -> 413" 413 "Request larger than allowed: 1048577 > 1048576 bytes."
check "a 413 goes out with its reason phrase" eval '[ "$(status_line)" = "HTTP/1.1 413 Content Too Large" ]'
# Exactly the limit: 200 (the action's code does not travel in the queue
# slot, and the slot has room for the metadata). The action answers the size.
put_action sizer "$(code_doc nodejs:20 "$NODE_SIZE" '{limits: {memory: 128}}')"
printf '{"name":"%s"}' "$(head -c $((1024 * 1024 - 11)) /dev/zero | tr '\0' 'a')" >"$T/near.json"
req POST "$NS/actions/sizer?blocking=true&result=true" -H 'Content-Type: application/json' --data-binary "@$T/near.json"
check "invoke payload of exactly 1 MiB -> 200" eval 'test "$CODE" = 200 && jqb ". == {\"len\": $((1024 * 1024 - 11))}"'
# Code larger than the queue's payload limit still runs (2 MiB of comment).
{ printf '{"exec":{"kind":"nodejs:20","code":"'; head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' '/' | sed 's/^/\/\/ /'; printf '\\nfunction main(){return {big:true}}"}}'; } >"$T/bigcode.json"
req PUT "$NS/actions/bigcode" -H 'Content-Type: application/json' --data-binary "@$T/bigcode.json"
check "PUT an action with 2 MiB of code -> 200" test "$CODE" = 200
req POST "$NS/actions/bigcode?blocking=true&result=true"
check "invoke the 2 MiB action -> 200" eval 'test "$CODE" = 200 && jqb ". == {\"big\": true}"'
req DELETE "$NS/actions/bigcode"

# ---------------------------------------------------------------- activations
req GET "$NS/activations"
check "activation list -> summaries, newest first" eval 'test "$CODE" = 200 && jqb "length >= 10 and (map(.start) as \$s | \$s == (\$s | sort | reverse))"'
check "activation summaries: fields, top-level statusCode, no response" \
	jqb 'all(.[]; (.activationId | test("^[0-9a-f]{32}$")) and .namespace == "guest" and (.name | type == "string") and (.version | type == "string") and (.start | type == "number") and (has("response") | not) and (.annotations | type == "array"))'
check "activation summaries of finished runs carry statusCode/end/duration" \
	jqb '(map(select(.activationId == "'"$id1"'")) | .[0]) | .statusCode == 0 and (.end | type == "number") and (.duration | type == "number") and (.annotations | any(.key == "kind" and .value == "nodejs:20"))'
check "application error summary has statusCode 1" \
	jqb '(map(select(.activationId == "'"$apperr_id"'")) | .[0].statusCode) == 1'
req GET "$NS/activations?limit=0"
check "activation list limit=0 -> all (max 200)" eval 'test "$CODE" = 200 && jqb "length >= 10"'
req GET "$NS/activations?limit=1"
check "activation list limit=1 -> 1 item" eval 'test "$CODE" = 200 && jqb "length == 1"'
newest=$(printf '%s' "$BODY" | jq -r '.[0].activationId // empty' 2>/dev/null)
req GET "$NS/activations?limit=1&skip=1"
check "activation list limit=1&skip=1 -> the second newest" eval 'test "$CODE" = 200 && jqb --arg n "$newest" "length == 1 and .[0].activationId != \$n"'
req GET "$NS/activations?name=pyhello"
check "activation list name=pyhello -> only that action" eval 'test "$CODE" = 200 && jqb --arg id "$pyid" "length == 1 and .[0].name == \"pyhello\" and .[0].activationId == \$id"'
req GET "$NS/activations?name=hello&limit=200"
check "activation list name=hello -> only hello" eval 'test "$CODE" = 200 && jqb "length >= 5 and all(.[]; .name == \"hello\")"'
req GET "$NS/activations?name=nothere"
check "activation list name=nothere -> []" eval 'test "$CODE" = 200 && jqb ". == []"'
req GET "$NS/activations?docs=true&limit=3"
check "activation list docs=true -> full records" eval 'test "$CODE" = 200 && jqb "length == 3 and all(.[]; (.response.status | type == \"string\") and (.logs | type == \"array\") and .subject == \"guest\")"'
req GET "$NS/activations?count=true"
nall=$(printf '%s' "$BODY" | jq -r '.activations // empty' 2>/dev/null)
check "activation list count=true -> {activations: n}" eval 'test "$CODE" = 200 && jqb "keys == [\"activations\"] and .activations >= 10"'
req GET "$NS/activations?count=true&name=pyhello"
check "activation count with name=pyhello -> 1" eval 'test "$CODE" = 200 && jqb ". == {\"activations\": 1}"'
req GET "$NS/activations/$natid"
natstart=$(printf '%s' "$BODY" | jq -r '.start // empty' 2>/dev/null)
req GET "$NS/activations?since=$natstart&upto=$natstart&limit=200"
check "activation list since=upto=start -> includes that activation (inclusive)" \
	eval 'test "$CODE" = 200 && jqb --arg id "$natid" "any(.[]; .activationId == \$id) and all(.[]; .start == $natstart)"'
req GET "$NS/activations?since=$((natstart + 1))&limit=200"
check "activation list since=start+1 -> excludes it, all later" \
	eval 'test "$CODE" = 200 && jqb --arg id "$natid" "all(.[]; .activationId != \$id and .start > $natstart) and length >= 1"'
req GET "$NS/activations?upto=$((natstart - 1))&limit=200"
check "activation list upto=start-1 -> excludes it, all earlier" \
	eval 'test "$CODE" = 200 && jqb --arg id "$natid" "all(.[]; .activationId != \$id and .start < $natstart) and length >= 1"'
req GET "$NS/activations?count=true&since=$((natstart + 1))&upto=99999999999999"
check "activation count with since -> fewer than all" eval 'test "$CODE" = 200 && jqb ".activations < ${nall:-0}"'
req GET "$NS/activations?since=99999999999999"
check "activation list since=future -> []" eval 'test "$CODE" = 200 && jqb ". == []"'
req GET "$NS/activations?count=true&docs=true"
expect_error "activation list count&docs -> 400" 400 "cannot be combined"
req GET "$NS/activations?limit=201"
expect_error "activation list limit=201 -> 400" 400 "The value '201' is not in the range of 0 to 200 for activations."
req GET "$NS/activations?since=yesterday"
expect_error "activation list since=yesterday -> 400" 400 "malformed"
req GET "$NS/activations?docs=1"
expect_error "activation list docs=1 -> 400" 400 "malformed"

req GET "$NS/activations/$id1"
check "GET activation -> full record" eval 'test "$CODE" = 200 && jqb --arg id "$id1" ".activationId == \$id and .response.result == {\"greeting\":\"Hello edge\"} and .name == \"hello\""'
req GET "$NS/activations/$id1/result"
check "GET activation/result -> response object" eval 'test "$CODE" = 200 && jqb ".status == \"success\" and .success == true and .result == {\"greeting\":\"Hello edge\"}"'
req GET "$NS/activations/$apperr_id/result"
check "GET activation/result of an application error" eval 'test "$CODE" = 200 && jqb ".status == \"application error\" and .success == false and .result == {\"error\":\"boom\"}"'
# Logs may be attached after the blocking answer (spec 4): poll briefly.
for i in $(seq 1 25); do
	req GET "$NS/activations/$id1/logs"
	jqb '.logs | any(contains("hello-log edge"))' && break
	sleep 0.2
done
check "GET activation/logs -> {logs} with the console.log line" eval 'test "$CODE" = 200 && jqb "keys == [\"logs\"] and (.logs | any(contains(\"stdout: hello-log edge\")))"'
check "log lines: '<RFC 3339 timestamp padded to 30> stdout: <line>', no sentinel" \
	jqb '(.logs | all(test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z *(stdout|stderr): ") and (.[0:30] | length == 30))) and (.logs | any(contains("XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX")) | not)'
req GET "$NS/activations/$pyid/logs"
check "python activation logs have its print line" jqb '.logs | any(contains("stdout: py-log py"))'
req GET "$NS/activations/$natid/logs"
check "native activation logs have its stderr line" jqb '.logs | any(contains("stderr: native-log"))'
req GET "$NS/activations/$natid"
check "GET activation record logs equal /logs" eval 'jqb ".logs | any(contains(\"native-log\"))"'

req GET "$NS/activations/abcde"
expect_error "bad activation id (length 5) -> 400" 400 "Activation id length is 5 but must be 32."
req GET "$NS/activations/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
expect_error "bad activation id (not hex) -> 400" 400 "activation id"
req GET "$NS/activations/abcde/result"
expect_error "bad activation id on /result -> 400" 400 "Activation id length is 5"
req GET "$NS/activations/0123456789abcdef0123456789abcdef"
expect_error "unknown activation id -> 404" 404 "The requested resource does not exist."
req GET "$NS/activations/0123456789abcdef0123456789abcdef/logs"
expect_error "unknown activation id /logs -> 404" 404 "The requested resource does not exist."

# ---------------------------------------------------------------- PUT errors
reqj PUT "$NS/actions/badjson" '{"exec": {"kind": "nodejs:20", '
expect_error "PUT bad JSON body -> 400" 400 "The request content was malformed"
reqj PUT "$NS/actions/badjson" '[1]'
expect_error "PUT non-object body -> 400" 400 "malformed"
put_action 'a%20' "$(code_doc nodejs:20 "$NODE_HELLO")"
expect_error "PUT name with trailing space -> 400 illegal characters" 400 "The name of the entity contains illegal characters."
put_action '-x' "$(code_doc nodejs:20 "$NODE_HELLO")"
expect_error "PUT name starting with '-' -> 400 illegal characters" 400 "The name of the entity contains illegal characters."
put_action "$(printf 'n%.0s' $(seq 1 257))" "$(code_doc nodejs:20 "$NODE_HELLO")"
expect_error "PUT 257-char name -> 400 illegal characters" 400 "The name of the entity contains illegal characters."
put_action 'ok_name@v1.2-x' "$(code_doc nodejs:20 "$NODE_HELLO" '{limits: {memory: 128}}')"
check "PUT name with @ . - _ -> 200" eval 'test "$CODE" = 200 && jqb ".name == \"ok_name@v1.2-x\""'
req DELETE "$NS/actions/ok_name@v1.2-x"
put_action badkind "$(code_doc cobol:85 "x")"
expect_error "PUT unknown kind -> 400 not supported" 400 "The specified runtime 'cobol:85' is not supported by this platform."
put_action badkind2 "$(code_doc ruby:default "x")"
expect_error "PUT unknown family default -> 400 not supported" 400 "not supported"
put_action noexec '{"parameters":[]}'
expect_error "PUT create without exec -> 400 exec undefined" 400 "exec undefined"
put_action lim "$(code_doc nodejs:20 "$NODE_HELLO" '{limits: {timeout: 400000}}')"
expect_error "PUT timeout 400000 -> 400 threshold" 400 "duration 400000 milliseconds exceeds allowed threshold of 300000 milliseconds"
put_action lim "$(code_doc nodejs:20 "$NODE_HELLO" '{limits: {timeout: 50}}')"
expect_error "PUT timeout 50 -> 400 below threshold" 400 "below allowed threshold of 100 milliseconds"
put_action lim "$(code_doc nodejs:20 "$NODE_HELLO" '{limits: {memory: 1024}}')"
expect_error "PUT memory 1024 -> 400 threshold" 400 "memory size 1024 MB exceeds allowed threshold of 512 MB"
put_action lim "$(code_doc nodejs:20 "$NODE_HELLO" '{limits: {memory: 64}}')"
expect_error "PUT memory 64 -> 400 below threshold" 400 "below allowed threshold of 128 MB"
put_action lim "$(code_doc nodejs:20 "$NODE_HELLO" '{limits: {logs: 20}}')"
expect_error "PUT logs 20 -> 400 threshold" 400 "log size 20 MB exceeds allowed threshold of 10 MB"
put_action lim "$(code_doc nodejs:20 "$NODE_HELLO" '{limits: {concurrency: 2}}')"
expect_error "PUT concurrency 2 -> 400 threshold" 400 "concurrency 2 exceeds allowed threshold of 1"
put_action lim "$(code_doc nodejs:20 "$NODE_HELLO")" overwrite=maybe
expect_error "PUT overwrite=maybe -> 400" 400 "overwrite"
req GET "$NS/actions/lim"
expect_error "rejected PUTs stored nothing (GET -> 404)" 404 "The requested resource does not exist."
head -c $((1024 * 1024 + 16)) /dev/zero | tr '\0' 'p' >"$T/bigparam"
jq -cn --rawfile v "$T/bigparam" --arg c "$NODE_HELLO" '{exec: {kind: "nodejs:20", code: $c}, parameters: [{key: "p", value: $v}]}' >"$T/bigparam.json"
req PUT "$NS/actions/bigparam" -H 'Content-Type: application/json' --data-binary "@$T/bigparam.json"
expect_error "PUT parameters over 1 MB -> 413" 413 "parameters larger than allowed"

# ---------------------------------------------------------------- entity details
reqj PUT "$NS/actions/b64" '{"name":"other","namespace":"elsewhere","exec":{"kind":"native","code":"aGVsbG8=","binary":false},"limits":{"memory":128}}'
check "PUT: name/namespace in the body ignored, binary computed (base64 -> true)" eval 'test "$CODE" = 200 && jqb ".name == \"b64\" and .namespace == \"guest\" and .exec.binary == true"'
reqj PUT "$NS/actions/b64?overwrite=true" '{"version":"1.2.3","annotations":[{"key":"a","value":1}],"delAnnotations":["provide-api-key"]}'
check "PUT overwrite: explicit version, annotations added, delAnnotations removes" eval 'test "$CODE" = 200 && jqb ".version == \"1.2.3\" and (.annotations | any(.key == \"a\" and .value == 1)) and (.annotations | any(.key == \"provide-api-key\") | not) and (.annotations | any(.key == \"exec\"))"'
put_action initp "$(code_doc nodejs:20 'function main(p) { return { k: p.k, s: p.s, env: process.env.s }; }' '{limits: {memory: 128}, parameters: [{key: "s", value: "S", init: true}, {key: "k", value: 1}]}')"
check "PUT with an init parameter keeps init:true" eval 'test "$CODE" = 200 && jqb ".parameters == [{\"key\":\"s\",\"value\":\"S\",\"init\":true},{\"key\":\"k\",\"value\":1}]"'
req POST "$NS/actions/initp?blocking=true&result=true"
check "init parameter reaches the environment, not the arguments" eval 'test "$CODE" = 200 && jqb ". == {\"k\":1,\"env\":\"S\"}"'
put_action badlim "$(code_doc nodejs:20 x '{limits: {timeout: "5"}}')"
expect_error "PUT limits.timeout as a string -> 400" 400 "whole number"
put_action badpub "$(code_doc nodejs:20 x '{publish: "yes"}')"
expect_error "PUT publish as a string -> 400" 400 "publish must be a boolean"
put_action nocode '{"exec":{"kind":"nodejs:20"}}'
expect_error "PUT exec without code -> 400" 400 "exec.code must be a string"

# ---------------------------------------------------------------- routes
req GET /api/v1/nope
expect_error "unknown path /api/v1/nope -> 404" 404 "The requested resource does not exist."
req GET /api/v2
expect_error "unknown path /api/v2 -> 404" 404 "The requested resource does not exist."
req GET "$NS/feeds"
expect_error "unknown collection (feeds) -> 404" 404 "The requested resource does not exist."
req GET "$NS/activations/$id1/nope"
expect_error "unknown activation sub-path -> 404" 404 "The requested resource does not exist."
req GET "$NS/actions/somepkg/hello"
expect_error "action inside a missing package -> 404" 404 "The requested resource does not exist."
req GET "$NS/actions/default/hello"
expect_error "package name 'default' -> 400 reserved" 400 "reserved"
req POST /api/v1/namespaces
expect_error "POST /api/v1/namespaces -> 405 with error+code" 405 "HTTP method not allowed"
req PATCH "$NS/actions/hello"
expect_error "PATCH action -> 405" 405 "HTTP method not allowed"
req DELETE "$NS/activations"
expect_error "DELETE activations -> 405" 405 "HTTP method not allowed"
req GET "$NS/actions/bad%zzname"
expect_error "bad percent-encoding in path -> 400" 400 "malformed"

# ---------------------------------------------------------------- delete
req DELETE "$NS/actions/hello"
check "DELETE action -> 200 with the deleted doc" eval 'test "$CODE" = 200 && jqb ".name == \"hello\" and .version == \"0.0.4\" and .namespace == \"guest\""'
req GET "$NS/actions/hello"
expect_error "GET deleted action -> 404" 404 "The requested resource does not exist."
req DELETE "$NS/actions/hello"
expect_error "DELETE missing action -> 404" 404 "The requested resource does not exist."
req POST "$NS/actions/hello?blocking=true"
expect_error "invoke deleted action -> 404" 404 "The requested resource does not exist."
req GET "$NS/activations/$id1"
check "activations outlive their action" test "$CODE" = 200
req GET "$NS/actions?count=true"
check "count after delete -> {actions: 12}" eval 'test "$CODE" = 200 && jqb ". == {\"actions\": 12}"'

# ---------------------------------------------------------------- health again
NOAUTH=1 req GET /health
check "GET /health after the run: invoker still up, nothing in flight" \
	eval 'test "$CODE" = 200 && jqb ".invokers[0].state == \"up\" and .invokers[0].restarts == 0"'

if [ "$failed" -gt 0 ]; then
	echo "# controller log (last 40 lines):"
	ew_controller_log_tail 40
fi
ew_finish
