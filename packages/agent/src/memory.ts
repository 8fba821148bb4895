import type { Cluster, Redis } from 'ioredis';
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

/**
 * Appends a turn unless one of the last entries has the same id, trims to the last N turns and
 * refreshes the TTL, atomically (one key, so it is cluster-safe).
 */
const APPEND = `
local recent = redis.call('LRANGE', KEYS[1], -8, -1)
for _, v in ipairs(recent) do
  local ok, t = pcall(cjson.decode, v)
  if ok and type(t) == 'table' and t.id == ARGV[1] then return 0 end
end
redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[3]), -1)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return 1
`;

/** Conversation memory in Redis: a capped, expiring list of turns per conversation. */
export class ConversationMemory {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly keys: AgentKeys,
    private readonly opts: { maxTurns: number; ttlSeconds: number },
  ) {}

  /** The remembered turns, oldest first (at most `maxTurns`). Unreadable entries are skipped. */
  async history(conversationId: string): Promise<MemoryTurn[]> {
    if (this.opts.maxTurns === 0) return [];
    const raw = await this.redis.lrange(this.keys.memory(conversationId), -this.opts.maxTurns, -1);
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

  /** Appends a turn (idempotent by turn id). Returns false when it was already there or memory is off. */
  async append(conversationId: string, turn: MemoryTurn): Promise<boolean> {
    if (this.opts.maxTurns === 0) return false;
    const added = await this.redis.eval(
      APPEND,
      1,
      this.keys.memory(conversationId),
      turn.id,
      JSON.stringify(turn),
      String(this.opts.maxTurns),
      String(this.opts.ttlSeconds),
    );
    return added === 1;
  }

  /** Forgets a conversation. */
  async erase(conversationId: string): Promise<void> {
    await this.redis.del(this.keys.memory(conversationId));
  }
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
