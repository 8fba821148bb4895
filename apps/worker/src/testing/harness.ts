/**
 * Test-only entry `@switchboard/worker/testing` (package.json "exports", source only: excluded from
 * the build, resolved by tsconfig paths and jest): the whole pipeline in one process for the worker's
 * e2e tests and the admin sandbox's harness. It loads the ingress apps through their `./app` exports.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createMetricsRegistry, silentLogger } from '@switchboard/core';
import { createWhatsAppInboundAdapter } from '@switchboard/channel-whatsapp/inbound';
import { createTelegramInboundAdapter } from '@switchboard/channel-telegram/inbound';
import { chatwootSettings } from '@switchboard/channel-chatwoot/inbound';
import { closeWorkers, createRedis, DeliveryLedger, Mailbox, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import {
  deliverTelegramUpdate,
  dropPrefix,
  signChatwoot,
  signMeta,
  startFakeChatwoot,
  startFakeGraph,
  startFakeOpenAI,
  startFakeTelegram,
  TELEGRAM_FIXTURE_BOT,
  testRedisUrl,
  uniquePrefix,
  type FakeChatwoot,
  type FakeGraph,
  type FakeOpenAI,
  type FakeOpenAIOptions,
  type FakeTelegram,
} from '@switchboard/testkit';
import { createWhatsAppIngressApp } from '@switchboard/whatsapp-ingress/app';
import { createTelegramIngressApp } from '@switchboard/telegram-ingress/app';
import { createChatwootIngressApp } from '@switchboard/chatwoot-ingress/app';
import { buildWorkerDeps, loadWorkerEnv, startRoles, type WorkerEnv } from '../compose';
import type { WorkerDeps } from '../deps';
import type { KnowledgeBase } from '@switchboard/knowledge';
import type { Store } from '@switchboard/store';
import type { Role } from '../env';

/** Test secret for the harness's WhatsApp ingress. */
export const HARNESS_APP_SECRET = 'harness_app_secret';
/** Test secret of the harness's Chatwoot ingress. */
export const HARNESS_CHATWOOT_SECRET = 'harness-chatwoot-secret';
/** The Chatwoot API inbox the harness mirrors conversations into (with `chatwoot: true`). */
export const HARNESS_MIRROR_INBOX = 23;

/** A whole pipeline in one process: WhatsApp ingress on loopback, worker roles, fake Graph and OpenAI. */
export interface Pipeline {
  prefix: string;
  /** The parsed worker environment the pipeline runs with. */
  env: WorkerEnv;
  deps: WorkerDeps;
  graph: FakeGraph;
  openai: FakeOpenAI;
  ingressUrl: string;
  workers: Worker[];
  /** Signs a payload (or exact raw string) and POSTs it to the ingress; returns the HTTP status. */
  postWhatsApp(payload: unknown): Promise<number>;
  /** The fake Bot API (with `telegram: true`). */
  telegram?: FakeTelegram;
  /** POSTs an update to the Telegram ingress with the webhook secret; returns the HTTP status. */
  postTelegram(update: unknown): Promise<number>;
  /** The fake Chatwoot (with `chatwoot: true`): agent bot, API inbox {@link HARNESS_MIRROR_INBOX}. */
  chatwoot?: FakeChatwoot;
  /** Signs a webhook like Chatwoot and POSTs it to the Chatwoot ingress; returns the HTTP status. */
  postChatwoot(payload: unknown, deliveryId?: string): Promise<number>;
  /** Stops and starts the worker roles (a worker restart). */
  restartWorkers(): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link startPipeline}. */
export interface PipelineOptions {
  env?: Record<string, string>;
  roles?: Role[];
  openai?: FakeOpenAIOptions;
  /** Base URL the fake Graph API forwards unknown requests to (a fake media host). */
  graphProxy?: string;
  /** Also run the Telegram channel: a fake Bot API and telegram-ingress ({@link TELEGRAM_FIXTURE_BOT}). */
  telegram?: boolean;
  /** Also run Chatwoot: a fake Chatwoot with a mirror inbox and chatwoot-ingress. */
  chatwoot?: boolean;
  /** Add the fake Chatwoot (on loopback) to FETCH_ALLOWED_ORIGINS, as a Chatwoot on a private network needs, so agents' files can be fetched. */
  chatwootFetchAllowed?: boolean;
  /** The knowledge base the agents search. */
  knowledge?: KnowledgeBase;
  /** The store: turns the record on (the recorder, and the `record` role among the default roles). */
  store?: Pick<Store, 'db' | 'readiness'>;
}

/** Starts the pipeline against the real Redis with a unique prefix. */
export async function startPipeline(opts: PipelineOptions = {}): Promise<Pipeline> {
  const prefix = uniquePrefix('e2e');
  const graph = await startFakeGraph(opts.graphProxy ? { proxyUnknownTo: opts.graphProxy } : {});
  const openai = await startFakeOpenAI(opts.openai ?? {});
  const telegram = opts.telegram ? await startFakeTelegram({ token: TELEGRAM_FIXTURE_BOT.token, botUsername: TELEGRAM_FIXTURE_BOT.username }) : undefined;
  const chatwoot = opts.chatwoot ? await startFakeChatwoot() : undefined;
  const env = loadWorkerEnv({
    ...(telegram ? { TELEGRAM_BOT_TOKEN: TELEGRAM_FIXTURE_BOT.token, TELEGRAM_WEBHOOK_SECRET: TELEGRAM_FIXTURE_BOT.webhookSecret, TELEGRAM_API_URL: telegram.apiUrl } : {}),
    ...(chatwoot
      ? {
          CHATWOOT_URL: chatwoot.url,
          CHATWOOT_ACCOUNT_ID: String(chatwoot.accountId),
          CHATWOOT_BOT_TOKEN: chatwoot.botToken,
          CHATWOOT_API_TOKEN: chatwoot.userToken,
          CHATWOOT_BOT_ID: '4',
          CHATWOOT_WEBHOOK_SECRET: HARNESS_CHATWOOT_SECRET,
          CHATWOOT_MIRROR_INBOX_ID: String(HARNESS_MIRROR_INBOX),
        }
      : {}),
    REDIS_URL: testRedisUrl(),
    QUEUE_PREFIX: prefix,
    WHATSAPP_ACCESS_TOKEN: 'harness-access-token',
    WHATSAPP_GRAPH_URL: graph.url,
    OPENAI_API_KEY: 'sk-harness',
    OPENAI_BASE_URL: openai.url,
    TURN_DEBOUNCE_MS: '150',
    TURN_MAX_WAIT_MS: '1000',
    ...opts.env,
    ...(chatwoot && opts.chatwootFetchAllowed ? { FETCH_ALLOWED_ORIGINS: [opts.env?.['FETCH_ALLOWED_ORIGINS'], chatwoot.url].filter(Boolean).join(',') } : {}),
  });
  const log = silentLogger();
  const redis: RedisClient = createRedis(env.REDIS_URL, 'worker');
  const producerRedis: RedisClient = createRedis(env.REDIS_URL, 'worker');
  const ingressRedis: RedisClient = createRedis(env.REDIS_URL, 'producer');
  ingressRedis.on('error', () => undefined);
  await waitReady(ingressRedis);
  const deps = buildWorkerDeps(env, redis, producerRedis, log, { ...(opts.knowledge ? { knowledge: opts.knowledge } : {}), ...(opts.store ? { store: opts.store } : {}) });
  const roles = opts.roles ?? (['inbound', 'agent', 'outbound', ...(opts.store ? (['record'] as const) : [])] satisfies Role[]);
  let workers = startRoles(deps, roles);
  const ingressProducers = new Producers(ingressRedis, prefix);
  const app = createWhatsAppIngressApp({
    log,
    registry: createMetricsRegistry({ service: 'harness' }),
    producers: ingressProducers,
    redis: ingressRedis,
    adapter: createWhatsAppInboundAdapter({ appSecret: HARNESS_APP_SECRET }),
    accept: { mailbox: new Mailbox(ingressRedis, prefix), producers: ingressProducers, redis: ingressRedis, prefix, debounceMs: env.TURN_DEBOUNCE_MS, maxMessageAgeSec: env.INBOUND_MAX_AGE_SEC },
    ledger: new DeliveryLedger(ingressRedis, prefix),
    verifyToken: 'harness_verify',
  });
  const listenLoopback = (handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> =>
    new Promise((resolve) => {
      const srv = createServer(handler).listen(0, '127.0.0.1', () => resolve({ server: srv, url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}` }));
    });
  const { server, url: ingressUrl } = await listenLoopback(app);
  const accept = { mailbox: new Mailbox(ingressRedis, prefix), producers: ingressProducers, redis: ingressRedis, prefix, debounceMs: env.TURN_DEBOUNCE_MS, maxMessageAgeSec: env.INBOUND_MAX_AGE_SEC };
  const extraServers: Server[] = [];
  let telegramUrl: string | undefined;
  if (telegram) {
    const tgApp = createTelegramIngressApp({
      log,
      registry: createMetricsRegistry({ service: 'harness-telegram' }),
      producers: ingressProducers,
      redis: ingressRedis,
      adapter: createTelegramInboundAdapter({ webhookSecret: TELEGRAM_FIXTURE_BOT.webhookSecret, botId: TELEGRAM_FIXTURE_BOT.id, botUsername: TELEGRAM_FIXTURE_BOT.username }),
      accept,
    });
    const started = await listenLoopback(tgApp);
    extraServers.push(started.server);
    telegramUrl = started.url;
  }
  let chatwootUrl: string | undefined;
  if (chatwoot) {
    const cwSettings = chatwootSettings({
      CHATWOOT_URL: chatwoot.url,
      CHATWOOT_ACCOUNT_ID: chatwoot.accountId,
      CHATWOOT_BOT_ID: 4,
      CHATWOOT_WEBHOOK_SECRET: [HARNESS_CHATWOOT_SECRET],
      CHATWOOT_MIRROR_INBOX_ID: HARNESS_MIRROR_INBOX,
    });
    const cwApp = createChatwootIngressApp({ log, registry: createMetricsRegistry({ service: 'harness-chatwoot' }), producers: ingressProducers, redis: ingressRedis, prefix, settings: cwSettings });
    const started = await listenLoopback(cwApp);
    extraServers.push(started.server);
    chatwootUrl = started.url;
  }
  let chatwootDelivery = 0;
  const pipeline: Pipeline = {
    prefix,
    env,
    deps,
    graph,
    openai,
    ingressUrl,
    ...(telegram ? { telegram } : {}),
    ...(chatwoot ? { chatwoot } : {}),
    get workers() {
      return workers;
    },
    async postWhatsApp(payload) {
      const raw = typeof payload === 'string' ? payload : JSON.stringify(payload);
      const res = await fetch(`${ingressUrl}/webhooks/whatsapp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMeta(raw, HARNESS_APP_SECRET) },
        body: raw,
      });
      await res.arrayBuffer();
      return res.status;
    },
    async postTelegram(update) {
      if (!telegramUrl) throw new Error('startPipeline({ telegram: true }) runs the Telegram ingress');
      const res = await deliverTelegramUpdate(`${telegramUrl}/webhooks/telegram`, update, TELEGRAM_FIXTURE_BOT.webhookSecret);
      await res.arrayBuffer();
      return res.status;
    },
    async postChatwoot(payload, deliveryId = `harness-${++chatwootDelivery}`) {
      if (!chatwootUrl) throw new Error('startPipeline({ chatwoot: true }) runs the Chatwoot ingress');
      const body = JSON.stringify(payload);
      const res = await fetch(`${chatwootUrl}/webhooks/chatwoot`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-chatwoot-delivery': deliveryId, ...signChatwoot(body, HARNESS_CHATWOOT_SECRET) },
        body,
      });
      await res.arrayBuffer();
      return res.status;
    },
    async restartWorkers() {
      await closeWorkers(workers, 10_000);
      workers = startRoles(deps, roles);
    },
    async close() {
      await closeWorkers(workers, 10_000);
      for (const srv of [server, ...extraServers]) {
        await new Promise<void>((resolve) => {
          srv.closeAllConnections();
          srv.close(() => resolve());
        });
      }
      await ingressProducers.close();
      await deps.producers.close();
      await deps.close();
      await graph.close();
      await openai.close();
      await telegram?.close();
      await chatwoot?.close();
      const admin = new Redis(testRedisUrl());
      await dropPrefix(admin, prefix);
      admin.disconnect();
      redis.disconnect();
      producerRedis.disconnect();
      ingressRedis.disconnect();
    },
  };
  return pipeline;
}
