# SPDX-License-Identifier: Apache-2.0
# Runtime images and their action proxy. Included by the top-level Makefile,
# or used alone from the repository root:
#   make -f runtimes/images.mk images         proxy + the three images
#   make -f runtimes/images.mk ewproxy        just $(O)/runtimes/ewproxy
#   make -f runtimes/images.mk runtimes-unit  proxy unit tests (no Docker)
#   make -f runtimes/images.mk test-runtimes  images + tests/integration/test_runtimes.sh
# Paths are relative to the repository root. Variables here are prefixed
# RT_ so they never collide with the including Makefile's.
O ?= build
CC ?= gcc
DOCKER ?= $(if $(wildcard /usr/bin/docker),/usr/bin/docker,docker)

# Keep the including Makefile's default goal: an include placed before its
# first target must not make `images` the default.
rt_saved_goal := $(.DEFAULT_GOAL)

RT_WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wundef -Wvla \
	-Wmissing-prototypes -Wstrict-prototypes -Wcast-align
# Includes are path-qualified from the repository root (common/... too).
RT_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g $(RT_WARN) -fstack-protector-strong \
	-D_FORTIFY_SOURCE=2 -I.
# Static, so the proxy runs in any image (even one without a libc); set
# RT_PROXY_LDFLAGS= for a dynamic build (build-images.sh then copies its libs).
RT_PROXY_LDFLAGS ?= -static
# The libc-only leaf modules of common/ it shares with the invoker and the
# controller: JSON scanning, buffers, codecs, the clock.
RT_COMMON_SRC := common/jscan.c common/buf.c common/codec.c
RT_PROXY_SRC := runtimes/proxy/ewproxy.c runtimes/proxy/httpd.c runtimes/proxy/child.c \
	$(RT_COMMON_SRC)
RT_PROXY_HDR := $(wildcard runtimes/proxy/*.h) $(RT_COMMON_SRC:.c=.h) common/now.h
RT_PROXY := $(O)/runtimes/ewproxy
RT_UNIT := $(O)/runtimes/proxy_test
RT_UNIT_SRC := runtimes/proxy/proxy_test.c $(RT_COMMON_SRC)

.PHONY: images ewproxy runtimes-unit test-runtimes

images: $(RT_PROXY)
	O=$(O) EWPROXY=$(RT_PROXY) DOCKER=$(DOCKER) runtimes/build-images.sh

ewproxy: $(RT_PROXY)

$(RT_PROXY): $(RT_PROXY_SRC) $(RT_PROXY_HDR) runtimes/images.mk
	@mkdir -p $(dir $@)
	$(CC) $(RT_CFLAGS) $(CFLAGS) $(RT_PROXY_SRC) -o $@ $(RT_PROXY_LDFLAGS) $(LDFLAGS)

$(RT_UNIT): $(RT_UNIT_SRC) $(RT_PROXY_HDR) tests/harness.h runtimes/images.mk
	@mkdir -p $(dir $@)
	$(CC) $(RT_CFLAGS) $(CFLAGS) $(RT_UNIT_SRC) -o $@ $(LDFLAGS)

runtimes-unit: $(RT_UNIT)
	$(RT_UNIT)

test-runtimes: images $(RT_UNIT)
	O=$(O) DOCKER=$(DOCKER) bash tests/integration/test_runtimes.sh

ifeq ($(rt_saved_goal),)
.DEFAULT_GOAL :=
# Used alone (make -f runtimes/images.mk): default to the images.
ifeq ($(firstword $(MAKEFILE_LIST)),runtimes/images.mk)
.DEFAULT_GOAL := images
endif
endif
