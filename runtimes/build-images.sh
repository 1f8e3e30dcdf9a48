#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build edgewhisk's runtime images FROM scratch out of host files (Docker Hub
# is never contacted): edgewhisk/action-{nodejs,python,native}:1.
#   usage: runtimes/build-images.sh [nodejs|python|native ...]   (default: all)
#   env:   O (build dir, default build), EWPROXY (proxy binary, default
#          $O/runtimes/ewproxy), DOCKER (client), EW_IMAGE_TAG (default 1),
#          EW_FORCE=1 (rebuild even when inputs are unchanged)
# Each image's root filesystem is assembled under $O/runtimes/<kind>/rootfs;
# its content hash is stored as the image label edgewhisk.inputs, and an
# image whose label matches is not rebuilt. Called by `make images`
# (runtimes/images.mk); run from anywhere.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
O=${O:-build}
EWPROXY=${EWPROXY:-$O/runtimes/ewproxy}
if [ -z "${DOCKER:-}" ]; then
	if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
fi
TAG=${EW_IMAGE_TAG:-1}
BUSYBOX=${BUSYBOX:-/bin/busybox}
NODE=${NODE:-/usr/bin/node}
PYTHON=${PYTHON:-/usr/bin/python3.11}
PYVER=3.11
NOBODY=65534

die() { echo "build-images: $*" >&2; exit 1; }
say() { echo "build-images: $*"; }

# ---- preflight ----
command -v "$DOCKER" >/dev/null 2>&1 || die "no docker client ($DOCKER)"
if ! "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1; then
	die "the Docker daemon does not answer (${DOCKER_HOST:-unix:///var/run/docker.sock}). Start it, e.g. 'nohup dockerd >/tmp/dockerd.log 2>&1 &', and retry."
fi
[ -x "$EWPROXY" ] || die "proxy binary $EWPROXY missing: run 'make -f runtimes/images.mk images' (it builds it first)"
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (apt-get install busybox-static)"
if file -L "$BUSYBOX" 2>/dev/null | grep -q 'dynamically linked'; then
	die "$BUSYBOX is dynamically linked; the images need busybox-static"
fi

kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(nodejs python native)

# ---- rootfs helpers ----

# copy_in SRC ROOT DEST: copy a file (following symlinks) to ROOT/DEST.
copy_in() {
	local src=$1 root=$2 dst=$3
	mkdir -p "$root/$(dirname "$dst")"
	cp -L --preserve=mode "$src" "$root/$dst"
}

# copy_libs ROOT FILE...: copy every shared library (and the dynamic loader)
# the files need, at the paths ldd reports, so the loader finds them as on
# the host. Statically linked files need nothing.
copy_libs() {
	local root=$1 f lib
	shift
	for f in "$@"; do
		ldd "$f" 2>/dev/null | awk '
			/=> \// { print $3; next }
			/^[[:space:]]*\/[^ ]+ \(0x/ { print $1 }' || true
	done | sort -u | while read -r lib; do
		[ -f "$root$lib" ] || copy_in "$lib" "$root" "$lib"
	done
}

# base_rootfs ROOT: busybox (+ applet links), the proxy, /etc basics, /tmp.
base_rootfs() {
	local root=$1 applet
	rm -rf "$root"
	mkdir -p "$root"/{bin,etc,tmp,opt/ew,usr/bin,usr/local/bin,proc,dev,sys}
	chmod 1777 "$root/tmp"
	copy_in "$BUSYBOX" "$root" /bin/busybox
	# Every applet as a symlink: shell scripts in native actions expect the
	# usual tools, and a link costs no space.
	for applet in $("$root/bin/busybox" --list); do
		case $applet in busybox | "[" | "[[") continue ;; esac
		ln -sf busybox "$root/bin/$applet"
	done
	ln -sf busybox "$root/bin/["
	ln -sf busybox "$root/bin/[["
	ln -sf busybox "$root/bin/sh"
	install -m 0755 "$EWPROXY" "$root/opt/ew/ewproxy"
	strip --strip-all "$root/opt/ew/ewproxy" 2>/dev/null || true
	copy_libs "$root" "$root/opt/ew/ewproxy"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:%d:%d:nobody:/tmp:/bin/sh\n' $NOBODY $NOBODY \
		>"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:%d:\n' $NOBODY >"$root/etc/group"
	printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
}

# smoke ROOT CMD...: fail the build, not the first action, when a runtime
# cannot start from its assembled tree (missing library, trimmed too much).
# Needs root for chroot; skipped otherwise.
smoke() {
	local root=$1 ch
	shift
	ch=$(command -v chroot 2>/dev/null) || return 0
	if [ "$(id -u)" = 0 ]; then
		env -i PATH=/usr/bin:/bin HOME=/tmp "$ch" "$root" "$@" >/dev/null ||
			die "'$*' does not run in $root"
	fi
}

rootfs_nodejs() {
	local root=$1
	[ -x "$NODE" ] || die "$NODE missing (nodejs)"
	base_rootfs "$root"
	copy_in "$NODE" "$root" /usr/bin/node
	# Debian's node carries debug info; stripping it saves ~12 MB.
	strip --strip-all "$root/usr/bin/node" 2>/dev/null || true
	copy_libs "$root" "$NODE"
	install -m 0644 runtimes/nodejs/launcher.js "$root/opt/ew/launcher.js"
	smoke "$root" /usr/bin/node -e 'require("fs"); require("zlib"); new Intl.NumberFormat("de").format(1)'
}

# Stdlib parts an action runtime does not need (tests, GUI, dev tools), and
# Debian's sitecustomize.py, a symlink into the host's /etc.
PY_DROP=(test idlelib tkinter turtledemo turtle.py ensurepip lib2to3 distutils pydoc_data
	"config-$PYVER-*" venv curses unittest/test ctypes/test sqlite3/test __phello__
	__hello__.py antigravity.py this.py EXTERNALLY-MANAGED site-packages dist-packages
	sitecustomize.py)
# Extension modules we drop: test helpers, terminal UI, and the ones pulling
# big or odd libraries (readline, ncurses, Berkeley DB, NIS/Kerberos, OSS).
PY_DYNLOAD_DROP='^(_test|_ctypes_test|_xx|xxlimited|_curses|readline|_dbm|nis|ossaudiodev|_tkinter)'

rootfs_python() {
	local root=$1 lib=/usr/lib/python$PYVER ex=() d
	[ -x "$PYTHON" ] || die "$PYTHON missing (python$PYVER)"
	[ -d "$lib" ] || die "$lib missing"
	base_rootfs "$root"
	copy_in "$PYTHON" "$root" "/usr/bin/python$PYVER"
	ln -sf "python$PYVER" "$root/usr/bin/python3"
	for d in "${PY_DROP[@]}"; do ex+=(--exclude="./$d"); done
	mkdir -p "$root$lib"
	tar -C "$lib" --exclude=__pycache__ "${ex[@]}" -cf - . | tar -C "$root$lib" -xf -
	find "$root$lib/lib-dynload" -name '*.so' -printf '%f\n' | { grep -E "$PY_DYNLOAD_DROP" || true; } |
		while read -r d; do rm -f "$root$lib/lib-dynload/$d"; done
	# Bytecode built now with the same interpreter: the stdlib is read-only
	# at run time (USER nobody), and "unchecked-hash" pycs are used without
	# stat-ing sources, so cold starts skip compilation.
	"$PYTHON" -m compileall -q -j0 --invalidation-mode unchecked-hash -d "$lib" "$root$lib" >/dev/null
	copy_libs "$root" "$PYTHON" "$root$lib"/lib-dynload/*.so
	if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
		copy_in /etc/ssl/certs/ca-certificates.crt "$root" /etc/ssl/certs/ca-certificates.crt
	fi
	install -m 0644 runtimes/python/launcher.py "$root/opt/ew/launcher.py"
	smoke "$root" "/usr/bin/python$PYVER" -B -s -c 'import json, ssl, hashlib, sqlite3, asyncio, zipfile, encodings.idna'
}

rootfs_native() {
	base_rootfs "$1"
}

# ---- per-image settings ----

dockerfile() {
	local kind=$1
	cat <<EOF
# Generated by runtimes/build-images.sh: edgewhisk/action-$kind:$TAG.
FROM scratch
COPY rootfs/ /
# /action is where /init puts the code; the proxy runs as nobody and needs
# to write it.
COPY --chown=$NOBODY:$NOBODY action /action
ENV PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp EW_ACTION_DIR=/action
EOF
	case $kind in
	nodejs)
		cat <<'EOF'
ENV EW_PROXY_MODE=actionloop \
    EW_PROXY_LAUNCHER="/usr/bin/node /opt/ew/launcher.js" \
    EW_PROXY_SOURCE_FILE=main.js \
    EW_PROXY_PASSENV="PATH HOME NODE_OPTIONS NODE_PATH TZ" \
    __OW_WAIT_FOR_ACK=1
EOF
		;;
	python)
		cat <<EOF
ENV EW_PROXY_MODE=actionloop \\
    EW_PROXY_LAUNCHER="/usr/bin/python$PYVER -s /opt/ew/launcher.py" \\
    EW_PROXY_SOURCE_FILE=main.py \\
    EW_PROXY_PASSENV="PATH HOME PYTHONPATH PYTHONDONTWRITEBYTECODE SSL_CERT_FILE TZ" \\
    PYTHONDONTWRITEBYTECODE=1 \\
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \\
    __OW_WAIT_FOR_ACK=1
EOF
		;;
	native)
		echo 'ENV EW_PROXY_MODE=native'
		;;
	esac
	cat <<EOF
USER $NOBODY:$NOBODY
WORKDIR /action
EXPOSE 8080
CMD ["/opt/ew/ewproxy"]
EOF
}

# Content hash of a build context: paths, modes, link targets and bytes.
context_hash() {
	local ctx=$1
	(
		cd "$ctx"
		find . -printf '%p %y %m %l\n' | LC_ALL=C sort
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
	) | sha256sum | cut -c1-32
}

build_one() {
	local kind=$1 ctx image hash have old new
	ctx="$O/runtimes/$kind"
	image="edgewhisk/action-$kind:$TAG"
	case $kind in nodejs | python | native) ;; *) die "unknown image kind '$kind' (nodejs, python, native)" ;; esac
	say "assembling $ctx/rootfs"
	mkdir -p "$ctx"
	"rootfs_$kind" "$ctx/rootfs"
	rm -rf "$ctx/action"
	mkdir -p "$ctx/action"
	dockerfile "$kind" >"$ctx/Dockerfile"
	hash=$(context_hash "$ctx")
	have=$("$DOCKER" image inspect -f '{{index .Config.Labels "edgewhisk.inputs"}}' "$image" 2>/dev/null || true)
	if [ "$have" = "$hash" ] && [ -z "${EW_FORCE:-}" ]; then
		say "$image is up to date ($hash)"
		return
	fi
	say "building $image"
	old=$("$DOCKER" image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
	# The classic builder needs no frontend image; BuildKit would work too,
	# but may try to resolve one from a registry.
	DOCKER_BUILDKIT=0 "$DOCKER" build -q --label "edgewhisk.inputs=$hash" -t "$image" "$ctx" >/dev/null
	# Drop the image this one replaced, so rebuilds do not fill a board's
	# disk with dangling layers (kept if a container still uses it).
	new=$("$DOCKER" image inspect -f '{{.Id}}' "$image")
	if [ -n "$old" ] && [ "$old" != "$new" ]; then
		"$DOCKER" image rm "$old" >/dev/null 2>&1 || true
	fi
}

for k in "${kinds[@]}"; do
	build_one "$k"
done

echo "image sizes:"
for k in "${kinds[@]}"; do
	size=$("$DOCKER" image inspect -f '{{.Size}}' "edgewhisk/action-$k:$TAG")
	printf '  %-28s %10d bytes (%d MB)\n' "edgewhisk/action-$k:$TAG" "$size" $(((size + 524288) / 1048576))
done
