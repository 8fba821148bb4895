import type { SendRate } from '@switchboard/core';
import type { GatewayKeys } from './keys.js';
import { loadScripts } from './lua-scripts.js';
import type { RedisClient } from './redis.js';

/** How long a reserved slot is kept, once it has come, for a part that never comes back for it. */
const SLOT_TTL_MS = 15 * 60_000;

/**
 * Reserves the send slot of part `part` of reply `outboundId` under `sender`'s rate, shared by every
 * worker (Redis). Returns the milliseconds to wait (0 = send now). Asking again for the same part
 * returns what is left of its slot, so a part delayed once is never pushed back again: a burst on one
 * sender is spread over time while other senders' parts go at once.
 */
export async function reserveSendSlot(
  redis: RedisClient,
  keys: Pick<GatewayKeys, 'sendRate' | 'sendSlot'>,
  slot: { readonly channel: string; readonly sender: string; readonly outboundId: string; readonly part: number; readonly rate: SendRate; readonly now?: number },
): Promise<number> {
  const { max, durationMs } = slot.rate;
  if (!(max > 0) || !(durationMs > 0)) return 0;
  const interval = durationMs / max;
  return loadScripts(redis).sbSendSlot(keys.sendRate(slot.channel, slot.sender), keys.sendSlot(slot.outboundId, slot.part), slot.now ?? Date.now(), interval, durationMs - interval, SLOT_TTL_MS);
}

/**
 * Holds a sender back for `forMs` (the provider said it throttles this sender): no part of it gets
 * a slot before then, not even one that reserved an earlier slot. A hold only pushes the sender
 * back, never forward. Other senders are untouched.
 */
export async function holdSender(
  redis: RedisClient,
  keys: Pick<GatewayKeys, 'sendRate'>,
  hold: { readonly channel: string; readonly sender: string; readonly forMs: number; readonly rate: SendRate; readonly now?: number },
): Promise<void> {
  const { max, durationMs } = hold.rate;
  if (!(max > 0) || !(durationMs > 0) || !(hold.forMs > 0)) return;
  const now = hold.now ?? Date.now();
  await loadScripts(redis).sbHoldSender(keys.sendRate(hold.channel, hold.sender), now, now + hold.forMs, durationMs - durationMs / max);
}
