import type { Cluster, Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { AgentKeys } from './keys.js';

/** What to do with a turn: answer it, send the one rate-limit notice, or stay silent. */
export type RateDecision = 'allow' | 'notice' | 'silent';

/**
 * Per-customer turn rate limit (rate-limiter-flexible on Redis). The decision is stored per turn,
 * so a retried turn gets the same answer and does not consume again; the notice is sent once per
 * window, later excess turns are silent.
 */
export class CustomerRateLimiter {
  private readonly limiter: RateLimiterRedis;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly keys: AgentKeys,
    opts: { points: number; durationSeconds: number },
  ) {
    this.limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: keys.rateLimiterPrefix(),
      points: opts.points,
      duration: opts.durationSeconds,
    });
  }

  /** Consumes one point for the customer's turn (once per turn id) and returns the decision. */
  async decide(customerId: string, turnId: string): Promise<RateDecision> {
    const decisionKey = this.keys.rateDecision(customerId, turnId);
    const previous = await this.redis.get(decisionKey);
    if (previous === 'allow' || previous === 'notice' || previous === 'silent') return previous;
    let decision: RateDecision = 'allow';
    try {
      await this.limiter.consume(customerId, 1);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      const windowMs = Math.max(1000, err.msBeforeNext);
      const first = await this.redis.set(this.keys.rateNotice(customerId), '1', 'PX', windowMs, 'NX');
      decision = first === 'OK' ? 'notice' : 'silent';
    }
    const stored = await this.redis.set(decisionKey, decision, 'EX', 3600, 'NX');
    if (stored !== 'OK') {
      const raced = await this.redis.get(decisionKey);
      if (raced === 'allow' || raced === 'notice' || raced === 'silent') return raced;
    }
    return decision;
  }
}
