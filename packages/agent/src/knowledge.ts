import type { AgentTool } from './tools/tool.types.js';

/** One chunk found in the knowledge base (the fields of @switchboard/knowledge's `KnowledgeHit` the agent reads). */
export interface KnowledgeChunk {
  readonly documentId: string;
  readonly title: string;
  readonly heading?: string;
  readonly text: string;
  readonly url?: string;
  /** Higher is better (reciprocal rank fusion score). */
  readonly score: number;
}

/**
 * What the agent searches with: @switchboard/knowledge's `KnowledgeBase` fits this shape, so the
 * agent does not depend on the store.
 */
export interface KnowledgeSearch {
  /** The `k` best chunks for `query` in `account`'s scope (its documents and those for every account). */
  search(query: string, opts?: { readonly account?: string | undefined; readonly k?: number }): Promise<readonly KnowledgeChunk[]>;
}

/** A source an answer cites: its number in the turn and the document it comes from. */
export interface CitedSource {
  readonly n: number;
  readonly documentId: string;
  readonly title: string;
  readonly heading?: string;
  readonly url?: string;
}

/** The numbered sources of one turn (retrieved up front, then added to by `search_knowledge`). */
export class TurnSources {
  readonly list: KnowledgeChunk[] = [];

  /** Adds chunks not yet listed; returns each chunk with its number (1-based). */
  add(chunks: readonly KnowledgeChunk[]): Array<{ n: number; chunk: KnowledgeChunk }> {
    return chunks.map((chunk) => {
      let i = this.list.findIndex((c) => c.documentId === chunk.documentId && c.text === chunk.text);
      if (i < 0) i = this.list.push(chunk) - 1;
      return { n: i + 1, chunk };
    });
  }
}

/** Numbered sources as the model reads them. */
export function formatSources(numbered: Array<{ n: number; chunk: KnowledgeChunk }>, maxChars = 1500): string {
  return numbered
    .map(({ n, chunk }) => {
      const head = [chunk.title, chunk.heading].filter(Boolean).join(' › ');
      const body = chunk.text.length > maxChars ? `${chunk.text.slice(0, maxChars)}…` : chunk.text;
      return `[${n}] ${head}${chunk.url ? ` (${chunk.url})` : ''}\n${body}`;
    })
    .join('\n\n');
}

/** The source numbers `[n]` cited in `text` that exist, in order of first citation. */
export function citedNumbers(text: string, count: number): number[] {
  const seen: number[] = [];
  for (const m of text.matchAll(/\[(\d{1,2})\]/g)) {
    const n = Number(m[1]);
    if (n >= 1 && n <= count && !seen.includes(n)) seen.push(n);
  }
  return seen;
}

/** The sources cited in `text` (as `[n]`), in order of first citation, with their numbers. */
export function citedSources(text: string, sources: readonly KnowledgeChunk[]): CitedSource[] {
  return citedNumbers(text, sources.length).flatMap((n) => {
    const s = sources[n - 1];
    return s ? [{ n, documentId: s.documentId, title: s.title, ...(s.heading ? { heading: s.heading } : {}), ...(s.url ? { url: s.url } : {}) }] : [];
  });
}

/**
 * Appends the "Sources:" list of the sources cited in `text` as channel-neutral Markdown (a link
 * when the source has a URL); each channel's renderer makes it plain text (WhatsApp, WeChat) or a
 * link (Telegram, Chatwoot). Citations of numbers that were never given are removed.
 */
export function withSourceList(text: string, sources: readonly KnowledgeChunk[], heading: string): string {
  const cited = citedNumbers(text, sources.length);
  const clean = text.replace(/\s?\[(\d{1,2})\]/g, (m, d: string) => (Number(d) >= 1 && Number(d) <= sources.length ? m : ''));
  if (!cited.length) return clean;
  const lines = cited.map((n) => {
    const s = sources[n - 1];
    const title = (s?.title || s?.url || `#${n}`).replace(/[[\]]/g, '');
    return s?.url ? `[${n}] [${title}](${s.url})` : `[${n}] ${title}`;
  });
  return `${clean.trimEnd()}\n\n${heading}\n${lines.join('\n')}`;
}

/** `search_knowledge(query)`: searches the knowledge base again; results continue the turn's numbering. */
export function searchKnowledgeTool(kb: KnowledgeSearch, sources: TurnSources, opts: { account: string; k: number; minScore?: number | undefined }): AgentTool {
  return {
    name: 'search_knowledge',
    description:
      "Search the business's knowledge base (policies, prices, products, shipping, opening hours). Returns numbered sources; cite them as [n].",
    parameters: {
      type: 'object',
      properties: { query: { type: 'string', description: 'What to look up, in the customer’s language or English.' } },
      required: ['query'],
    },
    async handler(args) {
      const query = typeof args.query === 'string' ? args.query.trim() : '';
      if (!query) throw new Error('query is required');
      const hits = (await kb.search(query, { account: opts.account, k: opts.k })).filter((h) => opts.minScore === undefined || h.score >= opts.minScore);
      if (!hits.length) return 'No matching sources in the knowledge base.';
      return formatSources(sources.add(hits));
    },
  };
}
