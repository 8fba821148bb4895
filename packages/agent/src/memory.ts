import type { Cluster, Redis } from 'ioredis';
import { loadScripts } from '@switchboard/queue';
import type { AgentKeys } from './keys.js';

/** One remembered exchange: what the customer said (rendered) and what was answered. */
export interface MemoryTurn {
  /** Turn id; appending the same turn twice is a no-op. */
  id: string;
  at: number;
  user: string;
  assistant: string | null;
  source: string;
}

/** Conversation memory in Redis: a capped, expiring list of turns per conversation. */
export class ConversationMemory {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly keys: AgentKeys,
    private readonly opts: { maxTurns: number; ttlSeconds: number; maxHistoryChars: number },
  ) {}

  /** The remembered turns, oldest first (at most `maxTurns`). Unreadable entries are skipped. */
  async history(conversationId: string): Promise<MemoryTurn[]> {
    if (this.opts.maxTurns === 0) return [];
    return parseTurns(await this.redis.lrange(this.keys.memory(conversationId), -this.opts.maxTurns, -1));
  }

  /**
   * Appends a turn (idempotent by turn id; script `memoryAppend-1.lua`: one key, cluster-safe). `added` is false when it was already there or memory
   * is off; `full` tells whether the list may be past the window (then call {@link takeOverflow}).
   */
  async append(conversationId: string, turn: MemoryTurn): Promise<{ added: boolean; full: boolean }> {
    if (this.opts.maxTurns === 0) return { added: false, full: false };
    const [added, length, bytes] = await loadScripts(this.redis).sbMemoryAppend(
      this.keys.memory(conversationId),
      turn.id,
      JSON.stringify(turn),
      this.opts.maxTurns * 2 + 10,
      this.opts.ttlSeconds,
    );
    // Bytes of JSON over-estimate characters, so `full` may be a false alarm, never a miss.
    return { added: added === 1, full: added === 1 && (length > this.opts.maxTurns || bytes > this.opts.maxHistoryChars) };
  }

  /**
   * When the list is beyond `maxTurns` or the `maxHistoryChars` budget, removes the oldest turns
   * (always keeping the newest) and returns them, oldest first, for summarising. The worker runs one turn per
   * conversation at a time, so there is a single writer.
   */
  async takeOverflow(conversationId: string): Promise<MemoryTurn[]> {
    if (this.opts.maxTurns === 0) return [];
    const key = this.keys.memory(conversationId);
    const all = (await this.redis.lrange(key, 0, -1)).map((raw) => {
      try {
        return JSON.parse(raw) as MemoryTurn;
      } catch {
        return undefined;
      }
    });
    const size = (t: MemoryTurn | undefined) => (t ? t.user.length + (t.assistant?.length ?? 0) : 0);
    let chars = all.reduce((sum, t) => sum + size(t), 0);
    if (all.length <= this.opts.maxTurns && chars <= this.opts.maxHistoryChars) return [];
    // Once over the window, make room for a few more turns so the summary call runs about once
    // every `slack + 1` turns rather than after every turn.
    const slack = Math.min(4, Math.floor(this.opts.maxTurns / 4));
    const keepTurns = Math.max(1, this.opts.maxTurns - slack);
    const keepChars = Math.floor(this.opts.maxHistoryChars * 0.75);
    let k = 0;
    while (all.length - k > 1 && (all.length - k > keepTurns || chars > keepChars)) {
      chars -= size(all[k]);
      k += 1;
    }
    await this.redis.ltrim(key, k, -1);
    return all.slice(0, k).filter((t): t is MemoryTurn => t !== undefined && typeof t.user === 'string');
  }

  /** The running summary of turns that left the window. */
  async summary(conversationId: string): Promise<string | undefined> {
    return (await this.redis.get(this.keys.summary(conversationId))) ?? undefined;
  }

  /** Replaces the running summary (same TTL as the turns). */
  async setSummary(conversationId: string, summary: string): Promise<void> {
    await this.redis.set(this.keys.summary(conversationId), summary, 'EX', this.opts.ttlSeconds);
  }
}

/** Remembered turns as stored (JSON), oldest first; unreadable entries are skipped. */
export function parseTurns(raw: readonly string[]): MemoryTurn[] {
  const turns: MemoryTurn[] = [];
  for (const item of raw) {
    try {
      const t = JSON.parse(item) as MemoryTurn;
      if (typeof t.user === 'string') turns.push(t);
    } catch {
      // a corrupt entry must not break the conversation; it ages out with the list
    }
  }
  return turns;
}

/** Keeps the newest turns whose rendered size fits `maxChars` (a rough token budget). */
export function fitHistory(turns: MemoryTurn[], maxChars: number): MemoryTurn[] {
  const kept: MemoryTurn[] = [];
  let used = 0;
  for (let i = turns.length - 1; i >= 0; i -= 1) {
    const t = turns[i];
    if (!t) continue;
    const size = t.user.length + (t.assistant?.length ?? 0);
    if (used + size > maxChars) break;
    used += size;
    kept.unshift(t);
  }
  return kept;
}
