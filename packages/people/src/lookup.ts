import type { PersonIdentifier } from '@switchboard/core';
import type { PeopleDirectory } from './directory.js';
import type { Person } from './person.schema.js';

/** Who a sender is: the directory look-up the worker makes once per turn. */
export interface PeopleLookup {
  /** The person of `account` owning any of `identifiers`, or undefined. */
  find(account: string, identifiers: readonly PersonIdentifier[]): Promise<Person | undefined>;
  /** Forgets cached answers (after a write in this process). */
  invalidate(): void;
}

/**
 * A {@link PeopleLookup} over the directory with an in-process cache of `ttlMs` (PEOPLE_CACHE_TTL_MS):
 * a busy conversation asks the store about its sender at most once per TTL, unknown senders
 * included. At most `maxEntries` answers are kept (the oldest go first). Concurrent look-ups of
 * the same sender share one query. A store failure is not cached: it rejects.
 */
export class CachedPeopleLookup implements PeopleLookup {
  private readonly entries = new Map<string, { at: number; person: Promise<Person | undefined> }>();

  constructor(
    private readonly directory: Pick<PeopleDirectory, 'findByIdentifiers'>,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  find(account: string, identifiers: readonly PersonIdentifier[]): Promise<Person | undefined> {
    if (identifiers.length === 0) return Promise.resolve(undefined);
    const key = `${account}\n${identifiers.map((i) => `${i.kind}:${i.value}`).sort().join('\n')}`;
    const hit = this.entries.get(key);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.person;
    const person = this.directory.findByIdentifiers(account, identifiers);
    if (this.ttlMs > 0) {
      this.entries.delete(key);
      this.entries.set(key, { at: this.now(), person });
      person.catch(() => this.entries.delete(key));
      while (this.entries.size > this.maxEntries) {
        const oldest = this.entries.keys().next().value;
        if (oldest === undefined) break;
        this.entries.delete(oldest);
      }
    }
    return person;
  }

  invalidate(): void {
    this.entries.clear();
  }
}
