import { DelayedError, type Job, type Worker } from 'bullmq';
import { conversationId, GatewayError, outboundQueueFor, type ChannelId, type ConversationRef, type OutboundJob, type StatusEvent } from '@switchboard/core';
import { broadcastOutcomeOf } from '@switchboard/channels';
import {
  BroadcastStore,
  broadcastOutboundId,
  createWorker,
  customerContact,
  loadScripts,
  OptOutStore,
  parseBroadcastOutboundId,
  type BroadcastMeta,
  type BroadcastRecipient,
  type RecipientState,
} from '@switchboard/queue';
import type { WorkerAccount, WorkerDeps } from '../deps.js';

/**
 * The `broadcast` role: one runner job per broadcast (`bcr-<id>`, delayed until `sendAt`) that
 * ticks every BROADCAST_TICK_MS until every recipient is done. Each tick it follows the outcomes of
 * the recipients in flight (the outbound role's progress → sent, failed by reason, skipped) and
 * feeds the next recipients into the channel's outbound queue — one job per recipient, id
 * `bc-<broadcast>-<index>`, so a retried tick or a killed worker never sends twice.
 *
 * Conversational replies are never delayed by a broadcast: its jobs carry a BullMQ priority (jobs
 * without one, every reply, are taken first); it feeds at most BROADCAST_RATE_SHARE of the sender's
 * rate; and it feeds nothing while replies wait in the outbound queue or the sender's send-rate
 * state shows a backlog of more than (1 − share) of its burst — that part stays free for replies.
 */

/** BullMQ priority of broadcast sends (replies carry none, and jobs without a priority are taken first). */
export const BROADCAST_PRIORITY = 1000;
/** A claimed recipient with no outbound job and no progress after this long is fed again (its runner died). */
const LOST_AFTER_MS = 30_000;
const ORDER_TTL_SEC = 7 * 24 * 3600;

/** The role's settings (BROADCAST_RATE_SHARE, BROADCAST_TICK_MS). */
export interface BroadcastSettings {
  /** Largest share of a sender's send rate a broadcast uses (0–1). */
  readonly share: number;
  /** How often a running broadcast feeds and follows its recipients (ms). */
  readonly tickMs: number;
}

export const DEFAULT_BROADCAST_SETTINGS: BroadcastSettings = { share: 0.5, tickMs: 250 };

function stateOfOutcome(channel: ChannelId, error: string): RecipientState {
  const o = broadcastOutcomeOf(channel, error);
  return 'skipped' in o ? `x:${o.skipped}` : `f:${o.failed}`;
}

/** What the counts make of an outbound reply's progress; undefined while it is not finished. */
function stateOfProgress(channel: ChannelId, sent: string | null, outcome: string | null): RecipientState | undefined {
  if (outcome?.startsWith('failed')) return stateOfOutcome(channel, outcome.replace(/^failed: /, ''));
  // the outbound role suppresses a send to a conversation its channel will not send to (blocked, unreachable)
  if (outcome?.startsWith('suppressed')) return 'x:blocked';
  if (outcome === 'sent' || Number(sent ?? 0) > 0) return 's';
  return undefined;
}

class BroadcastRunner {
  private readonly store: BroadcastStore;
  private readonly optOuts: OptOutStore;

  constructor(
    private readonly deps: WorkerDeps,
    private readonly settings: BroadcastSettings,
  ) {
    this.store = new BroadcastStore(deps.redis, deps.prefix);
    this.optOuts = new OptOutStore(deps.redis, deps.prefix);
  }

  /** One tick of broadcast `id`; re-delays its job until the broadcast is done. */
  async tick(id: string, job: Job, token: string | undefined): Promise<string> {
    const meta = await this.store.meta(id);
    if (!meta) return 'unknown broadcast';
    if (meta.status === 'completed') return 'completed';
    const account = this.deps.channels[meta.channel]?.accounts.get(meta.accountId);
    if (!account?.adapter) throw new GatewayError(`${meta.channel} account ${meta.accountId} is not configured in this worker`, { code: 'channel_disabled', retryable: false });
    if (meta.status === 'scheduled' && meta.sendAt > Date.now()) {
      await job.moveToDelayed(meta.sendAt, token);
      throw new DelayedError();
    }
    await this.follow(meta, account);
    if (meta.status === 'cancelled') {
      await this.withdraw(meta);
      if ((await this.store.inflightCount(id)) === 0) return 'cancelled';
    } else {
      await this.feed(meta, account);
      if (await this.store.completeIfDone(id)) {
        this.deps.log.info('broadcast completed', { broadcast: id, recipients: meta.total });
        return 'completed';
      }
    }
    await job.moveToDelayed(Date.now() + this.settings.tickMs, token);
    throw new DelayedError();
  }

  private count(channel: ChannelId, state: RecipientState): void {
    const result = state === 's' ? 'sent' : state === 'c' ? 'cancelled' : state.startsWith('x:') ? `skipped_${state.slice(2)}` : state.startsWith('f:') ? `failed_${state.slice(2)}` : undefined;
    if (result) this.deps.metrics.broadcastRecipients.inc({ channel, result });
  }

  /** Most recipients in flight at once: five seconds of the broadcast's share of the rate. */
  private cap(account: WorkerAccount): number {
    return Math.max(20, Math.ceil(((this.settings.share * account.sendRate.max) / account.sendRate.durationMs) * 5000));
  }

  /** Moves finished recipients to their final count; feeds again those a dead runner claimed but never fed. */
  private async follow(meta: BroadcastMeta, account: WorkerAccount): Promise<void> {
    const inflight = await this.store.inflight(meta.id, this.cap(account) + 100);
    if (inflight.length === 0) return;
    const rows = await Promise.all(inflight.map((f) => this.deps.redis.hmget(this.deps.keys.outbound(broadcastOutboundId(meta.id, f.index)), 'sent', 'outcome', 't0')));
    const done: number[] = [];
    const lost: number[] = [];
    await Promise.all(
      inflight.map(async (f, i) => {
        const [sent = null, outcome = null, attempt = null] = rows[i]!;
        const state = stateOfProgress(meta.channel, sent, outcome);
        if (state) {
          if (await this.store.transition(meta.id, f.index, state)) this.count(meta.channel, state);
          done.push(f.index);
          return;
        }
        if (attempt === null && Date.now() - f.at > LOST_AFTER_MS) {
          const prior = await this.store.state(meta.id, f.index);
          if (prior && prior !== 'q') return void done.push(f.index);
          const job = await this.deps.producers.queue(outboundQueueFor(meta.channel)).getJob(broadcastOutboundId(meta.id, f.index));
          if (!job) lost.push(f.index);
        }
      }),
    );
    await this.store.doneInflight(meta.id, done);
    for (const index of lost) {
      const [r] = await this.store.recipients(meta.id, index, index + 1);
      if (r) await this.feedOne(meta, account, index, r);
    }
  }

  /** A cancelled broadcast: its queued sends are withdrawn (those being sent right now finish). */
  private async withdraw(meta: BroadcastMeta): Promise<void> {
    const queue = this.deps.producers.queue(outboundQueueFor(meta.channel));
    const inflight = await this.store.inflight(meta.id, 1000);
    const done: number[] = [];
    for (const f of inflight) {
      const job = await queue.getJob(broadcastOutboundId(meta.id, f.index));
      if (!job) {
        const state = await this.store.state(meta.id, f.index);
        if (state === undefined || state === 'q') {
          // claimed but never fed, or its job is gone: nothing will send it
          await this.store.transition(meta.id, f.index, 'c');
          done.push(f.index);
        }
        continue;
      }
      const st = await job.getState();
      if (st === 'waiting' || st === 'delayed' || st === 'prioritized' || st === 'waiting-children') {
        try {
          await job.remove();
          await this.store.transition(meta.id, f.index, 'c');
          done.push(f.index);
        } catch {
          // taken by an outbound worker meanwhile: it is followed like any send
        }
      }
    }
    await this.store.doneInflight(meta.id, done);
  }

  /** Feeds the next recipients, paced (see the module comment). */
  private async feed(meta: BroadcastMeta, account: WorkerAccount): Promise<void> {
    const now = Date.now();
    const { max, durationMs } = account.sendRate;
    const perMs = (this.settings.share * max) / durationMs;
    const tokenCap = Math.max(1, perMs * this.settings.tickMs * 2);
    const tokens = Math.min(tokenCap, meta.tokens + perMs * (meta.fedAt > 0 ? now - meta.fedAt : this.settings.tickMs));
    let spent = 0;
    const idle = tokens >= 1 && (await this.senderIdle(meta.channel, account, now));
    if (tokens >= 1 && !idle) this.deps.metrics.broadcastHeld.inc({ channel: meta.channel });
    if (idle) {
      const room = this.cap(account) - (await this.store.inflightCount(meta.id));
      const n = Math.min(Math.floor(tokens), room);
      const claimed = n > 0 ? await this.store.claim(meta.id, n, now) : undefined;
      if (claimed) {
        const [from, to] = claimed;
        const recipients = await this.store.recipients(meta.id, from, to);
        const fed = await Promise.all(recipients.map((r, i) => this.feedOne(meta, account, from + i, r)));
        spent = fed.filter(Boolean).length;
        this.deps.metrics.broadcastRecipients.inc({ channel: meta.channel, result: 'fed' }, spent);
      }
    }
    await this.store.setPacing(meta.id, tokens - spent, now);
  }

  /** No reply waits for an outbound worker, and the sender's rate has room beyond the broadcast's share. */
  private async senderIdle(channel: ChannelId, account: WorkerAccount, now: number): Promise<boolean> {
    if ((await this.deps.producers.queue(outboundQueueFor(channel)).getWaitingCount()) > 0) return false;
    const probe = account.newConversation?.('10000000');
    const sender = probe ? (account.sender?.(probe) ?? account.accountId) : account.accountId;
    const tat = Number((await this.deps.redis.hget(this.deps.keys.sendRate(channel, sender), 'tat')) ?? 0);
    const { max, durationMs } = account.sendRate;
    const burst = durationMs - durationMs / max;
    return tat - now <= burst * (1 - this.settings.share);
  }

  /** Feeds one recipient (or counts it skipped); true when a send was queued. */
  private async feedOne(meta: BroadcastMeta, account: WorkerAccount, index: number, r: BroadcastRecipient): Promise<boolean> {
    const skip = async (state: RecipientState) => {
      if (await this.store.transition(meta.id, index, state)) this.count(meta.channel, state);
      await this.store.doneInflight(meta.id, [index]);
      return false;
    };
    if (r.duplicate) return skip('x:invalid');
    if (await this.optOuts.isOptedOut({ channel: meta.channel, accountId: meta.accountId, customerId: r.to })) return skip('x:opted_out');
    // a customer who wrote before: their conversation (ordered with the bot's replies); else a new one from the sending number
    const contact = await customerContact(this.deps.redis, this.deps.prefix, meta.channel, meta.accountId, r.to);
    const ref: ConversationRef | undefined = contact?.ref ?? account.newConversation?.(r.to);
    if (!ref) return skip('x:invalid');
    const outboundId = broadcastOutboundId(meta.id, index);
    const after = contact ? await loadScripts(this.deps.redis).sbReplyOrder(this.deps.keys.lastReply(conversationId(ref)), this.deps.keys.outbound(outboundId), outboundId, ORDER_TTL_SEC, ORDER_TTL_SEC) : '';
    const job: OutboundJob = {
      outboundId,
      ref,
      reply: { text: '', template: { ...meta.template, ...(r.components?.length ? { components: [...r.components] } : {}) } },
      origin: 'broadcast',
      ...(after ? { after } : {}),
    };
    await this.deps.producers.enqueue(outboundQueueFor(meta.channel), job, { jobId: outboundId, priority: BROADCAST_PRIORITY });
    await this.store.transition(meta.id, index, 'q');
    return true;
  }
}

/** A delivery status of a broadcast's send moves its recipient's count (delivered, read, failed by reason). */
export async function noteBroadcastStatus(deps: WorkerDeps, event: StatusEvent, error: string): Promise<void> {
  const rec = await deps.ledger.get(event.channel, event.providerMessageId);
  const bc = rec?.outboundId ? parseBroadcastOutboundId(rec.outboundId) : undefined;
  if (!bc) return;
  const state: RecipientState | undefined =
    event.status === 'failed' ? stateOfOutcome(event.channel, error) : event.status === 'delivered' ? 'd' : event.status === 'read' || event.status === 'played' ? 'r' : 's';
  await new BroadcastStore(deps.redis, deps.prefix).transition(bc.id, bc.index, state);
}

/** Starts the `broadcast` role. */
export function startBroadcastRole(deps: WorkerDeps, settings: BroadcastSettings = deps.settings.broadcast ?? DEFAULT_BROADCAST_SETTINGS): Worker[] {
  const runner = new BroadcastRunner(deps, settings);
  return [
    createWorker('broadcast', (data, job, token) => runner.tick(data.broadcastId, job, token), {
      connection: deps.queueRedis,
      prefix: deps.prefix,
      log: deps.log,
      concurrency: Math.max(4, Math.min(deps.settings.concurrency, 16)),
      lockDurationMs: deps.settings.lockDurationMs,
    }),
  ];
}
