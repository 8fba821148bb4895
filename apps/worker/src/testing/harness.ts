import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createMetricsRegistry, silentLogger } from '@switchboard/core';
import { createWhatsAppInboundAdapter } from '@switchboard/channel-whatsapp/inbound';
import { closeWorkers, createRedis, DeliveryLedger, Mailbox, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import {
  dropPrefix,
  signMeta,
  startFakeGraph,
  startFakeOpenAI,
  testRedisUrl,
  uniquePrefix,
  type FakeGraph,
  type FakeOpenAI,
  type FakeOpenAIOptions,
} from '@switchboard/testkit';
import { createWhatsAppIngressApp } from '../../../whatsapp-ingress/src/app';
import { buildWorkerDeps, loadWorkerEnv, startRoles, type WorkerEnv } from '../compose';
import type { WorkerDeps } from '../deps';
import type { Role } from '../env';

/** Test secret for the harness's WhatsApp ingress. */
export const HARNESS_APP_SECRET = 'harness_app_secret';

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
}

/** Starts the pipeline against the real Redis with a unique prefix. */
export async function startPipeline(opts: PipelineOptions = {}): Promise<Pipeline> {
  const prefix = uniquePrefix('e2e');
  const graph = await startFakeGraph(opts.graphProxy ? { proxyUnknownTo: opts.graphProxy } : {});
  const openai = await startFakeOpenAI(opts.openai ?? {});
  const env = loadWorkerEnv({
    REDIS_URL: testRedisUrl(),
    QUEUE_PREFIX: prefix,
    WHATSAPP_ACCESS_TOKEN: 'harness-access-token',
    WHATSAPP_GRAPH_URL: graph.url,
    OPENAI_API_KEY: 'sk-harness',
    OPENAI_BASE_URL: openai.url,
    TURN_DEBOUNCE_MS: '150',
    TURN_MAX_WAIT_MS: '1000',
    ...opts.env,
  });
  const log = silentLogger();
  const redis: RedisClient = createRedis(env.REDIS_URL, 'worker');
  const producerRedis: RedisClient = createRedis(env.REDIS_URL, 'worker');
  const ingressRedis: RedisClient = createRedis(env.REDIS_URL, 'producer');
  ingressRedis.on('error', () => undefined);
  await waitReady(ingressRedis);
  const deps = buildWorkerDeps(env, redis, producerRedis, log);
  const roles = opts.roles ?? ['inbound', 'agent', 'outbound'];
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
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const ingressUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const pipeline: Pipeline = {
    prefix,
    env,
    deps,
    graph,
    openai,
    ingressUrl,
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
    async restartWorkers() {
      await closeWorkers(workers, 10_000);
      workers = startRoles(deps, roles);
    },
    async close() {
      await closeWorkers(workers, 10_000);
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await ingressProducers.close();
      await deps.producers.close();
      await deps.close();
      await graph.close();
      await openai.close();
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
