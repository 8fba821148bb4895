import { randomBytes } from 'node:crypto';
import type { RedisClient } from './redis.js';
import { loadScripts } from './lua-scripts.js';

/**
 * A lease on a Redis key held by one owner token: only the owner can renew or release it, and it
 * lapses on its own `ttlMs` after the owner stops renewing (a crashed holder frees it).
 */
export interface Lock {
  readonly key: string;
  readonly token: string;
  readonly ttlMs: number;
  /** Extends the lease to `ttlMs` from now; false when the lock was lost (expired or taken). */
  renew(ttlMs?: number): Promise<boolean>;
  /** Releases the lock if this owner still holds it (compare-and-delete); false when it was lost. */
  release(): Promise<boolean>;
  /**
   * Renews the lease every `ttlMs / 3` while this process lives (a heartbeat that never keeps the
   * event loop alive); returns the function that stops it.
   */
  keepAlive(intervalMs?: number): () => void;
}

/** A fresh owner token. */
export function lockToken(): string {
  return randomBytes(8).toString('hex');
}

/**
 * The handle of a lock already held by `token` (taken by {@link acquireLock}, or inside a script
 * that sets the key to the token).
 */
export function heldLock(redis: RedisClient, key: string, token: string, ttlMs: number): Lock {
  const r = loadScripts(redis);
  return {
    key,
    token,
    ttlMs,
    renew: async (ms = ttlMs) => (await r.sbLockRenew(key, token, ms)) === 1,
    release: async () => (await r.sbCompareAndDelete(key, token)) === 1,
    keepAlive: (intervalMs = Math.max(100, Math.floor(ttlMs / 3))) => {
      const timer = setInterval(() => void r.sbLockRenew(key, token, ttlMs).catch(() => undefined), intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}

/** Takes the lock `key` for `ttlMs` (SET NX PX with a fresh owner token); undefined when someone else holds it. */
export async function acquireLock(redis: RedisClient, key: string, ttlMs: number): Promise<Lock | undefined> {
  const token = lockToken();
  const ok = await redis.set(key, token, 'PX', ttlMs, 'NX');
  return ok === 'OK' ? heldLock(redis, key, token, ttlMs) : undefined;
}

/** Deletes `key` only if it still holds `expected`; true when it did. */
export async function compareAndDelete(redis: RedisClient, key: string, expected: string): Promise<boolean> {
  return (await loadScripts(redis).sbCompareAndDelete(key, expected)) === 1;
}
