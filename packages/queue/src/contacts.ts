import { DEFAULT_ACCOUNT_ID, ConversationRef, type InboundMessage } from '@switchboard/core';
import { gatewayKeys } from './keys.js';
import { loadScripts } from './lua-scripts.js';
import type { RedisClient } from './redis.js';

/**
 * Each customer's last message per channel and gateway account: the conversation an API message
 * joins (its reference exactly as the channel's inbound built it) and the customer-service window
 * (last inbound time, last ad/post entry point). Written wherever customer messages are accepted
 * ({@link acceptCustomerMessage}), so the ingress and the worker's repair path both keep it.
 */

/** What is known about one customer's last contact. */
export interface CustomerContact {
  /** The conversation of their newest message. */
  readonly ref: ConversationRef;
  /** Provider time of their newest message (ms). */
  readonly lastInboundAt: number;
  /** Provider time of their newest message that came from an ad or post (WhatsApp referral), ms. */
  readonly entryPointAt?: number;
}

/** How long a contact is kept after the customer's last message (longer than any provider window). */
export const CONTACT_TTL_SEC = 90 * 24 * 3600;

/** The contact note of one customer message: the arguments of `contactNote` (script `contactNote-1.lua`). */
export interface ContactNote {
  readonly key: string;
  readonly refJson: string;
  readonly sentAtMs: number;
  readonly referral: '1' | '';
  readonly ttlSec: number;
}

/** What noting `event` writes, and where (newer wins: a replayed or out-of-order older message never moves the window back). */
export function contactNote(prefix: string, event: InboundMessage): ContactNote {
  const ref = event.conversation;
  return {
    key: gatewayKeys(prefix).contact(ref.channel, ref.accountId ?? DEFAULT_ACCOUNT_ID, ref.userId),
    refJson: JSON.stringify(ref),
    sentAtMs: event.sentAt,
    referral: event.referral ? '1' : '',
    ttlSec: CONTACT_TTL_SEC,
  };
}

/** Notes a customer message (idempotent; an older message than the one known changes nothing). */
export async function noteCustomerContact(redis: RedisClient, prefix: string, event: InboundMessage): Promise<void> {
  const n = contactNote(prefix, event);
  await loadScripts(redis).sbContactNote(n.key, n.refJson, n.sentAtMs, n.referral, n.ttlSec);
}

/** The last contact of customer `userId` on one channel's gateway account, if they wrote in the last {@link CONTACT_TTL_SEC}. */
export async function customerContact(redis: RedisClient, prefix: string, channel: string, accountId: string, userId: string): Promise<CustomerContact | undefined> {
  const h = await redis.hgetall(gatewayKeys(prefix).contact(channel, accountId, userId));
  if (!h.ref || !h.last) return undefined;
  const ref = ConversationRef.safeParse(JSON.parse(h.ref));
  if (!ref.success) return undefined;
  return { ref: ref.data, lastInboundAt: Number(h.last), ...(h.entry ? { entryPointAt: Number(h.entry) } : {}) };
}
