import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConfigurationError,
  ProviderRateLimitedError,
  ProviderUnavailableError,
  conversationId as conversationIdOf,
  type ConversationRef,
  type CustomerProfile,
  type Logger,
  type MirrorContext,
  type MirrorJob,
  type MirrorMediaLoader,
  type MirrorResult,
} from '@switchboard/core';
import type { RedisClient } from '@switchboard/queue';
import { chatwootStatus, type ChatwootClient, type SendMessageBody } from './chatwoot.client.js';
import {
  MirrorStore,
  mirrorContactIdentifier,
  mirrorContactSourceId,
  mirrorMessageSourceId,
  type MirrorMapping,
} from './chatwoot.mirror-store.js';
import { handoffNote } from './chatwoot.outbound-adapter.js';
import { MirrorFacts } from './chatwoot.mirror-facts.js';
import { ALL_MIRROR_FACTS, type MirrorFactSettings } from './chatwoot.mirror-facts-config.js';
import { MirrorIdentity, knownContactFields, mergedProfile } from './chatwoot.mirror-identity.js';
import { MirrorState } from './chatwoot.mirror-state.js';
import { loadMirrorAttachments, type MirrorAttachments } from './chatwoot.mirror-media.js';
import { formatBytes } from '@switchboard/media';

/** Options of {@link ChatwootMirror}. */
export interface ChatwootMirrorOptions {
  /** User-token client (contacts and conversations need a user token; bots may not create contacts). */
  readonly user: ChatwootClient;
  /** Bot-token client: a handoff with it runs Chatwoot's `bot_handoff!` (notifications) when the bot is attached to the inbox. */
  readonly bot?: ChatwootClient;
  readonly botId?: number;
  readonly inboxId: number;
  /** The gateway account of this Chatwoot instance (its own Redis keys); default `default`. */
  readonly gatewayAccountId?: string;
  readonly redis: RedisClient;
  readonly prefix: string;
  readonly log: Logger;
  /** How long a creation lock lives (longer than two Chatwoot calls). */
  readonly lockTtlMs?: number;
  /** How long a job waits for another worker's creation before retrying later. */
  readonly waitMs?: number;
  /** Which facts become labels and custom attributes (default: all of them). */
  readonly facts?: MirrorFactSettings;
}

/** What happened to one mirror job. */
export type MirrorOutcome = MirrorResult;

/** A previous attempt is still posting; after this long it is presumed dead and Chatwoot is asked instead. */
const POSTING_STALE_MS = 30_000;
const DONE_TTL_SEC = 30 * 24 * 3600;
/** How long a file that fails to download for a passing reason is retried; later the message goes with a line instead (well within the job's attempts). */
const MEDIA_RETRY_WINDOW_MS = 4 * 3600_000;

/**
 * Mirrors WhatsApp/WeChat conversations into a Chatwoot API inbox (provider doc §9): one contact per
 * channel user, one conversation per (channel, account, user), created once under a Redis lock and
 * remembered in Redis; messages posted with our own `source_id` (echo marker) and deduplicated
 * before posting, because Chatwoot does not dedupe `source_id` (Evolution #2675).
 */
export class ChatwootMirror {
  readonly store: MirrorStore;
  private readonly lockTtlMs: number;
  private readonly waitMs: number;
  private readonly identity: MirrorIdentity;
  private readonly facts: MirrorFacts;

  constructor(private readonly opts: ChatwootMirrorOptions) {
    this.store = new MirrorStore(opts.redis, opts.prefix, opts.gatewayAccountId);
    this.lockTtlMs = opts.lockTtlMs ?? 30_000;
    this.waitMs = opts.waitMs ?? 10_000;
    const state = new MirrorState(opts.redis, opts.prefix, opts.gatewayAccountId ?? 'default');
    const locked = <T>(name: string, fn: () => Promise<T>) => this.locked(name, fn);
    this.identity = new MirrorIdentity({ user: opts.user, state, locked });
    this.facts = new MirrorFacts({ user: opts.user, state, settings: opts.facts ?? ALL_MIRROR_FACTS, locked });
  }

  /** Applies one mirror job; safe to run twice. `context.profile` names the contact (from the customer's channel); `context.media` downloads the customer's files of an `incoming` job. */
  async apply(job: MirrorJob, context: MirrorContext = {}): Promise<MirrorOutcome> {
    if (job.ref.channel === 'chatwoot') return { posted: false, reason: 'chatwoot conversations are not mirrored' };
    const profile = mergedProfile(job.ref, context.profile);
    const mapping = await this.ensureConversation(job.ref, profile);
    await this.identity.sync(mapping, profile);
    const outcome = await this.post(mapping, job, context.media);
    if (job.direction === 'handoff') await this.openForHumans(mapping);
    await this.facts.apply(mapping, job);
    return outcome;
  }

  /** The mirror conversation of `ref`, created once even when many workers ask at the same time. */
  async ensureConversation(ref: ConversationRef, profile: CustomerProfile = mergedProfile(ref)): Promise<MirrorMapping> {
    const existing = await this.store.get(ref);
    if (existing) return existing;
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      const release = await this.store.lock(`conv:${conversationIdOf(ref)}`, this.lockTtlMs);
      if (release) {
        try {
          const again = await this.store.get(ref);
          if (again) return again;
          return await this.create(ref, profile);
        } finally {
          await release();
        }
      }
      await sleep(40 + Math.floor(Math.random() * 60));
      const created = await this.store.get(ref);
      if (created) return created;
      if (Date.now() > deadline) throw new ProviderUnavailableError('chatwoot mirror: conversation is being created by another worker', { providerCode: 'mirror_lock' });
    }
  }

  private async create(ref: ConversationRef, profile: CustomerProfile): Promise<MirrorMapping> {
    const contact = await this.ensureContact(ref, profile);
    const contactId = contact.id;
    const sourceId = mirrorContactSourceId(ref);
    const conv = await this.opts.user.createConversation({ source_id: sourceId, inbox_id: this.opts.inboxId, contact_id: contactId });
    const mapping: MirrorMapping = { accountId: this.opts.user.accountId, inboxId: this.opts.inboxId, contactId, conversationId: conv.id, sourceId, ref };
    // a contact created just now has the profile; one found (an earlier conversation, a lost mapping) is brought up to date by sync
    if (contact.created) await this.identity.created(mapping, profile);
    await this.store.save(mapping);
    this.opts.log.info('chatwoot mirror conversation created', { channel: ref.channel, account: this.opts.gatewayAccountId ?? 'default', chatwootConversationId: conv.id, contactId });
    return mapping;
  }

  /**
   * One contact per channel user (identifier `wa:<id>` / `wechat:<id>`), shared by that user's
   * conversations, found by its identifier before one is created (a lost Redis mapping, another
   * gateway instance); created with the profile's name (else the phone or the identifier), avatar and attributes.
   */
  private async ensureContact(ref: ConversationRef, profile: CustomerProfile): Promise<{ id: number; created: boolean }> {
    const identifier = mirrorContactIdentifier(ref);
    const release = await this.acquire(`contact:${identifier}`);
    try {
      const found = await this.opts.user.findContactByIdentifier(identifier);
      if (found) return { id: found.id, created: false };
      const phone = e164(ref);
      const fields = knownContactFields(ref, profile);
      const body = {
        ...fields,
        inbox_id: this.opts.inboxId,
        identifier,
        source_id: mirrorContactSourceId(ref),
        name: fields.name ?? phone ?? identifier,
      };
      try {
        return { id: (await this.opts.user.createContact(phone ? { ...body, phone_number: phone } : body)).id, created: true };
      } catch (err: unknown) {
        if (chatwootStatus(err) !== 422) throw err;
        // taken meanwhile (another gateway instance) or the phone belongs to another contact: look again, then go without phone
        const raced = await this.opts.user.findContactByIdentifier(identifier);
        if (raced) return { id: raced.id, created: false };
        if (!phone) throw err;
        return { id: (await this.opts.user.createContact(body)).id, created: true };
      }
    } finally {
      await release();
    }
  }

  private async locked<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire(name);
    try {
      return await fn();
    } finally {
      await release();
    }
  }

  private async acquire(name: string): Promise<() => Promise<void>> {
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      const release = await this.store.lock(name, this.lockTtlMs);
      if (release) return release;
      if (Date.now() > deadline) throw new ProviderUnavailableError(`chatwoot mirror: lock ${name} busy`, { providerCode: 'mirror_lock' });
      await sleep(40 + Math.floor(Math.random() * 60));
    }
  }

  private body(job: MirrorJob, sourceId: string, fallbackLines: readonly string[] = []): SendMessageBody {
    const content = mirrorText(job, fallbackLines) || '(no text)';
    switch (job.direction) {
      case 'incoming':
        return { content, message_type: 'incoming', source_id: sourceId };
      case 'outgoing':
        return {
          content,
          message_type: 'outgoing',
          source_id: sourceId,
          ...(this.opts.botId !== undefined ? { sender_type: 'AgentBot' as const, sender_id: this.opts.botId } : {}),
        };
      case 'note':
        return { content, message_type: 'outgoing', private: true, source_id: sourceId };
      case 'handoff':
        return { content: handoffNote({ reason: job.text, summary: '' }), message_type: 'outgoing', private: true, source_id: sourceId };
    }
  }

  /** Posts one message unless it was already posted (claim in Redis; a crashed attempt is checked against Chatwoot). */
  private async post(mapping: MirrorMapping, job: MirrorJob, loadMedia?: MirrorMediaLoader): Promise<MirrorOutcome> {
    const sourceId = mirrorMessageSourceId(job.direction, job.sourceId);
    const key = this.store.messageKey(sourceId);
    const { redis } = this.opts;
    let files: MirrorAttachments | undefined;
    if (job.media?.length) {
      if ((await redis.get(key))?.startsWith('done:')) return { posted: false, reason: 'already mirrored' };
      // downloaded before the claim: a passing download problem retries the job with nothing claimed
      files = await loadMirrorAttachments(job.media, loadMedia, this.opts.log, { retry: Date.now() - job.at < MEDIA_RETRY_WINDOW_MS });
    }
    const claimed = (await redis.set(key, `posting:${Date.now()}`, 'EX', DONE_TTL_SEC, 'NX')) === 'OK';
    if (!claimed) {
      const state = (await redis.get(key)) ?? '';
      if (state.startsWith('done:')) return { posted: false, reason: 'already mirrored' };
      const since = Number(state.slice('posting:'.length));
      if (Date.now() - since < POSTING_STALE_MS) {
        throw new ProviderUnavailableError('chatwoot mirror: message is being posted by another attempt', { providerCode: 'mirror_busy' });
      }
      // the previous attempt may have posted before it died: ask Chatwoot before posting again
      const recent = await this.opts.user.listMessages(mapping.conversationId);
      const already = recent.find((m) => m.source_id === sourceId);
      if (already) {
        await redis.set(key, `done:${already.id}`, 'EX', DONE_TTL_SEC);
        return { posted: false, reason: 'already mirrored' };
      }
      await redis.set(key, `posting:${Date.now()}`, 'EX', DONE_TTL_SEC);
    }
    let messageId: number;
    try {
      const body = this.body(job, sourceId, files?.lines);
      messageId = files?.files.length
        ? (await this.opts.user.sendAttachments(mapping.conversationId, { ...body, content: mirrorText(job, files.lines), files: files.files })).id
        : (await this.opts.user.sendMessage(mapping.conversationId, body)).id;
    } catch (err: unknown) {
      const status = chatwootStatus(err);
      // an HTTP answer means nothing was created: release the claim so the retry posts at once
      if (status !== undefined) await redis.del(key);
      if (status === 404) {
        await this.store.forget(mapping);
        throw new ProviderUnavailableError('chatwoot mirror: conversation vanished, recreating', { providerCode: 404, cause: err });
      }
      // the files themselves were refused (an instance with a lower MAXIMUM_FILE_UPLOAD_SIZE, a proxy's body limit): post without them
      if (files?.files.length && (status === 413 || (status === 422 && !(err instanceof ProviderRateLimitedError)))) {
        const refused = files.files.map((f) => `📎 "${f.filename}" (${formatBytes(f.bytes.length)}) not attached: Chatwoot refused it (HTTP ${status})`);
        this.opts.log.warn('chatwoot mirror: attachments refused, posting without them', { status, files: files.files.length });
        return this.post(mapping, { ...job, text: mirrorText(job, [...files.lines, ...refused]), media: [] });
      }
      throw err;
    }
    await redis.set(key, `done:${messageId}`, 'EX', DONE_TTL_SEC);
    return { posted: true, messageId };
  }

  /** Opens the mirror conversation for humans: bot token first (runs `bot_handoff!`), else the user token. */
  private async openForHumans(mapping: MirrorMapping): Promise<void> {
    if (this.opts.bot) {
      try {
        await this.opts.bot.toggleStatus(mapping.conversationId, 'open');
        return;
      } catch (err: unknown) {
        // the bot is not attached to the mirror inbox: fall through to the integration user
        if (!(err instanceof ConfigurationError) && chatwootStatus(err) !== 404) throw err;
      }
    }
    await this.opts.user.toggleStatus(mapping.conversationId, 'open');
  }
}

/** The text of a mirrored message: the job's text (a caption for files), then a line per file that could not be attached. */
function mirrorText(job: MirrorJob, fallbackLines: readonly string[]): string {
  return [job.text.trim() ? job.text : undefined, ...fallbackLines].filter(Boolean).join('\n\n');
}

/** E.164 phone of a mirrored customer when known (WhatsApp wa_ids are E.164 digits without `+`). */
export function e164(ref: ConversationRef): string | undefined {
  const candidates = [ref.phone, ref.channel === 'whatsapp' ? ref.address ?? ref.userId : undefined];
  for (const c of candidates) {
    if (!c) continue;
    const digits = c.replace(/[\s()-]/g, '').replace(/^\+/, '');
    if (/^[1-9]\d{6,14}$/.test(digits)) return `+${digits}`;
  }
  return undefined;
}
