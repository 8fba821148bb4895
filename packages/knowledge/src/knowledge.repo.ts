import { randomBytes } from 'node:crypto';
import { sql, type Database, type KbDocumentTable, type Kysely, type RawBuilder, type Selectable, type VectorMode } from '@switchboard/store';
import { queryTerms, tsqueryLiteral, tsqueryOfClauses, tsvectorLiteral } from '@switchboard/store';
import { candidateClauses, RANK_BUDGET, type TermStatistics } from './fulltext-candidates.js';
import { ChunkVectorCache, cosine } from './vector-cache.js';

/**
 * The knowledge base on the store: documents, their chunks (replaced atomically), and hybrid
 * search (full-text ranking fused with vector similarity by reciprocal rank fusion), scoped to an
 * account: an account sees its own documents and those for every account.
 */

/** What a document came from. */
export type SourceKind = 'file' | 'url' | 'text' | 'sitemap';

/** A new document (its text arrives later, through {@link KnowledgeRepo.replaceChunks}). */
export interface NewDocument {
  readonly account?: string | undefined;
  readonly title: string;
  readonly sourceKind: SourceKind;
  readonly url?: string | undefined;
  readonly filename?: string | undefined;
  readonly mimeType?: string | undefined;
}

/** A document as the API lists it. */
export interface KnowledgeDocument {
  readonly id: string;
  readonly title: string;
  readonly status: 'pending' | 'ready' | 'failed';
  readonly chunks: number;
  readonly sourceKind: SourceKind;
  readonly account?: string;
  readonly url?: string;
  readonly filename?: string;
  readonly error?: string;
  readonly contentHash?: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** Where a page of documents ends: the last document's creation time (ISO 8601 UTC with microseconds) and id. */
export interface DocumentPosition {
  readonly createdAt: string;
  readonly id: string;
}

/** One page of {@link KnowledgeRepo.pageDocuments}; `next` is absent on the last page. */
export interface DocumentPage {
  readonly items: KnowledgeDocument[];
  readonly next?: DocumentPosition;
}

/** One chunk to store. */
export interface ChunkInput {
  readonly heading: string;
  readonly text: string;
  readonly contentHash: string;
  /** Unit-length embedding, or undefined when no embeddings endpoint is configured. */
  readonly embedding?: readonly number[] | undefined;
}

/** One search hit. */
export interface KnowledgeHit {
  readonly chunkId: string;
  readonly documentId: string;
  readonly title: string;
  readonly heading: string;
  readonly text: string;
  readonly url?: string;
  /** Fused score (reciprocal rank fusion), higher is better. */
  readonly score: number;
  /** Full-text rank position (1 = best) and vector rank position, when the chunk was found that way. */
  readonly ftsRank?: number;
  readonly vectorRank?: number;
  /** Cosine similarity to the query, when embeddings are on. */
  readonly similarity?: number;
}

/** Search parameters. */
export interface SearchOptions {
  readonly query: string;
  readonly account?: string | undefined;
  readonly k?: number;
  /** The query's unit-length embedding (absent = full text only). */
  readonly embedding?: readonly number[] | undefined;
}

/** RRF's constant: ranks beyond it contribute little (the usual 60). */
const RRF_K = 60;
/** Candidates each ranking contributes before fusion. */
const CANDIDATES = 50;
/**
 * Without pgvector, a base up to this many embedded chunks is compared in full (each query reads
 * every vector: about 0.3 s at 2,000 chunks of 256 dimensions here); a larger one compares only the
 * full-text candidates. pgvector (the embedded store, the compose image) has no such limit.
 */
const PLAIN_SCAN_LIMIT = 2_000;
/** How long the term statistics of the chunks are reused before they are read again. */
const STATS_TTL_MS = 60_000;

const newId = () => `doc_${randomBytes(9).toString('base64url')}`;

function toDocument(r: Selectable<KbDocumentTable>): KnowledgeDocument {
  return {
    id: r.id,
    title: r.title,
    status: r.status,
    chunks: r.chunk_count,
    sourceKind: r.source_kind,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    ...(r.account ? { account: r.account } : {}),
    ...(r.url ? { url: r.url } : {}),
    ...(r.filename ? { filename: r.filename } : {}),
    ...(r.error ? { error: r.error } : {}),
    ...(r.content_hash ? { contentHash: r.content_hash } : {}),
  };
}

/** `[0.1,0.2]` for pgvector's text input (numbers only: bound as a parameter). */
const vectorLiteral = (v: readonly number[]) => `[${v.map((x) => (Number.isFinite(x) ? x : 0)).join(',')}]`;

/** An embedding size safe to write into SQL (pgvector's HNSW takes at most 2000 dimensions). */
function checkedDimensions(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 2000) throw new Error(`embedding dimensions must be an integer 1-2000, got ${n}`);
  return n;
}

/** The knowledge tables of one store. */
export class KnowledgeRepo {
  private readonly rankBudget: number;
  /** Chunk vectors already read, for the search without pgvector. */
  private readonly vectorCache = new ChunkVectorCache();

  /**
   * `options.rankBudget`: estimated full-text matches up to which every match is ranked (default
   * {@link RANK_BUDGET}; `Infinity` ranks every match of every question, as before the bound).
   */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly vectorMode: VectorMode,
    options: { readonly rankBudget?: number } = {},
  ) {
    this.rankBudget = options.rankBudget ?? RANK_BUDGET;
  }

  /** Records a new pending document; returns its id. */
  async createDocument(doc: NewDocument): Promise<string> {
    const id = newId();
    await this.db
      .insertInto('kb_document')
      .values({ id, account: doc.account ?? null, title: doc.title, source_kind: doc.sourceKind, url: doc.url ?? null, filename: doc.filename ?? null, mime_type: doc.mimeType ?? null, error: null, content_hash: null })
      .execute();
    return id;
  }

  async getDocument(id: string): Promise<KnowledgeDocument | undefined> {
    const row = await this.db.selectFrom('kb_document').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toDocument(row) : undefined;
  }

  /** Documents, newest first; with `account`, that account's and those for every account. */
  async listDocuments(opts: { readonly account?: string | undefined; readonly limit?: number } = {}): Promise<KnowledgeDocument[]> {
    let q = this.db.selectFrom('kb_document').selectAll().orderBy('created_at', 'desc').orderBy('id').limit(opts.limit ?? 500);
    if (opts.account) q = q.where((eb) => eb.or([eb('account', '=', opts.account!), eb('account', 'is', null)]));
    return (await q.execute()).map(toDocument);
  }

  /**
   * One page of documents, newest first (creation time, then id: a stable order). `after` is the
   * position of the previous page's last document ({@link DocumentPage.next}); documents added
   * meanwhile sort before it, so paging on never repeats or skips one. With `account`, that
   * account's and those for every account; with `status`, only documents in that state.
   */
  async pageDocuments(opts: { readonly account?: string | undefined; readonly status?: KnowledgeDocument['status'] | undefined; readonly limit: number; readonly after?: DocumentPosition | undefined }): Promise<DocumentPage> {
    let q = this.db
      .selectFrom('kb_document')
      .selectAll()
      // the creation time at full (microsecond) precision: a JS Date would cut it to milliseconds
      .select(sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('created_text'))
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(opts.limit + 1);
    if (opts.account) q = q.where((eb) => eb.or([eb('account', '=', opts.account!), eb('account', 'is', null)]));
    if (opts.status) q = q.where('status', '=', opts.status);
    if (opts.after) q = q.where(sql<boolean>`(created_at, id) < (${opts.after.createdAt}::timestamptz, ${opts.after.id})`);
    const rows = await q.execute();
    const page = rows.slice(0, opts.limit);
    const last = page[page.length - 1];
    return { items: page.map(toDocument), ...(rows.length > opts.limit && last ? { next: { createdAt: last.created_text, id: last.id } } : {}) };
  }

  /** Deletes a document and its chunks; false when there was none. */
  async deleteDocument(id: string): Promise<boolean> {
    const res = await this.db.deleteFrom('kb_document').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** Stores what a document is read from (upload bytes, a text, crawl options); replaces an earlier source. */
  async saveSource(documentId: string, source: { readonly body?: Buffer; readonly text?: string; readonly options?: Record<string, unknown> }): Promise<void> {
    const values = { body: source.body ?? null, text: source.text ?? null, options: source.options ?? {} };
    await this.db
      .insertInto('kb_source')
      .values({ document_id: documentId, ...values, etag: null, last_modified: null, checked_at: null })
      .onConflict((oc) => oc.column('document_id').doUpdateSet(values))
      .execute();
  }

  /** A document's source, or undefined when it has none (deleted meanwhile). */
  async readSource(documentId: string): Promise<{ body?: Buffer; text?: string; options: Record<string, unknown>; etag?: string; lastModified?: string; checkedAt?: Date } | undefined> {
    const r = await this.db.selectFrom('kb_source').selectAll().where('document_id', '=', documentId).executeTakeFirst();
    if (!r) return undefined;
    return { options: r.options, ...(r.body ? { body: r.body } : {}), ...(r.text !== null ? { text: r.text } : {}), ...(r.etag ? { etag: r.etag } : {}), ...(r.last_modified ? { lastModified: r.last_modified } : {}), ...(r.checked_at ? { checkedAt: r.checked_at } : {}) };
  }

  /** Records the validators of a fetch (ETag, Last-Modified) and when it happened. */
  async markChecked(documentId: string, validators: { readonly etag?: string | undefined; readonly lastModified?: string | undefined }): Promise<void> {
    await this.db.updateTable('kb_source').set({ etag: validators.etag ?? null, last_modified: validators.lastModified ?? null, checked_at: new Date() }).where('document_id', '=', documentId).execute();
  }

  /** The page documents a sitemap or crawl document made (`options.parent`): URL → document id. */
  async childDocuments(parentId: string): Promise<Map<string, string>> {
    const rows = await this.db
      .selectFrom('kb_source as s')
      .innerJoin('kb_document as d', 'd.id', 's.document_id')
      .select(['d.id', 'd.url'])
      .where(sql<boolean>`s.options->>'parent' = ${parentId}`)
      .execute();
    return new Map(rows.filter((r) => r.url).map((r) => [r.url!, r.id]));
  }

  /** Ready URL and sitemap documents last fetched before `before` (or never), oldest first: due for a re-check. */
  async dueForRecheck(before: Date, limit = 500): Promise<string[]> {
    const rows = await this.db
      .selectFrom('kb_document as d')
      .innerJoin('kb_source as s', 's.document_id', 'd.id')
      .select('d.id')
      .where('d.source_kind', 'in', ['url', 'sitemap'])
      .where('d.status', '=', 'ready')
      .where((eb) => eb.or([eb('s.checked_at', '<', before), eb('s.checked_at', 'is', null)]))
      .orderBy('s.checked_at', 'asc')
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }

  /** Marks a document failed with a reason the console shows. */
  async failDocument(id: string, error: string): Promise<void> {
    await this.db.updateTable('kb_document').set({ status: 'failed', error: error.slice(0, 1000), updated_at: new Date() }).where('id', '=', id).execute();
  }

  /**
   * Replaces every chunk of a document at once (one transaction: a search sees the old chunks or the
   * new ones, never a mix) and marks it ready. A document deleted meanwhile stays deleted.
   */
  async replaceChunks(documentId: string, contentHash: string, chunks: readonly ChunkInput[]): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const doc = await trx.selectFrom('kb_document').select(['id', 'account', 'title']).where('id', '=', documentId).forUpdate().executeTakeFirst();
      if (!doc) return false;
      await trx.deleteFrom('kb_chunk').where('document_id', '=', documentId).execute();
      for (let i = 0; i < chunks.length; i += 200) {
        const rows = chunks.slice(i, i + 200).map((c, j) => ({
          document_id: documentId,
          account: doc.account,
          idx: i + j,
          heading: c.heading,
          text: c.text,
          // the document's title is searchable in every chunk ("the Aurora lamp" finds its spec table)
          terms: sql`${tsvectorLiteral(`${doc.title}\n${c.heading}\n${c.text}`)}::tsvector`,
          content_hash: c.contentHash,
          embedding: c.embedding ? [...c.embedding] : null,
        }));
        await trx.insertInto('kb_chunk').values(rows).execute();
      }
      if (this.vectorMode === 'pgvector') {
        await sql`update kb_chunk set embedding_v = embedding::vector where document_id = ${documentId} and embedding is not null`.execute(trx);
      }
      await trx.updateTable('kb_document').set({ status: 'ready', error: null, content_hash: contentHash, chunk_count: chunks.length, updated_at: new Date() }).where('id', '=', documentId).execute();
      return true;
    });
  }

  private stats: { readonly at: number; readonly value: Promise<TermStatistics | undefined> } | undefined;

  /**
   * The chunks' term statistics from the store's own (ANALYZE: most common elements of `terms`),
   * read at most once a minute; undefined when there are none yet (a small or never analyzed table).
   */
  termStatistics(): Promise<TermStatistics | undefined> {
    if (this.stats && Date.now() - this.stats.at < STATS_TTL_MS) return this.stats.value;
    const value = (async (): Promise<TermStatistics | undefined> => {
      const r = await sql<{ rows: number; elems: string[] | null; freqs: number[] | null }>`
        select greatest(c.reltuples, 0)::float8 as rows, s.most_common_elems::text::text[] as elems, s.most_common_elem_freqs::float8[] as freqs
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        left join pg_stats s on s.schemaname = n.nspname and s.tablename = c.relname and s.attname = 'terms'
        where c.oid = to_regclass('kb_chunk')`.execute(this.db);
      const row = r.rows[0];
      if (!row?.elems?.length || !row.freqs || row.freqs.length < row.elems.length + 2) return undefined;
      const frequency = new Map(row.elems.map((t, i) => [t, Number(row.freqs![i])]));
      return { rows: Number(row.rows), frequency, floor: Number(row.freqs[row.elems.length]) };
    })().catch(() => undefined);
    this.stats = { at: Date.now(), value };
    return value;
  }

  /**
   * Refreshes the statistics the bounded ranking relies on (ANALYZE) when the base is large enough
   * to need them and they are missing or the chunk count moved by a fifth since. Counted here, not
   * read from pg_stat: the embedded store (PGlite) keeps no activity counters and runs no autovacuum.
   */
  async analyzeIfStale(): Promise<boolean> {
    if (!Number.isFinite(this.rankBudget)) return false;
    const r = await sql<{ chunks: number; estimated: number; analyzed: boolean }>`
      select (select count(*) from kb_chunk)::float8 as chunks, c.reltuples::float8 as estimated,
        exists (select 1 from pg_stats s where s.schemaname = n.nspname and s.tablename = c.relname and s.attname = 'terms') as analyzed
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.oid = to_regclass('kb_chunk')`.execute(this.db);
    const row = r.rows[0];
    if (!row || Number(row.chunks) < this.rankBudget) return false;
    if (row.analyzed && Math.abs(Number(row.chunks) - Number(row.estimated)) <= 0.2 * Number(row.chunks)) return false;
    await sql`analyze kb_chunk`.execute(this.db);
    this.stats = undefined;
    return true;
  }

  /**
   * Chunks of the account's scope ranked by full text: chunk ids, best first. On a large base only
   * the candidates of {@link candidateClauses} are ranked (see fulltext-candidates.ts).
   */
  private async fullText(query: string, account: string | undefined, limit: number): Promise<string[]> {
    const tsquery = tsqueryLiteral(query);
    if (!tsquery) return [];
    const candidates = Number.isFinite(this.rankBudget) ? candidateClauses(queryTerms(query), await this.termStatistics(), this.rankBudget) : undefined;
    const inScope = sql<boolean>`(${account ?? null}::text is null or account = ${account ?? null} or account is null)`;
    const rank = (db: Kysely<Database>, where: RawBuilder<boolean>) =>
      sql<{ id: string }>`
        select c.id::text as id from kb_chunk c
        where ${where}
        order by ts_rank_cd(c.terms, ${tsquery}::tsquery, 1) desc, c.id
        limit ${limit}`.execute(db);
    if (!candidates || candidates.commonEstimate <= this.rankBudget) {
      const filter = (candidates && tsqueryOfClauses([...candidates.rare.map((t) => [t]), ...candidates.common])) ?? tsquery;
      const rows = await rank(this.db, sql<boolean>`c.terms @@ ${filter}::tsquery and ${inScope}`);
      return rows.rows.map((r) => r.id);
    }
    // the common clauses still match far more than the budget (every term in most chunks): every
    // chunk with a rare term, and the first `rankBudget` matches of the common clauses the index
    // yields (a sequential scan would read every chunk's terms to find them)
    const rare = tsqueryOfClauses(candidates.rare.map((t) => [t]));
    const common = tsqueryOfClauses(candidates.common)!;
    const ids = sql<boolean>`c.id in (
      ${rare ? sql`select id from kb_chunk where terms @@ ${rare}::tsquery and ${inScope} union ` : sql``}select id from (select id from kb_chunk where terms @@ ${common}::tsquery and ${inScope} limit ${this.rankBudget}) common
    )`;
    const rows = await this.db.transaction().execute(async (trx) => {
      await sql`set local enable_seqscan = off`.execute(trx);
      return rank(trx, ids);
    });
    return rows.rows.map((r) => r.id);
  }

  /** Chunks ranked by similarity to `embedding` (pgvector's HNSW-served order, or a bounded scan). */
  private async similar(embedding: readonly number[], account: string | undefined, limit: number, extra: readonly string[]): Promise<Array<{ id: string; similarity: number }>> {
    if (this.vectorMode === 'pgvector') {
      // the same expression as the partial HNSW index of this size (ensureVectorIndex), so it serves the order
      const dims = sql.raw(String(checkedDimensions(embedding.length)));
      const rows = await sql<{ id: string; distance: number }>`
        select c.id::text as id, (c.embedding_v::vector(${dims}) <=> ${vectorLiteral(embedding)}::vector(${dims})) as distance
        from kb_chunk c
        where c.embedding_v is not null and vector_dims(c.embedding_v) = ${dims}
          and (${account ?? null}::text is null or c.account = ${account ?? null} or c.account is null)
        order by distance
        limit ${limit}`.execute(this.db);
      return rows.rows.map((r) => ({ id: r.id, similarity: 1 - Number(r.distance) }));
    }
    // without pgvector: every chunk of a small base, else the full-text candidates, compared here
    const q = this.db
      .selectFrom('kb_chunk')
      .select('id')
      .where('embedding', 'is not', null)
      .where((eb) => (account ? eb.or([eb('account', '=', account), eb('account', 'is', null)]) : eb.lit(true)));
    // counted only up to the limit: a large base is not counted through on every question
    const total = await this.db
      .selectFrom((eb) => eb.selectFrom('kb_chunk').select('id').where('embedding', 'is not', null).limit(PLAIN_SCAN_LIMIT + 1).as('e'))
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    const ids = (Number(total.n) <= PLAIN_SCAN_LIMIT ? await q.execute() : extra.length > 0 ? await q.where('id', 'in', [...extra]).execute() : []).map((r) => String(r.id));
    const vectors = await this.chunkVectors(ids);
    return ids
      .flatMap((id) => {
        const v = vectors.get(id);
        return v ? [{ id, similarity: cosine(embedding, v) }] : [];
      })
      .sort((a, b) => b.similarity - a.similarity)
      .slice(0, limit);
  }

  /** The vectors of `ids`: from the process's cache, the others read once from the store. */
  private async chunkVectors(ids: readonly string[]): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    const missing: string[] = [];
    for (const id of ids) {
      const v = this.vectorCache.get(id);
      if (v) out.set(id, v);
      else missing.push(id);
    }
    for (let i = 0; i < missing.length; i += 500) {
      const rows = await this.db.selectFrom('kb_chunk').select(['id', 'embedding']).where('id', 'in', missing.slice(i, i + 500)).execute();
      for (const r of rows) if (r.embedding) out.set(String(r.id), this.vectorCache.set(String(r.id), r.embedding));
    }
    return out;
  }

  /**
   * Hybrid search: full-text and (with an embedding) vector rankings fused by reciprocal rank
   * fusion; the `k` best chunks with their document's title and URL.
   */
  async search(opts: SearchOptions): Promise<KnowledgeHit[]> {
    const k = Math.min(Math.max(opts.k ?? 5, 1), 50);
    const fts = await this.fullText(opts.query, opts.account, CANDIDATES);
    const vec = opts.embedding ? await this.similar(opts.embedding, opts.account, CANDIDATES, fts) : [];
    const scores = new Map<string, { score: number; ftsRank?: number; vectorRank?: number; similarity?: number }>();
    fts.forEach((id, i) => scores.set(id, { score: 1 / (RRF_K + i + 1), ftsRank: i + 1 }));
    vec.forEach((v, i) => {
      const prev = scores.get(v.id) ?? { score: 0 };
      scores.set(v.id, { ...prev, score: prev.score + 1 / (RRF_K + i + 1), vectorRank: i + 1, similarity: v.similarity });
    });
    const top = [...scores.entries()].sort((a, b) => b[1].score - a[1].score || Number(a[0]) - Number(b[0])).slice(0, k);
    if (top.length === 0) return [];
    const rows = await this.db
      .selectFrom('kb_chunk as c')
      .innerJoin('kb_document as d', 'd.id', 'c.document_id')
      .select(['c.id', 'c.document_id', 'c.heading', 'c.text', 'd.title', 'd.url'])
      .where('c.id', 'in', top.map(([id]) => id))
      .execute();
    const byId = new Map(rows.map((r) => [String(r.id), r]));
    return top.flatMap(([id, s]) => {
      const r = byId.get(id);
      if (!r) return [];
      return [{ chunkId: id, documentId: r.document_id, title: r.title, heading: r.heading, text: r.text, score: s.score, ...(r.url ? { url: r.url } : {}), ...(s.ftsRank ? { ftsRank: s.ftsRank } : {}), ...(s.vectorRank ? { vectorRank: s.vectorRank } : {}), ...(s.similarity !== undefined ? { similarity: s.similarity } : {}) }];
    });
  }

  /**
   * The HNSW index for one embedding size (pgvector only; created once, concurrently safe). The
   * dimension count is an integer the deployment configures, checked here before it reaches DDL.
   */
  async ensureVectorIndex(dimensions: number): Promise<void> {
    if (this.vectorMode !== 'pgvector') return;
    const d = checkedDimensions(dimensions);
    // a store that gained pgvector after its knowledge tables were made gets the column now
    await sql`alter table kb_chunk add column if not exists embedding_v vector`.execute(this.db);
    await sql`update kb_chunk set embedding_v = embedding::vector where embedding is not null and embedding_v is null`.execute(this.db);
    await sql`create index if not exists ${sql.raw(`kb_chunk_embedding_hnsw_${d}`)} on kb_chunk using hnsw ((embedding_v::vector(${sql.raw(String(d))})) vector_cosine_ops) where vector_dims(embedding_v) = ${sql.raw(String(d))}`.execute(this.db);
  }
}
