import type { ColumnType, Generated } from 'kysely';

/**
 * One row (id = 1) describing the store itself: the schema version reached by the migrations of
 * this build and when the store was first created.
 */
export interface StoreMetaTable {
  id: ColumnType<number, 1, never>;
  /** Number of migrations applied (see `migrations/index.ts`). */
  schema_version: number;
  created_at: ColumnType<Date, never, never>;
  updated_at: Generated<Date>;
}

/**
 * The store's tables as Kysely sees them. Each migration that adds a table adds its interface
 * here; migrations themselves use `Kysely<any>` so they never depend on a later shape.
 */
export interface Database {
  store_meta: StoreMetaTable;
}
