import { conversationId, shortHash, type ConversationRef } from '@switchboard/core';
import { gatewayKeys, type RedisClient } from '@switchboard/queue';
import type { MirrorMapping } from './chatwoot.mirror-store.js';

/** Field of the Chatwoot conversation the state belongs to: a recreated conversation starts empty. */
const CONVERSATION_FIELD = 'conv';

/**
 * What the mirror last applied to one mirrored conversation (contact profile, labels, custom
 * attributes), one Redis hash per conversation: a retried or repeated job that would set the same
 * values calls Chatwoot not at all. Values are stored as short hashes (never the text itself).
 */
export class MirrorState {
  private readonly keys: ReturnType<typeof gatewayKeys>;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly gateway: string,
  ) {
    this.keys = gatewayKeys(prefix);
  }

  private key(ref: ConversationRef): string {
    return this.keys.chatwoot.mirrorState(conversationId(ref), this.gateway);
  }

  /** The stored hashes of `fields` (undefined = never applied to this Chatwoot conversation). */
  async read(mapping: MirrorMapping, fields: readonly string[]): Promise<Map<string, string | undefined>> {
    const values = await this.redis.hmget(this.key(mapping.ref), CONVERSATION_FIELD, ...fields);
    const current = values[0] === String(mapping.conversationId);
    return new Map(fields.map((f, i) => [f, current ? values[i + 1] ?? undefined : undefined]));
  }

  /** Remembers applied values (already hashed with {@link stateHash}). */
  async write(mapping: MirrorMapping, entries: ReadonlyMap<string, string>): Promise<void> {
    if (entries.size === 0) return;
    const key = this.key(mapping.ref);
    const stored = await this.redis.hget(key, CONVERSATION_FIELD);
    const tx = this.redis.multi();
    // state of an older Chatwoot conversation of the same customer does not carry over
    if (stored !== String(mapping.conversationId)) tx.del(key);
    tx.hset(key, CONVERSATION_FIELD, String(mapping.conversationId), ...[...entries].flat());
    await tx.exec();
  }
}

/** The stored form of an applied value. */
export function stateHash(value: unknown): string {
  return shortHash(JSON.stringify(value ?? null), 16);
}
