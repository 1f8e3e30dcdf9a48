#!/bin/sh
# Run test binaries, show their output, and close with the total line
# "N passed, M failed". A binary that exits non-zero or prints no summary
# line (a crash) counts as one more failure; exit 77 means the binary
# skipped itself (no Docker outside CI). TEST_RUNNER, if set, is a command
# each binary is run under (make test-cross: qemu-user for ARM builds).
passed=0 failed=0 skipped=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for t in "$@"; do
	echo "== $t"
	# shellcheck disable=SC2086 # TEST_RUNNER is a command with arguments
	$TEST_RUNNER "$t" >"$out" 2>&1
	rc=$?
	cat "$out"
	if [ "$rc" -eq 77 ]; then
		echo "$t: skipped"
		skipped=$((skipped + 1))
		continue
	fi
	counts=$(sed -nE 's/^(.*[^0-9])?([0-9]+) passed, ([0-9]+) failed.*/\2 \3/p' "$out" | tail -n 1)
	if [ -z "$counts" ]; then
		echo "$t: exited $rc without a summary line"
		failed=$((failed + 1))
		continue
	fi
	p=${counts% *} f=${counts#* }
	passed=$((passed + p)) failed=$((failed + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "$t: exited $rc"
		failed=$((failed + 1))
	fi
done
if [ "$skipped" -gt 0 ]; then
	echo "total: $passed passed, $failed failed, $skipped skipped"
else
	echo "total: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
