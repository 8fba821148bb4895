/**
 * The HTTP API's knowledge routes on a real PostgreSQL and a real Redis: API keys (none, wrong,
 * right; the key's name logged, never its secret), every route with its errors, one `knowledge`
 * job per new document, and search finding an ingested document until it is deleted. The worker
 * is stood in for by `KnowledgeRepo.replaceChunks`.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentKeys, UnansweredQuestions } from '@switchboard/agent';
import request from 'supertest';
import { Redis } from 'ioredis';
import { ChannelId, createMetricsRegistry, silentLogger, type Logger } from '@switchboard/core';
import { chunkDocument, Embedder, KnowledgeBase, KnowledgeRepo } from '@switchboard/knowledge';
import { createRedis, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import { openStore, type Store } from '@switchboard/store';
import { createTestDatabase, dropPrefix, fakeEmbedding, startFakeOpenAI, testRedisUrl, uniquePrefix, type TestDatabase } from '@switchboard/testkit';
import { parseApiKeys } from './api/api';
import { createPreviewAgents } from './api/preview-agents';
import { createAdminApp } from './app';

const SECRET = 'kb-api-secret-0123456789abcdef';
const OTHER = 'other-team-secret-0123456789';
const KEYS = parseApiKeys(`ops:${SECRET}, crm:${OTHER}`);
const AUTH = { user: 'ops', password: 'kb console password' };
const bearer = `Bearer ${SECRET}`;
const basic = `Basic ${Buffer.from(`${AUTH.user}:${AUTH.password}`).toString('base64')}`;
const MAX_UPLOAD = 64 * 1024;
/** Two channels of the registry (which ones does not matter here). */
const [CH1, CH2] = [ChannelId.options[0]!, ChannelId.options[1]!];

function recordingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (msg: string, meta?: unknown) => {
    lines.push(JSON.stringify({ level, msg, meta }));
  };
  return { log: { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } as unknown as Logger, lines };
}

const hash = (s: string) => createHash('sha256').update(s).digest('hex');

describe('knowledge API (real PostgreSQL and Redis)', () => {
  const prefix = uniquePrefix('kbapi');
  let db: TestDatabase;
  let store: Store;
  let repo: KnowledgeRepo;
  let redis: RedisClient;
  let producers: Producers;
  let app: ReturnType<typeof createAdminApp>;
  let noStore: ReturnType<typeof createAdminApp>;
  let withAccounts: ReturnType<typeof createAdminApp>;
  const { log, lines } = recordingLogger();

  beforeAll(async () => {
    db = await createTestDatabase('kb_api');
    store = await openStore({ url: db.url, log: silentLogger(), poolMax: 3 });
    repo = new KnowledgeRepo(store.db, store.vector.mode);
    redis = createRedis(testRedisUrl(), 'producer');
    redis.on('error', () => undefined);
    await waitReady(redis);
    producers = new Producers(redis, prefix);
    const base = { registry: createMetricsRegistry({ service: 'kb-api-test' }), redis, producers, prefix, auth: AUTH, apiKeys: KEYS, maxUploadBytes: MAX_UPLOAD };
    app = createAdminApp({ ...base, log, knowledge: new KnowledgeBase(repo, undefined) });
    withAccounts = createAdminApp({
      ...base,
      registry: createMetricsRegistry({ service: 'kb-api-test-3' }),
      log: silentLogger(),
      knowledge: new KnowledgeBase(repo, undefined),
      accountsFile: { path: '/dev/null', entries: [{ id: 'shop-de', channel: CH1, fields: {}, where: 'accounts[0] (shop-de)' }] },
    });
    noStore = createAdminApp({ ...base, registry: createMetricsRegistry({ service: 'kb-api-test-2' }), log: silentLogger() });
  });

  afterAll(async () => {
    await producers.close();
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
    redis.disconnect();
    await store.close();
    await db.drop();
  });

  const knowledgeJobs = async () => (await producers.queue('knowledge').getJobs(['waiting', 'delayed', 'active', 'prioritized'])).map((j) => ({ id: j.id, data: j.data as unknown }));

  it('answers 401 {error: unauthorized} without a key, with a wrong one, and to everything when no keys are configured', async () => {
    for (const auth of [undefined, 'Bearer wrong-secret-0123456789', `Basic ${Buffer.from(`x:${SECRET}`).toString('base64')}`, `Bearer ${SECRET}x`]) {
      const req = request(app).get('/api/v1/knowledge/documents');
      const res = auth ? await req.set('Authorization', auth) : await req;
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: 'unauthorized', message: expect.any(String) });
    }
    const closed = createAdminApp({ log: silentLogger(), registry: createMetricsRegistry({ service: 'kb-api-closed' }), redis, producers, prefix, auth: AUTH, knowledge: new KnowledgeBase(repo, undefined) });
    const res = await request(closed).get('/api/v1/knowledge/documents').set('Authorization', bearer);
    expect(res.status).toBe(401);
    expect(res.body.message).toMatch(/API_KEYS/);
    // the console's basic auth does not open the API
    expect((await request(app).get('/api/v1/knowledge/documents').set('Authorization', basic)).status).toBe(401);
  });

  it('serves a right key; logs the key name, never a secret', async () => {
    lines.length = 0;
    const res = await request(app).get('/api/v1/knowledge/documents').set('Authorization', `Bearer ${OTHER}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: expect.any(Array) });
    await request(app).get('/api/v1/knowledge/documents').set('Authorization', 'Bearer not-the-secret-000000');
    const all = lines.join('\n');
    expect(all).toContain('"key":"crm"');
    expect(all).toContain('api request refused');
    expect(all).not.toContain(OTHER);
    expect(all).not.toContain(SECRET);
    expect(all).not.toContain('not-the-secret');
  });

  it('unknown API routes and malformed bodies answer {error, message} with stable codes', async () => {
    const nf = await request(app).get('/api/v1/nothing-here').set('Authorization', bearer);
    expect(nf.status).toBe(404);
    expect(nf.body).toMatchObject({ error: 'not_found' });
    const bad = await request(app).post('/api/v1/knowledge/documents').set('Authorization', bearer).set('Content-Type', 'application/json').send('{"title":');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: 'invalid_json', message: expect.any(String) });
    const neither = await request(app).post('/api/v1/knowledge/documents').set('Authorization', bearer).send({ title: 'x' });
    expect(neither.status).toBe(400);
    expect(neither.body.error).toBe('invalid_request');
    const xml = await request(app).post('/api/v1/knowledge/documents').set('Authorization', bearer).set('Content-Type', 'application/xml').send('<a/>');
    expect(xml.status).toBe(415);
    expect(xml.body.error).toBe('unsupported_format');
  });

  it('POST {title, text} → 202 {id, status}, the source saved, exactly one knowledge job naming the document', async () => {
    const before = await knowledgeJobs();
    const res = await request(app).post('/api/v1/knowledge/documents').set('Authorization', bearer).send({ title: 'Returns', text: '# Returns\n\nReturn any item within 30 days.', account: 'shop-de' });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id: expect.stringMatching(/^doc_/), status: 'pending' });
    const id = res.body.id as string;
    expect(await repo.readSource(id)).toMatchObject({ text: '# Returns\n\nReturn any item within 30 days.' });
    const jobs = (await knowledgeJobs()).filter((j) => !before.some((b) => b.id === j.id));
    expect(jobs).toEqual([{ id: expect.any(String), data: { documentId: id, reason: 'new' } }]);
    const got = await request(app).get(`/api/v1/knowledge/documents/${id}`).set('Authorization', bearer);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id, title: 'Returns', status: 'pending', chunks: 0, account: 'shop-de' });
  });

  it('POST {url} (http(s) only; sitemap and crawl options kept for the worker) and rejects bad URLs and accounts', async () => {
    const page = await request(app).post('/api/v1/knowledge/documents').set('Authorization', bearer).send({ url: 'https://shop.example/returns' });
    expect(page.status).toBe(202);
    expect(await repo.getDocument(page.body.id)).toMatchObject({ sourceKind: 'url', url: 'https://shop.example/returns', title: 'https://shop.example/returns' });
    const map = await request(app).post('/api/v1/knowledge/documents').set('Authorization', bearer).send({ url: 'https://shop.example/sitemap.xml', sitemap: true, crawl: { maxPages: 50 } });
    expect(map.status).toBe(202);
    expect(await repo.getDocument(map.body.id)).toMatchObject({ sourceKind: 'sitemap' });
    expect(await repo.readSource(map.body.id)).toMatchObject({ options: { sitemap: true, crawl: { maxPages: 50 } } });
    for (const body of [{ url: 'file:///etc/passwd' }, { url: 'ftp://shop.example/x' }, { url: 'not a url' }, { url: 'https://user:pw@shop.example/' }, { url: 'https://shop.example/', account: 'Shop_DE' }, { title: 't', text: 'x', account: 'a'.repeat(41) }]) {
      const res = await request(app).post('/api/v1/knowledge/documents').set('Authorization', bearer).send(body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'invalid_request', message: expect.any(String) });
    }
  });

  it('multipart upload: a sniffed format → 202; unknown format → 415; too large → 413; no file → 400; nothing enqueued for refusals', async () => {
    const ok = await request(app).post('/api/v1/knowledge/documents').set('Authorization', bearer).field('account', 'shop-de').attach('file', Buffer.from('# Shipping\n\nWe ship within 2 days.'), { filename: 'shipping.md', contentType: 'text/markdown' });
    expect(ok.status).toBe(202);
    expect(await repo.getDocument(ok.body.id)).toMatchObject({ title: 'shipping', sourceKind: 'file', filename: 'shipping.md', account: 'shop-de' });
    expect(await repo.readSource(ok.body.id)).toMatchObject({ body: Buffer.from('# Shipping\n\nWe ship within 2 days.'), options: { format: 'markdown' } });

    const before = (await knowledgeJobs()).length;
    const docsBefore = (await repo.listDocuments()).length;
    // a ZIP that is neither DOCX nor XLSX, named .pdf: the bytes decide
    const zip = Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(100, 1)]);
    const unknown = await request(app).post('/api/v1/knowledge/documents').set('Authorization', bearer).attach('file', zip, { filename: 'policy.pdf', contentType: 'application/pdf' });
    expect(unknown.status).toBe(415);
    expect(unknown.body).toMatchObject({ error: 'unsupported_format', message: expect.stringContaining('policy.pdf') });
    const binary = await request(app).post('/api/v1/knowledge/documents').set('Authorization', bearer).attach('file', Buffer.from([0, 1, 2, 3, 0, 255]), 'blob.bin');
    expect(binary.status).toBe(415);

    const big = await request(app).post('/api/v1/knowledge/documents').set('Authorization', bearer).attach('file', Buffer.alloc(MAX_UPLOAD + 1, 'a'), 'big.txt');
    expect(big.status).toBe(413);
    expect(big.body.error).toBe('payload_too_large');
    const huge = await request(app).post('/api/v1/knowledge/documents').set('Authorization', bearer).attach('file', Buffer.alloc(MAX_UPLOAD * 3, 'a'), 'huge.txt');
    expect(huge.status).toBe(413);
    expect(huge.body.error).toBe('payload_too_large');

    const noFile = await request(app).post('/api/v1/knowledge/documents').set('Authorization', bearer).field('title', 'nothing');
    expect(noFile.status).toBe(400);
    expect(noFile.body.error).toBe('invalid_request');
    const badAccount = await request(app).post('/api/v1/knowledge/documents').set('Authorization', bearer).field('account', '../etc').attach('file', Buffer.from('hello'), 'a.txt');
    expect(badAccount.status).toBe(400);

    expect((await knowledgeJobs()).length).toBe(before);
    expect((await repo.listDocuments()).length).toBe(docsBefore);
  });

  it('lists documents per account ({items}: own and shared), 404 for an unknown one', async () => {
    const shared = await request(app).post('/api/v1/knowledge/documents').set('Authorization', bearer).send({ title: 'Shared', text: 'For every account.' });
    const fr = await request(app).post('/api/v1/knowledge/documents').set('Authorization', bearer).send({ title: 'FR only', text: 'Seulement.', account: 'shop-fr' });
    const de = await request(app).get('/api/v1/knowledge/documents?account=shop-de').set('Authorization', bearer);
    expect(de.status).toBe(200);
    const ids = (de.body.items as Array<{ id: string }>).map((d) => d.id);
    expect(ids).toContain(shared.body.id);
    expect(ids).not.toContain(fr.body.id);
    const item = (de.body.items as Array<Record<string, unknown>>).find((d) => d.id === shared.body.id)!;
    expect(item).toMatchObject({ id: shared.body.id, title: 'Shared', status: 'pending', chunks: 0 });
    expect(item).not.toHaveProperty('account');
    expect((await request(app).get('/api/v1/knowledge/documents?account=BAD!').set('Authorization', bearer)).status).toBe(400);
    const missing = await request(app).get('/api/v1/knowledge/documents/doc_nope').set('Authorization', bearer);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: 'not_found' });
    const del = await request(app).delete('/api/v1/knowledge/documents/doc_nope').set('Authorization', bearer);
    expect(del.status).toBe(404);
  });

  it('pages the document list: ?limit=&cursor= → {items, next?} in a stable order, documents added between pages neither repeated nor skipped; ?status= filters', async () => {
    const list = (query: string) => request(app).get(`/api/v1/knowledge/documents?${query}`).set('Authorization', bearer);
    const add = async (title: string) => (await request(app).post('/api/v1/knowledge/documents').set('Authorization', bearer).send({ title, text: `${title}.`, account: 'shop-pg' })).body.id as string;
    for (let i = 1; i <= 7; i++) await add(`Paged ${i}`);
    const everything = await list('account=shop-pg&limit=500');
    expect(everything.body.next).toBeUndefined();
    const all = (everything.body.items as Array<{ id: string }>).map((d) => d.id);
    expect(all.length).toBeGreaterThanOrEqual(7);

    const seen: string[] = [];
    const added: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await list(`account=shop-pg&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.status).toBe(200);
      expect((res.body.items as unknown[]).length).toBeLessThanOrEqual(3);
      seen.push(...(res.body.items as Array<{ id: string }>).map((d) => d.id));
      cursor = res.body.next as string | undefined;
      if (cursor) expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      // new documents arrive while the client pages
      if (pages++ < 2) added.push(await add(`Added while paging ${pages}`));
    } while (cursor);
    expect(seen).toEqual(all);
    expect(pages).toBe(Math.ceil(all.length / 3));
    // the new ones come first in a fresh listing, newest first
    expect((await list('account=shop-pg&limit=2')).body.items.map((d: { id: string }) => d.id)).toEqual([...added].reverse());

    // ?status=: only documents in that state (here: one the worker made ready)
    const ready = all[4]!;
    await repo.replaceChunks(ready, hash('Paged.'), chunkDocument('# Paged\n\nReady now.').map((c) => ({ heading: c.heading, text: c.text, contentHash: hash(c.text) })));
    const readyList = await list('account=shop-pg&status=ready&limit=500');
    expect(readyList.status).toBe(200);
    expect((readyList.body.items as Array<{ id: string; status: string }>).map((d) => d.id)).toContain(ready);
    expect((readyList.body.items as Array<{ status: string }>).every((d) => d.status === 'ready')).toBe(true);
    expect((await list('account=shop-pg&status=pending&limit=500')).body.items.map((d: { id: string }) => d.id)).not.toContain(ready);

    for (const bad of ['limit=0', 'limit=501', 'limit=two', 'status=deleted', 'cursor=not-a-cursor', `cursor=${Buffer.from('["yesterday","doc_x"]').toString('base64url')}`]) {
      const res = await list(bad);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'invalid_request', message: expect.any(String) });
    }
  });

  it('an ingested document is found by /search with its score, and no longer after DELETE (204)', async () => {
    const text = '# Returns policy\n\nYou can return any unworn item within 30 days of delivery for a full refund.\n\n# Gift cards\n\nGift cards cannot be refunded.';
    const res = await request(app).post('/api/v1/knowledge/documents').set('Authorization', bearer).send({ title: 'Returns policy', text, account: 'shop-de' });
    const id = res.body.id as string;
    // the worker's part: chunks in, document ready
    await repo.replaceChunks(id, hash(text), chunkDocument(text).map((c) => ({ heading: c.heading, text: c.text, contentHash: hash(c.text) })));
    const doc = await request(app).get(`/api/v1/knowledge/documents/${id}`).set('Authorization', bearer);
    expect(doc.body).toMatchObject({ status: 'ready', chunks: 2 });

    const search = await request(app).post('/api/v1/knowledge/search').set('Authorization', bearer).send({ query: 'how many days to return an item?', account: 'shop-de', k: 3 });
    expect(search.status).toBe(200);
    expect(search.body.hits[0]).toMatchObject({ documentId: id, title: 'Returns policy', text: expect.stringContaining('30 days'), score: expect.any(Number) });
    expect(search.body.hits[0].score).toBeGreaterThan(0);
    // another account does not see shop-de's document
    const other = await request(app).post('/api/v1/knowledge/search').set('Authorization', bearer).send({ query: 'return item days', account: 'shop-fr' });
    expect((other.body.hits as Array<{ documentId: string }>).map((h) => h.documentId)).not.toContain(id);

    expect((await request(app).post('/api/v1/knowledge/search').set('Authorization', bearer).send({ k: 3 })).status).toBe(400);
    expect((await request(app).post('/api/v1/knowledge/search').set('Authorization', bearer).send({ query: 'x', k: 500 })).status).toBe(400);

    const del = await request(app).delete(`/api/v1/knowledge/documents/${id}`).set('Authorization', bearer);
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    const after = await request(app).post('/api/v1/knowledge/search').set('Authorization', bearer).send({ query: 'how many days to return an item?', account: 'shop-de' });
    expect((after.body.hits as Array<{ documentId: string }>).map((h) => h.documentId)).not.toContain(id);
    expect((await request(app).get(`/api/v1/knowledge/documents/${id}`).set('Authorization', bearer)).status).toBe(404);
  });

  it('with an embeddings endpoint, /search embeds the query and fuses vector similarity (hybrid)', async () => {
    const fake = await startFakeOpenAI();
    try {
      const embedder = new Embedder(store.db, { apiKey: 'sk-test', baseURL: fake.url, model: 'text-embedding-3-small', dimensions: 64 });
      const hybrid = createAdminApp({ log: silentLogger(), registry: createMetricsRegistry({ service: 'kb-api-hybrid' }), redis, producers, prefix, auth: AUTH, apiKeys: KEYS, knowledge: new KnowledgeBase(repo, embedder) });
      const text = '# Delivery\n\nParcels to Germany arrive in two working days.';
      const res = await request(hybrid).post('/api/v1/knowledge/documents').set('Authorization', bearer).send({ title: 'Delivery', text });
      const id = res.body.id as string;
      await repo.replaceChunks(id, hash(text), chunkDocument(text).map((c) => ({ heading: c.heading, text: c.text, contentHash: hash(c.text), embedding: fakeEmbedding(`${c.heading}\n${c.text}`) })));
      const search = await request(hybrid).post('/api/v1/knowledge/search').set('Authorization', bearer).send({ query: 'parcels germany' });
      expect(search.status).toBe(200);
      expect(search.body.mode).toBe('hybrid');
      expect(search.body.hits[0]).toMatchObject({ documentId: id, similarity: expect.any(Number) });
      expect(fake.embeddingInputs).toEqual(['parcels germany']);
    } finally {
      await fake.close();
    }
  });

  it('unanswered questions: listed per account (deduped, counted, newest first) and across the known accounts; dismissed by id', async () => {
    const recorder = new UnansweredQuestions(redis, agentKeys(prefix));
    const t0 = Date.parse('2026-11-01T10:00:00Z');
    await recorder.record('shop-de', { question: 'Do you sell helicopter parts?', channel: CH1, turnId: 'a', at: t0 });
    await recorder.record('shop-de', { question: 'Can I pay with gold bars?', channel: CH1, turnId: 'b', at: t0 + 1000 });
    await recorder.record('shop-de', { question: 'do you sell helicopter parts', channel: CH2, turnId: 'c', at: t0 + 2000 });
    await recorder.record('default', { question: 'Is the shop open on Christmas?', channel: CH1, turnId: 'd', at: t0 + 3000 });

    const de = await request(app).get('/api/v1/knowledge/unanswered?account=shop-de').set('Authorization', bearer);
    expect(de.status).toBe(200);
    expect(de.body.items).toEqual([
      { id: expect.stringMatching(/^shop-de\.[0-9a-f]{16}$/), account: 'shop-de', question: 'Do you sell helicopter parts?', count: 2, firstAskedAt: '2026-11-01T10:00:00.000Z', lastAskedAt: '2026-11-01T10:00:02.000Z', channel: CH2 },
      { id: expect.stringMatching(/^shop-de\./), account: 'shop-de', question: 'Can I pay with gold bars?', count: 1, firstAskedAt: '2026-11-01T10:00:01.000Z', lastAskedAt: '2026-11-01T10:00:01.000Z', channel: CH1 },
    ]);
    // without ?account=: every account the console knows (here `default` and the ACCOUNTS_FILE's shop-de), newest first
    const all = await request(withAccounts).get('/api/v1/knowledge/unanswered').set('Authorization', bearer);
    expect((all.body.items as Array<{ question: string }>).map((i) => i.question)).toEqual(['Is the shop open on Christmas?', 'Do you sell helicopter parts?', 'Can I pay with gold bars?']);
    expect((await request(app).get('/api/v1/knowledge/unanswered?account=shop-de&limit=1').set('Authorization', bearer)).body.items).toHaveLength(1);
    expect((await request(app).get('/api/v1/knowledge/unanswered?account=Shop!').set('Authorization', bearer)).status).toBe(400);

    // dismissed: gone, a second time 404; a malformed id is 404 too; the console needs its header
    const id = de.body.items[0].id as string;
    expect((await request(app).delete(`/admin/knowledge/api/unanswered/${id}`).set('Authorization', basic)).status).toBe(403);
    expect((await request(app).delete(`/api/v1/knowledge/unanswered/${id}`).set('Authorization', bearer)).status).toBe(204);
    expect((await request(app).delete(`/api/v1/knowledge/unanswered/${id}`).set('Authorization', bearer)).status).toBe(404);
    expect((await request(app).delete('/api/v1/knowledge/unanswered/nonsense').set('Authorization', bearer)).status).toBe(404);
    const after = await request(app).get('/admin/knowledge/api/unanswered?account=shop-de').set('Authorization', basic);
    expect((after.body.items as Array<{ question: string }>).map((i) => i.question)).toEqual(['Can I pay with gold bars?']);
  });

  it('preview: the account\'s agent answers a test question with the knowledge base as a turn would — sources numbered in the model request, citations rendered — and stores nothing', async () => {
    const fake = await startFakeOpenAI();
    const previewPrefix = uniquePrefix('kbprev');
    const dir = mkdtempSync(join(tmpdir(), 'sb-preview-'));
    try {
      writeFileSync(join(dir, 'default.yaml'), 'knowledge:\n  grounding: open\n');
      writeFileSync(join(dir, 'strict.yaml'), 'knowledge:\n  grounding: strict\nmessages:\n  unknown: "I do not know that yet; a colleague will help you."\n');
      const accountsFile = { path: join(dir, 'accounts.yaml'), entries: [{ id: 'shop-strict', channel: CH1, agent: join(dir, 'strict.yaml'), fields: {}, where: 'accounts[0] (shop-strict)' }] };
      const kb = new KnowledgeBase(repo, undefined);
      const previewAgents = createPreviewAgents({
        env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, LLM_MODEL: 'gpt-4o-mini', LLM_TIMEOUT_MS: 5000, AGENT_CONFIG: join(dir, 'default.yaml'), VISION_MODEL: undefined },
        redis,
        prefix: previewPrefix,
        log: silentLogger(),
        knowledge: kb,
        accountsFile,
        configEnv: {},
      });
      const previewApp = createAdminApp({ log: silentLogger(), registry: createMetricsRegistry({ service: 'kb-api-preview' }), redis, producers, prefix: previewPrefix, auth: AUTH, apiKeys: KEYS, knowledge: kb, accountsFile, previewAgents });

      const text = '# Warranty\n\nEvery espresso machine carries a warranty of three years from the date of purchase.';
      const doc = await request(previewApp).post('/api/v1/knowledge/documents').set('Authorization', bearer).send({ title: 'Warranty', text, account: 'shop-it' });
      await repo.replaceChunks(doc.body.id, hash(text), chunkDocument(text).map((c) => ({ heading: c.heading, text: c.text, contentHash: hash(c.text) })));

      fake.setReply(() => 'Your espresso machine has a three-year warranty [1].');
      const res = await request(previewApp).post('/api/v1/knowledge/preview').set('Authorization', bearer).send({ question: 'How long is the warranty on an espresso machine?', account: 'shop-it' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        account: 'shop-it',
        channel: CH1,
        agent: 'online',
        source: 'llm',
        reply: { text: 'Your espresso machine has a three-year warranty [1].\n\nSources:\n[1] Warranty' },
        citations: [{ n: 1, documentId: doc.body.id, title: 'Warranty', heading: 'Warranty' }],
        model: 'gpt-4o-mini',
      });
      // the model got the retrieved chunk as numbered source [1], exactly as a turn gives it
      const system = String(fake.requests[0]?.messages[0]?.content ?? '');
      expect(system).toContain('[1] Warranty › Warranty\nEvery espresso machine carries a warranty of three years');
      expect(system).toContain('Cite the sources you use as [1]');
      expect(fake.requests[0]?.messages.filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['How long is the warranty on an espresso machine?']);

      // strict grounding (the account's own agent file) and nothing found: the "don't know" answer and the handoff, no model call, nothing recorded
      const before = fake.requests.length;
      const strict = await request(previewApp).post('/admin/knowledge/api/preview').set('Authorization', basic).set('X-Switchboard-Console', '1').send({ question: 'Do you repair submarines?', account: 'shop-strict' });
      expect(strict.status).toBe(200);
      expect(strict.body).toMatchObject({ account: 'shop-strict', source: 'local', reply: { text: 'I do not know that yet; a colleague will help you.' }, citations: [], handoff: { reason: 'knowledge_gap' } });
      expect(fake.requests.length).toBe(before);
      expect((await request(previewApp).get('/api/v1/knowledge/unanswered?account=shop-strict').set('Authorization', bearer)).body.items).toEqual([]);
      // no conversation memory, rate limit, variant or failure state: the preview wrote no agent key
      expect(await redis.keys(`${previewPrefix}:sb:agent:*`)).toEqual([]);

      expect((await request(previewApp).post('/api/v1/knowledge/preview').set('Authorization', bearer).send({ question: '' })).status).toBe(400);
      expect((await request(previewApp).post('/api/v1/knowledge/preview').set('Authorization', bearer).send({ question: 'x', channel: 'carrier-pigeon' })).status).toBe(400);
      // the API without preview agents, or without a store, says so
      expect((await request(app).post('/api/v1/knowledge/preview').set('Authorization', bearer).send({ question: 'x' })).body.error).toBe('unavailable');
      expect((await request(noStore).post('/api/v1/knowledge/preview').set('Authorization', bearer).send({ question: 'x' })).body.error).toBe('store_unavailable');
    } finally {
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
      const admin = new Redis(testRedisUrl());
      await dropPrefix(admin, previewPrefix);
      admin.disconnect();
    }
  });

  it('without a store every knowledge route answers 503 store_unavailable (auth still first)', async () => {
    expect((await request(noStore).get('/api/v1/knowledge/documents')).status).toBe(401);
    const calls = [
      request(noStore).get('/api/v1/knowledge/documents').set('Authorization', bearer),
      request(noStore).get('/api/v1/knowledge/documents/doc_x').set('Authorization', bearer),
      request(noStore).delete('/api/v1/knowledge/documents/doc_x').set('Authorization', bearer),
      request(noStore).post('/api/v1/knowledge/documents').set('Authorization', bearer).send({ title: 't', text: 'x' }),
      request(noStore).post('/api/v1/knowledge/documents').set('Authorization', bearer).attach('file', Buffer.from('hello'), 'a.txt'),
      request(noStore).post('/api/v1/knowledge/search').set('Authorization', bearer).send({ query: 'x' }),
    ];
    for (const res of await Promise.all(calls)) {
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ error: 'store_unavailable', message: expect.stringContaining('DATABASE_URL') });
    }
  });

  it('the console routes need basic auth and, for changes, the console header', async () => {
    expect((await request(app).get('/admin/knowledge')).status).toBe(401);
    expect((await request(app).get('/admin/knowledge/api/documents')).status).toBe(401);
    // an API key does not open the console
    expect((await request(app).get('/admin/knowledge/api/documents').set('Authorization', bearer)).status).toBe(401);
    const page = await request(app).get('/admin/knowledge').set('Authorization', basic);
    expect(page.status).toBe(200);
    expect(page.text).toContain('/admin/knowledge/assets/knowledge.js');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect((await request(app).get('/admin/knowledge/api/documents').set('Authorization', basic)).status).toBe(200);
    const forged = await request(app).post('/admin/knowledge/api/documents').set('Authorization', basic).send({ title: 't', text: 'x' });
    expect(forged.status).toBe(403);
    const real = await request(app).post('/admin/knowledge/api/documents').set('Authorization', basic).set('X-Switchboard-Console', '1').send({ title: 'From the console', text: 'x' });
    expect(real.status).toBe(202);
  });
});
