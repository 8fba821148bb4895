import type { Cluster, Redis } from 'ioredis';
import type { AgentKeys } from './keys.js';

/** Counts a failed turn once (by turn id) and returns the conversation's count. One key: cluster-safe. */
const RECORD = `
if redis.call('HSETNX', KEYS[1], ARGV[1], '1') == 1 then
  redis.call('HINCRBY', KEYS[1], 'count', 1)
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return tonumber(redis.call('HGET', KEYS[1], 'count'))
`;

/** Consecutive failed turns per conversation, for the automatic handoff after repeated LLM failures. */
export class FailureCounter {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly keys: AgentKeys,
    private readonly windowSeconds: number,
  ) {}

  /** Records a failed turn (idempotent per turn) and returns how many failed turns in a row. */
  async record(conversationId: string, turnId: string): Promise<number> {
    const n = await this.redis.eval(RECORD, 1, this.keys.failures(conversationId), `t:${turnId}`, String(this.windowSeconds));
    return typeof n === 'number' ? n : Number(n);
  }

  /** A successful turn ends the streak. */
  async reset(conversationId: string): Promise<void> {
    await this.redis.del(this.keys.failures(conversationId));
  }
}
