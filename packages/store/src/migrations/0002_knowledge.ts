import { sql, type Kysely } from 'kysely';

// Migrations are frozen once released: change the schema with a new file, never by editing one.

/**
 * Knowledge: documents (an account's or everyone's) and their chunks with full-text terms (a
 * `simple` tsvector of the terms `@switchboard/knowledge` makes: words, CJK unigrams and bigrams)
 * and an embedding. Embeddings are kept as `real[]` in every mode; where pgvector exists a
 * `vector` column mirrors them for the HNSW index (created per dimension count at start).
 */
export async function up(db: Kysely<any> /* eslint-disable-line @typescript-eslint/no-explicit-any -- a migration must not depend on today's schema type (Kysely's migration convention) */): Promise<void> {
  await db.schema
    .createTable('kb_document')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account', 'text')
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('source_kind', 'text', (c) => c.notNull().check(sql`source_kind in ('file', 'url', 'text', 'sitemap')`))
    .addColumn('url', 'text')
    .addColumn('filename', 'text')
    .addColumn('mime_type', 'text')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending').check(sql`status in ('pending', 'ready', 'failed')`))
    .addColumn('error', 'text')
    .addColumn('content_hash', 'text')
    .addColumn('chunk_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('kb_document_account').on('kb_document').column('account').execute();

  await db.schema
    .createTable('kb_chunk')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('document_id', 'text', (c) => c.notNull().references('kb_document.id').onDelete('cascade'))
    .addColumn('account', 'text')
    .addColumn('idx', 'integer', (c) => c.notNull())
    .addColumn('heading', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('terms', sql`tsvector`, (c) => c.notNull())
    .addColumn('content_hash', 'text', (c) => c.notNull())
    .addColumn('embedding', sql`real[]`)
    .addUniqueConstraint('kb_chunk_document_idx', ['document_id', 'idx'])
    .execute();
  await db.schema.createIndex('kb_chunk_terms').on('kb_chunk').using('gin').column('terms').execute();
  await db.schema.createIndex('kb_chunk_account').on('kb_chunk').column('account').execute();

  const vector = await sql<{ n: number }>`select count(*)::int as n from pg_extension where extname = 'vector'`.execute(db);
  if ((vector.rows[0]?.n ?? 0) > 0) await sql`alter table kb_chunk add column embedding_v vector`.execute(db);

  /** Embeddings already computed, by content hash and model (re-ingesting unchanged text costs nothing). */
  await db.schema
    .createTable('kb_embedding_cache')
    .addColumn('content_hash', 'text', (c) => c.notNull())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('dimensions', 'integer', (c) => c.notNull())
    .addColumn('embedding', sql`real[]`, (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('kb_embedding_cache_pk', ['content_hash', 'model', 'dimensions'])
    .execute();
}

export async function down(db: Kysely<any> /* eslint-disable-line @typescript-eslint/no-explicit-any -- a migration must not depend on today's schema type (Kysely's migration convention) */): Promise<void> {
  await db.schema.dropTable('kb_embedding_cache').execute();
  await db.schema.dropTable('kb_chunk').execute();
  await db.schema.dropTable('kb_document').execute();
}
