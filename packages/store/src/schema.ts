import type { ColumnType, Generated, RawBuilder } from 'kysely';

/** A SQL expression written into a column (e.g. `sql\`to_tsvector('simple', ${terms})\``). */
type RawBuilderLike = RawBuilder<unknown>;

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

/** A knowledge document: an account's (`account`) or every account's (null). */
export interface KbDocumentTable {
  id: string;
  account: string | null;
  title: string;
  source_kind: 'file' | 'url' | 'text' | 'sitemap';
  url: string | null;
  filename: string | null;
  mime_type: string | null;
  status: ColumnType<'pending' | 'ready' | 'failed', 'pending' | 'ready' | 'failed' | undefined>;
  error: string | null;
  content_hash: string | null;
  chunk_count: ColumnType<number, number | undefined>;
  created_at: ColumnType<Date, never, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

/** One chunk of a document, with its full-text terms and embedding. */
export interface KbChunkTable {
  id: Generated<string>;
  document_id: string;
  account: string | null;
  idx: number;
  heading: string;
  text: string;
  /** A tsvector: written with `to_tsvector('simple', …)`, read only by ranking queries. */
  terms: ColumnType<string, RawBuilderLike, never>;
  content_hash: string;
  embedding: number[] | null;
}

/** What a document is read from (upload bytes, text, crawl options) and its last fetch's validators. */
export interface KbSourceTable {
  document_id: string;
  body: Buffer | null;
  text: string | null;
  options: ColumnType<Record<string, unknown>, Record<string, unknown> | undefined, Record<string, unknown>>;
  etag: string | null;
  last_modified: string | null;
  checked_at: Date | null;
}

/** Computed embeddings by content hash, model and dimension count. */
export interface KbEmbeddingCacheTable {
  content_hash: string;
  model: string;
  dimensions: number;
  embedding: number[];
  created_at: ColumnType<Date, never, never>;
}

/**
 * The store's tables as Kysely sees them. Each migration that adds a table adds its interface
 * here; migrations themselves use `Kysely<any>` so they never depend on a later shape.
 */
export interface Database {
  store_meta: StoreMetaTable;
  kb_document: KbDocumentTable;
  kb_chunk: KbChunkTable;
  kb_embedding_cache: KbEmbeddingCacheTable;
  kb_source: KbSourceTable;
}
