import { accountIdOf, DEFAULT_ACCOUNT_ID, type Admission, type ChannelId, type ChannelInboundHook, type ConversationRef, type OutboundAdapter, type OutboundJob } from '@switchboard/core';
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
  return (Object.keys(deps.channels) as ChannelId[]).find((id) => [...deps.channels[id].accounts.values()].some((a) => a.mirror !== undefined));
}

/** An account that mirrors conversations, with its channel. */
export interface MirrorTarget {
  readonly channel: ChannelId;
  readonly account: WorkerAccount;
}

/** The mirroring account with this id (a `mirror` job's `mirrorAccountId`, or `default`), if opened here. */
export function mirrorAccount(deps: ChannelsOf, accountId: string): MirrorTarget | undefined {
  for (const channel of Object.keys(deps.channels) as ChannelId[]) {
    const account = deps.channels[channel].accounts.get(accountId);
    if (account?.mirror !== undefined) return { channel, account };
  }
  return undefined;
}

/**
 * The account that mirrors a conversation, or undefined when none does: the `mirror` key of the
 * conversation's `ACCOUNTS_FILE` entry, else the mirroring channel's `default` account when it
 * mirrors, else its first account that mirrors. A conversation of the mirroring channel itself is
 * never mirrored.
 */
export function mirrorTarget(deps: ChannelsOf, ref: AccountRef): MirrorTarget | undefined {
  const named = accountFor(deps, ref)?.entry?.mirror;
  const channel = mirrorChannel(deps);
  let target: MirrorTarget | undefined;
  if (named !== undefined) target = mirrorAccount(deps, named);
  else if (channel !== undefined) {
    const accounts = [...deps.channels[channel].accounts.values()];
    const account = accounts.find((a) => a.accountId === DEFAULT_ACCOUNT_ID && a.mirror !== undefined) ?? accounts.find((a) => a.mirror !== undefined);
    if (account) target = { channel, account };
  }
  return target && target.channel !== ref.channel ? target : undefined;
}

/** Problems of the `mirror` keys of ACCOUNTS_FILE: each must name an account that mirrors conversations. */
export function mirrorProblems(deps: ChannelsOf): string[] {
  return allAccounts(deps).flatMap((a) => {
    const named = a.entry?.mirror;
    if (named === undefined || mirrorAccount(deps, named)) return [];
    return [`ACCOUNTS_FILE: ${a.entry?.where ?? a.accountId}.mirror: "${named}" is not an account that mirrors conversations (one with a mirror inbox and an API token)`];
  });
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
