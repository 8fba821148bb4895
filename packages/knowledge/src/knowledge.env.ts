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

/**
 * Environment fragment of reading the links customers send (typed URLs, WeChat link messages):
 * every page goes through the guarded fetcher; these bound what one page and one turn may cost.
 */
export const linkEnv = {
  /** Largest page read (bytes; 2 MB). A larger body is cut off and the link reported as unreadable. */
  LINK_MAX_BYTES: int(2_000_000, 1024, 50 * 1024 * 1024),
  /** Whole fetch of one page: every redirect hop and the body (ms). */
  LINK_TIMEOUT_MS: int(8000, 500, 120_000),
  /** Text of the page given to the model (characters; longer text is cut and says so). */
  LINK_MAX_CHARS: int(6000, 200, 200_000),
  /** How long a read page, or a refused address, is cached per URL (seconds; 0 = not cached). */
  LINK_CACHE_TTL_SECONDS: int(900, 0, 7 * 86_400),
  /** URLs read from one customer message (the first ones it names). */
  LINK_MAX_PER_MESSAGE: int(1, 1, 10),
  /** URLs read per turn across its messages (0 = links are not read). */
  LINK_MAX_PER_TURN: int(2, 0, 20),
};

/** Parsed values of {@link linkEnv}. */
export type LinkEnv = z.infer<z.ZodObject<typeof linkEnv>>;
