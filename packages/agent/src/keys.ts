import { shortHash, type ConversationRef, type InboundMessage } from '@switchboard/core';
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

/** A customer across their conversations on one account (hashed; no raw ids in keys). */
export function customerId(ref: Pick<ConversationRef, 'channel' | 'account' | 'userId'> & { readonly accountId?: string | undefined }): string {
  // a gateway account other than `default` keeps its own customers (two brands never share a profile)
  const account = ref.accountId && ref.accountId !== 'default' ? `${ref.accountId}/${ref.account}` : ref.account;
  return `${ref.channel}-${shortHash(`${ref.channel}|${account}|${ref.userId}`, 20)}`;
}

/** A turn's identity: its messages' event ids. Stable across retries of the same turn. */
export function turnId(messages: InboundMessage[]): string {
  return shortHash(messages.map((m) => m.eventId).join(','), 20);
}
