#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Client compatibility test with the real `openwhisk` npm client (pinned in
# tests/integration/package.json + package-lock.json): installs it with
# `npm ci` into tests/integration/node_modules (skipped when the locked
# version is already there), starts a private controller as test_api.sh
# does (lib.sh), and runs test_npm.js against it.
# Needs: `make`, `make images`, dockerd (deploy/dockerd-up.sh), node >= 20,
# npm and the npm registry (first run), curl, jq. Talks to 127.0.0.1 only
# (plus the npm registry for the install).
# Prints ok/not ok per case, then "npm: N passed, M failed".
# Exit: 0 all passed, 1 a failure, 77 Docker absent (and CI is not "true").
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ew_setup npm
DIR=$EW_ROOT/tests/integration

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	notok "node and npm are installed"
	ew_finish
fi
ew_need_docker

# The installed client must be the locked one; else npm ci (clean install).
want=$(jq -r '.packages["node_modules/openwhisk"].version' "$DIR/package-lock.json")
have=$(cd "$DIR" && node -p 'require("openwhisk/package.json").version' 2>/dev/null || true)
if [ "$have" != "$want" ]; then
	echo "# npm ci (openwhisk $want) into tests/integration/node_modules"
	if ! (cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error >"$T/npm.log" 2>&1); then
		notok "npm ci installs openwhisk $want" "$(tail -n 20 "$T/npm.log")"
		ew_finish
	fi
fi

if ! ew_start_controller; then
	ew_controller_log_tail 40
	ew_finish
fi
echo "# controller pid $CTRL_PID on $BASE, instance $INSTANCE"

# test_npm.js prints its own ok/not ok lines and "npm: N passed, M
# failed"; its counts are carried over so the shutdown checks number on and
# the summary (printed by ew_finish) stays the last line.
EW_APIHOST=$BASE EW_AUTH=$GUEST_AUTH node "$DIR/test_npm.js" >"$T/npm.out" 2>&1
rc=$?
sed '$d' "$T/npm.out"
counts=$(tail -n 1 "$T/npm.out" | sed -nE 's/^npm: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/p')
if [ -n "$counts" ]; then
	passed=${counts% *} failed=${counts#* }
	n=$((passed + failed))
	[ "$rc" -eq 0 ] || [ "$failed" -gt 0 ] || notok "test_npm.js exits 0" "exit status $rc"
else
	tail -n 1 "$T/npm.out"
	notok "test_npm.js ends with its summary line" "exit status $rc"
fi
if [ "$failed" -gt 0 ]; then
	echo "# controller log (last 30 lines):"
	ew_controller_log_tail 30
fi
ew_finish
