import type { ChannelId, ReplyTemplate, TemplateComponentValue } from '@switchboard/core';
import { gatewayKeys } from './keys.js';
import type { RedisClient } from './redis.js';

/**
 * Broadcasts in Redis: one template to many recipients, stored in chunks (never one giant job), a
 * cursor of the recipients fed into the outbound path so far, each fed recipient's state, and the
 * progress counts, changed only by {@link BroadcastStore.transition} so every recipient is counted
 * in exactly one bucket.
 */

/** Recipients per stored chunk. */
export const BROADCAST_CHUNK = 1000;
/** How long a broadcast (and its counts) is kept after it was created. */
export const BROADCAST_TTL_SEC = 30 * 24 * 3600;

export type BroadcastStatus = 'scheduled' | 'running' | 'completed' | 'cancelled';

/** One stored recipient: the customer and the template's filled components for them. */
export interface BroadcastRecipient {
  readonly to: string;
  readonly components?: readonly TemplateComponentValue[];
  /** The same `to` appeared earlier in the list: counted as skipped (invalid), never sent twice. */
  readonly duplicate?: true;
}

/** What a broadcast is. */
export interface BroadcastMeta {
  readonly id: string;
  readonly channel: ChannelId;
  readonly accountId: string;
  readonly template: Pick<ReplyTemplate, 'name' | 'language'>;
  readonly status: BroadcastStatus;
  readonly total: number;
  /** Recipients fed (or skipped) so far; the next one is this index. */
  readonly cursor: number;
  /** When sending may start (ms). */
  readonly sendAt: number;
  readonly createdAt: number;
  /** Feeding tokens (recipients) and when they were last topped up (the runner's pacing). */
  readonly tokens: number;
  readonly fedAt: number;
}

/** A recipient's state: queued (fed), sent, delivered, read, cancelled, failed:<reason>, skipped:<reason>. */
export type RecipientState = 'q' | 's' | 'd' | 'r' | 'c' | `f:${string}` | `x:${string}`;

/** The progress counts `GET /api/v1/broadcasts/:id` answers. */
export interface BroadcastCounts {
  total: number;
  /** Not sent yet (waiting for their turn, or in the outbound queue). */
  queued: number;
  sent: number;
  delivered: number;
  read: number;
  failed: Record<string, number>;
  skipped: { opted_out: number; blocked: number; invalid: number } & Record<string, number>;
  /** Recipients not sent because the broadcast was cancelled. */
  cancelled: number;
}

// a recipient's state moves forward only: q → s → d → r; failed (f:…) and skipped (x:…) are final
// (failed may follow sent or delivered: a failed status after acceptance); cancelled only from q
const TRANSITION = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
local new = ARGV[2]
local rank = {q = 0, s = 1, d = 2, r = 3}
local function bucket(st)
  if st == 'q' then return nil end
  if st == 's' then return 'sent' end
  if st == 'd' then return 'delivered' end
  if st == 'r' then return 'read' end
  if st == 'c' then return 'cancelled' end
  if string.sub(st, 1, 1) == 'f' then return 'failed:' .. string.sub(st, 3) end
  return 'skipped:' .. string.sub(st, 3)
end
if old then
  local ro = rank[old]
  if ro == nil then return 0 end
  local rn = rank[new]
  if rn ~= nil and rn <= ro then return 0 end
  if new == 'c' and old ~= 'q' then return 0 end
  if rn == nil and new ~= 'c' and old == 'r' then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], new)
redis.call('EXPIRE', KEYS[1], ARGV[3])
if old then
  local ob = bucket(old)
  if ob then redis.call('HINCRBY', KEYS[2], ob, -1) end
end
local nb = bucket(new)
if nb then
  redis.call('HINCRBY', KEYS[2], nb, 1)
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end
return 1
`;

// the next `n` recipients, while the broadcast is scheduled or running (a cancelled one feeds nothing
// more); they are in flight from here on, so a runner that dies before feeding them leaves them found
const CLAIM = `
local h = redis.call('HMGET', KEYS[1], 'status', 'cursor', 'total')
if h[1] ~= 'scheduled' and h[1] ~= 'running' then return {-1, -1} end
local from = tonumber(h[2])
local to = math.min(tonumber(h[3]), from + tonumber(ARGV[1]))
redis.call('HSET', KEYS[1], 'cursor', to, 'status', 'running')
for i = from, to - 1 do redis.call('ZADD', KEYS[2], ARGV[2], i) end
redis.call('EXPIRE', KEYS[2], ARGV[3])
return {from, to}
`;

// cancels a scheduled or running broadcast: the recipients not fed yet are counted cancelled
const CANCEL = `
local h = redis.call('HMGET', KEYS[1], 'status', 'cursor', 'total')
if h[1] ~= 'scheduled' and h[1] ~= 'running' then return h[1] or '' end
local left = tonumber(h[3]) - tonumber(h[2])
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'cursor', h[3], 'cancelledAt', ARGV[1])
if left > 0 then
  redis.call('HINCRBY', KEYS[2], 'cancelled', left)
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
return 'cancelled'
`;

// a running broadcast is completed once every recipient is fed and none is in flight
const COMPLETE = `
local h = redis.call('HMGET', KEYS[1], 'status', 'cursor', 'total')
if h[1] ~= 'running' or tonumber(h[2]) < tonumber(h[3]) then return 0 end
if redis.call('ZCARD', KEYS[2]) > 0 then return 0 end
redis.call('HSET', KEYS[1], 'status', 'completed', 'completedAt', ARGV[1])
return 1
`;

/** Broadcasts, their recipients, states and counts (see the module comment). */
export class BroadcastStore {
  readonly keys: ReturnType<typeof gatewayKeys>['broadcast'];

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = gatewayKeys(prefix).broadcast;
  }

  /**
   * Stores a broadcast: the recipient chunks first, the broadcast itself last, so a half-written
   * one is invisible and writing it again (a retried request) overwrites it with the same values.
   */
  async create(b: { id: string; channel: ChannelId; accountId: string; template: Pick<ReplyTemplate, 'name' | 'language'>; recipients: readonly BroadcastRecipient[]; sendAt: number; createdAt: number; apiKey: string }): Promise<void> {
    const seen = new Set<string>();
    const marked = b.recipients.map((r) => {
      if (!seen.has(r.to)) {
        seen.add(r.to);
        return r;
      }
      return { ...r, duplicate: true as const };
    });
    for (let n = 0; n * BROADCAST_CHUNK < marked.length; n++) {
      await this.redis.set(this.keys.chunk(b.id, n), JSON.stringify(marked.slice(n * BROADCAST_CHUNK, (n + 1) * BROADCAST_CHUNK)), 'EX', BROADCAST_TTL_SEC);
    }
    const meta = this.keys.meta(b.id);
    const exists = await this.redis.exists(meta);
    if (exists) return;
    await this.redis
      .multi()
      .hset(meta, {
        channel: b.channel,
        accountId: b.accountId,
        template: JSON.stringify(b.template),
        status: 'scheduled',
        total: marked.length,
        cursor: 0,
        sendAt: b.sendAt,
        createdAt: b.createdAt,
        apiKey: b.apiKey,
        tokens: 0,
        fedAt: 0,
      })
      .expire(meta, BROADCAST_TTL_SEC)
      .exec();
  }

  async meta(id: string): Promise<BroadcastMeta | undefined> {
    const h = await this.redis.hgetall(this.keys.meta(id));
    if (!h.status) return undefined;
    return {
      id,
      channel: h.channel as ChannelId,
      accountId: h.accountId ?? 'default',
      template: JSON.parse(h.template ?? '{}') as Pick<ReplyTemplate, 'name' | 'language'>,
      status: h.status as BroadcastStatus,
      total: Number(h.total ?? 0),
      cursor: Number(h.cursor ?? 0),
      sendAt: Number(h.sendAt ?? 0),
      createdAt: Number(h.createdAt ?? 0),
      tokens: Number(h.tokens ?? 0),
      fedAt: Number(h.fedAt ?? 0),
    };
  }

  /** The counts of a broadcast of `total` recipients: every recipient is in exactly one bucket. */
  async counts(id: string, total: number): Promise<BroadcastCounts> {
    const h = await this.redis.hgetall(this.keys.counts(id));
    const out: BroadcastCounts = { total, queued: 0, sent: 0, delivered: 0, read: 0, failed: {}, skipped: { opted_out: 0, blocked: 0, invalid: 0 }, cancelled: 0 };
    let counted = 0;
    for (const [field, raw] of Object.entries(h)) {
      const n = Number(raw);
      if (!n) continue;
      counted += n;
      if (field === 'sent' || field === 'delivered' || field === 'read' || field === 'cancelled') out[field] = n;
      else if (field.startsWith('failed:')) out.failed[field.slice(7)] = n;
      else if (field.startsWith('skipped:')) out.skipped[field.slice(8)] = n;
    }
    out.queued = Math.max(0, total - counted);
    return out;
  }

  /** Claims the next `n` recipients for feeding (in flight from now on): `[from, to)`, or undefined when nothing is left or the broadcast stopped. */
  async claim(id: string, n: number, at = Date.now()): Promise<[number, number] | undefined> {
    const [from, to] = (await this.redis.eval(CLAIM, 2, this.keys.meta(id), this.keys.inflight(id), String(n), String(at), String(BROADCAST_TTL_SEC))) as [number, number];
    return from < 0 || to <= from ? undefined : [from, to];
  }

  /** Recipients `[from, to)`. */
  async recipients(id: string, from: number, to: number): Promise<BroadcastRecipient[]> {
    const out: BroadcastRecipient[] = [];
    for (let n = Math.floor(from / BROADCAST_CHUNK); n * BROADCAST_CHUNK < to; n++) {
      const raw = await this.redis.get(this.keys.chunk(id, n));
      const chunk = raw ? (JSON.parse(raw) as BroadcastRecipient[]) : [];
      chunk.forEach((r, i) => {
        const index = n * BROADCAST_CHUNK + i;
        if (index >= from && index < to) out.push(r);
      });
    }
    return out;
  }

  /** Moves recipient `index` to `state` if that is forward; true when it moved (the counts follow). */
  async transition(id: string, index: number, state: RecipientState): Promise<boolean> {
    return (await this.redis.eval(TRANSITION, 2, this.keys.states(id), this.keys.counts(id), String(index), state, String(BROADCAST_TTL_SEC))) === 1;
  }

  async state(id: string, index: number): Promise<RecipientState | undefined> {
    return ((await this.redis.hget(this.keys.states(id), String(index))) ?? undefined) as RecipientState | undefined;
  }

  /** Cancels a scheduled or running broadcast; returns the status it has now (or '' when unknown). */
  async cancel(id: string, at = Date.now()): Promise<string> {
    return (await this.redis.eval(CANCEL, 2, this.keys.meta(id), this.keys.counts(id), String(at), String(BROADCAST_TTL_SEC))) as string;
  }

  /** Completes a running broadcast whose recipients are all fed and none in flight; true when it did. */
  async completeIfDone(id: string, at = Date.now()): Promise<boolean> {
    return (await this.redis.eval(COMPLETE, 2, this.keys.meta(id), this.keys.inflight(id), String(at))) === 1;
  }

  /** Recipients in flight (claimed, not finished), oldest claim first, with when they were claimed. */
  async inflight(id: string, limit: number): Promise<Array<{ index: number; at: number }>> {
    const flat = await this.redis.zrange(this.keys.inflight(id), 0, limit - 1, 'WITHSCORES');
    const out: Array<{ index: number; at: number }> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ index: Number(flat[i]), at: Number(flat[i + 1]) });
    return out;
  }

  async inflightCount(id: string): Promise<number> {
    return this.redis.zcard(this.keys.inflight(id));
  }

  async doneInflight(id: string, indexes: readonly number[]): Promise<void> {
    if (indexes.length > 0) await this.redis.zrem(this.keys.inflight(id), ...indexes.map(String));
  }

  /** Stores the runner's pacing state. */
  async setPacing(id: string, tokens: number, fedAt: number): Promise<void> {
    await this.redis.hset(this.keys.meta(id), 'tokens', tokens, 'fedAt', fedAt);
  }
}

/** The outbound id of recipient `index` of broadcast `id`: deterministic, so a retry never sends twice. */
export function broadcastOutboundId(id: string, index: number): string {
  return `bc-${id}-${index}`;
}

/** The broadcast and recipient an outbound id names, if it is a broadcast's. */
export function parseBroadcastOutboundId(outboundId: string): { id: string; index: number } | undefined {
  const m = /^bc-([a-z0-9]{1,40})-(\d{1,7})$/.exec(outboundId);
  return m ? { id: m[1]!, index: Number(m[2]) } : undefined;
}
