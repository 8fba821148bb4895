import type { Cluster, Redis } from 'ioredis';
import { loadScripts } from '@switchboard/queue';
import type { AgentKeys } from './keys.js';

/** Consecutive failed turns per conversation, for the automatic handoff after repeated LLM failures. */
export class FailureCounter {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly keys: AgentKeys,
    private readonly windowSeconds: number,
  ) {}

  /** Records a failed turn (idempotent per turn; script `failureRecord-1.lua`) and returns how many failed turns in a row. */
  async record(conversationId: string, turnId: string): Promise<number> {
    const n = await loadScripts(this.redis).sbFailureRecord(this.keys.failures(conversationId), `t:${turnId}`, this.windowSeconds);
    return typeof n === 'number' ? n : Number(n);
  }

  /** A successful turn ends the streak. */
  async reset(conversationId: string): Promise<void> {
    await this.redis.del(this.keys.failures(conversationId));
  }
}
