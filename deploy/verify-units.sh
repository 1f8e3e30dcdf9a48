#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# systemd-analyze verify on deploy/systemd/*, with the binary paths pointed
# at a build directory (verify wants the ExecStart binaries to exist).
# systemd-analyze reports unit file errors but still exits 0, so any output
# about our units fails this script. Works without systemd as PID 1.
#   deploy/verify-units.sh [BUILD_DIR]      (default build)
set -eu
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
command -v systemd-analyze >/dev/null || { echo "verify-units: systemd-analyze missing (apt-get install systemd)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for u in deploy/systemd/*.service; do
	sed "s|/usr/local/bin|$build|g; s|/etc/edgewhisk/edgewhisk.yaml|$PWD/config/edgewhisk.yaml|g" \
		"$u" >"$tmp/$(basename "$u")"
done
cd "$tmp"
# Template units are verified through an instance.
out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no ./edgewhisk-controller.service \
	./edgewhisk-invoker@0.service 2>&1 | grep -F -e edgewhisk -e "$tmp" || true)
if [ -n "$out" ]; then
	echo "$out"
	echo "verify-units: FAIL"
	exit 1
fi
echo "verify-units: ok (edgewhisk-controller.service, edgewhisk-invoker@.service)"
