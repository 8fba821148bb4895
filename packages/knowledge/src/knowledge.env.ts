import { type z } from 'zod';
import { int, withDefault } from '@switchboard/core';

/**
 * Environment fragment of knowledge ingestion (the worker's `knowledge` role). The embeddings
 * endpoint is OpenAI's (`OPENAI_API_KEY`, `OPENAI_BASE_URL`); without a key, documents are
 * searched by full text only.
 */
export const knowledgeEnv = {
  /** Embeddings model of the `/embeddings` endpoint. */
  EMBEDDING_MODEL: withDefault('text-embedding-3-small'),
  /** Vector size asked of the model and indexed (pgvector's HNSW: at most 2000). */
  EMBEDDING_DIMENSIONS: int(1536, 1),
  /** Largest file or page read into the knowledge base (bytes, 20 MB). */
  KNOWLEDGE_MAX_BYTES: int(20 * 1024 * 1024, 1024),
  /** Text kept per document (characters; longer text is cut and says so). */
  KNOWLEDGE_MAX_CHARS: int(500_000, 1000),
  /** Pages a sitemap or a site crawl turns into documents, at most. */
  KNOWLEDGE_CRAWL_MAX_PAGES: int(50, 1),
  /** Links followed from the start page of a crawl (0 = the start page only). */
  KNOWLEDGE_CRAWL_MAX_DEPTH: int(2, 0),
  /** URL documents older than this are fetched again (conditional GET); 0 = never. */
  KNOWLEDGE_RECHECK_HOURS: int(24, 0),
  /** One fetch of a page, a sitemap or a robots.txt (ms). */
  KNOWLEDGE_FETCH_TIMEOUT_MS: int(20_000, 1000),
};

/** Parsed values of {@link knowledgeEnv}. */
export type KnowledgeEnv = z.infer<z.ZodObject<typeof knowledgeEnv>>;
