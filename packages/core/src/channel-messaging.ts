import type { z } from 'zod';
import type { AccountsFile } from './accounts-file.js';
import type { ConversationRef, ReplyTemplate } from './model.js';

/**
 * The messaging half of a channel: what a process that starts business messages (the HTTP API's
 * `POST /api/v1/messages`, the Chatwoot template command) asks the channel before a message is
 * queued — its templates, its own sending limits, and how a conversation with a customer who never
 * wrote is addressed. Declared by the channel so the callers never name one; a channel without
 * this half has no templates, no extra limits and no new conversations.
 */

/** Why the channel refuses a business message, answered as `{error, message, details?}` with `status`. */
export interface SendRefusal {
  /** 409 (the customer's state: blocked), 422 (the request cannot be sent), 503 (try again). */
  readonly status: 409 | 422 | 503;
  /** A stable code (`outside_window`, `blocked`, `template_invalid`, `unavailable`, …). */
  readonly error: string;
  /** A finer code under `error` (`template_invalid`: `unknown_template`, `parameter_mismatch`, …). */
  readonly reason?: string;
  readonly message: string;
  readonly details?: readonly string[];
}

/** What the gateway knows about a customer's last message (the queue's customer contact). */
export interface KnownContact {
  readonly ref: ConversationRef;
  /** Provider time of their newest message (ms). */
  readonly lastInboundAt: number;
  readonly entryPointAt?: number;
}

/** A business message about to be queued, as the channel's checks see it. */
export interface BusinessMessage {
  /** The gateway account (`default` or an `ACCOUNTS_FILE` id). */
  readonly accountId: string;
  /** The channel's customer id. */
  readonly to: string;
  /** Free-form text/media/options, or a template. */
  readonly kind: 'free-form' | 'template';
  /** The conversation it joins (the contact's, or a new one from {@link ChannelMessaging.refForNewCustomer}). */
  readonly ref: ConversationRef;
  /** What is known of the customer's last message; undefined = they never wrote (a template to a new customer). */
  readonly contact: KnownContact | undefined;
  readonly now: number;
}

/** A template a caller asks for: values as a list, a name map, or `{header?, body?, buttons?}`. */
export interface TemplateSendRequest {
  readonly name: string;
  readonly language: string;
  readonly params?: unknown;
}

/** A template checked against the account's catalogue and resolved into the reply's template. */
export type PreparedTemplate = { readonly ok: true; readonly template: ReplyTemplate } | { readonly ok: false; readonly refusal: SendRefusal };

/** One channel's messaging hooks, opened for every account of the process's configuration. */
export interface ChannelMessaging {
  /**
   * Present = the channel sends templates: checks `request` against the account's synced
   * catalogue and resolves it into {@link ReplyTemplate} (refusals: `422 template_invalid`,
   * `503 unavailable` when the catalogue cannot be read).
   */
  prepareTemplate?(accountId: string, request: TemplateSendRequest): Promise<PreparedTemplate>;
  /**
   * The conversation a template opens with a customer who never wrote to the account (WhatsApp:
   * from the account's sending number); undefined = the channel cannot start one (they must write first).
   */
  refForNewCustomer?(accountId: string, to: string): ConversationRef | undefined;
  /** The channel's own limits, after the customer-service window (WeChat's allowance, Telegram's block). */
  check?(message: BusinessMessage): Promise<SendRefusal | undefined>;
}

/** What opening the messaging half gets. `C` is the runtime bundle the registry fixes (Redis, key prefix, log). */
export interface MessagingOpenOptions<C> {
  /** The process's parsed environment (including the module's {@link ChannelMessagingModule.env}). */
  readonly env: Readonly<Record<string, unknown>>;
  readonly accountsFile?: AccountsFile | undefined;
  readonly context: C;
}

/** The messaging half as the channel registry holds it. */
export interface ChannelMessagingModule<C> {
  /** The variables it reads (merged into the environment schema of the processes that open it). */
  readonly env: Readonly<Record<string, z.ZodType>>;
  open(opts: MessagingOpenOptions<C>): ChannelMessaging;
}
