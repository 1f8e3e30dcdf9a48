# SPDX-License-Identifier: Apache-2.0
# Cross builds for ARM boards and their unit tests under qemu-user. Included
# at the top of the Makefile, before it sets CC, O and the library flags.
#   make deps-cross                          cross compilers, qemu-user-static,
#                                            arm64 + armhf sysroots (root)
#   make CROSS=aarch64-linux-gnu             build-aarch64/: controller, invoker,
#   make CROSS=arm-linux-gnueabihf           build-armhf/:  ewproxy, unit + stress tests
#   make test-cross                          both, and their tests under qemu
#   make CROSS=aarch64-linux-gnu test-cross  one of them
# The -dev packages of the target live in a private sysroot,
# build-sysroot/<triple> (deploy/cross-sysroot.sh says why); the C library
# is the cross toolchain's, under /usr/<triple>.
# Keep the Makefile's default goal (all), or make `cross` the default goal
# of a cross build.
cross_saved_goal := $(.DEFAULT_GOAL)
CROSS_TRIPLES := aarch64-linux-gnu arm-linux-gnueabihf
CROSS_QEMU_aarch64-linux-gnu := qemu-aarch64-static
CROSS_QEMU_arm-linux-gnueabihf := qemu-arm-static
CROSS_DIR_aarch64-linux-gnu := build-aarch64
CROSS_DIR_arm-linux-gnueabihf := build-armhf

ifneq ($(CROSS),)
ifeq ($(filter $(CROSS),$(CROSS_TRIPLES)),)
$(error CROSS=$(CROSS): want one of $(CROSS_TRIPLES))
endif
ifeq ($(SAN),1)
$(error SAN=1 is for native builds only)
endif
CROSS_SYSROOT ?= $(CURDIR)/build-sysroot/$(CROSS)
O ?= $(CROSS_DIR_$(CROSS))
CC := $(CROSS)-gcc
# pkg-config reads the target's .pc files and prefixes their paths with
# the sysroot.
PKG_CONFIG := PKG_CONFIG_SYSROOT_DIR=$(CROSS_SYSROOT) \
	PKG_CONFIG_LIBDIR=$(CROSS_SYSROOT)/usr/lib/$(CROSS)/pkgconfig:$(CROSS_SYSROOT)/usr/share/pkgconfig \
	pkg-config
CROSS_LIBDIRS := $(CROSS_SYSROOT)/usr/lib/$(CROSS) $(CROSS_SYSROOT)/lib/$(CROSS)
override CFLAGS += -isystem $(CROSS_SYSROOT)/usr/include -isystem $(CROSS_SYSROOT)/usr/include/$(CROSS)
# -rpath-link: libcurl's own dependencies (libssl, libnghttp2, ...) are
# found in the sysroot at link time; on the board they are the system's.
override LDFLAGS += $(addprefix -L,$(CROSS_LIBDIRS)) \
	-Wl,-rpath-link,$(subst $(eval) ,:,$(CROSS_LIBDIRS))
ifeq ($(wildcard $(CROSS_SYSROOT)/usr/include/yaml.h),)
$(warning CROSS=$(CROSS): no sysroot in $(CROSS_SYSROOT); run make deps-cross first)
endif
endif

.PHONY: deps-cross test-cross cross clean-cross

# The toolchains and qemu are host (amd64) packages; the target's libraries
# only need the foreign architectures' package lists.
deps-cross:
	dpkg --add-architecture arm64
	dpkg --add-architecture armhf
	apt-get update -q || true
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf \
		libc6-dev-armhf-cross qemu-user-static pkg-config
	deploy/cross-sysroot.sh aarch64-linux-gnu build-sysroot/aarch64-linux-gnu
	deploy/cross-sysroot.sh arm-linux-gnueabihf build-sysroot/arm-linux-gnueabihf

clean-cross:
	rm -rf $(CROSS_DIR_aarch64-linux-gnu) $(CROSS_DIR_arm-linux-gnueabihf) build-sysroot

ifneq ($(CROSS),)
# Recipes, not prerequisites: this file is read before the Makefile
# defines UNIT_TESTS and RT_UNIT.
cross:
	$(Q)$(MAKE) --no-print-directory all $(RT_PROXY) $(UNIT_TESTS) $(RT_UNIT) $(STRESS)

# The unit tests (and the action proxy's) and the multi-process queue stress
# test under qemu-user, run by tests/run-tests.sh through deploy/qemu-run.sh;
# no binfmt_misc needed. This checks the 32/64-bit ARM ABIs (type sizes,
# alignment, the shared-memory layout, atomics); qemu on an x86 host runs
# with x86's stronger memory ordering, so weak-ordering bugs are left to
# `make test SAN=thread` (the C11 model) and to a board.
test-cross: cross
	$(Q)TEST_RUNNER="deploy/qemu-run.sh $(CROSS_QEMU_$(CROSS)) $(CROSS) $(CROSS_SYSROOT)" \
		tests/run-tests.sh $(UNIT_TESTS) $(RT_UNIT) $(STRESS)

.DEFAULT_GOAL := cross
else
cross test-cross:
	$(Q)for t in $(CROSS_TRIPLES); do \
		$(MAKE) --no-print-directory CROSS=$$t $@ || exit 1; \
	done

.DEFAULT_GOAL := $(cross_saved_goal)
endif
