import { DEFAULT_ACCOUNT_ID, type ChannelId, type ConversationRef } from '@switchboard/core';
import { gatewayKeys } from './keys.js';
import type { RedisClient } from './redis.js';

/**
 * Who opted out: a customer as the channel names them, on one gateway account. The same triple as
 * an erasure target, so the API (`to`), the worker (a conversation) and erasure name one key.
 */
export interface OptOutRef {
  readonly channel: ChannelId;
  /** The gateway account (`ACCOUNTS_FILE` id); absent = `default`. */
  readonly accountId?: string | undefined;
  /** The channel's customer id (WhatsApp: the conversation's user id, the wa_id unless Meta sent a BSUID; a leading `+` is ignored). */
  readonly customerId: string;
}

/** How the customer opted out: a keyword message, or the provider's preference webhook. */
export type OptOutSource = 'keyword' | 'provider';

/** What the opt-out key holds. */
export interface OptOutRecord {
  readonly source: OptOutSource;
  /** When they opted out, ms since epoch. */
  readonly at: number;
  /** The event that opted them out (the keyword message or the webhook event). */
  readonly eventId?: string;
}

function parseRecord(raw: string): OptOutRecord | undefined {
  try {
    const v = JSON.parse(raw) as Partial<OptOutRecord> | null;
    if (!v || (v.source !== 'keyword' && v.source !== 'provider') || typeof v.at !== 'number') return undefined;
    return { source: v.source, at: v.at, ...(typeof v.eventId === 'string' ? { eventId: v.eventId } : {}) };
  } catch {
    return undefined;
  }
}

/** The opt-out reference of a conversation's customer. */
export function optOutRefOf(ref: Pick<ConversationRef, 'channel' | 'accountId' | 'userId'>): OptOutRef {
  return { channel: ref.channel, accountId: ref.accountId, customerId: ref.userId };
}

/**
 * Customers who opted out of business-initiated messages (API messages, broadcasts). One Redis key
 * per customer, no TTL: it stays until they opt in again or are erased. The bot still answers
 * their own messages; only sends the business starts are refused.
 */
export class OptOutStore {
  private readonly keys: ReturnType<typeof gatewayKeys>;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = gatewayKeys(prefix);
  }

  /** The customer's key (exported for erasure and tests through `gatewayKeys().optOut`). */
  key(ref: OptOutRef): string {
    return this.keys.optOut(ref.channel, ref.accountId ?? DEFAULT_ACCOUNT_ID, ref.customerId.trim().replace(/^\+/, ''));
  }

  /**
   * Marks the customer opted out. Returns `changed: true` only for the call that opted them out
   * (SET NX), so a confirmation is sent once; `record` is the opt-out in force (the earlier one
   * when they had already opted out), so a retried event recognises its own opt-out by `eventId`.
   */
  async optOut(ref: OptOutRef, source: OptOutSource, opts: { eventId?: string; at?: number } = {}): Promise<{ changed: boolean; record: OptOutRecord }> {
    const record: OptOutRecord = { source, at: opts.at ?? Date.now(), ...(opts.eventId ? { eventId: opts.eventId } : {}) };
    const key = this.key(ref);
    if ((await this.redis.set(key, JSON.stringify(record), 'NX')) === 'OK') return { changed: true, record };
    return { changed: false, record: (await this.get(ref)) ?? record };
  }

  /** Opts the customer back in; true when they had opted out. */
  async optIn(ref: OptOutRef): Promise<boolean> {
    return (await this.redis.del(this.key(ref))) > 0;
  }

  /** True while the customer is opted out: the API answers 409 `opted_out`, broadcasts skip them. */
  async isOptedOut(ref: OptOutRef): Promise<boolean> {
    return (await this.redis.exists(this.key(ref))) > 0;
  }

  /** The opt-out in force, if any. */
  async get(ref: OptOutRef): Promise<OptOutRecord | undefined> {
    const raw = await this.redis.get(this.key(ref));
    if (!raw) return undefined;
    // an unreadable value still means opted out: never send to someone who may have said STOP
    return parseRecord(raw) ?? { source: 'keyword', at: 0 };
  }
}
