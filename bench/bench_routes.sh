#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench_routes: what an HTTP route and a shared package cost per request.
# Starts a private controller (tests/integration/lib.sh configuration, two
# keys: guest and alice), makes a Node.js no-op web action, a route to it
# (GET /api/guest/b/{id}) and a published package pub with a no-op, then
# runs bench/bench_routes.py: blocking calls over one kept-alive
# connection, rounds interleaved, the median of the rounds' p50 and p99.
# Baselines in the same run: the web action called directly (for the
# route), guest invoking its own action (for alice invoking it shared).
#   bench/bench_routes.sh [--quick] [--csv PATH]
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
ARGS=()
CSV=${O:-build}/bench/routes.csv
while [ $# -gt 0 ]; do
	case $1 in
	--quick) ARGS+=(--count 300 --rounds 2) ;;
	--csv) CSV=$2; shift ;;
	*) echo "usage: bench/bench_routes.sh [--quick] [--csv PATH]" >&2; exit 2 ;;
	esac
	shift
done
. tests/integration/lib.sh
ALICE_UUID=4a1ce000-71f6-4ed5-8c54-816aa4f8c502
ALICE_KEY=alicekeyalicekeyalicekeyalicekeyalicekeyalicekeyalicekeyalicekey
export EW_CONFIG_EXTRA="auth:
  - {uuid: $GUEST_UUID, key: $GUEST_KEY, namespace: guest}
  - {uuid: $ALICE_UUID, key: $ALICE_KEY, namespace: alice}"
export EW_LOG_LEVEL=${EW_LOG_LEVEL:-warn}
ew_setup bench-routes
ew_need_docker
ew_start_controller || { ew_controller_log_tail 30; exit 1; }
NOOP='"exec":{"kind":"nodejs:20","code":"function main(){return {}}"}'
reqj PUT "/api/v1/namespaces/_/actions/noop" "{$NOOP,\"annotations\":[{\"key\":\"web-export\",\"value\":true}]}"
reqj PUT "/api/v1/namespaces/_/packages/pub" '{"publish":true}'
reqj PUT "/api/v1/namespaces/_/actions/pub/noop" "{$NOOP}"
reqj POST "/api/v1/web/whisk.system/apimgmt/createApi.http" \
	'{"apidoc":{"namespace":"_","gatewayBasePath":"/b","gatewayPath":"/{id}","gatewayMethod":"GET","action":{"name":"noop","namespace":"_","backendMethod":"GET","backendUrl":"-","authkey":"-"}}}'
[ "$CODE" = 200 ] || { echo "bench-routes: createApi: $CODE $BODY" >&2; exit 1; }
echo "# $(uname -m), $(nproc) CPUs, $(awk '{print "load average " $1 " " $2 " " $3}' /proc/loadavg), controller on $BASE"
mkdir -p "$(dirname "$CSV")"
python3 bench/bench_routes.py --port "$PORT" --auth "$GUEST_AUTH" --shared-auth "$ALICE_UUID:$ALICE_KEY" \
	--csv "$CSV" "${ARGS[@]}"
rc=$?

kill -TERM "$CTRL_PID" 2>/dev/null
wait "$CTRL_PID" 2>/dev/null
CTRL_PID=
exit $rc
