import type { Worker } from 'bullmq';
import { loadConfig, type ChannelId, type Logger, type OutboundAdapter } from '@switchboard/core';
import { createMetricsRegistry } from '@switchboard/core';
import { createWhatsAppOutboundAdapter, GraphClient, parseTemplateSpec } from '@switchboard/channel-whatsapp/outbound';
import { Agent, loadAgentConfig, prometheusAgentMetrics } from '@switchboard/agent';
import { createRedis, exportQueueDepths, DeliveryLedger, gatewayKeys, Mailbox, Producers, DEFAULT_MAILBOX_OPTIONS, type GatewayKeys, type RedisClient } from '@switchboard/queue';
import type { WorkerDeps, WorkerSettings } from './deps.js';
import { ROLES, workerEnv, type Role } from './env.js';
import { createWorkerMetrics } from './metrics.js';
import { startInboundRole } from './roles/inbound.js';
import { startOutboundRole } from './roles/outbound.js';
import { startTurnRole } from './roles/turn.js';
import { setupChatwoot } from './roles/chatwoot.js';
import { startMirrorRole } from './roles/mirror.js';
import { startWechatSyncRole } from './roles/wechat-sync.js';
import { createMediaStep } from './media-hook.js';
import { createWhatsAppMediaPreparer } from '@switchboard/media';
import { createGuardedFetcher, type GuardedFetcher, type Resolver } from '@switchboard/fetch';
import { createWechatWorkerChannel } from '@switchboard/channel-wechat-kf/outbound';

export type WorkerEnv = ReturnType<typeof loadWorkerEnv>;

/** Parses the worker's environment (throws ConfigError naming every problem). */
export function loadWorkerEnv(source?: Record<string, string | undefined>) {
  return loadConfig(workerEnv, source); // loadConfig reads process.env when no source is given
}

/** Which roles to run: WORKER_ROLES, default all. */
export function selectRoles(env: WorkerEnv): Role[] {
  if (env.WORKER_ROLES.length === 0) return [...ROLES];
  const unknown = env.WORKER_ROLES.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (unknown.length > 0) throw new Error(`WORKER_ROLES: unknown role(s) ${unknown.join(', ')}; known: ${ROLES.join(', ')}`);
  return env.WORKER_ROLES as Role[];
}

function settingsFrom(env: WorkerEnv): WorkerSettings {
  const policy = env.WHATSAPP_DISALLOWED_POLICY === 'refuse' ? 'refuse' : 'silent';
  const rate = Number(env.WHATSAPP_SEND_RATE);
  const settings: WorkerSettings = {
    concurrency: env.WORKER_CONCURRENCY,
    lockDurationMs: env.WORKER_LOCK_MS,
    debounceMs: env.TURN_DEBOUNCE_MS,
    maxWaitMs: Math.max(env.TURN_MAX_WAIT_MS, env.TURN_DEBOUNCE_MS),
    maxMessageAgeSec: env.INBOUND_MAX_AGE_SEC,
    whatsapp: {
      allowedUsers: env.WHATSAPP_ALLOWED_USERS,
      disallowedPolicy: policy,
      refusalText: env.WHATSAPP_REFUSAL_TEXT,
      sendRatePerSec: Number.isFinite(rate) && rate > 0 ? rate : 80,
    },
  };
  const tpl = parseTemplateSpec(env.WHATSAPP_FALLBACK_TEMPLATE);
  if (tpl) settings.whatsapp.fallbackTemplate = tpl;
  const mirror = (env as Record<string, unknown>).CHATWOOT_MIRROR_INBOX_ID;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- an untyped env value: number or string
  if (mirror !== undefined && mirror !== null && String(mirror) !== '') settings.mirrorInboxId = Number(mirror);
  return settings;
}

/** Outbound adapters of every channel that has credentials; one warning per disabled channel. */
function buildAdapters(env: WorkerEnv, log: Logger, redis: RedisClient, keys: GatewayKeys, fetcher: GuardedFetcher): Partial<Record<ChannelId, OutboundAdapter>> {
  const adapters: Partial<Record<ChannelId, OutboundAdapter>> = {};
  if (env.WHATSAPP_ACCESS_TOKEN) {
    const client = new GraphClient({ baseUrl: env.WHATSAPP_GRAPH_URL, accessToken: env.WHATSAPP_ACCESS_TOKEN });
    const tpl = parseTemplateSpec(env.WHATSAPP_FALLBACK_TEMPLATE);
    const media = createWhatsAppMediaPreparer(env, { graphUrl: env.WHATSAPP_GRAPH_URL, accessToken: env.WHATSAPP_ACCESS_TOKEN, redis, keys: keys.media, log, fetcher });
    adapters.whatsapp = createWhatsAppOutboundAdapter({
      client,
      media,
      reconcileWaitMs: env.WHATSAPP_RECONCILE_WAIT_MS,
      render: { maxParts: env.WHATSAPP_MAX_PARTS_PER_REPLY, shortenedNote: env.WHATSAPP_SHORTENED_NOTE },
      ...(tpl ? { fallbackTemplate: tpl } : {}),
    });
  } else {
    log.warn('WhatsApp sending disabled: WHATSAPP_ACCESS_TOKEN is not set');
  }
  const wechat = createWechatWorkerChannel(env, { redis, keys, log, fetcher });
  if (wechat.enabled) adapters['wechat-kf'] = wechat.adapter;
  else log.warn('WeChat Kefu sending disabled: missing settings', { missing: wechat.missing });
  return adapters;
}

/**
 * Builds every dependency of the worker roles (composition root, shared by main.ts and tests).
 * `queueRedis` is used by the BullMQ workers; the gateway's own commands get an auto-pipelined
 * connection of their own, closed by `deps.close()`. `opts.resolver` replaces the system DNS of the
 * guarded fetcher (tests that play DNS).
 */
export function buildWorkerDeps(env: WorkerEnv, queueRedis: RedisClient, producerRedis: RedisClient, log: Logger, opts: { resolver?: Resolver } = {}): WorkerDeps {
  const redis = createRedis(env.REDIS_URL, 'worker', { autoPipelining: true });
  redis.on('error', (err: Error) => log.warn('redis connection error', { err: err.message }));
  const prefix = env.QUEUE_PREFIX;
  const registry = createMetricsRegistry({ service: 'worker' });
  const settings = settingsFrom(env);
  const keys = gatewayKeys(prefix);
  const fetcher = createGuardedFetcher(env, { timeoutMs: env.MEDIA_DOWNLOAD_TIMEOUT_MS, maxBytes: env.MEDIA_MAX_BYTES }, { log, registry, ...(opts.resolver ? { resolver: opts.resolver } : {}) });
  const agent = new Agent({ config: loadAgentConfig(env.AGENT_CONFIG), env, redis, prefix, log, metrics: prometheusAgentMetrics(registry) });
  if (!agent.online) log.warn('agent offline: OPENAI_API_KEY is not set; answering from the FAQ and an offline notice');
  const deps: WorkerDeps = {
    settings,
    env,
    log,
    redis,
    queueRedis,
    close: async () => {
      redis.disconnect();
    },
    producers: new Producers(producerRedis, prefix),
    prefix,
    keys,
    mailbox: new Mailbox(redis, prefix, { ...DEFAULT_MAILBOX_OPTIONS, debounceMs: settings.debounceMs, maxWaitMs: settings.maxWaitMs }),
    ledger: new DeliveryLedger(redis, prefix),
    registry,
    metrics: createWorkerMetrics(registry),
    agent,
    fetcher,
    adapters: buildAdapters(env, log, redis, keys, fetcher),
    onOutboundFailed: [],
    inboundHooks: [],
  };
  // Chatwoot: adapter, delivery-failure reports and the relay/takeover hooks (when configured)
  deps.inboundHooks.push(...setupChatwoot(deps).hooks);
  // backlog per queue on /metrics (read at scrape time): sizing workers and backpressure
  const depths = exportQueueDepths(registry, deps.producers, { alertThreshold: env.BACKLOG_ALERT_THRESHOLD, log });
  deps.close = async () => {
    depths.stop();
    redis.disconnect();
  };
  const mediaStep = createMediaStep(deps);
  if (mediaStep) deps.mediaStep = mediaStep;
  return deps;
}

/** Starts the BullMQ workers of the given roles. */
export function startRoles(deps: WorkerDeps, roles: readonly Role[]): Worker[] {
  const workers: Worker[] = [];
  if (roles.includes('inbound')) {
    workers.push(...startInboundRole(deps, deps.inboundHooks));
    // WeChat callbacks only say "pull": the sync is part of getting messages in
    if (deps.adapters['wechat-kf']) workers.push(...startWechatSyncRole(deps));
  }
  if (roles.includes('agent')) workers.push(...startTurnRole(deps));
  if (roles.includes('outbound')) workers.push(...startOutboundRole(deps));
  if (roles.includes('mirror') && deps.settings.mirrorInboxId !== undefined) workers.push(...startMirrorRole(deps));
  return workers;
}
