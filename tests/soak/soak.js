// SPDX-License-Identifier: Apache-2.0
// Soak load generator (Node.js, no packages): a steady rate of mixed
// invocations against a running controller for a bounded time, then a
// summary as JSON on stdout. Open-loop: requests start on a fixed schedule
// whether or not earlier ones finished, so a slowdown shows as latency,
// not as a lower rate.
//
//   node soak.js BASE AUTH SECONDS RATE
//
// Mix (per 20 requests): 10 blocking nodejs with a small payload, 4 blocking
// python, 3 non-blocking nodejs (their records are checked at the end),
// 2 blocking nodejs with a 256 KB payload, 1 blocking native.
'use strict';
const http = require('http');

const [base, auth, secondsArg, rateArg] = process.argv.slice(2);
const seconds = Number(secondsArg);
const rate = Number(rateArg);
const url = new URL(base);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const authHeader = 'Basic ' + Buffer.from(auth).toString('base64');
const big = 'z'.repeat(256 * 1024);

const KINDS = {
  n: { kind: 'node', action: 'soak-node', blocking: true, big: false },
  p: { kind: 'python', action: 'soak-python', blocking: true, big: false },
  a: { kind: 'async', action: 'soak-node', blocking: false, big: false },
  b: { kind: 'big', action: 'soak-node', blocking: true, big: true },
  x: { kind: 'native', action: 'soak-native', blocking: true, big: false },
};
// Interleaved, so every kind runs all the time (20 per cycle).
const MIX = [...'npnanbnpnanxnpnanbnp'].map((c) => KINDS[c]);

function request(method, path, body) {
  return new Promise((resolve) => {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const t0 = process.hrtime.bigint();
    const req = http.request({
      host: url.hostname, port: url.port, method, path, agent,
      headers: Object.assign({ Authorization: authHeader },
        data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {}),
      timeout: 70000,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({
        status: res.statusCode,
        body: Buffer.concat(chunks).toString(),
        ms: Number(process.hrtime.bigint() - t0) / 1e6,
      }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, body: String(e), ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    if (data) req.write(data);
    req.end();
  });
}

function p(sorted, q) {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function main() {
  const start = Date.now();
  const total = Math.floor(seconds * rate);
  const perMinute = new Map(); // minute -> latencies (ms)
  const failures = [];
  const asyncIds = [];
  const byKind = {};
  const kindLat = {};
  let sent = 0;
  let done = 0;
  const pending = [];

  await new Promise((resolveAll) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((Date.now() - start) / 1000) * rate) + 1);
      while (sent < due) {
        const i = sent++;
        const m = MIX[i % MIX.length];
        const minute = Math.floor((Date.now() - start) / 60000);
        const payload = { n: i, pad: m.big ? big : 'x'.repeat(i % 512) };
        const path = `/api/v1/namespaces/_/actions/${m.action}?blocking=${m.blocking}` +
          (m.blocking ? '&result=true' : '');
        pending.push(request('POST', path, payload).then((r) => {
          done++;
          byKind[m.kind] = (byKind[m.kind] || 0) + 1;
          if (!kindLat[m.kind]) kindLat[m.kind] = [];
          kindLat[m.kind].push(r.ms);
          const want = m.blocking ? 200 : 202;
          let ok = r.status === want;
          if (ok && m.blocking) {
            try { ok = JSON.parse(r.body).n === i; } catch (e) { ok = false; }
          }
          if (ok && !m.blocking) asyncIds.push(JSON.parse(r.body).activationId);
          if (!ok) failures.push({ i, kind: m.kind, status: r.status, body: r.body.slice(0, 200) });
          if (!perMinute.has(minute)) perMinute.set(minute, []);
          perMinute.get(minute).push(r.ms);
        }));
      }
      if (sent >= total) return resolveAll();
      setTimeout(tick, 5);
    };
    tick();
  });
  await Promise.all(pending);
  const elapsed = (Date.now() - start) / 1000;

  // Every acknowledged non-blocking activation must have a successful record.
  await new Promise((r) => setTimeout(r, 3000));
  let asyncOk = 0;
  for (const id of asyncIds) {
    let r;
    for (let k = 0; k < 20; k++) {
      r = await request('GET', `/api/v1/namespaces/_/activations/${id}`);
      if (r.status === 200) break;
      await new Promise((res) => setTimeout(res, 500));
    }
    let ok = false;
    try { ok = r.status === 200 && JSON.parse(r.body).response.success === true; } catch (e) { ok = false; }
    if (ok) asyncOk++;
    else failures.push({ id, kind: 'async-record', status: r.status, body: r.body.slice(0, 200) });
  }

  const minutes = [...perMinute.keys()].sort((a, b) => a - b).map((k) => {
    const l = perMinute.get(k).sort((a, b) => a - b);
    return { minute: k, n: l.length, p50: +p(l, 0.5).toFixed(1), p90: +p(l, 0.9).toFixed(1),
      p99: +p(l, 0.99).toFixed(1),
      max: +l[l.length - 1].toFixed(1) };
  });
  // The last minute may be partial: compare full minutes when there are two.
  const full = minutes.filter((m) => m.n >= rate * 50);
  const first = full.length ? full[0] : minutes[0];
  const last = full.length ? full[full.length - 1] : minutes[minutes.length - 1];
  console.log(JSON.stringify({
    sent, done, elapsed_s: +elapsed.toFixed(1), achieved_rate: +(done / elapsed).toFixed(2),
    by_kind: byKind,
    latency_by_kind: Object.fromEntries(Object.entries(kindLat).map(([k, l]) => {
      l.sort((a, b) => a - b);
      return [k, { p50: +p(l, 0.5).toFixed(1), p99: +p(l, 0.99).toFixed(1) }];
    })),
    async_acknowledged: asyncIds.length, async_records_ok: asyncOk,
    failures: failures.length, failure_samples: failures.slice(0, 5), minutes,
    p99_first_ms: first ? first.p99 : 0, p99_last_ms: last ? last.p99 : 0,
    p99_ratio_last_first: first && first.p99 ? +(last.p99 / first.p99).toFixed(2) : 0,
    p90_first_ms: first ? first.p90 : 0, p90_last_ms: last ? last.p90 : 0,
    p90_ratio_last_first: first && first.p90 ? +(last.p90 / first.p90).toFixed(2) : 0,
    max_ms: Math.max(...minutes.map((m) => m.max)),
  }));
  agent.destroy();
}

main().catch((e) => { console.error(e); process.exit(2); });
