import { createLogger } from '@switchboard/core';
import { openStore, type Store } from '@switchboard/store';
import { createTestDatabase, fakeEmbedding, startFakeOpenAI, type FakeOpenAI, type TestDatabase } from '@switchboard/testkit';
import { Embedder } from './embeddings';

let db: TestDatabase;
let store: Store;
let fake: FakeOpenAI;

beforeAll(async () => {
  db = await createTestDatabase();
  store = await openStore({ url: db.url, log: createLogger({ service: 'kb-test', silent: true }), poolMax: 2 });
  fake = await startFakeOpenAI();
});
afterAll(async () => {
  await fake.close();
  await store.close();
  await db.drop();
});

test('batched through /embeddings, unit length, cached by content, model and size', async () => {
  const e = new Embedder(store.db, { apiKey: 'sk-test', baseURL: fake.url, model: 'text-embedding-3-small', dimensions: 32, batchSize: 2 });
  const texts = ['Returns within 30 days', '退货期限30天', 'Returns within 30 days', 'Shipping to Germany', 'Payment by card'];
  const out = await e.embed(texts);
  expect(out).toHaveLength(5);
  for (const v of out) {
    expect(v).toHaveLength(32);
    expect(Math.hypot(...v)).toBeCloseTo(1, 5);
  }
  expect(out[0]).toEqual(out[2]);
  expect(out[0]!.map((x) => Number(x.toFixed(5)))).toEqual(fakeEmbedding(texts[0]!, 32).map((x) => Number(x.toFixed(5))));
  // 4 distinct texts in batches of 2: 2 requests
  expect(fake.embeddingInputs).toHaveLength(4);
  expect(fake.calls.filter((c) => c.path === '/v1/embeddings')).toHaveLength(2);
  expect(e.embedded).toBe(4);
  // again: all from the store
  await e.embed(texts.slice(0, 2));
  expect(fake.embeddingInputs).toHaveLength(4);
  // another size is another cache entry
  const wide = new Embedder(store.db, { apiKey: 'sk-test', baseURL: fake.url, model: 'text-embedding-3-small', dimensions: 48 });
  expect((await wide.embed(['Returns within 30 days']))[0]).toHaveLength(48);
  expect(fake.embeddingInputs).toHaveLength(5);
});

test('an endpoint error rejects (the ingestion job retries) and caches nothing', async () => {
  const e = new Embedder(store.db, { apiKey: 'sk-test', baseURL: fake.url, model: 'm', dimensions: 8 });
  fake.failNext(1, 400);
  await expect(e.embed(['not cached yet'])).rejects.toThrow();
  const before = fake.embeddingInputs.length;
  await expect(e.embed(['not cached yet'])).resolves.toHaveLength(1);
  expect(fake.embeddingInputs.length).toBe(before + 1);
});

test('a question is embedded without touching the store cache; the same question again comes from memory', async () => {
  const e = new Embedder(store.db, { apiKey: 'sk-test', baseURL: fake.url, model: 'q-model', dimensions: 16 });
  const before = fake.embeddingInputs.length;
  const v = await e.embedQuery('Where is my order #123?');
  expect(v).toHaveLength(16);
  expect(Math.hypot(...v)).toBeCloseTo(1, 5);
  expect(await e.embedQuery('Where is my order #123?')).toEqual(v);
  expect(fake.embeddingInputs.length).toBe(before + 1);
  const rows = await store.db.selectFrom('kb_embedding_cache').select('content_hash').where('model', '=', 'q-model').execute();
  expect(rows).toHaveLength(0);
});
