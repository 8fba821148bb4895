import {
  closeServer,
  createLogger,
  createMetricsRegistry,
  listen,
  loadConfig,
  onShutdown,
  readDotenvFile,
  tlsFiles,
} from '@switchboard/core';
import { createRedis, Producers, waitReady } from '@switchboard/queue';
import { createAdminApp } from './app.js';
import { adminEnv, AUTH_OFF_WARNING, resolveAdminAuth } from './env.js';
import { createSandbox, type SandboxOptions } from './sandbox/sandbox.js';

/** Composition root of the admin app (port ADMIN_PORT, default 3000). */
async function main(): Promise<void> {
  readDotenvFile();
  const cfg = loadConfig(adminEnv);
  const log = createLogger({ service: 'admin', level: cfg.LOG_LEVEL, showText: cfg.LOG_SHOW_TEXT });
  const auth = resolveAdminAuth(cfg);
  if (!auth) log.warn(AUTH_OFF_WARNING, { port: cfg.ADMIN_PORT });
  const redis = createRedis(cfg.REDIS_URL, 'producer');
  redis.on('error', (err: Error) => log.warn('redis connection error', { err: err.message }));
  await waitReady(redis, 5000).catch(() => log.warn('redis not reachable yet; pages answer 503 until it is'));
  const producers = new Producers(redis, cfg.QUEUE_PREFIX);
  const registry = createMetricsRegistry({ service: 'admin' });

  let sandbox;
  if (cfg.SANDBOX) {
    const opts: SandboxOptions = { log, redis, producers, prefix: cfg.QUEUE_PREFIX, agentOnline: Boolean(cfg.OPENAI_API_KEY) };
    if (cfg.WHATSAPP_APP_SECRET && cfg.WHATSAPP_ACCESS_TOKEN) {
      opts.whatsapp = { appSecret: cfg.WHATSAPP_APP_SECRET, accessToken: cfg.WHATSAPP_ACCESS_TOKEN, ingressUrl: cfg.SANDBOX_WHATSAPP_INGRESS_URL, phoneNumberId: cfg.SANDBOX_WHATSAPP_PHONE_NUMBER_ID };
    } else {
      log.warn('sandbox: WhatsApp disabled (WHATSAPP_APP_SECRET and WHATSAPP_ACCESS_TOKEN are needed to sign webhooks and check sends)');
    }
    if (cfg.WECHAT_TOKEN && cfg.WECHAT_AESKEY && cfg.WECHAT_CORP_ID && cfg.WECHAT_SECRET) {
      opts.wechat = { token: cfg.WECHAT_TOKEN, aesKey: cfg.WECHAT_AESKEY, corpId: cfg.WECHAT_CORP_ID, secret: cfg.WECHAT_SECRET, ingressUrl: cfg.SANDBOX_WECHAT_INGRESS_URL, openKfId: cfg.SANDBOX_WECHAT_OPEN_KFID };
    } else {
      log.warn('sandbox: WeChat disabled (WECHAT_TOKEN, WECHAT_AESKEY, WECHAT_CORP_ID and WECHAT_SECRET are needed)');
    }
    sandbox = createSandbox(opts);
    log.info('sandbox enabled', { url: `http://localhost:${cfg.ADMIN_PORT}/sandbox`, agent: opts.agentOnline ? 'online' : 'offline (FAQ)', whatsapp: Boolean(opts.whatsapp), wechat: Boolean(opts.wechat) });
  }

  const app = createAdminApp({ log, registry, redis, producers, prefix: cfg.QUEUE_PREFIX, auth, ...(sandbox ? { sandbox } : {}) });
  const server = await listen(app, cfg.ADMIN_PORT, { log, tls: tlsFiles(cfg) });
  log.info('admin listening', { port: cfg.ADMIN_PORT, board: '/admin/queues', auth: auth ? 'basic' : 'off', sandbox: Boolean(sandbox) });
  onShutdown(log, async () => {
    await closeServer(server, 5000);
    await producers.close();
    redis.disconnect();
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`admin: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
