# edgewhisk — one non-recursive Makefile.
#   make              build build/edgewhisk-controller and build/edgewhisk-invoker
#   make test         unit tests + multi-process queue stress test
#   make test SAN=1   the same under AddressSanitizer + UndefinedBehaviorSanitizer (in build-san/)
#   make test SAN=thread  the shared-memory queue's tests under ThreadSanitizer (in build-tsan/):
#                     ring, arena, wake, queue and the threaded stress test
#   make images       runtime images edgewhisk/action-{nodejs,python,native}:1 (needs dockerd)
#   make integration  real containers through the real Docker API (needs dockerd)
#   make bench-queue  queue throughput / wake-up benchmark against a mutex+condvar baseline
#   make bench-invoker / bench-api   invoker and REST API against the warm container (dockerd)
#   make bench-events  sequences vs single invocations, trigger -> rule -> action throughput
#   make bench-routes  an HTTP route vs its web action, a shared action vs one's own (dockerd)
#   make bench-store [QUICK=1]  bytes written (loop-device ext4) and CPU per activation (root, dockerd)
#   make bench-seed [QUICK=1]  the seed's experiments: report + plots in bench/results/ (dockerd)
#   make soak         bounded soak (SOAK_SECONDS=300 SOAK_RATE=20), latency/RSS/fd figures (dockerd)
#   make deps         install the Debian build dependencies (root)
#   make lint         banned calls, each header compiles alone
#   make fuzz         libFuzzer targets (clang, ASan+UBSan), FUZZ_SECONDS each (default 60)
#   make leakcheck    integration subset on the SAN=1 binaries, failing on any leak report
#   make analyze      cppcheck + clang-tidy on the checks listed below
#   make CROSS=aarch64-linux-gnu | arm-linux-gnueabihf, make test-cross, make deps-cross:
#                     ARM builds in build-aarch64/, build-armhf/ and their unit + stress tests
#                     under qemu-user (deploy/cross.mk)
# --- ARM cross builds (make CROSS=<triple>, make test-cross): deploy/cross.mk
include deploy/cross.mk
# ---
CC ?= gcc
PKG_CONFIG ?= pkg-config
SAN ?=
ifeq ($(SAN),1)
O ?= build-san
else ifeq ($(SAN),thread)
O ?= build-tsan
else
O ?= build
endif

PKGS := libcjson libcurl yaml-0.1 sqlite3
# Debian's libnng-dev ships no .pc file (nanomsg/nng#926).
NNG_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags nng 2>/dev/null)
NNG_LIBS ?= $(shell $(PKG_CONFIG) --libs nng 2>/dev/null || echo -lnng)

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wundef -Wvla \
	-Wmissing-prototypes -Wstrict-prototypes -Wcast-align
# Includes are path-qualified from the repository root ("common/queue.h"):
# -I. is the only project include path, so a header's directory is in every
# #include line and `make lint` can check who includes whom.
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -g $(WARN) -fstack-protector-strong -MMD -MP -I.
ifeq ($(SAN),1)
BASE_CFLAGS += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
BASE_LDFLAGS := -fsanitize=address,undefined
else ifeq ($(SAN),thread)
# TSan sees one process: the queue's tests run producers and consumers as
# threads over one mapping (tests/stress/stress_queue_threads.c).
BASE_CFLAGS += -O1 -fno-omit-frame-pointer -fsanitize=thread
BASE_LDFLAGS := -fsanitize=thread
else
BASE_CFLAGS += -O2 -D_FORTIFY_SOURCE=2
BASE_LDFLAGS :=
endif
ALL_CFLAGS = $(BASE_CFLAGS) $(NNG_CFLAGS) \
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

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(O)/%.o)
# Every invoker/*.c but main.c is a module of libinvoker.a.
INVOKER_SRC := $(filter-out invoker/main.c,$(wildcard invoker/*.c))
INVOKER_LIB_OBJ := $(INVOKER_SRC:%.c=$(O)/%.o)
# Every controller/*.c but main.c is a module of libcontroller.a.
CONTROLLER_SRC := $(filter-out controller/main.c,$(wildcard controller/*.c))
CONTROLLER_LIB_OBJ := $(CONTROLLER_SRC:%.c=$(O)/%.o)
# The nng guards are linked in whole: nothing references them, they
# interpose libc calls of libnng (see controller/nng_*_guard.c).
CONTROLLER_OBJ := $(O)/controller/main.o $(O)/controller/nng_uri_guard.o \
	$(O)/controller/nng_crlf_guard.o
INVOKER_OBJ := $(O)/invoker/main.o
# The MQTT feed's broker connections (controller/mqttfeed.h): Eclipse Paho C
# with OpenSSL, its file persistence included.
MQTT_OBJ := $(O)/mqtt/main.o
LIBS_MQTT := -lpaho-mqtt3cs $(LIBS_COMMON)

UNIT_TESTS := $(patsubst tests/unit/%.c,$(O)/tests/%,$(wildcard tests/unit/test_*.c))
INTEGRATION_TESTS := $(patsubst tests/integration/%.c,$(O)/tests/integration/%,\
	$(wildcard tests/integration/test_*.c))
STRESS := $(O)/tests/stress_queue $(O)/tests/stress_queue_threads
# What `make test SAN=thread` runs: the queue and its parts.
TSAN_TESTS := $(patsubst %,$(O)/tests/test_%,ring arena wake queue queue_crash) \
	$(O)/tests/stress_queue_threads
# Fuzz targets (tests/fuzz/fuzz_<t>.c): libFuzzer binaries in build-fuzz/,
# and corpus replay runners (gcc, part of `make test`) in $(O)/tests/fuzz/.
FUZZ_TARGETS := route entity cfg act
FUZZ_REPLAY := $(FUZZ_TARGETS:%=$(O)/tests/fuzz/replay_%)
BENCH_QUEUE := $(O)/bench/bench_queue
BENCH_INVOKER := $(O)/bench/bench_invoker
SEED_LOAD := $(O)/bench/seed_load

# Runtime images and their action proxy (make images); keeps our default goal.
include runtimes/images.mk

# Keep objects of pattern-built test binaries between runs.
.SECONDARY:

.PHONY: all test unit stress integration soak images bench bench-queue bench-invoker bench-api \
	bench-store bench-events bench-routes bench-seed deps lint clean fuzz fuzz-build leakcheck analyze
all: $(O)/edgewhisk-controller $(O)/edgewhisk-invoker $(O)/edgewhisk-mqtt

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

$(O)/edgewhisk-mqtt: $(MQTT_OBJ) $(O)/libcommon.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LIBS_MQTT) -o $@

# Archives only contribute the objects a test uses.
ifeq ($(SAN),thread)
# The queue's tests need common/ only; the processes are not built for TSan.
$(O)/tests/%: $(O)/tests/unit/%.o $(O)/libcommon.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LIBS_COMMON) -o $@
else
$(O)/tests/%: $(O)/tests/unit/%.o $(O)/libcontroller.a $(O)/libinvoker.a $(O)/libcommon.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LIBS_ALL) -o $@
endif

$(O)/tests/integration/%: $(O)/tests/integration/%.o $(O)/libcontroller.a $(O)/libinvoker.a \
		$(O)/libcommon.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LIBS_ALL) -o $@

$(O)/tests/fuzz/replay_%: $(O)/tests/fuzz/fuzz_%.o $(O)/tests/fuzz/replay.o \
		$(O)/tests/fuzz/fuzz_util.o $(O)/libcontroller.a $(O)/libcommon.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LIBS_ALL) -o $@

$(O)/tests/stress_%: $(O)/tests/stress/stress_%.o $(O)/libcommon.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LIBS_COMMON) -o $@

$(BENCH_QUEUE): $(O)/bench/bench_queue.o $(O)/libcommon.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LIBS_COMMON) -o $@

$(BENCH_INVOKER): $(O)/bench/bench_invoker.o $(O)/libinvoker.a $(O)/libcommon.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LIBS_INVOKER) -o $@

$(SEED_LOAD): $(O)/bench/seed_load.o $(O)/libinvoker.a $(O)/libcommon.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LIBS_INVOKER) -o $@

# Tests run from the repository root (they read config/edgewhisk.yaml).
ifeq ($(SAN),thread)
# halt_on_error: the first report fails the binary (exit 66), so the
# runner counts it even when every check passed.
test: $(TSAN_TESTS)
	$(Q)TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 $(TSAN_OPTIONS)" \
		tests/run-tests.sh $(TSAN_TESTS)
else
test: all $(UNIT_TESTS) $(RT_UNIT) $(STRESS) $(FUZZ_REPLAY)
	$(Q)tests/run-tests.sh $(UNIT_TESTS) $(RT_UNIT) $(FUZZ_REPLAY) $(STRESS)
endif

unit: $(O)/edgewhisk-mqtt $(UNIT_TESTS) $(FUZZ_REPLAY)
	$(Q)tests/run-tests.sh $(UNIT_TESTS) $(FUZZ_REPLAY)

stress: $(STRESS)
	$(Q)tests/run-tests.sh $(STRESS)

# Real dockerd, real containers: needs the daemon running and `make images`.
# test_faults_dockerd.sh restarts the shared dockerd: last, and only with
# EW_TEST_DOCKERD_RESTART=1 (.ci/run sets it; it skips itself otherwise).
integration: all images $(INTEGRATION_TESTS)
	$(Q)tests/run-tests.sh tests/integration/test_runtimes.sh $(INTEGRATION_TESTS) \
		tests/integration/test_api.sh tests/integration/test_events.sh tests/integration/test_feeds.sh tests/integration/test_mqtt.sh \
		tests/integration/test_npm.sh \
		tests/integration/test_readme.sh tests/integration/test_routing.sh \
		tests/integration/test_supervision.sh tests/integration/test_malformed.sh \
		tests/integration/test_faults.sh tests/integration/test_resources.sh \
		tests/integration/test_security.sh tests/integration/test_routes.sh \
		tests/integration/test_overload.sh \
		tests/integration/test_hardening.sh tests/integration/test_memory.sh \
		tests/integration/test_fuzz_api.sh tests/integration/test_idle.sh \
		tests/integration/test_network.sh \
		tests/integration/test_faults_dockerd.sh

# Bounded soak against real containers: SOAK_SECONDS (default 300) at
# SOAK_RATE requests/s (default 20); prints latency, RSS and fd figures.
soak: all images
	$(Q)O=$(O) tests/soak/soak.sh


# --- fuzzing: clang + libFuzzer (Debian's clang and libclang-rt-14-dev) ---
# Only the pure modules the targets reach are built, with the fuzzer's
# coverage and ASan+UBSan; new corpus entries go to build-fuzz/corpus/<t>,
# the checked-in seeds (tests/fuzz/corpus/<t>) stay as they are. A crash
# stops `make fuzz` and leaves build-fuzz/crash-<t>-*: fix the bug, add
# the input to tests/fuzz/corpus/<t>/ so the replay runner keeps it fixed.
FUZZ_CC ?= clang
FUZZ_O := build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 $(WARN) -fno-omit-frame-pointer -MMD -MP \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
	-I. $(shell $(PKG_CONFIG) --cflags yaml-0.1 libcjson)
# The controller modules the fuzz targets reach (all nng-free).
FUZZ_CONTROLLER_SRC := controller/args.c controller/name.c controller/route.c \
	$(wildcard controller/entity*.c)
FUZZ_LIB_OBJ := $(patsubst %.c,$(FUZZ_O)/%.o,common/err.c common/log.c common/cfg.c \
	common/json.c common/act.c common/codec.c common/file.c common/jscan.c common/buf.c \
	common/utf8.c common/image_ref.c $(FUZZ_CONTROLLER_SRC) tests/fuzz/fuzz_util.c)
FUZZ_BIN := $(FUZZ_TARGETS:%=$(FUZZ_O)/fuzz_%)

$(FUZZ_O)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_O)/fuzz_%: $(FUZZ_O)/tests/fuzz/fuzz_%.o $(FUZZ_LIB_OBJ)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer,address,undefined $^ \
		$(shell $(PKG_CONFIG) --libs yaml-0.1 libcjson) -lm -o $@

fuzz-build: $(FUZZ_BIN)

fuzz: $(FUZZ_BIN)
	$(Q)FUZZ_O=$(FUZZ_O) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run-fuzz.sh $(FUZZ_TARGETS)

# Leak check of the real processes: the controller and its invokers built
# with ASan+UBSan (build-san/, LeakSanitizer on) run the REST API and the
# malformed-input integration tests; lib.sh fails a test on any sanitizer
# report in their log, and on a non-zero exit (LeakSanitizer exits 23).
# Also valgrind memcheck on libnng's request path (nng is not built with
# ASan): test_nng_uri_guard drives a real nng server with URIs that overrun
# libnng 1.5.2's decoder unless controller/nng_uri_guard.c is linked in.
LEAKCHECK_TESTS ?= tests/integration/test_api.sh tests/integration/test_malformed.sh
leakcheck: images $(O)/tests/test_nng_uri_guard
	$(Q)valgrind -q --error-exitcode=1 --leak-check=full --show-possibly-lost=no \
		--errors-for-leak-kinds=definite \
		$(O)/tests/test_nng_uri_guard
	$(Q)$(MAKE) --no-print-directory SAN=1 all
	$(Q)O=build-san ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		tests/run-tests.sh $(LEAKCHECK_TESTS)

# Static analysis (needs cppcheck and clang-tidy from `make deps`):
#  - cppcheck over all production C with warning, style, performance and
#    portability checks; variableScope (narrow a variable's scope) is a
#    style choice we do not follow. Test code is covered by the sanitizers.
#  - clang-tidy over common/ and controller/ with the checks in .clang-tidy.
# False positives are suppressed inline with a reason (cppcheck-suppress,
# NOLINT). Any finding fails.
ANALYZE_TIDY_SRC ?= $(wildcard common/*.c controller/*.c)
analyze:
	$(Q)cppcheck --quiet --std=c11 --enable=warning,style,performance,portability \
		--inline-suppr --error-exitcode=1 -D_GNU_SOURCE -I. \
		--suppress=missingIncludeSystem --suppress=variableScope \
		-i runtimes/proxy/proxy_test.c common controller invoker mqtt runtimes/proxy
	@echo "analyze: cppcheck clean"
	$(Q)printf '%s\n' $(ANALYZE_TIDY_SRC) | xargs -P"$$(nproc)" -I{} clang-tidy --quiet {} \
		-- -std=c11 -D_GNU_SOURCE -I. \
		$(shell $(PKG_CONFIG) --cflags yaml-0.1 libcjson sqlite3) 2>/dev/null
	@echo "analyze: clang-tidy clean ($(words $(ANALYZE_TIDY_SRC)) files)"

bench: bench-queue bench-invoker bench-api bench-events

bench-queue: $(BENCH_QUEUE)
	$(Q)$(BENCH_QUEUE) --csv $(O)/bench/queue.csv $(BENCH_ARGS)

# Needs dockerd (deploy/dockerd-up.sh) and the runtime images.
bench-invoker: all images $(BENCH_INVOKER)
	$(Q)$(BENCH_INVOKER) --csv $(O)/bench/invoker.csv $(BENCH_ARGS)

# wrk against the REST API and against the warm container; needs dockerd.
bench-api: all images
	$(Q)O=$(O) bench/bench_api.sh $(BENCH_ARGS)

# Bytes written to a loop-device ext4 and CPU per activation (root, dockerd).
bench-store: all images
	$(Q)O=$(O) bench/bench_store.sh $(if $(QUICK),--quick) $(BENCH_ARGS)

bench-events: all images
	$(Q)O=$(O) bench/bench_events.sh --csv $(O)/bench/events.csv $(BENCH_ARGS)

bench-routes: all images
	$(Q)O=$(O) bench/bench_routes.sh --csv $(O)/bench/routes.csv $(BENCH_ARGS)

# The seed's experiments (bench/README.md): full grid by default, QUICK=1 a
# CI-sized subset; needs dockerd.
bench-seed: all images $(SEED_LOAD)
	$(Q)O=$(O) QUICK=$(QUICK) bench/bench_seed.sh $(BENCH_ARGS)

# Build dependencies, plus what the runtime images are made of (busybox,
# Node.js, Python), the Docker engine that runs them, and the zone files
# schedules are planned in (tzdata).
deps:
	@# A mirror caught mid-sync fails one index now and then: retry, then let
	@# the install say whether anything it needs is really missing.
	for i in 1 2 3; do apt-get update -q && break; sleep 10; done; true
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		gcc make pkg-config libc6-dev libnng-dev libcjson-dev libcurl4-openssl-dev \
		libyaml-dev libsqlite3-dev sqlite3 curl file jq wrk docker.io busybox-static nodejs python3.11 \
		clang libclang-rt-14-dev cppcheck clang-tidy valgrind gnuplot-nox tzdata \
		libpaho-mqtt-dev mosquitto mosquitto-clients openssl

BANNED := strcpy|strcat|sprintf|gets|atoi|strtok
# Who may include whom (STYLE.md §1): common/ includes only common/; the
# controller and the invoker include common/ and themselves, never each
# other; the static action proxy includes only common/'s libc-only leaves.
# Every project include names its directory (-I. is the only path).
LINT_LEAVES := common/(buf|codec|cleanup|file|image_ref|jscan|now|utf8)\.h
lint:
	$(Q)! grep -nE '\<($(BANNED))[[:space:]]*\(' --include='*.c' --include='*.h' -r \
		common controller invoker mqtt runtimes tests bench || { echo "lint: banned call above"; exit 1; }
	$(Q)! grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[^/"]*"' --include='*.c' \
		--include='*.h' -r common controller invoker mqtt runtimes tests bench \
		|| { echo "lint: include without its directory above (use \"common/x.h\")"; exit 1; }
	$(Q)! grep -nE '#[[:space:]]*include[[:space:]]+"(controller|invoker|mqtt|runtimes|tests)/' \
		-r common || { echo "lint: common/ includes a process's header above"; exit 1; }
	$(Q)! grep -nE '#[[:space:]]*include[[:space:]]+"(invoker|mqtt|runtimes|tests)/' -r controller \
		|| { echo "lint: the controller includes another process's header above"; exit 1; }
	$(Q)! grep -nE '#[[:space:]]*include[[:space:]]+"(controller|mqtt|runtimes|tests)/' -r invoker \
		|| { echo "lint: the invoker includes another process's header above"; exit 1; }
	$(Q)! grep -nE '#[[:space:]]*include[[:space:]]+"(controller|invoker|runtimes|tests)/' -r mqtt \
		|| { echo "lint: the MQTT client process includes another process's header above"; exit 1; }
	$(Q)! grep -nE '#[[:space:]]*include[[:space:]]+"' -r runtimes/proxy --include='*.c' \
		--include='*.h' | grep -vE '"(runtimes/proxy/[a-z_]+|$(LINT_LEAVES:\.h=)|tests/harness)\.h"' \
		|| { echo "lint: the action proxy includes more than common/'s leaves above"; exit 1; }
	$(Q)! grep -nE '#[[:space:]]*include[[:space:]]+"' common/buf.* common/codec.* \
		common/cleanup.h common/file.* common/image_ref.* common/jscan.* common/now.h common/utf8.* \
		| grep -vE '"$(LINT_LEAVES)"' \
		|| { echo "lint: a libc-only leaf of common/ includes more above"; exit 1; }
	$(Q)grep -rnoE '#[[:space:]]*include[[:space:]]+"[a-z/]+_impl\.h"' common controller invoker \
		runtimes tests bench | awk -F: '{ n = split($$1, f, "/"); split($$3, h, "\""); \
		m = split(h[2], g, "/"); mod = g[m]; sub(/_impl\.h$$/, "", mod); \
		if (index(f[n], mod) != 1 || h[2] !~ "^" f[1] "/") { print; bad = 1 } } \
		END { exit bad }' || { echo "lint: a module's _impl.h included from outside it above"; exit 1; }
	$(Q)for h in common/*.h invoker/*.h controller/*.h runtimes/proxy/*.h; do \
		echo "#include \"$$h\"" | $(CC) $(ALL_CFLAGS) -x c -fsyntax-only - || exit 1; \
	done; echo "lint: ok"

clean:
	rm -rf build build-san build-tsan

-include $(shell find $(O) -name '*.d' 2>/dev/null)
ifneq ($(O),$(FUZZ_O))
-include $(shell find $(FUZZ_O) -name '*.d' 2>/dev/null)
endif
