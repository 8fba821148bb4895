// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- programs that read the worker from source (admin) need the knowledge package's vendor declaration
/// <reference path="./knowledge-vendor.d.ts" />
import type { Registry } from 'prom-client';
import type { ChannelId, ConversationRef, InboundMessage, Logger, OpenedChannelAccount } from '@switchboard/core';
import type { Agent } from '@switchboard/agent';
import type { WorkerChannelModule, WorkerRuntime } from '@switchboard/channel-runtime';
import type { GuardedFetcher } from '@switchboard/fetch';
import type { IngestDeps, KnowledgeBase } from '@switchboard/knowledge';
import type { DeliveryLedger, GatewayKeys, HeldReplies, Mailbox, Producers, RedisClient } from '@switchboard/queue';
import type { ModelPrice, Recorder, RecordRetention, RecordWriter } from '@switchboard/record';
import type { Database, Kysely } from '@switchboard/store';
import type { WorkerMetrics } from './metrics.js';
import type { ApiCallbackSettings } from './api-callback-settings.js';
import type { PeopleDirectory, PeopleLookup } from '@switchboard/people';

/** Settings the roles read (a subset of the parsed worker env, so tests can build it directly). */
export interface WorkerSettings {
  concurrency: number;
  /** BullMQ lock of active jobs: a killed worker's jobs are picked up again about this long later. */
  lockDurationMs: number;
  debounceMs: number;
  maxWaitMs: number;
  maxMessageAgeSec: number;
  /** The `broadcast` role's pacing (BROADCAST_RATE_SHARE, BROADCAST_TICK_MS); absent = its defaults. */
  broadcast?: { readonly share: number; readonly tickMs: number };
  /** Minutes without human activity after which a human-owned conversation goes back to the bot (HANDOFF_AUTO_RESUME_MINUTES; 0/absent = never). */
  handoffAutoResumeMinutes?: number;
  /** How often the `inbound` role hands expired human ownership back (HANDOFF_RESUME_SWEEP_MS). */
  handoffResumeSweepMs?: number;
}

/** The `knowledge` role's settings and ingestion dependencies (built when the store is configured). */
export type KnowledgeIngest = IngestDeps & {
  /** KNOWLEDGE_RECHECK_HOURS (0 = never). */
  readonly recheckHours: number;
};

/** What the `record` role writes with (set when the store is configured and RECORD_ENABLED). */
export interface RecordSink {
  readonly db: Kysely<Database>;
  readonly writer: RecordWriter;
  /** Undefined when the store answers (checkStore). */
  probe(): Promise<string | undefined>;
  readonly batchMax: number;
  readonly batchWaitMs: number;
  readonly retention: RecordRetention;
}

/** One opened account of a channel in this worker. */
export type WorkerAccount = OpenedChannelAccount<WorkerRuntime> & {
  /** The account's own agent (`agent` in ACCOUNTS_FILE); absent = the deployment's AGENT_CONFIG. */
  readonly agent?: Agent;
};

/** A channel as this worker runs it: its module and its opened accounts (none when disabled). */
export interface WorkerChannel {
  readonly module: WorkerChannelModule;
  /** accountId → account (`default` from the environment, the others from ACCOUNTS_FILE). */
  readonly accounts: ReadonlyMap<string, WorkerAccount>;
  /** Media source when the channel is off (credential-free attachments). */
  readonly unconfiguredMediaSource?: WorkerRuntime['mediaSource'];
}

/** The directory as the worker uses it (set when the store is configured). */
export interface WorkerPeople {
  readonly directory: PeopleDirectory;
  /** Cached look-ups (PEOPLE_CACHE_TTL_MS). */
  readonly lookup: PeopleLookup;
  /** The store (staff commands find recorded conversations in it). */
  readonly db: Kysely<Database>;
}

/** Everything a role needs, built once in the composition root (main.ts) or the test harness. */
export interface WorkerDeps {
  settings: WorkerSettings;
  log: Logger;
  /** The gateway's own Redis commands (mailbox, ledger, agent): auto-pipelined, waits out outages. */
  redis: RedisClient;
  /** BullMQ workers' connection (no auto-pipelining). */
  queueRedis: RedisClient;
  /** Closes what buildWorkerDeps opened (the auto-pipelined connection). */
  close(): Promise<void>;
  producers: Producers;
  prefix: string;
  keys: GatewayKeys;
  mailbox: Mailbox;
  ledger: DeliveryLedger;
  /** Replies held while a customer's window is closed (channels with a `heldReplies` policy). */
  held: HeldReplies;
  registry: Registry;
  metrics: WorkerMetrics;
  agent: Agent;
  /** The one way to download a URL that came from outside (media, attachments, reply media): see `@switchboard/fetch`. */
  fetcher: GuardedFetcher;
  /** Every registered channel, enabled or not (complete: one entry per channel id). */
  channels: Record<ChannelId, WorkerChannel>;
  /** Media step of a turn: transcripts, images, document text (undefined = media pipeline off). */
  mediaStep?: (messages: InboundMessage[], ref: ConversationRef) => Promise<InboundMessage[]>;
  /** The knowledge base (search for the agent), when the store is configured (DATABASE_URL). */
  knowledge?: KnowledgeBase;
  /** What the `knowledge` role ingests with (set together with `knowledge`). */
  knowledgeIngest?: KnowledgeIngest;
  /** Reports facts for the record (a no-op without the store or with RECORD_ENABLED=false). */
  recorder: Recorder;
  /** What the `record` role writes with (set when the recorder is on). */
  recordSink?: RecordSink;
  /** LLM prices (USD per 1M tokens) the record estimates turn costs with: built-ins merged with LLM_PRICES. */
  prices: Readonly<Record<string, ModelPrice>>;
  /** Where status changes of API messages are posted (API_CALLBACK_URL); unset = no callbacks are enqueued. */
  apiCallbacks?: ApiCallbackSettings;
  /** The time business hours and ownership expiries are judged by (ms); absent = `Date.now`. Tests move it. */
  clock?: () => number;
  /** The directory of known people (roles, staff commands, verification links), when the store is configured. */
  people?: WorkerPeople;
}
