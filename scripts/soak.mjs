// `pnpm soak`: chaos soak of the real processes on loopback. Starts a private redis-server with AOF,
// the WhatsApp ingress, N worker processes and the fake providers (scripts/soak-fakes.mjs), sends
// signed WhatsApp deliveries (bursts inside conversations, 30 % redelivered: half concurrently, half
// later), and meanwhile kill -9s workers, restarts the ingress and Redis, makes Graph answer
// 429/5xx/timeouts in bursts and the LLM fail and go slow. Then it checks every reply:
// lost = 0, duplicate replies = 0, per-conversation order violations = 0 (exit 1 otherwise).
//
// Options (defaults = the full soak):
//   --messages 10000 --conversations 500 --seconds 120 --workers 3
//   --fsync everysec|always   (appendfsync of the private Redis)
//   --redelivered 0.3 --late-max 60   (fraction redelivered; max delay of a late copy, seconds)
//   --kill-every 4            (seconds between worker kill -9s; 0 = none)
//   --drain-timeout 300       (seconds to wait for the backlog after the load)
//   --no-chaos                (same load without faults: a baseline)
//   --json                    (print one JSON line with the figures last)
//
// Duplicates whose first copy reached Graph within 1 s of a worker kill -9 are reported separately
// as the documented crash window (provider accepted, ledger not yet written); any other duplicate
// fails the run. LLM failures come 2 in a row, below the agent's 3 attempts per request, so every
// turn gets a model answer (a third failure would make the agent answer with its apology text).
//
// A webhook is retried by the load generator on anything but 200, like the provider does: a message
// counts as accepted when one delivery of it got 200, and lost when accepted but never answered.
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { firstLine, freePort, spawnTracked as track, waitHttp } from './lib/proc.mjs';

const root = resolve(new URL('..', import.meta.url).pathname);
const require = createRequire(join(root, 'apps/worker/package.json'));
const { Redis } = require('ioredis');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = process.argv[i + 1];
  return typeof def === 'number' ? Number(v) : v;
}
const N = arg('messages', 10000);
const M = arg('conversations', 500);
const SECONDS = arg('seconds', 120);
const WORKERS = arg('workers', 3);
const FSYNC = arg('fsync', 'everysec');
const REDELIVERED = arg('redelivered', 0.3);
const LATE_MAX_S = arg('late-max', Math.max(5, Math.round(SECONDS / 2)));
const KILL_EVERY_S = arg('kill-every', 4);
const NO_CHAOS = process.argv.includes('--no-chaos');
const DRAIN_TIMEOUT_S = arg('drain-timeout', 300);
const JSON_OUT = process.argv.includes('--json');
/** A duplicate whose first copy reached Graph this close to a worker kill -9 is the documented crash window. */
const CRASH_WINDOW_MS = 1000;
const SECRET = 'soak_app_secret';
const PNID = '109876543210987';
const log = (s) => process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = new Set();

if (!['everysec', 'always'].includes(FSYNC)) throw new Error('--fsync must be everysec or always');
for (const app of ['whatsapp-ingress', 'worker']) {
  if (!existsSync(join(root, 'apps', app, 'dist/main.js'))) throw new Error(`apps/${app}/dist/main.js is missing: run \`pnpm build\` first`);
}
if (!existsSync(join(root, 'packages/testkit/dist/index.js'))) throw new Error('packages/testkit/dist is missing: run `pnpm build` first');
if (spawnSync('sh', ['-c', 'command -v redis-server']).status !== 0) throw new Error('redis-server is not on PATH (the soak needs a private Redis it can restart)');


const spawnTracked = (cmd, args, env, label) => track(children, cmd, args, { cwd: root, env, label, tailBytes: 65536 });
async function killHard(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}
const post = (url, body) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());

// ---------------------------------------------------------------- Redis (private, AOF)
const redisDir = mkdtempSync(join(tmpdir(), 'sb-soak-redis-'));
const redisPort = await freePort();
const redisUrl = `redis://127.0.0.1:${redisPort}`;
let redisProc;
async function startRedis() {
  redisProc = spawnTracked(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', redisDir, '--appendonly', 'yes', '--appendfsync', FSYNC, '--save', '', '--maxmemory-policy', 'noeviction'],
    {},
    'redis',
  );
  const probe = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  for (let i = 0; i < 200; i++) {
    try {
      await probe.connect();
      // AOF replay done when LOADING is over
      const info = await probe.info('persistence');
      if (/loading:0/.test(info)) {
        probe.disconnect();
        return;
      }
    } catch {}
    probe.disconnect();
    await sleep(100);
  }
  throw new Error('redis-server did not come up');
}

// ---------------------------------------------------------------- the gateway processes
const prefix = 'soak';
const ingressPort = await freePort();
const ingressUrl = `http://127.0.0.1:${ingressPort}/webhooks/whatsapp`;
let fakes;
let urls;
let baseEnv;
let ingress;
const workers = [];
function startIngress() {
  ingress = spawnTracked(process.execPath, ['apps/whatsapp-ingress/dist/main.js'], { ...baseEnv, WHATSAPP_PORT: String(ingressPort) }, 'whatsapp-ingress');
  return waitHttp(`http://127.0.0.1:${ingressPort}/readyz`);
}
async function startWorker(i) {
  const port = await freePort();
  const w = spawnTracked(
    process.execPath,
    ['apps/worker/dist/main.js'],
    {
      ...baseEnv,
      WHATSAPP_GRAPH_URL: urls.graph,
      OPENAI_API_KEY: 'sk-soak',
      OPENAI_BASE_URL: urls.openai,
      TURN_DEBOUNCE_MS: '400',
      TURN_MAX_WAIT_MS: '2000',
      WORKER_CONCURRENCY: '32',
      WHATSAPP_SEND_RATE: '1000',
      WORKER_METRICS_PORT: String(port),
    },
    `worker-${i}`,
  );
  w.metricsPort = port;
  workers[i] = w;
  return w;
}

// ---------------------------------------------------------------- load
const run = Date.now().toString(36);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const convPhone = (c) => `1555${String(c).padStart(7, '0')}`;
function deliveryBody(c, k) {
  const waId = convPhone(c);
  const payload = {
    object: 'whatsapp_business_account',
    entry: [{ id: '100200300400500', changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: '15550001111', phone_number_id: PNID },
      contacts: [{ profile: { name: `Soak ${c}` }, wa_id: waId }],
      messages: [{ from: waId, id: `wamid.SOAK${run}c${c}k${k}`, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: `soak probe #c${c}:${k} zqx` } }],
    } }] }],
  };
  return Buffer.from(JSON.stringify(payload));
}
const sign = (body) => 'sha256=' + createHmac('sha256', SECRET).update(body).digest('hex');
const statuses = {};
function postOnce(body) {
  return new Promise((done) => {
    const req = http.request(
      { agent, host: '127.0.0.1', port: ingressPort, path: '/webhooks/whatsapp', method: 'POST', timeout: 10_000, headers: { 'content-type': 'application/json', 'content-length': body.length, 'x-hub-signature-256': sign(body) } },
      (r) => {
        r.resume();
        r.on('end', () => done(r.statusCode));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => done(0));
    req.end(body);
  });
}
/** Delivers like the provider: retries on anything but 200 with backoff, for at most `budgetMs`. */
async function deliver(body, budgetMs = 120_000) {
  const end = Date.now() + budgetMs;
  let wait = 100;
  for (let attempt = 0; attempt < 200 && Date.now() < end; attempt++) {
    const s = await postOnce(body);
    statuses[s] = (statuses[s] ?? 0) + 1;
    if (s === 200) return Date.now();
    await sleep(wait);
    wait = Math.min(wait * 2, 2000);
  }
  return undefined;
}

/** message key `c:k` → { acceptedAt, firstSentAt } */
const messages = new Map();
let redeliveries = 0;
const late = [];
async function conversationLoad(c, count, t0) {
  // spread the conversation's messages over the window in bursts of 1–4 messages 30–150 ms apart
  const windowMs = SECONDS * 1000;
  let k = 0;
  while (k < count) {
    const burst = Math.min(count - k, 1 + Math.floor(Math.random() * 4));
    const startAt = t0 + Math.random() * windowMs * ((k + burst) / count);
    const delay = startAt - Date.now();
    if (delay > 0) await sleep(delay);
    for (let b = 0; b < burst; b++, k++) {
      const key = `${c}:${k}`;
      const body = deliveryBody(c, k);
      const rec = { c, k, firstSentAt: Date.now(), acceptedAt: undefined };
      messages.set(key, rec);
      const r = Math.random();
      if (r < REDELIVERED / 2) {
        // a concurrent copy (Meta sometimes delivers twice at once)
        redeliveries += 1;
        void deliver(body);
      } else if (r < REDELIVERED) {
        // a later copy
        redeliveries += 1;
        late.push(sleep(Math.random() * LATE_MAX_S * 1000).then(() => deliver(body)));
      }
      // the next message of the conversation is sent only once this one is accepted, so acceptance
      // order is the conversation's order (what the order check compares against)
      rec.acceptedAt = await deliver(body);
      await sleep(30 + Math.random() * 120);
    }
  }
}

// ---------------------------------------------------------------- chaos
const chaosLog = [];
/** When a worker was kill -9ed (for classifying duplicates). */
const killTimes = [];
const note = (s) => {
  chaosLog.push(`${((Date.now() - loadStart) / 1000).toFixed(1)}s ${s}`);
  log(s);
};
let loadStart = Date.now();
let chaosOn = true;
async function chaos() {
  const T = SECONDS * 1000;
  const at = (frac) => loadStart + frac * T;
  const plan = [
    [0.15, async () => { await post(`${urls.control}/chaos/graph`, { mode: '429' }); note('graph: 429 (130429) burst'); }],
    [0.2, async () => { await post(`${urls.control}/chaos/graph`, { mode: 'off' }); note('graph: ok'); }],
    [0.25, async () => { await post(`${urls.control}/chaos/llm`, { fail: 2, status: 429 }); note('llm: 2 × 429'); }],
    [0.3, async () => { note('ingress: kill -9 + restart'); await killHard(ingress); await startIngress(); }],
    [0.35, async () => { await post(`${urls.control}/chaos/graph`, { mode: '5xx' }); note('graph: 503 burst'); }],
    [0.4, async () => { await post(`${urls.control}/chaos/graph`, { mode: 'off' }); note('graph: ok'); }],
    [0.5, async () => { note('redis: kill -9 + restart (AOF, same port/dir)'); await killHard(redisProc); await sleep(500); await startRedis(); note('redis: back'); }],
    [0.6, async () => { await post(`${urls.control}/chaos/llm`, { delayMs: 3000 }); note('llm: slow (3 s)'); }],
    [0.65, async () => { await post(`${urls.control}/chaos/graph`, { mode: 'timeout' }); note('graph: timeouts (request dropped)'); }],
    [0.7, async () => { await post(`${urls.control}/chaos/graph`, { mode: 'off' }); note('graph: ok'); }],
    [0.75, async () => { await post(`${urls.control}/chaos/llm`, { delayMs: 0, fail: 2, status: 500 }); note('llm: fast again, 2 × 500'); }],
  ];
  const killer = (async () => {
    if (KILL_EVERY_S <= 0) return;
    let n = 0;
    while (chaosOn && Date.now() < loadStart + T && n < 1000) {
      await sleep(KILL_EVERY_S * 1000 * (0.5 + Math.random()));
      if (!chaosOn || Date.now() >= loadStart + T) break;
      const i = Math.floor(Math.random() * WORKERS);
      note(`worker-${i}: kill -9`);
      killTimes.push(Date.now());
      await killHard(workers[i]);
      await sleep(300);
      await startWorker(i);
      n += 1;
    }
  })();
  for (const [frac, action] of plan) {
    const d = at(frac) - Date.now();
    if (d > 0) await sleep(d);
    if (!chaosOn) break;
    await action().catch((err) => note(`chaos step failed: ${err.message}`));
  }
  await killer;
}

// ---------------------------------------------------------------- observation
let maxMemory = 0;
let memTimer;
function watchMemory() {
  const r = new Redis(redisUrl, { maxRetriesPerRequest: 1, retryStrategy: () => 500 });
  r.on('error', () => undefined);
  memTimer = setInterval(async () => {
    try {
      const info = await r.info('memory');
      const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
      maxMemory = Math.max(maxMemory, used);
    } catch {}
  }, 1000);
  return r;
}
const sends = [];
async function pullSends() {
  const r = await fetch(`${urls.control}/sends?from=${sends.length}`).then((x) => x.json());
  sends.push(...r.sends);
}

function analyse() {
  const accepted = [...messages.values()].filter((m) => m.acceptedAt !== undefined);
  const byConv = new Map();
  const answeredAt = new Map();
  const seen = new Map();
  let duplicates = 0;
  let crashWindowDuplicates = 0;
  let misrouted = 0;
  let noProbe = 0;
  for (const s of sends) {
    const tokens = s.text.match(/#c\d+:\d+/g) ?? [];
    if (tokens.length === 0) noProbe += 1;
    for (const t of tokens) {
      const [c, k] = t.slice(2).split(':').map(Number);
      if (`+${convPhone(c)}` !== s.to && convPhone(c) !== s.to) misrouted += 1;
      const key = `${c}:${k}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      if (seen.get(key) > 1) {
        duplicates += 1;
        // the documented window: the first copy reached the provider while (or just before) its
        // sender was killed, so the ledger never recorded it and the recovered job sent it again
        const first = answeredAt.get(key);
        if (killTimes.some((t) => Math.abs(first - t) <= CRASH_WINDOW_MS)) crashWindowDuplicates += 1;
        continue; // order is checked on first deliveries only
      }
      answeredAt.set(key, s.at);
      if (!byConv.has(c)) byConv.set(c, []);
      byConv.get(c).push(k);
    }
  }
  let orderViolations = 0;
  const suspects = new Set();
  for (const [c, ks] of byConv) {
    for (let i = 1; i < ks.length; i++) {
      if (ks[i] <= ks[i - 1]) {
        orderViolations += 1;
        suspects.add(c);
      }
    }
  }
  const lostKeys = accepted.filter((m) => !seen.has(`${m.c}:${m.k}`)).map((m) => `${m.c}:${m.k}`);
  for (const k of lostKeys) suspects.add(Number(k.split(':')[0]));
  const detail = [...suspects].slice(0, 10).map((c) => `c${c}: replies ${sends.filter((s) => s.to === `+${convPhone(c)}` || s.to === convPhone(c)).map((s) => `[${(s.text.match(/#c\d+:\d+/g) ?? []).map((t) => t.split(':')[1]).join(',')}]@${((s.at - loadStart) / 1000).toFixed(1)}s`).join(' ')}`);
  const lat = accepted.filter((m) => answeredAt.has(`${m.c}:${m.k}`)).map((m) => answeredAt.get(`${m.c}:${m.k}`) - m.acceptedAt).sort((a, b) => a - b);
  const pct = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] : NaN);
  return { detail, crashWindowDuplicates, accepted: accepted.length, notAccepted: messages.size - accepted.length, replies: sends.length, answered: answeredAt.size, lost: lostKeys.length, lostKeys: lostKeys.slice(0, 20), duplicates, orderViolations, misrouted, noProbe, p50: pct(50), p99: pct(99), max: lat.at(-1) };
}

// ---------------------------------------------------------------- main
let exitCode = 1;
let memClient;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const c of [...children]) c.kill('SIGKILL');
    rmSync(redisDir, { recursive: true, force: true });
    process.exit(130);
  });
}
try {
  log(`${N} messages / ${M} conversations / ${SECONDS} s window / ${WORKERS} workers / appendfsync ${FSYNC} / ${Math.round(REDELIVERED * 100)} % redelivered`);
  await startRedis();
  fakes = spawnTracked(process.execPath, ['scripts/soak-fakes.mjs'], {}, 'fakes');
  urls = JSON.parse(await firstLine(fakes));
  baseEnv = { REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn', WHATSAPP_APP_SECRET: SECRET, WHATSAPP_VERIFY_TOKEN: 'soak', WHATSAPP_ACCESS_TOKEN: 'soak-token' };
  await startIngress();
  for (let i = 0; i < WORKERS; i++) await startWorker(i);
  await Promise.all(
    workers.map((w) =>
      waitHttp(`http://127.0.0.1:${w.metricsPort}/readyz`, 60_000).catch((err) => {
        throw new Error(`${w.label}: ${err.message}\n${w.tail.slice(-2000)}`);
      }),
    ),
  );
  memClient = watchMemory();

  loadStart = Date.now();
  const per = Array.from({ length: M }, (_, c) => Math.floor(N / M) + (c < N % M ? 1 : 0));
  const chaosDone = NO_CHAOS ? Promise.resolve() : chaos();
  const pullTimer = setInterval(() => void pullSends().catch(() => undefined), 2000);
  await Promise.all(per.map((count, c) => conversationLoad(c, count, loadStart)));
  const loadEnd = Date.now();
  log(`load sent in ${((loadEnd - loadStart) / 1000).toFixed(1)} s; waiting for late redeliveries and chaos`);
  chaosOn = false;
  await chaosDone;
  await post(`${urls.control}/chaos/graph`, { mode: 'off' });
  await post(`${urls.control}/chaos/llm`, { delayMs: 0 });
  await Promise.all(late);
  const lastAccepted = Math.max(...[...messages.values()].map((m) => m.acceptedAt ?? 0));
  // drain: until every accepted message is answered and the turn/outbound queues are empty
  const q = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  q.on('error', () => undefined);
  const drainEnd = Date.now() + DRAIN_TIMEOUT_S * 1000;
  let drainedAt;
  let drainTicks = 0;
  while (Date.now() < drainEnd) {
    await pullSends().catch(() => undefined);
    const a = analyse();
    let backlog = 0;
    for (const name of ['inbound', 'turn', 'outbound-whatsapp']) {
      const [w, d, act, pr] = await Promise.all([q.llen(`${prefix}:${name}:wait`), q.zcard(`${prefix}:${name}:delayed`), q.llen(`${prefix}:${name}:active`), q.zcard(`${prefix}:${name}:prioritized`)]).catch(() => [1, 0, 0, 0]);
      backlog += w + d + act + pr;
    }
    if (a.lost === 0 && backlog === 0) {
      drainedAt = Date.now();
      break;
    }
    if (++drainTicks % 10 === 0) log(`draining: ${a.answered}/${a.accepted} answered, ${a.replies} replies, backlog ${backlog}, lost so far e.g. ${a.lostKeys.slice(0, 5).join(' ')}`);
    await sleep(500);
  }
  clearInterval(pullTimer);
  // a little longer: anything sent after the drain would be a duplicate
  await sleep(3000);
  await pullSends();
  const failed = {};
  for (const name of ['inbound', 'turn', 'outbound-whatsapp']) failed[name] = await q.zcard(`${prefix}:${name}:failed`);
  // diagnostics: conversations with unfinished turns, and jobs that failed or are still waiting
  const stuck = [];
  let cursor = '0';
  let scans = 0;
  do {
    const [next, keys] = await q.scan(cursor, 'MATCH', `${prefix}:sb:turn:*`, 'COUNT', 1000);
    cursor = next;
    for (const k of keys) {
      const h = await q.hgetall(k);
      const conv = k.slice(`${prefix}:sb:turn:`.length);
      const mb = await q.llen(`${prefix}:sb:mb:${conv}`);
      if (h.pending || h.running || mb > 0) stuck.push(`${conv} ${JSON.stringify(h)} mailbox=${mb}`);
    }
  } while (cursor !== '0' && ++scans < 1000);
  const jobsOf = async (name, state) => {
    const ids = state === 'wait' ? await q.lrange(`${prefix}:${name}:wait`, 0, 20) : await q.zrange(`${prefix}:${name}:${state}`, 0, 20);
    return Promise.all(ids.map(async (id) => {
      const [reason, started, made] = await q.hmget(`${prefix}:${name}:${id}`, 'failedReason', 'ats', 'atm');
      return `${name}/${state} ${id} started=${started} made=${made}${reason ? ` reason=${reason}` : ''}`;
    }));
  };
  const jobNotes = [];
  for (const name of ['turn', 'outbound-whatsapp']) for (const st of ['failed', 'delayed', 'wait']) jobNotes.push(...(await jobsOf(name, st)));
  q.disconnect();
  const a = analyse();
  const result = {
    command: `node scripts/soak.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    messages: messages.size,
    conversations: M,
    workers: WORKERS,
    appendfsync: FSYNC,
    redeliveries,
    webhookStatuses: statuses,
    accepted: a.accepted,
    neverAccepted: a.notAccepted,
    repliesDelivered: a.replies,
    messagesAnswered: a.answered,
    lost: a.lost,
    duplicates: a.duplicates - a.crashWindowDuplicates,
    crashWindowDuplicates: a.crashWindowDuplicates,
    orderViolations: a.orderViolations,
    misrouted: a.misrouted,
    repliesWithoutProbe: a.noProbe,
    latencyMs: { p50: a.p50, p99: a.p99, max: a.max },
    maxRedisMemoryMB: +(maxMemory / 1048576).toFixed(1),
    drainSeconds: drainedAt ? +((drainedAt - Math.max(loadEnd, lastAccepted)) / 1000).toFixed(1) : null,
    loadSeconds: +((loadEnd - loadStart) / 1000).toFixed(1),
    failedJobs: failed,
    ...(stuck.length ? { unfinishedConversations: stuck.slice(0, 20) } : {}),
    ...(jobNotes.length ? { jobNotes: jobNotes.slice(0, 40) } : {}),
    chaos: chaosLog,
    ...(a.lostKeys.length ? { lostSample: a.lostKeys } : {}),
    ...(a.detail.length ? { suspectConversations: a.detail } : {}),
  };
  const rows = [
    ['messages sent (unique) / accepted', `${result.messages} / ${result.accepted}`],
    ['redelivered copies', result.redeliveries],
    ['webhook statuses', JSON.stringify(statuses)],
    ['replies delivered', result.repliesDelivered],
    ['lost', result.lost],
    ['duplicate replies (unexplained)', result.duplicates],
    ['duplicates in the kill -9 crash window', `${result.crashWindowDuplicates} (first copy reached Graph within ${CRASH_WINDOW_MS} ms of a worker kill; see docs/reliability.md)`],
    ['order violations', result.orderViolations],
    ['misrouted', result.misrouted],
    ['latency webhook→reply p50 / p99 / max (ms)', `${result.latencyMs.p50} / ${result.latencyMs.p99} / ${result.latencyMs.max}`],
    ['max Redis used_memory (MB)', result.maxRedisMemoryMB],
    ['drain time after load (s)', result.drainSeconds ?? `not drained in ${DRAIN_TIMEOUT_S} s`],
    ['failed jobs', JSON.stringify(failed)],
  ];
  for (const [k, v] of rows) console.log(`${k.padEnd(46)} ${v}`);
  console.log(`chaos: ${chaosLog.join(' | ')}`);
  for (const d of a.detail) console.log(`suspect ${d}`);
  for (const d of stuck.slice(0, 20)) console.log(`unfinished ${d}`);
  for (const d of jobNotes.slice(0, 40)) console.log(`job ${d}`);
  if (JSON_OUT) console.log(JSON.stringify(result));
  exitCode = result.lost === 0 && result.duplicates === 0 && result.orderViolations === 0 && result.misrouted === 0 && drainedAt ? 0 : 1;
  if (exitCode !== 0) {
    for (const c of [...workers, ingress]) if (c) log(`--- ${c.label} output tail ---\n${c.tail.slice(-4000)}`);
  }
} catch (err) {
  log(`soak failed: ${err instanceof Error ? err.stack : String(err)}`);
  exitCode = 2;
} finally {
  clearInterval(memTimer);
  memClient?.disconnect();
  agent.destroy();
  chaosOn = false;
  for (const c of [...children]) c.kill('SIGKILL');
  await sleep(200);
  rmSync(redisDir, { recursive: true, force: true });
  process.exit(exitCode);
}
