#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# containers.network: none, with real containers: the invoker still reaches
# every container (through its namespace, no port published), Docker shows
# the mode, and an action listing its own interfaces (/sys/class/net) sees
# only lo, in Node.js and Python. Nothing is sent anywhere: isolation is
# read off the container, never tested by connecting out.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

EW_NETWORK=none
ew_setup network
ew_need_docker
ew_start_controller || ew_finish

reqj PUT "/api/v1/namespaces/_/actions/ifs-node" \
	'{"exec":{"kind":"nodejs:20","code":"const fs=require(\"fs\");function main(){return {ifs: fs.readdirSync(\"/sys/class/net\").sort()}}"}}'
check "create a Node.js action" test "$CODE" = 200
reqj PUT "/api/v1/namespaces/_/actions/ifs-py" \
	'{"exec":{"kind":"python:3.11","code":"import os\ndef main(a):\n  return {\"ifs\": sorted(os.listdir(\"/sys/class/net\"))}"}}'
check "create a Python action" test "$CODE" = 200

for a in ifs-node ifs-py; do
	req POST "/api/v1/namespaces/_/actions/$a?blocking=true&result=true"
	check "$a runs with no network" test "$CODE" = 200
	check "$a sees only lo" jqb '.ifs == ["lo"]'
	# Warm: the kept connection, made inside the namespace, is reused.
	req POST "/api/v1/namespaces/_/actions/$a?blocking=true&result=true"
	check "$a runs warm" jqb '.ifs == ["lo"]'
done

ids=$("$DOCKER" ps -aq --filter "label=edgewhisk.instance=$INSTANCE")
check "containers of this instance exist" test -n "$ids"
"$DOCKER" inspect $ids >"$T/inspect.json" 2>/dev/null
echo "# $(jq -c '[.[] | {Name, NetworkMode: .HostConfig.NetworkMode, PortBindings: .HostConfig.PortBindings, Ports: .NetworkSettings.Ports}]' "$T/inspect.json")"
BODY=$(cat "$T/inspect.json")
check "every container runs with network mode none" jqb 'length > 0 and all(.HostConfig.NetworkMode == "none")'
check "no container publishes a port" \
	jqb 'all(((.HostConfig.PortBindings // {}) | length) == 0 and ([(.NetworkSettings.Ports // {})[] | select(. != null)] | length) == 0)'
check "no container has an address on any network" \
	jqb 'all([.NetworkSettings.Networks // {} | .[] | .IPAddress | select(. != "" and . != null)] | length == 0)'
ew_finish
