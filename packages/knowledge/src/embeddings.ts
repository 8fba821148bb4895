import { createHash } from 'node:crypto';
import OpenAI from 'openai';
import type { Database, Kysely } from '@switchboard/store';
import { LruCache } from './vector-cache.js';

/**
 * Embeddings through an OpenAI-compatible `/embeddings` endpoint (`EMBEDDING_MODEL`,
 * `EMBEDDING_DIMENSIONS`, `OPENAI_BASE_URL`, `OPENAI_API_KEY`): batched, unit length, and cached in
 * the store by content hash, model and size, so unchanged text is never embedded twice.
 */

/** Settings of {@link Embedder}. */
export interface EmbedderOptions {
  readonly apiKey: string;
  readonly baseURL?: string | undefined;
  readonly model: string;
  /** Asked of models that can shorten their vectors (`dimensions`); also the size expected back. */
  readonly dimensions: number;
  readonly timeoutMs?: number;
  /** Texts per request (OpenAI allows 2048; smaller batches keep requests short). */
  readonly batchSize?: number;
}

/** The cache key of a text for one model and size. */
export function embeddingHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function unit(v: readonly number[]): number[] {
  const n = Math.hypot(...v);
  return n > 0 ? v.map((x) => x / n) : v.map(() => 0);
}

/** Questions whose embeddings an {@link Embedder} keeps in memory. */
const QUERY_CACHE_SIZE = 500;

/** Embeds texts for one store. */
export class Embedder {
  private readonly client: OpenAI;
  private readonly batchSize: number;
  /** Texts sent to the endpoint by this instance (cache misses), for metrics and tests. */
  embedded = 0;

  constructor(
    private readonly db: Kysely<Database>,
    readonly opts: EmbedderOptions,
  ) {
    this.client = new OpenAI({ apiKey: opts.apiKey, baseURL: opts.baseURL, timeout: opts.timeoutMs ?? 30_000, maxRetries: 2 });
    this.batchSize = Math.min(Math.max(opts.batchSize ?? 64, 1), 2048);
  }

  get model(): string {
    return this.opts.model;
  }

  get dimensions(): number {
    return this.opts.dimensions;
  }

  /** Recent questions' embeddings, in this process. */
  private readonly queries = new LruCache<number[]>(QUERY_CACHE_SIZE);

  /**
   * The unit-length embedding of a customer's question. Not written to the store's cache: questions
   * are rarely asked twice word for word, and a row per turn would grow the table for nothing (and
   * cost a write and a read per turn); a repeated question within this process is served from
   * memory (the last {@link QUERY_CACHE_SIZE}).
   */
  async embedQuery(text: string): Promise<number[]> {
    const hash = embeddingHash(text);
    const hit = this.queries.get(hash);
    if (hit) return hit;
    const [vector] = await this.request([text]);
    return this.queries.set(hash, vector!);
  }

  /** Unit-length embeddings of `texts`, in order (cached ones read from the store). */
  async embed(texts: readonly string[]): Promise<number[][]> {
    const { model, dimensions } = this.opts;
    const hashes = texts.map(embeddingHash);
    const cached = new Map<string, number[]>();
    const unique = [...new Set(hashes)];
    for (let i = 0; i < unique.length; i += 500) {
      const rows = await this.db
        .selectFrom('kb_embedding_cache')
        .select(['content_hash', 'embedding'])
        .where('model', '=', model)
        .where('dimensions', '=', dimensions)
        .where('content_hash', 'in', unique.slice(i, i + 500))
        .execute();
      for (const r of rows) cached.set(r.content_hash, r.embedding);
    }
    const missing = unique.filter((h) => !cached.has(h)).map((h) => ({ hash: h, text: texts[hashes.indexOf(h)]! }));
    for (let i = 0; i < missing.length; i += this.batchSize) {
      const batch = missing.slice(i, i + this.batchSize);
      const vectors = await this.request(batch.map((b) => b.text));
      const rows = batch.map((b, j) => ({ content_hash: b.hash, model, dimensions, embedding: vectors[j]! }));
      await this.db.insertInto('kb_embedding_cache').values(rows).onConflict((oc) => oc.columns(['content_hash', 'model', 'dimensions']).doNothing()).execute();
      for (const r of rows) cached.set(r.content_hash, r.embedding);
    }
    return hashes.map((h) => cached.get(h)!);
  }

  /** Unit-length embeddings of `texts` from the endpoint, in order. */
  private async request(texts: readonly string[]): Promise<number[][]> {
    const { model, dimensions } = this.opts;
    const res = await this.client.embeddings.create({ model, input: [...texts], dimensions, encoding_format: 'float' });
    const vectors = [...res.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
    if (vectors.length !== texts.length || vectors.some((v) => v.length !== dimensions)) {
      throw new Error(`embeddings endpoint answered ${vectors.length} vectors of ${vectors[0]?.length ?? 0} dimensions for ${texts.length} texts of ${dimensions} (check EMBEDDING_MODEL and EMBEDDING_DIMENSIONS)`);
    }
    this.embedded += texts.length;
    return vectors.map(unit);
  }
}
