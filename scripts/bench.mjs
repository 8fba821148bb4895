// `pnpm bench`: runs the real ingress and worker processes against Redis and fake providers on
// loopback, each figure beside a baseline measured in the same run, and prints a table.
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { discoverRedis } from './redis-discovery.mjs';
import { firstLine, freePort, waitHttp } from './lib/proc.mjs';

const root = resolve(new URL('..', import.meta.url).pathname);
const require = createRequire(join(root, 'apps/worker/package.json'));
const { Redis } = require('ioredis');
const SECRET = 'bench_app_secret';
const quick = process.argv.includes('--quick');
const N_INGRESS = quick ? 3000 : 20000;
const N_E2E = quick ? 1000 : 5000;
const N_SLOW = quick ? 200 : 600;
process.env.TURBO_TELEMETRY_DISABLED = '1';
const log = (s) => process.stderr.write(`[bench] ${s}\n`);
const children = [];

/** `--profile DIR`: the gateway processes (apps/*) write V8 CPU profiles there when they exit. */
const profileAt = process.argv.indexOf('--profile');
const profileDir = profileAt >= 0 ? resolve(process.argv[profileAt + 1] ?? 'reports/profiles') : undefined;
/** `--kb-sizes 10000,100000`: knowledge base sizes (chunks) measured in phase 5 (default 10000; 2000 with --quick). */
const kbSizesAt = process.argv.indexOf('--kb-sizes');
/** `--record-only`: phase 6 alone (the record on vs off). */
const recordOnly = process.argv.includes('--record-only');
/** `--broadcast`: the HTTP API phase alone (API messages accepted/s, broadcast throughput against the configured rate, reply latency during a broadcast). */
const broadcastOnly = process.argv.includes('--broadcast');
/** `--ingress`: the ingress and CPU-per-message phases alone, against a private redis-server (see scripts/bench/ingress.bench.mjs). */
const ingressOnly = process.argv.includes('--ingress');
/** `--compare DIR` (with `--ingress`): also run the ingress and worker built in checkout DIR, in the same run. */
const compareAt = process.argv.indexOf('--compare');
const compareDir = compareAt >= 0 ? process.argv[compareAt + 1] : undefined;
/** `--phases AB` (with `--ingress`): only these of its phases A (closed loop), B (open loop), C (end to end), D (end to end with the record and knowledge, rising rates). */
const phasesAt = process.argv.indexOf('--phases');
const ingressPhases = phasesAt >= 0 ? process.argv[phasesAt + 1] : undefined;

function spawnNode(file, env, cwd = root) {
  const profile = profileDir && file.startsWith('apps/') ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(process.execPath, [...profile, file], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  child.stderr.on('data', (d) => {
    const s = d.toString();
    if (/error/i.test(s) && !/redis connection error/.test(s)) process.stderr.write(`[${file}] ${s}`);
  });
  return child;
}
/** @returns {Promise<any>} */
const getJson = async (url) => (await fetch(url)).json();

function delivery(i, run) {
  const waId = `1555${String(run).slice(-3)}${String(i).padStart(7, '0')}`;
  const wamid = `wamid.BENCH${run}x${i}`;
  const payload = {
    object: 'whatsapp_business_account',
    entry: [{ id: '100200300400500', changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: '15550001111', phone_number_id: '109876543210987' },
      contacts: [{ profile: { name: `Customer ${i}` }, wa_id: waId, user_id: `US.${run}${i}` }],
      messages: [{ from: waId, from_user_id: `US.${run}${i}`, id: wamid, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: `Hello, where is my order #${i}? It was due on Tuesday. Caf\u00e9 \ud83d\udc4b` } }],
    } }] }],
  };
  const body = Buffer.from(JSON.stringify(payload));
  return { body, sig: 'sha256=' + createHmac('sha256', SECRET).update(body).digest('hex'), to: `+${waId}` };
}

/** Closed-loop load: `concurrency` keep-alive connections send the bodies as fast as answered. */
async function load(url, items, concurrency) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const u = new URL(url);
  const lat = [];
  const statuses = {};
  const sentAt = new Array(items.length);
  let next = 0;
  const t0 = performance.now();
  async function one(item, idx) {
    const start = performance.now();
    sentAt[idx] = Date.now();
    const status = await new Promise((res) => {
      const req = http.request({ agent, host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': item.body.length, 'x-hub-signature-256': item.sig } }, (r) => {
        r.resume();
        r.on('end', () => res(r.statusCode));
      });
      req.on('error', () => res(0));
      req.end(item.body);
    });
    lat.push(performance.now() - start);
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) {
      const idx = next++;
      await one(items[idx], idx);
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  agent.destroy();
  lat.sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))];
  return { rps: items.length / secs, p50: pct(50), p99: pct(99), statuses, sentAt, secs };
}

async function dropPrefix(url, prefix) {
  const r = new Redis(url);
  let cursor = '0';
  do {
    const [nextCursor, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = nextCursor;
    if (keys.length) await r.unlink(...keys);
  } while (cursor !== '0');
  r.disconnect();
}

const rows = [];
/** @type {{ started?: boolean, pid?: number } | undefined} */
let benchRedis;
const fmt = (n, d = 0) => (typeof n === 'number' ? n.toFixed(d) : String(n));

async function main() {
  // the ingress phases count Redis's CPU: a redis-server of their own, nobody else's commands in it
  const redis = ingressOnly
    ? await discoverRedis({ dataDir: join(root, '.data/redis-bench-ingress'), port: await freePort(), aof: false, log, privateOnly: true })
    : await discoverRedis({ dataDir: join(root, '.data/redis-bench'), port: 6392, aof: false, log });
  benchRedis = redis;
  const run = Date.now();
  const prefix = `bench${run}`;
  const base = { REDIS_URL: redis.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'error', WHATSAPP_APP_SECRET: SECRET, WHATSAPP_VERIFY_TOKEN: 'bench', WHATSAPP_ACCESS_TOKEN: 'bench-token' };

  if (ingressOnly) {
    const { runIngressBench } = await import('./bench/ingress.bench.mjs');
    rows.push(...(await runIngressBench({ quick, root, compare: compareDir, phases: ingressPhases, redis, base, prefix, spawnNode, firstLine, waitHttp, delivery, load, dropPrefix, log, fmt, freePort })));
    return printRows(redis);
  }

  if (broadcastOnly) {
    const { runBroadcastBench } = await import('./bench/broadcast.bench.mjs');
    rows.push(...(await runBroadcastBench({ quick, redisUrl: redis.url, prefix, spawnNode, firstLine, waitHttp, Redis, log, fmt })));
    await dropPrefix(redis.url, prefix);
  }

  if (!recordOnly && !broadcastOnly) {
    // fakes in their own process
    const fakes = spawnNode('scripts/bench-fakes.mjs', {});
    const urls = JSON.parse(await firstLine(fakes));

    // 1. ingress vs bare express
    const bare = spawnNode('scripts/bench-bare.mjs', { PORT: '3911' });
    await firstLine(bare);
    const ingress = spawnNode('apps/whatsapp-ingress/dist/main.js', { ...base, WHATSAPP_PORT: '3912' });
    await waitHttp('http://127.0.0.1:3912/readyz');
    const warm = Array.from({ length: 500 }, (_, i) => delivery(i, run - 1));
    await load('http://127.0.0.1:3911/webhooks/whatsapp', warm, 32);
    await load('http://127.0.0.1:3912/webhooks/whatsapp', warm, 32);
    const items = Array.from({ length: N_INGRESS }, (_, i) => delivery(i, run));
    log(`phase 1: ${N_INGRESS} signed webhooks, 64 connections`);
    const b = await load('http://127.0.0.1:3911/webhooks/whatsapp', items, 64);
    const g = await load('http://127.0.0.1:3912/webhooks/whatsapp', items, 64);
    rows.push(['ingress webhooks/s (64 conns)', fmt(g.rps), fmt(b.rps), `${fmt((100 * g.rps) / b.rps)} %`]);
    rows.push(['ingress p50 / p99 ms', `${fmt(g.p50, 1)} / ${fmt(g.p99, 1)}`, `${fmt(b.p50, 1)} / ${fmt(b.p99, 1)}`, JSON.stringify(g.statuses)]);
    bare.kill('SIGTERM');
    await dropPrefix(redis.url, prefix);

    // 2. end to end with an instant LLM
    const worker = spawnNode('apps/worker/dist/main.js', { ...base, WHATSAPP_GRAPH_URL: urls.graph, OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: urls.openai, TURN_DEBOUNCE_MS: '0', TURN_MAX_WAIT_MS: '0', WORKER_CONCURRENCY: '64', WHATSAPP_SEND_RATE: '100000', WORKER_METRICS_PORT: '3913' });
    await waitHttp('http://127.0.0.1:3913/readyz');
    const e2eItems = Array.from({ length: N_E2E }, (_, i) => delivery(i, run + 1));
    log(`phase 2: ${N_E2E} messages end to end, instant LLM`);
    await getJson(`${urls.stats}/reset`);
    const e = await load('http://127.0.0.1:3912/webhooks/whatsapp', e2eItems, 32);
    const deadline = Date.now() + 180_000;
    let st;
    while (Date.now() < deadline) {
      st = await getJson(urls.stats);
      if (st.times.length >= N_E2E) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const sendAt = new Map(st.times.map((t) => [t.to, t.at]));
    const gw = e2eItems.map((it, i) => (sendAt.has(it.to) ? sendAt.get(it.to) - e.sentAt[i] : undefined)).filter((x) => x !== undefined).sort((a, b) => a - b);
    const firstPost = Math.min(...e.sentAt);
    const lastSend = Math.max(...st.times.map((t) => t.at));
    const e2eRate = st.times.length / ((lastSend - firstPost) / 1000);
    const pct = (arr, p) => arr[Math.min(arr.length - 1, Math.floor((p / 100) * arr.length))];
    rows.push(['end-to-end messages/s (instant LLM)', fmt(e2eRate), fmt(b.rps), `${st.times.length}/${N_E2E} replied`]);
    rows.push(['gateway latency p50 / p99 ms', `${fmt(pct(gw, 50))} / ${fmt(pct(gw, 99))}`, '-', 'webhook accepted → send at fake Graph']);
    worker.kill('SIGTERM');
    await new Promise((r) => worker.on('exit', r));
    await dropPrefix(redis.url, prefix);

    // 3. in-flight turns per worker with a 2 s LLM
    fakes.kill('SIGTERM');
    const slowFakes = spawnNode('scripts/bench-fakes.mjs', { BENCH_LLM_DELAY_MS: '2000' });
    const slow = JSON.parse(await firstLine(slowFakes));
    const concurrency = 256;
    const worker2 = spawnNode('apps/worker/dist/main.js', { ...base, WHATSAPP_GRAPH_URL: slow.graph, OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: slow.openai, TURN_DEBOUNCE_MS: '0', TURN_MAX_WAIT_MS: '0', WORKER_CONCURRENCY: String(concurrency), WHATSAPP_SEND_RATE: '100000', WORKER_METRICS_PORT: '3914' });
    await waitHttp('http://127.0.0.1:3914/readyz');
    const slowItems = Array.from({ length: N_SLOW }, (_, i) => delivery(i, run + 2));
    log(`phase 3: ${N_SLOW} messages, LLM takes 2 s, WORKER_CONCURRENCY=${concurrency}`);
    const s = await load('http://127.0.0.1:3912/webhooks/whatsapp', slowItems, 32);
    const end3 = Date.now() + 120_000;
    let st3;
    while (Date.now() < end3) {
      st3 = await getJson(slow.stats);
      if (st3.times.length >= N_SLOW) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const last3 = Math.max(...st3.times.map((t) => t.at));
    const rate3 = st3.times.length / ((last3 - Math.min(...s.sentAt)) / 1000);
    rows.push(['turns in flight per worker (2 s LLM)', fmt(st3.maxInFlight), `${concurrency} (limit)`, `${fmt(rate3, 1)} turns/s; ideal ${fmt(concurrency / 2)}`]);
    worker2.kill('SIGTERM');
    ingress.kill('SIGTERM');
    slowFakes.kill('SIGTERM');
    await new Promise((r) => worker2.on('exit', r));
    await dropPrefix(redis.url, prefix);

    // 4. WeChat: encrypted callbacks through the built wechat-ingress, and sync → reply end to end
    const { runWechatIngressBench } = await import('./bench/wechat-ingress.bench.mjs');
    const { runWechatPipelineBench } = await import('./bench/wechat-pipeline.bench.mjs');
    log('phase 4: WeChat ingress and sync → reply');
    const wxi = await runWechatIngressBench({ seconds: quick ? 3 : 8, connections: 32, redisUrl: redis.url });
    rows.push(['wechat callbacks/s (32 conns)', fmt(wxi.wechat.rps), fmt(wxi.baseline.rps), `${fmt(100 * wxi.ratio)} %; p50/p99 ${wxi.wechat.p50ms}/${wxi.wechat.p99ms} ms`]);
    const wxp = await runWechatPipelineBench({ messages: quick ? 100 : 400, concurrency: 16, redisUrl: redis.url });
    rows.push(['wechat sync → reply messages/s', fmt(wxp.messagesPerSec, 1), '-', `${wxp.replies}/${wxp.messages} replied; p50/p99 ${fmt(wxp.p50ms)}/${fmt(wxp.p99ms)} ms; ${wxp.syncCalls} sync_msg calls`]);

    // 5. knowledge base: ingestion and search at growing sizes (`--kb-sizes 10000,100000`; 100k takes minutes here)
    const { runKnowledgeBench, knowledgeBenchRows } = await import('./bench/knowledge.bench.mjs');
    const kbSizes = (kbSizesAt >= 0 ? process.argv[kbSizesAt + 1] : quick ? '2000' : '10000').split(',').map(Number);
    log(`phase 5: knowledge base at ${kbSizes.join(', ')} chunks`);
    rows.push(...knowledgeBenchRows(await runKnowledgeBench({ sizes: kbSizes, queries: quick ? 20 : 50, log })));

  }

  // 6. the record on vs off: the same traffic end to end, without and with the store
  const { runRecordBench, recordBenchRows } = await import('./bench/record.bench.mjs');
  if (broadcastOnly) return printRows(redis);
  let recordRun = 0;
  const startRecordPipeline = async (tag, env, mode) => {
    const n = recordRun++;
    const rp = `${prefix}rec${n}`;
    const rFakes = spawnNode('scripts/bench-fakes.mjs', {});
    const rUrls = JSON.parse(await firstLine(rFakes));
    const ingressPort = String(3921 + 2 * n);
    const metricsPort = String(3922 + 2 * n);
    const rIngress = spawnNode('apps/whatsapp-ingress/dist/main.js', { ...base, QUEUE_PREFIX: rp, WHATSAPP_PORT: ingressPort });
    const rWorker = spawnNode('apps/worker/dist/main.js', { ...base, ...env, QUEUE_PREFIX: rp, WHATSAPP_GRAPH_URL: rUrls.graph, OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: rUrls.openai, TURN_DEBOUNCE_MS: '0', TURN_MAX_WAIT_MS: '0', WORKER_CONCURRENCY: '64', WHATSAPP_SEND_RATE: '100000', WORKER_METRICS_PORT: metricsPort });
    await waitHttp(`http://127.0.0.1:${ingressPort}/readyz`);
    await waitHttp(`http://127.0.0.1:${metricsPort}/readyz`, 60_000);
    log(`record ${mode}: pipeline ${tag} up`);
    return {
      ingressUrl: `http://127.0.0.1:${ingressPort}`,
      statsUrl: rUrls.stats,
      stop: async () => {
        for (const c of [rWorker, rIngress, rFakes]) c.kill('SIGTERM');
        await new Promise((r) => (rWorker.exitCode === null ? rWorker.on('exit', r) : r()));
        await dropPrefix(redis.url, rp);
      },
    };
  };
  rows.push(...recordBenchRows(await runRecordBench({ messages: quick ? 500 : 3000, start: startRecordPipeline, load, delivery, log }), fmt));
  printRows(redis);
}

function printRows(redis) {
  const header = ['measure', 'gateway', 'baseline (same run)', 'note'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => '| ' + r.map((c, i) => String(c).padEnd(widths[i])).join(' | ') + ' |';
  console.log(line(header));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(r));
  stopRedis(redis);
}

function stopRedis(redis) {
  if (!redis?.started || !redis.pid) return;
  try {
    process.kill(redis.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    stopRedis(benchRedis);
  });
