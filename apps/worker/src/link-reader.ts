import type { InboundMessage } from '@switchboard/core';
import { FetchRefusedError } from '@switchboard/fetch';
import { detectFormat, extractDocument } from '@switchboard/knowledge';
import type { WorkerDeps } from './deps.js';

/** Bounds of reading a page a customer sent. */
export interface LinkReaderLimits {
  /** Body cap of the page. */
  readonly maxBytes: number;
  /** Whole fetch (all hops and the body). */
  readonly timeoutMs: number;
  /** Text given to the model. */
  readonly maxChars: number;
  /** How long a page (or a refusal) is cached per URL. */
  readonly ttlSeconds: number;
  /** Links read per turn. */
  readonly perTurn: number;
}

export const DEFAULT_LINK_LIMITS: LinkReaderLimits = { maxBytes: 2_000_000, timeoutMs: 8000, maxChars: 6000, ttlSeconds: 900, perTurn: 2 };

const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"'`]+/i;

/** The URL a customer message names: a link message's URL, or the first URL typed in a text. */
export function linkOf(message: InboundMessage): string | undefined {
  const c = message.content;
  if (c.type === 'link') return c.url;
  if (c.type === 'text') return c.text.match(URL_IN_TEXT)?.[0].replace(/[),.;:!?，。）]+$/, '');
  return undefined;
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
    if (cache) await deps.redis.set(key, JSON.stringify(page), 'EX', limits.ttlSeconds);
    return page;
  }

  return async (messages: InboundMessage[]): Promise<InboundMessage[]> => {
    let budget = limits.perTurn;
    const out: InboundMessage[] = [];
    for (const m of messages) {
      const url = m.author === 'customer' && !m.enrichment && budget > 0 ? linkOf(m) : undefined;
      if (!url) {
        out.push(m);
        continue;
      }
      budget -= 1;
      const page = await read(url).catch((err: unknown): Page => ({ error: err instanceof Error ? err.message : String(err) }));
      out.push({ ...m, enrichment: 'text' in page ? { text: page.text, note: `page the customer sent: ${url}` } : { error: page.error, note: `link the customer sent: ${url}` } });
    }
    return out;
  };
}

function safeOrigin(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
