import type { ConversationRef } from '@switchboard/core';
import { scheduleTurn as scheduleConversationTurn, setConversationOwner, type AcceptContext } from '@switchboard/queue';
import type { WorkerDeps } from './deps.js';

/** Adds the turn job `seq` (idempotent), delayed by the debounce window. */
export async function scheduleTurn(deps: Pick<WorkerDeps, 'producers' | 'settings'>, conversationId: string, ref: ConversationRef, seq: number): Promise<void> {
  await scheduleConversationTurn({ producers: deps.producers, debounceMs: deps.settings.debounceMs }, conversationId, ref, seq);
}

/** The accept context of a worker (pulled channels and the inbound role's repair path). */
export function acceptContext(deps: Pick<WorkerDeps, 'mailbox' | 'producers' | 'redis' | 'prefix' | 'settings'>): AcceptContext {
  return { mailbox: deps.mailbox, producers: deps.producers, redis: deps.redis, prefix: deps.prefix, debounceMs: deps.settings.debounceMs, maxMessageAgeSec: deps.settings.maxMessageAgeSec };
}

/** How long people keep a conversation they took (see {@link setOwner}). */
export interface OwnershipTerm {
  /** The conversation (kept in the owner record, so its expiry can be recorded and mirrored). */
  readonly ref?: ConversationRef | undefined;
  /** When the bot takes it back without human activity (ms); absent = never. */
  readonly untilMs?: number | undefined;
}

/**
 * Conversation ownership: while a human owns it, the bot stays silent. `term.untilMs` (see
 * `humanOwnershipUntil`) lets the inbound role's sweep hand it back to the bot.
 */
export async function setOwner(deps: Pick<WorkerDeps, 'redis' | 'prefix'> & { clock?: () => number }, conversationId: string, owner: 'human' | 'bot', reason: string, accountId?: string, term: OwnershipTerm = {}): Promise<void> {
  // also kept in an index so the admin overview can list human-owned conversations (with their account)
  await setConversationOwner(deps.redis, deps.prefix, conversationId, owner, reason, deps.clock?.() ?? Date.now(), accountId, term);
}

export async function ownerOf(deps: Pick<WorkerDeps, 'redis' | 'keys'>, conversationId: string): Promise<'human' | 'bot'> {
  return (await deps.redis.exists(deps.keys.owner(conversationId))) ? 'human' : 'bot';
}

/** How long an unreachable mark is kept without news (a year: longer than any conversation). */
const UNREACHABLE_TTL_SEC = 365 * 24 * 3600;

/** Marks a conversation whose customer cannot be reached (blocked the bot, deactivated), with the reason. */
export async function markUnreachable(deps: Pick<WorkerDeps, 'redis' | 'keys'>, conversationId: string, reason: string): Promise<void> {
  await deps.redis.set(deps.keys.unreachable(conversationId), reason, 'EX', UNREACHABLE_TTL_SEC);
}

/** Clears the mark (the customer unblocked the bot). */
export async function clearUnreachable(deps: Pick<WorkerDeps, 'redis' | 'keys'>, conversationId: string): Promise<void> {
  await deps.redis.del(deps.keys.unreachable(conversationId));
}

/** Why the customer cannot be reached, or undefined. */
export async function unreachableReason(deps: Pick<WorkerDeps, 'redis' | 'keys'>, conversationId: string): Promise<string | undefined> {
  return (await deps.redis.get(deps.keys.unreachable(conversationId))) ?? undefined;
}
