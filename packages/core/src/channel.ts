import type { ChannelId, ConversationRef, InboundEvent, Reply, ReplyMedia, ReplyOption, ReplyRich, TemplateComponentValue } from './model.js';

/** The parts of an HTTP request a webhook verifier needs. Headers are lower-cased. */
export interface WebhookRequest {
  /** The bytes exactly as received: signatures over the body are checked over these. */
  readonly rawBody: Buffer;
  /**
   * Most bytes the body may have once its `content-encoding` is undone (see `webhookPayloadBytes`);
   * default 3 MiB. Adapters check the signature over `rawBody` first, then decode with this cap.
   */
  readonly maxBodyBytes?: number;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly query: Readonly<Record<string, string | undefined>>;
  /** The query string exactly as received, with its `?` (a literal `+` stays a `+`); optional for callers outside HTTP. */
  readonly rawQuery?: string;
  /** Injectable clock (ms) for timestamp windows. */
  readonly now: number;
}

/** Result of verifying a webhook: never throws for a bad signature. */
export type VerifyResult<P> =
  | { readonly ok: true; readonly payload: P }
  | { readonly ok: false; readonly status: 400 | 401 | 403 | 413 | 415; readonly reason: string };

/** What {@link InboundAdapter.parse} gets besides the payload: the clock, plus `X` when a look-up prepared it. */
export type ParseContext<X extends object = object> = { readonly receivedAt: number } & Partial<X>;

/**
 * The verify-and-parse core of a channel's inbound half: pure functions used by ingress apps
 * (through `ChannelInbound`, see channel-inbound.ts). `X` is optional parse context that an
 * asynchronous look-up may add (Chatwoot: the mirrored conversation).
 * @see ../../../docs/architecture.md
 */
export interface InboundAdapter<P, X extends object = object> {
  readonly channel: ChannelId;
  /** Checks signature/decryption over the exact raw bytes and returns the decoded payload. */
  verify(req: WebhookRequest): VerifyResult<P>;
  /** Returns every event of a delivery; unknown shapes become `unsupported` events, never exceptions. */
  parse(payload: P, ctx: ParseContext<X>): InboundEvent[];
}

/** One message on the wire, produced by {@link OutboundAdapter.render}. */
export type OutboundPart =
  | { readonly kind: 'text'; readonly text: string; readonly rich?: ReplyRich }
  | { readonly kind: 'options'; readonly text: string; readonly options: readonly ReplyOption[] }
  | { readonly kind: 'media'; readonly media: ReplyMedia }
  | { readonly kind: 'template'; readonly name: string; readonly language: string; readonly components?: readonly TemplateComponentValue[] };

/** Identifies one part of one outbound reply; used as the provider idempotency key where one exists. */
export interface SendContext {
  readonly outboundId: string;
  readonly partIndex: number;
  readonly partCount: number;
  readonly inReplyTo?: string;
}

/**
 * How a part whose send may have reached the provider (a timeout, a lost response, a process killed
 * mid-send) is checked before it goes out again, so the customer never gets it twice.
 */
export interface PartReconciler {
  /**
   * How long to wait for the provider's own acknowledgement of the part (WhatsApp: a status webhook
   * carrying `biz_opaque_callback_data`) before sending it again. 0 = never wait.
   */
  readonly waitMs: number;
  /**
   * Optional: asks the provider for messages that may be this part (newest first), sent at or after
   * `attemptAt` (ms). The worker takes the first one its ledger does not already know.
   */
  find?(ref: ConversationRef, part: OutboundPart, ctx: SendContext & { readonly attemptAt: number }): Promise<string[]>;
}

/**
 * The outbound half of a channel, used by the outbound worker. `send` raises the typed errors of
 * `errors.ts` so one function can map them to BullMQ retries.
 */
export interface OutboundAdapter {
  readonly channel: ChannelId;
  /** Formats a channel-neutral reply into ordered wire parts; deterministic for resumable sends. */
  render(reply: Reply, ref: ConversationRef): OutboundPart[];
  /**
   * Optional: the text a person reads of a rendered `text` or `options` part (for the record), when
   * the wire text carries the provider's markup escapes (Telegram MarkdownV2). Absent = the part's
   * text as is.
   */
  readableText?(part: OutboundPart): string;
  /** Sends one part; returns the provider's message id when there is one. */
  sendPart(ref: ConversationRef, part: OutboundPart, ctx: SendContext): Promise<{ providerMessageId?: string }>;
  /** Optional: mark the customer's message read and show typing while the agent works. */
  turnStarted?(ref: ConversationRef, lastProviderMessageId: string | undefined): Promise<void>;
  /** Optional: hand the conversation to humans on the provider's side (WeChat `service_state/trans`, Chatwoot `open`). */
  handoff?(ref: ConversationRef, handoff: { reason: string; summary: string }): Promise<void>;
  /** Optional: last check before a part goes out; false = a human owns the conversation now, stay silent. */
  maySend?(ref: ConversationRef): Promise<boolean>;
  /**
   * Optional: reconciliation of parts whose send may have happened. Absent = sending again is safe
   * (the provider deduplicates, e.g. WeChat's `msgid`) or impossible to check.
   */
  readonly reconcile?: PartReconciler;
}
