import { DelayedError, type Job, type Worker } from 'bullmq';
import {
  accountIdOf,
  GatewayError,
  ProviderRateLimitedError,
  conversationId,
  sendOutcomeUnknown,
  type ChannelId,
  type OutboundAdapter,
  type OutboundJob,
  type OutboundPart,
} from '@switchboard/core';
import { createWorker, holdSender, recordChannelEvent, reserveSendSlot } from '@switchboard/queue';
import { accountFor, failureReporters } from '../channels.js';
import type { WorkerDeps } from '../deps.js';
import { ownerOf } from '../schedule.js';
import { judgeUnconfirmedPart } from './reconcile.js';
import { conversationEventEntry, record, sentPartEntry } from '../recording.js';
import { noteApiCallback } from '../api-callback-notes.js';
import { holdReply, isFreeForm, sendReengagement, windowClosed } from '../held-replies.js';

/** How long a reply waits for the previous reply of its conversation before going anyway. */
const ORDER_WAIT_MAX_MS = 120_000;
/** Poll interval while waiting for the previous reply. */
const ORDER_POLL_MS = 200;
/** Pair-rate (per-recipient) retries before the error counts as an ordinary attempt. */
const PAIR_RATE_RETRIES = 5;

function errorCode(err: unknown): string {
  if (err instanceof GatewayError) return 'providerCode' in err ? String((err as { providerCode: unknown }).providerCode) : err.code;
  return 'exception';
}

/** Records part `index` of a reply as sent (progress, delivery ledger, hourly counts, the record). */
async function recordPartSent(deps: WorkerDeps, adapter: OutboundAdapter, data: OutboundJob, convId: string, index: number, part: OutboundPart, providerMessageId: string | undefined, handedAt: number): Promise<void> {
  await deps.ledger.partSent(data.outboundId, index, providerMessageId);
  await record(deps, sentPartEntry(data, index, part, providerMessageId, handedAt, adapter.readableText?.bind(adapter)));
  await recordChannelEvent(deps.redis, deps.prefix, data.ref, 'out').catch(() => undefined);
  if (providerMessageId) {
    await deps.ledger.recordSent(data.ref.channel, providerMessageId, { outboundId: data.outboundId, part: index, conversationId: convId });
  }
}

/**
 * Sends one reply part by part, resuming after the last part recorded as sent. Each part is marked
 * before it goes out; a part found marked but unrecorded is reconciled (see reconcile.ts) rather
 * than sent again blindly.
 */
export async function processOutbound(deps: WorkerDeps, data: OutboundJob, job: Job, token: string | undefined): Promise<string> {
  const channel = data.ref.channel;
  const account = accountFor(deps, data.ref);
  const adapter = account?.adapter;
  if (!account || !adapter) throw new GatewayError(`${channel} account ${accountIdOf(data.ref)} is not configured in this worker`, { code: 'channel_disabled', retryable: false });
  const sender = account.sender?.(data.ref) ?? accountIdOf(data.ref);
  const progress = await deps.ledger.progress(data.outboundId);
  // a failed reply replayed from the dead-letter set (Bull Board "retry") resumes at its first unsent part
  if (progress.finished && !progress.outcome?.startsWith('failed')) {
    // held by an earlier run that may have died before its episode's re-engagement reply was enqueued
    if (progress.outcome === 'held' && progress.heldEpisode !== undefined && account.heldReplies) await sendReengagement(deps, account.heldReplies, data, progress.heldEpisode);
    // a retry after the reply finished: its callback may not have been enqueued yet
    if (data.origin === 'api') await noteApiCallback(deps, channel, data.outboundId);
    return `already ${progress.outcome ?? 'finished'}`;
  }
  const holding = account.heldReplies && isFreeForm(data) ? account.heldReplies : undefined;

  if (data.after && Date.now() - job.timestamp < ORDER_WAIT_MAX_MS) {
    const prev = await deps.ledger.progress(data.after);
    if (!prev.finished) {
      // back off while waiting (200 ms, 400 ms … 5 s) so a long wait costs few polls
      await job.moveToDelayed(Date.now() + Math.min(ORDER_POLL_MS * 2 ** Math.min(job.attemptsStarted, 5), 5000), token);
      throw new DelayedError();
    }
  }

  const parts = adapter.render(data.reply, data.ref);
  const convId = conversationId(data.ref);
  for (let i = progress.sent; i < parts.length; i++) {
    const part = parts[i];
    if (!part) continue;
    // a human took over while the agent was thinking: its reply stays unsent
    const humanNow = data.origin === 'agent' && (await ownerOf(deps, convId)) === 'human';
    if (humanNow || (adapter.maySend && !(await adapter.maySend(data.ref)))) {
      await deps.ledger.finish(data.outboundId, 'suppressed: a human owns the conversation');
      if (data.origin === 'api') await noteApiCallback(deps, channel, data.outboundId);
      deps.metrics.sends.inc({ channel, result: 'suppressed', code: 'human', account: accountIdOf(data.ref) });
      return 'suppressed';
    }
    // the customer's window is known to be closed: the reply waits for them instead of failing
    if (holding && i === progress.sent && !progress.unconfirmed && (await windowClosed(deps, holding, data.ref))) {
      if ((await holdReply(deps, holding, data, { fromPart: i, order: job.timestamp, cause: 'window_closed' })) !== 'full') return 'held';
    }
    const ctx = { outboundId: data.outboundId, partIndex: i, partCount: parts.length, ...(data.inReplyTo ? { inReplyTo: data.inReplyTo } : {}) };
    if (progress.unconfirmed?.index === i) {
      const verdict = await judgeUnconfirmedPart(deps, adapter, data, part, ctx, progress.unconfirmed, Date.now(), deps.settings.lockDurationMs);
      if (verdict.kind === 'wait') {
        await job.moveToDelayed(verdict.untilMs, token);
        throw new DelayedError();
      }
      if (verdict.kind === 'sent') {
        deps.log.info('unconfirmed part found sent; not sending it again', { channel, outboundId: data.outboundId, part: i, how: verdict.how });
        deps.metrics.sends.inc({ channel, result: 'reconciled', code: verdict.how, account: accountIdOf(data.ref) });
        await recordPartSent(deps, adapter, data, convId, i, part, verdict.providerMessageId, Date.now());
        continue;
      }
      deps.metrics.sends.inc({ channel, result: 'resent', code: 'unconfirmed', account: accountIdOf(data.ref) });
      await deps.ledger.partResent(data.outboundId, i);
    }
    // the sender's own rate (WhatsApp: per phone number): a burst on one sender never delays another's parts
    const wait = await reserveSendSlot(deps.redis, deps.keys, { channel, sender, outboundId: data.outboundId, part: i, rate: account.sendRate });
    if (wait > 0) {
      deps.metrics.sendDelays.inc({ channel, account: accountIdOf(data.ref) });
      await job.moveToDelayed(Date.now() + wait, token);
      throw new DelayedError();
    }
    let sent: { providerMessageId?: string };
    // the mark is taken only while this run holds the job's lock: a run whose lock lapsed may have
    // been replaced by a recovered run (short locks make that more likely under load), and two runs
    // must never both send a part without the other seeing its mark
    if (!(await deps.ledger.partAttemptFenced(data.outboundId, i, { key: `${job.queueQualifiedName}:${job.id}:lock`, token: token ?? '' }))) {
      deps.metrics.sends.inc({ channel, result: 'abandoned', code: 'lock_lost', account: accountIdOf(data.ref) });
      throw new Error(`lost the lock of ${data.outboundId} before sending part ${i}: another run owns the reply`);
    }
    // the record orders a part by when it was handed to the provider: the provider has it from then
    // on, and a customer message that arrives while the send call is still returning comes after it
    const handedAt = Date.now();
    try {
      sent = await adapter.sendPart(data.ref, part, ctx);
    } catch (err) {
      // the provider answered with an error of its own: the part was not sent, nothing to reconcile
      if (!sendOutcomeUnknown(err)) await deps.ledger.partNotSent(data.outboundId, i);
      // the request is over: the provider can no longer take the part, its acknowledgement wait runs from now
      else await deps.ledger.partOutcomeUnknown(data.outboundId, i);
      deps.metrics.sends.inc({ channel, result: 'error', code: errorCode(err), account: accountIdOf(data.ref) });
      // the provider refused it because the window closed: held from this part on (else it fails below)
      if (holding?.windowClosedError(err) && (await holdReply(deps, holding, data, { fromPart: i, order: job.timestamp, cause: 'send_refused' })) !== 'full') return 'held';
      if (err instanceof ProviderRateLimitedError && err.scope === 'account') {
        // the provider throttles this sender: hold its parts back, not the other accounts' (no queue pause)
        await holdSender(deps.redis, deps.keys, { channel, sender, forMs: err.retryAfterMs, rate: account.sendRate });
        await job.moveToDelayed(Date.now() + err.retryAfterMs, token);
        throw new DelayedError();
      }
      if (err instanceof ProviderRateLimitedError && err.scope === 'recipient') {
        // only this recipient is limited (a pair rate limit): wait 4^n s without pausing the queue
        const key = deps.keys.pairRate(data.outboundId);
        const n = await deps.redis.incr(key);
        await deps.redis.expire(key, 3600);
        if (n <= PAIR_RATE_RETRIES) {
          await job.moveToDelayed(Date.now() + Math.min(4 ** n * 1000, 10 * 60_000), token);
          throw new DelayedError();
        }
      }
      if (err instanceof GatewayError && !err.retryable) {
        await deps.ledger.finish(data.outboundId, `failed: ${err.message}`);
        if (data.origin === 'api') await noteApiCallback(deps, channel, data.outboundId);
      }
      throw err;
    }
    await recordPartSent(deps, adapter, data, convId, i, part, sent.providerMessageId, handedAt);
    deps.metrics.sends.inc({ channel, result: 'sent', code: 'ok', account: accountIdOf(data.ref) });
    if (i === 0 && data.receivedAt) deps.metrics.sendSeconds.observe({ channel }, (Date.now() - data.receivedAt) / 1000);
  }
  await deps.ledger.finish(data.outboundId, 'sent');
  // statuses that arrived while the parts were going out are reported now, with the reply's own
  if (data.origin === 'api') await noteApiCallback(deps, channel, data.outboundId);
  return `sent ${parts.length}`;
}

/** The `outbound` role: one worker per sending channel; each sender (account, WhatsApp phone number) keeps its own rate. */
export function startOutboundRole(deps: WorkerDeps): Worker[] {
  const workers: Worker[] = [];
  const reporters = failureReporters(deps);
  for (const channel of Object.keys(deps.channels) as ChannelId[]) {
    const sends = [...deps.channels[channel].accounts.values()].some((a) => a.adapter);
    if (!sends) continue;
    const name = deps.channels[channel].module.outboundQueue;
    workers.push(
      createWorker(name, (data, job, token) => processOutbound(deps, data, job, token), {
        connection: deps.queueRedis,
        prefix: deps.prefix,
        log: deps.log,
        concurrency: deps.settings.concurrency,
        lockDurationMs: deps.settings.lockDurationMs,
        onFinalFailure: (job, err) => {
          const data = job.data as OutboundJob;
          void deps.ledger
            .finish(data.outboundId, `failed: ${err.message}`)
            .then(() => (data.origin === 'api' ? noteApiCallback(deps, data.ref.channel, data.outboundId) : undefined))
            .catch(() => undefined);
          void record(deps, conversationEventEntry(`failed-${data.outboundId}`, data.ref, 'delivery_failed', { outboundId: data.outboundId, origin: data.origin, error: err.message.slice(0, 300) }, Date.now()));
          for (const report of reporters) {
            report(data, err.message).catch((e: unknown) => deps.log.warn('failure report failed', { err: e instanceof Error ? e.message : String(e) }));
          }
        },
      }),
    );
  }
  return workers;
}
