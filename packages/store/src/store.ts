import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Logger, ReadinessCheck } from '@switchboard/core';
import { migrateToLatest, type MigrationOutcome } from './migrate.js';
import type { Database } from './schema.js';
import { detectVectorMode, type VectorSupport } from './vector.js';

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** `postgres://…` (see `storeEnv.DATABASE_URL`). */
  readonly url: string;
  readonly log: Logger;
  /** Pool size of this process (`DATABASE_POOL_MAX`). */
  readonly poolMax?: number;
  /** Run pending migrations before returning (default true; every process that opens the store does). */
  readonly migrate?: boolean;
  /** Milliseconds to wait for a connection before a query fails (default 10 s). */
  readonly connectTimeoutMs?: number;
}

/** An open store: the typed query builder plus what start-up found out. */
export interface Store {
  /** Typed queries (Kysely over a `pg` pool). Everything goes through it: no SQL built from strings. */
  readonly db: Kysely<Database>;
  /** Whether pgvector is available (decided once at open). */
  readonly vector: VectorSupport;
  /** What the migrations did at open (undefined with `migrate: false`). */
  readonly migration: MigrationOutcome | undefined;
  /** `/readyz` check: undefined when a round trip works, else the reason. */
  readonly readiness: ReadinessCheck;
  /** Closes the pool (waits for queries in flight). */
  close(): Promise<void>;
}

/** `postgres://user:secret@host/db` → `postgres://user@host/db` (for logs and errors). */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return u.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

/**
 * Opens the store at `url`: a pool, pending migrations (unless `migrate: false`), the vector mode,
 * one log line saying which mode it runs in. Rejects when the database cannot be reached or a
 * migration fails, so a process does not start half-ready.
 */
export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolMax ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    // a server restart breaks idle connections; the pool drops them and the next query reconnects
    idleTimeoutMillis: 30_000,
  });
  pool.on('error', (err) => opts.log.warn('store connection lost', { err: err.message }));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    // the extension first: migrations add vector columns where it exists
    const vector = await detectVectorMode(db);
    const migration = opts.migrate === false ? undefined : await migrateToLatest(db);
    opts.log.info('store opened', {
      url: redactDatabaseUrl(opts.url),
      vectorMode: vector.mode,
      ...(vector.version ? { pgvector: vector.version } : {}),
      ...(vector.reason ? { vectorReason: vector.reason } : {}),
      ...(migration ? { schemaVersion: migration.schemaVersion, migrationsApplied: migration.applied } : {}),
    });
    return { db, vector, migration, readiness: () => checkStore(db), close: () => db.destroy() };
  } catch (err) {
    await db.destroy().catch(() => {});
    throw err;
  }
}

/**
 * One round trip (`select 1`) bounded by `timeoutMs`: undefined when it answers, else why not.
 * Suits `mountOpsRoutes({ checks: { store: () => checkStore(db) } })`.
 */
export async function checkStore<DB>(db: Kysely<DB>, timeoutMs = 2000): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((done) => {
    timer = setTimeout(() => done(`store did not answer within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    return await Promise.race([sql`select 1`.execute(db).then(() => undefined), timeout]);
  } catch (err) {
    return `store unreachable: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    clearTimeout(timer);
  }
}
