// `pnpm bench -- --broadcast`: the HTTP API's send path with the built admin and worker processes
// against the fake Graph API on loopback. Figures: API messages accepted per second (POST
// /api/v1/messages, 32 connections); a broadcast's send rate against the configured rate
// (WHATSAPP_SEND_RATE × BROADCAST_RATE_SHARE); and the send latency of API messages (which queue like
// replies) while the broadcast runs, beside the same latency without a broadcast.
import { createHash } from 'node:crypto';

const PHONE = '109876543210987';
const WABA = '5566778899';
const KEY = 'bench-api-key-secret-0001';
const pct = (arr, p) => (arr.length ? arr[Math.min(arr.length - 1, Math.floor((p / 100) * arr.length))] : NaN);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @param {object} o
 * @param {boolean} o.quick
 * @param {string} o.redisUrl
 * @param {string} o.prefix
 * @param {(file: string, env: Record<string, string>) => import('node:child_process').ChildProcess} o.spawnNode
 * @param {(child: any) => Promise<string>} o.firstLine
 * @param {(url: string, timeoutMs?: number) => Promise<void>} o.waitHttp
 * @param {any} o.Redis
 * @param {(s: string) => void} o.log
 * @param {(n: number, d?: number) => string} o.fmt
 */
export async function runBroadcastBench(o) {
  const rate = 80;
  const share = 0.5;
  const recipients = o.quick ? 2000 : 10000;
  const apiMessages = o.quick ? 1000 : 5000;
  const fakes = o.spawnNode('scripts/bench-fakes.mjs', { BENCH_WABA: WABA });
  const urls = JSON.parse(await o.firstLine(fakes));
  const base = { REDIS_URL: o.redisUrl, QUEUE_PREFIX: o.prefix, LOG_LEVEL: 'error', WHATSAPP_ACCESS_TOKEN: 'bench-token', WHATSAPP_GRAPH_URL: urls.graph, WHATSAPP_WABA_ID: WABA, WHATSAPP_PHONE_NUMBER_ID: PHONE };
  const worker = o.spawnNode('apps/worker/dist/main.js', { ...base, OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: urls.openai, WORKER_CONCURRENCY: '64', WHATSAPP_SEND_RATE: String(rate), BROADCAST_RATE_SHARE: String(share), WORKER_METRICS_PORT: '3931' });
  const admin = o.spawnNode('apps/admin/dist/main.js', { ...base, ADMIN_PORT: '3932', ADMIN_AUTH: 'off', API_KEYS: `bench:${KEY}` });
  await o.waitHttp('http://127.0.0.1:3931/readyz', 60_000);
  await o.waitHttp('http://127.0.0.1:3932/readyz', 60_000);
  const api = 'http://127.0.0.1:3932/api/v1';
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${KEY}` };
  const stats = async () => /** @type {Promise<{ times: Array<{ to: string, at: number }> }>} */ ((await fetch(urls.stats)).json());

  // customers who wrote in the last 24 h (their contacts, as the ingress notes them): API messages may reach them
  const redis = new o.Redis(o.redisUrl);
  const contacts = Array.from({ length: apiMessages + 400 }, (_, i) => `4917${String(i).padStart(8, '0')}`);
  const pipe = redis.pipeline();
  for (const userId of contacts) {
    const key = `${o.prefix}:sb:contact:whatsapp:default:${createHash('sha256').update(userId).digest('hex').slice(0, 24)}`;
    pipe.hset(key, 'ref', JSON.stringify({ channel: 'whatsapp', account: PHONE, userId }), 'last', String(Date.now()));
  }
  await pipe.exec();
  redis.disconnect();

  const postMessage = async (to, key) => {
    const r = await fetch(`${api}/messages`, { method: 'POST', headers: { ...headers, 'idempotency-key': key }, body: JSON.stringify({ channel: 'whatsapp', to, text: 'Your order has shipped.' }) });
    await r.arrayBuffer();
    return r.status;
  };
  /** API messages at `perSec` (paced), each timed from POST to its send at the fake Graph. */
  const pacedMessages = async (tos, perSec, tag) => {
    const postedAt = new Map();
    for (let i = 0; i < tos.length; i++) {
      postedAt.set(`+${tos[i]}`, Date.now());
      void postMessage(tos[i], `${tag}-${i}`);
      await sleep(1000 / perSec);
    }
    const end = Date.now() + 60_000;
    let lat = [];
    while (Date.now() < end) {
      const st = await stats();
      lat = st.times.filter((t) => postedAt.has(t.to)).map((t) => t.at - postedAt.get(t.to));
      if (lat.length >= tos.length) break;
      await sleep(200);
    }
    return lat.sort((a, b) => a - b);
  };

  const rows = [];
  try {
    // 1. API messages accepted per second (202), 32 connections
    o.log(`broadcast phase 1: ${apiMessages} POST /api/v1/messages, 32 connections`);
    let next = 0;
    const codes = {};
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < apiMessages) {
          const i = next++;
          const s = await postMessage(contacts[i], `accept-${i}`);
          codes[s] = (codes[s] ?? 0) + 1;
        }
      }),
    );
    const acceptRps = apiMessages / ((performance.now() - t0) / 1000);
    rows.push(['API messages accepted/s (32 conns)', o.fmt(acceptRps), '-', JSON.stringify(codes)]);
    // let their sends drain (they go at WHATSAPP_SEND_RATE)
    const drainEnd = Date.now() + 180_000;
    while (Date.now() < drainEnd && (await stats()).times.length < apiMessages) await sleep(500);

    // 2. API message send latency without a broadcast (baseline), 10 per second
    const quiet = await pacedMessages(contacts.slice(apiMessages, apiMessages + 100), 10, 'quiet');

    // 3. a broadcast, and API messages at 10 per second while it runs
    const numbers = Array.from({ length: recipients }, (_, i) => `4915${String(i).padStart(8, '0')}`);
    o.log(`broadcast phase 2: a broadcast of ${recipients} at WHATSAPP_SEND_RATE=${rate}, BROADCAST_RATE_SHARE=${share}`);
    const c0 = performance.now();
    const created = await fetch(`${api}/broadcasts`, { method: 'POST', headers: { ...headers, 'idempotency-key': `bench-${Date.now()}` }, body: JSON.stringify({ channel: 'whatsapp', template: { name: 'bench_offer', language: 'en_US' }, recipients: numbers.map((to, i) => ({ to, params: [`Customer ${i}`] })) }) });
    const createMs = performance.now() - c0;
    const { id } = /** @type {{ id: string }} */ (await created.json());
    if (created.status !== 202) throw new Error(`broadcast refused: ${created.status}`);
    const during = await pacedMessages(contacts.slice(apiMessages + 100, apiMessages + 400), 10, 'during');
    const bEnd = Date.now() + (recipients / (rate * share)) * 3000 + 60_000;
    /** @type {{ status?: string } | undefined} */
    let view;
    while (Date.now() < bEnd) {
      view = /** @type {{ status?: string }} */ (await (await fetch(`${api}/broadcasts/${id}`, { headers })).json());
      if (view.status === 'completed') break;
      await sleep(500);
    }
    const set = new Set(numbers.map((n) => `+${n}`));
    const times = (await stats()).times.filter((t) => set.has(t.to)).map((t) => t.at).sort((a, b) => a - b);
    const bRate = times.length > 1 ? (times.length - 1) / ((times[times.length - 1] - times[0]) / 1000) : NaN;
    rows.push([`broadcast sends/s (WHATSAPP_SEND_RATE=${rate}, share ${share})`, o.fmt(bRate, 1), o.fmt(rate * share, 1), `${times.length}/${recipients} sent, ${view?.status}; POST of ${recipients} recipients ${o.fmt(createMs)} ms`]);
    rows.push(['API message send latency p50 / p99 ms during broadcast', `${o.fmt(pct(during, 50))} / ${o.fmt(pct(during, 99))}`, `${o.fmt(pct(quiet, 50))} / ${o.fmt(pct(quiet, 99))}`, `baseline: no broadcast; ${during.length}/300 sent; 10 msg/s`]);
  } finally {
    for (const c of [admin, worker, fakes]) c.kill('SIGTERM');
    await new Promise((r) => (worker.exitCode === null ? worker.on('exit', r) : r()));
  }
  return rows;
}
