import { accountIdOf, conversationId, insideWindow, jobId, outboundQueueFor, type ConversationRef, type HeldReplyPolicy, type OutboundJob, type StatusEvent } from '@switchboard/core';
import { customerContact, enqueueReply, type HoldCause } from '@switchboard/queue';
import { accountFor, allAccounts } from './channels.js';
import type { WorkerDeps } from './deps.js';
import { conversationEventEntry, record } from './recording.js';
import { startSweep } from './sweep.js';

/**
 * Replies held while a customer's free-form window is closed (the channel's `heldReplies`
 * policy): held before sending when the window is known to be closed, or when the provider
 * refuses a part for it (synchronously or in a failed status); one re-engagement reply per hold
 * episode; released in order, before the bot's answer, when the customer writes again; dropped
 * and recorded after the policy's ttl. Storage and its idempotence: `HeldReplies` in the queue package.
 */

/** Only free-form replies are held: a template may be sent outside the window. */
export function isFreeForm(job: Pick<OutboundJob, 'reply'>): boolean {
  return job.reply.template === undefined;
}

/** Whether the customer's free-form window is closed now (no known message from them = closed). */
export async function windowClosed(deps: Pick<WorkerDeps, 'redis' | 'prefix'>, policy: HeldReplyPolicy, ref: ConversationRef, now = Date.now()): Promise<boolean> {
  const contact = await customerContact(deps.redis, deps.prefix, ref.channel, accountIdOf(ref), ref.userId);
  return !insideWindow(policy.window, contact, now);
}

/** The outbound id of a conversation's re-engagement reply in one hold episode. */
export function reengagementOutboundId(convId: string, episode: number): string {
  return jobId('rg', convId, String(episode));
}

/**
 * Enqueues the hold episode's re-engagement reply through the one reply-ordering path. Called by
 * every hold of the episode and every retry: the outbound id is the episode's, so it goes out once.
 */
export async function sendReengagement(deps: WorkerDeps, policy: HeldReplyPolicy, job: Pick<OutboundJob, 'ref' | 'origin'>, episode: number): Promise<void> {
  const convId = conversationId(job.ref);
  const built = await policy.reengagement(job.ref, { origin: job.origin });
  if ('problem' in built) {
    deps.log.warn('re-engagement reply not sent; the replies stay held', { channel: job.ref.channel, conversation: convId, problem: built.problem });
    return;
  }
  await enqueueReply(deps, job.ref, { outboundId: reengagementOutboundId(convId, episode), reply: built.reply, origin: 'fallback' });
}

/** Holds a reply from part `fromPart` on and sends the episode's re-engagement reply; `full` = not held. */
export async function holdReply(deps: WorkerDeps, policy: HeldReplyPolicy, job: OutboundJob, opts: { fromPart: number; order: number; cause: HoldCause }): Promise<'held' | 'already' | 'full'> {
  const convId = conversationId(job.ref);
  const res = await deps.held.hold(job, { ...opts, maxPerConversation: policy.maxPerConversation, ttlMs: policy.ttlMs });
  if (res.outcome === 'full') {
    deps.log.warn('held replies full; this reply is not held', { channel: job.ref.channel, conversation: convId, outboundId: job.outboundId, max: policy.maxPerConversation });
    return 'full';
  }
  await sendReengagement(deps, policy, job, res.episode);
  if (res.outcome === 'held') {
    deps.metrics.heldReplies.inc({ channel: job.ref.channel, outcome: 'held' });
    deps.log.info('reply held: the customer window is closed', { channel: job.ref.channel, conversation: convId, outboundId: job.outboundId, origin: job.origin, cause: opts.cause, episode: res.episode });
  }
  await record(deps, conversationEventEntry(`held-${job.outboundId}`, job.ref, 'reply_held', { outboundId: job.outboundId, origin: job.origin, cause: opts.cause, fromPart: opts.fromPart }, Date.now()));
  return res.outcome;
}

/**
 * A failed status that says the window was closed (WhatsApp 131047): holds the reply it belongs
 * to from the failed part on. False when it is not such a status or the reply cannot be held
 * (a template, its job no longer kept, the conversation full): the channel's status follow-up applies then.
 */
export async function holdAfterStatus(deps: WorkerDeps, policy: HeldReplyPolicy, event: StatusEvent): Promise<boolean> {
  if (!policy.windowClosedStatus(event)) return false;
  const sent = await deps.ledger.get(event.channel, event.providerMessageId);
  if (!sent?.outboundId || sent.part === undefined) return false;
  const job = await deps.producers.queue(outboundQueueFor(event.channel)).getJob(sent.outboundId);
  const data = job?.data as OutboundJob | undefined;
  if (!job || !data || !isFreeForm(data)) return false;
  return (await holdReply(deps, policy, data, { fromPart: sent.part, order: job.timestamp, cause: 'status_failed' })) !== 'full';
}

/**
 * The customer wrote (their window is open again): every held reply of the conversation is
 * enqueued, in order, through `enqueueReply` — before the turn's own answer, which the caller
 * enqueues afterwards. Idempotent per turn (`seq`): a retried turn enqueues the same replies again.
 */
export async function releaseHeldReplies(deps: WorkerDeps, ref: ConversationRef, seq: number): Promise<number> {
  if (!accountFor(deps, ref)?.heldReplies) return 0;
  const convId = conversationId(ref);
  const { fresh, replies } = await deps.held.release(convId, String(seq));
  for (const { entry, fromPart } of replies) {
    const outboundId = await deps.held.markReleased(entry.job.outboundId, fromPart);
    const { ref: heldRef, receivedAt: _receivedAt, ...rest } = entry.job;
    await enqueueReply(deps, heldRef, { ...rest, outboundId });
    await record(deps, conversationEventEntry(`held-delivered-${entry.job.outboundId}`, heldRef, 'held_reply_released', { outboundId: entry.job.outboundId, releasedAs: outboundId, origin: entry.job.origin, heldAt: entry.heldAt }, Date.now()));
  }
  if (fresh && replies.length > 0) {
    deps.metrics.heldReplies.inc({ channel: ref.channel, outcome: 'delivered' }, replies.length);
    deps.log.info('held replies released: the customer wrote', { channel: ref.channel, conversation: convId, replies: replies.length });
  }
  return replies.length;
}

/** `72 h`, `1.5 h`, `1.8 s`: a ttl as the expiry reason tells it. */
function duration(ms: number): string {
  return ms >= 3600_000 ? `${Math.round((ms / 3600_000) * 100) / 100} h` : `${Math.round(ms / 100) / 10} s`;
}

/** Drops held replies older than their policy's ttl: ledger `failed`, a `held_reply_expired` record event, a log line, the counter. */
export async function expireHeldReplies(deps: WorkerDeps, now = Date.now()): Promise<number> {
  let expired = 0;
  for (const convId of await deps.held.due(now)) {
    for (const { outboundId, entry } of await deps.held.expire(convId, now)) {
      const ref = entry.job.ref;
      const ttlMs = accountFor(deps, ref)?.heldReplies?.ttlMs;
      const reason = `no message from the customer within ${ttlMs !== undefined ? duration(ttlMs) : 'the configured time'} of holding`;
      await deps.ledger.finish(outboundId, `failed: held reply expired: ${reason}`);
      await record(deps, conversationEventEntry(`held-expired-${outboundId}`, ref, 'held_reply_expired', { outboundId, origin: entry.job.origin, cause: entry.cause, heldAt: entry.heldAt, reason }, now));
      if (await deps.held.expiryRecorded(convId, outboundId)) {
        expired++;
        deps.metrics.heldReplies.inc({ channel: ref.channel, outcome: 'expired' });
        deps.log.info('held reply expired', { channel: ref.channel, conversation: convId, outboundId, origin: entry.job.origin, heldHours: Math.round(((now - entry.heldAt) / 3600_000) * 100) / 100 });
      }
    }
  }
  return expired;
}

/**
 * Runs {@link expireHeldReplies} every quarter of the shortest ttl (250 ms to 60 s) while any account
 * holds replies; every worker with the `inbound` role runs it (the scripts make each expiry happen once).
 * @returns stops the schedule
 */
export function startHeldReplyExpiry(deps: WorkerDeps): () => void {
  const ttls = allAccounts(deps).flatMap((a) => (a.heldReplies ? [a.heldReplies.ttlMs] : []));
  if (ttls.length === 0) return () => undefined;
  const every = Math.min(60_000, Math.max(250, Math.floor(Math.min(...ttls) / 4)));
  return startSweep(deps, 'held reply expiry', every, () => expireHeldReplies(deps));
}
