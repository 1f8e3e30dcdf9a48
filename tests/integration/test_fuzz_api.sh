#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The structure-aware mutation fuzz (fuzz_api.py) against a private
# controller (one invoker, real Docker): FUZZ_REQUESTS (default 3000)
# seeded mutations of valid requests on every route, bounded by
# FUZZ_API_SECONDS (default 180). FUZZ_SEED replays a run (the seed is
# printed). After it: the controller alive, no bad answer, peak RSS growth
# within FUZZ_PEAK_MB (default 48: 4 clients of up to 3 MB each plus the
# page cache and warm pools), a normal create/invoke/delete works, the
# store passes PRAGMA integrity_check, and no container is left.
# Exit: 0 all passed, 1 a failure, 77 Docker absent (and CI is not "true").
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REQUESTS=${FUZZ_REQUESTS:-3000}
SECONDS_MAX=${FUZZ_API_SECONDS:-180}
PEAK_MB=${FUZZ_PEAK_MB:-48}
[ "$O" = build-san ] && PEAK_MB=${FUZZ_PEAK_MB:-512}

ew_setup fuzz-api
ew_need_docker
if ! ew_start_controller; then
	ew_controller_log_tail 40
	ew_finish
fi
NS=/api/v1/namespaces/_

reqj PUT "$NS/actions/fz-echo?overwrite=true" '{"exec":{"kind":"nodejs:20","code":"function main(a){return a}"},"limits":{"memory":128}}'
check "seed: echo action" test "$CODE" = 200
reqj PUT "$NS/actions/fz-web?overwrite=true" \
	'{"exec":{"kind":"nodejs:20","code":"function main(a){return {statusCode: 200, headers: {\"X-Fz\": a.hv || \"v\"}, body: JSON.stringify(a).slice(0, 200)}}"},"limits":{"memory":128},"annotations":[{"key":"web-export","value":true}]}'
check "seed: web action" test "$CODE" = 200
reqj PUT "$NS/triggers/fz-t?overwrite=true" '{}'
check "seed: trigger" test "$CODE" = 200
reqj PUT "$NS/rules/fz-r?overwrite=true" '{"trigger":"fz-t","action":"fz-echo"}'
check "seed: rule" test "$CODE" = 200
reqj PUT "$NS/packages/fz-p?overwrite=true" '{"publish":true}'
check "seed: package" test "$CODE" = 200

peak_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$CTRL_PID/status" 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$CTRL_PID/status" 2>/dev/null || echo 0; }
rss0=$(rss_kb)
echo 5 >"/proc/$CTRL_PID/clear_refs" 2>/dev/null
seed_arg=()
[ -n "${FUZZ_SEED:-}" ] && seed_arg=(--seed "$FUZZ_SEED")
if python3 "$EW_ROOT/tests/integration/fuzz_api.py" --port "$PORT" --auth "$GUEST_AUTH" \
	--requests "$REQUESTS" --seconds "$SECONDS_MAX" "${seed_arg[@]}" >"$T/fuzz.out" 2>&1; then
	cat "$T/fuzz.out"
	ok "fuzz: every answer proper"
else
	cat "$T/fuzz.out"
	notok "fuzz: every answer proper" "$(tail -n 3 "$T/controller.log")"
fi
check "controller still running" kill -0 "$CTRL_PID"
peak=$(( ($(peak_kb) - rss0) / 1024 ))
echo "# controller RSS: $((rss0 / 1024)) MiB before, peak +${peak} MiB, $(( $(rss_kb) / 1024 )) MiB after"
check "peak RSS growth ${peak} MiB <= ${PEAK_MB} MiB" test "$peak" -le "$PEAK_MB"

reqj PUT "$NS/actions/after-fuzz" '{"exec":{"kind":"nodejs:20","code":"function main(a){return {echo: a.x}}"}}'
check "create an action afterwards" test "$CODE" = 200
reqj POST "$NS/actions/after-fuzz?blocking=true&result=true" '{"x":"still here"}'
check "invoke it" eval 'test "$CODE" = 200 && jqb ".echo == \"still here\""'
req DELETE "$NS/actions/after-fuzz"
check "delete it" test "$CODE" = 200
req GET "$NS/actions?limit=200"
check "the listing is valid UTF-8 JSON" \
	python3 -c 'import json,sys; json.loads(open(sys.argv[1],"rb").read().decode("utf-8"))' "$T/resp"

# Stop (checks: exit 0, no container left), then the store itself.
db="$STATE/edgewhisk.db"
ew_stop_checks
integrity=$(sqlite3 "$db" 'PRAGMA integrity_check' 2>&1)
check "PRAGMA integrity_check: $integrity" test "$integrity" = ok
ew_finish
