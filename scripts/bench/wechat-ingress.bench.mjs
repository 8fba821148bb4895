// WeChat ingress throughput for `pnpm bench`: encrypted, signed kf_msg_or_event callbacks per second
// through the built wechat-ingress (verify + decrypt + receive id + durable wechat-sync job), beside a
// bare Express endpoint that only reads the body. Needs the build (dist) and a Redis.
//   node scripts/bench/wechat-ingress.bench.mjs [--seconds 5] [--connections 32]
// As a module: `runWechatIngressBench({ seconds, connections, redisUrl })` → result object.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { freePort } from '../lib/proc.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const require = createRequire(import.meta.url);
const testkit = require('@switchboard/testkit');
const { Redis } = require('ioredis');

const KEYS = testkit.WECHAT_TEST_CONFIG;


async function waitUp(url, ms = 15000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} did not come up`);
}

function start(cmd, args, env) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  return child;
}

/** Fires `requests` (pre-built) at `url` from `connections` loops for `seconds`; returns rate and latency. */
async function load(url, requests, seconds, connections) {
  const latencies = [];
  let ok = 0;
  let failed = 0;
  let i = 0;
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (Date.now() < end) {
        const req = requests[i++ % requests.length];
        const t = performance.now();
        try {
          const res = await fetch(url + req.search, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: req.body });
          await res.arrayBuffer();
          if (res.status === 200) ok += 1;
          else failed += 1;
        } catch {
          failed += 1;
        }
        latencies.push(performance.now() - t);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const q = (p) => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0) * 100) / 100;
  return { rps: Math.round(ok / seconds), ok, failed, p50ms: q(0.5), p99ms: q(0.99) };
}

export async function runWechatIngressBench({ seconds = 5, connections = 32, redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' } = {}) {
  const prefix = `benchwx${Date.now().toString(36)}`;
  // distinct tokens: each callback is a new notice, so each one becomes a durable job (no dedupe shortcut)
  const requests = Array.from({ length: 5000 }, (_, n) =>
    testkit.encryptWechatCallback(KEYS, testkit.kfCallbackXml({ corpId: KEYS.corpId, token: `ENCbench${n}x${prefix}`, openKfId: 'wkBench' })),
  );
  const wxPort = await freePort();
  const barePort = await freePort();
  const wx = start(process.execPath, [resolve(root, 'apps/wechat-ingress/dist/main.js')], {
    WECHAT_PORT: String(wxPort),
    WECHAT_TOKEN: KEYS.token,
    WECHAT_AESKEY: KEYS.encodingAESKey,
    WECHAT_CORP_ID: KEYS.corpId,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'warn',
  });
  const bare = start(process.execPath, [resolve(root, 'scripts/bench-bare.mjs')], { PORT: String(barePort) });
  try {
    await waitUp(`http://127.0.0.1:${wxPort}/healthz`);
    await waitUp(`http://127.0.0.1:${barePort}/`).catch(() => undefined);
    const baseline = await load(`http://127.0.0.1:${barePort}/webhooks/whatsapp`, requests, seconds, connections);
    const wechat = await load(`http://127.0.0.1:${wxPort}/webhooks/wechat-kf`, requests, seconds, connections);
    return { name: 'wechat-ingress encrypted callbacks', seconds, connections, baseline, wechat, ratio: baseline.rps ? Math.round((wechat.rps / baseline.rps) * 100) / 100 : 0 };
  } finally {
    wx.kill('SIGTERM');
    bare.kill('SIGTERM');
    const redis = new Redis(redisUrl);
    await testkit.dropPrefix(redis, prefix);
    redis.disconnect();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, def) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : def;
  };
  const r = await runWechatIngressBench({ seconds: arg('seconds', 5), connections: arg('connections', 32) });
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.stdout.write(
    `wechat-ingress: ${r.wechat.rps} encrypted callbacks/s (p50 ${r.wechat.p50ms} ms, p99 ${r.wechat.p99ms} ms, ${r.wechat.failed} failed)` +
      ` vs bare express ${r.baseline.rps}/s → ${r.ratio}×\n`,
  );
}
