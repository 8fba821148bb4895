import { sql, type Kysely } from 'kysely';

/** How similarity search runs: pgvector (with HNSW indexes) or without it, ranking another way. */
export type VectorMode = 'pgvector' | 'plain';

/** Result of {@link detectVectorMode}. */
export interface VectorSupport {
  readonly mode: VectorMode;
  /** pgvector's version when available. */
  readonly version?: string;
  /** Why the mode is 'plain' (the server's error), for the start-up log. */
  readonly reason?: string;
}

/**
 * Makes pgvector available when the server has it: `CREATE EXTENSION IF NOT EXISTS vector`
 * (needs the extension's files on the server and, before PostgreSQL 13's trusted extensions, a
 * superuser). An extension someone else created counts too. Anything else → 'plain'.
 */
export async function detectVectorMode(db: Kysely<any>): Promise<VectorSupport> {
  let reason: string | undefined;
  try {
    await sql`create extension if not exists vector`.execute(db);
  } catch (err) {
    reason = err instanceof Error ? err.message : String(err);
  }
  const row = await sql<{ extversion: string }>`select extversion from pg_extension where extname = 'vector'`.execute(db);
  const version = row.rows[0]?.extversion;
  if (version) return { mode: 'pgvector', version };
  return { mode: 'plain', reason: reason ?? 'the vector extension is not installed' };
}
