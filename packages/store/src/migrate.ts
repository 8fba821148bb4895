import { Migrator, type Kysely, type MigrationResult } from 'kysely';
import type { Database } from './schema.js';
import { migrations } from './migrations/index.js';

/** Tables where the migrator records what ran and holds its lock row. */
export const MIGRATION_TABLE = 'store_migration';
export const MIGRATION_LOCK_TABLE = 'store_migration_lock';

/** The schema version this build migrates to (the number of migrations it ships). */
export const SCHEMA_VERSION = Object.keys(migrations).length;

/** What {@link migrateToLatest} did. */
export interface MigrationOutcome {
  /** Names of the migrations this call applied (empty when the store was up to date). */
  readonly applied: readonly string[];
  /** Schema version after the call. */
  readonly schemaVersion: number;
}

/** Raised when a migration fails; the failed migration's transaction was rolled back. */
export class MigrationError extends Error {
  readonly migration: string | undefined;
  constructor(migration: string | undefined, cause: unknown) {
    super(`store migration ${migration ?? '(setup)'} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'MigrationError';
    this.migration = migration;
  }
}

/**
 * Applies every pending migration in one transaction. Safe to call from many processes at once:
 * Kysely's PostgreSQL adapter takes a session advisory lock around the run, so a second caller
 * waits, then finds nothing to do. Idempotent: a store already at {@link SCHEMA_VERSION} is left
 * as it is. A database with migrations this build does not know (a newer build ran) is refused.
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<MigrationOutcome> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...migrations }) },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw new MigrationError(results?.find((r: MigrationResult) => r.status === 'Error')?.migrationName, error);
  const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  // outside the migration transaction, so re-checked on every start rather than only after a change
  await db
    .updateTable('store_meta')
    .set({ schema_version: SCHEMA_VERSION, updated_at: new Date() })
    .where('id', '=', 1)
    .where('schema_version', '<>', SCHEMA_VERSION)
    .execute();
  return { applied, schemaVersion: SCHEMA_VERSION };
}
