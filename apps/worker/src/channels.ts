import { DEFAULT_ACCOUNT_ID, type Admission, type ChannelId, type ChannelInboundHook, type ConversationRef, type OutboundAdapter, type OutboundJob } from '@switchboard/core';
import type { WorkerAccount, WorkerDeps } from './deps.js';

type ChannelsOf = Pick<WorkerDeps, 'channels'>;

/** Every opened account of every channel, in registry order. */
export function allAccounts(deps: ChannelsOf): WorkerAccount[] {
  return Object.values(deps.channels).flatMap((c) => [...c.accounts.values()]);
}

/**
 * The account that serves a conversation. Today every channel has one account (`default`); with
 * several accounts the provider account of `ref` selects it.
 */
export function accountFor(deps: ChannelsOf, ref: Pick<ConversationRef, 'channel'>): WorkerAccount | undefined {
  return deps.channels[ref.channel].accounts.get(DEFAULT_ACCOUNT_ID);
}

/** The outbound adapter of a channel (its default account), or undefined when it does not send here. */
export function adapterFor(deps: ChannelsOf, channel: ChannelId): OutboundAdapter | undefined {
  return accountFor(deps, { channel })?.adapter;
}

/** Inbound hooks of every account, in registry order. */
export function inboundHooks(deps: ChannelsOf): ChannelInboundHook[] {
  return allAccounts(deps).flatMap((a) => [...(a.inboundHooks ?? [])]);
}

/** Failure reporters of every account. */
export function failureReporters(deps: ChannelsOf): Array<(job: OutboundJob, reason: string) => Promise<void>> {
  return allAccounts(deps).flatMap((a) => (a.onOutboundFailed ? [a.onOutboundFailed] : []));
}

/** The channel that receives mirrored conversations, if one is configured. */
export function mirrorChannel(deps: ChannelsOf): ChannelId | undefined {
  return (Object.keys(deps.channels) as ChannelId[]).find((id) => [...deps.channels[id].accounts.values()].some((a) => a.mirrorsConversations));
}

/** Whether the bot may answer this conversation (the channel's admission rule; allowed when it has none). */
export function admission(deps: ChannelsOf, ref: ConversationRef): Admission {
  return accountFor(deps, ref)?.admit?.(ref) ?? { allowed: true };
}
