import { z } from 'zod';
import { int, optional } from '@switchboard/core';

/**
 * Environment fragment of the data store. `DATABASE_URL` is optional here because `pnpm start`
 * fills it with the embedded store's URL when unset; a process that needs the store and finds no
 * URL says so at start (see {@link requireDatabaseUrl}).
 */
export const storeEnv = {
  /** `postgres://user:pass@host:port/db` (PostgreSQL 14+; pgvector used when the extension is available). */
  DATABASE_URL: optional(),
  /** Connections per process in the pool. */
  DATABASE_POOL_MAX: int(10, 1),
};

/** Parsed values of {@link storeEnv}. */
export type StoreEnv = z.infer<z.ZodObject<typeof storeEnv>>;

/** The database URL, or a message that says how to get one. */
export function requireDatabaseUrl(env: Pick<StoreEnv, 'DATABASE_URL'>): string {
  if (env.DATABASE_URL) return env.DATABASE_URL;
  throw new Error('DATABASE_URL is not set: point it at a PostgreSQL database, or start with `pnpm start`, which runs an embedded store under .data/store');
}
