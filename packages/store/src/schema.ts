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

/** A conversation of the record (id = the pipeline's `conversationId`). */
export interface RecConversationTable {
  id: string;
  channel: string;
  /** The gateway account (`default` = the channel's environment variables). */
  account_id: ColumnType<string, string | undefined>;
  /** The provider's account (phone number id, open_kfid, bot id, Chatwoot account). */
  provider_account: string;
  customer_id: string;
  thread_id: string | null;
  customer_name: string | null;
  owner: ColumnType<'bot' | 'human', 'bot' | 'human' | undefined>;
  handoff_reason: string | null;
  /** True once a human has owned or answered the conversation (containment = never). */
  had_human: ColumnType<boolean, boolean | undefined>;
  first_message_at: Date;
  last_message_at: Date;
  message_count: ColumnType<number, number | undefined>;
  created_at: ColumnType<Date, never, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

/** Media metadata of a recorded message (never the bytes). */
export interface RecMedia {
  kind: string;
  mimeType?: string;
  sizeBytes?: number;
  filename?: string;
}

/** One message of the record, either direction; one row per sent part. */
export interface RecMessageTable {
  /** `in:<eventId>` for received messages, `out:<outboundId>:<part>` for sent parts. */
  id: string;
  conversation_id: string;
  direction: 'in' | 'out';
  author: 'customer' | 'bot' | 'human';
  /** What produced a sent message: agent, human, notice, fallback, welcome, api. */
  origin: string | null;
  content_type: string;
  text: ColumnType<string, string | undefined>;
  /** What the customer's media said: a voice transcript or a document's extracted text (bounded); searched with `text`. */
  media_text: ColumnType<string | null, string | null | undefined>;
  /** A `simple` tsvector of `searchTerms(text)` and `media_text` (English and Chinese search). */
  terms: ColumnType<string, RawBuilderLike, RawBuilderLike>;
  media: RecMedia | null;
  provider_message_id: string | null;
  turn_id: string | null;
  at: Date;
  created_at: ColumnType<Date, never, never>;
}

/** A delivery status of a sent message, kept per status event (order independent). */
export interface RecStatusTable {
  id: string;
  channel: string;
  account_id: ColumnType<string, string | undefined>;
  provider_message_id: string;
  status: string;
  error_code: number | null;
  error_title: string | null;
  at: Date;
}

/** A conversation-level event: handoff (with reason), resume, opt-out, erasure of a part… */
export interface RecEventTable {
  id: string;
  conversation_id: string;
  kind: string;
  detail: ColumnType<Record<string, unknown>, Record<string, unknown> | undefined, Record<string, unknown>>;
  at: Date;
}

/**
 * An erased customer: the writer drops entries of that customer dated at or before `erased_at`
 * (a job in flight during the erasure). `customer_hash` = the sha256
 * of channel, gateway account and customer id; never the id itself.
 */
export interface RecErasureTable {
  customer_hash: string;
  erased_at: Date;
  created_at: ColumnType<Date, never, never>;
}

/** Outcome of one bot turn. */
export type RecTurnOutcome = 'answered' | 'faq' | 'cache' | 'apology' | 'refused' | 'silent' | 'handoff';

/** One bot turn: model, latency, tokens, cost, tools and knowledge sources used, outcome. */
export interface RecTurnTable {
  id: string;
  conversation_id: string;
  at: Date;
  outcome: RecTurnOutcome;
  model: string | null;
  variant: string | null;
  latency_ms: number | null;
  tokens_in: ColumnType<number, number | undefined>;
  tokens_out: ColumnType<number, number | undefined>;
  /** numeric(14,6): read as a string by node-postgres. */
  cost_usd: ColumnType<string, number | string | undefined>;
  tools: ColumnType<string[], string[] | undefined>;
  sources: ColumnType<Array<{ documentId: string; title: string; url?: string }>, Array<{ documentId: string; title: string; url?: string }> | undefined>;
}

/** A known person of a gateway account (`@switchboard/people`). */
export interface PeoplePersonTable {
  id: string;
  account: string;
  role: string;
  name: string | null;
  /** The person's id in the business's own systems. */
  external_id: string | null;
  language: string | null;
  attributes: ColumnType<Record<string, unknown>, string | undefined, string>;
  /** Where the entry came from: `file`, `api`, `import`, `verification`. */
  source: ColumnType<string, string | undefined, string>;
  created_at: ColumnType<Date, never, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

/** One normalized identifier of a person; unique per account and `kind_class` (phone = wa_id). */
export interface PeopleIdentifierTable {
  account: string;
  kind: string;
  kind_class: string;
  value: string;
  person_id: string;
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
  rec_conversation: RecConversationTable;
  rec_message: RecMessageTable;
  rec_status: RecStatusTable;
  rec_event: RecEventTable;
  rec_turn: RecTurnTable;
  rec_erasure: RecErasureTable;
  people_person: PeoplePersonTable;
  people_identifier: PeopleIdentifierTable;
}
