import type { z } from 'zod';
import type { MirrorJob, MirrorMedia, OutboundJob } from './catalog.js';
import type { OutboundAdapter } from './channel.js';
import { accountsOfChannel, type AccountEntry, type AccountFileReader, type AccountsFile } from './accounts-file.js';
import type { ChannelAccount, ChannelInbound, CustomerServiceWindow } from './channel-inbound.js';
import type { ChannelMessagingModule } from './channel-messaging.js';
import type { ChannelId, ConversationRef, InboundEvent, Reply, ReplyMedia } from './model.js';
import type { PersonIdentifierKind } from './person.js';

/**
 * The worker half of a channel: everything a worker process needs to know about one channel,
 * declared by the channel itself so the worker, the media pipeline and the agent never name a
 * channel. The inbound half ({@link InboundAdapter}, the ingress factory) is declared separately;
 * both join in the channel registry.
 *
 * Types of higher packages (the queue's Redis client, the guarded fetcher, the media pipeline's
 * source, BullMQ's worker) are not known here: a module is generic over a
 * {@link ChannelWorkerRuntime} bundle that the registry package fixes once.
 */

/** A zod environment fragment: variable name → schema (parsed with `loadConfig`). */
export type EnvShape = Readonly<Record<string, z.ZodType>>;

/** The parsed values of an {@link EnvShape}. */
export type EnvOf<E extends EnvShape> = { [K in keyof E]: z.output<E[K]> };

/**
 * What a channel's configuration yields: its accounts, or the reason it is disabled (the worker
 * logs one warning naming `missing`).
 */
export type ChannelAccounts<S> =
  | { readonly enabled: true; readonly accounts: readonly ChannelAccount<S>[] }
  | { readonly enabled: false; readonly missing: readonly string[]; readonly hint?: string };

/** Sends per interval of one sender (see {@link ChannelWorkerAccount.sender}), shared by every worker. */
export interface SendRate {
  readonly max: number;
  readonly durationMs: number;
}

/** How a channel carries one outbound media kind. */
export interface OutboundMediaRule {
  /** The provider's own media type name (`image`, WeChat `voice`/`file`, Telegram `photo`, …). */
  readonly sendAs: string;
  readonly maxBytes: number;
  /** Accepted MIME types, or any. */
  readonly types: ReadonlySet<string> | 'any';
  /** The type to convert to with ffmpeg when the file's type is not accepted (undefined = no conversion). */
  readonly convertTo?: string;
  /** Extra limit on audio length. */
  readonly maxSeconds?: number;
}

/** The media limits of a channel (provider documentation), read by the media pipeline. */
export interface ChannelMediaRules {
  /** The most the provider lets us download in one request (inbound media). */
  readonly downloadMaxBytes: number;
  /** Per reply-media kind: how it goes out. */
  readonly outbound: Readonly<Record<ReplyMedia['kind'], OutboundMediaRule>>;
  /** Files of fewer bytes are refused by the provider (WeChat: 6). */
  readonly minBytes?: number;
}

/** Whether the bot may answer a conversation at all (e.g. WhatsApp's allowlist). */
export type Admission =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      /** Logged (never the customer's id). */
      readonly reason: string;
      /** Sent once per conversation when set ("not available for your number"). */
      readonly refusal?: Reply;
    };

/** A delivery status event (the `status` kind of {@link InboundEvent}). */
export type StatusEvent = Extract<InboundEvent, { kind: 'status' }>;

/**
 * Channel-specific handling of an inbound event before the default routing (a Chatwoot agent's
 * reply relayed to the customer's channel); `true` = handled, stop.
 */
export type ChannelInboundHook = (event: InboundEvent) => Promise<boolean>;

/**
 * Roles a worker process can run (`WORKER_ROLES`; `knowledge` and `record` need the store;
 * `api-callbacks` posts API message statuses to `API_CALLBACK_URL`; `broadcast` feeds broadcasts).
 * Channel roles attach to one of them.
 */
export const WORKER_ROLES = ['inbound', 'agent', 'outbound', 'mirror', 'knowledge', 'record', 'api-callbacks', 'broadcast'] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];

/**
 * The types a worker module is generic over, fixed once by the registry package:
 * `context` — what a module gets from the worker (Redis, keys, fetcher, producers, media toolkit…);
 * `mediaSource` — the media pipeline's download source; `consumer` — a started queue consumer;
 * `messaging` — what a channel's messaging half gets in any process that starts business messages.
 */
export interface ChannelWorkerRuntime {
  readonly context: unknown;
  readonly mediaSource: unknown;
  readonly consumer: unknown;
  readonly messaging: unknown;
}

/** One account of a channel, opened in one worker process. */
export interface ChannelWorkerAccount<R extends ChannelWorkerRuntime> {
  readonly accountId: string;
  /** Render, send, reconcile, handoff, typing; absent = this account does not send (e.g. Chatwoot without a bot token). */
  readonly adapter?: OutboundAdapter;
  /** Where this account's inbound media is downloaded from (absent = media of the channel is not read). */
  readonly mediaSource?: R['mediaSource'];
  /** Runs before the default routing of every inbound event, in registry order. */
  readonly inboundHooks?: readonly ChannelInboundHook[];
  /** Called once when a reply on any channel fails for good (e.g. report it on the Chatwoot message it relayed). */
  readonly onOutboundFailed?: (job: OutboundJob, reason: string) => Promise<void>;
  /** Whether the bot may answer this conversation; absent = always. */
  admit?(ref: ConversationRef): Admission;
  /**
   * The sender whose send rate a conversation's replies count against (WhatsApp: its phone number
   * id, the provider's throughput unit); absent = the account as a whole.
   */
  sender?(ref: ConversationRef): string;
  /**
   * The conversation a business-started message (a broadcast) opens with a customer who never wrote
   * to this account (WhatsApp: from the account's sending number); absent or undefined = not possible.
   */
  newConversation?(customerId: string): ConversationRef | undefined;
  /**
   * How long (ms) the bot stays quiet in a conversation after the business itself wrote to the
   * customer from outside the gateway (`author: 'business'`, WhatsApp Business app coexistence
   * echoes); absent = the deployment's auto-resume time.
   */
  readonly businessReplyQuietMs?: number;
  /** A reply to send because of a delivery status (WhatsApp 131047 → the fallback template); its outboundId is claimed once. */
  statusFollowUp?(event: StatusEvent): OutboundJob | undefined;
  /**
   * Present = free-form replies this account cannot send because the customer's window is closed
   * are held (stored per conversation) and delivered when the customer writes again, with one
   * re-engagement reply per hold episode (WhatsApp: the configured template).
   */
  readonly heldReplies?: HeldReplyPolicy;
  /** Consumers of the channel's own queues, per worker role (WeChat `wechat-sync` under `inbound`, Chatwoot `mirror`). */
  readonly roles?: Partial<Record<WorkerRole, () => Array<R['consumer']>>>;
  /**
   * Present = this account receives mirrored conversations of the other channels: applies one
   * `mirror` job routed to it (a conversation of its own channel is never mirrored). Safe to run twice.
   */
  readonly mirror?: (job: MirrorJob, context?: MirrorContext) => Promise<MirrorResult>;
  /**
   * Who the customer of a conversation of this account is, as far as the provider tells (WeChat:
   * nickname and avatar from `kf/customer/batchget`, cached); absent = what the conversation ref
   * carries is all there is. Never throws: a failed look-up yields what is known without it.
   */
  profileOf?(ref: ConversationRef): Promise<CustomerProfile>;
  /** Whether this mirroring account posts what the media step read (transcripts, document text) as private notes. */
  readonly mirrorsMediaNotes?: boolean;
}

/**
 * A customer as a channel knows them: what a mirror shows as the contact's name, avatar and
 * attributes. Every field is optional: unknown stays unknown (the mirror falls back to the id).
 */
export interface CustomerProfile {
  readonly name?: string;
  /** A public URL of the customer's picture (the mirror's provider downloads it itself). */
  readonly avatarUrl?: string;
  /** Public handle without `@`. */
  readonly username?: string;
  /** Further provider ids worth showing to agents (WeChat `unionid`, …), by name. */
  readonly identifiers?: Readonly<Record<string, string>>;
}

/** What the worker adds to a mirror job when it hands it to the mirroring account. */
export interface MirrorContext {
  /** The customer's profile from the conversation's own channel ({@link ChannelWorkerAccount.profileOf}). */
  readonly profile?: CustomerProfile;
  /** Downloads the customer's files of an `incoming` job through the conversation's own media source. */
  readonly media?: MirrorMediaLoader;
}

/** The profile a conversation ref alone gives (name and username the inbound event carried). */
export function refProfile(ref: ConversationRef): CustomerProfile {
  return { ...(ref.displayName ? { name: ref.displayName } : {}), ...(ref.username ? { username: ref.username } : {}) };
}

/** A customer's file fetched for the mirror. */
export interface MirrorMediaFile {
  readonly bytes: Buffer;
  readonly mimeType: string;
  readonly filename: string;
}

/**
 * Downloads one file of a mirror job through the mirrored conversation's media source (guarded
 * fetcher), at most `maxBytes`; rejects with a media error (`retryable` tells a passing problem).
 */
export type MirrorMediaLoader = (media: MirrorMedia, maxBytes: number) => Promise<MirrorMediaFile>;

/** Why a reply is held, as the re-engagement reply may tell the customer. */
export interface HeldReplyContext {
  /** What produced the held reply (an OutboundJob origin: `agent`, `human`, `api`…). */
  readonly origin: string;
}

/** The re-engagement reply of a hold episode, or why none can be sent (logged; the replies stay held). */
export type ReengagementReply = { readonly reply: Reply } | { readonly problem: string };

/**
 * How a channel holds replies it cannot send while the customer's free-form window is closed
 * (see {@link ChannelWorkerAccount.heldReplies}). Only free-form replies (no `template`) are held.
 */
export interface HeldReplyPolicy {
  /** The free-form window: a reply to a customer outside it is held before it is sent. */
  readonly window: CustomerServiceWindow;
  /** Whether a send error says the window is closed (WhatsApp 131047): the reply is held from that part on. */
  windowClosedError(err: unknown): boolean;
  /** Whether a failed delivery status says the window was closed (WhatsApp 131047 arrives this way too). */
  windowClosedStatus(event: StatusEvent): boolean;
  /** The reply sent once per hold episode to invite the customer back (built from the conversation). */
  reengagement(ref: ConversationRef, context: HeldReplyContext): Promise<ReengagementReply>;
  /** How long a held reply waits for the customer before it is dropped (ms). */
  readonly ttlMs: number;
  /** Most replies held per conversation; one more fails as it would have without holding. */
  readonly maxPerConversation: number;
}

/** What one mirror job did (the job's return value). */
export type MirrorResult = { readonly posted: true; readonly messageId: number } | { readonly posted: false; readonly reason: string };

/**
 * The worker half of a channel (one per channel package). Settings are typed end to end: `env`
 * is merged into the worker's environment schema, `accounts` turns the parsed fragment into
 * typed accounts, `open` builds one account's runtime.
 * @typeParam E the environment fragment (contract variable names)
 * @typeParam S typed settings of one account
 */
export interface ChannelWorker<E extends EnvShape, S, R extends ChannelWorkerRuntime> {
  readonly id: ChannelId;
  /** Human name for logs ("WeChat Kefu"). */
  readonly title: string;
  readonly env: E;
  /** The queue its replies go through (`outbound-<id>`). */
  readonly outboundQueue: `outbound-${ChannelId}`;
  /** The provider's media limits. */
  readonly media: ChannelMediaRules;
  /**
   * Which directory identifier a customer id of this channel is (`ConversationRef.userId` and
   * `address`), so known people are found by it; absent = the channel's ids are not looked up.
   */
  readonly customerIdKind?: PersonIdentifierKind;
  /** The accounts the parsed environment defines (the account `default`), or why they define none. */
  accounts(env: EnvOf<E>): ChannelAccounts<S>;
  /** How `ACCOUNTS_FILE` entries of this channel become settings (the environment fills deployment-wide values). */
  readonly accountFile: AccountFileReader<S, EnvOf<E>>;
  /** The send rate of each sender of one account. */
  sendRate(settings: S): SendRate;
  /** Builds one account's adapter, media source, hooks and roles. */
  open(account: ChannelAccount<S>, ctx: R['context']): ChannelWorkerAccount<R>;
  /**
   * Media of the channel that needs no credentials (Chatwoot attachment URLs) is still read when
   * the channel is off: the source to use then.
   */
  unconfiguredMediaSource?(env: EnvOf<E>, ctx: R['context']): R['mediaSource'];
}

/**
 * A worker module with its settings type hidden, for registries. Obtain one with
 * {@link defineChannelWorker}, which checks `accounts` and `open` agree on `S`.
 */
export interface ChannelWorkerModule<R extends ChannelWorkerRuntime> {
  readonly id: ChannelId;
  readonly title: string;
  readonly env: EnvShape;
  readonly outboundQueue: `outbound-${ChannelId}`;
  readonly media: ChannelMediaRules;
  /** See {@link ChannelWorker.customerIdKind}. */
  readonly customerIdKind?: PersonIdentifierKind;
  /** The schema of this channel's `ACCOUNTS_FILE` keys (checked for every entry at start). */
  readonly accountFileSchema: AccountFileReader<unknown>['schema'];
  /**
   * Parses the module's accounts from the (whole) parsed environment and the accounts file, and
   * opens each one. Throws `ConfigError` naming every problem of the file's entries of this channel.
   */
  start(env: Readonly<Record<string, unknown>>, ctx: R['context'], file?: AccountsFile): ChannelWorkerStart<R>;
}

/** One opened account as the registry hands it to the worker. */
export type OpenedChannelAccount<R extends ChannelWorkerRuntime> = ChannelWorkerAccount<R> & {
  readonly sendRate: SendRate;
  /** The `ACCOUNTS_FILE` entry (title, agent file); absent for the account `default`. */
  readonly entry?: AccountEntry;
};

/** What {@link ChannelWorkerModule.start} yields. */
export type ChannelWorkerStart<R extends ChannelWorkerRuntime> =
  | { readonly enabled: true; readonly accounts: ReadonlyArray<OpenedChannelAccount<R>> }
  | { readonly enabled: false; readonly missing: readonly string[]; readonly hint?: string; readonly mediaSource?: R['mediaSource'] };

/** Wraps a typed {@link ChannelWorker} into a registry entry. */
export function defineChannelWorker<E extends EnvShape, S, R extends ChannelWorkerRuntime>(worker: ChannelWorker<E, S, R>): ChannelWorkerModule<R> & { readonly typed: ChannelWorker<E, S, R> } {
  return {
    id: worker.id,
    title: worker.title,
    env: worker.env,
    outboundQueue: worker.outboundQueue,
    media: worker.media,
    ...(worker.customerIdKind ? { customerIdKind: worker.customerIdKind } : {}),
    typed: worker,
    accountFileSchema: worker.accountFile.schema,
    start(env, ctx, file) {
      // the worker env includes this fragment, already parsed: the values have the fragment's types
      const parsed = env as EnvOf<E>;
      const fromEnv = worker.accounts(parsed);
      const defaults = fromEnv.enabled ? fromEnv.accounts : [];
      const fromFile = accountsOfChannel(file, worker.id, worker.accountFile, parsed);
      const accounts: ChannelAccount<S>[] = [...defaults, ...fromFile];
      if (accounts.length === 0 && !fromEnv.enabled) {
        const mediaSource = worker.unconfiguredMediaSource?.(parsed, ctx);
        return { ...fromEnv, ...(mediaSource !== undefined ? { mediaSource } : {}) };
      }
      return {
        enabled: true,
        accounts: accounts.map((a) => ({ ...worker.open(a, ctx), sendRate: worker.sendRate(a.settings), ...(a.entry ? { entry: a.entry } : {}) })),
      };
    },
  };
}

/** A complete registry: a channel id without a module does not compile. */
export type ChannelWorkerRegistry<R extends ChannelWorkerRuntime> = Readonly<Record<ChannelId, ChannelWorkerModule<R>>>;

/**
 * One channel as a whole: the inbound half its ingress app serves (`./inbound` of the channel
 * package, see `channel-inbound.ts`) and the worker half the worker opens. Both halves handle the
 * same accounts (`ChannelAccount`, id `default` from the environment).
 */
export interface ChannelModule<R extends ChannelWorkerRuntime> {
  readonly id: ChannelId;
  // the settings type of each half is the channel's own: the registry hides it
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly inbound: ChannelInbound<any, any>;
  readonly worker: ChannelWorkerModule<R>;
  /** Templates, sending limits and new conversations for business messages (the HTTP API); absent = none. */
  readonly messaging?: ChannelMessagingModule<R['messaging']>;
}

/** Every channel, complete: a channel id without its module does not compile. */
export type ChannelRegistry<R extends ChannelWorkerRuntime> = Readonly<{ [K in ChannelId]: ChannelModule<R> & { readonly id: K } }>;
