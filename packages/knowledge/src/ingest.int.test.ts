/**
 * Ingestion on a real PostgreSQL with the fake embeddings endpoint and a fake website on loopback
 * (pages, sitemaps, robots.txt, ETag/304), fetched through the real guarded fetcher: loopback is
 * allowed only for the site's own origin (FETCH_ALLOWED_ORIGINS); everything else is checked.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@switchboard/core';
import { createGuardedFetcher } from '@switchboard/fetch';
import { openStore, type Store } from '@switchboard/store';
import { createTestDatabase, minimalPdf, startFakeOpenAI, type FakeOpenAI, type TestDatabase } from '@switchboard/testkit';
import { Embedder } from './embeddings';
import { ingestDocument, type IngestDeps } from './ingest';
import { KnowledgeBase } from './knowledge-base';
import { KnowledgeRepo } from './knowledge.repo';
import { parseRobots } from './robots';

const log = createLogger({ service: 'kb-test', silent: true });
let db: TestDatabase;
let store: Store;
let fake: FakeOpenAI;
let site: Server;
let origin: string;
let repo: KnowledgeRepo;
let kb: KnowledgeBase;
let deps: IngestDeps;
const enqueued: string[] = [];
const requests: Array<{ path: string; ifNoneMatch?: string | undefined; ua?: string | undefined }> = [];

const page = (title: string, body: string, links: string[] = []) =>
  `<!doctype html><html><head><title>${title}</title></head><body><nav><a href="/">Home</a></nav><article><h1>${title}</h1><p>${body}</p>${links.map((l) => `<p><a href="${l}">${l}</a></p>`).join('')}</article></body></html>`;
const long = (s: string) => `${s} `.repeat(12);

/** The fake website: path → [content type, body]; `/etag` answers 304 to its own ETag. */
const pages = new Map<string, [string, string | Buffer]>();
let etagBody = long('Our shop opens at nine in the morning from Monday to Saturday.');
const etagOf = () => `"v${etagBody.length}-${etagBody.charCodeAt(20)}"`;

beforeAll(async () => {
  db = await createTestDatabase();
  store = await openStore({ url: db.url, log, poolMax: 3 });
  fake = await startFakeOpenAI();
  site = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    requests.push({ path, ifNoneMatch: req.headers['if-none-match'], ua: req.headers['user-agent'] });
    if (path === '/down') {
      res.writeHead(503).end();
      return;
    }
    if (path === '/etag') {
      if (req.headers['if-none-match'] === etagOf()) {
        res.writeHead(304).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html', etag: etagOf() }).end(page('Opening hours', etagBody));
      return;
    }
    const hit = pages.get(path);
    if (!hit) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': hit[0] }).end(hit[1]);
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  const sm = (locs: string[]) => `<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${locs.map((l) => `<url><loc>${l}</loc></url>`).join('')}</urlset>`;
  pages.set('/robots.txt', ['text/plain', 'User-agent: *\nDisallow: /private\n\nUser-agent: otherbot\nDisallow: /\n']);
  pages.set('/', ['text/html', page('Home', long('Welcome to the shop.'), ['/a', '/b', '/private/secret', 'https://elsewhere.example/x'])]);
  pages.set('/a', ['text/html', page('Shipping', long('We ship to Germany within three days.'), ['/a/deep'])]);
  pages.set('/a/deep', ['text/html', page('Deep', long('Deep page of the shipping section.'), ['/a/deep/deeper'])]);
  pages.set('/a/deep/deeper', ['text/html', page('Deeper', long('Too deep to be crawled.'))]);
  pages.set('/b', ['text/html', page('Returns', long('Returns are accepted within thirty days.'))]);
  pages.set('/private/secret', ['text/html', page('Secret', long('Robots say no.'))]);
  pages.set('/sitemap.xml', ['application/xml', `<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>${origin}/sitemap-1.xml</loc></sitemap></sitemapindex>`]);
  pages.set('/sitemap-1.xml', ['application/xml', sm([`${origin}/a`, `${origin}/b`, `${origin}/private/secret`, 'https://elsewhere.example/page'])]);
  pages.set('/binary', ['application/octet-stream', Buffer.from([0, 1, 2, 3, 0, 255, 254, 0, 9])]);
  pages.set('/huge', ['text/html', `<html><body>${'x'.repeat(70 * 1024)}</body></html>`]);
  repo = new KnowledgeRepo(store.db, store.vector.mode);
  kb = new KnowledgeBase(repo, new Embedder(store.db, { apiKey: 'sk-test', baseURL: fake.url, model: 'text-embedding-3-small', dimensions: 32 }));
  const fetcher = createGuardedFetcher({ FETCH_ALLOWED_ORIGINS: [origin], FETCH_MAX_REDIRECTS: 3 }, { timeoutMs: 5000, maxBytes: 1024 * 1024 }, { log });
  deps = {
    repo,
    embedder: kb.embedder,
    fetcher,
    env: { KNOWLEDGE_MAX_BYTES: 64 * 1024, KNOWLEDGE_MAX_CHARS: 100_000, KNOWLEDGE_CRAWL_MAX_PAGES: 50, KNOWLEDGE_CRAWL_MAX_DEPTH: 2, KNOWLEDGE_FETCH_TIMEOUT_MS: 5000 },
    enqueue: async (id) => {
      enqueued.push(id);
    },
    log,
  };
});
afterAll(async () => {
  await new Promise((r) => site.close(r));
  await fake.close();
  await store.close();
  await db.drop();
});

async function textDoc(text: string, account?: string): Promise<string> {
  const id = await repo.createDocument({ title: 'Notes', sourceKind: 'text', account });
  await repo.saveSource(id, { text });
  return id;
}

test('text: chunked, embedded, searchable; the same text again embeds nothing', async () => {
  const id = await textDoc('# Payment\n\nWe accept Visa, Mastercard and PayPal for every order.');
  const out = await ingestDocument(deps, id);
  expect(out).toMatchObject({ status: 'ready', chunks: 1, embedded: 1 });
  expect(await repo.getDocument(id)).toMatchObject({ status: 'ready', chunks: 1 });
  expect((await kb.search('PayPal'))[0]).toMatchObject({ documentId: id, heading: 'Payment' });
  // another document with the same text: the embedding comes from the cache
  const twin = await textDoc('# Payment\n\nWe accept Visa, Mastercard and PayPal for every order.');
  expect(await ingestDocument(deps, twin)).toMatchObject({ status: 'ready', embedded: 0 });
  // the same document again: nothing to do
  expect(await ingestDocument(deps, id, { reason: 'reingest' })).toEqual({ status: 'unchanged', why: 'same content' });
});

test('uploads: HTML through Readability, PDF, CSV FAQ; binary and oversized files fail clearly', async () => {
  const upload = async (filename: string, body: Buffer) => {
    const id = await repo.createDocument({ title: filename, sourceKind: 'file', filename });
    await repo.saveSource(id, { body });
    return { id, out: await ingestDocument(deps, id) };
  };
  const html = await upload('about.html', Buffer.from(page('About us', long('Family business since 1952 in Hamburg.'))));
  expect(html.out.status).toBe('ready');
  const hit = (await kb.search('Hamburg 1952'))[0]!;
  expect(hit.documentId).toBe(html.id);
  expect(hit.text).not.toContain('Home'); // the menu is not content
  const pdf = await upload('hours.pdf', minimalPdf(['Opening hours', 'Monday to Friday 9-18']));
  expect(pdf.out.status).toBe('ready');
  expect((await kb.search('Monday Friday'))[0]?.documentId).toBe(pdf.id);
  const csv = await upload('faq.csv', Buffer.from('question,answer\nDo you ship to Austria?,Yes within five days\nCan I pay by invoice?,Only business customers\n'));
  expect(csv.out).toMatchObject({ status: 'ready', chunks: 2 });
  expect((await kb.search('invoice'))[0]).toMatchObject({ documentId: csv.id, heading: 'Can I pay by invoice?' });

  const bin = await upload('blob.bin', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0, 1, 2, 3]));
  expect(bin.out).toMatchObject({ status: 'failed' });
  expect((await repo.getDocument(bin.id))?.error).toMatch(/not a readable document: binary or unknown format/);
  const huge = await upload('huge.txt', Buffer.alloc(65 * 1024, 'a'));
  expect((await repo.getDocument(huge.id))).toMatchObject({ status: 'failed', error: expect.stringMatching(/too large .*KNOWLEDGE_MAX_BYTES/) });
});

test('URL: fetched and read; a re-check sends the ETag: 304 keeps everything, a change replaces the chunks', async () => {
  const id = await repo.createDocument({ title: 'Hours', sourceKind: 'url', url: `${origin}/etag` });
  await repo.saveSource(id, {});
  expect(await ingestDocument(deps, id)).toMatchObject({ status: 'ready' });
  const first = await repo.readSource(id);
  expect(first?.etag).toBe(etagOf());
  expect(first?.checkedAt).toBeInstanceOf(Date);
  expect((await kb.search('nine morning'))[0]?.documentId).toBe(id);
  const calls = fake.embeddingInputs.length;

  expect(await ingestDocument(deps, id, { reason: 'recheck' })).toEqual({ status: 'unchanged', why: 'not modified' });
  expect(requests.filter((r) => r.path === '/etag').at(-1)?.ifNoneMatch).toBe(etagOf());
  expect(fake.embeddingInputs.length).toBe(calls);

  etagBody = long('From December the shop opens at ten on weekdays only.');
  expect(await ingestDocument(deps, id, { reason: 'recheck' })).toMatchObject({ status: 'ready', embedded: 1 });
  expect((await kb.search('December weekdays'))[0]?.documentId).toBe(id);
  // the old text is gone (vector search still ranks other chunks: only the words matter here)
  expect((await kb.search('nine morning')).some((h) => h.text.includes('nine in the morning'))).toBe(false);
  expect(await repo.getDocument(id)).toMatchObject({ chunks: 1 });
  expect((await repo.readSource(id))?.etag).toBe(etagOf());
});

test('URL failures: a private address is refused, a 404 and a binary page fail with a reason', async () => {
  const doc = async (url: string) => {
    const id = await repo.createDocument({ title: url, sourceKind: 'url', url });
    await repo.saveSource(id, {});
    await ingestDocument(deps, id);
    return repo.getDocument(id);
  };
  // 127.0.0.1 on another port is not the allowed origin: refused before any connection
  expect(await doc('http://127.0.0.1:9/admin')).toMatchObject({ status: 'failed', error: expect.stringMatching(/^refused to fetch: 127\.0\.0\.1 is not a public address/) });
  expect(await doc('http://10.0.0.8/')).toMatchObject({ status: 'failed', error: expect.stringMatching(/refused to fetch: .*not a public address/) });
  expect(await doc('file:///etc/passwd')).toMatchObject({ status: 'failed', error: expect.stringMatching(/refused to fetch/) });
  expect(await doc(`${origin}/missing`)).toMatchObject({ status: 'failed', error: `${origin}/missing answered HTTP 404` });
  expect(await doc(`${origin}/binary`)).toMatchObject({ status: 'failed', error: expect.stringMatching(/not a readable document/) });
  expect(await doc(`${origin}/huge`)).toMatchObject({ status: 'failed', error: expect.stringMatching(/^too large: response larger than 65536 bytes/) });
});

test('a passing failure (HTTP 503) throws for the queue to retry; the last attempt marks the document failed', async () => {
  const id = await repo.createDocument({ title: 'down', sourceKind: 'url', url: `${origin}/down` });
  await repo.saveSource(id, {});
  await expect(ingestDocument(deps, id)).rejects.toThrow(`${origin}/down answered HTTP 503`);
  expect(await repo.getDocument(id)).toMatchObject({ status: 'pending' });
  expect(await ingestDocument(deps, id, { final: true })).toEqual({ status: 'failed', reason: `${origin}/down answered HTTP 503` });
  expect(await repo.getDocument(id)).toMatchObject({ status: 'failed', error: `${origin}/down answered HTTP 503` });
});

test('sitemap (index → urlset): one child document per same-origin page robots.txt allows; the parent has 0 chunks', async () => {
  enqueued.length = 0;
  const id = await repo.createDocument({ title: 'Site', sourceKind: 'sitemap', url: `${origin}/sitemap.xml`, account: 'shop-de' });
  await repo.saveSource(id, {});
  expect(await ingestDocument(deps, id)).toEqual({ status: 'pages', pages: 2, created: 2 });
  expect(await repo.getDocument(id)).toMatchObject({ status: 'ready', chunks: 0 });
  expect((await repo.readSource(id))?.options).toMatchObject({ pages: 2 });
  const children = await repo.childDocuments(id);
  expect([...children.keys()].sort()).toEqual([`${origin}/a`, `${origin}/b`]);
  expect(enqueued.sort()).toEqual([...children.values()].sort());
  for (const child of children.values()) {
    expect(await repo.getDocument(child)).toMatchObject({ sourceKind: 'url', account: 'shop-de', status: 'pending' });
    expect(await ingestDocument(deps, child)).toMatchObject({ status: 'ready' });
  }
  expect((await kb.search('thirty days', { account: 'shop-de' }))[0]?.url).toBe(`${origin}/b`);
  // read again: no duplicates
  enqueued.length = 0;
  expect(await ingestDocument(deps, id, { reason: 'recheck' })).toEqual({ status: 'pages', pages: 2, created: 0 });
  expect(enqueued).toEqual([]);
  expect(requests.some((r) => r.path.startsWith('/private'))).toBe(false);
});

test('crawl: same origin, bounded depth and pages, robots.txt respected', async () => {
  const crawl = async (options: Record<string, unknown>) => {
    const id = await repo.createDocument({ title: 'Crawl', sourceKind: 'sitemap', url: `${origin}/` });
    await repo.saveSource(id, { options: { crawl: true, ...options } });
    const out = await ingestDocument(deps, id);
    return { out, urls: [...(await repo.childDocuments(id)).keys()].map((u) => u.slice(origin.length)).sort() };
  };
  const deep = await crawl({});
  expect(deep.out).toMatchObject({ status: 'pages', pages: 4 });
  expect(deep.urls).toEqual(['/', '/a', '/a/deep', '/b']); // depth 2: not /a/deep/deeper; never /private; never elsewhere
  expect(requests.some((r) => r.path.startsWith('/private') || r.path === '/a/deep/deeper')).toBe(false);
  expect(requests.find((r) => r.path === '/robots.txt')?.ua).toMatch(/^switchboard-gateway\//);
  expect((await crawl({ maxDepth: 1 })).urls).toEqual(['/', '/a', '/b']);
  expect((await crawl({ maxPages: 2 })).urls).toEqual(['/', '/a']);
});

test('crawl: each page is fetched once (its job reads what discovery fetched); later re-checks send its validators', async () => {
  const hits = new Map<string, number>();
  const conditional: string[] = [];
  const html = new Map<string, string>([
    ['/', page('Start', long('The crawl starts here.'), ['/p1', '/p2', '/no/way'])],
    ['/p1', page('Delivery', long('Parcels leave the warehouse every afternoon.'), ['/p1/leaf', '/'])],
    ['/p2', page('Warranty', long('Every lamp has a two year warranty.'), ['/p1'])],
    ['/p1/leaf', page('Leaf', long('Gift wrapping costs three euros per parcel.'))],
  ]);
  const lastModified = 'Tue, 01 Dec 2026 10:00:00 GMT';
  const tiny = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path === '/robots.txt') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('User-agent: *\nDisallow: /no\n');
    const body = html.get(path);
    if (!body) return void res.writeHead(404).end();
    const etag = `"e${path.length}-${body.length}"`;
    if (req.headers['if-none-match'] === etag || req.headers['if-modified-since'] === lastModified) {
      conditional.push(path);
      return void res.writeHead(304).end();
    }
    res.writeHead(200, { 'content-type': 'text/html', etag, 'last-modified': lastModified }).end(body);
  });
  await new Promise<void>((r) => tiny.listen(0, '127.0.0.1', r));
  try {
    const base = `http://127.0.0.1:${(tiny.address() as AddressInfo).port}`;
    const queued: Array<{ id: string; reason: 'new' | 'recheck' }> = [];
    const crawlDeps: IngestDeps = {
      ...deps,
      fetcher: createGuardedFetcher({ FETCH_ALLOWED_ORIGINS: [base], FETCH_MAX_REDIRECTS: 3 }, { timeoutMs: 5000, maxBytes: 1024 * 1024 }, { log }),
      enqueue: async (id, reason) => {
        queued.push({ id, reason });
      },
    };
    const drain = async () => {
      const jobs = queued.splice(0);
      for (const job of jobs) await ingestDocument(crawlDeps, job.id, { reason: job.reason });
      return jobs;
    };
    const id = await repo.createDocument({ title: 'Tiny', sourceKind: 'sitemap', url: `${base}/`, account: 'tiny' });
    await repo.saveSource(id, { options: { crawl: true, maxDepth: 2 } });
    expect(await ingestDocument(crawlDeps, id)).toEqual({ status: 'pages', pages: 4, created: 4 });
    expect((await drain()).map((j) => j.reason)).toEqual(['new', 'new', 'new', 'new']);
    // one request per page and one robots.txt for the crawl and all its page jobs together
    expect(Object.fromEntries(hits)).toEqual({ '/robots.txt': 1, '/': 1, '/p1': 1, '/p2': 1, '/p1/leaf': 1 });
    const children = await repo.childDocuments(id);
    for (const child of children.values()) expect(await repo.getDocument(child)).toMatchObject({ status: 'ready', chunks: 1, account: 'tiny' });
    expect((await kb.search('gift wrapping parcel', { account: 'tiny' }))[0]?.url).toBe(`${base}/p1/leaf`);
    expect((await kb.search('warranty lamp', { account: 'tiny' }))[0]?.url).toBe(`${base}/p2`);
    // the crawl's response is not kept once read; its validators are
    const p2 = children.get(`${base}/p2`)!;
    const p2Source = await repo.readSource(p2);
    expect(p2Source?.body).toBeUndefined();
    expect(p2Source?.options).toEqual({ parent: id });
    expect(p2Source).toMatchObject({ etag: `"e3-${html.get('/p2')!.length}"`, lastModified });

    // a scheduled re-check of a page: a conditional GET with the crawl's validators → 304, nothing re-read
    expect(await ingestDocument(crawlDeps, p2, { reason: 'recheck' })).toEqual({ status: 'unchanged', why: 'not modified' });
    expect(conditional).toEqual(['/p2']);
    expect(hits.get('/p2')).toBe(2);

    // re-crawling: the pages discovery fetches are handed to their documents' re-check jobs, not fetched again
    html.set('/p2', page('Warranty', long('Every lamp now has a five year warranty.'), ['/p1']));
    expect(await ingestDocument(crawlDeps, id, { reason: 'recheck' })).toEqual({ status: 'pages', pages: 4, created: 0 });
    const rechecks = await drain();
    expect(rechecks.map((j) => j.reason)).toEqual(['recheck', 'recheck', 'recheck']);
    expect(Object.fromEntries(hits)).toEqual({ '/robots.txt': 2, '/': 2, '/p1': 2, '/p2': 3, '/p1/leaf': 1 });
    expect((await kb.search('five year warranty', { account: 'tiny' }))[0]?.url).toBe(`${base}/p2`);
    expect((await kb.search('two year warranty', { account: 'tiny' })).some((h) => h.text.includes('two year'))).toBe(false);
  } finally {
    await new Promise((r) => tiny.close(r));
  }
});

test('robots.txt: our group over *, longest match, Allow wins a tie, wildcards', () => {
  const r = parseRobots('User-agent: *\nDisallow: /\n\nUser-agent: switchboard-gateway\nUser-agent: other\nDisallow: /shop/\nAllow: /shop/faq\nDisallow: /*.pdf$\n', 'switchboard-gateway');
  expect(r.allowed('/about')).toBe(true);
  expect(r.allowed('/shop/cart')).toBe(false);
  expect(r.allowed('/shop/faq/1')).toBe(true);
  expect(r.allowed('/files/a.pdf')).toBe(false);
  expect(r.allowed('/files/a.pdf?x')).toBe(true);
  expect(parseRobots('User-agent: *\nDisallow: /\n', 'switchboard-gateway').allowed('/x')).toBe(false);
  expect(parseRobots('User-agent: *\nDisallow:\n', 'switchboard-gateway').allowed('/x')).toBe(true);
});
