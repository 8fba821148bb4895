import type { RedisClient } from './redis.js';
import { gatewayKeys, type GatewayKeys } from './keys.js';

/**
 * accept: atomically claim a provider event and append it to its conversation's mailbox, then make
 * sure exactly one turn is scheduled. Claim and append are one step so a crash can neither lose a
 * claimed event nor append it twice.
 * KEYS: seen, mailbox, turn. ARGV: eventJson, dedupeTtlSec, nowMs, staleRunMs, stateTtlSec, append(1|0)
 * Returns { claimed (1|0), seqToSchedule (0 = none needed) }.
 */
const ACCEPT = `
local claimed = 0
if ARGV[6] == '1' then
  if redis.call('SET', KEYS[1], '1', 'NX', 'EX', tonumber(ARGV[2])) then
    claimed = 1
    redis.call('RPUSH', KEYS[2], ARGV[1])
    if redis.call('HEXISTS', KEYS[3], 'first') == 0 then redis.call('HSET', KEYS[3], 'first', ARGV[3]) end
    redis.call('HSET', KEYS[3], 'last', ARGV[3])
  end
end
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[5]))
local pending = redis.call('HGET', KEYS[3], 'pending')
if pending then return {claimed, tonumber(pending)} end
local running = redis.call('HGET', KEYS[3], 'running')
if running then
  local since = tonumber(redis.call('HGET', KEYS[3], 'since') or ARGV[3])
  if tonumber(ARGV[3]) - since < tonumber(ARGV[4]) then return {claimed, 0} end
  -- the running turn's worker is gone for good (job failed or lost): its messages are still in the mailbox
  redis.call('HDEL', KEYS[3], 'running', 'count', 'since')
end
if redis.call('LLEN', KEYS[2]) == 0 then return {claimed, 0} end
local seq = redis.call('HINCRBY', KEYS[3], 'seq', 1)
redis.call('HSET', KEYS[3], 'pending', seq)
return {claimed, seq}
`;

/**
 * begin: a turn job starts. KEYS: mailbox, turn. ARGV: seq, nowMs, debounceMs, maxWaitMs.
 * Returns {state, n}: run/resume (n = messages in the turn), wait (n = due ms), stale (n = pending seq), busy.
 */
const BEGIN = `
local running = redis.call('HGET', KEYS[2], 'running')
if running then
  if tonumber(running) == tonumber(ARGV[1]) then
    return {'resume', tonumber(redis.call('HGET', KEYS[2], 'count') or '0')}
  end
  return {'busy', tonumber(running)}
end
local pending = redis.call('HGET', KEYS[2], 'pending')
if (not pending) or tonumber(pending) ~= tonumber(ARGV[1]) then
  return {'stale', tonumber(pending or '0')}
end
local now = tonumber(ARGV[2])
local first = tonumber(redis.call('HGET', KEYS[2], 'first') or ARGV[2])
local last = tonumber(redis.call('HGET', KEYS[2], 'last') or ARGV[2])
local due = math.min(last + tonumber(ARGV[3]), first + tonumber(ARGV[4]))
if due > now then return {'wait', due} end
local count = redis.call('LLEN', KEYS[1])
redis.call('HSET', KEYS[2], 'running', ARGV[1], 'count', count, 'since', ARGV[2])
redis.call('HDEL', KEYS[2], 'pending', 'first', 'last')
return {'run', count}
`;

/**
 * finish: a turn is done; drop its messages and schedule the next turn if more arrived meanwhile.
 * KEYS: mailbox, turn. ARGV: seq. Returns the next seq to schedule, 0 for none, -1 if this turn no longer owns the conversation.
 */
const FINISH = `
local running = redis.call('HGET', KEYS[2], 'running')
if (not running) or tonumber(running) ~= tonumber(ARGV[1]) then return -1 end
local count = tonumber(redis.call('HGET', KEYS[2], 'count') or '0')
if count > 0 then redis.call('LTRIM', KEYS[1], count, -1) end
redis.call('HDEL', KEYS[2], 'running', 'count', 'since')
if redis.call('LLEN', KEYS[1]) > 0 then
  local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
  redis.call('HSET', KEYS[2], 'pending', seq)
  return seq
end
return 0
`;

/**
 * abandon: the running turn `seq` failed for good. Its messages stay in the mailbox (nothing is
 * lost) and the conversation is released at once instead of after the stale-run timeout; when the
 * mailbox is not empty a new turn is scheduled. KEYS: mailbox, turn. ARGV: seq.
 * Returns the seq to schedule, 0 for none, -1 if `seq` was not running.
 */
const ABANDON = `
local running = redis.call('HGET', KEYS[2], 'running')
if (not running) or tonumber(running) ~= tonumber(ARGV[1]) then return -1 end
redis.call('HDEL', KEYS[2], 'running', 'count', 'since')
if redis.call('HEXISTS', KEYS[2], 'pending') == 1 then return tonumber(redis.call('HGET', KEYS[2], 'pending')) end
if redis.call('LLEN', KEYS[1]) > 0 then
  local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
  redis.call('HSET', KEYS[2], 'pending', seq)
  return seq
end
return 0
`;

/**
 * replace: swap one message of the pending (not yet running) part of a mailbox for its edited
 * version, compare-and-set. KEYS: seen (the edit's event id), mailbox, turn.
 * ARGV: index, expectedJson, newJson, dedupeTtlSec, nowMs.
 * Returns 1 replaced, 0 the entry moved or is in the running turn (caller re-reads or appends), -1 the edit was already seen.
 */
const REPLACE = `
local start = 0
if redis.call('HEXISTS', KEYS[3], 'running') == 1 then start = tonumber(redis.call('HGET', KEYS[3], 'count') or '0') end
local idx = tonumber(ARGV[1])
if idx < start then return 0 end
if redis.call('LINDEX', KEYS[2], idx) ~= ARGV[2] then return 0 end
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', tonumber(ARGV[4])) then return -1 end
redis.call('LSET', KEYS[2], idx, ARGV[3])
if redis.call('HEXISTS', KEYS[3], 'pending') == 1 then redis.call('HSET', KEYS[3], 'last', ARGV[5]) end
return 1
`;

export type BeginResult =
  | { state: 'run' | 'resume'; count: number }
  | { state: 'wait'; dueAt: number }
  | { state: 'stale'; pendingSeq: number }
  | { state: 'busy'; runningSeq: number };

export interface MailboxOptions {
  /** How long a provider event id is remembered (WhatsApp retries for 7 days). */
  dedupeTtlSec: number;
  /** Wait this long after the last message of a burst before answering. */
  debounceMs: number;
  /** Never wait longer than this after the first message of a burst. */
  maxWaitMs: number;
  /** A running turn older than this is presumed dead when new messages arrive. */
  staleRunMs: number;
}

export const DEFAULT_MAILBOX_OPTIONS: MailboxOptions = {
  dedupeTtlSec: 7 * 24 * 3600,
  debounceMs: 1500,
  maxWaitMs: 6000,
  staleRunMs: 15 * 60_000,
};

/** Conversation turn state lives 30 days after the last message, longer than any retained job id. */
const STATE_TTL_SEC = 30 * 24 * 3600;

type Scripted = RedisClient & {
  sbAccept(...args: Array<string | number>): Promise<[number, number]>;
  sbBegin(...args: Array<string | number>): Promise<[string, number]>;
  sbFinish(...args: Array<string | number>): Promise<number>;
  sbAbandon(...args: Array<string | number>): Promise<number>;
  sbReplace(...args: Array<string | number>): Promise<number>;
};

/**
 * Per-conversation mailboxes and turn scheduling (see docs/architecture.md, "Turns").
 * Invariants: an event is appended at most once per dedupe horizon; at most one turn per
 * conversation is pending or running; a turn's messages leave the mailbox only when it finishes.
 */
export class Mailbox {
  readonly keys: GatewayKeys;
  private readonly redis: Scripted;

  constructor(redis: RedisClient, prefix: string, readonly opts: MailboxOptions = DEFAULT_MAILBOX_OPTIONS) {
    this.keys = gatewayKeys(prefix);
    const r = redis as Scripted;
    if (typeof r.sbAccept !== 'function') {
      r.defineCommand('sbAccept', { numberOfKeys: 3, lua: ACCEPT });
      r.defineCommand('sbBegin', { numberOfKeys: 2, lua: BEGIN });
      r.defineCommand('sbFinish', { numberOfKeys: 2, lua: FINISH });
      r.defineCommand('sbAbandon', { numberOfKeys: 2, lua: ABANDON });
      r.defineCommand('sbReplace', { numberOfKeys: 3, lua: REPLACE });
    }
    this.redis = r;
  }

  /** Claims `eventId` and appends the event; returns whether it was new and which turn seq must be scheduled. */
  async accept(conversationId: string, eventId: string, eventJson: string, now = Date.now()): Promise<{ claimed: boolean; scheduleSeq: number }> {
    const [claimed, seq] = await this.redis.sbAccept(
      this.keys.seen(eventId), this.keys.mailbox(conversationId), this.keys.turn(conversationId),
      eventJson, this.opts.dedupeTtlSec, now, this.opts.staleRunMs, STATE_TTL_SEC, 1,
    );
    return { claimed: claimed === 1, scheduleSeq: seq };
  }

  /** Re-checks scheduling without appending (used to repair a lost turn job). */
  async ensureScheduled(conversationId: string, now = Date.now()): Promise<number> {
    const [, seq] = await this.redis.sbAccept(
      this.keys.seen('-'), this.keys.mailbox(conversationId), this.keys.turn(conversationId),
      '', this.opts.dedupeTtlSec, now, this.opts.staleRunMs, STATE_TTL_SEC, 0,
    );
    return seq;
  }

  /** Marks a provider event seen without queuing it (statuses, signals); true if it was new. */
  async claim(eventId: string, ttlSec = this.opts.dedupeTtlSec): Promise<boolean> {
    return (await this.redis.set(this.keys.seen(eventId), '1', 'EX', ttlSec, 'NX')) === 'OK';
  }

  async begin(conversationId: string, seq: number, now = Date.now()): Promise<BeginResult> {
    const [state, n] = await this.redis.sbBegin(
      this.keys.mailbox(conversationId), this.keys.turn(conversationId), seq, now, this.opts.debounceMs, this.opts.maxWaitMs,
    );
    switch (state) {
      case 'run':
      case 'resume':
        return { state, count: n };
      case 'wait':
        return { state, dueAt: n };
      case 'stale':
        return { state, pendingSeq: n };
      default:
        return { state: 'busy', runningSeq: n };
    }
  }

  /** The first `count` messages of the mailbox (the current turn's), as stored. */
  async peek(conversationId: string, count: number): Promise<string[]> {
    if (count <= 0) return [];
    return this.redis.lrange(this.keys.mailbox(conversationId), 0, count - 1);
  }

  /**
   * Replaces the message `originalProviderMessageId` while it waits in the pending turn (not yet
   * running) with `edit(storedJson)`, claiming `editEventId` in the same step. 'not_pending' when
   * the original is not there (already answered, running, or unknown): the caller then delivers
   * the edit as a new message. A concurrent turn start or finish is detected and re-read.
   */
  async replacePending(
    conversationId: string,
    originalProviderMessageId: string,
    editEventId: string,
    edit: (storedJson: string) => string,
    now = Date.now(),
  ): Promise<'replaced' | 'duplicate' | 'not_pending'> {
    const mailbox = this.keys.mailbox(conversationId);
    for (let attempt = 0; attempt < 3; attempt++) {
      const entries = await this.redis.lrange(mailbox, 0, -1);
      const index = entries.findIndex((raw) => {
        try {
          return (JSON.parse(raw) as { providerMessageId?: unknown }).providerMessageId === originalProviderMessageId;
        } catch {
          return false;
        }
      });
      if (index < 0) return 'not_pending';
      const stored = entries[index] as string;
      const result = await this.redis.sbReplace(
        this.keys.seen(editEventId), mailbox, this.keys.turn(conversationId),
        index, stored, edit(stored), this.opts.dedupeTtlSec, now,
      );
      if (result === 1) return 'replaced';
      if (result === -1) return 'duplicate';
      // 0: the entry is in the running turn, or the list moved under us (a turn finished): re-read
    }
    return 'not_pending';
  }

  /** Releases a conversation whose running turn failed for good; returns the seq to schedule (0 none, -1 not running). */
  async abandon(conversationId: string, seq: number): Promise<number> {
    return this.redis.sbAbandon(this.keys.mailbox(conversationId), this.keys.turn(conversationId), seq);
  }

  /** Ends a turn; returns the next seq to schedule (0 none, -1 not the owner). */
  async finish(conversationId: string, seq: number): Promise<number> {
    return this.redis.sbFinish(this.keys.mailbox(conversationId), this.keys.turn(conversationId), seq);
  }
}
