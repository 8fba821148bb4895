import type { Registry } from 'prom-client';
import type { QueueName, QueuePayload } from './catalog.js';
import type { InboundAdapter, VerifyResult } from './channel.js';
import { DEFAULT_ACCOUNT_ID, type AccountEntry, type AccountFileReader } from './accounts-file.js';
import type { ChannelId, InboundEvent, UnsupportedEvent } from './model.js';

/**
 * The inbound half of a channel module: everything `createIngressApp` (packages/ingress) needs to
 * serve one channel's webhook routes for any number of accounts. Pure declarations; no Redis, no
 * provider API calls (those belong to the worker half).
 * @see ../../../docs/architecture.md ("Ingress")
 */

/** One account of a channel: its id and its typed settings. */
export interface ChannelAccount<S> {
  readonly id: string;
  readonly settings: S;
  /** The `ACCOUNTS_FILE` entry it came from (absent for the account `default` of the environment). */
  readonly entry?: AccountEntry;
}

/**
 * Marks an event as received for gateway account `accountId` (an `ACCOUNTS_FILE` account):
 * its conversation and the event itself carry the id, and the event id is qualified by it (two
 * Chatwoot instances can both have a message 42). The account `default` leaves the event as it was.
 * With `channel` (the receiving channel), a conversation of another channel keeps its own account:
 * a Chatwoot mirror-inbox event names the customer's conversation on the channel they wrote on.
 */
export function withAccount(event: InboundEvent, accountId: string, channel?: ChannelId): InboundEvent {
  if (accountId === DEFAULT_ACCOUNT_ID) return event;
  const eventId = `${accountId}.${event.eventId}`;
  const stamp = <C extends { readonly channel: ChannelId }>(conversation: C): C => (channel === undefined || conversation.channel === channel ? { ...conversation, accountId } : conversation);
  switch (event.kind) {
    case 'message':
    case 'signal':
      return { ...event, eventId, conversation: stamp(event.conversation) };
    case 'status':
      return { ...event, eventId, accountId };
    case 'unsupported':
      return { ...event, eventId, accountId, ...(event.conversation ? { conversation: stamp(event.conversation) } : {}) };
  }
}

/** The gateway account of an event or a conversation (`default` when it names none). */
export function accountIdOf(x: { readonly accountId?: string | undefined }): string {
  return x.accountId ?? DEFAULT_ACCOUNT_ID;
}

/** What every account's inbound half may use at run time: the ingress's key prefix. */
export interface InboundRuntime {
  readonly prefix: string;
}

/** The parts of a `GET` subscription check (WhatsApp `hub.challenge`, WeChat `echostr`). */
export interface ChallengeRequest {
  /** Query parsed by the framework (`+` became a space). */
  readonly query: Readonly<Record<string, string | undefined>>;
  /** The query string exactly as received, with its `?` (WeChat's base64 may carry a literal `+`). */
  readonly rawQuery: string;
  readonly now: number;
}

/** A job other than an inbound event that a delivery produces (WeChat: one `wechat-sync` pull). */
export type InboundJob = { readonly [N in QueueName]: { readonly queue: N; readonly data: QueuePayload<N>; readonly jobId: string } }[QueueName];

/**
 * One account's inbound half, built by {@link ChannelInbound.createInbound}. `P` is the verified
 * payload, `X` what {@link prepare} adds to the parse context.
 */
export interface AccountInbound<P, X extends object = object> {
  /** Verify over the raw bytes (the adapter decodes `content-encoding` itself), then parse every event. */
  readonly adapter: InboundAdapter<P, X>;
  /** Optional `GET` subscription check; the payload is the exact text/plain answer. */
  challenge?(req: ChallengeRequest): VerifyResult<string>;
  /**
   * Optional asynchronous look-up between verify and parse (Chatwoot: the mirrored conversation of
   * a mirror-inbox webhook, read from Redis). A rejection answers 503 so the provider redelivers.
   */
  prepare?(payload: P, ctx: { readonly receivedAt: number }): Promise<Partial<X>>;
  /** Jobs besides the inbound events that the delivery produces; made durable before the answer. */
  jobs?(payload: P, ctx: { readonly receivedAt: number }): InboundJob[];
  /** Short name of the delivery for logs and per-channel metrics (Chatwoot: the event name). */
  describe?(payload: P): string;
  /** Overrides {@link ChannelInbound.bodyLimit} for this account. */
  readonly bodyLimit?: number | string;
  readonly dedupe?: InboundDedupe;
}

/** An account's inbound half, or why the account cannot serve (its routes answer 503). */
export type InboundSetup = { readonly enabled: true; readonly inbound: AccountInbound<unknown> } | { readonly enabled: false; readonly reason: string };

/** How long after a customer's messages the business may write to them freely. */
export interface CustomerServiceWindow {
  /** After the customer's last message. */
  readonly afterLastMessageMs: number;
  /** After their last message that came from an ad or post (a referral), when longer. */
  readonly afterEntryPointMs?: number;
}

/**
 * Whether a free-form message may be sent now under `window` to a customer whose last message was
 * at `lastInboundAt` (and last ad/post entry at `entryPointAt`); no known message → closed.
 */
export function insideWindow(window: CustomerServiceWindow | undefined, contact: { readonly lastInboundAt: number; readonly entryPointAt?: number } | undefined, now: number): boolean {
  if (!window) return true;
  if (!contact) return false;
  if (now - contact.lastInboundAt < window.afterLastMessageMs) return true;
  return window.afterEntryPointMs !== undefined && contact.entryPointAt !== undefined && now - contact.entryPointAt < window.afterEntryPointMs;
}

/** `enqueue`: an `unsupported` event is handed to the inbound consumer; `acknowledge`: only logged and counted. */
export type UnsupportedPolicy = 'enqueue' | 'acknowledge';

/**
 * How one delivery ended, for the success answer and the metrics:
 * - `accepted`: events or jobs were made durable;
 * - `ignored`: every event was acknowledged only (`unsupported` under {@link ChannelInbound.unsupported} = `acknowledge`);
 * - `duplicate_delivery`: the transport id was seen before ({@link InboundDedupe.deliveryHeader});
 * - `duplicate_message`: every event was already accepted through another delivery ({@link InboundDedupe.eventKey}).
 */
export interface DeliveryOutcome {
  readonly result: 'accepted' | 'ignored' | 'duplicate_delivery' | 'duplicate_message';
  /** Events handed on (accepted into their mailbox or enqueued on `inbound`). */
  readonly events: number;
  readonly jobs: number;
}

/** The body of a `200`: plain text (`EVENT_RECEIVED`, `success`) or JSON (`{ ok: true }`). */
export type SuccessAnswer = { readonly type: 'text'; readonly body: string } | { readonly type: 'json'; readonly body: unknown };

/** Ingress-side dedupe a provider needs beyond job ids and mailbox claims (Chatwoot). Keys come from the channel (the queue's key registry). */
export interface InboundDedupe {
  /** Header carrying a transport id: a delivery seen before is answered without work. */
  readonly deliveryHeader: string;
  deliveryKey(deliveryId: string): string;
  readonly deliveryTtlSec: number;
  /** When set, an event id handed on once is not handed on again for `eventTtlSec` (one message, several destinations). */
  eventKey?(eventId: string): string;
  readonly eventTtlSec?: number;
}

/** Per-channel metrics kept besides the common ingress metrics (names that dashboards already use). */
export interface IngressObserver {
  delivery(result: string, name: string | undefined): void;
  signatureFailure(reason: string): void;
  durable(seconds: number): void;
}

/**
 * The inbound half of a channel module. `S` is the settings of one account, `R` what
 * {@link createInbound} needs at run time (the ingress passes its Redis connection to channels that ask).
 */
export interface ChannelInbound<S, R extends InboundRuntime = InboundRuntime> {
  readonly channel: ChannelId;
  /** Path segment of the routes: `/webhooks/<route>` (default account) and `/webhooks/<route>/<accountId>`. */
  readonly route: string;
  /** Most bytes on the wire, and after `content-encoding` is undone (e.g. `'3mb'`). */
  readonly bodyLimit: number | string;
  /** How refusals and errors are answered: `{ error }` JSON or a short text/plain line. */
  readonly errorFormat: 'json' | 'text';
  /**
   * What happens to `unsupported` events: handed to the inbound consumer, or only logged and counted;
   * a function decides per event (WhatsApp: an event of another account's phone number is never handed on).
   */
  readonly unsupported: UnsupportedPolicy | ((event: UnsupportedEvent) => UnsupportedPolicy);
  /** Serves `GET` subscription checks on the same paths (each account's {@link AccountInbound.challenge}). */
  readonly verifiesSubscription?: boolean;
  /** The provider gives up on an answer after a few seconds (WeCom: 5 s): answer 503 once this passes. */
  readonly enqueueTimeoutMs?: number;
  /** Name of a `/readyz` check that fails while an account is disabled (WeChat reports `wechat`). */
  readonly readinessCheck?: string;
  /**
   * How `ACCOUNTS_FILE` entries of this channel become settings (the keys the inbound half needs);
   * the ingress's parsed environment fills deployment-wide values.
   */
  readonly accountFile: AccountFileReader<S, Readonly<Record<string, unknown>>>;
  /**
   * The provider's customer-service window for free-form messages the business starts (WhatsApp:
   * 24 h after the customer's last message, 72 h after they came from an ad or post); absent = none.
   */
  readonly freeFormWindow?: CustomerServiceWindow;
  /** Builds one account's inbound half, or says why the account is disabled. */
  createInbound(account: ChannelAccount<S>, runtime: R): InboundSetup;
  /** The `200` answer of a delivery. */
  answer(outcome: DeliveryOutcome): SuccessAnswer;
  /** Optional extra metrics of this channel (registered once per app). */
  observe?(registry: Registry): IngressObserver;
}
