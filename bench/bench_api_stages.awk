# SPDX-License-Identifier: Apache-2.0
# Per-stage timeline of blocking invocations at concurrency 1, from
#   perf record -e syscalls:... -p CONTROLLER,INVOKERS
#   perf script -F comm,tid,time,event,trace | awk -f bench/bench_api_stages.awk
# (bench/bench_api.sh --profile). It keys on the syscalls each stage makes,
# so it only holds for strictly sequential requests and for the code as it
# is: nng's threads ("nng:*") read the request with readv and send the reply
# with sendmsg; the queue wakes the other process with a shared FUTEX_WAKE;
# the invoker ("edgewhisk-invok") talks to the container with
# sendmsg/recvfrom and reads the container's log file with pread64; the
# controller's completion thread is named "edgewhisk-contr". Requests it
# cannot follow are skipped. mawk-compatible.
function t(s) { sub(/:$/, "", s); return s * 1e6 }
function shared_wake() { return $4 == "syscalls:sys_enter_futex:" && $8 == "0x00000001," }
{
	comm = $1; ts = t($3); ev = $4
	nng = comm ~ /^nng:/
	if (nng && ev == "syscalls:sys_exit_readv:" && $5 != "0x0" && $5 !~ /^0xffff/) {
		st = 1; R = ts; npr = 0; next
	}
	if (!st) next
	if (st == 1 && nng && shared_wake()) { Q = ts; st = 2; next }
	if (st == 2 && comm == "edgewhisk-invok" && ev == "syscalls:sys_enter_sendmsg:") { S = ts; st = 3; next }
	if (st == 3 && comm == "edgewhisk-invok" && ev == "syscalls:sys_exit_recvfrom:" && $5 !~ /^0xffff/) { G = ts; st = 4; next }
	if (st == 4 && comm == "edgewhisk-invok" && ev == "syscalls:sys_enter_pread64:") { npr++; next }
	if (st == 4 && comm == "edgewhisk-invok" && shared_wake()) { C = ts; st = 5; next }
	if (st == 5 && comm == "edgewhisk-contr") { K = ts; st = 6; next }
	if (st == 6 && nng && ev == "syscalls:sys_enter_sendmsg:") {
		n++
		a[n, 1] = Q - R; a[n, 2] = S - Q; a[n, 3] = G - S; a[n, 4] = C - G
		a[n, 5] = K - C; a[n, 6] = ts - K; a[n, 7] = ts - R
		if (npr == 0) reads0++
		else if (npr == 1) reads1++
		else reads2++
		st = 0
	}
}
END {
	name[1] = "controller: request read -> queue push (handler: auth, store read, JSON)"
	name[2] = "queue -> invoker sends /run"
	name[3] = "/run round trip (docker-proxy, ewproxy, runtime)"
	name[4] = "invoker: /run reply -> result pushed"
	name[5] = "queue -> controller completion thread awake"
	name[6] = "completion: record built, reply sent by nng"
	name[7] = "total: request read -> reply sent"
	if (n == 0) { print "stages: no request could be followed in the trace"; exit }
	printf "stages over %d sequential requests (us):\n", n
	printf "  %-74s %7s %7s %7s\n", "", "mean", "p50", "p90"
	for (k = 1; k <= 7; k++) {
		s = 0
		for (i = 1; i <= n; i++) { v[i] = a[i, k]; s += v[i] }
		for (i = 2; i <= n; i++) { x = v[i]; j = i - 1; while (j >= 1 && v[j] > x) { v[j + 1] = v[j]; j-- } v[j + 1] = x }
		printf "  %-74s %7.0f %7.0f %7.0f\n", name[k], s / n, v[int(n * 0.5) + 1], v[int(n * 0.9) + 1]
	}
	printf "  log file reads between /run reply and result push: none %d, one %d, more (waited for the log copier) %d\n", reads0, reads1, reads2
}
