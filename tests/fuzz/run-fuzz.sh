#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Run each libFuzzer target for FUZZ_SECONDS over its checked-in corpus
# (tests/fuzz/corpus/<t>, read only) plus a work corpus in
# $FUZZ_O/corpus/<t> that keeps what the run finds. Prints one line of
# figures per target (runs, execs/s, coverage edges and features, corpus
# size) and "N passed, M failed". A crash, leak, timeout or OOM fails the
# target and leaves its input as $FUZZ_O/crash-<t>-*: add it to the
# checked-in corpus once fixed.
#   usage: FUZZ_O=build-fuzz FUZZ_SECONDS=60 tests/fuzz/run-fuzz.sh route entity ...
set -u
O=${FUZZ_O:-build-fuzz}
SECS=${FUZZ_SECONDS:-60}
passed=0 failed=0
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
for t in "$@"; do
	bin=$O/fuzz_$t seeds=tests/fuzz/corpus/$t work=$O/corpus/$t log=$O/fuzz-$t.log
	dict=
	[ -f "tests/fuzz/$t.dict" ] && dict=-dict=tests/fuzz/$t.dict
	mkdir -p "$work"
	echo "== fuzz $t: ${SECS}s, seeds $(ls "$seeds" | wc -l)"
	# -timeout: a single input slower than 10 s is a hang; -rss_limit_mb
	# bounds memory on a shared machine; detect_leaks is on by default.
	"$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="$O/crash-$t-" $dict "$work" "$seeds" >"$log" 2>&1
	rc=$?
	runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)
	eps=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -n 1)
	cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
	size=$(ls "$work" | wc -l)
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		res=ok
	else
		failed=$((failed + 1))
		res="FAILED (exit $rc)"
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -n 20
	fi
	printf '%-8s %-18s runs %-10s execs/s %-7s %-20s work corpus %s\n' "$t" "$res" \
		"${runs:-?}" "${eps:-?}" "${cov:-cov: ?}" "$size" | tee -a "$summary"
done
echo "== fuzz figures"
cat "$summary"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
