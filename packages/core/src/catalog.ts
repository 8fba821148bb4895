import { z } from 'zod';
import { ChannelId, ConversationRef, InboundEvent, MediaRef, Reply } from './model.js';

/** A turn: answer everything in one conversation's mailbox that arrived before it started. */
export const TurnJob = z.object({
  conversationId: z.string(),
  ref: ConversationRef,
  seq: z.number().int().positive(),
});
export type TurnJob = z.infer<typeof TurnJob>;

/** One reply to send on one channel, in order, resumable part by part. */
export const OutboundJob = z.object({
  /** Stable id (also the BullMQ job id); progress is stored under it. */
  outboundId: z.string(),
  ref: ConversationRef,
  reply: Reply,
  /** What produced it: an agent turn, a human relayed from Chatwoot, a notice, a template fallback, or the HTTP API (`POST /api/v1/messages`). */
  origin: z.enum(['agent', 'human', 'notice', 'fallback', 'welcome', 'api', 'broadcast']),
  /** Provider message this answers (read receipts, WhatsApp context, WeChat quota). */
  inReplyTo: z.string().optional(),
  correlationId: z.string().optional(),
  /** The agent turn that produced it (`turn:<conversationId>:<seq>`): links the sent parts to the turn in the record. */
  turnId: z.string().optional(),
  /** When the oldest customer message of the turn reached the gateway (gateway latency metric). */
  receivedAt: z.number().optional(),
  /** The previous reply of the same conversation; this one waits until that one is finished so replies never overtake. */
  after: z.string().optional(),
  /** Chatwoot message to report delivery failures on (mirror relay). */
  chatwootMessage: z
    .object({
      conversationId: z.number(),
      messageId: z.number(),
      /** The gateway account of the Chatwoot instance the message is in; absent = `default`. */
      accountId: z.string().regex(/^[a-z0-9-]{1,40}$/).optional(),
    })
    .optional(),
});
export type OutboundJob = z.infer<typeof OutboundJob>;

/** One broadcast's runner: feeds its recipients into the outbound path and follows their outcomes (re-delays itself per tick). */
export const BroadcastJob = z.object({ broadcastId: z.string().regex(/^[a-z0-9]{1,40}$/) });
export type BroadcastJob = z.infer<typeof BroadcastJob>;

/** A WeChat Kefu callback: pull new messages with `kf/sync_msg`. */
export const WechatSyncJob = z.object({
  /** The gateway account whose callback this is (`ACCOUNTS_FILE` id); absent = `default` (jobs queued before accounts existed). */
  accountId: z.string().optional(),
  corpId: z.string(),
  openKfId: z.string().optional(),
  token: z.string().optional(),
  receivedAt: z.number(),
  /** Set while the job watches another worker's pull (it re-checks when that worker's lock lapses). */
  watching: z.boolean().optional(),
});
export type WechatSyncJob = z.infer<typeof WechatSyncJob>;

/**
 * A customer's file to attach to a mirrored message: the provider's own reference (media id or
 * URL, declared type, name, size), downloaded again by the mirror role through the conversation
 * account's media source (so retries never depend on bytes held elsewhere).
 */
export const MirrorMedia = z.object({
  kind: z.enum(['image', 'audio', 'video', 'document']),
  /** A voice note (audio recorded in the app). */
  voice: z.boolean().optional(),
  ref: MediaRef,
});
export type MirrorMedia = z.infer<typeof MirrorMedia>;

/** Copy one event of a WhatsApp/WeChat conversation into the Chatwoot API inbox. */
export const MirrorJob = z.object({
  ref: ConversationRef,
  /** The gateway account (of the mirroring channel) that mirrors this conversation; absent = `default`. */
  mirrorAccountId: z.string().regex(/^[a-z0-9-]{1,40}$/).optional(),
  direction: z.enum(['incoming', 'outgoing', 'note', 'handoff']),
  sourceId: z.string(),
  text: z.string(),
  at: z.number(),
  /** What the turn knew about the conversation, shown as labels and custom attributes in the mirror (each absent = unchanged). */
  facts: z
    .object({
      /** The customer's language as the agent detected it (`en`, `zh`, …). */
      language: z.string().min(1).max(20).optional(),
      /** Why the bot handed the conversation to a person, and its own summary. */
      handoff: z.object({ reason: z.string(), summary: z.string() }).optional(),
      /** The customer opted out of (true) or back into (false) business-initiated messages. */
      optedOut: z.boolean().optional(),
    })
    .optional(),
  /** Files of an `incoming` message (the text is then their caption). */
  media: z.array(MirrorMedia).max(20).optional(),
});
export type MirrorJob = z.infer<typeof MirrorJob>;

/**
 * Read a knowledge document into the knowledge base: its source (stored text or upload, a URL, a
 * sitemap) is in the store under `documentId`; the job only names it, so a retry reads it again.
 */
export const KnowledgeJob = z.object({
  documentId: z.string().min(1),
  /** Why: a new document, a re-check of a URL or sitemap (ETag/Last-Modified), or a re-read asked for. */
  reason: z.enum(['new', 'recheck', 'reingest']).default('new'),
});
export type KnowledgeJob = z.infer<typeof KnowledgeJob>;

/** The statuses an API message reports to `API_CALLBACK_URL`, in the order they may follow each other. */
export const ApiCallbackStatus = z.enum(['sent', 'delivered', 'read', 'failed']);
export type ApiCallbackStatus = z.infer<typeof ApiCallbackStatus>;

/**
 * One status change of a message sent through the HTTP API (`POST /api/v1/messages`), to be posted
 * to `API_CALLBACK_URL`. Fixed when the change is noticed, so every attempt posts the same body.
 */
export const ApiCallbackJob = z.object({
  /** The API message id (`api-<hash>`). */
  id: z.string().regex(/^api-[A-Za-z0-9]{1,64}$/),
  status: ApiCallbackStatus,
  /** When the gateway learned the change, ms since epoch. */
  at: z.number().int().nonnegative(),
  /** The provider's error of a `failed` message. */
  error: z.string().max(2000).optional(),
});
export type ApiCallbackJob = z.infer<typeof ApiCallbackJob>;

/** Media metadata of a recorded message (never the bytes). */
const RecordMedia = z.object({ kind: z.string(), mimeType: z.string().optional(), sizeBytes: z.number().int().nonnegative().optional(), filename: z.string().optional() });

/** Longest media text (a voice transcript, a document's extracted text) the record keeps per message, in characters. */
export const RECORD_MEDIA_TEXT_MAX_CHARS = 8000;

/**
 * One fact for the record (the lasting transcript in the store). `id` makes it idempotent: it is
 * derived from the pipeline's own ids (`in:<eventId>`, `out:<outboundId>:<part>`, the status event
 * id, `turn:<conversationId>:<seq>`), so a redelivered event or a retried job writes nothing twice.
 * `at` is the provider's or the gateway's time of the fact, ms since epoch.
 */
export const RecordEntry = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('message'),
    id: z.string().min(1),
    ref: ConversationRef,
    direction: z.enum(['in', 'out']),
    author: z.enum(['customer', 'bot', 'human']),
    /** What produced a sent message (an OutboundJob origin, or `api`). */
    origin: z.string().optional(),
    /** The message's content type (`text`, `image`, `audio`, `template`…). */
    contentType: z.string(),
    text: z.string(),
    /** What the customer's media said: a voice transcript or a document's extracted text, at most {@link RECORD_MEDIA_TEXT_MAX_CHARS}. */
    mediaText: z.string().max(RECORD_MEDIA_TEXT_MAX_CHARS).optional(),
    media: RecordMedia.optional(),
    providerMessageId: z.string().optional(),
    /** The turn that produced a bot message (`turn:<conversationId>:<seq>`). */
    turnId: z.string().optional(),
    /**
     * For a reply: when the customer message it answers reached the gateway (ms). A reply to a
     * message from before the customer's erasure is dropped with it, even when sent after it.
     */
    repliesToAt: z.number().optional(),
    at: z.number(),
  }),
  z.object({
    kind: z.literal('status'),
    id: z.string().min(1),
    channel: ChannelId,
    accountId: z.string().optional(),
    providerMessageId: z.string().min(1),
    status: z.string(),
    errorCode: z.number().int().optional(),
    errorTitle: z.string().optional(),
    at: z.number(),
  }),
  z.object({
    kind: z.literal('event'),
    id: z.string().min(1),
    ref: ConversationRef,
    /** `handoff` (detail.reason), `resume`, `opted_out`, `opted_in`, `blocked`… */
    event: z.string(),
    detail: z.record(z.string(), z.unknown()).default({}),
    at: z.number(),
  }),
  z.object({
    kind: z.literal('turn'),
    id: z.string().min(1),
    ref: ConversationRef,
    outcome: z.enum(['answered', 'faq', 'cache', 'apology', 'refused', 'silent', 'handoff']),
    model: z.string().optional(),
    variant: z.string().optional(),
    latencyMs: z.number().int().nonnegative().optional(),
    tokensIn: z.number().int().nonnegative().default(0),
    tokensOut: z.number().int().nonnegative().default(0),
    costUsd: z.number().nonnegative().default(0),
    tools: z.array(z.string()).default([]),
    sources: z.array(z.object({ documentId: z.string(), title: z.string(), url: z.string().optional() })).default([]),
    at: z.number(),
  }),
]);
export type RecordEntry = z.infer<typeof RecordEntry>;

/** Facts to write into the record, written together (the record role batches jobs into one insert per table). */
export const RecordJob = z.object({ entries: z.array(RecordEntry).min(1).max(500) });
export type RecordJob = z.infer<typeof RecordJob>;

/** Retention and retry settings of one queue. */
export interface QueueSpec<S extends z.ZodType> {
  readonly schema: S;
  readonly attempts: number;
  readonly backoff: { type: 'exponential' | 'fixed'; delay: number; jitter?: number };
  readonly removeOnComplete: { age: number; count: number };
  readonly removeOnFail: { age: number; count: number };
}

export type QueueCatalog = Record<string, QueueSpec<z.ZodType>>;

const HOUR = 3600;
const DAY = 24 * HOUR;
/** Completed jobs are evidence for a while, then go; failed jobs are the dead-letter set and stay a week. */
const KEEP = { removeOnComplete: { age: HOUR, count: 5000 }, removeOnFail: { age: 7 * DAY, count: 50_000 } } as const;

/** A channel's outbound queue. Rate limits (WhatsApp 130429, WeChat 45009, Telegram 429) resolve within minutes, so retry for a while. */
const OUTBOUND = { schema: OutboundJob, attempts: 12, backoff: { type: 'exponential', delay: 1000, jitter: 0.2 }, ...KEEP } as const satisfies QueueSpec<typeof OutboundJob>;

/** The outbound queue of every channel id: `outbound-<channel>`. */
type OutboundQueues = { readonly [C in ChannelId as `outbound-${C}`]: typeof OUTBOUND };
const OUTBOUND_QUEUES = Object.fromEntries(ChannelId.options.map((c) => [`outbound-${c}`, OUTBOUND])) as OutboundQueues;

/**
 * Every queue of the gateway: names, payload schemas, attempts, backoff and retention.
 * Producers and workers are derived from this object, so a queue cannot be used with the wrong payload.
 */
export const QUEUES = {
  /** Ingress output. Many attempts: losing one means losing a customer message. */
  inbound: { schema: InboundEvent, attempts: 20, backoff: { type: 'exponential', delay: 500, jitter: 0.2 }, ...KEEP },
  /** 微信客服 pulls; a pull is cheap to repeat and the cursor makes it idempotent. */
  'wechat-sync': { schema: WechatSyncJob, attempts: 10, backoff: { type: 'exponential', delay: 1000, jitter: 0.2 }, ...KEEP },
  /** Agent turns; an LLM outage should be waited out a few times before the apology path. */
  turn: { schema: TurnJob, attempts: 5, backoff: { type: 'exponential', delay: 2000, jitter: 0.2 }, ...KEEP },
  /** Sends, one queue per channel (derived from the channel ids). */
  ...OUTBOUND_QUEUES,
  /** Mirroring into Chatwoot never blocks a reply; it retries on its own for a long time. */
  mirror: { schema: MirrorJob, attempts: 15, backoff: { type: 'exponential', delay: 2000, jitter: 0.2 }, ...KEEP },
  /** Knowledge ingestion (extract, chunk, embed, store): never in a request; a few retries for fetches and the embeddings endpoint. */
  knowledge: { schema: KnowledgeJob, attempts: 5, backoff: { type: 'exponential', delay: 5000, jitter: 0.2 }, ...KEEP },
  /**
   * The record (transcripts, statuses, turns) in the store. Never on a reply's path. While the
   * store is down the record role holds its jobs (they wait, attempts untouched) and catches up
   * when the store answers again; attempts are for rows the store refuses.
   */
  record: { schema: RecordJob, attempts: 20, backoff: { type: 'exponential', delay: 1000, jitter: 0.2 }, ...KEEP },
  /**
   * Status callbacks of API messages to the operator's `API_CALLBACK_URL`. Never on a reply's path.
   * Exponential from 2 s (20 % jitter, which only shortens): 9 retries after 2, 4 … 512 s, so the
   * last attempt comes 13.6 to 17 min after the first (the contract asks for at least 10 min).
   */
  'api-callbacks': { schema: ApiCallbackJob, attempts: 10, backoff: { type: 'exponential', delay: 2000, jitter: 0.2 }, ...KEEP },
  /** Broadcast runners (`POST /api/v1/broadcasts`): one job per broadcast, delayed until `sendAt`, ticking until every recipient is done. */
  broadcast: { schema: BroadcastJob, attempts: 20, backoff: { type: 'exponential', delay: 1000, jitter: 0.2 }, ...KEEP },
} as const satisfies QueueCatalog;

export type QueueName = keyof typeof QUEUES;
export type QueuePayload<N extends QueueName> = z.infer<(typeof QUEUES)[N]['schema']>;

/** The outbound queue that serves a channel. */
export function outboundQueueFor(channel: ChannelId): `outbound-${ChannelId}` {
  return `outbound-${channel}` as const;
}
