import type { ConversationRef } from '@switchboard/core';
import { scheduleTurn as scheduleConversationTurn, setConversationOwner, type AcceptContext } from '@switchboard/queue';
import type { WorkerDeps } from './deps.js';

/** Adds the turn job `seq` (idempotent), delayed by the debounce window. */
export async function scheduleTurn(deps: WorkerDeps, conversationId: string, ref: ConversationRef, seq: number): Promise<void> {
  await scheduleConversationTurn({ producers: deps.producers, debounceMs: deps.settings.debounceMs }, conversationId, ref, seq);
}

/** The accept context of a worker (the WeChat sync and the inbound role's repair path). */
export function acceptContext(deps: WorkerDeps): AcceptContext {
  return { mailbox: deps.mailbox, producers: deps.producers, redis: deps.redis, prefix: deps.prefix, debounceMs: deps.settings.debounceMs, maxMessageAgeSec: deps.settings.maxMessageAgeSec };
}

/** Conversation ownership: while a human owns it, the bot stays silent. */
export async function setOwner(deps: WorkerDeps, conversationId: string, owner: 'human' | 'bot', reason: string): Promise<void> {
  // also kept in an index so the admin overview can list human-owned conversations
  await setConversationOwner(deps.redis, deps.prefix, conversationId, owner, reason);
}

export async function ownerOf(deps: WorkerDeps, conversationId: string): Promise<'human' | 'bot'> {
  return (await deps.redis.exists(deps.keys.owner(conversationId))) ? 'human' : 'bot';
}
