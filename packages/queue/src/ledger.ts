import { DELIVERY_RANK, type DeliveryStatus } from '@switchboard/core';
import type { RedisClient } from './redis.js';
import { gatewayKeys, type GatewayKeys } from './keys.js';
import { loadScripts, type ScriptedRedis } from './lua-scripts.js';

/** What the ledger knows about one sent provider message. */
export interface DeliveryRecord {
  status: DeliveryStatus;
  outboundId?: string;
  part?: number;
  conversationId?: string;
  error?: string;
  at: number;
}

const TTL_SEC = 30 * 24 * 3600;
const OUTBOUND_TTL_SEC = 7 * 24 * 3600;

/** A part that was handed to the provider without its outcome being recorded. */
export interface UnconfirmedPart {
  index: number;
  /** When the send started (ms). */
  attemptAt: number;
  /** Provider message id from an acknowledgement (status webhook), when one arrived. */
  acknowledgedAs?: string;
  /** When a retry first found it unconfirmed (ms). */
  reconcilingSince?: number;
  /**
   * When the attempt ended without a known outcome (ms): the request timed out, its response was
   * lost, or the provider answered without its own error body. Absent when the sending process died
   * mid-send (the end of its request is not known).
   */
  outcomeUnknownAt?: number;
}

/** The BullMQ lock a sending run holds on its job: a write-ahead mark is only taken while it holds it. */
export interface JobLockFence {
  /** `<prefix>:<queue>:<jobId>:lock` */
  readonly key: string;
  readonly token: string;
}

/** Where one outbound reply stands as a whole (see {@link DeliveryLedger.replyStatus}). */
export interface ReplyStatus {
  status: 'queued' | 'sent' | 'delivered' | 'read' | 'failed';
  error?: string;
  /** Set while the reply is held (the customer's window is closed; it goes out when they write again). */
  held?: true;
}

/** Progress of one outbound reply. */
export interface OutboundProgress {
  /** Parts recorded as sent; a retry resumes at this index. */
  sent: number;
  finished: boolean;
  outcome?: string;
  /** Set when part `sent` was attempted but its outcome is not recorded. */
  unconfirmed?: UnconfirmedPart;
  /** The hold episode of a held reply (outcome `held`). */
  heldEpisode?: number;
}

/**
 * Delivery state of outbound messages and progress of outbound replies.
 * Statuses arrive out of order and some never arrive; the ledger never downgrades.
 */
export class DeliveryLedger {
  readonly keys: GatewayKeys;
  private readonly redis: ScriptedRedis;

  constructor(redis: RedisClient, prefix: string) {
    this.keys = gatewayKeys(prefix);
    this.redis = loadScripts(redis);
  }

  /** Records a message the provider accepted. */
  async recordSent(channel: string, providerMessageId: string, info: { outboundId: string; part: number; conversationId: string }, at = Date.now()): Promise<void> {
    await this.redis.sbDeliverySent(this.keys.delivery(channel, providerMessageId), info.outboundId, info.part, info.conversationId, at, TTL_SEC);
  }

  /**
   * Applies a provider status (script `deliveryUpdate-1.lua`): monotonic, `failed` is terminal;
   * returns false when it would downgrade a newer one.
   */
  async applyStatus(channel: string, providerMessageId: string, status: DeliveryStatus, at: number, error?: string): Promise<boolean> {
    const applied = await this.redis.sbDeliveryUpdate(this.keys.delivery(channel, providerMessageId), status, DELIVERY_RANK[status], at, error ?? '', TTL_SEC);
    return applied === 1;
  }

  async get(channel: string, providerMessageId: string): Promise<DeliveryRecord | undefined> {
    const h = await this.redis.hgetall(this.keys.delivery(channel, providerMessageId));
    if (!h.status) return undefined;
    const rec: DeliveryRecord = { status: h.status as DeliveryStatus, at: Number(h.at ?? 0) };
    if (h.outboundId) rec.outboundId = h.outboundId;
    if (h.part !== undefined) rec.part = Number(h.part);
    if (h.conversationId) rec.conversationId = h.conversationId;
    if (h.error) rec.error = h.error;
    return rec;
  }

  /**
   * Where one outbound reply stands as a whole: `queued` until its first part is sent; then the
   * least advanced status of its sent parts (`accepted` counts as `sent`, `played` as `read`);
   * `failed` (with the provider's error) when a part failed or the reply gave up. Unknown → undefined.
   */
  async replyStatus(channel: string, outboundId: string, depth = 0): Promise<ReplyStatus | undefined> {
    const h = await this.redis.hgetall(this.keys.outbound(outboundId));
    // a held reply: `queued` and held until it is released; then the status of its release
    if (h.releasedAs && depth < 5) return (await this.replyStatus(channel, h.releasedAs, depth + 1)) ?? { status: 'queued' };
    if (h.outcome === 'held') return { status: 'queued', held: true };
    if (h.outcome?.startsWith('failed') || h.outcome?.startsWith('suppressed')) return { status: 'failed', error: h.outcome.replace(/^failed: /, '') };
    const sent = Number(h.sent ?? 0);
    if (sent === 0) return Object.keys(h).length === 0 ? undefined : { status: 'queued' };
    let worst: ReplyStatus = { status: 'read' };
    const order = { sent: 1, delivered: 2, read: 3 } as const;
    for (let i = 0; i < sent; i++) {
      const id = h[`p${i}`];
      const rec = id ? await this.get(channel, id) : undefined;
      if (rec?.status === 'failed') return { status: 'failed', ...(rec.error ? { error: rec.error } : {}) };
      const st = rec === undefined || rec.status === 'accepted' ? 'sent' : rec.status === 'played' ? 'read' : rec.status;
      if (order[st] < order[worst.status as keyof typeof order]) worst = { status: st };
    }
    return worst;
  }

  /** Parts of an outbound reply already sent (a retry resumes here) and the state of the next one. */
  async progress(outboundId: string): Promise<OutboundProgress> {
    const h = await this.redis.hgetall(this.keys.outbound(outboundId));
    const sent = Number(h.sent ?? 0);
    const out: OutboundProgress = { sent, finished: h.finished === '1' };
    if (h.outcome) out.outcome = h.outcome;
    if (h.heldEpisode) out.heldEpisode = Number(h.heldEpisode);
    const attemptAt = h[`t${sent}`];
    if (attemptAt !== undefined) {
      const pending: UnconfirmedPart = { index: sent, attemptAt: Number(attemptAt) };
      const ack = h[`a${sent}`];
      const since = h[`r${sent}`];
      const unknownAt = h[`u${sent}`];
      if (ack) pending.acknowledgedAs = ack;
      if (since !== undefined) pending.reconcilingSince = Number(since);
      if (unknownAt !== undefined) pending.outcomeUnknownAt = Number(unknownAt);
      out.unconfirmed = pending;
    }
    return out;
  }

  /**
   * Write-ahead mark before part `index` is handed to the provider: if the process dies or the
   * outcome is unknown, the next attempt reconciles the part instead of blindly sending it again.
   */
  async partAttempt(outboundId: string, index: number, at = Date.now()): Promise<void> {
    const key = this.keys.outbound(outboundId);
    await this.redis.multi().hset(key, `t${index}`, at).hdel(key, `r${index}`, `u${index}`).expire(key, OUTBOUND_TTL_SEC).exec();
  }

  /**
   * {@link partAttempt} taken only while `fence` (the sending job's BullMQ lock) is held by the
   * caller's token (script `partAttempt-2.lua`); false when it is not: another run of the job may
   * own it now, and this run must not send.
   */
  async partAttemptFenced(outboundId: string, index: number, fence: JobLockFence, at = Date.now()): Promise<boolean> {
    return (await this.redis.sbPartAttempt(this.keys.outbound(outboundId), fence.key, index, at, fence.token, OUTBOUND_TTL_SEC)) === 1;
  }

  /**
   * The attempt of part `index` ended without a known outcome (timeout, lost response, 5xx without
   * the provider's error body): from now on the provider can no longer take the part, so its
   * acknowledgement wait runs from here.
   */
  async partOutcomeUnknown(outboundId: string, index: number, at = Date.now()): Promise<void> {
    const key = this.keys.outbound(outboundId);
    await this.redis.multi().hset(key, `u${index}`, at).expire(key, OUTBOUND_TTL_SEC).exec();
  }

  /** The provider refused part `index` for sure (an error body): nothing to reconcile. */
  async partNotSent(outboundId: string, index: number): Promise<void> {
    await this.redis.hdel(this.keys.outbound(outboundId), `t${index}`, `r${index}`);
  }

  /** First time a retry found part `index` unconfirmed (kept until the part is attempted again). */
  async reconcileStarted(outboundId: string, index: number, at = Date.now()): Promise<number> {
    const key = this.keys.outbound(outboundId);
    const res = await this.redis.multi().hsetnx(key, `r${index}`, at).hget(key, `r${index}`).expire(key, OUTBOUND_TTL_SEC).exec();
    const since = res?.[1]?.[1];
    return typeof since === 'string' ? Number(since) : at;
  }

  /**
   * An unconfirmed part `index` is about to be sent again after its reconciliation wait (diagnostic
   * `n<index>`: when; kept with the reply's progress, read by the soak's latency breakdown).
   */
  async partResent(outboundId: string, index: number, at = Date.now()): Promise<void> {
    const key = this.keys.outbound(outboundId);
    await this.redis.multi().hset(key, `n${index}`, at).expire(key, OUTBOUND_TTL_SEC).exec();
  }

  /**
   * The provider acknowledged part `index` (WhatsApp: a status webhook whose
   * `biz_opaque_callback_data` names it): it was sent, whatever its sender recorded.
   */
  async partAcknowledged(outboundId: string, index: number, providerMessageId: string): Promise<void> {
    const key = this.keys.outbound(outboundId);
    await this.redis.multi().hsetnx(key, `a${index}`, providerMessageId).expire(key, OUTBOUND_TTL_SEC).exec();
  }

  /** Records that part `index` was sent. */
  async partSent(outboundId: string, index: number, providerMessageId?: string): Promise<void> {
    const key = this.keys.outbound(outboundId);
    if (providerMessageId) await this.redis.sbOutboundProgress(key, OUTBOUND_TTL_SEC, 'sent', index + 1, `p${index}`, providerMessageId);
    else await this.redis.sbOutboundProgress(key, OUTBOUND_TTL_SEC, 'sent', index + 1);
  }

  /** Marks a reply finished (sent, failed or suppressed) so later replies of the conversation may go. */
  async finish(outboundId: string, outcome: string): Promise<void> {
    await this.redis.sbOutboundProgress(this.keys.outbound(outboundId), OUTBOUND_TTL_SEC, 'finished', '1', 'outcome', outcome);
  }
}
