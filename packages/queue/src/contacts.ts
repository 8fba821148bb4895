import { DEFAULT_ACCOUNT_ID, ConversationRef, type InboundMessage } from '@switchboard/core';
import { gatewayKeys } from './keys.js';
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

// newer wins: a replayed or out-of-order older message never moves the window back
const NOTE_CONTACT = `
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
local at = tonumber(ARGV[2])
if at >= last then redis.call('HSET', KEYS[1], 'ref', ARGV[1], 'last', ARGV[2]) end
if ARGV[3] ~= '' then
  local entry = tonumber(redis.call('HGET', KEYS[1], 'entry') or '0')
  if at >= entry then redis.call('HSET', KEYS[1], 'entry', ARGV[2]) end
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
`;

/** Notes a customer message (idempotent; an older message than the one known changes nothing). */
export async function noteCustomerContact(redis: RedisClient, prefix: string, event: InboundMessage): Promise<void> {
  const ref = event.conversation;
  const key = gatewayKeys(prefix).contact(ref.channel, ref.accountId ?? DEFAULT_ACCOUNT_ID, ref.userId);
  await redis.eval(NOTE_CONTACT, 1, key, JSON.stringify(ref), String(event.sentAt), event.referral ? '1' : '', String(CONTACT_TTL_SEC));
}

/** The last contact of customer `userId` on one channel's gateway account, if they wrote in the last {@link CONTACT_TTL_SEC}. */
export async function customerContact(redis: RedisClient, prefix: string, channel: string, accountId: string, userId: string): Promise<CustomerContact | undefined> {
  const h = await redis.hgetall(gatewayKeys(prefix).contact(channel, accountId, userId));
  if (!h.ref || !h.last) return undefined;
  const ref = ConversationRef.safeParse(JSON.parse(h.ref));
  if (!ref.success) return undefined;
  return { ref: ref.data, lastInboundAt: Number(h.last), ...(h.entry ? { entryPointAt: Number(h.entry) } : {}) };
}
