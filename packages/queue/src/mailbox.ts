import type { RedisClient } from './redis.js';
import { gatewayKeys, type GatewayKeys } from './keys.js';
import { loadScripts, type ScriptedRedis } from './lua-scripts.js';
import type { ContactNote } from './contacts.js';
import type { ChannelEventKeys } from './stats.js';

export type BeginResult =
  | { state: 'run' | 'resume'; count: number; /** The turn's messages as stored (the mailbox's first `count`), read in the same step. */ messages: string[] }
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

/**
 * Per-conversation mailboxes (scripts `mailbox*.lua`) and turn scheduling (see docs/architecture.md, "Turns").
 * Invariants: an event is appended at most once per dedupe horizon; at most one turn per
 * conversation is pending or running; a turn's messages leave the mailbox only when it finishes.
 */
export class Mailbox {
  readonly keys: GatewayKeys;
  private readonly redis: ScriptedRedis;

  constructor(redis: RedisClient, prefix: string, readonly opts: MailboxOptions = DEFAULT_MAILBOX_OPTIONS) {
    this.keys = gatewayKeys(prefix);
    this.redis = loadScripts(redis);
  }

  /** Claims `eventId` and appends the event; returns whether it was new and which turn seq must be scheduled. */
  async accept(conversationId: string, eventId: string, eventJson: string, now = Date.now()): Promise<{ claimed: boolean; scheduleSeq: number }> {
    const [claimed, seq] = await this.redis.sbMailboxAccept(
      this.keys.seen(eventId), this.keys.mailbox(conversationId), this.keys.turn(conversationId),
      eventJson, this.opts.dedupeTtlSec, now, this.opts.staleRunMs, STATE_TTL_SEC, 1,
    );
    return { claimed: claimed === 1, scheduleSeq: seq };
  }

  /**
   * {@link accept} with, in the same script call (`customerAccept`), the customer's contact note
   * and, when the event was new, its inbound count: the ingress's acceptance in one round trip.
   */
  async acceptCustomer(conversationId: string, eventId: string, eventJson: string, contact: ContactNote, counted: ChannelEventKeys, now = Date.now()): Promise<{ claimed: boolean; scheduleSeq: number }> {
    const [claimed, seq] = await this.redis.sbCustomerAccept(
      this.keys.seen(eventId), this.keys.mailbox(conversationId), this.keys.turn(conversationId), contact.key, counted.total, counted.own, counted.accounts,
      eventJson, this.opts.dedupeTtlSec, now, this.opts.staleRunMs, STATE_TTL_SEC,
      contact.refJson, contact.sentAtMs, contact.referral, contact.ttlSec, counted.member, counted.ttlSec,
    );
    return { claimed: claimed === 1, scheduleSeq: seq };
  }

  /** Re-checks scheduling without appending (used to repair a lost turn job). */
  async ensureScheduled(conversationId: string, now = Date.now()): Promise<number> {
    const [, seq] = await this.redis.sbMailboxAccept(
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
    const [state, n, ...messages] = await this.redis.sbMailboxBegin(
      this.keys.mailbox(conversationId), this.keys.turn(conversationId), seq, now, this.opts.debounceMs, this.opts.maxWaitMs,
    );
    switch (state) {
      case 'run':
      case 'resume':
        return { state, count: n, messages };
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
      const result = await this.redis.sbMailboxReplace(
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
    return this.redis.sbMailboxAbandon(this.keys.mailbox(conversationId), this.keys.turn(conversationId), seq);
  }

  /** Ends a turn; returns the next seq to schedule (0 none, -1 not the owner). */
  async finish(conversationId: string, seq: number): Promise<number> {
    return this.redis.sbMailboxFinish(this.keys.mailbox(conversationId), this.keys.turn(conversationId), seq);
  }
}
