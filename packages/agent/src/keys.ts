import { shortHash, type ConversationRef, type InboundMessage } from '@switchboard/core';
import { gatewayKeys } from '@switchboard/queue';

/**
 * Redis keys of the agent, all under `${prefix}:sb:agent:` so one prefix scan finds them and a
 * hash-tagged prefix keeps them in one cluster slot. Per-conversation keys end with the
 * conversation id, per-customer keys with the customer id, which is what the erase procedure uses.
 */
export function agentKeys(prefix: string) {
  const k = gatewayKeys(prefix);
  return {
    /** Conversation memory: a list of JSON turns, newest last. */
    memory: (conversationId: string) => k.ns('agent', 'mem', conversationId),
    /** Failed LLM turns of a conversation (hash: turn id → 1, `count`). */
    failures: (conversationId: string) => k.ns('agent', 'fail', conversationId),
    /** The rate-limit decision taken for one turn, so a retried turn gets the same decision. */
    rateDecision: (customerId: string, turnId: string) => k.ns('agent', 'rld', customerId, turnId),
    /** Marks that the rate-limit notice was sent in the current window. */
    rateNotice: (customerId: string) => k.ns('agent', 'rln', customerId),
    /** Key prefix of rate-limiter-flexible's counters. */
    rateLimiterPrefix: () => k.ns('agent', 'rl'),
    /** Running summary of turns that left the memory window. */
    summary: (conversationId: string) => k.ns('agent', 'sum', conversationId),
    /** A customer's profile across conversations. */
    profile: (customerId: string) => k.ns('agent', 'prof', customerId),
    /** The conversation's A/B variant. */
    variant: (conversationId: string) => k.ns('agent', 'ab', conversationId),
    /** Cached LLM answer of a non-personal, single-turn question. */
    cache: (hash: string) => k.ns('agent', 'cache', hash),
  };
}
export type AgentKeys = ReturnType<typeof agentKeys>;

/** A customer across their conversations on one account (hashed; no raw ids in keys). */
export function customerId(ref: Pick<ConversationRef, 'channel' | 'account' | 'userId'>): string {
  return `${ref.channel}-${shortHash(`${ref.channel}|${ref.account}|${ref.userId}`, 20)}`;
}

/** A turn's identity: its messages' event ids. Stable across retries of the same turn. */
export function turnId(messages: InboundMessage[]): string {
  return shortHash(messages.map((m) => m.eventId).join(','), 20);
}
