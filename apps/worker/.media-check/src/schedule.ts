import { jobId, type ConversationRef } from '@switchboard/core';
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
  const key = deps.keys.owner(conversationId);
  if (owner === 'bot') await deps.redis.del(key);
  else await deps.redis.set(key, JSON.stringify({ owner, reason, at: Date.now() }), 'EX', 30 * 24 * 3600);
}

export async function ownerOf(deps: WorkerDeps, conversationId: string): Promise<'human' | 'bot'> {
  return (await deps.redis.exists(deps.keys.owner(conversationId))) ? 'human' : 'bot';
}
