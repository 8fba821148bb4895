import type { ConversationRef } from '@switchboard/core';
import type { RedisClient } from './redis.js';
import { gatewayKeys } from './keys.js';
import { loadScripts } from './lua-scripts.js';

/**
 * Small operational counters and indexes for the admin overview. Everything lives under the
 * queue prefix (so a hash-tagged prefix keeps it in one Redis Cluster slot) and expires on its own.
 */

/** Direction of a counted event: a customer message in, a message part sent out. */
export type EventDirection = 'in' | 'out';

/** Per-minute buckets are kept this long, a little more than the hour the overview shows. */
const BUCKET_TTL_SEC = 2 * 3600;
/** How long a human-owned conversation stays listed without activity (same as the owner key's TTL). */
const OWNER_TTL_SEC = 30 * 24 * 3600;

const minuteOf = (ms: number) => Math.floor(ms / 60_000);

/** The account `recordChannelEvent` counts under when given a bare channel (the channel's environment account). */
const DEFAULT_ACCOUNT = 'default';

/**
 * Where an event happened: a channel and the gateway account serving it (`accountId` absent =
 * `default`). A `ConversationRef` or an inbound event's `conversation` fits as is.
 */
export interface StatsScope {
  readonly channel: string;
  readonly accountId?: string | undefined;
}

function statKey(prefix: string, channel: string, direction: EventDirection, minute: number): string {
  return gatewayKeys(prefix).stats(channel, direction, minute);
}

function ownersKey(prefix: string): string {
  return gatewayKeys(prefix).owners();
}

/** The keys one counted event touches (see {@link recordChannelEvent}), for scripts that count in the same call. */
export interface ChannelEventKeys {
  /** The channel's bucket of the minute. */
  readonly total: string;
  /** The account's bucket of the minute. */
  readonly own: string;
  /** The index of counted accounts, and this account's member in it. */
  readonly accounts: string;
  readonly member: string;
  /** Every one of them expires this long after its last event. */
  readonly ttlSec: number;
}

/** Where an event of `scope` in `direction` at `now` is counted. */
export function channelEventKeys(prefix: string, scope: string | StatsScope, direction: EventDirection, now: number): ChannelEventKeys {
  const channel = typeof scope === 'string' ? scope : scope.channel;
  const accountId = (typeof scope === 'string' ? undefined : scope.accountId) ?? DEFAULT_ACCOUNT;
  const keys = gatewayKeys(prefix);
  const minute = minuteOf(now);
  return {
    total: keys.stats(channel, direction, minute),
    own: keys.accountStats(channel, accountId, direction, minute),
    accounts: keys.statsAccounts(),
    member: `${channel}/${accountId}`,
    ttlSec: BUCKET_TTL_SEC,
  };
}

/**
 * Counts `n` events of a channel's account in the current minute: the channel's total and the
 * account's own bucket (INCRBY + EXPIRE each) and the account in the index of counted accounts, in
 * one script call (`channelEventCount-3.lua`). A bare channel counts for its `default` account.
 * Call it where an event becomes certain: a customer message accepted by the inbound role, a part
 * accepted by the provider in the outbound role.
 */
export async function recordChannelEvent(redis: RedisClient, prefix: string, scope: string | StatsScope, direction: EventDirection, n = 1, now = Date.now()): Promise<void> {
  if (n <= 0) return;
  const k = channelEventKeys(prefix, scope, direction, now);
  await loadScripts(redis).sbChannelEventCount(k.total, k.own, k.accounts, n, now, k.member, k.ttlSec);
}

/** Sums (or lists) the last `minutes` per-minute buckets named by `keyOf`, current minute included. */
async function readBuckets(redis: RedisClient, keyOf: (minute: number) => string, minutes: number, now: number): Promise<number[]> {
  const current = minuteOf(now);
  // one GET per bucket in a pipeline rather than MGET, so it also works on a Cluster without a hash tag
  const pipe = redis.pipeline();
  for (let m = current - minutes + 1; m <= current; m++) pipe.get(keyOf(m));
  const results = (await pipe.exec()) ?? [];
  return results.map(([err, value]) => (err || value === null ? 0 : Number(value) || 0));
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Events of one channel (all its accounts) and direction in the last `minutes` minutes (current minute included). */
export async function countChannelEvents(redis: RedisClient, prefix: string, channel: string, direction: EventDirection, minutes = 60, now = Date.now()): Promise<number> {
  return sum(await readBuckets(redis, (m) => statKey(prefix, channel, direction, m), minutes, now));
}

/** Events of one account of a channel and direction in the last `minutes` minutes (current minute included). */
export async function countAccountEvents(redis: RedisClient, prefix: string, channel: string, accountId: string, direction: EventDirection, minutes = 60, now = Date.now()): Promise<number> {
  return sum(await readBuckets(redis, (m) => gatewayKeys(prefix).accountStats(channel, accountId, direction, m), minutes, now));
}

/**
 * Accounts with events counted in the last two hours (while their buckets live), oldest entries
 * dropped as they are found. Sorted by channel, then account id.
 */
export async function listCountedAccounts(redis: RedisClient, prefix: string, now = Date.now()): Promise<Array<{ channel: string; accountId: string }>> {
  const key = gatewayKeys(prefix).statsAccounts();
  await redis.zremrangebyscore(key, '-inf', now - BUCKET_TTL_SEC * 1000);
  const members = await redis.zrange(key, 0, -1);
  return members
    .map((m) => {
      const slash = m.indexOf('/');
      return { channel: m.slice(0, slash), accountId: m.slice(slash + 1) };
    })
    .filter((a) => a.channel !== '' && a.accountId !== '')
    .sort((a, b) => a.channel.localeCompare(b.channel) || a.accountId.localeCompare(b.accountId));
}

/** Per-minute series (oldest first) for a small sparkline. */
export async function channelEventSeries(redis: RedisClient, prefix: string, channel: string, direction: EventDirection, minutes = 60, now = Date.now()): Promise<number[]> {
  return readBuckets(redis, (m) => statKey(prefix, channel, direction, m), minutes, now);
}

/** Who owns a conversation. */
export type ConversationOwner = 'human' | 'bot';

/** What the owner key of a human-owned conversation holds. */
export interface OwnerRecord {
  owner: 'human';
  reason: string;
  at: number;
  /** The gateway account serving the conversation, when the writer knew it (absent = `default`). */
  accountId?: string;
  /** When the bot takes the conversation back without human activity (ms; absent = never, until handed back). */
  until?: number;
  /** The conversation's reference, when the writer knew it (so an expiry can be recorded and mirrored). */
  ref?: ConversationRef;
}

/** Options of a human owner record ({@link setConversationOwner}). */
export interface HumanOwnerOptions {
  /** When the bot takes the conversation back without human activity (ms); absent = never. */
  readonly untilMs?: number | undefined;
  /** The conversation's reference (kept in the record for the resume). */
  readonly ref?: ConversationRef | undefined;
}

/**
 * Sets a conversation's owner: `human` writes `gatewayKeys(prefix).owner(id)` (30 days) and lists
 * the conversation in the owners index; `bot` deletes both. One atomic step, so the index never lists
 * a conversation whose owner key was not written. This is the one function every writer of the
 * owner key should call (worker handoff/signals, admin take over/hand back); `accountId` (the
 * conversation's gateway account) is shown by the admin overview. `opts.untilMs` (human only) is when
 * the bot takes the conversation back without human activity: the conversation is listed in the
 * resume-due index and {@link resumeDueConversations} hands it back; a later expiry already stored
 * is kept (activity extends, never shortens); absent = no expiry.
 * @returns the expiry kept (ms), or undefined when none
 */
export async function setConversationOwner(
  redis: RedisClient,
  prefix: string,
  conversationId: string,
  owner: ConversationOwner,
  reason: string,
  now = Date.now(),
  accountId?: string,
  opts: HumanOwnerOptions = {},
): Promise<number | undefined> {
  const keys = gatewayKeys(prefix);
  const key = keys.owner(conversationId);
  if (owner === 'bot') {
    await redis.multi().del(key).zrem(ownersKey(prefix), conversationId).zrem(keys.resumeDue(), conversationId).exec();
    return undefined;
  }
  const record: OwnerRecord = { owner: 'human', reason, at: now, ...(accountId && accountId !== DEFAULT_ACCOUNT ? { accountId } : {}), ...(opts.ref ? { ref: opts.ref } : {}) };
  const untilMs = opts.untilMs;
  const until = untilMs !== undefined && Number.isFinite(untilMs) && untilMs > 0 ? Math.round(untilMs) : 0;
  const kept = await loadScripts(redis).sbOwnerHuman(key, ownersKey(prefix), keys.resumeDue(), conversationId, JSON.stringify(record), now, until, OWNER_TTL_SEC);
  return kept > 0 ? kept : undefined;
}

/** A conversation the bot took back because its human ownership expired. */
export interface ResumedConversation {
  readonly conversationId: string;
  /** The owner record it had (reason, account, `until`). */
  readonly record: OwnerRecord;
}

/**
 * Hands back to the bot every conversation whose human ownership expired (`until` ≤ `now`), at
 * most `limit` per call. Each one is resumed by one script that checks the owner record was not
 * renewed in the meantime (a renewed one is re-scheduled), so concurrent sweepers resume it once.
 */
export async function resumeDueConversations(redis: RedisClient, prefix: string, now = Date.now(), limit = 100): Promise<ResumedConversation[]> {
  const keys = gatewayKeys(prefix);
  const due = await redis.zrangebyscore(keys.resumeDue(), '-inf', now, 'LIMIT', 0, limit);
  const scripted = loadScripts(redis);
  const out: ResumedConversation[] = [];
  for (const id of due) {
    const [resumed, raw] = await scripted.sbOwnerResume(keys.owner(id), ownersKey(prefix), keys.resumeDue(), id, now);
    if (resumed !== 1 || raw === undefined) continue;
    out.push({ conversationId: id, record: ownerRecordOf(raw) });
  }
  return out;
}

function ownerRecordOf(raw: string): OwnerRecord {
  try {
    const parsed = JSON.parse(raw) as Partial<OwnerRecord>;
    return {
      owner: 'human',
      reason: String(parsed.reason ?? ''),
      at: Number(parsed.at ?? 0),
      ...(typeof parsed.accountId === 'string' ? { accountId: parsed.accountId } : {}),
      ...(typeof parsed.until === 'number' ? { until: parsed.until } : {}),
      ...(parsed.ref && typeof parsed.ref === 'object' ? { ref: parsed.ref } : {}),
    };
  } catch {
    return { owner: 'human', reason: raw, at: 0 };
  }
}

/** Reads a conversation's owner (`bot` when the owner key is absent). */
export async function getConversationOwner(redis: RedisClient, prefix: string, conversationId: string): Promise<{ owner: ConversationOwner; record?: OwnerRecord }> {
  const raw = await redis.get(gatewayKeys(prefix).owner(conversationId));
  if (raw === null) return { owner: 'bot' };
  return { owner: 'human', record: ownerRecordOf(raw) };
}

/**
 * Conversations currently owned by a human, newest first. Index entries whose owner key expired or
 * was deleted without the index are dropped as they are found.
 */
export async function listHumanOwned(redis: RedisClient, prefix: string, limit = 100): Promise<Array<{ conversationId: string; reason: string; at: number; accountId: string }>> {
  const ids = await redis.zrevrange(ownersKey(prefix), 0, Math.max(0, limit - 1));
  if (ids.length === 0) return [];
  const pipe = redis.pipeline();
  for (const id of ids) pipe.get(gatewayKeys(prefix).owner(id));
  const values = (await pipe.exec()) ?? [];
  const out: Array<{ conversationId: string; reason: string; at: number; accountId: string }> = [];
  const gone: string[] = [];
  ids.forEach((id, i) => {
    const [err, raw] = values[i] ?? [null, null];
    if (err || typeof raw !== 'string') {
      if (!err) gone.push(id);
      return;
    }
    let reason = raw;
    let at = 0;
    let accountId = DEFAULT_ACCOUNT;
    try {
      const parsed = JSON.parse(raw) as Partial<OwnerRecord>;
      reason = String(parsed.reason ?? '');
      at = Number(parsed.at ?? 0);
      if (typeof parsed.accountId === 'string' && parsed.accountId !== '') accountId = parsed.accountId;
    } catch {
      // a writer that stored plain text: show it as the reason
    }
    out.push({ conversationId: id, reason, at, accountId });
  });
  if (gone.length > 0) await redis.zrem(ownersKey(prefix), ...gone);
  return out;
}
