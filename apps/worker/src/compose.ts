import type { Worker } from 'bullmq';
import { accountFileProblems, ChannelId, ConfigError, conversationId, loadConfig, readAccountsFile, type AccountsFile, type ConversationRef, type Logger } from '@switchboard/core';
import { createMetricsRegistry } from '@switchboard/core';
import { Agent, loadAgentConfig, prometheusAgentMetrics } from '@switchboard/agent';
import type { WorkerChannelContext, WorkerMediaToolkit } from '@switchboard/channel-runtime';
import { CHANNELS, openChannelMessaging } from '@switchboard/channels';
import { createRedis, exportQueueDepths, DeliveryLedger, gatewayKeys, HeldReplies, Mailbox, Producers, DEFAULT_MAILBOX_OPTIONS, type RedisClient } from '@switchboard/queue';
import type { WorkerAccount, WorkerChannel, WorkerDeps, WorkerSettings } from './deps.js';
import { ROLES, workerEnv, type Role } from './env.js';
import { createWorkerMetrics } from './metrics.js';
import { startInboundRole } from './roles/inbound.js';
import { startOutboundRole } from './roles/outbound.js';
import { startTurnRole } from './roles/turn.js';
import { startMirrorRole } from './roles/mirror.js';
import { knowledgeJobId, startKnowledgeRole } from './roles/knowledge.js';
import { startRecordRole } from './roles/record.js';
import { startApiCallbacksRole } from './roles/api-callbacks.js';
import { apiCallbackSettings } from './api-callback-settings.js';
import { startBroadcastRole } from './roles/broadcast.js';
import { NO_RECORDER, parsePrices, QueueRecorder, RecordWriter, retentionOf } from '@switchboard/record';
import type { Store } from '@switchboard/store';
import { CachedPeopleLookup, PeopleDirectory } from '@switchboard/people';
import type { KnowledgeBase } from '@switchboard/knowledge';
import { allAccounts, mirrorProblems } from './channels.js';
import { createMediaStep } from './media-hook.js';
import { linkLimitsFrom } from './link-reader.js';
import { createFfmpeg, createMediaStore } from '@switchboard/media';
import { createGuardedFetcher, type Resolver } from '@switchboard/fetch';
import { acceptContext, markUnreachable, setOwner } from './schedule.js';
import { humanOwnershipTerm, startOwnershipResume } from './handoff-expiry.js';
import { startTurnRepair } from './turn-repair.js';
import { startHeldReplyExpiry } from './held-replies.js';
import { channelSentEntry } from './recording.js';

export type WorkerEnv = ReturnType<typeof loadWorkerEnv>;

/** Parses the worker's environment (throws ConfigError naming every problem). */
export function loadWorkerEnv(source?: Record<string, string | undefined>) {
  return loadConfig(workerEnv, source); // loadConfig reads process.env when no source is given
}

/** Which roles to run: WORKER_ROLES, default all (`knowledge` and `record` only with a store: DATABASE_URL; `record` not with RECORD_ENABLED=false). */
export function selectRoles(env: WorkerEnv): Role[] {
  if (env.WORKER_ROLES.length === 0) return ROLES.filter((r) => (r !== 'knowledge' && r !== 'record') || (Boolean(env.DATABASE_URL) && (r !== 'record' || env.RECORD_ENABLED)));
  const unknown = env.WORKER_ROLES.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (unknown.length > 0) throw new Error(`WORKER_ROLES: unknown role(s) ${unknown.join(', ')}; known: ${ROLES.join(', ')}`);
  if (env.WORKER_ROLES.includes('knowledge') && !env.DATABASE_URL) throw new Error('WORKER_ROLES: the knowledge role needs the store (DATABASE_URL)');
  if (env.WORKER_ROLES.includes('record') && !env.DATABASE_URL) throw new Error('WORKER_ROLES: the record role needs the store (DATABASE_URL)');
  return env.WORKER_ROLES as Role[];
}

function settingsFrom(env: WorkerEnv): WorkerSettings {
  return {
    concurrency: env.WORKER_CONCURRENCY,
    lockDurationMs: env.WORKER_LOCK_MS,
    debounceMs: env.TURN_DEBOUNCE_MS,
    maxWaitMs: Math.max(env.TURN_MAX_WAIT_MS, env.TURN_DEBOUNCE_MS),
    maxMessageAgeSec: env.INBOUND_MAX_AGE_SEC,
    broadcast: { share: env.BROADCAST_RATE_SHARE, tickMs: env.BROADCAST_TICK_MS },
    handoffAutoResumeMinutes: env.HANDOFF_AUTO_RESUME_MINUTES,
    handoffResumeSweepMs: env.HANDOFF_RESUME_SWEEP_MS,
  };
}

/** Reads ACCOUNTS_FILE and checks every entry against its channel's keys: one ConfigError naming every problem. */
// eslint-disable-next-line no-restricted-properties -- the default source, as loadConfig's: tests pass their own
export function loadAccountsFile(env: Pick<WorkerEnv, 'ACCOUNTS_FILE'>, source: Readonly<Record<string, string | undefined>> = process.env): AccountsFile | undefined {
  if (!env.ACCOUNTS_FILE) return undefined;
  return readAccountsFile(env.ACCOUNTS_FILE, source, (file) => ChannelId.options.flatMap((id) => accountFileProblems(file, id, CHANNELS[id].accountFileSchema)));
}

/**
 * Opens every registered channel's accounts (the environment's `default` and the file's); one
 * warning per disabled channel. An account naming its own `agent` gets its own Agent (one per file).
 */
function openChannels(env: WorkerEnv, ctx: WorkerChannelContext, log: Logger, file: AccountsFile | undefined, agentOf: (path: string) => Agent): Record<ChannelId, WorkerChannel> {
  const open = (id: ChannelId): WorkerChannel => {
    const module = CHANNELS[id];
    const started = module.start(env, ctx, file);
    if (!started.enabled) {
      log.warn(`${module.title} disabled: missing settings`, { channel: id, missing: started.missing, ...(started.hint ? { hint: started.hint } : {}) });
      return { module, accounts: new Map(), ...(started.mediaSource ? { unconfiguredMediaSource: started.mediaSource } : {}) };
    }
    const accounts = started.accounts.map((a): WorkerAccount => (a.entry?.agent ? { ...a, agent: agentOf(a.entry.agent) } : a));
    return { module, accounts: new Map(accounts.map((a) => [a.accountId, a])) };
  };
  // complete by construction: one entry per channel id, in registry order
  const channels = Object.fromEntries(ChannelId.options.map((id) => [id, open(id)])) as Record<ChannelId, WorkerChannel>;
  // the validation report of a good start: one line, ids and channels only (never a setting)
  log.info('accounts served', {
    accountsFile: file?.path ?? null,
    accounts: ChannelId.options.flatMap((id) => [...channels[id].accounts.keys()].map((accountId) => ({ channel: id, id: accountId }))),
  });
  return channels;
}

/**
 * Builds every dependency of the worker roles (composition root, shared by main.ts and tests).
 * `queueRedis` is used by the BullMQ workers; the gateway's own commands get an auto-pipelined
 * connection of their own, closed by `deps.close()`. `opts.resolver` replaces the system DNS of the
 * guarded fetcher (tests that play DNS). `opts.knowledge` (the store is configured) gives the agent
 * its knowledge base and enables the `knowledge` role; `opts.store` turns the record on (unless
 * RECORD_ENABLED=false): the pipeline's recorder and the `record` role's sink.
 */
export function buildWorkerDeps(
  env: WorkerEnv,
  queueRedis: RedisClient,
  producerRedis: RedisClient,
  log: Logger,
  opts: { resolver?: Resolver; accountsFile?: AccountsFile; knowledge?: KnowledgeBase; store?: Pick<Store, 'db' | 'readiness'> } = {},
): WorkerDeps {
  // before any connection is opened: a configuration problem stops the start
  const apiCallbacks = apiCallbackSettings(env);
  const redis = createRedis(env.REDIS_URL, 'worker', { autoPipelining: true });
  redis.on('error', (err: Error) => log.warn('redis connection error', { err: err.message }));
  const prefix = env.QUEUE_PREFIX;
  const registry = createMetricsRegistry({ service: 'worker' });
  const settings = settingsFrom(env);
  const keys = gatewayKeys(prefix);
  const fetcher = createGuardedFetcher(env, { timeoutMs: env.MEDIA_DOWNLOAD_TIMEOUT_MS, maxBytes: env.MEDIA_MAX_BYTES }, { log, registry, ...(opts.resolver ? { resolver: opts.resolver } : {}) });
  const agentMetrics = prometheusAgentMetrics(registry);
  const agent = new Agent({ config: loadAgentConfig(env.AGENT_CONFIG), env, redis, prefix, log, metrics: agentMetrics, knowledge: opts.knowledge });
  const accountAgents = new Map<string, Agent>();
  const agentOf = (path: string): Agent => {
    let a = accountAgents.get(path);
    if (!a) accountAgents.set(path, (a = new Agent({ config: loadAgentConfig(path), env, redis, prefix, log, metrics: agentMetrics, knowledge: opts.knowledge })));
    return a;
  };
  if (!agent.online) log.warn('agent offline: OPENAI_API_KEY is not set; answering from the FAQ and an offline notice');
  const producers = new Producers(producerRedis, prefix);
  const mailbox = new Mailbox(redis, prefix, { ...DEFAULT_MAILBOX_OPTIONS, debounceMs: settings.debounceMs, maxWaitMs: settings.maxWaitMs });
  const media: WorkerMediaToolkit = { env, store: createMediaStore(env), ffmpeg: createFfmpeg(env), keys: keys.media };
  const metrics = createWorkerMetrics(registry);
  const recordStore = opts.store && env.RECORD_ENABLED ? opts.store : undefined;
  const recorder = recordStore
    ? new QueueRecorder({ enqueue: (job, id) => producers.enqueue('record', job, { jobId: id }), log, onFailure: () => metrics.recordEnqueueFailures.inc() })
    : NO_RECORDER;
  const base = { settings, redis, prefix, keys, producers, mailbox };
  const late: { deps?: WorkerDeps } = {};
  const accountsFile = opts.accountsFile ?? loadAccountsFile(env);
  const ctx: WorkerChannelContext = {
    log,
    redis,
    queueRedis,
    prefix,
    keys,
    producers,
    registry,
    fetcher,
    media,
    consumers: { concurrency: settings.concurrency, lockDurationMs: settings.lockDurationMs },
    accept: acceptContext(base),
    // the channels open before the deps exist: the term reads the conversation's agent once they do
    setOwner: (convId, owner, reason, accountId, ref) => setOwner(late.deps ?? base, convId, owner, reason, accountId, owner === 'human' && ref && late.deps ? humanOwnershipTerm(late.deps, ref) : { ref }),
    markUnreachable: (ref: ConversationRef, reason: string) => markUnreachable(base, conversationId(ref), reason),
    recordSent: (message) => (recorder.enabled ? recorder.record(channelSentEntry(message)) : Promise.resolve()),
    messaging: openChannelMessaging({ env, accountsFile, context: { redis, prefix, keys, log } }),
  };
  const deps: WorkerDeps = {
    settings,
    log,
    redis,
    queueRedis,
    close: async () => {
      redis.disconnect();
    },
    producers,
    prefix,
    keys,
    mailbox,
    ledger: new DeliveryLedger(redis, prefix),
    held: new HeldReplies(redis, keys),
    registry,
    metrics,
    recorder,
    prices: parsePrices(env.LLM_PRICES),
    ...(apiCallbacks ? { apiCallbacks } : {}),
    ...(opts.store
      ? (() => {
          const directory = new PeopleDirectory(opts.store.db);
          return { people: { directory, lookup: new CachedPeopleLookup(directory, env.PEOPLE_CACHE_TTL_MS), db: opts.store.db } };
        })()
      : {}),
    ...(recordStore
      ? {
          recordSink: {
            db: recordStore.db,
            writer: new RecordWriter(recordStore.db),
            probe: recordStore.readiness,
            batchMax: env.RECORD_BATCH_MAX,
            batchWaitMs: env.RECORD_BATCH_WAIT_MS,
            retention: retentionOf(env),
          },
        }
      : {}),
    agent,
    fetcher,
    knowledge: opts.knowledge,
    channels: openChannels(env, ctx, log, accountsFile, agentOf),
  };
  late.deps = deps;
  const problems = mirrorProblems(deps);
  if (problems.length > 0) {
    redis.disconnect();
    throw new ConfigError(problems);
  }
  // backlog per queue on /metrics (read at scrape time): sizing workers and backpressure
  const depths = exportQueueDepths(registry, deps.producers, { alertThreshold: env.BACKLOG_ALERT_THRESHOLD, log });
  deps.close = async () => {
    depths.stop();
    redis.disconnect();
  };
  if (opts.knowledge) {
    const kb = opts.knowledge;
    deps.knowledge = kb;
    // a fetcher of its own: pages and files are capped by KNOWLEDGE_MAX_BYTES, not the media limit
    const kbFetcher = createGuardedFetcher(env, { timeoutMs: env.KNOWLEDGE_FETCH_TIMEOUT_MS, maxBytes: env.KNOWLEDGE_MAX_BYTES }, { log, registry, ...(opts.resolver ? { resolver: opts.resolver } : {}) });
    deps.knowledgeIngest = {
      repo: kb.repo,
      embedder: kb.embedder,
      fetcher: kbFetcher,
      env,
      recheckHours: env.KNOWLEDGE_RECHECK_HOURS,
      log,
      enqueue: (documentId, reason) => producers.enqueue('knowledge', { documentId, reason }, { jobId: knowledgeJobId(documentId, reason) }),
    };
  }
  const mediaStep = createMediaStep(deps, env, media, linkLimitsFrom(env));
  if (mediaStep) deps.mediaStep = mediaStep;
  return deps;
}

/** The held-reply expiry schedule of each deps (a restart of the roles replaces it). */
const heldExpiry = new WeakMap<WorkerDeps, () => void>();

/** The ownership resume sweep of each deps (a restart of the roles replaces it). */
const ownershipResume = new WeakMap<WorkerDeps, () => void>();

/** The sweep for pending turns without a job of each deps (a restart of the roles replaces it). */
const turnRepair = new WeakMap<WorkerDeps, () => void>();

/** Starts the BullMQ workers of the given roles, with the channels' own consumers of each role. */
export function startRoles(deps: WorkerDeps, roles: readonly Role[]): Worker[] {
  const workers: Worker[] = [];
  if (roles.includes('inbound')) {
    workers.push(...startInboundRole(deps));
    heldExpiry.get(deps)?.();
    heldExpiry.set(deps, startHeldReplyExpiry(deps));
    ownershipResume.get(deps)?.();
    ownershipResume.set(deps, startOwnershipResume(deps));
  }
  if (roles.includes('agent')) {
    workers.push(...startTurnRole(deps));
    turnRepair.get(deps)?.();
    turnRepair.set(deps, startTurnRepair(deps));
  }
  if (roles.includes('outbound')) workers.push(...startOutboundRole(deps));
  if (roles.includes('mirror')) workers.push(...startMirrorRole(deps));
  if (roles.includes('knowledge')) workers.push(...startKnowledgeRole(deps));
  if (roles.includes('record')) workers.push(...startRecordRole(deps));
  if (roles.includes('api-callbacks')) workers.push(...startApiCallbacksRole(deps));
  if (roles.includes('broadcast')) workers.push(...startBroadcastRole(deps));
  for (const role of roles) for (const account of allAccounts(deps)) workers.push(...(account.roles?.[role]?.() ?? []));
  return workers;
}
