// End-to-end WeChat throughput for `pnpm bench`: N customers write, WeCom sends N encrypted callbacks
// to the wechat-ingress, the wechat-sync role pulls with kf/sync_msg, the inbound/agent/outbound
// roles answer through kf/send_msg (fake WeCom and fake OpenAI on loopback, real Redis).
// Reports sync→reply messages/s and callback→reply latency. Uses the built dist of every package.
//   node scripts/bench/wechat-pipeline.bench.mjs [--messages 200] [--concurrency 16]
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const dist = (p) => require(resolve(root, p));
const testkit = require('@switchboard/testkit');
const core = require('@switchboard/core');
const queue = require('@switchboard/queue');
const compose = dist('apps/worker/dist/compose.js');
const { createWechatIngressApp } = dist('apps/wechat-ingress/dist/app.js');
const { Redis } = require('ioredis');

export async function runWechatPipelineBench({ messages = 200, concurrency = 16, redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' } = {}) {
  const KEYS = testkit.WECHAT_TEST_CONFIG;
  const KF = 'wkBenchPipeline';
  const prefix = `benchwxp${Date.now().toString(36)}`;
  const fake = await testkit.FakeWecom.start({ corpId: KEYS.corpId });
  const openai = await testkit.startFakeOpenAI({ reply: () => 'Thanks, your order is on its way.' });
  const vars = { WECHAT_TOKEN: KEYS.token, WECHAT_AESKEY: KEYS.encodingAESKey, WECHAT_CORP_ID: KEYS.corpId, WECHAT_SECRET: fake.secret, WECHAT_API_URL: fake.url };
  const env = compose.loadWorkerEnv({ REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: openai.url, TURN_DEBOUNCE_MS: '50', TURN_MAX_WAIT_MS: '200', LOG_LEVEL: 'error', ...vars });
  const log = core.silentLogger('bench');
  const redis = queue.createRedis(redisUrl, 'worker');
  const producerRedis = queue.createRedis(redisUrl, 'worker');
  const ingressRedis = queue.createRedis(redisUrl, 'producer');
  ingressRedis.on('error', () => undefined);
  await queue.waitReady(ingressRedis);
  const deps = compose.buildWorkerDeps(env, redis, producerRedis, log);
  // the worker composes the WeChat channel from WECHAT_*: its wechat-sync consumer runs with the inbound role
  const workers = compose.startRoles(deps, ['inbound', 'agent', 'outbound']);
  const ingressProducers = new queue.Producers(ingressRedis, prefix);
  const app = createWechatIngressApp({ log, registry: core.createMetricsRegistry({ service: 'bench' }), producers: ingressProducers, redis: ingressRedis, settings: { token: KEYS.token, aesKey: KEYS.encodingAESKey, corpId: KEYS.corpId, timestampWindowSec: 300, maxBodyBytes: 65536 } });
  const server = await new Promise((r) => {
    const s = app.listen(0, '127.0.0.1', () => r(s));
  });
  const url = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}/webhooks/wechat-kf`;
  try {
    // warm-up: first sync of the account and the token
    fake.customerText(KF, 'wmBenchWarm', 'hello');
    const warm = testkit.encryptWechatCallback(KEYS, testkit.kfCallbackXml({ corpId: KEYS.corpId, token: fake.callbackToken(), openKfId: KF }));
    await fetch(url + warm.search, { method: 'POST', body: warm.body }).then((r) => r.arrayBuffer());
    await testkit.waitFor(() => fake.sent.length >= 1, 30_000, 'warm-up reply');
    const base = fake.sent.length;

    const postedAt = new Map();
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < messages) {
          const n = next++;
          const user = `wmBench${n}`;
          fake.customerText(KF, user, `question ${n}`);
          const cb = testkit.encryptWechatCallback(KEYS, testkit.kfCallbackXml({ corpId: KEYS.corpId, token: fake.callbackToken(), openKfId: KF }));
          postedAt.set(user, Date.now());
          const res = await fetch(url + cb.search, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: cb.body });
          await res.arrayBuffer();
        }
      }),
    );
    await testkit.waitFor(() => fake.sent.length - base >= messages, 180_000, `${messages} replies`);
    const seconds = (performance.now() - started) / 1000;
    const lat = fake.sent.slice(base).map((m) => m.at - (postedAt.get(m.touser) ?? m.at)).sort((a, b) => a - b);
    const q = (p) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? 0;
    return { name: 'wechat sync→reply', messages, replies: fake.sent.length - base, seconds: Math.round(seconds * 100) / 100, messagesPerSec: Math.round((messages / seconds) * 10) / 10, p50ms: q(0.5), p99ms: q(0.99), syncCalls: fake.callsTo('kf/sync_msg').length };
  } finally {
    await queue.closeWorkers(workers, 10_000);
    server.closeAllConnections();
    await new Promise((r) => server.close(() => r()));
    await ingressProducers.close();
    await deps.producers.close();
    await deps.close();
    await fake.close();
    await openai.close();
    const admin = new Redis(redisUrl);
    await testkit.dropPrefix(admin, prefix);
    admin.disconnect();
    redis.disconnect();
    producerRedis.disconnect();
    ingressRedis.disconnect();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, def) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : def;
  };
  const r = await runWechatPipelineBench({ messages: arg('messages', 200), concurrency: arg('concurrency', 16) });
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.stdout.write(`wechat end to end: ${r.messagesPerSec} messages/s sync→reply (${r.replies} replies in ${r.seconds} s, p50 ${r.q50 ?? r.p50ms} ms, p99 ${r.p99ms} ms)\n`);
  process.exit(0);
}
