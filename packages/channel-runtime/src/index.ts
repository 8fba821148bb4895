/**
 * The runtime every channel's worker half is written against: what the worker process gives a channel
 * module when it opens an account. Knows no channel.
 */
import type { Worker } from 'bullmq';
import type { Registry } from 'prom-client';
import type { ChannelId, ChannelMessaging, ChannelWorkerModule, ChannelWorkerRuntime, ConversationRef, Logger } from '@switchboard/core';
import type { GuardedFetcher } from '@switchboard/fetch';
import type { Ffmpeg, MediaEnv, MediaSource, MediaTempStore } from '@switchboard/media';
import type { AcceptContext, GatewayKeys, MediaKeys, Producers, RedisClient } from '@switchboard/queue';

/** The media toolkit of a worker process, shared by every channel (one temp-file budget, one ffmpeg). */
export interface WorkerMediaToolkit {
  readonly env: MediaEnv;
  readonly store: MediaTempStore;
  readonly ffmpeg: Ffmpeg;
  /** Media cache keys (upload ids, transcripts): `gatewayKeys(prefix).media`. */
  readonly keys: MediaKeys;
}

/** A message a channel sent on its own, outside the outbound queue (a WeChat welcome), for the record. */
export interface ChannelSentMessage {
  /** Stable id of the send (its retries and re-runs share it): the record keeps it once. */
  readonly sourceId: string;
  readonly ref: ConversationRef;
  /** Why it was sent (an OutboundJob origin: `welcome`…). */
  readonly origin: 'welcome' | 'notice';
  readonly text: string;
  readonly providerMessageId?: string;
  /** When it was handed to the provider, ms. */
  readonly at: number;
}

/** What a worker gives each channel module when it opens an account. */
export interface WorkerChannelContext {
  readonly log: Logger;
  /** The gateway's own Redis commands: auto-pipelined, waits out outages. */
  readonly redis: RedisClient;
  /** Connection of BullMQ consumers (no auto-pipelining). */
  readonly queueRedis: RedisClient;
  readonly prefix: string;
  readonly keys: GatewayKeys;
  readonly producers: Producers;
  readonly registry: Registry;
  /** The one way to download a URL from outside. */
  readonly fetcher: GuardedFetcher;
  readonly media: WorkerMediaToolkit;
  /** Consumers started by channel roles use these. */
  readonly consumers: { readonly concurrency: number; readonly lockDurationMs: number };
  /** Accepts customer messages into their conversation mailbox (a channel that pulls its messages, like WeChat). */
  readonly accept: AcceptContext;
  /** Conversation ownership: while a human owns it, the bot stays silent. `accountId` (the conversation's gateway account) is shown in the admin overview. */
  setOwner(conversationId: string, owner: 'human' | 'bot', reason: string, accountId?: string, ref?: ConversationRef): Promise<void>;
  /** The customer cannot be reached any more (blocked the bot, deactivated): marks the conversation. */
  markUnreachable(ref: ConversationRef, reason: string): Promise<void>;
  /** Records a message the channel sent on its own (never throws, never waits for the store; a no-op without the record). */
  recordSent(message: ChannelSentMessage): Promise<void>;
  /** Every channel's messaging half (templates of other channels, e.g. the Chatwoot template command); absent = none. */
  readonly messaging?: Readonly<Partial<Record<ChannelId, ChannelMessaging>>>;
}

/** What a channel's messaging half gets in a process that starts business messages (the admin app's API). */
export interface MessagingContext {
  readonly redis: RedisClient;
  readonly prefix: string;
  readonly keys: GatewayKeys;
  readonly log: Logger;
}

/** The runtime types every worker module of this gateway uses. */
export interface WorkerRuntime extends ChannelWorkerRuntime {
  readonly context: WorkerChannelContext;
  readonly mediaSource: MediaSource;
  readonly consumer: Worker;
  readonly messaging: MessagingContext;
}

/** A registered worker module. */
export type WorkerChannelModule = ChannelWorkerModule<WorkerRuntime>;
