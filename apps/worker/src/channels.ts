import { accountIdOf, type Admission, type ChannelId, type ChannelInboundHook, type ConversationRef, type OutboundAdapter, type OutboundJob } from '@switchboard/core';
import type { Agent } from '@switchboard/agent';
import type { WorkerAccount, WorkerDeps } from './deps.js';

type ChannelsOf = Pick<WorkerDeps, 'channels'>;

/** Every opened account of every channel, in registry order. */
export function allAccounts(deps: ChannelsOf): WorkerAccount[] {
  return Object.values(deps.channels).flatMap((c) => [...c.accounts.values()]);
}

/** Where a conversation or event belongs: its channel and gateway account (`default` when unnamed). */
export type AccountRef = { readonly channel: ChannelId; readonly accountId?: string | undefined };

/** The account that serves a conversation (its gateway account id), or undefined when not opened here. */
export function accountFor(deps: ChannelsOf, ref: AccountRef): WorkerAccount | undefined {
  return deps.channels[ref.channel].accounts.get(accountIdOf(ref));
}

/** The outbound adapter of a conversation's account, or undefined when it does not send here. */
export function adapterFor(deps: ChannelsOf, ref: AccountRef): OutboundAdapter | undefined {
  return accountFor(deps, ref)?.adapter;
}

/** The agent answering a conversation: its account's own (`agent` in ACCOUNTS_FILE) or the deployment's. */
export function agentFor(deps: Pick<WorkerDeps, 'channels' | 'agent'>, ref: AccountRef): Agent {
  return accountFor(deps, ref)?.agent ?? deps.agent;
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

/**
 * Whether the bot may answer this conversation: the channel's own rule (WhatsApp's
 * WHATSAPP_ALLOWED_USERS on the account `default`), then the account agent's access list.
 */
export function admission(deps: Pick<WorkerDeps, 'channels' | 'agent'>, ref: ConversationRef): Admission {
  const byChannel = accountFor(deps, ref)?.admit?.(ref) ?? { allowed: true };
  if (!byChannel.allowed) return byChannel;
  return agentFor(deps, ref).admit(ref);
}
