import type { Registry } from 'prom-client';
import type { ChannelId, ConversationRef, InboundEvent, InboundMessage, Logger, OutboundAdapter, OutboundJob } from '@switchboard/core';
import type { Agent } from '@switchboard/agent';
import type { GuardedFetcher } from '@switchboard/fetch';
import type { DeliveryLedger, GatewayKeys, Mailbox, Producers, RedisClient } from '@switchboard/queue';
import type { WorkerMetrics } from './metrics.js';

/** Settings the roles read (a subset of the parsed worker env, so tests can build it directly). */
export interface WorkerSettings {
  concurrency: number;
  /** BullMQ lock of active jobs: a killed worker's jobs are picked up again about this long later. */
  lockDurationMs: number;
  debounceMs: number;
  maxWaitMs: number;
  maxMessageAgeSec: number;
  whatsapp: {
    allowedUsers: string[];
    disallowedPolicy: 'silent' | 'refuse';
    refusalText: string;
    sendRatePerSec: number;
    fallbackTemplate?: { name: string; language: string };
  };
  /** Chatwoot API inbox to mirror WhatsApp/WeChat conversations into (unset = no mirroring). */
  mirrorInboxId?: number;
}

/**
 * Extension point for channel-specific handling of events (e.g. a Chatwoot human reply relayed to
 * WhatsApp): returns true when it handled the event. Declared here, not in `roles/inbound.ts`, so
 * that `deps.ts` stays a leaf module (no import cycle).
 */
export type InboundHook = (event: InboundEvent, deps: WorkerDeps) => Promise<boolean>;

/** Everything a role needs, built once in the composition root (main.ts) or the test harness. */
export interface WorkerDeps {
  settings: WorkerSettings;
  /** The parsed environment, for roles of other channels that read their own fragment. */
  env: Record<string, unknown>;
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
  registry: Registry;
  metrics: WorkerMetrics;
  agent: Agent;
  /** The one way to download a URL that came from outside (media, attachments, reply media): see `@switchboard/fetch`. */
  fetcher: GuardedFetcher;
  /** Outbound adapters of the enabled channels. */
  adapters: Partial<Record<ChannelId, OutboundAdapter>>;
  /** Called once when a reply fails for good (e.g. report it on the Chatwoot message it came from). */
  onOutboundFailed: Array<(job: OutboundJob, reason: string) => Promise<void>>;
  /** Media step of a turn: transcripts, images, document text (undefined = media pipeline off). */
  mediaStep?: (messages: InboundMessage[], ref: ConversationRef) => Promise<InboundMessage[]>;
  /** Channel-specific handling of inbound events before the default routing (e.g. Chatwoot relay). */
  inboundHooks: InboundHook[];
}
