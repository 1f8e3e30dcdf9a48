#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Black-box bad-input test of the controller: a private controller (one
# invoker, real Docker) gets >= 10,000 seeded malformed requests from
# tests/integration/malformed.py -- bad methods, broken JSON, deep nesting,
# huge headers, wrong content types, invalid UTF-8, path traversal in
# names, oversized and truncated bodies, bad credentials and queries,
# non-HTTP bytes -- plus slow clients holding connections. Then the
# controller must still work (ping, create + get + invoke + delete an
# action), its RSS must stay within a bound, and it must stop cleanly.
# Figures (requests, per-class statuses, duration, RSS) are printed.
#   MALFORMED_REQUESTS (default 10000), MALFORMED_RSS_GROWTH_MB (default 64,
#   512 with O=build-san)
# Exit: 0 all passed, 1 a failure, 77 Docker absent (and CI is not "true").
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REQUESTS=${MALFORMED_REQUESTS:-10000}
# ASan keeps freed memory in quarantine (256 MiB) and maps shadow memory,
# so its bound is looser; LeakSanitizer does the leak check there.
if [ "$O" = build-san ]; then
	RSS_BOUND_MB=${MALFORMED_RSS_GROWTH_MB:-512}
else
	RSS_BOUND_MB=${MALFORMED_RSS_GROWTH_MB:-64}
fi

ew_setup malformed
ew_need_docker
if ! ew_start_controller; then
	ew_controller_log_tail 40
	ew_finish
fi
echo "# controller pid $CTRL_PID on $BASE, instance $INSTANCE"
NS=/api/v1/namespaces/_

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$CTRL_PID/status" 2>/dev/null || echo 0
}

# Warm up what a normal client touches, so the RSS baseline is not the
# cold start.
reqj PUT "$NS/actions/warm?overwrite=true" '{"exec":{"kind":"nodejs:20","code":"function main(a){return a}"}}'
req GET "$NS/actions/warm"
req GET "$NS/actions?limit=5"
rss0=$(rss_kb)
echo "# RSS before: $((rss0 / 1024)) MiB"

t0=$(date +%s)
if python3 "$EW_ROOT/tests/integration/malformed.py" --port "$PORT" --auth "$GUEST_AUTH" \
	--requests "$REQUESTS" >"$T/malformed.out" 2>&1; then
	mrc=0
else
	mrc=$?
fi
t1=$(date +%s)
cat "$T/malformed.out"
if [ "$mrc" -eq 0 ]; then
	ok "malformed.py: every check passed ($((t1 - t0)) s)"
else
	notok "malformed.py: every check passed" "exit $mrc" "$(tail -n 3 "$T/controller.log")"
fi

check "controller still running" kill -0 "$CTRL_PID"
req GET /ping
check "GET /ping answers pong" [ "$CODE" = 200 ] && [ "$BODY" = pong ]
reqj PUT "$NS/actions/after-malformed" '{"exec":{"kind":"nodejs:20","code":"function main(a){return {echo: a.x}}"}}'
check "create an action afterwards" [ "$CODE" = 200 ]
req GET "$NS/actions/after-malformed"
check "get it back" [ "$CODE" = 200 ] && jqb '.name == "after-malformed" and (.exec.code | contains("echo"))'
reqj POST "$NS/actions/after-malformed?blocking=true&result=true" '{"x":"still here"}'
check "invoke it (blocking)" [ "$CODE" = 200 ] && jqb '.echo == "still here"'
req DELETE "$NS/actions/after-malformed"
check "delete it" [ "$CODE" = 200 ]
# No action with invalid UTF-8 or a traversal name got stored.
req GET "$NS/actions?limit=200"
check "listing is valid UTF-8 JSON with only expected names" \
	python3 -c 'import json,sys; names={a["name"] for a in json.loads(open(sys.argv[1],"rb").read().decode("utf-8"))}; bad=names-{"warm","mf","mf-ct"}; sys.exit(1 if bad else 0)' "$T/resp"

rss1=$(rss_kb)
growth=$(((rss1 - rss0) / 1024))
echo "# RSS after: $((rss1 / 1024)) MiB (growth ${growth} MiB, bound ${RSS_BOUND_MB} MiB)"
check "RSS growth ${growth} MiB <= ${RSS_BOUND_MB} MiB" [ "$growth" -le "$RSS_BOUND_MB" ]
if grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' "$T/controller.log"; then
	notok "no sanitizer report in the controller log" "$(grep -m3 -E 'Sanitizer|runtime error' "$T/controller.log")"
fi
ew_finish
