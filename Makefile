# edgewhisk — one non-recursive Makefile.
#   make              build build/edgewhisk-controller and build/edgewhisk-invoker
#   make test         unit tests + multi-process queue stress test
#   make test SAN=1   the same under AddressSanitizer + UndefinedBehaviorSanitizer (in build-san/)
#   make images       runtime images edgewhisk/action-{nodejs,python,native}:1 (needs dockerd)
#   make integration  real containers through the real Docker API (needs dockerd)
#   make bench-queue  queue throughput / wake-up benchmark against a mutex+condvar baseline
#   make bench-invoker / bench-api   invoker and REST API against the warm container (dockerd)
#   make soak         bounded soak (SOAK_SECONDS=300 SOAK_RATE=20), latency/RSS/fd figures (dockerd)
#   make deps         install the Debian build dependencies (root)
#   make lint         banned calls, each header compiles alone
CC ?= gcc
PKG_CONFIG ?= pkg-config
SAN ?=
ifeq ($(SAN),1)
O ?= build-san
else
O ?= build
endif

PKGS := libcjson libcurl yaml-0.1 sqlite3
# Debian's libnng-dev ships no .pc file (nanomsg/nng#926).
NNG_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags nng 2>/dev/null)
NNG_LIBS ?= $(shell $(PKG_CONFIG) --libs nng 2>/dev/null || echo -lnng)

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wundef -Wvla \
	-Wmissing-prototypes -Wstrict-prototypes -Wcast-align
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -g $(WARN) -fstack-protector-strong -MMD -MP \
	-Icommon -Itests
ifeq ($(SAN),1)
BASE_CFLAGS += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
BASE_LDFLAGS := -fsanitize=address,undefined
else
BASE_CFLAGS += -O2 -D_FORTIFY_SOURCE=2
BASE_LDFLAGS :=
endif
ALL_CFLAGS = $(BASE_CFLAGS) -Iinvoker -Icontroller $(NNG_CFLAGS) \
	$(shell $(PKG_CONFIG) --cflags yaml-0.1 libcjson libcurl sqlite3) $(CFLAGS)
ALL_LDFLAGS = $(BASE_LDFLAGS) $(LDFLAGS)
LIBS_COMMON := $(shell $(PKG_CONFIG) --libs yaml-0.1 libcjson) -lm -lpthread -lrt
LIBS_INVOKER := $(shell $(PKG_CONFIG) --libs libcurl) $(LIBS_COMMON)
LIBS_CONTROLLER := $(NNG_LIBS) $(shell $(PKG_CONFIG) --libs sqlite3) $(LIBS_COMMON)
LIBS_ALL := $(NNG_LIBS) $(shell $(PKG_CONFIG) --libs sqlite3 libcurl) $(LIBS_COMMON)

ifeq ($(V),1)
Q :=
else
Q := @
endif

COMMON_SRC := common/err.c common/log.c common/cfg.c common/ring.c common/wake.c \
	common/arena.c common/shm.c common/queue.c common/json.c common/act.c
COMMON_OBJ := $(COMMON_SRC:%.c=$(O)/%.o)
# Every invoker/*.c but main.c is a module of libinvoker.a.
INVOKER_SRC := $(filter-out invoker/main.c,$(wildcard invoker/*.c))
INVOKER_LIB_OBJ := $(INVOKER_SRC:%.c=$(O)/%.o)
# Every controller/*.c but main.c is a module of libcontroller.a.
CONTROLLER_SRC := $(filter-out controller/main.c,$(wildcard controller/*.c))
CONTROLLER_LIB_OBJ := $(CONTROLLER_SRC:%.c=$(O)/%.o)
CONTROLLER_OBJ := $(O)/controller/main.o
INVOKER_OBJ := $(O)/invoker/main.o

UNIT_TESTS := $(patsubst tests/unit/%.c,$(O)/tests/%,$(wildcard tests/unit/test_*.c))
INTEGRATION_TESTS := $(patsubst tests/integration/%.c,$(O)/tests/integration/%,\
	$(wildcard tests/integration/test_*.c))
STRESS := $(O)/tests/stress_queue
BENCH_QUEUE := $(O)/bench/bench_queue
BENCH_INVOKER := $(O)/bench/bench_invoker

# Runtime images and their action proxy (make images); keeps our default goal.
include runtimes/images.mk

# Keep objects of pattern-built test binaries between runs.
.SECONDARY:

.PHONY: all test unit stress integration soak images bench bench-queue bench-invoker bench-api deps \
	lint clean
all: $(O)/edgewhisk-controller $(O)/edgewhisk-invoker

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(O)/libcommon.a: $(COMMON_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(O)/libcontroller.a: $(CONTROLLER_LIB_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(O)/edgewhisk-controller: $(CONTROLLER_OBJ) $(O)/libcontroller.a $(O)/libcommon.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LIBS_CONTROLLER) -o $@

$(O)/libinvoker.a: $(INVOKER_LIB_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(O)/edgewhisk-invoker: $(INVOKER_OBJ) $(O)/libinvoker.a $(O)/libcommon.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LIBS_INVOKER) -o $@

# Archives only contribute the objects a test uses.
$(O)/tests/%: $(O)/tests/unit/%.o $(O)/libcontroller.a $(O)/libinvoker.a $(O)/libcommon.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LIBS_ALL) -o $@

$(O)/tests/integration/%: $(O)/tests/integration/%.o $(O)/libcontroller.a $(O)/libinvoker.a \
		$(O)/libcommon.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LIBS_ALL) -o $@

$(STRESS): $(O)/tests/stress/stress_queue.o $(O)/libcommon.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LIBS_COMMON) -o $@

$(BENCH_QUEUE): $(O)/bench/bench_queue.o $(O)/libcommon.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LIBS_COMMON) -o $@

$(BENCH_INVOKER): $(O)/bench/bench_invoker.o $(O)/libinvoker.a $(O)/libcommon.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LIBS_INVOKER) -o $@

# Tests run from the repository root (they read config/edgewhisk.yaml).
test: all $(UNIT_TESTS) $(RT_UNIT) $(STRESS)
	$(Q)tests/run-tests.sh $(UNIT_TESTS) $(RT_UNIT) $(STRESS)

unit: $(UNIT_TESTS)
	$(Q)tests/run-tests.sh $(UNIT_TESTS)

stress: $(STRESS)
	$(Q)tests/run-tests.sh $(STRESS)

# Real dockerd, real containers: needs the daemon running and `make images`.
# test_faults_dockerd.sh restarts the shared dockerd: last, and only with
# EW_TEST_DOCKERD_RESTART=1 (.ci/run sets it; it skips itself otherwise).
integration: all images $(INTEGRATION_TESTS)
	$(Q)tests/run-tests.sh tests/integration/test_runtimes.sh $(INTEGRATION_TESTS) \
		tests/integration/test_api.sh tests/integration/test_npm.sh tests/integration/test_routing.sh \
		tests/integration/test_supervision.sh tests/integration/test_faults.sh \
		tests/integration/test_resources.sh tests/integration/test_security.sh \
		tests/integration/test_overload.sh tests/integration/test_faults_dockerd.sh

# Bounded soak against real containers: SOAK_SECONDS (default 300) at
# SOAK_RATE requests/s (default 20); prints latency, RSS and fd figures.
soak: all images
	$(Q)O=$(O) tests/soak/soak.sh


bench: bench-queue bench-invoker bench-api

bench-queue: $(BENCH_QUEUE)
	$(Q)$(BENCH_QUEUE) --csv $(O)/bench/queue.csv $(BENCH_ARGS)

# Needs dockerd (deploy/dockerd-up.sh) and the runtime images.
bench-invoker: all images $(BENCH_INVOKER)
	$(Q)$(BENCH_INVOKER) --csv $(O)/bench/invoker.csv $(BENCH_ARGS)

# wrk against the REST API and against the warm container; needs dockerd.
bench-api: all images
	$(Q)O=$(O) bench/bench_api.sh $(BENCH_ARGS)

# Build dependencies, plus what the runtime images are made of (busybox,
# Node.js, Python) and the Docker engine that runs them.
deps:
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		gcc make pkg-config libc6-dev libnng-dev libcjson-dev libcurl4-openssl-dev \
		libyaml-dev libsqlite3-dev sqlite3 curl file jq wrk docker.io busybox-static nodejs python3.11

BANNED := strcpy|strcat|sprintf|gets|atoi|strtok
lint:
	$(Q)! grep -nE '\<($(BANNED))[[:space:]]*\(' --include='*.c' --include='*.h' -r \
		common controller invoker runtimes tests bench || { echo "lint: banned call above"; exit 1; }
	$(Q)for h in common/*.h invoker/*.h controller/*.h runtimes/proxy/*.h; do \
		echo "#include \"$$h\"" | $(CC) $(ALL_CFLAGS) -x c -fsyntax-only -I. - || exit 1; \
	done; echo "lint: ok"

clean:
	rm -rf build build-san

-include $(shell find $(O) -name '*.d' 2>/dev/null)
