#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench_events: starts a private controller (one invoker per CPU, the test
# configuration of tests/integration/lib.sh: loopback port, own queue and
# state dir) and runs bench/bench_events.py against it: 2-step sequences
# at 1 KB / 100 KB / 1 MB against single invocations of the same size, and
# trigger -> rule -> action throughput against direct non-blocking
# invocations. Removes the controller and its containers on exit.
#   bench/bench_events.sh [--quick] [--csv PATH]
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
QUICK=
CSV=${O:-build}/bench/events.csv
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=--quick ;;
	--csv) CSV=$2; shift ;;
	*) echo "usage: bench/bench_events.sh [--quick] [--csv PATH]" >&2; exit 2 ;;
	esac
	shift
done
. tests/integration/lib.sh
ew_setup bench-events
ew_need_docker
EW_INVOKERS=${EW_INVOKERS:-$(nproc)}
# The shipped pause grace (tests pause at once to exercise unpause).
export EW_INVOKERS EW_LOG_LEVEL=${EW_LOG_LEVEL:-warn} EW_PAUSE_GRACE=${EW_PAUSE_GRACE:-500}
ew_start_controller || { ew_controller_log_tail 30; exit 1; }
echo "# $(uname -m), $(nproc) CPUs, $(awk '{print "load average " $1 " " $2 " " $3}' /proc/loadavg)," \
	"controller on $BASE with $EW_INVOKERS invoker(s)"
python3 bench/bench_events.py --base "$BASE" --auth "$GUEST_AUTH" --csv "$CSV" $QUICK
