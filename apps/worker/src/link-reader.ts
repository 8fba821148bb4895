import type { InboundMessage } from '@switchboard/core';
import { FetchRefusedError } from '@switchboard/fetch';
import { loadConfig } from '@switchboard/core';
import { detectFormat, extractDocument, linkEnv, type LinkEnv } from '@switchboard/knowledge';
import type { WorkerDeps } from './deps.js';

/** Bounds of reading the pages customers send (from LINK_* settings: {@link linkLimitsFrom}). */
export interface LinkReaderLimits {
  /** Body cap of the page. */
  readonly maxBytes: number;
  /** Whole fetch (all hops and the body). */
  readonly timeoutMs: number;
  /** Text given to the model. */
  readonly maxChars: number;
  /** How long a page (or a refusal) is cached per URL (0 = not cached). */
  readonly ttlSeconds: number;
  /** Links read from one message (its first ones). */
  readonly perMessage: number;
  /** Links read per turn, across its messages. */
  readonly perTurn: number;
}

/** The limits of the LINK_* settings. */
export function linkLimitsFrom(env: LinkEnv): LinkReaderLimits {
  return { maxBytes: env.LINK_MAX_BYTES, timeoutMs: env.LINK_TIMEOUT_MS, maxChars: env.LINK_MAX_CHARS, ttlSeconds: env.LINK_CACHE_TTL_SECONDS, perMessage: env.LINK_MAX_PER_MESSAGE, perTurn: env.LINK_MAX_PER_TURN };
}

/** The defaults of the LINK_* settings. */
export const DEFAULT_LINK_LIMITS: LinkReaderLimits = linkLimitsFrom(loadConfig(linkEnv, {}));

const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"'`]+/gi;

/** The URLs a customer message names: a link message's URL, or the URLs typed in a text (in order, each once). */
export function linksOf(message: InboundMessage): string[] {
  const c = message.content;
  if (c.type === 'link') return [c.url];
  if (c.type !== 'text') return [];
  return [...new Set([...c.text.matchAll(URL_IN_TEXT)].map((m) => m[0].replace(/[),.;:!?，。）]+$/, '')))];
}

/** The first URL a customer message names. */
export function linkOf(message: InboundMessage): string | undefined {
  return linksOf(message)[0];
}

type Page = { text: string } | { error: string };

/**
 * Reads the pages customers send (typed URLs, WeChat link messages) before the agent runs: fetched
 * through the guarded fetcher (a private or disallowed address is refused, never fetched), size and
 * time bounded, readable text extracted, cached per URL in Redis. The text (or why the page could
 * not be opened) lands in the message's `enrichment`; the agent shows it to the model as the page
 * the customer sent. Never rejects.
 */
export function createLinkReader(deps: Pick<WorkerDeps, 'fetcher' | 'redis' | 'keys' | 'log'>, limits: LinkReaderLimits = DEFAULT_LINK_LIMITS) {
  async function read(url: string): Promise<Page> {
    const key = deps.keys.media.linkPage(url);
    const cached = await deps.redis.get(key);
    if (cached) return JSON.parse(cached) as Page;
    let page: Page;
    let cache = true;
    try {
      const res = await deps.fetcher.fetchBytes(url, { maxBytes: limits.maxBytes, timeoutMs: limits.timeoutMs, what: 'a page the customer sent' });
      if (res.status >= 400) throw new Error(`the site answered HTTP ${res.status}`);
      const format = detectFormat(res.bytes, { mimeType: res.headers['content-type'] });
      if (!format) throw new Error(`unsupported content (${res.headers['content-type'] ?? 'unknown type'})`);
      const doc = await extractDocument(res.bytes, format, { maxChars: limits.maxChars, timeoutMs: limits.timeoutMs });
      page = { text: doc.title ? `Title: ${doc.title}\n\n${doc.text}` : doc.text };
    } catch (err) {
      const refused = err instanceof FetchRefusedError;
      cache = refused;
      page = { error: refused ? 'the address is private or not allowed, so it was not opened' : err instanceof Error ? err.message : String(err) };
      deps.log.info('customer link not read', { origin: safeOrigin(url), refused, error: page.error });
    }
    if (cache && limits.ttlSeconds > 0) await deps.redis.set(key, JSON.stringify(page), 'EX', limits.ttlSeconds);
    return page;
  }

  const readSafe = (url: string): Promise<Page> => read(url).catch((err: unknown): Page => ({ error: err instanceof Error ? err.message : String(err) }));

  return async (messages: InboundMessage[]): Promise<InboundMessage[]> => {
    let budget = limits.perTurn;
    const out: InboundMessage[] = [];
    for (const m of messages) {
      const urls = m.author === 'customer' && !m.enrichment && budget > 0 ? linksOf(m).slice(0, Math.min(limits.perMessage, budget)) : [];
      if (urls.length === 0) {
        out.push(m);
        continue;
      }
      budget -= urls.length;
      const pages: Page[] = [];
      for (const url of urls) pages.push(await readSafe(url));
      out.push({ ...m, enrichment: enrichmentOf(urls, pages) });
    }
    return out;
  };
}

/** One link: the page's text or why it could not be opened; several: the pages one after another. */
function enrichmentOf(urls: readonly string[], pages: readonly Page[]): NonNullable<InboundMessage['enrichment']> {
  if (urls.length === 1) {
    const page = pages[0]!;
    return 'text' in page ? { text: page.text, note: `page the customer sent: ${urls[0]}` } : { error: page.error, note: `link the customer sent: ${urls[0]}` };
  }
  if (pages.every((p) => 'error' in p)) return { error: urls.map((u, i) => `${u}: ${(pages[i] as { error: string }).error}`).join('; '), note: `links the customer sent: ${urls.join(', ')}` };
  const text = urls.map((u, i) => {
    const page = pages[i]!;
    return 'text' in page ? `Page ${i + 1} (${u}):\n${page.text}` : `Page ${i + 1} (${u}) could not be opened: ${page.error}`;
  });
  return { text: text.join('\n\n'), note: `pages the customer sent: ${urls.join(', ')}` };
}

function safeOrigin(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
