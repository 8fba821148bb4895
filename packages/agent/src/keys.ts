import { shortHash, type InboundMessage } from '@switchboard/core';
import { gatewayKeys } from '@switchboard/queue';

/**
 * Redis keys of the agent: the `agent` group of the gateway's key registry (`gatewayKeys` in
 * @switchboard/queue), all under `${prefix}:sb:agent:` so one prefix scan finds them and a
 * hash-tagged prefix keeps them in one cluster slot.
 */
export function agentKeys(prefix: string) {
  return gatewayKeys(prefix).agent;
}
export type AgentKeys = ReturnType<typeof agentKeys>;

/** A customer across their conversations on one account (hashed): defined in @switchboard/core, next to `conversationId`. */
export { customerId } from '@switchboard/core';

/** A turn's identity: its messages' event ids. Stable across retries of the same turn. */
export function turnId(messages: InboundMessage[]): string {
  return shortHash(messages.map((m) => m.eventId).join(','), 20);
}
