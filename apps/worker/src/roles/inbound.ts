import type { Job, Worker } from 'bullmq';
import { conversationId, jobId, type ChannelInboundHook, type HandoffReason, type InboundEvent, type InboundMessage } from '@switchboard/core';
import { renderContent } from '@switchboard/agent';
import { acceptCustomerMessage, acknowledgeSentParts, createWorker, enqueueReply } from '@switchboard/queue';
import { accountFor, admission, agentFor, inboundHooks } from '../channels.js';
import { personOf } from '../people.js';
import type { WorkerDeps } from '../deps.js';
import { acceptContext, clearUnreachable, markUnreachable, ownerOf, setOwner } from '../schedule.js';
import { applyOptOutSignal } from '../opt-out.js';
import { holdAfterStatus } from '../held-replies.js';
import { noteBroadcastStatus } from './broadcast.js';
import { conversationEventEntry, ownershipEntry, receivedMessageEntry, record, statusEntry } from '../recording.js';
import { noteApiCallbackForStatus } from '../api-callback-notes.js';
import { humanOwnershipTerm } from '../handoff-expiry.js';
import { enqueueMirror } from '../mirror-jobs.js';

async function acceptMessage(deps: WorkerDeps, event: InboundMessage): Promise<string> {
  const convId = conversationId(event.conversation);
  if (event.recordOnly !== undefined) {
    // kept, never acted on: no mailbox, no turn, no owner change (a signal beside it carries any)
    await record(deps, receivedMessageEntry(event));
    return 'recorded_only';
  }
  if (event.author !== 'customer') {
    // a human servicer, or the business from its own app (WhatsApp coexistence echo), wrote: never
    // answered; the bot stays quiet (for the channel's quiet time, else the auto-resume time)
    const reason: HandoffReason = 'business_reply';
    if (await deps.mailbox.claim(event.eventId)) {
      const quietMs = event.author === 'business' ? accountFor(deps, event.conversation)?.businessReplyQuietMs : undefined;
      await setOwner(deps, convId, 'human', reason, event.conversation.accountId, humanOwnershipTerm(deps, event.conversation, quietMs));
      // the people in the mirror see what was said outside it (once: the claim above)
      await enqueueMirror(deps, event.conversation, 'outgoing', event.eventId, renderContent(event.content));
    }
    await record(deps, [receivedMessageEntry(event), ownershipEntry(event.eventId, event.conversation, 'human', reason, event.sentAt)]);
    return 'human_message';
  }
  // most customer messages are accepted by the ingress and recorded by their turn; this is the repair path
  await record(deps, receivedMessageEntry(event));
  const outcome = await acceptCustomerMessage(acceptContext(deps), event);
  // ingress apps accept customer messages before their 200: this is the repair path finding it done
  return outcome === 'duplicate' ? 'already_accepted' : outcome;
}

async function acceptStatus(deps: WorkerDeps, event: Extract<InboundEvent, { kind: 'status' }>): Promise<string> {
  const error = event.errors.map((e) => `${e.code}${e.title ? ` ${e.title}` : ''}`).join('; ');
  const applied = await deps.ledger.applyStatus(event.channel, event.providerMessageId, event.status, event.at, error || undefined);
  await record(deps, statusEntry(event));
  await acknowledgeSentParts(deps.ledger, [event]);
  // also when not applied: a retried status job whose first attempt applied it reports it now
  await noteApiCallbackForStatus(deps, event.channel, event.providerMessageId);
  if (applied) await noteBroadcastStatus(deps, event, error);
  deps.metrics.statuses.inc({ channel: event.channel, status: event.status, applied: String(applied) });
  // a reply refused because the window closed is held (idempotent: not gated on `applied`, so a
  // retried job holds what a crashed run did not); else the channel may answer with a reply of its own, once
  const account = accountFor(deps, event);
  const held = account?.heldReplies ? await holdAfterStatus(deps, account.heldReplies, event) : false;
  const followUp = applied && !held ? account?.statusFollowUp?.(event) : undefined;
  if (followUp && (await deps.mailbox.claim(followUp.outboundId))) {
    const { ref, ...reply } = followUp;
    await enqueueReply(deps, ref, reply);
  }
  return applied ? 'applied' : 'ignored';
}

async function acceptSignal(deps: WorkerDeps, event: Extract<InboundEvent, { kind: 'signal' }>): Promise<string> {
  if (!(await deps.mailbox.claim(event.eventId))) return 'duplicate';
  const convId = conversationId(event.conversation);
  if (event.signal === 'human_took_over') {
    // a pause names its minutes (API, console); otherwise the auto-resume time applies
    const minutes = typeof event.detail.minutes === 'number' && event.detail.minutes > 0 ? event.detail.minutes : undefined;
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- detail values are provider scalars
    await setOwner(deps, convId, 'human', String(event.detail.reason ?? 'human took over'), event.conversation.accountId, humanOwnershipTerm(deps, event.conversation, minutes !== undefined ? minutes * 60_000 : undefined));
  }
  if (event.signal === 'bot_resumed' || event.signal === 'session_ended') await setOwner(deps, convId, 'bot', event.signal);
  if (event.signal === 'blocked') await markUnreachable(deps, convId, 'blocked');
  if (event.signal === 'unblocked') await clearUnreachable(deps, convId);
  if (event.signal === 'opted_out' || event.signal === 'opted_in') await applyOptOutSignal(deps, { ...event, signal: event.signal });
  await recordSignal(deps, event);
  deps.log.info('conversation signal', { channel: event.conversation.channel, conversation: convId, signal: event.signal });
  return event.signal;
}

/** Ownership signals become handoff/resume entries of the record; blocking and failures, conversation events. */
async function recordSignal(deps: WorkerDeps, event: Extract<InboundEvent, { kind: 'signal' }>): Promise<void> {
  const ref = event.conversation;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- detail values are provider scalars
  if (event.signal === 'human_took_over') return record(deps, ownershipEntry(event.eventId, ref, 'human', String(event.detail.reason ?? 'human took over'), event.at));
  if (event.signal === 'bot_resumed' || event.signal === 'session_ended') return record(deps, ownershipEntry(event.eventId, ref, 'bot', event.signal, event.at));
  if (event.signal === 'blocked' || event.signal === 'unblocked' || event.signal === 'send_failed') return record(deps, conversationEventEntry(event.eventId, ref, event.signal, {}, event.at));
}

/** Bounded label value for a provider type the provider (or an attacker without a signature check) names. */
function typeLabel(providerType: string): string {
  return /^[a-z0-9_.:-]{1,40}$/i.test(providerType) ? providerType : 'other';
}

/**
 * Content the gateway cannot read and system noise (a deleted message, echoes): acknowledged,
 * logged and counted, never given to the LLM. Genuine customer content may get one notice per
 * conversation when AGENT_CONFIG `unsupportedContent.notice` is on.
 */
async function acceptUnsupported(deps: WorkerDeps, event: Extract<InboundEvent, { kind: 'unsupported' }>): Promise<string> {
  if (!(await deps.mailbox.claim(event.eventId))) return 'duplicate';
  const customerContent = event.customerContent === true;
  deps.metrics.unsupported.inc({ channel: event.channel, provider_type: typeLabel(event.providerType), customer_content: String(customerContent) });
  const convId = event.conversation ? conversationId(event.conversation) : undefined;
  deps.log.info('unsupported event', { channel: event.channel, conversation: convId, providerType: event.providerType, reason: event.reason, customerContent });
  const notice = customerContent && event.conversation && convId ? agentFor(deps, event.conversation).unsupportedNotice() : undefined;
  if (!notice || !event.conversation || !convId) return 'unsupported';
  if (!admission(deps, event.conversation).allowed || (await ownerOf(deps, convId)) === 'human') return 'unsupported';
  // a sender whose role has access deny gets nothing from the bot, not even this notice
  if (!agentFor(deps, event.conversation).accessOf(await personOf(deps, event.conversation)).allowed) return 'unsupported';
  // once per conversation (a year is longer than any conversation the bot keeps)
  if (!(await deps.mailbox.claim(`unsupported-notice-${convId}`, 365 * 24 * 3600))) return 'unsupported';
  const outboundId = jobId('unsup', convId);
  await enqueueReply(deps, event.conversation, { outboundId, reply: notice, origin: 'notice' });
  return 'unsupported_notice';
}

/** Routes one inbound event: messages to their conversation mailbox, statuses to the ledger, signals to ownership. */
export async function handleInbound(deps: WorkerDeps, event: InboundEvent, hooks: readonly ChannelInboundHook[] = []): Promise<string> {
  for (const hook of hooks) {
    if (!(await hook(event))) continue;
    // a human's reply relayed from the mirror (it is recorded as sent by the outbound role): the handoff it makes
    if (event.kind === 'message' && event.author === 'human_agent') await record(deps, ownershipEntry(event.eventId, event.conversation, 'human', 'human agent replied', event.sentAt));
    return 'hooked';
  }
  switch (event.kind) {
    case 'message':
      return acceptMessage(deps, event);
    case 'status':
      return acceptStatus(deps, event);
    case 'signal':
      return acceptSignal(deps, event);
    case 'unsupported':
      return acceptUnsupported(deps, event);
  }
}

/** The `inbound` role: consumes the inbound queue; the channels' hooks see every event first. */
export function startInboundRole(deps: WorkerDeps, hooks: readonly ChannelInboundHook[] = inboundHooks(deps)): Worker[] {
  const worker = createWorker(
    'inbound',
    async (event, job: Job) => {
      const outcome = await handleInbound(deps, event, hooks);
      const channel = event.kind === 'message' || event.kind === 'signal' ? event.conversation.channel : event.channel;
      deps.metrics.inbound.inc({ channel, kind: event.kind, outcome });
      return { outcome, jobId: job.id };
    },
    { connection: deps.queueRedis, prefix: deps.prefix, log: deps.log, concurrency: deps.settings.concurrency, lockDurationMs: deps.settings.lockDurationMs },
  );
  return [worker];
}
