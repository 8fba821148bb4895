import type { Cluster, Redis } from 'ioredis';
import type { AgentKeys } from './keys.js';
import { normalize } from './text.js';

/** What the agent knows about a customer across conversations. */
export interface CustomerProfile {
  name?: string;
  language?: string;
  /** Facts the customer stated ("shoe size 44", "prefers e-mail"), oldest first. */
  facts: string[];
  updatedAt: number;
}

/** Changes to apply to a profile after a turn. */
export interface ProfileUpdate {
  name?: string | undefined;
  language?: string | undefined;
  facts?: string[] | undefined;
}

/**
 * Customer profiles in Redis (one JSON value per customer, expiring `retentionDays` after the last
 * update). Facts are de-duplicated case/accent-insensitively and capped, newest kept.
 */
export class ProfileStore {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly keys: AgentKeys,
    private readonly opts: { retentionDays: number; maxFacts: number },
  ) {}

  /** The profile, or undefined. */
  async get(customerId: string): Promise<CustomerProfile | undefined> {
    return parseProfile(await this.redis.get(this.keys.profile(customerId)));
  }

  /** Merges an update (idempotent: the same facts twice are stored once) and refreshes retention. */
  async update(customerId: string, update: ProfileUpdate, now: number): Promise<CustomerProfile> {
    const current = (await this.get(customerId)) ?? { facts: [], updatedAt: now };
    const facts = [...current.facts];
    for (const fact of update.facts ?? []) {
      const f = fact.trim().slice(0, 300);
      if (!f) continue;
      const key = normalize(f);
      const existing = facts.findIndex((x) => normalize(x) === key);
      if (existing >= 0) facts.splice(existing, 1);
      facts.push(f);
    }
    const next: CustomerProfile = {
      ...current,
      ...(update.name?.trim() ? { name: update.name.trim() } : {}),
      ...(update.language ? { language: update.language } : {}),
      facts: facts.slice(-this.opts.maxFacts),
      updatedAt: now,
    };
    await this.redis.set(this.keys.profile(customerId), JSON.stringify(next), 'EX', this.opts.retentionDays * 86_400);
    return next;
  }
}

/** A profile as stored (JSON), or undefined when absent or unreadable. */
export function parseProfile(raw: string | null | undefined): CustomerProfile | undefined {
  if (!raw) return undefined;
  try {
    const p = JSON.parse(raw) as CustomerProfile;
    return { ...p, facts: Array.isArray(p.facts) ? p.facts.filter((f) => typeof f === 'string') : [] };
  } catch {
    return undefined;
  }
}

/** The profile as lines for the system prompt. */
export function describeProfile(p: CustomerProfile | undefined): string | undefined {
  if (!p || (!p.facts.length && !p.language)) return undefined;
  const lines = ['What this customer told us before (use it when relevant, do not recite it):'];
  if (p.language) lines.push(`- Usual language: ${p.language}`);
  for (const f of p.facts) lines.push(`- ${f}`);
  return lines.join('\n');
}
