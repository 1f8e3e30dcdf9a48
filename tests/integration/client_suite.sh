#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The openwhisk npm client's own integration suite (apache/openwhisk-client-js,
# test/integration) against a private controller on a clean state dir:
#   tests/integration/client_suite.sh DIR
# DIR is a checkout of that repository outside this one, with its dev
# dependencies installed (`npm install` in DIR); the suite is not part of
# this project and not run by `make integration` or CI. Sets __OW_API_HOST,
# __OW_API_KEY (the guest key), __OW_NAMESPACE=guest and __OW_APIGW_TOKEN
# (any value, so the routes test loads), runs `npx ava` there, and prints
# ava's per-test lines and counts. Talks to 127.0.0.1 only.
# Exit: 0 when every test of the suite passed, 1 otherwise.
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SUITE=${1:?usage: $0 DIR (a checkout of apache/openwhisk-client-js with npm install done)}
SUITE=$(cd "$SUITE" && pwd) || exit 2
[ -d "$SUITE/test/integration" ] && [ -d "$SUITE/node_modules/ava" ] || {
	echo "$SUITE: no test/integration or no node_modules/ava (run npm install there)" >&2
	exit 2
}

ew_setup client-suite
ew_need_docker
if ! ew_start_controller; then
	ew_controller_log_tail 40
	ew_finish
fi
(cd "$SUITE" &&
	__OW_API_HOST=$BASE __OW_API_KEY=$GUEST_AUTH __OW_NAMESPACE=guest __OW_APIGW_TOKEN=edgewhisk \
		timeout 900 npx ava --timeout=120s test/integration/*.test.js) >"$T/ava.log" 2>&1
rc=$?
BODY=
grep -E '✔|✘|tests? (passed|failed)|skipped|known failure' "$T/ava.log"
check "the client's suite ran (ava exit $rc)" grep -qE 'tests? (passed|failed)' "$T/ava.log"
[ "$rc" = 0 ] || grep -A8 '^  [a-z]* › ' "$T/ava.log" | head -60 | sed 's/^/  # /'
check "every test of the suite passes" test "$rc" = 0
ew_finish
