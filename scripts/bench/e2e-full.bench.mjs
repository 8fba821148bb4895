// Phase D of `pnpm bench -- --ingress` (issue 19, goal 2): the whole gateway at rising open-loop
// rates with everything a production turn does on: the built whatsapp-ingress and a worker running
// all roles (the default TURN_DEBOUNCE_MS, WHATSAPP_SEND_RATE=1000), the record (DATABASE_URL: a
// database of its own, dropped afterwards) and knowledge retrieval (a few documents ingested first,
// hybrid search with the fake's embeddings), an instant fake LLM. Per rate: replies/s sustained (from
// the send times at the fake Graph API), replied/total, the gateway overhead of each message (send
// at the fake Graph − webhook sent − debounce; the LLM answers at once, so it adds nothing) p50/p99,
// and CPU ms per message of the ingress, the worker, Redis and the PostgreSQL backends serving the
// bench database. PASS/FAIL against ≥ 1,000 messages/s and overhead p99 < 50 ms.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuMs, openLoad } from '../lib/load.mjs';
import { testDatabaseFromDatabaseUrl } from '../lib/bench-db.mjs';

const require = createRequire(import.meta.url);
// the worker's own packages, resolved from the worker (the scripts package does not depend on them)
const workerRequire = createRequire(new URL('../../apps/worker/package.json', import.meta.url));
const { createLogger } = require('@switchboard/core');
const { acceptEnv } = workerRequire('@switchboard/queue');
const { openStore, sql } = require('@switchboard/store');
const { createTestDatabase } = require('@switchboard/testkit');
const { Embedder, KnowledgeRepo, ingestDocument, knowledgeEnv } = require('@switchboard/knowledge');
const { DEFAULT_AGENT_CONFIG_INPUT } = workerRequire('@switchboard/agent');
const { Redis } = require('ioredis');

/** Goal 2 of issue 19. */
export const GOAL = { messagesPerSec: 1000, overheadP99Ms: 50 };
/** The worker's defaults, from its own settings (not restated here). */
const DEBOUNCE_MS = acceptEnv.TURN_DEBOUNCE_MS.parse(undefined);
const DIMENSIONS = knowledgeEnv.EMBEDDING_DIMENSIONS.parse(undefined);
/** In every ingested chunk: the fake LLM counts the prompts that carry it. */
const KB_MARKER = 'kbmarker7731';

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN);
const passFail = (ok) => (ok ? 'PASS' : 'FAIL');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A small shop's knowledge base, about what the bench's customers ask (orders, delivery, Tuesday). */
const DOCUMENTS = [
  {
    title: 'Orders and delivery',
    text: `# Orders\n\n## Where is my order\nEvery order gets a tracking link by email once it leaves the warehouse (${KB_MARKER}). Orders placed before 2 pm ship the same day; an order due on Tuesday that has not arrived is usually one day late at most.\n\n## Delivery times\nStandard delivery takes 2–4 working days in the country, express 1 day. Deliveries are made Monday to Saturday (${KB_MARKER}).\n\n## Late orders\nIf your order is more than 3 days late, write to us with the order number and we will send a replacement or refund it (${KB_MARKER}).`,
  },
  {
    title: 'Returns and refunds',
    text: `# Returns\n\nYou can return any item within 30 days of delivery (${KB_MARKER}). Refunds reach your card within 5 working days after the return arrives. Sale items can be exchanged but not refunded.\n\n## How to return\nPrint the label from the email of your order, pack the item and drop it at any post office (${KB_MARKER}).`,
  },
  {
    title: 'Shipping abroad',
    text: `# International shipping\n\nWe ship to the EU, the UK, the US and Canada (${KB_MARKER}). Delivery abroad takes 5–10 working days; customs fees outside the EU are paid by the customer. Orders abroad are tracked the same way as at home (${KB_MARKER}).`,
  },
  {
    title: 'Payment',
    text: `# Payment\n\nWe accept cards, PayPal and bank transfer (${KB_MARKER}). An order ships once the payment is confirmed; a bank transfer takes 1–2 days. Invoices are sent by email with the order confirmation (${KB_MARKER}).`,
  },
  {
    title: '订单与配送',
    text: `# 订单\n\n订单发货后，我们会通过邮件发送物流追踪链接（${KB_MARKER}）。下午两点前的订单当天发货，标准配送需要2到4个工作日。如果订单延迟超过三天，请把订单号发给我们（${KB_MARKER}）。`,
  },
];

/** PostgreSQL backends (pids) serving database `name`, except the bench's own connection. */
async function backends(db, name) {
  const r = await sql`select pid from pg_stat_activity where datname = ${name} and pid <> pg_backend_pid()`.execute(db);
  return r.rows.map((x) => Number(/** @type {{ pid: number }} */ (x).pid));
}

/** CPU ms of a pid, or undefined when it is gone or unreadable. */
function tryCpu(pid) {
  try {
    return cpuMs(pid);
  } catch {
    return undefined;
  }
}

/**
 * CPU of the PostgreSQL backends of database `name` while `fn` runs: backends alive throughout count
 * their difference, backends started meanwhile all their CPU; backends that ended meanwhile are lost
 * (counted in `lost`). Background processes (WAL writer, checkpointer) serve every database and are
 * not counted.
 */
async function measurePg(db, name, fn) {
  if (!db) return { result: await fn(), pgMs: 0, lost: 0, readable: true, backends: 0 };
  const before = new Map();
  for (const pid of await backends(db, name)) {
    const c = tryCpu(pid);
    if (c !== undefined) before.set(pid, c);
  }
  const result = await fn();
  let ms = 0;
  let lost = 0;
  let readable = true;
  const after = await backends(db, name);
  for (const pid of after) {
    const c = tryCpu(pid);
    if (c === undefined) readable = false;
    else ms += c - (before.get(pid) ?? 0);
  }
  for (const pid of before.keys()) if (!after.includes(pid)) lost += 1;
  return { result, pgMs: ms, lost, readable: readable && (before.size > 0 || after.length > 0), backends: after.length };
}

/** Waits until the fake Graph API received a send for every item (or `timeoutMs` passed); returns the stats. */
async function waitAllSends(statsUrl, n, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  /** @type {{ times: Array<{ to: string, at: number }>, llmCalls: number, kbPrompts: number, embeddings: number }} */
  let st = { times: [], llmCalls: 0, kbPrompts: 0, embeddings: 0 };
  while (Date.now() < deadline) {
    st = /** @type {typeof st} */ (await (await fetch(statsUrl)).json());
    if (st.times.length >= n) break;
    await sleep(200);
  }
  return st;
}

/** Waits (at most 10 s) until a process uses no more than `idleMsPerSec` (+5 ms) of CPU per second. */
async function untilIdle(pid, idleMsPerSec) {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    const before = cpuMs(pid);
    await sleep(500);
    if ((cpuMs(pid) - before) * 2 <= idleMsPerSec + 5) return;
  }
}

/** Ingests {@link DOCUMENTS} through the knowledge package (chunks, fake embeddings) as the `knowledge` role would. */
async function ingestKnowledge(store, openaiUrl, log) {
  const repo = new KnowledgeRepo(store.db, store.vector.mode);
  const embedder = new Embedder(store.db, { apiKey: 'sk-bench', baseURL: openaiUrl, model: 'text-embedding-3-small', dimensions: DIMENSIONS });
  await repo.ensureVectorIndex(DIMENSIONS);
  const env = knowledgeEnv;
  const limits = Object.fromEntries(['KNOWLEDGE_MAX_BYTES', 'KNOWLEDGE_MAX_CHARS', 'KNOWLEDGE_CRAWL_MAX_PAGES', 'KNOWLEDGE_CRAWL_MAX_DEPTH', 'KNOWLEDGE_FETCH_TIMEOUT_MS'].map((k) => [k, env[k].parse(undefined)]));
  let chunks = 0;
  for (const d of DOCUMENTS) {
    const id = await repo.createDocument({ title: d.title, sourceKind: 'text' });
    await repo.saveSource(id, { text: d.text });
    // a text source is never fetched: the fetcher is not needed
    const out = await ingestDocument({ repo, embedder, fetcher: /** @type {any} */ (undefined), env: /** @type {any} */ (limits), enqueue: async () => {} }, id);
    if (out.status !== 'ready') throw new Error(`knowledge document ${d.title}: ${JSON.stringify(out)}`);
    chunks += out.chunks;
  }
  log(`ingress D: knowledge base of ${DOCUMENTS.length} documents, ${chunks} chunks (${store.vector.mode} vectors, ${DIMENSIONS} dimensions)`);
  return chunks;
}

/**
 * Runs `n` new customers' messages at `rate`/s open loop through a started pipeline and measures
 * replies, overhead and CPU (ingress, worker, Redis, the database's backends).
 */
async function step(o, pipe, urls, store, dbName, rate, n, run) {
  const items = Array.from({ length: n }, (_, k) => o.delivery(k, run));
  const want = new Set(items.map((it) => it.to));
  await fetch(`${urls.stats}/reset`).then((r) => r.arrayBuffer());
  const pids = [pipe.ingress.pid, pipe.worker.pid, /** @type {number} */ (o.redis.pid)];
  const before = pids.map(cpuMs);
  const t0 = performance.now();
  const secs = n / rate;
  const { result, pgMs, lost, readable } = await measurePg(store?.db, dbName, async () => {
    const sent = await openLoad(pipe.webhook, items, rate);
    // bounded: a pipeline that cannot keep up is measured on what it replied by then
    const st = await waitAllSends(urls.stats, n, DEBOUNCE_MS + 10_000 + 1000 * secs);
    if (st.times.length >= n) await untilIdle(/** @type {number} */ (pipe.worker.pid), pipe.idleMsPerSec);
    return { sent, st };
  });
  const cpu = pids.map((pid, i) => cpuMs(pid) - before[i]);
  const elapsed = (performance.now() - t0) / 1000;
  const { sent, st } = result;
  const mine = st.times.filter((t) => want.has(t.to));
  const sendAt = new Map(mine.map((t) => [t.to, t.at]));
  const overhead = [];
  items.forEach((it, i) => {
    if (sendAt.has(it.to)) overhead.push(/** @type {number} */ (sendAt.get(it.to)) - sent.sentAt[i] - DEBOUNCE_MS);
  });
  overhead.sort((a, b) => a - b);
  const at = mine.map((t) => t.at).sort((a, b) => a - b);
  // replies per second over the span of the sends (the offered load's span when the gateway keeps up)
  const sustained = at.length > 1 ? ((at.length - 1) * 1000) / Math.max(1, at[at.length - 1] - at[0]) : 0;
  const replied = new Set(mine.map((t) => t.to)).size;
  const done = Math.max(1, replied);
  const per = [...cpu, pgMs].map((x) => x / done);
  // net of what the processes burn doing nothing (BullMQ's polling, timers) over the same time, measured idle before
  const net = [...cpu, pgMs].map((x, i) => (x - pipe.idle[i] * elapsed) / done);
  return { rate, n, replied, sustained, p50: pct(overhead, 50), p99: pct(overhead, 99), max: overhead[overhead.length - 1], per, total: per.reduce((a, b) => a + b, 0), net, netTotal: net.reduce((a, b) => a + b, 0), kbPrompts: st.kbPrompts, llmCalls: st.llmCalls, lagMs: sent.maxLagMs, duplicates: mine.length - replied, pgReadable: readable, pgLost: lost };
}

/**
 * What phase D needs of the ingress bench's context (see runIngressBench).
 * @typedef {object} E2eFullContext
 * @property {boolean} quick
 * @property {{ url: string, pid?: number }} redis a private redis-server (its pid for CPU)
 * @property {Record<string, string>} base the processes' common environment
 * @property {string} prefix
 * @property {(file: string, env: Record<string, string>, cwd?: string) => import('node:child_process').ChildProcess} spawnNode
 * @property {(child: import('node:child_process').ChildProcess) => Promise<string>} firstLine
 * @property {(url: string, timeoutMs?: number) => Promise<void>} waitHttp
 * @property {(i: number, run: number) => { body: Buffer, sig: string, to: string }} delivery
 * @property {(url: string, prefix: string) => Promise<void>} dropPrefix
 * @property {(s: string) => void} log
 * @property {(n: any, d?: number) => string} fmt
 * @property {() => Promise<number>} freePort
 */

/**
 * @param {E2eFullContext} o
 * @returns {Promise<string[][]>}
 */
export async function runE2eFullBench(o) {
  const { fmt, log } = o;
  const rows = [];
  const rates = o.quick ? [100, 1000] : [50, 100, 250, 500, 1000];
  const secs = o.quick ? 3 : 5;
  const WARM = o.quick ? 200 : 400;
  testDatabaseFromDatabaseUrl();
  const db = await createTestDatabase('sb_bench_e2e');
  const dbName = new URL(db.url).pathname.slice(1);
  const store = await openStore({ url: db.url, log: createLogger({ service: 'bench-e2e', silent: true }), poolMax: 2 });
  const dir = mkdtempSync(join(tmpdir(), 'sb-bench-e2e-'));
  // the built-in defaults with knowledge off (the breakdown's "record only")
  const noKnowledge = join(dir, 'agent-no-knowledge.json');
  writeFileSync(noKnowledge, JSON.stringify({ ...DEFAULT_AGENT_CONFIG_INPUT, knowledge: { enabled: false } }));
  const fakes = o.spawnNode('scripts/bench-fakes.mjs', { BENCH_KB_MARKER: KB_MARKER });
  let run = Date.now();
  let pipeNo = 0;
  let messages = 0;
  /** rec_message rows of the pipelines stopped so far, and the fewest they should have written (2 per replied message) */
  const rec = { rows: 0, want: 0 };
  /** @type {Array<{ stop: () => Promise<void> }>} */
  const open = [];
  const redis = new Redis(o.redis.url, { maxRetriesPerRequest: 1 });
  try {
    const urls = JSON.parse(await o.firstLine(fakes));
    const chunks = await ingestKnowledge(store, urls.openai, log);

    /** Fresh ingress and worker (own queue prefix), warmed up: JIT, connections, pools. */
    const start = async (/** @type {Record<string, string>} */ extra) => {
      const p = `${o.prefix}d${pipeNo++}`;
      const [ingressPort, metricsPort] = [await o.freePort(), await o.freePort()];
      const env = { ...o.base, QUEUE_PREFIX: p, WHATSAPP_GRAPH_URL: urls.graph, OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: urls.openai, WHATSAPP_SEND_RATE: '1000', WORKER_CONCURRENCY: '64', ...extra };
      const ingress = o.spawnNode('apps/whatsapp-ingress/dist/main.js', { ...env, WHATSAPP_PORT: String(ingressPort) });
      const worker = o.spawnNode('apps/worker/dist/main.js', { ...env, WORKER_METRICS_PORT: String(metricsPort) });
      const pipe = {
        prefix: p,
        ingress,
        worker,
        webhook: `http://127.0.0.1:${ingressPort}/webhooks/whatsapp`,
        idleMsPerSec: 50,
        /** CPU ms per second idle: ingress, worker, Redis, PostgreSQL backends */
        idle: [0, 0, 0, 0],
        stop: async () => {
          for (const c of [worker, ingress]) if (c.exitCode === null) c.kill('SIGTERM');
          // they write their CPU profiles (--profile) on exit
          await Promise.all([worker, ingress].map((c) => new Promise((r) => (c.exitCode === null && c.signalCode === null ? c.on('exit', r) : r(undefined)))));
          await o.dropPrefix(o.redis.url, p);
        },
      };
      open.push(pipe);
      await o.waitHttp(`http://127.0.0.1:${ingressPort}/readyz`);
      await o.waitHttp(`http://127.0.0.1:${metricsPort}/readyz`, 60_000);
      const warm = Array.from({ length: WARM }, (_, k) => o.delivery(k, ++run));
      await fetch(`${urls.stats}/reset`).then((r) => r.arrayBuffer());
      await openLoad(pipe.webhook, warm, 100);
      await waitAllSends(urls.stats, warm.length, 60_000);
      if (extra.DATABASE_URL) messages += warm.length;
      await untilIdle(/** @type {number} */ (worker.pid), 50);
      const idlePids = [ingress.pid, worker.pid, o.redis.pid].map(Number);
      const idle = await measurePg(extra.DATABASE_URL ? store.db : undefined, dbName, async () => {
        const before = idlePids.map(cpuMs);
        await sleep(2000);
        return idlePids.map((pid, i) => (cpuMs(pid) - before[i]) / 2);
      });
      pipe.idle = [...idle.result, idle.pgMs / 2];
      pipe.idleMsPerSec = pipe.idle[1];
      return pipe;
    };
    const recRows = async () => Number(/** @type {{ n: number }} */ ((await sql`select count(*)::int as n from rec_message`.execute(store.db)).rows[0]).n);
    /** `record` jobs added so far on a pipeline (BullMQ's id counter moves on every add, custom ids included) */
    const recordAdds = async (/** @type {string} */ prefix) => Number((await redis.get(`${prefix}:record:id`)) ?? 0);
    const once = async (/** @type {Record<string, string>} */ extra, /** @type {number} */ rate, /** @type {string} */ what) => {
      const pipe = await start(extra);
      try {
        log(`ingress D: ${rate * secs} messages at ${rate}/s open loop (each a new customer), ${what}`);
        const addsBefore = await recordAdds(pipe.prefix);
        const r = await step(o, pipe, urls, extra.DATABASE_URL ? store : undefined, dbName, rate, rate * secs, ++run);
        if (extra.DATABASE_URL) {
          // the record role writes after the reply: wait for it (bounded) before the pipeline and its queues go
          messages += r.replied;
          rec.want = 2 * messages;
          const end = Date.now() + 20_000;
          while ((rec.rows = await recRows()) < rec.want && Date.now() < end) await sleep(200);
        }
        return { ...r, recordJobsPerMsg: ((await recordAdds(pipe.prefix)) - addsBefore) / Math.max(1, r.replied) };
      } finally {
        await pipe.stop();
        open.splice(open.indexOf(pipe), 1);
      }
    };
    const full = { DATABASE_URL: db.url };
    const cpuCell = (r) => `${fmt(r.total, 2)} = ${r.per.map((x) => fmt(x, 2)).join(' + ')}`;
    const netCell = (r) => `${fmt(r.netTotal, 2)} = ${r.net.map((x) => fmt(x, 2)).join(' + ')}`;

    // rising rates, each on a fresh pipeline (a backlog left by a rate it could not keep up with is not carried over)
    let best = 0;
    let behind = 0;
    /** @type {any[]} */
    const results = [];
    for (const rate of rates) {
      // once a rate is not kept up with, the higher ones below the goal's are not either: straight to the last
      if (behind && rate !== rates[rates.length - 1]) {
        rows.push([`D full e2e ${rate}/s (record + knowledge)`, 'not run', '-', `${behind}/s was not kept up with`]);
        continue;
      }
      const r = await once(full, rate, `debounce ${DEBOUNCE_MS} ms, record and knowledge on`);
      results.push(r);
      const keepsUp = r.replied >= 0.95 * r.n && r.sustained >= 0.95 * rate;
      if (keepsUp && r.p99 < GOAL.overheadP99Ms) best = Math.max(best, rate);
      if (!keepsUp && !behind) behind = rate;
      const goalRate = rate >= GOAL.messagesPerSec ? `${passFail(keepsUp && r.sustained >= 0.95 * GOAL.messagesPerSec)} ≥ ${GOAL.messagesPerSec}/s; ` : '';
      rows.push([
        `D full e2e ${rate}/s (record + knowledge): replies/s; overhead p50/p99 ms; CPU ms/msg ingress + worker + Redis + PG`,
        `${fmt(r.sustained)}; ${fmt(r.p50)}/${fmt(r.p99)}; ${cpuCell(r)}`,
        `offered ${rate}/s; debounce ${DEBOUNCE_MS} ms`,
        `${goalRate}overhead ${passFail(r.p99 < GOAL.overheadP99Ms)} p99 < ${GOAL.overheadP99Ms} ms; CPU net of idle ${netCell(r)}; ${r.replied}/${r.n} replied${r.replied < r.n ? ` within ${fmt((DEBOUNCE_MS + 10_000) / 1000 + secs)} s` : ''}; knowledge in ${r.kbPrompts}/${r.llmCalls} prompts; ${fmt(r.recordJobsPerMsg, 2)} record jobs/msg; ${r.duplicates} duplicate sends; overhead max ${fmt(r.max)} ms; generator lag max ${fmt(r.lagMs, 1)} ms${r.pgReadable ? '' : '; PG CPU unreadable'}${r.pgLost ? `; ${r.pgLost} PG backends ended (CPU lost)` : ''}`,
      ]);
    }

    // where a message's CPU goes: the same rate again without the store, and with the record only (net of idle)
    const low = rates.includes(100) ? 100 : rates[0];
    const none = await once({}, low, 'breakdown: no store (no record, no knowledge)');
    const recOnly = await once({ ...full, AGENT_CONFIG: noKnowledge }, low, 'breakdown: record only (knowledge off)');
    const both = results.find((r) => r.rate === low) ?? (await once(full, low, 'breakdown: record and knowledge'));
    const d = (a, b) => a.net.map((x, i) => x - b.net[i]);
    const recCost = d(recOnly, none);
    const kbCost = d(both, recOnly);
    const sum = (xs) => xs.reduce((a, b) => a + b, 0);
    rows.push([
      `D breakdown at ${low}/s: CPU ms/msg net of idle, ingress + worker + Redis + PG`,
      `no store ${netCell(none)}`,
      `record only ${netCell(recOnly)}`,
      `record costs ${fmt(sum(recCost), 2)} (${recCost.map((x) => fmt(x, 2)).join(' + ')}), knowledge retrieval ${fmt(sum(kbCost), 2)} (${kbCost.map((x) => fmt(x, 2)).join(' + ')}) of ${netCell(both)}; replied ${none.replied}/${none.n}, ${recOnly.replied}/${recOnly.n}; overhead p99 ${fmt(none.p99)}, ${fmt(recOnly.p99)} ms; record jobs/msg ${fmt(recOnly.recordJobsPerMsg, 2)}, ${fmt(both.recordJobsPerMsg, 2)}`,
    ]);

    // every turn's query text is embedded and cached in the store (kb_embedding_cache): how much that left
    const cache = /** @type {{ n: number, bytes: string }} */ ((await sql`select count(*)::int as n, pg_total_relation_size('kb_embedding_cache')::text as bytes from kb_embedding_cache`.execute(store.db)).rows[0]);
    rows.push([
      'D max sustainable rate (replies keep up ≥ 95 %, overhead p99 < 50 ms)',
      `${best}/s`,
      `goal ${GOAL.messagesPerSec}/s`,
      `${passFail(best >= GOAL.messagesPerSec)}; record: ${rec.rows} rec_message rows for ${messages} replied messages (${passFail(rec.rows >= rec.want)} ≥ 2 each: the message and the reply; unanswered accepted messages add theirs); knowledge: ${chunks} chunks, kb_embedding_cache ${cache.n} rows, ${fmt(Number(cache.bytes) / 1e6, 1)} MB`,
    ]);
  } finally {
    for (const pipe of open) await pipe.stop();
    if (fakes.exitCode === null) fakes.kill('SIGTERM');
    redis.disconnect();
    await store.close();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
