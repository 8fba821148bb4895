import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMetricsRegistry, silentLogger, type Logger } from '@switchboard/core';
import { createRedis, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import type { FakeOpenAIOptions } from '@switchboard/testkit';
import { createWechatIngressApp } from '@switchboard/wechat-ingress/app';
import { createTelegramIngressApp } from '@switchboard/telegram-ingress/app';
import { createTelegramInboundAdapter } from '@switchboard/channel-telegram/inbound';
import { HARNESS_APP_SECRET, startPipeline, type Pipeline } from '@switchboard/worker/testing';
import { createAdminApp } from '../app';
import { createSandbox, type Sandbox } from '../sandbox/sandbox';
import { offlineCoverage } from '../sandbox/faq-topics';
import { loadAgentConfig } from '@switchboard/agent';

/** Secrets the harness's sandbox shares with its ingress apps and workers (test values, not real). */
export const SANDBOX_TEST_SECRETS = Object.freeze({
  accessToken: 'sandbox-harness-access-token',
  phoneNumberId: '100000000000001',
  wechatToken: 'sbxHarnessToken2026',
  wechatAesKey: 'tUb5GBrs6hmnFEnpcEBOoLFNehgkQzHJgQ4MJbqe2Hp',
  wechatCorpId: 'wwSandboxHarness01',
  wechatSecret: 'sandbox-harness-kf-secret',
  openKfId: 'wkSandboxHarnessKf0000000001',
  telegramBotToken: '7000000042:sandboxHarnessBotToken0123456789',
  telegramWebhookSecret: 'sandbox-harness-telegram-secret',
});

/** The admin app with its sandbox wired to a whole in-process pipeline (real Redis, real ingress apps and workers). */
export interface SandboxStack {
  adminUrl: string;
  pipeline: Pipeline;
  sandbox: Sandbox;
  prefix: string;
  adminRedis: RedisClient;
  adminProducers: Producers;
  close(): Promise<void>;
}

/** Options of {@link startSandboxStack}. */
export interface SandboxStackOptions {
  /** true = OPENAI_API_KEY set against the fake OpenAI; false = offline (FAQ) agent. */
  online?: boolean;
  openai?: FakeOpenAIOptions;
  auth?: { user: string; password: string };
  log?: Logger;
  /** Extra worker environment (e.g. TURN_DEBOUNCE_MS). */
  env?: Record<string, string>;
}

/**
 * Starts: an HTTP server for the admin app (bound first, so the workers can be pointed at its fake
 * provider APIs), the worker harness (WhatsApp ingress + inbound/agent/outbound roles) with
 * WHATSAPP_GRAPH_URL and WECHAT_API_URL at the admin app, the wechat-sync role and the WeChat
 * ingress, then the admin app with the sandbox using the same secrets.
 */
export async function startSandboxStack(opts: SandboxStackOptions = {}): Promise<SandboxStack> {
  const log = opts.log ?? silentLogger('admin-test');
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.keepAliveTimeout = 1000;
  const adminUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const s = SANDBOX_TEST_SECRETS;
  const wechatVars = {
    WECHAT_TOKEN: s.wechatToken,
    WECHAT_AESKEY: s.wechatAesKey,
    WECHAT_CORP_ID: s.wechatCorpId,
    WECHAT_SECRET: s.wechatSecret,
    WECHAT_API_URL: `${adminUrl}/sandbox/wecom`,
    // a fresh account: the first sync must still answer the message that triggered it
    WECHAT_FIRST_SYNC_GRACE_SEC: '300',
  };
  const pipeline = await startPipeline({
    env: {
      WHATSAPP_ACCESS_TOKEN: s.accessToken,
      WHATSAPP_GRAPH_URL: `${adminUrl}/sandbox/graph/v24.0`,
      ...(opts.online ? {} : { OPENAI_API_KEY: '' }),
      ...wechatVars,
      TELEGRAM_BOT_TOKEN: s.telegramBotToken,
      TELEGRAM_WEBHOOK_SECRET: s.telegramWebhookSecret,
      TELEGRAM_API_URL: `${adminUrl}/sandbox/telegram`,
      TELEGRAM_BOT_USERNAME: 'sandbox_bot',
      ...opts.env,
    },
    ...(opts.openai ? { openai: opts.openai } : {}),
  });
  // the worker composes the WeChat adapter and its wechat-sync consumer from WECHAT_* itself
  const redisUrl = pipeline.env.REDIS_URL;
  const wxIngressRedis = createRedis(redisUrl, 'producer');
  wxIngressRedis.on('error', () => undefined);
  await waitReady(wxIngressRedis);
  const wxIngressProducers = new Producers(wxIngressRedis, pipeline.prefix);
  const wxApp = createWechatIngressApp({
    log,
    registry: createMetricsRegistry({ service: 'wechat-ingress-test' }),
    producers: wxIngressProducers,
    redis: wxIngressRedis,
    settings: { token: s.wechatToken, aesKey: s.wechatAesKey, corpId: s.wechatCorpId, timestampWindowSec: 300, maxBodyBytes: 65536 },
  });
  const wxServer: Server = await new Promise((resolve) => {
    const srv = wxApp.listen(0, '127.0.0.1', () => resolve(srv));
  });
  const wechatIngressUrl = `http://127.0.0.1:${(wxServer.address() as AddressInfo).port}`;

  const tgApp = createTelegramIngressApp({
    log,
    registry: createMetricsRegistry({ service: 'telegram-ingress-test' }),
    producers: wxIngressProducers,
    redis: wxIngressRedis,
    adapter: createTelegramInboundAdapter({ webhookSecret: s.telegramWebhookSecret, botId: s.telegramBotToken.split(':')[0]!, botUsername: 'sandbox_bot' }),
  });
  const tgServer: Server = await new Promise((resolve) => {
    const srv = tgApp.listen(0, '127.0.0.1', () => resolve(srv));
  });
  const telegramIngressUrl = `http://127.0.0.1:${(tgServer.address() as AddressInfo).port}`;

  const adminRedis = createRedis(redisUrl, 'producer');
  adminRedis.on('error', () => undefined);
  await waitReady(adminRedis);
  const adminProducers = new Producers(adminRedis, pipeline.prefix);
  const sandbox = createSandbox({
    log,
    redis: adminRedis,
    producers: adminProducers,
    prefix: pipeline.prefix,
    agentOnline: Boolean(opts.online),
    ...(opts.online ? {} : { offline: offlineCoverage(loadAgentConfig(undefined)) }),
    whatsapp: { appSecret: HARNESS_APP_SECRET, accessToken: s.accessToken, ingressUrl: pipeline.ingressUrl, phoneNumberId: s.phoneNumberId },
    wechat: { token: s.wechatToken, aesKey: s.wechatAesKey, corpId: s.wechatCorpId, secret: s.wechatSecret, ingressUrl: wechatIngressUrl, openKfId: s.openKfId },
    telegram: { botToken: s.telegramBotToken, webhookSecret: s.telegramWebhookSecret, ingressUrl: telegramIngressUrl },
  });
  const app = createAdminApp({
    log,
    registry: createMetricsRegistry({ service: 'admin-test' }),
    redis: adminRedis,
    producers: adminProducers,
    prefix: pipeline.prefix,
    auth: opts.auth,
    sandbox,
  });
  server.on('request', app);

  const closeServer = (srv: Server) =>
    new Promise<void>((resolve) => {
      srv.closeAllConnections();
      srv.close(() => resolve());
    });
  return {
    adminUrl,
    pipeline,
    sandbox,
    prefix: pipeline.prefix,
    adminRedis,
    adminProducers,
    async close() {
      await closeServer(wxServer);
      await closeServer(tgServer);
      await wxIngressProducers.close();
      wxIngressRedis.disconnect();
      // workers first (they call the admin's fake APIs), then the admin server
      await pipeline.close();
      await closeServer(server);
      await adminProducers.close();
      adminRedis.disconnect();
    },
  };
}
