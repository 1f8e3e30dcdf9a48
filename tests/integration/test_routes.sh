#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# HTTP routes against a real controller and real containers, through the
# route management calls `wsk api` and the openwhisk client make
# (/api/v1/web/whisk.system/apimgmt/{createApi,getApi,deleteApi}.http):
#   - a route with a path parameter and one with a POST body run their web
#     action with the parameter, __ow_path and __ow_method; the response
#     type decides the answer (json, http); CORS headers as the gateway's;
#   - a wrong method is 405 with Allow, an unknown path 404 with
#     OpenWhisk's error body, as is a route whose action was deleted;
#   - a secure key stands for require-whisk-auth; an action that needs it
#     and a route without one answer 401;
#   - only web actions are targets; bad apidocs (missing fields, wrong
#     types, unknown methods, a huge body) get 4xx and store nothing;
#   - routes are namespace-bound (alice neither sees nor deletes guest's)
#     and persist across a restart; deleting a path or the API ends them.
# Talks to 127.0.0.1 only.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

ALICE_UUID=4a1ce000-71f6-4ed5-8c54-816aa4f8c502
ALICE_KEY=alicekeyalicekeyalicekeyalicekeyalicekeyalicekeyalicekeyalicekey
ALICE_AUTH="$ALICE_UUID:$ALICE_KEY"
EW_CONFIG_EXTRA="auth:
  - {uuid: $GUEST_UUID, key: $GUEST_KEY, namespace: guest}
  - {uuid: $ALICE_UUID, key: $ALICE_KEY, namespace: alice}"
export EW_CONFIG_EXTRA

ew_setup routes
ew_need_docker
ew_start_controller || ew_finish

MGMT=/api/v1/web/whisk.system/apimgmt

# apidoc BASE REL VERB ACTION [EXTRA]: the createApi body the openwhisk
# client sends for one endpoint (EXTRA: more members of "action").
apidoc() {
	printf '{"apidoc":{"namespace":"_","gatewayBasePath":"%s","gatewayPath":"%s","gatewayMethod":"%s","id":"API:_:%s","action":{"name":"%s","namespace":"_","backendMethod":"GET","backendUrl":"%s/api/v1/namespaces/_/actions/%s","authkey":"%s"%s}}}' \
		"$1" "$2" "$3" "$1" "$4" "$BASE" "$4" "$GUEST_AUTH" "${5:-}"
}
apis_count() {
	req GET "$MGMT/getApi.http?basepath=$1"
	printf '%s' "$BODY" | jq '.apis | length'
}

WEB='[{"key":"web-export","value":true}]'
reqj PUT "/api/v1/namespaces/_/actions/sensor" \
	"{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"function main(p){return {id: p.id, kind: p.kind, path: p.__ow_path, method: p.__ow_method, reading: p.reading, q: p.q}}\"},\"annotations\":$WEB,\"limits\":{\"memory\":128}}"
reqj PUT "/api/v1/namespaces/_/actions/made" \
	"{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"function main(p){return {statusCode: 201, headers: {'X-Made': p.id}, body: 'made ' + p.id}}\"},\"annotations\":$WEB,\"limits\":{\"memory\":128}}"
reqj PUT "/api/v1/namespaces/_/actions/guarded" \
	"{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"function main(){return {ok: true}}\"},\"annotations\":[{\"key\":\"web-export\",\"value\":true},{\"key\":\"require-whisk-auth\",\"value\":\"s3cret\"}],\"limits\":{\"memory\":128}}"
reqj PUT "/api/v1/namespaces/_/actions/plain" '{"exec":{"kind":"nodejs:20","code":"function main(){return {}}"}}'
check "guest creates web actions and a plain one" test "$CODE" = 200

# --- createApi ---
reqj POST "$MGMT/createApi.http?responsetype=json&accesstoken=x&spaceguid=y" "$(apidoc /sensors '/{id}' GET sensor)"
check "createApi GET /sensors/{id} -> 200" test "$CODE" = 200
check "... OpenWhisk's shape, gwApiUrl on this controller" \
	jqb ".id == \"API:guest:/sensors\" and .value.gwApiActivated == true and .value.tenantId == \"guest\" and .value.gwApiUrl == \"$BASE/api/guest\" and .value.apidoc.basePath == \"/sensors\" and .value.apidoc.paths[\"/{id}\"].get[\"x-openwhisk\"].action == \"sensor\""
check "... the caller's key is not in it" eval '! grep -qF "$GUEST_KEY" <<<"$BODY"'
reqj POST "$MGMT/createApi.http" "$(apidoc /sensors '/{id}/reading/{kind}' POST sensor)"
check "createApi POST /sensors/{id}/reading/{kind} -> 200" test "$CODE" = 200
reqj POST "$MGMT/createApi.http?responsetype=http" "$(apidoc /things '/{id}' PUT made)"
check "createApi PUT /things/{id} (responsetype http) -> 200" test "$CODE" = 200
reqj POST "$MGMT/createApi.http" "$(apidoc /safe /with GET guarded ',"secureKey":"s3cret"')"
reqj POST "$MGMT/createApi.http" "$(apidoc /safe /without GET guarded)"
check "createApi of a guarded action, with and without the secure key -> 200" test "$CODE" = 200
before=$(apis_count "")
check "getApi lists the three APIs" test "$before" = 3

# --- serving ---
req GET "/api/guest/sensors/42?q=v"
check "GET /api/guest/sensors/42 runs the action with id, __ow_path, __ow_method, the query" \
	jqb '. == {"id":"42","path":"/42","method":"get","q":"v"}'
check "... with the gateway's CORS header" grep -qi '^Access-Control-Allow-Origin: \*' "$T/hdrs"
reqj POST "/api/guest/sensors/7/reading/temp" '{"reading":21.5}'
check "POST with a body -> the body's parameters and both path parameters" \
	jqb '.id == "7" and .kind == "temp" and .reading == 21.5 and .method == "post"'
req PUT "/api/guest/things/a%20b"
check "responsetype http: the action's status, header and body" \
	eval 'test "$CODE" = 201 && test "$BODY" = "made a b" && grep -qi "^X-Made: a b" "$T/hdrs"'
NOAUTH=1 req DELETE "/api/guest/sensors/42"
check "a method the path lacks -> 405 with Allow: GET" \
	eval 'test "$CODE" = 405 && grep -qi "^Allow: GET" "$T/hdrs"'
NOAUTH=1 req GET "/api/guest/sensors/42/more"
check "an unknown path -> 404 with OpenWhisk's error body" \
	eval 'test "$CODE" = 404 && jqb ".error == \"The requested resource does not exist.\" and (.code | length) > 0"'
NOAUTH=1 req GET "/api/alice/sensors/42"
check "another tenant has no such route -> 404" test "$CODE" = 404
NOAUTH=1 req OPTIONS "/api/guest/sensors/42"
check "OPTIONS (CORS preflight) -> 200 with CORS headers" \
	eval 'test "$CODE" = 200 && grep -qi "^Access-Control-Allow-Methods:" "$T/hdrs"'
NOAUTH=1 req GET "/api/guest/safe/with"
check "require-whisk-auth: the route's secure key stands for the header" jqb '. == {"ok": true}'
NOAUTH=1 req GET "/api/guest/safe/without"
check "... a route without it -> 401" test "$CODE" = 401

# --- refused: not a web action, bad apidocs, no key, huge ---
reqj POST "$MGMT/createApi.http" "$(apidoc /p /x GET plain)"
check "a plain action as target -> 400 'is not a web action'" \
	eval 'test "$CODE" = 400 && jqb ".error | test(\"is not a web action\")"'
reqj POST "$MGMT/createApi.http" "$(apidoc /p /x GET missing)"
check "a missing action as target -> 400" eval 'test "$CODE" = 400 && jqb ".error | test(\"does not exist\")"'
while IFS= read -r body; do
	reqj POST "$MGMT/createApi.http" "$body"
	check "bad apidoc -> 400 with an error: ${body:0:70}" \
		eval 'test "$CODE" = 400 && jqb ".error | length > 0"'
done <<'EOF'
{}
{"apidoc":7}
{"apidoc":"{nope"}
{"apidoc":{"gatewayBasePath":"/a"}}
{"apidoc":{"namespace":"_","gatewayBasePath":"/a","gatewayPath":"/b","gatewayMethod":"GET"}}
{"apidoc":{"namespace":"_","gatewayBasePath":"/a","gatewayPath":5,"gatewayMethod":"GET","action":{}}}
{"apidoc":{"namespace":"_","gatewayBasePath":"/a","gatewayPath":"/b","gatewayMethod":"FETCH","action":{"name":"sensor","namespace":"_","backendMethod":"GET","backendUrl":"u","authkey":"k"}}}
{"apidoc":{"namespace":"_","gatewayBasePath":"a","gatewayPath":"/b","gatewayMethod":"GET","action":{"name":"sensor","namespace":"_","backendMethod":"GET","backendUrl":"u","authkey":"k"}}}
{"apidoc":{"namespace":"_","swagger":{"basePath":"/a","paths":{}}}}
{"apidoc":{"namespace":"_","swagger":{"basePath":"/a","info":{},"paths":{"/p":{"get":{}}}}}}
not json at all
EOF
head -c 400000 /dev/zero | tr '\0' 'x' >"$T/huge"
printf '{"apidoc":{"namespace":"_","apiName":"%s"}}' "$(cat "$T/huge")" >"$T/huge.json"
req POST "$MGMT/createApi.http" -H 'Content-Type: application/json' --data-binary "@$T/huge.json"
check "a 400 KB body -> 413" test "$CODE" = 413
NOAUTH=1 req POST "$MGMT/createApi.http" -H 'Content-Type: application/json' --data-binary "$(apidoc /n /x GET sensor)"
check "createApi without a key -> 401" test "$CODE" = 401
check "nothing refused was stored (still 3 APIs)" test "$(apis_count "")" = 3

# --- namespaces ---
as_alice() { local m=$1 p=$2; shift 2; : >"$T/hdrs"; CODE=$("${CURL[@]}" -u "$ALICE_AUTH" -X "$m" -o "$T/resp" -D "$T/hdrs" -w '%{http_code}' "$@" "$BASE$p"); BODY=$(cat "$T/resp"); }
as_alice GET "$MGMT/getApi.http"
check "alice's getApi lists none of guest's" jqb '.apis == []'
as_alice DELETE "$MGMT/deleteApi.http?basepath=/sensors"
check "alice cannot delete guest's API -> 404" test "$CODE" = 404
as_alice POST "$MGMT/createApi.http" -H 'Content-Type: application/json' --data-binary "$(apidoc /mine /x GET sensor)"
check "alice cannot route to guest's action as her own -> 400" test "$CODE" = 400
req GET "/api/guest/sensors/1"
check "guest's route still works" jqb '.id == "1"'

# --- a restart keeps them ---
kill -TERM "$CTRL_PID"
wait "$CTRL_PID" 2>/dev/null
CTRL_PID=
"$EW_ROOT/$O/edgewhisk-controller" -c "$T/edgewhisk.yaml" >>"$T/controller.log" 2>&1 &
CTRL_PID=$!
ew_wait_up 30
req GET "/api/guest/sensors/9"
check "after a restart the route answers" jqb '.id == "9"'

# --- deleted action, deleteApi ---
req DELETE "/api/v1/namespaces/_/actions/made"
NOAUTH=1 req PUT "/api/guest/things/1"
check "a deleted action's route -> 404 with OpenWhisk's error body" \
	eval 'test "$CODE" = 404 && jqb ".error == \"The requested resource does not exist.\""'
req DELETE "$MGMT/deleteApi.http?basepath=/sensors&relpath=/%7Bid%7D&operation=GET"
check "deleteApi of one operation -> {}" jqb '. == {}'
NOAUTH=1 req GET "/api/guest/sensors/1"
check "... that route is gone" test "$CODE" = 404
reqj POST "/api/guest/sensors/7/reading/temp" '{}'
check "... the other path of the API still answers" jqb '.id == "7"'
req DELETE "$MGMT/deleteApi.http?basepath=/sensors"
check "deleteApi of the API -> {}" jqb '. == {}'
NOAUTH=1 req POST "/api/guest/sensors/7/reading/temp"
check "... all its routes are gone" test "$CODE" = 404
req DELETE "$MGMT/deleteApi.http?basepath=/sensors"
check "deleting it again -> 404" test "$CODE" = 404
req DELETE "$MGMT/deleteApi.http"
check "deleteApi without basepath -> 400" test "$CODE" = 400
check "two APIs left" test "$(apis_count "")" = 2
ew_finish
