import { jobId, type ConversationRef } from '@switchboard/core';
import { setConversationOwner } from '@switchboard/queue';
import type { WorkerDeps } from './deps.js';

/** Job id of a conversation's turn `seq`: deterministic, so re-adding it is a no-op. */
export function turnJobId(conversationId: string, seq: number): string {
  return jobId('turn', conversationId, seq);
}

/** Adds the turn job `seq` (idempotent), delayed by the debounce window. */
export async function scheduleTurn(deps: WorkerDeps, conversationId: string, ref: ConversationRef, seq: number): Promise<void> {
  await deps.producers.enqueue('turn', { conversationId, ref, seq }, { jobId: turnJobId(conversationId, seq), delay: deps.settings.debounceMs });
}

/** Conversation ownership: while a human owns it, the bot stays silent. */
export async function setOwner(deps: WorkerDeps, conversationId: string, owner: 'human' | 'bot', reason: string): Promise<void> {
  // also kept in an index so the admin overview can list human-owned conversations
  await setConversationOwner(deps.redis, deps.prefix, conversationId, owner, reason);
}

export async function ownerOf(deps: WorkerDeps, conversationId: string): Promise<'human' | 'bot'> {
  return (await deps.redis.exists(deps.keys.owner(conversationId))) ? 'human' : 'bot';
}
