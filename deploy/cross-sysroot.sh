#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fill a private sysroot for a cross build with Debian's arm64 / armhf -dev
# packages and the shared libraries they pull in:
#   deploy/cross-sysroot.sh aarch64-linux-gnu|arm-linux-gnueabihf DIR
#
# Why not `apt-get install libcurl4-openssl-dev:arm64`: multiarch requires
# every Multi-Arch: same library (libssl3, libsasl2-2, ...) at the very same
# version for all architectures, so installing the arm64 ones upgrades or
# pins the host's own libraries, and fails whenever a mirror's foreign-arch
# index lags the amd64 one. The packages are downloaded with apt-get and
# unpacked into DIR instead; the host's packages stay as they are. The C
# library comes from Debian's cross toolchain (libc6-dev-<arch>-cross, under
# /usr/<triple>), so libc and its -dev packages are left out here.
# Needs `dpkg --add-architecture <arch>` and `apt-get update` first
# (make deps-cross does both). Re-running reuses the downloaded .debs.
set -euo pipefail

triple=${1:?usage: cross-sysroot.sh TRIPLE DIR}
dir=${2:?usage: cross-sysroot.sh TRIPLE DIR}
case $triple in
aarch64-linux-gnu) arch=arm64 ;;
arm-linux-gnueabihf) arch=armhf ;;
*) echo "cross-sysroot: unsupported triple $triple" >&2; exit 2 ;;
esac

dev=(libnng-dev libcjson-dev libcurl4-openssl-dev libyaml-dev libsqlite3-dev libpaho-mqtt-dev)
# Provided by the cross toolchain, or not needed to link and run.
skip='^(libc6|libc6-dev|libc-dev-bin|linux-libc-dev|libcrypt-dev|libnsl-dev|libtirpc-dev|rpcsvc-proto|gcc-[0-9]+-base|libgcc-s1)$'

mkdir -p "$dir/debs"
dir=$(cd "$dir" && pwd)
# The dependency closure, this architecture's packages only.
mapfile -t pkgs < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
	--no-breaks --no-replaces --no-enhances "${dev[@]/%/:$arch}" 2>/dev/null |
	sed -n "s/^\([a-z0-9][a-z0-9.+-]*\):$arch\$/\1/p" | sort -u | grep -Ev "$skip")
for d in "${dev[@]}"; do
	printf "%s\n" "${pkgs[@]}" | grep -x "$d" >/dev/null ||
		{ echo "cross-sysroot: apt knows no $d:$arch (dpkg --add-architecture $arch; apt-get update)" >&2; exit 1; }
done

stamp="$dir/.packages"
# Package=candidate version list: a new candidate (a security update) refills DIR.
want=$(apt-cache policy "${pkgs[@]/%/:$arch}" | awk '/^[^ ]/ { p = $1 } /^  Candidate:/ { print p $2 }')
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	echo "cross-sysroot: $dir is up to date (${#pkgs[@]} packages)"
	exit 0
fi
echo "cross-sysroot: $triple: ${#pkgs[@]} packages into $dir"
(cd "$dir/debs" && apt-get download -q -o APT::Sandbox::User=root "${pkgs[@]/%/:$arch}" >/dev/null)
find "$dir" -mindepth 1 -maxdepth 1 ! -name debs -exec rm -rf {} +
for p in "${pkgs[@]}"; do
	# The newest file of the package (an older download may sit beside it).
	f=$(ls -t "$dir/debs/${p}_"*"_$arch.deb" 2>/dev/null | head -n1)
	[ -n "$f" ] || { echo "cross-sysroot: $p:$arch was not downloaded" >&2; exit 1; }
	dpkg-deb -x "$f" "$dir"
done
echo "$want" >"$stamp"
