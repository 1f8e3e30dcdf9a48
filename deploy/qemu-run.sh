#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Run one cross-built binary under qemu-user, without binfmt_misc:
#   deploy/qemu-run.sh QEMU TRIPLE SYSROOT BINARY [ARGS...]
# The dynamic loader and libc come from the cross toolchain (/usr/TRIPLE);
# the other shared libraries from the sysroot filled by cross-sysroot.sh.
# The guest sees the host's file system otherwise (config/, /dev/shm, /tmp).
set -eu
qemu=$1 triple=$2 sysroot=$3
shift 3
exec "$qemu" -L "/usr/$triple" \
	-E "LD_LIBRARY_PATH=$sysroot/usr/lib/$triple:$sysroot/lib/$triple" "$@"
