// `pnpm soak`: chaos soak of the real processes on loopback, on all three channels. Starts a private
// redis-server with AOF, the WhatsApp, WeChat Kefu and Chatwoot ingresses, N worker processes and the
// fake providers (scripts/soak-fakes.mjs: Graph, WeCom, Chatwoot and OpenAI behind chaos fronts),
// sends realistic deliveries in bursts inside conversations, and meanwhile kill -9s workers,
// restarts ingresses and Redis, makes the providers answer errors in bursts and the LLM fail and go
// slow. Then it checks every reply a customer received, per channel and in total: lost = 0,
// duplicate replies = 0, per-conversation order violations = 0, misrouted = 0 (exit 1 otherwise).
//
// Traffic (default split of messages and conversations: 60 % WhatsApp, 25 % WeChat, 15 % Chatwoot):
// - WhatsApp: signed (X-Hub-Signature-256) `messages` webhooks. Graph reports every accepted send
//   back with signed `statuses` webhooks (`sent`, then `delivered`, echoing biz_opaque_callback_data),
//   retried on anything but 200 (see soak-fakes.mjs).
// - WeChat Kefu: the customer message (with its probe) is appended to the fake WeCom's sync_msg
//   stream (2 open_kfids), then an encrypted, signed kf_msg_or_event callback carrying a fresh sync
//   Token is posted to the wechat ingress; the gateway pulls the message with kf/sync_msg and replies
//   with kf/send_msg. Replies are the fake's accepted sends (it dedupes by msgid); raw send_msg
//   requests with an already accepted msgid are counted in a separate row and never fail the run
//   (WeCom's duplicate-msgid behaviour is undocumented).
// - Chatwoot: signed (X-Chatwoot-Timestamp / X-Chatwoot-Signature, re-signed per attempt, stable
//   X-Chatwoot-Delivery) agent-bot `message_created` webhooks of incoming messages in Chatwoot-native
//   (web widget) conversations that are pending and unassigned. Replies are the bot's public
//   messages posted to the fake Chatwoot. Mirroring (CHATWOOT_MIRROR_INBOX_ID) stays off.
// 30 % of deliveries are delivered again — half concurrently with the first, half later (up to
// --late-max s): the same request (WhatsApp body and signature, WeChat callback with the same Token,
// Chatwoot delivery id). Every delivery is retried on anything but 200 (the load generator is more
// persistent than WeCom's 3 attempts or Chatwoot's retries on 429/500 only, so that every message
// is eventually accepted); a message counts as accepted when one delivery of it got 200, and the
// next message of its conversation is sent only then (acceptance order = the conversation's order).
//
// Chaos (fractions of --seconds; bursts last at least 1.5 s, one at a time per provider): worker kill -9 every ~--kill-every s
// (restarted 0.3 s later); each ingress kill -9 + restart once, at different times (WhatsApp 25 %,
// WeChat 35 %, Chatwoot 46 %); Redis kill -9 + restart with AOF replay (50 %); Graph 130429,
// 503, `lost-response` (send performed, response never delivered) and timeouts (request dropped);
// WeCom send_msg errcode -1 and HTTP 503 bursts and one access-token expiry (42001, first seen by a
// send_msg; the gateway must refresh and go on); Chatwoot 429 and 500 bursts on message posts; the
// LLM answering 429 and 500 (2 in a row, below the agent's 3 attempts, so every turn gets a model
// answer) and taking 3 s for a while.
//
// Every duplicate reply fails the run. As a diagnostic, the duplicates whose first copy reached the
// provider within 1 s of a worker kill -9, or during (or 15 s after) a Graph lost-response burst, are
// counted separately.
//
// Latency is from the 200 of a message's delivery to the provider accepting its first reply (WeChat:
// 0 when another callback's pull answered it before its own callback got its 200).
//
// Options (defaults = the full soak):
//   --messages 10000 --conversations 500 --seconds 120 --workers 3
//   --channels whatsapp,wechat,chatwoot   --mix 60,25,15   (weights in that channel order)
//   --fsync everysec|always   (appendfsync of the private Redis)
//   --redelivered 0.3 --late-max <seconds>   (fraction redelivered; max delay of a late copy, s)
//   --kill-every 4            (seconds between worker kill -9s; 0 = none)
//   --drain-timeout 300       (seconds to wait for the backlog after the load)
//   --no-chaos                (same load without faults: a baseline)
//   --json                    (print one JSON line with the figures last)
//   --logs DIR --log-level warn   (keep every process's full output in DIR, one file per start)
//   --worker-env NAME=value[,NAME=value]   (extra worker settings, e.g. WORKER_LOCK_MS=15000)
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { firstLine, freePort, spawnTracked as track, waitHttp } from './lib/proc.mjs';
import { REDIS_CLOCK_ARGS } from './redis-discovery.mjs';
import { chatwootIncoming, chatwootSignature, metaSignature, postOnce, probe, whatsappMessage } from './lib/soak-payloads.mjs';
import { analyse, formatTable, KILL_WINDOW_MS } from './lib/soak-report.mjs';
import { formatBreakdown, latencyBreakdown, readReplyJobs } from './lib/soak-latency.mjs';

const root = resolve(new URL('..', import.meta.url).pathname);
const require = createRequire(join(root, 'apps/worker/package.json'));
const { Redis } = require('ioredis');
// the gateway's key registry (built by the soak's build step)
const { gatewayKeys } = require('@switchboard/queue');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = process.argv[i + 1];
  return typeof def === 'number' ? Number(v) : v;
}
const ALL_CHANNELS = ['whatsapp', 'wechat', 'chatwoot'];
const N = arg('messages', 10000);
const M = arg('conversations', 500);
const SECONDS = arg('seconds', 120);
const WORKERS = arg('workers', 3);
const FSYNC = arg('fsync', 'everysec');
const REDELIVERED = arg('redelivered', 0.3);
const LATE_MAX_S = arg('late-max', Math.max(5, SECONDS));
const KILL_EVERY_S = arg('kill-every', 4);
const NO_CHAOS = process.argv.includes('--no-chaos');
const DRAIN_TIMEOUT_S = arg('drain-timeout', 300);
const JSON_OUT = process.argv.includes('--json');
const LOG_DIR = arg('logs', undefined);
const LOG_LEVEL = arg('log-level', 'warn');
const CHANNELS = arg('channels', ALL_CHANNELS.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
const MIX = arg('mix', '60,25,15').split(',').map(Number);
/** Extra worker settings, e.g. `--worker-env WORKER_LOCK_MS=15000` to compare with the old lock timing. */
const WORKER_ENV = Object.fromEntries(
  arg('worker-env', '')
    .split(',')
    .map((kv) => kv.trim())
    .filter(Boolean)
    .map((kv) => {
      const i = kv.indexOf('=');
      if (!/^[A-Z][A-Z0-9_]*$/.test(kv.slice(0, i))) throw new Error(`--worker-env: NAME=value[,NAME=value], got ${kv}`);
      return [kv.slice(0, i), kv.slice(i + 1)];
    }),
);
const SECRET = 'soak_app_secret';
const PNID = '109876543210987';
const CW_SECRET = 'soak_chatwoot_secret';
const CW_INBOX = 5;
const KFIDS = ['wkSoakKfA0000000000000000000001', 'wkSoakKfB0000000000000000000002'];
const OUT_QUEUES = { whatsapp: 'outbound-whatsapp', wechat: 'outbound-wechat-kf', chatwoot: 'outbound-chatwoot' };
const QUEUES = ['inbound', 'wechat-sync', 'turn', ...Object.values(OUT_QUEUES)];
const log = (s) => process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = new Set();

if (!['everysec', 'always'].includes(FSYNC)) throw new Error('--fsync must be everysec or always');
if (CHANNELS.length === 0 || CHANNELS.some((c) => !ALL_CHANNELS.includes(c))) throw new Error(`--channels: a comma list of ${ALL_CHANNELS.join(', ')}`);
if (MIX.length !== ALL_CHANNELS.length || MIX.some((w) => !(w >= 0))) throw new Error('--mix: three weights (whatsapp,wechat,chatwoot), e.g. 60,25,15');
if (M < CHANNELS.length || N < M) throw new Error('need at least one conversation per channel and one message per conversation');
const INGRESS_APP = { whatsapp: 'whatsapp-ingress', wechat: 'wechat-ingress', chatwoot: 'chatwoot-ingress' };
for (const app of ['worker', ...CHANNELS.map((c) => INGRESS_APP[c])]) {
  if (!existsSync(join(root, 'apps', app, 'dist/main.js'))) throw new Error(`apps/${app}/dist/main.js is missing: run \`pnpm build\` first`);
}
if (!existsSync(join(root, 'packages/testkit/dist/index.js'))) throw new Error('packages/testkit/dist is missing: run `pnpm build` first');
if (spawnSync('sh', ['-c', 'command -v redis-server']).status !== 0) throw new Error('redis-server is not on PATH (the soak needs a private Redis it can restart)');
const { encryptWechatCallback, kfCallbackXml, WECHAT_TEST_CONFIG: WX } = await import('@switchboard/testkit');

const starts = {};
if (LOG_DIR) mkdirSync(LOG_DIR, { recursive: true });
function spawnTracked(cmd, args, env, label) {
  const child = track(children, cmd, args, { cwd: root, env, label, tailBytes: 65536 });
  if (LOG_DIR) {
    starts[label] = (starts[label] ?? 0) + 1;
    const file = createWriteStream(join(LOG_DIR, `${label}.${starts[label]}.log`));
    child.stdout.on('data', (d) => file.write(d));
    child.stderr.on('data', (d) => file.write(d));
    child.on('close', () => file.end());
  }
  return child;
}
async function killHard(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}
/**
 * A control request to the fakes. Retried on a network error: on a machine shared with other load
 * (a kernel under a SYN flood answers with cookies and resets) one refused connect must not end
 * the soak. Only for idempotent controls or ones whose repeat is harmless (a fresh sync Token).
 */
async function post(url, body) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => /** @type {Promise<any>} */ (r.json()));
    } catch (err) {
      if (attempt >= 6) throw err;
      await sleep(100 * 2 ** attempt);
    }
  }
}

// ---------------------------------------------------------------- Redis (private, AOF)
const redisDir = mkdtempSync(join(tmpdir(), 'sb-soak-redis-'));
const redisPort = await freePort();
const redisUrl = `redis://127.0.0.1:${redisPort}`;
let redisProc;
async function startRedis() {
  redisProc = spawnTracked(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', redisDir, '--appendonly', 'yes', '--appendfsync', FSYNC, '--save', '', '--maxmemory-policy', 'noeviction', ...REDIS_CLOCK_ARGS],
    {},
    'redis',
  );
  const probeConn = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probeConn.on('error', () => undefined);
  for (let i = 0; i < 200; i++) {
    try {
      await probeConn.connect();
      // AOF replay done when LOADING is over
      const info = await probeConn.info('persistence');
      if (/loading:0/.test(info)) {
        probeConn.disconnect();
        return;
      }
    } catch {}
    probeConn.disconnect();
    await sleep(100);
  }
  throw new Error('redis-server did not come up');
}

// ---------------------------------------------------------------- the gateway processes
const prefix = 'soak';
const ingress = {};
for (const ch of CHANNELS) ingress[ch] = { port: await freePort(), proc: undefined };
const webhookUrl = {
  whatsapp: () => `http://127.0.0.1:${ingress.whatsapp.port}/webhooks/whatsapp`,
  wechat: () => `http://127.0.0.1:${ingress.wechat.port}/webhooks/wechat-kf`,
  chatwoot: () => `http://127.0.0.1:${ingress.chatwoot.port}/webhooks/chatwoot`,
};
const PORT_VAR = { whatsapp: 'WHATSAPP_PORT', wechat: 'WECHAT_PORT', chatwoot: 'CHATWOOT_PORT' };
let fakes;
let urls;
let baseEnv;
const workers = [];
/**
 * Starts (or restarts) one ingress on its fixed port (the fakes already know its URL). Under a busy
 * CI machine a start can take long, and another process can briefly hold the port: a process that
 * exits before it is ready is started again (a few times), and a failure carries its output.
 */
async function startIngress(ch, attempts = 4) {
  const i = ingress[ch];
  for (let attempt = 1; ; attempt++) {
    const proc = spawnTracked(process.execPath, [`apps/${INGRESS_APP[ch]}/dist/main.js`], { ...baseEnv, [PORT_VAR[ch]]: String(i.port) }, INGRESS_APP[ch]);
    i.proc = proc;
    const exited = new Promise((resolveExit) => proc.once('exit', (code) => resolveExit(code)));
    const outcome = await Promise.race([waitHttp(`http://127.0.0.1:${i.port}/readyz`, 90_000).then(() => 'ready', (err) => err), exited.then((code) => ({ exited: code }))]);
    if (outcome === 'ready') return;
    if (outcome instanceof Error) throw new Error(`${INGRESS_APP[ch]}: ${outcome.message}\n${proc.tail.slice(-2000)}`);
    if (attempt >= attempts) throw new Error(`${INGRESS_APP[ch]} exited (${outcome.exited}) before it was ready, ${attempt} times\n${proc.tail.slice(-2000)}`);
    log(`${INGRESS_APP[ch]} exited (${outcome.exited}) before it was ready; starting it again: ${proc.tail.trim().split('\n').at(-1) ?? ''}`);
    await new Promise((r) => setTimeout(r, 500 * attempt));
  }
}
async function startWorker(i) {
  const port = await freePort();
  /** @type {ReturnType<typeof spawnTracked> & { metricsPort?: number }} */
  const w = spawnTracked(
    process.execPath,
    ['apps/worker/dist/main.js'],
    {
      ...baseEnv,
      WHATSAPP_GRAPH_URL: urls.graph,
      WECHAT_SECRET: urls.wecomSecret,
      WECHAT_API_URL: urls.wecom,
      CHATWOOT_BOT_TOKEN: urls.chatwootBotToken,
      CHATWOOT_API_TOKEN: urls.chatwootUserToken,
      OPENAI_API_KEY: 'sk-soak',
      OPENAI_BASE_URL: urls.openai,
      WORKER_CONCURRENCY: '32',
      WHATSAPP_SEND_RATE: '1000',
      WORKER_METRICS_PORT: String(port),
      ...WORKER_ENV,
    },
    `worker-${i}`,
  );
  w.metricsPort = port;
  workers[i] = w;
  return w;
}

// ---------------------------------------------------------------- conversations
const run = Date.now().toString(36);
/** Splits `total` by `weights` (largest remainder), at least `min` each. */
function split(total, weights, min) {
  const sum = weights.reduce((a, b) => a + b, 0) || 1;
  const out = weights.map((w) => Math.max(min, Math.floor((total * w) / sum)));
  const order = weights.map((w, i) => [(total * w) / sum - Math.floor((total * w) / sum), i]).sort((a, b) => b[0] - a[0]).map(([, i]) => i);
  for (let rest = total - out.reduce((a, b) => a + b, 0), j = 0; rest !== 0; j++) {
    const i = order[j % order.length];
    if (rest > 0) {
      out[i] += 1;
      rest -= 1;
    } else if (out[i] > min) {
      out[i] -= 1;
      rest += 1;
    }
  }
  return out;
}
const weights = CHANNELS.map((ch) => MIX[ALL_CHANNELS.indexOf(ch)]);
const convCounts = split(M, weights, 1);
const msgCounts = split(N, weights, 1).map((n, i) => Math.max(n, convCounts[i]));
/** Index c → {c, ch, count, address, …}: the probe `#c<c>:<k>` names it across channels. */
const convs = [];
CHANNELS.forEach((ch, i) => {
  for (let j = 0; j < convCounts[i]; j++) {
    const c = convs.length;
    const count = Math.floor(msgCounts[i] / convCounts[i]) + (j < msgCounts[i] % convCounts[i] ? 1 : 0);
    if (ch === 'whatsapp') {
      const phone = `1555${String(c).padStart(7, '0')}`;
      convs.push({ c, ch, count, phone, address: phone });
    } else if (ch === 'wechat') {
      const kfid = KFIDS[c % KFIDS.length];
      const user = `wmSoak${run}u${c}`;
      convs.push({ c, ch, count, kfid, user, address: `${kfid}|${user}` });
    } else {
      const id = 50_000 + c;
      convs.push({ c, ch, count, id, contactId: 70_000 + c, address: String(id) });
    }
  }
});

// ---------------------------------------------------------------- load
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const text = (c, k) => `soak probe ${probe(c, k)} zqx`;
let chatwootMessageId = 3_000_000;
/** Per channel: builds message k of a conversation and returns one delivery attempt (a function → HTTP status). */
const drivers = {
  whatsapp: async (conv, k) => {
    const body = whatsappMessage({ pnid: PNID, waId: conv.phone, name: `Soak ${conv.c}`, wamid: `wamid.SOAK${run}c${conv.c}k${k}`, text: text(conv.c, k) });
    const headers = { 'content-type': 'application/json', 'x-hub-signature-256': metaSignature(body, SECRET) };
    return () => postOnce(webhookUrl.whatsapp(), body, headers, { agent });
  },
  wechat: async (conv, k) => {
    // the customer writes (the message enters the sync_msg stream), then WeCom notifies with a fresh Token
    const { token } = await post(`${urls.control}/wecom/messages`, { items: [{ kfid: conv.kfid, user: conv.user, content: text(conv.c, k), msgid: `soak${run}c${conv.c}k${k}` }] });
    const cb = encryptWechatCallback(WX, kfCallbackXml({ corpId: WX.corpId, token, openKfId: conv.kfid }));
    const body = Buffer.from(cb.body);
    return () => postOnce(`${webhookUrl.wechat()}${cb.search}`, body, { 'content-type': 'text/xml' }, { agent });
  },
  chatwoot: async (conv, k) => {
    const body = chatwootIncoming({ accountId: urls.chatwootAccountId, inboxId: CW_INBOX, conversationId: conv.id, contactId: conv.contactId, name: `Soak ${conv.c}`, messageId: chatwootMessageId++, text: text(conv.c, k) });
    const delivery = randomUUID();
    return () => postOnce(webhookUrl.chatwoot(), body, { 'content-type': 'application/json', 'x-chatwoot-delivery': delivery, ...chatwootSignature(body, CW_SECRET) }, { agent });
  },
};
const webhookStatuses = Object.fromEntries(CHANNELS.map((ch) => [ch, {}]));
const redeliveries = Object.fromEntries(CHANNELS.map((ch) => [ch, 0]));
/** Delivers like the provider: retries on anything but 200 with backoff, for at most `budgetMs`. */
async function deliver(ch, attempt, budgetMs = 120_000) {
  const end = Date.now() + budgetMs;
  let wait = 100;
  for (let n = 0; n < 200 && Date.now() < end; n++) {
    const s = await attempt();
    webhookStatuses[ch][s] = (webhookStatuses[ch][s] ?? 0) + 1;
    if (s === 200) return Date.now();
    await sleep(wait);
    wait = Math.min(wait * 2, 2000);
  }
  return undefined;
}

/** message key `c:k` → { ch, c, k, firstSentAt, acceptedAt } */
const messages = new Map();
const late = [];
async function conversationLoad(conv, t0) {
  // spread the conversation's messages over the window in bursts of 1–4 messages 30–150 ms apart
  const windowMs = SECONDS * 1000;
  const { c, ch, count } = conv;
  let k = 0;
  while (k < count) {
    const burst = Math.min(count - k, 1 + Math.floor(Math.random() * 4));
    const startAt = t0 + Math.random() * windowMs * ((k + burst) / count);
    const delay = startAt - Date.now();
    if (delay > 0) await sleep(delay);
    for (let b = 0; b < burst; b++, k++) {
      const rec = { ch, c, k, firstSentAt: Date.now(), acceptedAt: undefined };
      messages.set(`${c}:${k}`, rec);
      const attempt = await drivers[ch](conv, k);
      const r = Math.random();
      if (r < REDELIVERED / 2) {
        // a concurrent copy (providers sometimes deliver twice at once)
        redeliveries[ch] += 1;
        void deliver(ch, attempt);
      } else if (r < REDELIVERED) {
        // a later copy
        redeliveries[ch] += 1;
        late.push(sleep(Math.random() * LATE_MAX_S * 1000).then(() => deliver(ch, attempt)));
      }
      // the next message of the conversation is sent only once this one is accepted, so acceptance
      // order is the conversation's order (what the order check compares against)
      rec.acceptedAt = await deliver(ch, attempt);
      await sleep(30 + Math.random() * 120);
    }
  }
}

// ---------------------------------------------------------------- chaos
const chaosLog = [];
/** When a worker was kill -9ed, and when Graph lost responses (for classifying duplicates). */
const killTimes = [];
const lostResponseWindows = [];
let loadStart = Date.now();
const note = (s) => {
  chaosLog.push(`${((Date.now() - loadStart) / 1000).toFixed(1)}s ${s}`);
  log(s);
};
let chaosOn = true;
const mode = (fake, m) => post(`${urls.control}/chaos/${fake}`, { mode: m });
async function restartIngress(ch) {
  note(`${INGRESS_APP[ch]}: kill -9 + restart`);
  await killHard(ingress[ch].proc);
  await startIngress(ch);
}
function chaosPlan() {
  const T = SECONDS * 1000;
  const plan = [];
  /** A step at `frac`·T; `label` is noted when given (restarts note themselves). */
  const at = (frac, ch, label, action) => {
    if (!ch || CHANNELS.includes(ch)) plan.push([loadStart + frac * T, label, action]);
  };
  /** End of the last burst per fake: a short run must not let one burst's "off" cut the next one. */
  const busyUntil = {};
  /** A fault that lasts `lenFrac`·T, at least 1.5 s, then is switched off. */
  const burst = (frac, lenFrac, ch, fake, m, label) => {
    if (!CHANNELS.includes(ch)) return;
    const start = Math.max(loadStart + frac * T, (busyUntil[fake] ?? 0) + 250);
    const end = start + Math.max(1500, lenFrac * T);
    busyUntil[fake] = end;
    plan.push([start, label, async () => {
      await mode(fake, m);
      if (m === 'lost-response') lostResponseWindows.push([Date.now(), end]);
    }]);
    plan.push([end, `${fake}: ok`, () => mode(fake, 'off')]);
  };
  burst(0.08, 0.03, 'wechat', 'wecom', 'busy', 'wecom: send_msg errcode -1 (system busy) burst');
  burst(0.12, 0.04, 'whatsapp', 'graph', '429', 'graph: 429 (130429) burst');
  burst(0.18, 0.03, 'chatwoot', 'chatwoot', '429', 'chatwoot: 429 burst on message posts');
  at(0.22, null, 'llm: 2 × 429', () => post(`${urls.control}/chaos/llm`, { fail: 2, status: 429 }));
  at(0.25, 'whatsapp', null, () => restartIngress('whatsapp'));
  burst(0.3, 0.04, 'whatsapp', 'graph', '5xx', 'graph: 503 burst');
  at(0.35, 'wechat', null, () => restartIngress('wechat'));
  burst(0.38, 0.03, 'wechat', 'wecom', '5xx', 'wecom: send_msg HTTP 503 burst');
  burst(0.4, 0.04, 'whatsapp', 'graph', 'lost-response', 'graph: lost-response burst (sent, answer never delivered)');
  burst(0.42, 0.03, 'chatwoot', 'chatwoot', '5xx', 'chatwoot: 500 burst on message posts');
  at(0.46, 'chatwoot', null, () => restartIngress('chatwoot'));
  at(0.5, null, null, async () => {
    // the WeChat cursors before the kill and after the AOF replay: an acknowledged cursor must survive
    const before = await wechatCursors();
    note('redis: kill -9 + restart (AOF, same port/dir)');
    await killHard(redisProc);
    await sleep(500);
    await startRedis();
    const after = await wechatCursors();
    note(`redis: back${before ? `; wechat cursors before/after: ${KFIDS.map((_kf, i) => `${before[i]}/${after?.[i]}`).join(' ')}` : ''}`);
  });
  at(0.55, 'wechat', 'wecom: access token expires (42001 on the next send_msg, then refresh)', () => mode('wecom', '42001'));
  at(0.6, null, 'llm: slow (3 s)', () => post(`${urls.control}/chaos/llm`, { delayMs: 3000 }));
  burst(0.65, 0.05, 'whatsapp', 'graph', 'timeout', 'graph: timeouts (request dropped)');
  at(0.75, null, 'llm: fast again, 2 × 500', () => post(`${urls.control}/chaos/llm`, { delayMs: 0, fail: 2, status: 500 }));
  return plan.sort((a, b) => a[0] - b[0]);
}
/** The stored WeChat sync cursors (one per account), or undefined when WeChat is off or Redis is away. */
async function wechatCursors() {
  if (!CHANNELS.includes('wechat')) return undefined;
  const r = new Redis(redisUrl, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await Promise.all(KFIDS.map((kf) => r.get(gatewayKeys(prefix).wechat.cursor(WX.corpId, kf))));
  } catch {
    return undefined;
  } finally {
    r.disconnect();
  }
}
async function chaos() {
  const T = SECONDS * 1000;
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
  for (const [when, label, action] of chaosPlan()) {
    const d = when - Date.now();
    if (d > 0) await sleep(d);
    if (!chaosOn) break;
    if (label) note(label);
    await action().catch((err) => note(`chaos step failed: ${err.message}`));
  }
  await killer;
}
async function chaosOff() {
  await Promise.all([mode('graph', 'off'), mode('wecom', 'off'), mode('chatwoot', 'off'), post(`${urls.control}/chaos/llm`, { delayMs: 0 })]);
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
const replies = [];
async function pullReplies() {
  const r = await fetch(`${urls.control}/replies?from=${replies.length}`).then((x) => /** @type {Promise<any>} */ (x.json()));
  if (r.from === replies.length) replies.push(...r.replies);
}
const fakeStats = () => fetch(`${urls.control}/stats`).then((x) => /** @type {Promise<any>} */ (x.json()));
const check = () => analyse({ messages, convs, replies, channels: CHANNELS, killTimes, lostResponseWindows, loadStart });

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
  const mixText = CHANNELS.map((ch, i) => `${ch} ${msgCounts[i]}/${convCounts[i]}`).join(', ');
  log(`${N} messages / ${M} conversations (${mixText}) / ${SECONDS} s window / ${WORKERS} workers / appendfsync ${FSYNC} / ${Math.round(REDELIVERED * 100)} % redelivered`);
  await startRedis();
  fakes = spawnTracked(process.execPath, ['scripts/soak-fakes.mjs'], CHANNELS.includes('whatsapp') ? { SOAK_WA_INGRESS_URL: webhookUrl.whatsapp(), SOAK_WA_APP_SECRET: SECRET } : {}, 'fakes');
  urls = JSON.parse(await firstLine(fakes));
  baseEnv = {
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: LOG_LEVEL,
    // the ingresses accept customer messages and schedule turns too: one setting for every process
    TURN_DEBOUNCE_MS: '400',
    TURN_MAX_WAIT_MS: '2000',
    WHATSAPP_APP_SECRET: SECRET,
    WHATSAPP_VERIFY_TOKEN: 'soak',
    WHATSAPP_ACCESS_TOKEN: 'soak-token',
    WECHAT_TOKEN: WX.token,
    WECHAT_AESKEY: WX.encodingAESKey,
    WECHAT_CORP_ID: WX.corpId,
    CHATWOOT_URL: urls.chatwoot,
    CHATWOOT_ACCOUNT_ID: String(urls.chatwootAccountId),
    CHATWOOT_WEBHOOK_SECRET: CW_SECRET,
  };
  const cwConvs = convs.filter((c) => c.ch === 'chatwoot');
  if (cwConvs.length) await post(`${urls.control}/chatwoot/conversations`, { items: cwConvs.map((c) => ({ id: c.id, inboxId: CW_INBOX, contactId: c.contactId })) });
  await Promise.all(CHANNELS.map((ch) => startIngress(ch)));
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
  const chaosDone = NO_CHAOS ? Promise.resolve() : chaos();
  const pullTimer = setInterval(() => void pullReplies().catch(() => undefined), 2000);
  await Promise.all(convs.map((conv) => conversationLoad(conv, loadStart)));
  const loadEnd = Date.now();
  log(`load sent in ${((loadEnd - loadStart) / 1000).toFixed(1)} s; waiting for late redeliveries and chaos`);
  chaosOn = false;
  await chaosDone;
  await chaosOff();
  let lateDone = false;
  const lateCopies = Promise.all(late).then(() => (lateDone = true));
  const lastAccepted = Math.max(...[...messages.values()].map((m) => m.acceptedAt ?? 0));
  // drain, watched from the end of the load while the late copies still arrive: the first moment
  // every accepted message is answered, the queues are empty and Graph's status webhooks are delivered
  const q = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  q.on('error', () => undefined);
  const drainEnd = loadEnd + DRAIN_TIMEOUT_S * 1000;
  let drainedAt;
  let drainTicks = 0;
  while (!lateDone || (!drainedAt && Date.now() < drainEnd)) {
    await pullReplies().catch(() => undefined);
    const a = check();
    let backlog = 0;
    for (const name of QUEUES) {
      const [w, d, act, pr] = await Promise.all([q.llen(`${prefix}:${name}:wait`), q.zcard(`${prefix}:${name}:delayed`), q.llen(`${prefix}:${name}:active`), q.zcard(`${prefix}:${name}:prioritized`)]).catch(() => [1, 0, 0, 0]);
      backlog += w + d + act + pr;
    }
    const pendingStatuses = (await fakeStats().catch(() => undefined))?.statusWebhooks.pending ?? 1;
    if (!drainedAt && a.total.lost === 0 && backlog === 0 && pendingStatuses === 0 && Date.now() < drainEnd) drainedAt = Date.now();
    if (!drainedAt && ++drainTicks % 10 === 0) log(`draining: ${a.total.answered}/${a.total.accepted} answered, ${replies.length} replies, backlog ${backlog}, status webhooks pending ${pendingStatuses}, lost so far e.g. ${a.lostKeys.slice(0, 5).join(' ')}${lateDone ? '' : ' (late copies still arriving)'}`);
    await sleep(500);
  }
  await lateCopies;
  clearInterval(pullTimer);
  // a little longer: anything sent after the drain would be a duplicate
  await sleep(3000);
  await pullReplies();
  const stats = await fakeStats();
  const failed = {};
  for (const name of QUEUES) failed[name] = await q.zcard(`${prefix}:${name}:failed`);
  // diagnostics: conversations with unfinished turns, and jobs that failed or are still waiting
  const stuck = [];
  let cursor = '0';
  let scans = 0;
  do {
    const turnKeys = gatewayKeys(prefix).turn('');
    const [next, keys] = await q.scan(cursor, 'MATCH', `${turnKeys}*`, 'COUNT', 1000);
    cursor = next;
    for (const k of keys) {
      const h = await q.hgetall(k);
      const conv = k.slice(turnKeys.length);
      const mb = await q.llen(gatewayKeys(prefix).mailbox(conv));
      if (h.pending || h.running || mb > 0) stuck.push(`${conv} ${JSON.stringify(h)} mailbox=${mb}`);
    }
  } while (cursor !== '0' && ++scans < 1000);
  const jobsOf = async (name, state) => {
    const ids = state === 'wait' ? await q.lrange(`${prefix}:${name}:wait`, 0, 20) : await q.zrange(`${prefix}:${name}:${state}`, 0, 20);
    return Promise.all(
      ids.map(async (id) => {
        const [reason, started, made] = await q.hmget(`${prefix}:${name}:${id}`, 'failedReason', 'ats', 'atm');
        return `${name}/${state} ${id} started=${started} made=${made}${reason ? ` reason=${reason}` : ''}`;
      }),
    );
  };
  // WeChat: the sync state per account (a stalled pull shows here: old cursor, lock or note left)
  const wechatNotes = [];
  if (CHANNELS.includes('wechat')) {
    for (const kf of KFIDS) {
      const wk = gatewayKeys(prefix).wechat;
      const [cursorKey, lock, lockTtl, again] = await Promise.all([
        q.get(wk.cursor(WX.corpId, kf)),
        q.get(wk.syncLock(WX.corpId, kf)),
        q.pttl(wk.syncLock(WX.corpId, kf)),
        q.hget(wk.syncPending(WX.corpId, kf), 'v'),
      ]);
      const pulls = stats.wecom.sync[kf];
      wechatNotes.push(`${kf}: stored cursor ${cursorKey}, lock ${lock ?? '-'} (pttl ${lockTtl}), note ${again ?? '-'}; fake: ${pulls?.pulls ?? 0} sync_msg calls, last at +${pulls ? ((pulls.lastAt - loadStart) / 1000).toFixed(1) : '-'}s from cursor ${pulls?.lastCursor || '-'}`);
    }
    // what the wechat-sync jobs did, per account: done (pulled) or coalesced (left a note for a holder)
    const ids = await q.zrange(`${prefix}:wechat-sync:completed`, 0, -1);
    const outcomes = {};
    for (let i = 0; i < ids.length; i += 500) {
      const batch = q.pipeline();
      for (const id of ids.slice(i, i + 500)) batch.hmget(`${prefix}:wechat-sync:${id}`, 'returnvalue', 'data', 'finishedOn', 'ats', 'stc');
      for (const [, [rv, data, finishedOn, started, stalled]] of /** @type {Array<[Error | null, Array<string | null>]>} */ (await batch.exec())) {
        const kf = JSON.parse(data ?? '{}').openKfId ?? '?';
        const o = (outcomes[kf] ??= { done: 0, coalesced: 0, recoveredAfterStall: 0, lastDoneAt: 0, lastAt: 0 });
        const status = JSON.parse(rv ?? '{}').status;
        o[status === 'done' ? 'done' : 'coalesced'] += 1;
        if (Number(stalled) > 0 || Number(started) > 1) o.recoveredAfterStall += 1;
        if (status === 'done') o.lastDoneAt = Math.max(o.lastDoneAt, Number(finishedOn));
        o.lastAt = Math.max(o.lastAt, Number(finishedOn));
      }
    }
    for (const [kf, o] of Object.entries(outcomes)) {
      wechatNotes.push(`${kf}: wechat-sync jobs done ${o.done}, coalesced ${o.coalesced} (${o.recoveredAfterStall} re-run after a stall); last done at +${((o.lastDoneAt - loadStart) / 1000).toFixed(1)}s, last job at +${((o.lastAt - loadStart) / 1000).toFixed(1)}s`);
    }
  }
  const jobNotes = [];
  for (const name of QUEUES) for (const st of ['failed', 'delayed', 'wait']) jobNotes.push(...(await jobsOf(name, st)));
  const replyJobs = await readReplyJobs(q, prefix, CHANNELS.map((ch) => OUT_QUEUES[ch]), (id) => gatewayKeys(prefix).outbound(id)).catch((err) => {
    log(`latency breakdown: could not read the reply jobs: ${err.message}`);
    return new Map();
  });
  q.disconnect();
  const a = check();
  const t = a.total;
  const breakdown = latencyBreakdown({ messages, firstReplyAt: a.firstReplyAt, jobs: replyJobs, killTimes });
  const result = {
    command: `node scripts/soak.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    channels: CHANNELS,
    messages: messages.size,
    conversations: convs.length,
    workers: WORKERS,
    appendfsync: FSYNC,
    redeliveries,
    webhookStatuses,
    accepted: t.accepted,
    neverAccepted: t.sent - t.accepted,
    repliesDelivered: t.replies,
    messagesAnswered: t.answered,
    lost: t.lost,
    duplicates: t.duplicates,
    duplicatesNearKill: t.dupNearKill,
    duplicatesAfterLostResponse: t.dupLostResponse,
    orderViolations: t.orderViolations,
    misrouted: t.misrouted,
    repliesWithoutProbe: t.noProbe,
    latencyMs: { p50: t.p50, p95: t.p95, p99: t.p99, max: t.max },
    latencyBreakdown: breakdown,
    perChannel: a.perChannel,
    wecomResentMsgids: stats.wecom.resentMsgids,
    wecom: stats.wecom,
    statusWebhooks: stats.statusWebhooks,
    fronts: { graph: stats.graph.counts, wecom: stats.wecom.counts, chatwoot: stats.chatwoot.counts },
    maxRedisMemoryMB: +(maxMemory / 1048576).toFixed(1),
    drainSeconds: drainedAt ? +((drainedAt - Math.max(loadEnd, lastAccepted)) / 1000).toFixed(1) : null,
    loadSeconds: +((loadEnd - loadStart) / 1000).toFixed(1),
    failedJobs: failed,
    ...(stuck.length ? { unfinishedConversations: stuck.slice(0, 20) } : {}),
    ...(jobNotes.length ? { jobNotes: jobNotes.slice(0, 40) } : {}),
    ...(wechatNotes.length ? { wechatSync: wechatNotes } : {}),
    chaos: chaosLog,
    ...(a.lostKeys.length ? { lostSample: a.lostKeys } : {}),
    ...(a.detail.length ? { suspectConversations: a.detail } : {}),
  };
  const per = (f) => CHANNELS.map((ch) => `${ch} ${f(ch)}`).join(' | ');
  const sw = stats.statusWebhooks;
  const rows = [
    ['redelivered copies', per((ch) => redeliveries[ch])],
    ['webhook HTTP statuses (0 = refused/timeout)', per((ch) => JSON.stringify(webhookStatuses[ch]))],
    ...(CHANNELS.includes('whatsapp')
      ? [['WhatsApp status webhooks (sent+delivered)', `${sw.scheduled} scheduled, ${sw.delivered} got 200, ${sw.retried} needed a retry, ${sw.gaveUp} gave up, ${sw.pending} pending; attempts ${JSON.stringify(sw.byHttpStatus)}`]]
      : []),
    ...(CHANNELS.includes('wechat')
      ? [
          ['WeCom send_msg re-sent with an accepted msgid', `${stats.wecom.resentMsgids} of ${stats.wecom.sendMsgRequests} send_msg requests (deduped by the fake; diagnostic, not a failure)`],
          ['WeCom error answers', `${JSON.stringify(stats.wecom.errcodes)}; access tokens issued ${stats.wecom.tokensIssued}`],
        ]
      : []),
    ['chaos fronts (requests)', `graph ${JSON.stringify(stats.graph.counts)} wecom ${JSON.stringify(stats.wecom.counts)} chatwoot ${JSON.stringify(stats.chatwoot.counts)}`],
    ['duplicates near a kill -9 / after lost-response', `${t.dupNearKill} / ${t.dupLostResponse} (first copy within ${KILL_WINDOW_MS} ms of a worker kill / during or ≤ 15 s after a Graph lost-response burst; diagnostic: every duplicate fails the run)`],
    ['replies without a probe', t.noProbe],
    ['max Redis used_memory (MB)', result.maxRedisMemoryMB],
    ['drain time after load (s)', result.drainSeconds ?? `not drained in ${DRAIN_TIMEOUT_S} s`],
    ['failed jobs', JSON.stringify(failed)],
  ];
  console.log(formatTable(a.perChannel, t));
  console.log('(latency: webhook 200 → first reply accepted by the provider; lost = accepted, never answered; dup = a message answered in more than one reply)');
  for (const [k, v] of rows) console.log(`${k.padEnd(48)} ${v}`);
  for (const line of formatBreakdown(breakdown)) console.log(line);
  console.log(`chaos: ${chaosLog.join(' | ')}`);
  for (const d of a.detail) console.log(`suspect ${d}`);
  if (a.lostKeys.length) console.log(`lost (sample): ${a.lostKeys.join(' ')}`);
  for (const d of stuck.slice(0, 20)) console.log(`unfinished ${d}`);
  if (t.lost > 0) for (const d of wechatNotes) console.log(`wechat sync ${d}`);
  for (const d of jobNotes.slice(0, 40)) console.log(`job ${d}`);
  if (stats.wecom.resentSamples?.length) console.log(`wecom re-sent msgids (sample): ${stats.wecom.resentSamples.join(' ')}`);
  if (JSON_OUT) console.log(JSON.stringify(result));
  exitCode = t.lost === 0 && t.duplicates === 0 && t.orderViolations === 0 && t.misrouted === 0 && drainedAt ? 0 : 1;
  if (exitCode !== 0) {
    for (const c of [...workers, ...CHANNELS.map((ch) => ingress[ch].proc)]) if (c) log(`--- ${c.label} output tail ---\n${c.tail.slice(-4000)}`);
  }
} catch (err) {
  log(`soak failed: ${err instanceof Error ? err.stack : String(err)}`);
  if (fakes) log(`--- fakes (exit ${fakes.exitCode ?? fakes.signalCode ?? 'running'}) output tail ---\n${fakes.tail.slice(-4000)}`);
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
