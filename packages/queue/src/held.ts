import type { OutboundJob } from '@switchboard/core';
import { conversationId } from '@switchboard/core';
import type { GatewayKeys } from './keys.js';
import { loadScripts, type ScriptedRedis } from './lua-scripts.js';
import type { RedisClient } from './redis.js';

/**
 * Replies held while a customer's free-form window is closed (WhatsApp: 24 h after their last
 * message). Per conversation, in order, bounded; a hold episode starts with the first held reply
 * and ends when the customer writes (every held reply is released, in order, once) or when the
 * last one expires. Every step is one Lua script (`heldAdd-4`, `heldRelease-3`, `heldExpire-3`),
 * idempotent per reply, release tag or expired reply, so retried jobs and redelivered webhooks
 * hold, release and expire each reply once.
 */

/** Why a reply was held. */
export type HoldCause = 'window_closed' | 'send_refused' | 'status_failed';

/** One held reply as stored. */
export interface HeldEntry {
  /** The reply's outbound job (its place `after` is dropped: it gets a new one when released). */
  readonly job: Omit<OutboundJob, 'after'>;
  readonly heldAt: number;
  readonly cause: HoldCause;
}

/** A released reply: its entry and the first part not yet delivered. */
export interface ReleasedReply {
  readonly entry: HeldEntry;
  readonly fromPart: number;
}

/** What {@link HeldReplies.hold} did. */
export type HoldOutcome =
  /** Held now (the reply's first hold) or before (a retry, a redelivered status); `episode` names the hold episode. */
  | { readonly outcome: 'held' | 'already'; readonly episode: number }
  /** The conversation holds the most replies already: this one is not held. */
  | { readonly outcome: 'full' };

/** Options of one hold. */
export interface HoldOptions {
  /** The first part not yet delivered (a retry of the released reply starts there). */
  readonly fromPart: number;
  /** Where the reply goes among the held ones (ms: when it was meant to go out). */
  readonly order: number;
  readonly cause: HoldCause;
  readonly maxPerConversation: number;
  readonly ttlMs: number;
  readonly now?: number;
}

const DAY_SEC = 24 * 3600;

/** The outbound id a released reply is sent under (a new reply: the held one stays finished as `released`). */
export function releasedOutboundId(outboundId: string): string {
  return `rel-${outboundId}`;
}

/** The held replies of every conversation (see the module comment). */
export class HeldReplies {
  private readonly redis: ScriptedRedis;

  constructor(
    redis: RedisClient,
    private readonly keys: GatewayKeys,
  ) {
    this.redis = loadScripts(redis);
  }

  /** Holds a reply (idempotent per outbound id) and marks its progress `held`. */
  async hold(job: OutboundJob, opts: HoldOptions): Promise<HoldOutcome> {
    const convId = conversationId(job.ref);
    const { after: _after, ...rest } = job;
    const entry: HeldEntry = { job: rest, heldAt: opts.now ?? Date.now(), cause: opts.cause };
    const keyTtlSec = Math.ceil(opts.ttlMs / 1000) + 7 * DAY_SEC;
    const [episode, state] = await this.redis.sbHeldAdd(
      this.keys.held.index(convId),
      this.keys.held.state(convId),
      this.keys.outbound(job.outboundId),
      this.keys.held.due(),
      job.outboundId,
      JSON.stringify(entry),
      opts.order,
      opts.fromPart,
      opts.maxPerConversation,
      Math.max(1, Math.round(opts.ttlMs)),
      keyTtlSec,
      convId,
      keyTtlSec,
    );
    if (state === -1) return { outcome: 'full' };
    return { outcome: state === 1 ? 'held' : 'already', episode };
  }

  /**
   * Releases every held reply of a conversation in order (idempotent per `tag`: a retried caller
   * gets the same list; `fresh` only the first time).
   */
  async release(convId: string, tag: string): Promise<{ readonly fresh: boolean; readonly replies: readonly ReleasedReply[] }> {
    const [fresh, list] = await this.redis.sbHeldRelease(this.keys.held.index(convId), this.keys.held.state(convId), this.keys.held.due(), tag, convId);
    return { fresh: fresh === 1, replies: list ? (JSON.parse(list) as ReleasedReply[]) : [] };
  }

  /**
   * Prepares a released reply's new outbound id (it starts at the first part not yet delivered)
   * and points the held reply at it (`releasedAs`, followed by `replyStatus`). Idempotent.
   */
  async markReleased(outboundId: string, fromPart: number): Promise<string> {
    const next = releasedOutboundId(outboundId);
    const ttl = 7 * DAY_SEC;
    const m = this.redis.multi();
    if (fromPart > 0) m.hsetnx(this.keys.outbound(next), 'sent', fromPart).expire(this.keys.outbound(next), ttl);
    await m.hset(this.keys.outbound(outboundId), 'releasedAs', next, 'outcome', 'released').expire(this.keys.outbound(outboundId), ttl).exec();
    return next;
  }

  /** Conversations whose oldest held reply is due to expire (or whose expiries are not recorded yet). */
  async due(now: number, limit = 100): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.held.due(), '-inf', now, 'LIMIT', 0, limit);
  }

  /** Expires a conversation's held replies older than their ttl; returns every expired reply whose record is pending. */
  async expire(convId: string, now: number): Promise<Array<{ readonly outboundId: string; readonly entry: HeldEntry }>> {
    const flat = await this.redis.sbHeldExpire(this.keys.held.index(convId), this.keys.held.state(convId), this.keys.held.due(), convId, now);
    const out: Array<{ outboundId: string; entry: HeldEntry }> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ outboundId: flat[i]!, entry: JSON.parse(flat[i + 1]!) as HeldEntry });
    return out;
  }

  /** The expired reply is recorded: true for the one caller that settles it. */
  async expiryRecorded(convId: string, outboundId: string): Promise<boolean> {
    return (await this.redis.hdel(this.keys.held.state(convId), `x:${outboundId}`)) === 1;
  }

  /** Outbound ids held in a conversation now, oldest first. */
  async list(convId: string): Promise<string[]> {
    return this.redis.zrange(this.keys.held.index(convId), 0, -1);
  }
}
