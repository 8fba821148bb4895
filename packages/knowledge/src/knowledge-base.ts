import type { Embedder } from './embeddings.js';
import type { KnowledgeHit, KnowledgeRepo } from './knowledge.repo.js';

/** What the agent and the API search with (the agent package depends on this shape only). */
export interface KnowledgeSearch {
  /** The `k` best chunks for `query` in `account`'s scope (its documents and those for every account). */
  search(query: string, opts?: { readonly account?: string | undefined; readonly k?: number }): Promise<KnowledgeHit[]>;
}

/**
 * The knowledge base of a deployment: the repository on the store and, when an embeddings endpoint
 * is configured, the embedder (hybrid search); without one, full text only.
 */
export class KnowledgeBase implements KnowledgeSearch {
  constructor(
    readonly repo: KnowledgeRepo,
    readonly embedder: Embedder | undefined,
  ) {}

  /** `hybrid` with embeddings, else `full-text` (said in the start-up log). */
  get mode(): 'hybrid' | 'full-text' {
    return this.embedder ? 'hybrid' : 'full-text';
  }

  async search(query: string, opts: { readonly account?: string | undefined; readonly k?: number } = {}): Promise<KnowledgeHit[]> {
    const text = query.trim().slice(0, 2000);
    if (!text) return [];
    const embedding = this.embedder ? await this.embedder.embedQuery(text) : undefined;
    return this.repo.search({ query: text, account: opts.account, k: opts.k ?? 5, embedding });
  }
}
