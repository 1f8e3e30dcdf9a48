#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Warm-container affinity across invokers: with two invokers, two actions
# invoked alternately must cold-start twice (once each, on its home
# invoker), not four times or more as invokers taking turns would.
# Real controller, two invokers, real containers; loopback only.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

EW_INVOKERS=2
ew_setup routing
ew_need_docker
ew_start_controller || ew_finish

for a in alpha beta; do
	reqj PUT "/api/v1/namespaces/_/actions/$a" \
		"{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"function main(){return {me:'$a'}}\"},\"limits\":{\"memory\":128}}"
	check "create $a" test "$CODE" = 200
done
req GET "/health"
check "two invokers up" jqb '(.invokers | length) == 2 and all(.invokers[]; .state == "up")'

cold=0 warm=0
for round in 1 2 3 4 5; do
	for a in alpha beta; do
		req POST "/api/v1/namespaces/_/actions/$a?blocking=true"
		if [ "$CODE" != 200 ]; then
			notok "invoke $a round $round" "$CODE $BODY"
			continue
		fi
		if jqb '.annotations | any(.key == "initTime")'; then
			cold=$((cold + 1))
		else
			warm=$((warm + 1))
		fi
	done
done
check "10 alternating invocations: 2 cold starts (got $cold), 8 warm (got $warm)" \
	test "$cold:$warm" = "2:8"
ew_finish
