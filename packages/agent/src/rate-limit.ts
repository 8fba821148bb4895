import type { Cluster, Redis } from 'ioredis';
import { loadScripts } from '@switchboard/queue';
import type { AgentKeys } from './keys.js';

/** What to do with a turn: answer it, send the one rate-limit notice, or stay silent. */
export type RateDecision = 'allow' | 'notice' | 'silent';

/** How long a turn's decision is kept (a retried turn within it gets the same answer). */
const DECISION_TTL_SEC = 3600;

/**
 * Per-customer turn rate limit on Redis, one script call per turn (`rateDecide-3.lua`): the
 * decision is stored per turn, so a retried turn gets the same answer and does not consume again;
 * the notice is sent once per window, later excess turns are silent. The window counter keeps
 * rate-limiter-flexible's key and format (`<prefix>:<customer>`, an integer expiring with the
 * window), so counters of a running deployment carry over.
 */
export class CustomerRateLimiter {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly keys: AgentKeys,
    private readonly opts: { points: number; durationSeconds: number },
  ) {}

  /** Consumes one point for the customer's turn (once per turn id) and returns the decision. */
  async decide(customerId: string, turnId: string): Promise<RateDecision> {
    const decision = await loadScripts(this.redis).sbRateDecide(
      this.keys.rateDecision(customerId, turnId),
      `${this.keys.rateLimiterPrefix()}:${customerId}`,
      this.keys.rateNotice(customerId),
      this.opts.points,
      this.opts.durationSeconds,
      DECISION_TTL_SEC,
    );
    return decision === 'notice' || decision === 'silent' ? decision : 'allow';
  }
}
