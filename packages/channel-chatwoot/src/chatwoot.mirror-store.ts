import { ChannelId, ConversationRef, DEFAULT_ACCOUNT_ID, conversationId } from '@switchboard/core';
import { acquireLock, gatewayKeys, type RedisClient } from '@switchboard/queue';
import { z } from 'zod';

/** Prefix of every `source_id` the gateway sets on mirrored messages: their webhook echoes are dropped by it. */
export const MIRROR_SOURCE_PREFIX = 'sb:';

/**
 * Short tags of the channels mirrored before a channel's id became its own tag. They are stored in
 * Chatwoot (contact identifiers, contact_inbox source ids), so they never change; any other channel
 * is tagged with its id, so a new channel needs no entry here.
 */
const STORED_TAGS: Readonly<Partial<Record<ChannelId, string>>> = { whatsapp: 'wa', 'wechat-kf': 'wechat', telegram: 'tg', chatwoot: 'cw' };

/** The tag of a channel in mirror identifiers. */
export function mirrorChannelTag(channel: ChannelId): string {
  return STORED_TAGS[channel] ?? channel;
}

/** The channel a mirror tag names (undefined for an unknown tag). */
export function mirrorTagChannel(tag: string): ChannelId | undefined {
  return ChannelId.options.find((channel) => mirrorChannelTag(channel) === tag);
}

/** Contact `identifier` of a mirrored customer: one contact per channel and user id (`wa:<id>`, `wechat:<id>`). */
export function mirrorContactIdentifier(ref: ConversationRef): string {
  return `${mirrorChannelTag(ref.channel)}:${ref.userId}`;
}

/**
 * The contact_inbox `source_id` of a mirrored conversation: one per (channel, account, user), always
 * passed when creating the conversation (Evolution #2578), and decodable back into the ref. A
 * conversation of a non-default gateway account ends with `:<accountId>` (the reply goes out there).
 */
export function mirrorContactSourceId(ref: Pick<ConversationRef, 'channel' | 'account' | 'userId' | 'accountId'>): string {
  const tag = mirrorChannelTag(ref.channel);
  const gateway = ref.accountId && ref.accountId !== DEFAULT_ACCOUNT_ID ? `:${ref.accountId}` : '';
  return `${MIRROR_SOURCE_PREFIX}${tag}:${encodeURIComponent(ref.account)}:${encodeURIComponent(ref.userId)}${gateway}`;
}

/** Inverse of {@link mirrorContactSourceId}; undefined for any other source id. */
export function decodeMirrorContactSourceId(sourceId: string | null | undefined): ConversationRef | undefined {
  const m = /^sb:([a-z0-9-]+):([^:]+):([^:]+)(?::([a-z0-9-]{1,40}))?$/.exec(sourceId ?? '');
  if (!m) return undefined;
  const channel = mirrorTagChannel(m[1] ?? '');
  // Chatwoot's own conversations are never mirrored into Chatwoot
  if (!channel || channel === 'chatwoot') return undefined;
  try {
    return { channel, ...(m[4] && m[4] !== DEFAULT_ACCOUNT_ID ? { accountId: m[4] } : {}), account: decodeURIComponent(m[2] ?? ''), userId: decodeURIComponent(m[3] ?? '') };
  } catch {
    return undefined;
  }
}

/** The `source_id` of one mirrored message (direction keeps a customer message and a reply with the same id apart). */
export function mirrorMessageSourceId(direction: string, sourceId: string): string {
  return `${MIRROR_SOURCE_PREFIX}${direction}:${sourceId}`;
}

/** What the gateway knows about one mirrored conversation. */
export const MirrorMapping = z.object({
  accountId: z.number().int(),
  inboxId: z.number().int(),
  contactId: z.number().int(),
  conversationId: z.number().int(),
  sourceId: z.string(),
  ref: ConversationRef,
});
export type MirrorMapping = z.infer<typeof MirrorMapping>;

/**
 * Redis mapping between WhatsApp/WeChat conversations and their Chatwoot mirror conversations, in
 * both directions, plus the locks that make creation happen once across every worker.
 * Mappings have no TTL: they are durable state (re-validated when Chatwoot answers 404).
 * Each gateway account (Chatwoot instance) has its own keys; `default` keeps the historical ones.
 */
export class MirrorStore {
  private readonly keys: ReturnType<typeof gatewayKeys>;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    /** The gateway account of the Chatwoot instance (`default` = the environment's). */
    private readonly gateway: string = DEFAULT_ACCOUNT_ID,
  ) {
    this.keys = gatewayKeys(prefix);
  }

  private refKey(ref: ConversationRef): string {
    return this.keys.chatwoot.mirrorByRef(conversationId(ref), this.gateway);
  }

  private convKey(accountId: number, chatwootConversationId: number): string {
    return this.keys.chatwoot.mirrorByConversation(accountId, chatwootConversationId, this.gateway);
  }

  /** The mapping of a WhatsApp/WeChat conversation, if it was created. */
  async get(ref: ConversationRef): Promise<MirrorMapping | undefined> {
    return parseMapping(await this.redis.get(this.refKey(ref)));
  }

  /** The original conversation of a Chatwoot mirror conversation, if it is one of ours. */
  async byChatwootConversation(accountId: number, chatwootConversationId: number): Promise<MirrorMapping | undefined> {
    return parseMapping(await this.redis.get(this.convKey(accountId, chatwootConversationId)));
  }

  async save(mapping: MirrorMapping): Promise<void> {
    const json = JSON.stringify(MirrorMapping.parse(mapping));
    await this.redis.multi().set(this.refKey(mapping.ref), json).set(this.convKey(mapping.accountId, mapping.conversationId), json).exec();
  }

  /** Forgets a mapping (the Chatwoot conversation was deleted); the next message recreates it. */
  async forget(mapping: MirrorMapping): Promise<void> {
    await this.redis.multi().del(this.refKey(mapping.ref)).del(this.convKey(mapping.accountId, mapping.conversationId)).exec();
  }

  /** Takes a named lock for `ttlMs`; returns its release function, or undefined when someone else holds it. */
  async lock(name: string, ttlMs: number): Promise<(() => Promise<void>) | undefined> {
    const lock = await acquireLock(this.redis, this.keys.chatwoot.mirrorLock(name, this.gateway), ttlMs);
    if (!lock) return undefined;
    return async () => {
      await lock.release();
    };
  }

  /** Redis key that remembers one mirrored message (dedupe before posting, Evolution #2675). */
  messageKey(messageSourceId: string): string {
    return this.keys.chatwoot.mirroredMessage(messageSourceId, this.gateway);
  }
}

function parseMapping(json: string | null): MirrorMapping | undefined {
  if (!json) return undefined;
  const parsed = MirrorMapping.safeParse(JSON.parse(json));
  return parsed.success ? parsed.data : undefined;
}

/**
 * Resolves the WhatsApp/WeChat conversation behind a Chatwoot mirror conversation: the Redis mapping
 * (full ref, with the reply address) first, else the contact_inbox `source_id` the gateway set on creation.
 * Used by chatwoot-ingress before normalizing mirror-inbox webhooks (reads Redis, never calls Chatwoot).
 */
export async function resolveMirroredRef(
  store: MirrorStore,
  accountId: number,
  chatwootConversationId: number,
  contactInboxSourceId: string | null | undefined,
): Promise<ConversationRef | undefined> {
  const mapping = await store.byChatwootConversation(accountId, chatwootConversationId);
  return mapping?.ref ?? decodeMirrorContactSourceId(contactInboxSourceId);
}
