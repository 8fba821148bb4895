/**
 * The worker's `knowledge` role end to end: real PostgreSQL (the worker opens the store from
 * DATABASE_URL), real Redis and BullMQ, the fake embeddings endpoint and a fake website on loopback
 * (FETCH_ALLOWED_ORIGINS). A `knowledge` job on the queue → the document ready and searchable; a
 * sitemap job → page documents with jobs of their own; due re-checks queued once per scan.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { silentLogger } from '@switchboard/core';
import { closeWorkers, createRedis, waitReady, type RedisClient } from '@switchboard/queue';
import { createTestDatabase, dropPrefix, startFakeOpenAI, testRedisUrl, uniquePrefix, waitFor, type FakeOpenAI, type TestDatabase } from '@switchboard/testkit';
import { buildWorkerDeps, loadWorkerEnv, selectRoles, startRoles } from './compose';
import type { WorkerDeps } from './deps';
import { openKnowledge } from './knowledge';
import { knowledgeJobId, queueDueRechecks } from './roles/knowledge';

jest.setTimeout(60_000);

const log = silentLogger();
const prefix = uniquePrefix('kb');
let db: TestDatabase;
let openai: FakeOpenAI;
let site: Server;
let origin: string;
let redis: RedisClient;
let producer: RedisClient;
let deps: WorkerDeps;
let workers: Worker[];
let opened: Awaited<ReturnType<typeof openKnowledge>>;

const html = (title: string, body: string) => `<!doctype html><html><head><title>${title}</title></head><body><article><h1>${title}</h1><p>${`${body} `.repeat(10)}</p></article></body></html>`;

beforeAll(async () => {
  db = await createTestDatabase();
  openai = await startFakeOpenAI();
  site = createServer((req, res) => {
    const routes: Record<string, [string, string]> = {
      '/sitemap.xml': ['application/xml', `<?xml version="1.0"?><urlset><url><loc>${origin}/delivery</loc></url><url><loc>${origin}/warranty</loc></url></urlset>`],
      '/delivery': ['text/html', html('Delivery', 'Parcels to Switzerland take four working days.')],
      '/warranty': ['text/html', html('Warranty', 'Every kettle has a warranty of two years.')],
    };
    const hit = routes[req.url ?? ''];
    if (!hit) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': hit[0] }).end(hit[1]);
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  const env = loadWorkerEnv({
    REDIS_URL: testRedisUrl(),
    QUEUE_PREFIX: prefix,
    DATABASE_URL: db.url,
    DATABASE_POOL_MAX: '3',
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: openai.url,
    EMBEDDING_DIMENSIONS: '32',
    FETCH_ALLOWED_ORIGINS: origin,
  });
  expect(selectRoles(env)).toContain('knowledge');
  opened = await openKnowledge(env, log);
  redis = createRedis(testRedisUrl(), 'worker');
  producer = createRedis(testRedisUrl(), 'worker');
  await waitReady(redis);
  deps = buildWorkerDeps(env, redis, producer, log, { knowledge: opened!.knowledge });
  workers = startRoles(deps, ['knowledge']);
});

afterAll(async () => {
  await closeWorkers(workers ?? [], 10_000);
  await deps?.producers.close();
  await deps?.close();
  await opened?.store.close();
  await dropPrefix(redis as Redis, prefix);
  redis?.disconnect();
  producer?.disconnect();
  await new Promise((r) => site.close(r));
  await openai.close();
  await db.drop();
});

test('the knowledge role runs only with a store; naming it without DATABASE_URL is a start error', () => {
  expect(selectRoles(loadWorkerEnv({ REDIS_URL: testRedisUrl() }))).not.toContain('knowledge');
  expect(() => selectRoles(loadWorkerEnv({ REDIS_URL: testRedisUrl(), WORKER_ROLES: 'knowledge' }))).toThrow(/knowledge role needs the store \(DATABASE_URL\)/);
  expect(deps.knowledge?.mode).toBe('hybrid');
});

test('a knowledge job makes a text document ready and searchable', async () => {
  const kb = deps.knowledge!;
  const id = await kb.repo.createDocument({ title: 'Kettles', sourceKind: 'text', account: 'shop-ch' });
  await kb.repo.saveSource(id, { text: '# Descaling\n\nDescale the kettle with citric acid once a month.' });
  await deps.producers.enqueue('knowledge', { documentId: id, reason: 'new' }, { jobId: knowledgeJobId(id, 'new') });
  await waitFor(async () => (await kb.repo.getDocument(id))?.status === 'ready', 20_000, 'document ready');
  expect((await kb.search('citric acid', { account: 'shop-ch' }))[0]).toMatchObject({ documentId: id, heading: 'Descaling' });
  expect(openai.embeddingInputs.some((t) => t.includes('citric acid'))).toBe(true);
});

test('a sitemap job: every page becomes a document of its own, read by its own job', async () => {
  const kb = deps.knowledge!;
  const id = await kb.repo.createDocument({ title: 'Shop site', sourceKind: 'sitemap', url: `${origin}/sitemap.xml` });
  await kb.repo.saveSource(id, {});
  await deps.producers.enqueue('knowledge', { documentId: id, reason: 'new' }, { jobId: knowledgeJobId(id, 'new') });
  await waitFor(async () => (await kb.repo.childDocuments(id)).size === 2, 20_000, 'pages');
  const children = [...(await kb.repo.childDocuments(id)).values()];
  await waitFor(async () => (await Promise.all(children.map((c) => kb.repo.getDocument(c)))).every((d) => d?.status === 'ready'), 20_000, 'pages ready');
  expect(await kb.repo.getDocument(id)).toMatchObject({ status: 'ready', chunks: 0 });
  expect((await kb.search('warranty kettle'))[0]?.url).toBe(`${origin}/warranty`);
  expect((await kb.search('Switzerland parcels'))[0]?.url).toBe(`${origin}/delivery`);

  // re-checks: nothing due yet; with 0 h every fetched document is due, queued once per scan
  const ingest = deps.knowledgeIngest!;
  expect(await queueDueRechecks(deps, ingest, 60_000)).toBe(0);
  const now = { ...ingest, recheckHours: 1e-9 };
  const queued = await queueDueRechecks(deps, now, 120_000);
  expect(queued).toBe(3); // the sitemap and its two pages
  expect(await queueDueRechecks(deps, now, 120_000)).toBe(0); // the same scan slot: another worker already did it
});

test('ingestion metrics: documents by outcome, chunks written, duration — on the registry /metrics serves', async () => {
  const kb = deps.knowledge!;
  const read = async (name: string, labels: Record<string, string> = {}): Promise<number> => {
    // a histogram's `_count` is one of its own values
    const metric = deps.registry.getSingleMetric(name.replace(/_count$/, ''));
    if (!metric) throw new Error(`${name} is not registered`);
    const values = (await metric.get()).values.filter((v) => ((v as { metricName?: string }).metricName ?? name) === name && Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want));
    return values.reduce((sum, v) => sum + v.value, 0);
  };
  const before = {
    ready: await read('sb_knowledge_documents_total', { outcome: 'ready', reason: 'new' }),
    failed: await read('sb_knowledge_documents_total', { outcome: 'failed', reason: 'new' }),
    chunks: await read('sb_knowledge_chunks_written_total'),
    embedded: await read('sb_knowledge_chunks_embedded_total'),
    readyTimings: await read('sb_knowledge_ingest_seconds_count', { outcome: 'ready' }),
    failedTimings: await read('sb_knowledge_ingest_seconds_count', { outcome: 'failed' }),
  };

  const text = '# Opening hours\n\nThe shop in Basel opens at nine on weekdays.\n\n# Parking\n\nCustomers park free of charge behind the shop.';
  const ready = await kb.repo.createDocument({ title: 'Basel shop', sourceKind: 'text', account: 'shop-ch' });
  await kb.repo.saveSource(ready, { text });
  const missing = await kb.repo.createDocument({ title: 'Gone', sourceKind: 'url', url: `${origin}/no-such-page` });
  await kb.repo.saveSource(missing, {});
  for (const id of [ready, missing]) await deps.producers.enqueue('knowledge', { documentId: id, reason: 'new' }, { jobId: knowledgeJobId(id, 'new') });
  await waitFor(async () => (await kb.repo.getDocument(ready))?.status === 'ready' && (await kb.repo.getDocument(missing))?.status === 'failed', 20_000, 'ready and failed');
  const chunks = (await kb.repo.getDocument(ready))!.chunks;
  expect(chunks).toBe(2);

  // the job's metrics are counted when its handler returns, just before BullMQ marks the job done
  await waitFor(async () => (await read('sb_knowledge_documents_total', { outcome: 'failed', reason: 'new' })) === before.failed + 1, 10_000, 'failed counted');
  await waitFor(async () => (await read('sb_knowledge_documents_total', { outcome: 'ready', reason: 'new' })) === before.ready + 1, 10_000, 'ready counted');
  expect(await read('sb_knowledge_chunks_written_total')).toBe(before.chunks + 2);
  expect(await read('sb_knowledge_chunks_embedded_total')).toBe(before.embedded + 2);
  expect(await read('sb_knowledge_ingest_seconds_count', { outcome: 'ready' })).toBe(before.readyTimings + 1);
  expect(await read('sb_knowledge_ingest_seconds_count', { outcome: 'failed' })).toBe(before.failedTimings + 1);

  const exposition = await deps.registry.metrics();
  expect(exposition).toMatch(/^sb_knowledge_documents_total\{[^}]*outcome="ready",reason="new"[^}]*\} \d+$/m);
  expect(exposition).toMatch(/^sb_knowledge_ingest_seconds_bucket\{[^}]*outcome="failed"[^}]*\} \d+$/m);
  expect(exposition).toContain('sb_knowledge_chunks_written_total');
});
