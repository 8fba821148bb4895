import type { Logger } from '@switchboard/core';
import { Embedder, KnowledgeBase, KnowledgeRepo } from '@switchboard/knowledge';
import { openStore, type Store } from '@switchboard/store';
import type { WorkerEnv } from './compose.js';

/**
 * Opens the store and the knowledge base on it when DATABASE_URL is set (undefined otherwise):
 * hybrid search with an embeddings endpoint (OPENAI_API_KEY), else full text only; the HNSW index
 * of EMBEDDING_DIMENSIONS when the store has pgvector. One start line says which.
 */
export async function openKnowledge(env: WorkerEnv, log: Logger): Promise<{ store: Store; knowledge: KnowledgeBase } | undefined> {
  if (!env.DATABASE_URL) return undefined;
  const store = await openStore({ url: env.DATABASE_URL, log, poolMax: env.DATABASE_POOL_MAX });
  try {
    const embedder = env.OPENAI_API_KEY ? new Embedder(store.db, { apiKey: env.OPENAI_API_KEY, baseURL: env.OPENAI_BASE_URL, model: env.EMBEDDING_MODEL, dimensions: env.EMBEDDING_DIMENSIONS }) : undefined;
    const repo = new KnowledgeRepo(store.db, store.vector.mode);
    if (embedder) await repo.ensureVectorIndex(env.EMBEDDING_DIMENSIONS);
    const knowledge = new KnowledgeBase(repo, embedder);
    log.info('knowledge base opened', {
      mode: knowledge.mode === 'hybrid' ? 'hybrid' : 'full-text only',
      vectorMode: store.vector.mode,
      ...(embedder ? { embeddingModel: env.EMBEDDING_MODEL, dimensions: env.EMBEDDING_DIMENSIONS } : { hint: 'set OPENAI_API_KEY for embeddings (hybrid search)' }),
    });
    return { store, knowledge };
  } catch (err) {
    await store.close();
    throw err;
  }
}
