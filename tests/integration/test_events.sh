#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration test of OpenWhisk's event model (spec §5-§7) against the real
# system: triggers -> rules -> actions, sequences (with an error in the
# middle, nested, limits), packages with parameter inheritance and
# bindings, and web actions (JSON, HTML with a custom status and header,
# auth), each through HTTP with curl + jq on a private controller running
# real containers. Talks to 127.0.0.1 only.
# Prints ok/not ok per case, then "events: N passed, M failed".
# Exit: 0 all passed, 1 a failure, 77 Docker absent (and CI is not "true").
# shellcheck disable=SC2016 # checks are single-quoted eval strings
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ew_setup events
ew_need_docker
if ! ew_start_controller; then
	ew_controller_log_tail 40
	ew_finish
fi
echo "# controller pid $CTRL_PID on $BASE, instance $INSTANCE, state $STATE"

NS=/api/v1/namespaces/_
WEB=/api/v1/web/guest

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

# node_action NAME CODE [extra jq object]: PUT a nodejs action.
node_action() {
	reqj PUT "$NS/actions/$1?overwrite=true" \
		"$(jq -cn --arg c "$2" "{exec: {kind: \"nodejs:default\", code: \$c}} + (${3:-{\}})")"
}

# wait_record ID: poll until the activation record is stored (<= 30 s).
wait_record() {
	local i
	for i in $(seq 1 150); do
		req GET "$NS/activations/$1"
		[ "$CODE" = 200 ] && return 0
		sleep 0.2
	done
	return 1
}

ECHO='function main(p) { return p; }'
INC='function main(p) { return { x: (p.x || 0) + 1 }; }'
DOUBLE='function main(p) { return { x: p.x * 2 }; }'
FAIL_AT_2='function main(p) { if (p.x === 2) return { error: "mid-fail at " + p.x }; return p; }'

node_action echo "$ECHO"
check "create action echo" test "$CODE" = 200

# ---------------------------------------------------------------- triggers
reqj PUT "$NS/triggers/t1" '{"parameters":[{"key":"from","value":"trigger"},{"key":"keep","value":"t"}]}'
check "PUT trigger -> 200 with parameters and limits {}" eval 'test "$CODE" = 200 && jqb ".name == \"t1\" and .namespace == \"guest\" and .limits == {} and .parameters[0].key == \"from\""'
reqj PUT "$NS/triggers/t1" '{}'
expect_error "PUT existing trigger without overwrite -> 409" 409 "resource already exists"
req GET "$NS/triggers/t1"
check "GET trigger -> 200" eval 'test "$CODE" = 200 && jqb ".name == \"t1\""'
req GET "$NS/triggers"
check "list triggers -> [t1] summaries" eval 'test "$CODE" = 200 && jqb "length == 1 and .[0].name == \"t1\" and (.[0] | has(\"parameters\") | not)"'
req GET "$NS/triggers?count=true"
check "count triggers -> {triggers: 1}" eval 'test "$CODE" = 200 && jqb ".triggers == 1"'
reqj PUT "$NS/triggers/bad" '{"annotations":[{"key":"feed","value":"a/b/c/d"}]}'
expect_error "trigger with an invalid feed name -> 400" 400 "Feed name is not valid"
reqj PUT "$NS/actions/t1" "$(jq -cn --arg c "$ECHO" '{exec:{kind:"nodejs:default",code:$c}}')"
expect_error "action named like a trigger -> 409 other collection" 409 "not in this collection"

# ---------------------------------------------------------------- rules
reqj PUT "$NS/rules/r1" '{"trigger":"/_/t1","action":"/_/echo"}'
check "PUT rule -> 200 active, trigger/action as {path,name}" eval 'test "$CODE" = 200 && jqb ".status == \"active\" and .trigger == {path: \"guest\", name: \"t1\"} and .action == {path: \"guest\", name: \"echo\"}"'
req GET "$NS/triggers/t1"
check "trigger links the rule in .rules" eval 'jqb ".rules[\"guest/r1\"].status == \"active\" and .rules[\"guest/r1\"].action.name == \"echo\""'
reqj PUT "$NS/rules/r2" '{"trigger":"t1","action":"missing"}'
expect_error "rule to a missing action -> 400" 400 "action /guest/missing does not exist"
reqj PUT "$NS/rules/r2" '{"trigger":"nope","action":"echo"}'
expect_error "rule to a missing trigger -> 400" 400 "trigger /guest/nope does not exist"
reqj POST "$NS/rules/r1" '{"status":"paused"}'
expect_error "rule status not active/inactive -> 400" 400 "is not a recognized rule state"

reqj POST "$NS/triggers/t1" '{"from":"payload","extra":42}'
check "fire with an active rule -> 202 + activationId" eval 'test "$CODE" = 202 && jqb ".activationId | test(\"^[0-9a-f]{32}$\")"'
TID=$(printf '%s' "$BODY" | jq -r .activationId)
check "fire answers x-openwhisk-activation-id" test "$(header x-openwhisk-activation-id)" = "$TID"
wait_record "$TID"
check "trigger record: name t1, result = payload, one rule log" eval 'jqb ".name == \"t1\" and .response.success == true and .response.result == {from: \"payload\", extra: 42} and (.logs | length) == 1"'
RULE_LOG=$(printf '%s' "$BODY" | jq -r '.logs[0]')
check "rule log entry names rule, action and activation" eval 'printf "%s" "$RULE_LOG" | jq -e ".statusCode == 0 and .success == true and .rule == \"guest/r1\" and .action == \"guest/echo\" and (.activationId | length) == 32" >/dev/null'
AID=$(printf '%s' "$RULE_LOG" | jq -r .activationId)
wait_record "$AID"
check "rule's action ran with trigger params under the payload" eval 'jqb ".name == \"echo\" and .response.result.from == \"payload\" and .response.result.keep == \"t\" and .response.result.extra == 42"'

reqj POST "$NS/rules/r1" '{"status":"inactive","trigger":null,"action":null}'
check "disable rule -> 200" test "$CODE" = 200
req GET "$NS/rules/r1"
check "GET rule shows inactive (from the trigger link)" eval 'test "$CODE" = 200 && jqb ".status == \"inactive\""'
req GET "$NS/activations?name=echo&count=true"
before=$(printf '%s' "$BODY" | jq .activations)
reqj POST "$NS/triggers/t1" '{"n":1}'
TID2=$(printf '%s' "$BODY" | jq -r .activationId)
check "fire with only an inactive rule -> 202 (recorded)" test "$CODE" = 202
wait_record "$TID2"
check "its record lists no rule" eval 'jqb "(.logs | length) == 0"'
sleep 1
req GET "$NS/activations?name=echo&count=true"
check "an inactive rule fired nothing" eval 'jqb ".activations == $before"'
reqj POST "$NS/rules/r1" '{"status":"active"}'
req GET "$NS/rules/r1"
check "re-enable rule -> active" eval 'jqb ".status == \"active\""'
req GET "$NS/rules"
check "list rules -> [r1]" eval 'test "$CODE" = 200 && jqb "length == 1 and .[0].name == \"r1\""'

reqj PUT "$NS/triggers/t0" '{}'
reqj POST "$NS/triggers/t0" '{"lonely":true}'
T0=$(printf '%s' "$BODY" | jq -r .activationId)
check "fire a trigger with no rule -> 202" test "$CODE" = 202
wait_record "$T0"
check "... and it is recorded with its payload" eval 'jqb ".name == \"t0\" and .response.result.lonely == true and .logs == []"'
reqj POST "$NS/triggers/nope" '{}'
expect_error "fire a missing trigger -> 404" 404 "The requested resource does not exist."

# an action deleted under its rule: the fire records the error
node_action gone "$ECHO"
reqj PUT "$NS/triggers/t2" '{}'
reqj PUT "$NS/rules/r2" '{"trigger":"t2","action":"gone"}'
req DELETE "$NS/actions/gone"
reqj POST "$NS/triggers/t2" '{}'
T2=$(printf '%s' "$BODY" | jq -r .activationId)
wait_record "$T2"
check "rule to a deleted action: fire records statusCode 1 + error" eval 'jqb ".logs | length == 1" && jq -e ".statusCode == 1 and .success == false and (.error | contains(\"does not exist\"))" <<<"$(printf "%s" "$BODY" | jq -r ".logs[0]")" >/dev/null'
req DELETE "$NS/triggers/t2"
check "delete a trigger with a rule -> 200" test "$CODE" = 200
req GET "$NS/rules/r2"
check "its rule stays, inactive" eval 'test "$CODE" = 200 && jqb ".status == \"inactive\""'
reqj POST "$NS/rules/r2" '{"status":"active"}'
expect_error "activate a rule whose trigger is gone -> 404" 404 "Only rules with existing triggers can be activated"
req DELETE "$NS/rules/r2"
check "delete rule -> 200 with status inactive" eval 'test "$CODE" = 200 && jqb ".name == \"r2\" and .status == \"inactive\""'
req DELETE "$NS/rules/r1"
req GET "$NS/triggers/t1"
check "deleting a rule unlinks it from its trigger" eval 'jqb "(.rules // {}) | has(\"guest/r1\") | not"'

# ---------------------------------------------------------------- sequences
node_action inc "$INC"
node_action double "$DOUBLE"
node_action failat2 "$FAIL_AT_2"
reqj PUT "$NS/actions/s_ok" '{"exec":{"kind":"sequence","components":["/_/inc","/guest/inc","double"]}}'
check "PUT sequence -> 200, components fully qualified" eval 'test "$CODE" = 200 && jqb ".exec.kind == \"sequence\" and .exec.components == [\"/guest/inc\", \"/guest/inc\", \"/guest/double\"]"'
reqj POST "$NS/actions/s_ok?blocking=true&result=true" '{"x":1}'
check "3-step sequence: ((1+1)+1)*2 = 6" eval 'test "$CODE" = 200 && jqb ". == {x: 6}"'
reqj POST "$NS/actions/s_ok?blocking=true" '{"x":0}'
SID=$(printf '%s' "$BODY" | jq -r .activationId)
check "sequence record: logs = 3 component ids, kind sequence, topmost" eval 'jqb "(.logs | length) == 3 and (.logs | all(test(\"^[0-9a-f]{32}$\"))) and (.annotations | from_entries | .kind == \"sequence\" and .topmost == true) and .response.result == {x: 4}"'
C1=$(printf '%s' "$BODY" | jq -r '.logs[0]')
wait_record "$C1"
check "component record: cause = sequence id, causedBy sequence" eval 'jqb ".cause == \"$SID\" and (.annotations | from_entries | .causedBy == \"sequence\")"'

reqj PUT "$NS/actions/s_err" '{"exec":{"kind":"sequence","components":["inc","failat2","double"]}}'
reqj POST "$NS/actions/s_err?blocking=true" '{"x":1}'
check "error in the middle: 502 application error, chain stopped" eval 'test "$CODE" = 502 && jqb ".response.statusCode == 1 and .response.result.error == \"mid-fail at 2\" and (.logs | length) == 2"'
reqj POST "$NS/actions/s_err?blocking=true&result=true" '{"x":5}'
check "same sequence without the error -> 12" eval 'test "$CODE" = 200 && jqb ".x == 12"'

reqj PUT "$NS/actions/s_nest" '{"exec":{"kind":"sequence","components":["s_ok","inc"]}}'
reqj POST "$NS/actions/s_nest?blocking=true" '{"x":1}'
check "sequence of sequences: 6 + 1 = 7, two component ids" eval 'test "$CODE" = 200 && jqb ".response.result.x == 7 and (.logs | length) == 2"'
INNER=$(printf '%s' "$BODY" | jq -r '.logs[0]')
wait_record "$INNER"
check "inner sequence record: causedBy sequence, not topmost" eval 'jqb "(.annotations | from_entries | .causedBy == \"sequence\" and .topmost == false and .kind == \"sequence\")"'

reqj PUT "$NS/actions/s_bad" '{"exec":{"kind":"sequence","components":["inc","nothere"]}}'
expect_error "sequence with a missing component -> 400" 400 "Sequence component does not exist."
reqj PUT "$NS/actions/s_ok?overwrite=true" '{"exec":{"kind":"sequence","components":["inc","s_nest"]}}'
expect_error "sequence that contains itself (nested) -> 400" 400 "Sequence may not refer to itself."
reqj PUT "$NS/actions/s_none" '{"exec":{"kind":"sequence","components":[]}}'
expect_error "sequence without components -> 400" 400 "No component specified for the sequence."
long=$(jq -cn '{exec:{kind:"sequence",components:[range(51)|"inc"]}}')
reqj PUT "$NS/actions/s_long" "$long"
expect_error "51 components -> 400 too many" 400 "Too many actions in the sequence."
wide=$(jq -cn '{exec:{kind:"sequence",components:[range(26)|"s_ok"]}}')
reqj PUT "$NS/actions/s_wide" "$wide"
expect_error "26 x 3-step sequences (78 atomic) -> 400 too many" 400 "Too many actions in the sequence."
reqj POST "$NS/actions/s_ok?blocking=false" '{"x":1}'
NB=$(printf '%s' "$BODY" | jq -r .activationId)
check "non-blocking sequence -> 202" test "$CODE" = 202
wait_record "$NB"
check "... its record is stored when it ends" eval 'jqb ".response.result.x == 6"'

# ---------------------------------------------------------------- packages
reqj PUT "$NS/packages/pk" '{"parameters":[{"key":"greeting","value":"pkg"},{"key":"a","value":"pkg"}]}'
check "PUT package -> 200, binding {}" eval 'test "$CODE" = 200 && jqb ".name == \"pk\" and .binding == {}"'
reqj PUT "$NS/actions/pk/show" "$(jq -cn --arg c "$ECHO" '{exec:{kind:"nodejs:default",code:$c},parameters:[{key:"a",value:"action"}]}')"
check "PUT action in package -> 200, namespace guest/pk" eval 'test "$CODE" = 200 && jqb ".namespace == \"guest/pk\""'
reqj PUT "$NS/actions/nopkg/show" "$(jq -cn --arg c "$ECHO" '{exec:{kind:"nodejs:default",code:$c}}')"
expect_error "action in a missing package -> 404" 404 "does not exist"
reqj POST "$NS/actions/pk/show?blocking=true&result=true" '{}'
check "package parameters inherited, action's win" eval 'test "$CODE" = 200 && jqb ".greeting == \"pkg\" and .a == \"action\""'
reqj POST "$NS/actions/pk/show?blocking=true&result=true" '{"a":"body","greeting":"body"}'
check "invocation arguments win over both" eval 'jqb ".greeting == \"body\" and .a == \"body\""'
req GET "$NS/actions/pk/show"
check "GET action in package shows merged parameters" eval 'jqb "(.parameters | from_entries) == {greeting: \"pkg\", a: \"action\"}"'
req GET "$NS/packages/pk"
check "GET package lists its actions" eval 'test "$CODE" = 200 && jqb "(.actions | map(.name)) == [\"show\"] and .feeds == []"'
req GET "$NS/actions/pk/"
check "list actions of a package" eval 'test "$CODE" = 200 && jqb "length == 1 and .[0].name == \"show\""'
reqj PUT "$NS/packages/bd" '{"binding":{"namespace":"_","name":"pk"},"parameters":[{"key":"greeting","value":"binding"}]}'
check "PUT binding -> 200" eval 'test "$CODE" = 200 && jqb ".binding == {namespace: \"guest\", name: \"pk\"}"'
reqj POST "$NS/actions/bd/show?blocking=true&result=true" '{}'
check "through a binding: binding params over package params" eval 'test "$CODE" = 200 && jqb ".greeting == \"binding\" and .a == \"action\""'
req GET "$NS/packages"
check "list packages: binding false / the binding" eval 'jqb "(map({(.name): .binding}) | add) == {pk: false, bd: {namespace: \"guest\", name: \"pk\"}}"'
reqj PUT "$NS/packages/bd2" '{"binding":{"namespace":"_","name":"nothere"}}'
expect_error "binding to a missing package -> 400" 400 "does not exist"
reqj PUT "$NS/actions/bd/x" "$(jq -cn --arg c "$ECHO" '{exec:{kind:"nodejs:default",code:$c}}')"
expect_error "action inside a binding -> 400" 400 "package binding"
reqj PUT "$NS/actions/s_pkg" '{"exec":{"kind":"sequence","components":["pk/show","bd/show"]}}'
reqj POST "$NS/actions/s_pkg?blocking=true" '{"z":1}'
# The first component's output wins over the second's inherited defaults.
check "sequence across package and binding" eval 'test "$CODE" = 200 && jqb ".response.result == {greeting: \"pkg\", a: \"action\", z: 1} and (.logs | length) == 2"'
reqj PUT "$NS/triggers/tp" '{}'
reqj PUT "$NS/rules/rp" '{"trigger":"tp","action":"pk/show"}'
check "rule to an action in a package -> 200" eval 'test "$CODE" = 200 && jqb ".action == {path: \"guest/pk\", name: \"show\"}"'
reqj POST "$NS/triggers/tp" '{"via":"rule"}'
TP=$(printf '%s' "$BODY" | jq -r .activationId)
wait_record "$TP"
PA=$(printf '%s' "$BODY" | jq -r '.logs[0] | fromjson | .activationId')
wait_record "$PA"
check "trigger -> rule -> package action with inherited params" eval 'jqb ".response.result.via == \"rule\" and .response.result.greeting == \"pkg\""'
req DELETE "$NS/packages/pk"
expect_error "delete a non-empty package -> 409" 409 "Package not empty (contains 1 entities)"
req DELETE "$NS/packages/pk?force=true"
check "delete with force=true -> 200, contents gone" eval 'test "$CODE" = 200 && { req GET "$NS/actions/pk/show"; test "$CODE" = 404; }'

# ---------------------------------------------------------------- web actions
WEBJSON='function main(p) { return { method: p.__ow_method, q: p.q, path: p.__ow_path, body: p.b, ua: p.__ow_headers["user-agent"] }; }'
WEBHTML='function main(p) { return { statusCode: 201, headers: { "X-Edge": "yes", "Content-Type": "text/html" }, body: "<h1>Hello " + (p.name || "web") + "</h1>" }; }'
WEBBIN='function main() { return { headers: { "Content-Type": "image/png" }, body: Buffer.from([137,80,78,71]).toString("base64") }; }'
node_action wj "$WEBJSON" '{annotations:[{key:"web-export",value:true}]}'
node_action wh "$WEBHTML" '{annotations:[{key:"web-export",value:true}]}'
node_action wb "$WEBBIN" '{annotations:[{key:"web-export",value:true}]}'
node_action wsecret "$ECHO" '{annotations:[{key:"web-export",value:true},{key:"require-whisk-auth",value:"s3cret"}]}'
node_action hidden "$ECHO"

NOAUTH=1 req GET "$WEB/default/wj.json/extra/path?q=hello" -A edge-test
check "web .json without auth -> 200 JSON with __ow_method/__ow_path/query/headers" eval 'test "$CODE" = 200 && header Content-Type | grep -q application/json && jqb ". == {method: \"get\", q: \"hello\", path: \"/extra/path\", ua: \"edge-test\"}"'
check "web response carries x-openwhisk-activation-id" eval '[ -n "$(header x-openwhisk-activation-id)" ]'
NOAUTH=1 reqj POST "$WEB/default/wj.json" '{"b":"posted"}'
check "web POST JSON body merged into params" eval 'test "$CODE" = 200 && jqb ".method == \"post\" and .body == \"posted\""'
NOAUTH=1 req POST "$WEB/default/wj.json" --data 'b=form+value'
check "web form body merged into params" eval 'test "$CODE" = 200 && jqb ".body == \"form value\""'
NOAUTH=1 req GET "$WEB/default/wh.http?name=edge"
check "web .http: custom status 201, header X-Edge, text/html body" eval 'test "$CODE" = 201 && [ "$(header X-Edge)" = yes ] && header Content-Type | grep -q text/html && test "$BODY" = "<h1>Hello edge</h1>"'
NOAUTH=1 req GET "$WEB/default/wb.http"
check "web .http binary body is base64-decoded" eval 'test "$CODE" = 200 && header Content-Type | grep -q image/png && [ "$(od -An -tu1 "$T/resp" | tr -s " ")" = " 137 80 78 71" ]'
NOAUTH=1 req GET "$WEB/default/hidden.json"
expect_error "web action not exported -> 404" 404 "The requested resource does not exist."
NOAUTH=1 req GET "$WEB/default/nothere.json"
expect_error "web action missing -> 404" 404 "does not exist"
NOAUTH=1 req GET "$WEB/default/wsecret.json"
expect_error "require-whisk-auth without the header -> 401" 401 "requires authentication"
NOAUTH=1 req GET "$WEB/default/wsecret.json?v=1" -H 'X-Require-Whisk-Auth: s3cret'
check "require-whisk-auth with the header -> 200" eval 'test "$CODE" = 200 && jqb ".v == \"1\""'
NOAUTH=1 req GET "$WEB/default/wj.json?__ow_method=put"
expect_error "web request setting __ow_* -> 400" 400 "not allowed"
NOAUTH=1 req GET "$WEB/default/wj.html"
expect_error "web .html of a result without html/body -> 400" 400 ""

ew_finish
