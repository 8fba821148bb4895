import { createHash } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import { GatewayError, type Logger } from '@switchboard/core';
import { FETCH_USER_AGENT, FetchRefusedError, FetchTooLargeError, type GuardedFetcher } from '@switchboard/fetch';
import { chunkDocument } from './chunk.js';
import type { Embedder } from './embeddings.js';
import { extractLibs } from './extract-libs.js';
import { detectFormat, ExtractError, extractDocument, type DocumentFormat } from './extract.js';
import type { KnowledgeEnv } from './knowledge.env.js';
import type { KnowledgeDocument, KnowledgeRepo } from './knowledge.repo.js';
import { ALLOW_ALL, DISALLOW_ALL, parseRobots, type Robots } from './robots.js';

/**
 * Ingestion: a document's source (stored text, upload bytes, a URL, a sitemap or a site to crawl)
 * read into chunks, embedded when an embeddings endpoint is configured, and stored atomically.
 * Runs in the worker's `knowledge` role, never in a request. Everything fetched goes through the
 * guarded fetcher (public addresses only unless FETCH_ALLOWED_ORIGINS says otherwise).
 */

/** What ingestion needs. */
export interface IngestDeps {
  readonly repo: KnowledgeRepo;
  /** Absent = full text only (no OPENAI_API_KEY). */
  readonly embedder?: Embedder | undefined;
  readonly fetcher: GuardedFetcher;
  readonly env: Pick<KnowledgeEnv, 'KNOWLEDGE_MAX_BYTES' | 'KNOWLEDGE_MAX_CHARS' | 'KNOWLEDGE_CRAWL_MAX_PAGES' | 'KNOWLEDGE_CRAWL_MAX_DEPTH' | 'KNOWLEDGE_FETCH_TIMEOUT_MS'>;
  /** Queues the `knowledge` job of a page document a sitemap or crawl made. */
  readonly enqueue: (documentId: string, reason: 'new' | 'recheck') => Promise<void>;
  readonly log?: Logger;
}

/** How one ingestion ended. */
export type IngestOutcome =
  | { readonly status: 'ready'; readonly chunks: number; readonly embedded: number }
  | { readonly status: 'unchanged'; readonly why: 'not modified' | 'same content' }
  | { readonly status: 'pages'; readonly pages: number; readonly created: number }
  | { readonly status: 'failed'; readonly reason: string }
  | { readonly status: 'missing' };

/** Crawl settings a sitemap document's source may carry (`options`). */
export interface CrawlOptions {
  /** `true` = crawl the site from `url` by its links instead of reading a sitemap. */
  readonly crawl?: boolean;
  readonly maxPages?: number;
  readonly maxDepth?: number;
}

/** The product token robots.txt groups are matched against. */
export const CRAWLER_TOKEN = FETCH_USER_AGENT.split('/')[0]!;

/** A failure the same input will meet again: the document fails now, no retry. */
class Permanent extends Error {}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** A clear reason for the console: the error's own message, never a stack. */
function reasonOf(err: unknown): string {
  if (err instanceof FetchRefusedError) return `refused to fetch: ${err.message}`;
  if (err instanceof FetchTooLargeError) return `too large: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** Whether a retry could help (network trouble, a 5xx, the embeddings endpoint being down). */
function retryable(err: unknown): boolean {
  if (err instanceof Permanent || err instanceof ExtractError || err instanceof FetchRefusedError || err instanceof FetchTooLargeError) return false;
  if (err instanceof GatewayError) return err.retryable;
  return true;
}

interface Fetched {
  readonly bytes: Buffer;
  readonly contentType: string | undefined;
  readonly url: string;
  readonly etag?: string | undefined;
  readonly lastModified?: string | undefined;
}

/** GETs `url` (conditionally with `validators`); undefined = 304 Not Modified. */
async function fetchPage(deps: IngestDeps, url: string, validators: { etag?: string | undefined; lastModified?: string | undefined } = {}): Promise<Fetched | undefined> {
  const headers: Record<string, string> = { accept: 'text/html,application/xhtml+xml,application/xml,text/xml,text/plain,application/pdf,*/*;q=0.5' };
  if (validators.etag) headers['if-none-match'] = validators.etag;
  if (validators.lastModified) headers['if-modified-since'] = validators.lastModified;
  const res = await deps.fetcher.fetchBytes(url, { headers, maxBytes: deps.env.KNOWLEDGE_MAX_BYTES, timeoutMs: deps.env.KNOWLEDGE_FETCH_TIMEOUT_MS, what: 'a knowledge page' });
  if (res.status === 304) return undefined;
  if (res.status < 200 || res.status >= 300) {
    const msg = `${new URL(res.url).origin}${new URL(res.url).pathname} answered HTTP ${res.status}`;
    if (res.status >= 500 || res.status === 429 || res.status === 408) throw new Error(msg);
    throw new Permanent(msg);
  }
  return { bytes: res.bytes, contentType: res.headers['content-type'], url: res.url, etag: res.headers.etag, lastModified: res.headers['last-modified'] };
}

function formatOf(bytes: Buffer, hint: { mimeType?: string | undefined; filename?: string | undefined }): DocumentFormat {
  const format = detectFormat(bytes, hint);
  if (!format) throw new Permanent('not a readable document: binary or unknown format (knowledge reads text, Markdown, HTML, PDF, DOCX, XLSX and CSV)');
  return format;
}

/**
 * Chunks `text`, embeds it (when configured) and replaces the document's chunks, unless the
 * document already holds exactly this text (content hash): then nothing is re-embedded.
 */
async function store(deps: IngestDeps, doc: KnowledgeDocument, text: string): Promise<IngestOutcome> {
  const hash = sha256(text);
  if (doc.status === 'ready' && doc.contentHash === hash) return { status: 'unchanged', why: 'same content' };
  const chunks = chunkDocument(text);
  if (chunks.length === 0) throw new Permanent('no readable text in the document');
  const before = deps.embedder?.embedded ?? 0;
  const embeddings = deps.embedder ? await deps.embedder.embed(chunks.map((c) => (c.heading ? `${c.heading}\n${c.text}` : c.text))) : undefined;
  const saved = await deps.repo.replaceChunks(
    doc.id,
    hash,
    chunks.map((c, i) => ({ heading: c.heading, text: c.text, contentHash: sha256(`${c.heading}\n${c.text}`), embedding: embeddings?.[i] })),
  );
  if (!saved) return { status: 'missing' };
  // a large base's search relies on fresh term statistics (fulltext-candidates.ts)
  await deps.repo.analyzeIfStale().catch((err: unknown) => deps.log?.warn('knowledge statistics not refreshed', { error: err instanceof Error ? err.message : String(err) }));
  return { status: 'ready', chunks: chunks.length, embedded: (deps.embedder?.embedded ?? 0) - before };
}

/** The robots.txt rules of `origin` for our crawler (4xx = none; unreachable = everything disallowed). */
async function robotsOf(deps: IngestDeps, origin: string): Promise<Robots> {
  try {
    const res = await deps.fetcher.fetchBytes(`${origin}/robots.txt`, { maxBytes: 512 * 1024, timeoutMs: deps.env.KNOWLEDGE_FETCH_TIMEOUT_MS, what: 'robots.txt' });
    if (res.status >= 200 && res.status < 300) return parseRobots(res.bytes.toString('utf8'), CRAWLER_TOKEN);
    if (res.status >= 400 && res.status < 500) return ALLOW_ALL;
    return DISALLOW_ALL;
  } catch (err) {
    if (err instanceof FetchRefusedError) throw err;
    return DISALLOW_ALL;
  }
}

const xml = new XMLParser({ ignoreAttributes: true, processEntities: false, isArray: (name) => name === 'url' || name === 'sitemap' });

/** `<loc>`s of a sitemap: pages of a `urlset`, nested sitemaps of a `sitemapindex`. */
function parseSitemap(bytes: Buffer): { pages: string[]; sitemaps: string[] } | undefined {
  let doc: Record<string, unknown>;
  try {
    doc = xml.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const locs = (list: unknown): string[] =>
    Array.isArray(list)
      ? list.flatMap((e) => {
          const loc = (e as { loc?: unknown } | null)?.loc;
          return typeof loc === 'string' && loc.trim() ? [loc.trim()] : [];
        })
      : [];
  const urlset = doc.urlset as { url?: unknown } | undefined;
  const index = doc.sitemapindex as { sitemap?: unknown } | undefined;
  if (urlset === undefined && index === undefined) return undefined;
  return { pages: locs(urlset?.url), sitemaps: locs(index?.sitemap) };
}

/** A page URL as a document key: no fragment; only http(s) on `origin`. */
function samePage(href: string, base: string, origin: string): string | undefined {
  try {
    const u = new URL(href, base);
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.origin !== origin) return undefined;
    u.hash = '';
    return u.toString();
  } catch {
    return undefined;
  }
}

interface LinkDom {
  readonly document: { querySelectorAll(selector: string): ArrayLike<{ getAttribute(name: string): string | null }> };
}

/** Same-origin links of an HTML page. */
async function linksOf(html: string, base: string, origin: string): Promise<string[]> {
  const { document } = (await extractLibs()).parseHTML(html) as LinkDom;
  const out: string[] = [];
  for (const a of Array.from(document.querySelectorAll('a[href]'))) {
    const page = samePage(a.getAttribute('href') ?? '', base, origin);
    if (page) out.push(page);
  }
  return out;
}

/** The pages of a sitemap or crawl: their URLs, and the bodies a crawl already fetched to follow their links. */
interface Discovered {
  readonly pages: string[];
  /** Page URL → its response, for the pages fetched during discovery (a crawl's start page and inner pages). */
  readonly fetched: Map<string, Fetched>;
}

/** The page URLs of a sitemap document: its sitemap (nested ones followed) or a bounded crawl. */
async function discoverPages(deps: IngestDeps, start: string, first: Fetched, opts: CrawlOptions): Promise<Discovered> {
  const origin = new URL(start).origin;
  const maxPages = Math.min(opts.maxPages ?? deps.env.KNOWLEDGE_CRAWL_MAX_PAGES, deps.env.KNOWLEDGE_CRAWL_MAX_PAGES);
  const maxDepth = Math.min(opts.maxDepth ?? deps.env.KNOWLEDGE_CRAWL_MAX_DEPTH, deps.env.KNOWLEDGE_CRAWL_MAX_DEPTH);
  const robots = await robotsOf(deps, origin);
  const allowed = (url: string) => {
    const u = new URL(url);
    return robots.allowed(`${u.pathname}${u.search}`);
  };
  const sitemap = opts.crawl ? undefined : parseSitemap(first.bytes);
  if (sitemap) {
    const pages = new Set<string>();
    const queue = [...sitemap.sitemaps];
    const seen = new Set<string>([start]);
    const add = (list: string[]) => {
      for (const p of list) {
        const page = samePage(p, start, origin);
        if (page && pages.size < maxPages && allowed(page)) pages.add(page);
      }
    };
    add(sitemap.pages);
    // nested sitemaps (a sitemapindex): same origin, a few at most
    while (queue.length > 0 && pages.size < maxPages && seen.size <= 20) {
      const next = samePage(queue.shift()!, start, origin);
      if (!next || seen.has(next)) continue;
      seen.add(next);
      const got = await fetchPage(deps, next);
      const nested = got ? parseSitemap(got.bytes) : undefined;
      if (!nested) continue;
      add(nested.pages);
      queue.push(...nested.sitemaps);
    }
    return { pages: [...pages], fetched: new Map() };
  }
  if (!opts.crawl && formatOf(first.bytes, { mimeType: first.contentType }) !== 'html') throw new Permanent('not a sitemap (no <urlset> or <sitemapindex>) and not an HTML page to crawl');
  // breadth-first crawl from the start page: same origin, robots.txt, bounded depth and pages
  const startPage = samePage(first.url, start, origin) ?? start;
  if (!allowed(startPage)) throw new Permanent(`robots.txt of ${origin} disallows ${new URL(startPage).pathname} for ${CRAWLER_TOKEN}`);
  const pages: string[] = [startPage];
  const seen = new Set(pages);
  const fetched = new Map<string, Fetched>([[startPage, first]]);
  let frontier = [{ url: startPage, html: first.bytes.toString('utf8') }];
  for (let depth = 1; depth <= maxDepth && frontier.length > 0 && pages.length < maxPages; depth++) {
    const next: Array<{ url: string; html: string }> = [];
    for (const page of frontier) {
      for (const link of await linksOf(page.html, page.url, origin)) {
        if (pages.length >= maxPages) break;
        if (seen.has(link)) continue;
        seen.add(link);
        if (!allowed(link)) continue;
        pages.push(link);
        if (depth < maxDepth) {
          const got = await fetchPage(deps, link).catch(() => undefined);
          if (got) fetched.set(link, got);
          if (got && detectFormat(got.bytes, { mimeType: got.contentType }) === 'html') next.push({ url: link, html: got.bytes.toString('utf8') });
        }
      }
    }
    frontier = next;
  }
  return { pages, fetched };
}

/** What a page document's source keeps of a response its crawl fetched (`options.fetched`; the body is the source's `body`). */
interface Prefetched {
  readonly url: string;
  readonly contentType?: string | undefined;
  readonly etag?: string | undefined;
  readonly lastModified?: string | undefined;
}

/** A page document's source: its parent, and the response the crawl already fetched, if any. */
function pageSource(parent: string, got: Fetched | undefined): { body?: Buffer; options: Record<string, unknown> } {
  if (!got) return { options: { parent } };
  const fetched: Prefetched = { url: got.url, contentType: got.contentType, etag: got.etag, lastModified: got.lastModified };
  return { body: got.bytes, options: { parent, fetched } };
}

/** The crawl's response stored with a page document (consumed by its job instead of fetching the page again). */
function prefetchedOf(source: { body?: Buffer; options: Record<string, unknown> } | undefined): Fetched | undefined {
  const meta = source?.options.fetched as Prefetched | undefined;
  if (!source?.body || !meta || typeof meta.url !== 'string') return undefined;
  return { bytes: source.body, url: meta.url, contentType: meta.contentType, etag: meta.etag, lastModified: meta.lastModified };
}

/** A sitemap/crawl document: one child document (and job) per page; the parent itself holds no chunks. */
async function ingestSite(deps: IngestDeps, doc: KnowledgeDocument, source: { options: Record<string, unknown>; etag?: string; lastModified?: string }, reason: string): Promise<IngestOutcome> {
  const url = doc.url!;
  const opts = source.options as CrawlOptions;
  const conditional = reason === 'recheck' && doc.status === 'ready' && !opts.crawl;
  const first = await fetchPage(deps, url, conditional ? source : {});
  if (!first) {
    await deps.repo.markChecked(doc.id, { etag: source.etag, lastModified: source.lastModified });
    return { status: 'unchanged', why: 'not modified' };
  }
  const { pages, fetched } = await discoverPages(deps, url, first, opts);
  const existing = await deps.repo.childDocuments(doc.id);
  let created = 0;
  // a page the crawl fetched keeps its response for its own job: each page is fetched once per crawl
  for (const page of pages) {
    const got = fetched.get(page);
    const known = existing.get(page);
    if (known) {
      if (!got) continue;
      await deps.repo.saveSource(known, pageSource(doc.id, got));
      await deps.enqueue(known, 'recheck');
      continue;
    }
    const id = await deps.repo.createDocument({ account: doc.account, title: page, sourceKind: 'url', url: page });
    await deps.repo.saveSource(id, pageSource(doc.id, got));
    await deps.enqueue(id, 'new');
    created += 1;
  }
  await deps.repo.saveSource(doc.id, { options: { ...source.options, pages: pages.length } });
  const saved = await deps.repo.replaceChunks(doc.id, sha256(pages.join('\n')), []);
  if (!saved) return { status: 'missing' };
  await deps.repo.markChecked(doc.id, { etag: first.etag, lastModified: first.lastModified });
  deps.log?.info('knowledge site read', { documentId: doc.id, pages: pages.length, created });
  return { status: 'pages', pages: pages.length, created };
}

async function run(deps: IngestDeps, doc: KnowledgeDocument, reason: string, final: boolean): Promise<IngestOutcome> {
  const source = await deps.repo.readSource(doc.id);
  const limits = { maxChars: deps.env.KNOWLEDGE_MAX_CHARS, timeoutMs: deps.env.KNOWLEDGE_FETCH_TIMEOUT_MS };
  if (doc.sourceKind === 'sitemap') {
    if (!doc.url) throw new Permanent('a sitemap document without a URL');
    return ingestSite(deps, doc, source ?? { options: {} }, reason);
  }
  if (doc.sourceKind === 'url') {
    if (!doc.url) throw new Permanent('a URL document without a URL');
    const conditional = reason === 'recheck' && doc.status === 'ready';
    const prefetched = prefetchedOf(source);
    const got = prefetched ?? (await fetchPage(deps, doc.url, conditional && source ? source : {}));
    if (!got) {
      await deps.repo.markChecked(doc.id, { etag: source?.etag, lastModified: source?.lastModified });
      return { status: 'unchanged', why: 'not modified' };
    }
    // the crawl's response is read once; later re-checks fetch the page (conditionally) again
    const consumed = async () => {
      if (prefetched && source) await deps.repo.saveSource(doc.id, { options: Object.fromEntries(Object.entries(source.options).filter(([k]) => k !== 'fetched')) });
    };
    let outcome: IngestOutcome;
    try {
      const format = formatOf(got.bytes, { mimeType: got.contentType, filename: new URL(got.url).pathname });
      const extracted = await extractDocument(got.bytes, format, limits);
      outcome = await store(deps, doc, extracted.text);
    } catch (err) {
      // a retry reads the same response; after the last attempt the page is fetched afresh next time
      if (!retryable(err) || final) await consumed();
      throw err;
    }
    if (outcome.status !== 'missing') {
      await consumed();
      await deps.repo.markChecked(doc.id, { etag: got.etag, lastModified: got.lastModified });
    }
    return outcome;
  }
  if (!source) throw new Permanent('the document has no stored source (upload it again)');
  if (source.text !== undefined) {
    const text = source.text.slice(0, deps.env.KNOWLEDGE_MAX_CHARS).trim();
    if (!text) throw new Permanent('the text is empty');
    return store(deps, doc, text);
  }
  if (!source.body) throw new Permanent('the document has no stored source (upload it again)');
  if (source.body.length > deps.env.KNOWLEDGE_MAX_BYTES) throw new Permanent(`the file is too large (${source.body.length} bytes, over KNOWLEDGE_MAX_BYTES ${deps.env.KNOWLEDGE_MAX_BYTES})`);
  const mimeType = typeof source.options.mimeType === 'string' ? source.options.mimeType : undefined;
  const format = formatOf(source.body, { mimeType, filename: doc.filename });
  const extracted = await extractDocument(source.body, format, limits);
  return store(deps, doc, extracted.text);
}

/**
 * Reads document `documentId` from its source into the knowledge base. A failure that a retry
 * cannot fix (a refused or private URL, a 404, an unreadable or oversized file) marks the document
 * failed with a clear reason and resolves; a passing one (network, 5xx, the embeddings endpoint)
 * throws so the queue retries, and on the `final` attempt marks it failed instead.
 */
export async function ingestDocument(deps: IngestDeps, documentId: string, opts: { readonly reason?: 'new' | 'recheck' | 'reingest'; readonly final?: boolean } = {}): Promise<IngestOutcome> {
  const doc = await deps.repo.getDocument(documentId);
  if (!doc) return { status: 'missing' };
  try {
    return await run(deps, doc, opts.reason ?? 'new', opts.final ?? false);
  } catch (err) {
    const reason = reasonOf(err);
    if (retryable(err) && !opts.final) throw err;
    // a re-check that fails leaves a ready document searchable as it was; it is retried at the next re-check
    if (opts.reason === 'recheck' && doc.status === 'ready') {
      deps.log?.warn('knowledge re-check failed; the document keeps its content', { documentId, reason });
      await deps.repo.markChecked(documentId, {});
      return { status: 'failed', reason };
    }
    await deps.repo.failDocument(documentId, reason);
    deps.log?.warn('knowledge document failed', { documentId, reason });
    return { status: 'failed', reason };
  }
}
