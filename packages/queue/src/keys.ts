/**
 * Gateway-owned Redis keys. All share the queue prefix so that, with a hash-tagged prefix such
 * as `{gw}`, every key of one Lua script lands in one Redis Cluster slot.
 */
export function gatewayKeys(prefix: string) {
  const p = `${prefix}:sb`;
  return {
    /** Dedupe claim of one provider event (TTL = provider retry horizon). */
    seen: (eventId: string) => `${p}:seen:${eventId}`,
    /** A conversation's pending messages, oldest first. */
    mailbox: (conversationId: string) => `${p}:mb:${conversationId}`,
    /** A conversation's turn state: seq, pending, running, count, first, last. */
    turn: (conversationId: string) => `${p}:turn:${conversationId}`,
    /** The reply produced for one turn, so a retried turn never asks the LLM twice. */
    reply: (conversationId: string, seq: number) => `${p}:reply:${conversationId}:${seq}`,
    /** Progress of an outbound reply: parts sent so far, and (`after`) the reply it waits for. */
    outbound: (outboundId: string) => `${p}:out:${outboundId}`,
    /** The newest reply enqueued for a conversation (its outbound id): the next reply goes after it. */
    lastReply: (conversationId: string) => `${p}:lastout:${conversationId}`,
    /** Delivery state of one sent provider message. */
    delivery: (channel: string, providerMessageId: string) => `${p}:dlv:${channel}:${providerMessageId}`,
    /** Conversation ownership: bot or human. */
    owner: (conversationId: string) => `${p}:owner:${conversationId}`,
    /** One-shot markers (e.g. the allowlist refusal was sent once). */
    once: (name: string) => `${p}:once:${name}`,
    /** Free-form namespace for a package (token caches, cursors, mappings). */
    ns: (namespace: string, ...parts: string[]) => [`${p}:${namespace}`, ...parts].join(':'),
  };
}
export type GatewayKeys = ReturnType<typeof gatewayKeys>;
