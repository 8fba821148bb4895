/**
 * Knowledge: the business's own documents, chunked and searchable in English and Chinese.
 * @see ../../../docs/architecture.md
 */

export * from './chunk.js';
export * from './knowledge.repo.js';
export * from './fulltext-candidates.js';
export * from './embeddings.js';
export * from './extract.js';
export * from './knowledge-base.js';
export * from './knowledge.env.js';
export * from './robots.js';
export * from './ingest.js';
