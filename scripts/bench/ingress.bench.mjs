// `pnpm bench -- --ingress`: what one WhatsApp webhook and one end-to-end message cost, as CPU time
// (the stable figure on a shared machine) and as throughput and latency beside baselines measured in
// the same run, against a private redis-server (its CPU is counted too):
//  A. closed loop, 64 connections: the built whatsapp-ingress vs a bare Express endpoint vs a bare
//     node:http endpoint (both only read the body and answer 200): webhooks/s, p50/p99, CPU µs per
//     webhook of the serving process, and of Redis for the ingress;
//  B. open loop at a fixed arrival rate (1,000 req/s: requests leave on schedule whatever the answers,
//     latency counted from the scheduled time): ingress and bare Express p50/p99;
//  C. end to end (signed webhook → ingress → worker → instant fake LLM → send at the fake Graph API,
//     default debounce, WHATSAPP_SEND_RATE=1000), open loop: CPU ms per message of every gateway
//     process and Redis, and the TCP connections the worker opened to the fakes;
//  D. the whole gateway with the record and knowledge retrieval on, at rising open-loop rates
//     (issue 19, goal 2: ≥ 1,000 messages/s, gateway overhead p99 < 50 ms): see e2e-full.bench.mjs.
// Budgets are printed as PASS/FAIL. `--compare DIR` also runs the ingress and worker built in
// another checkout DIR (for example `main`) in the same run, so before/after share the noise.
import { resolve } from 'node:path';
import { cpuMs, measureCpu, openLoad, pct } from '../lib/load.mjs';

/** CPU budgets (stated in docs/performance.md); the bench prints PASS/FAIL against them. */
export const BUDGET = {
  /** CPU of the ingress process per accepted webhook (phase A). */
  ingressCpuUsPerWebhook: 1000,
  /** p99 at 1,000 webhooks/s open loop (phase B). */
  openLoopP99Ms: 20,
  /** Ingress at least this share of the bare Express endpoint's webhooks/s (phase A). */
  expressRatio: 0.7,
  /** CPU of all gateway processes and Redis per end-to-end message (phase C). */
  e2eCpuMsPerMessage: 12,
  /** Of which the ingress. */
  e2eIngressCpuMsPerMessage: 1,
};


const passFail = (ok) => (ok ? 'PASS' : 'FAIL');

/**
 * @param {object} o
 * @param {boolean} o.quick
 * @param {string} o.root this checkout
 * @param {string | undefined} o.compare another built checkout to run in the same run
 * @param {string} [o.phases] which of A, B, C, D to run (default all)
 * @param {{ url: string, pid?: number }} o.redis a private redis-server (its pid for CPU)
 * @param {Record<string, string>} o.base the processes' common environment
 * @param {string} o.prefix
 * @param {(file: string, env: Record<string, string>, cwd?: string) => import('node:child_process').ChildProcess} o.spawnNode
 * @param {(child: import('node:child_process').ChildProcess) => Promise<string>} o.firstLine
 * @param {(url: string, timeoutMs?: number) => Promise<void>} o.waitHttp
 * @param {(i: number, run: number) => { body: Buffer, sig: string, to: string }} o.delivery
 * @param {(url: string, items: any[], concurrency: number) => Promise<{ rps: number, p50: number, p99: number, statuses: object, sentAt: number[], secs: number }>} o.load
 * @param {(url: string, prefix: string) => Promise<void>} o.dropPrefix
 * @param {(s: string) => void} o.log
 * @param {(n: any, d?: number) => string} o.fmt
 * @param {() => Promise<number>} o.freePort
 * @returns {Promise<string[][]>}
 */
export async function runIngressBench(o) {
  const { fmt, log } = o;
  const rows = [];
  const redisPid = o.redis.pid;
  if (!redisPid) throw new Error('the ingress bench needs a private redis-server (its CPU is measured)');
  const checkouts = [{ tag: 'ingress', cwd: o.root }, ...(o.compare ? [{ tag: `ingress (${o.compare})`, cwd: resolve(o.compare) }] : [])];
  const N = o.quick ? 4000 : 15000;
  const ROUNDS = 2;
  const OPEN_SECS = o.quick ? 4 : 10;
  const OPEN_RATE = 1000;
  const LOW_RATE = 200;
  const N_E2E = o.quick ? 1000 : 3000;
  const E2E_RATE = 200;
  let run = Date.now();
  const phases = o.phases ?? 'ABCD';

  // A. closed loop
  // free ports, not fixed ones: several benches may run on one machine at once
  const ab = phases.includes('A') || phases.includes('B');
  const [httpPort, expressPort] = [await o.freePort(), await o.freePort()];
  const bareHttp = ab ? o.spawnNode('scripts/bench-bare.mjs', { PORT: String(httpPort), BARE: 'http' }) : undefined;
  const bareExpress = ab ? o.spawnNode('scripts/bench-bare.mjs', { PORT: String(expressPort) }) : undefined;
  if (bareHttp && bareExpress) await Promise.all([o.firstLine(bareHttp), o.firstLine(bareExpress)]);
  const targets = [
    { tag: 'bare node:http', url: `http://127.0.0.1:${httpPort}/webhooks/whatsapp`, pid: bareHttp?.pid, redis: false },
    { tag: 'bare Express', url: `http://127.0.0.1:${expressPort}/webhooks/whatsapp`, pid: bareExpress?.pid, redis: false },
  ];
  const ingresses = [];
  for (const [i, c] of ab ? [...checkouts.entries()] : []) {
    const port = String(await o.freePort());
    const child = o.spawnNode('apps/whatsapp-ingress/dist/main.js', { ...o.base, QUEUE_PREFIX: `${o.prefix}a${i}`, WHATSAPP_PORT: port }, c.cwd);
    ingresses.push(child);
    await o.waitHttp(`http://127.0.0.1:${port}/readyz`);
    targets.push({ tag: c.tag, url: `http://127.0.0.1:${port}/webhooks/whatsapp`, pid: child.pid, redis: true });
  }
  const warm = Array.from({ length: 1000 }, (_, i) => o.delivery(i, run - 1));
  for (const t of ab ? targets : []) await o.load(t.url, warm, 32);
  const rounds = phases.includes('A') ? ROUNDS : 0;
  if (rounds > 0) log(`ingress A: ${ROUNDS} rounds × ${N} signed webhooks per target, 64 connections`);
  const acc = new Map(targets.map((t) => [t.tag, { best: undefined, cpu: 0, redisCpu: 0, wakes: 0, n: 0, statuses: {} }]));
  for (let r = 0; r < rounds; r++) {
    for (const t of targets) {
      const items = Array.from({ length: N }, (_, i) => o.delivery(i, ++run));
      const { result, cpu, wakes } = await measureCpu([t.pid, redisPid], () => o.load(t.url, items, 64));
      const a = acc.get(t.tag);
      if (!a.best || result.rps > a.best.rps) a.best = result;
      a.cpu += cpu[0];
      a.wakes += wakes;
      a.redisCpu += t.redis ? cpu[1] : 0;
      a.n += N;
      for (const [k, v] of Object.entries(result.statuses)) a.statuses[k] = (a.statuses[k] ?? 0) + v;
    }
  }
  const express = acc.get('bare Express');
  for (const t of rounds > 0 ? targets : []) {
    const a = acc.get(t.tag);
    const us = (1000 * a.cpu) / a.n;
    const ratio = a.best.rps / express.best.rps;
    const note = t.redis
      ? `${fmt(100 * ratio)} % of bare Express (${passFail(ratio >= BUDGET.expressRatio)} ≥ ${100 * BUDGET.expressRatio} %); Redis ${fmt((1000 * a.redisCpu) / a.n)} µs/webhook; ${passFail(us <= BUDGET.ingressCpuUsPerWebhook)} ≤ ${BUDGET.ingressCpuUsPerWebhook} µs; ${JSON.stringify(a.statuses)}`
      : `${fmt(100 * ratio)} % of bare Express`;
    rows.push([`A ${t.tag}: webhooks/s, p50/p99 ms, CPU µs/webhook`, `${fmt(a.best.rps)}; ${fmt(a.best.p50, 1)}/${fmt(a.best.p99, 1)}; ${fmt(us)} µs`, 'bare Express', `${note}; wake-ups/webhook ${fmt(a.wakes / a.n, 2)}`]);
  }

  // B. open loop at a fixed arrival rate (and at 200/s: the cost of a request served alone, nothing shared with others)
  if (phases.includes('B')) log(`ingress B: open loop ${OPEN_RATE} and ${LOW_RATE} req/s for ${OPEN_SECS} s per target`);
  for (const rate of phases.includes('B') ? [OPEN_RATE, LOW_RATE] : []) {
    for (const t of targets.filter((x) => x.tag !== 'bare node:http')) {
      const items = Array.from({ length: rate * OPEN_SECS }, (_, i) => o.delivery(i, ++run));
      const { result: b, cpu, wakes } = await measureCpu([t.pid, redisPid], () => openLoad(t.url, items, rate));
      const us = (1000 * cpu[0]) / items.length;
      const wakeNote = `; wake-ups/webhook ${fmt(wakes / items.length, 2)}${t.redis ? `; Redis ${fmt((1000 * cpu[1]) / items.length)} µs/webhook` : ''}`;
      const verdict = rate === OPEN_RATE ? `${passFail(b.p99 < BUDGET.openLoopP99Ms)} p99 < ${BUDGET.openLoopP99Ms} ms; ` : '';
      const note = t.redis ? `${verdict}${JSON.stringify(b.statuses)}; generator lag max ${fmt(b.maxLagMs, 1)} ms` : `generator lag max ${fmt(b.maxLagMs, 1)} ms`;
      rows.push([`B ${t.tag}: ${rate}/s open loop p50/p99/max ms, CPU µs/webhook`, `${fmt(b.p50, 1)}/${fmt(b.p99, 1)}/${fmt(b.max, 1)}; ${fmt(us)} µs`, 'bare Express', `${note}${wakeNote}`]);
    }
  }
  for (const t of targets.filter((x) => x.redis)) {
    const m = await (await fetch(t.url.replace('/webhooks/whatsapp', '/metrics'))).text();
    const g = (re) => [...m.matchAll(re)].reduce((a, x) => a + Number(x[1]), 0);
    // over the process's life (warm-up, A and B): same requests for every ingress, so comparable between them
    log(`GC ${t.tag}: minor count ${g(/nodejs_gc_duration_seconds_count\{[^}]*kind="minor"[^}]*\} (\S+)/g)}, minor s ${g(/nodejs_gc_duration_seconds_sum\{[^}]*kind="minor"[^}]*\} (\S+)/g).toFixed(3)}, major count ${g(/nodejs_gc_duration_seconds_count\{[^}]*kind="major"[^}]*\} (\S+)/g)}, all s ${g(/nodejs_gc_duration_seconds_sum\{[^}]*\} (\S+)/g).toFixed(3)}`);
  }
  for (const c of [bareHttp, bareExpress, ...ingresses]) c?.kill('SIGTERM');
  for (const [i] of checkouts.entries()) await o.dropPrefix(o.redis.url, `${o.prefix}a${i}`);

  // C. end to end: CPU per message of every gateway process and Redis
  for (const [i, c] of phases.includes('C') ? [...checkouts.entries()] : []) {
    const p = `${o.prefix}e${i}`;
    const fakes = o.spawnNode('scripts/bench-fakes.mjs', {});
    const urls = JSON.parse(await o.firstLine(fakes));
    const env = { ...o.base, QUEUE_PREFIX: p, WHATSAPP_GRAPH_URL: urls.graph, OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: urls.openai, WHATSAPP_SEND_RATE: '1000', WORKER_CONCURRENCY: '64' };
    const [ingressPort, metricsPort] = [await o.freePort(), await o.freePort()];
    const webhook = `http://127.0.0.1:${ingressPort}/webhooks/whatsapp`;
    const ingress = o.spawnNode('apps/whatsapp-ingress/dist/main.js', { ...env, WHATSAPP_PORT: String(ingressPort) }, c.cwd);
    const worker = o.spawnNode('apps/worker/dist/main.js', { ...env, WORKER_METRICS_PORT: String(metricsPort) }, c.cwd);
    await o.waitHttp(`http://127.0.0.1:${ingressPort}/readyz`);
    await o.waitHttp(`http://127.0.0.1:${metricsPort}/readyz`, 60_000);
    // warm the JIT (its compiler threads count in the process's CPU) and the connections, then measure
    const warmE2e = Array.from({ length: 1000 }, (_, k) => o.delivery(k, ++run));
    await waitSends(urls.stats, warmE2e, await openLoad(webhook, warmE2e, E2E_RATE));
    await fetch(`${urls.stats}/reset`).then((r) => r.arrayBuffer());
    const pids = [ingress.pid, worker.pid, redisPid];
    const idle = await measureCpu(pids, () => new Promise((r) => setTimeout(r, 2000)));
    const items = Array.from({ length: N_E2E }, (_, k) => o.delivery(k, ++run));
    log(`ingress C (${c.tag}): ${N_E2E} messages end to end at ${E2E_RATE}/s, default debounce`);
    const t0 = Date.now();
    const { result: st, cpu } = await measureCpu(pids, async () => {
      const sent = await openLoad(webhook, items, E2E_RATE);
      const s = await waitSends(urls.stats, items, sent);
      // the turn's bookkeeping after the send (finish, ledger, statuses): until the worker is idle again
      await untilIdle(worker.pid, idle.cpu[1] / 2);
      return s;
    });
    const secs = (Date.now() - t0) / 1000;
    // what the processes burn doing nothing (timers, BullMQ's polling) over the same time, from the idle 2 s before
    const idleMs = idle.cpu.map((x) => (x / 2) * secs);
    const done = Math.max(1, st.replied);
    const per = cpu.map((x) => x / done);
    const total = per.reduce((a, b) => a + b, 0);
    const net = (cpu.reduce((a, b) => a + b, 0) - idleMs.reduce((a, b) => a + b, 0)) / done;
    rows.push([
      `C ${c.tag === 'ingress' ? 'gateway' : c.tag.replace('ingress', 'gateway')}: CPU ms per e2e message (ingress + worker + Redis)`,
      `${fmt(total, 2)} = ${fmt(per[0], 2)} + ${fmt(per[1], 2)} + ${fmt(per[2], 2)}`,
      `budget ${BUDGET.e2eCpuMsPerMessage} (ingress ${BUDGET.e2eIngressCpuMsPerMessage})`,
      `total ${passFail(total <= BUDGET.e2eCpuMsPerMessage)}, ingress ${passFail(per[0] <= BUDGET.e2eIngressCpuMsPerMessage)}; ${st.replied}/${N_E2E} replied in ${fmt(secs)} s; net of idle ${fmt(net, 2)} ms; p50/p99 ${fmt(st.p50)}/${fmt(st.p99)} ms; new TCP connections to Graph ${st.connections.graph}, to the LLM ${st.connections.openai}`,
    ]);
    for (const child of [worker, ingress, fakes]) child.kill('SIGTERM');
    await new Promise((r) => (worker.exitCode === null ? worker.on('exit', r) : r(undefined)));
    await o.dropPrefix(o.redis.url, p);
  }

  // D. the whole gateway with the record and knowledge on (this checkout only)
  if (phases.includes('D')) {
    const { runE2eFullBench } = await import('./e2e-full.bench.mjs');
    rows.push(...(await runE2eFullBench(o)));
  }
  return rows;
}

/** Waits until the fake Graph API received a send for every item; returns replies and gateway latency (webhook sent → send). */
async function waitSends(statsUrl, items, sent) {
  const deadline = Date.now() + 240_000;
  /** @type {{ times: Array<{ to: string, at: number }>, connections: { graph: number, openai: number } }} */
  let st = { times: [], connections: { graph: 0, openai: 0 } };
  while (Date.now() < deadline) {
    st = /** @type {typeof st} */ (await (await fetch(statsUrl)).json());
    if (st.times.length >= items.length) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const sendAt = new Map(st.times.map((t) => [t.to, t.at]));
  const lat = [];
  items.forEach((it, i) => {
    if (sendAt.has(it.to)) lat.push(sendAt.get(it.to) - sent.sentAt[i]);
  });
  lat.sort((a, b) => a - b);
  return { replied: st.times.length, connections: st.connections, p50: lat.length ? pct(lat, 50) : NaN, p99: lat.length ? pct(lat, 99) : NaN };
}

/** Waits (at most 10 s) until a process uses no more than `idleMsPerSec` (+5 ms) of CPU per second. */
async function untilIdle(pid, idleMsPerSec) {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    const before = cpuMs(pid);
    await new Promise((r) => setTimeout(r, 500));
    if ((cpuMs(pid) - before) * 2 <= idleMsPerSec + 5) return;
  }
}
