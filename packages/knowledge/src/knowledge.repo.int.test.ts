/**
 * The knowledge tables on a real PostgreSQL (stock PostgreSQL 15 here: the 'plain' vector mode):
 * documents per account, atomic chunk replacement, English and Chinese full-text ranking, hybrid
 * fusion with embeddings, deletion.
 */
import { createHash } from 'node:crypto';
import { createLogger } from '@switchboard/core';
import { openStore, type Store } from '@switchboard/store';
import { createTestDatabase, type TestDatabase } from '@switchboard/testkit';
import { chunkDocument } from './chunk';
import { KnowledgeRepo, type ChunkInput } from './knowledge.repo';

const log = createLogger({ service: 'kb-test', silent: true });
let db: TestDatabase;
let store: Store;
let repo: KnowledgeRepo;

const hash = (s: string) => createHash('sha256').update(s).digest('hex');
/** A toy embedding: which of a few topics the text is about (unit length). */
const TOPICS = ['return', 'ship', 'pay', 'size'];
function embed(text: string): number[] {
  const t = text.toLowerCase();
  const v = TOPICS.map((w) => (t.includes(w) ? 1 : 0.01));
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}
const chunksOf = (text: string, withEmbedding = false): ChunkInput[] =>
  chunkDocument(text).map((c) => ({ heading: c.heading, text: c.text, contentHash: hash(c.text), ...(withEmbedding ? { embedding: embed(`${c.heading} ${c.text}`) } : {}) }));

async function ingest(title: string, text: string, account?: string, withEmbedding = false): Promise<string> {
  const id = await repo.createDocument({ title, sourceKind: 'text', account });
  expect(await repo.replaceChunks(id, hash(text), chunksOf(text, withEmbedding))).toBe(true);
  return id;
}

beforeAll(async () => {
  db = await createTestDatabase();
  store = await openStore({ url: db.url, log, poolMax: 3 });
  repo = new KnowledgeRepo(store.db, store.vector.mode);
});
afterAll(async () => {
  await store.close();
  await db.drop();
});

test('a document goes pending → ready with its chunk count; lists per account include shared documents', async () => {
  const id = await repo.createDocument({ title: 'Returns', sourceKind: 'url', url: 'https://shop.example/returns', account: 'shop-de' });
  expect(await repo.getDocument(id)).toMatchObject({ status: 'pending', chunks: 0, account: 'shop-de', url: 'https://shop.example/returns' });
  await repo.replaceChunks(id, 'h1', chunksOf('# Returns\n\nYou can return any item within 30 days of delivery.\n\n# Refunds\n\nRefunds reach your card within 5 days.'));
  expect(await repo.getDocument(id)).toMatchObject({ status: 'ready', chunks: 2, contentHash: 'h1' });
  const shared = await ingest('Shipping', 'We ship to every EU country.');
  const other = await ingest('Other shop', 'Our other shop ships nowhere.', 'shop-fr');
  const ids = (await repo.listDocuments({ account: 'shop-de' })).map((d) => d.id);
  expect(ids).toEqual(expect.arrayContaining([id, shared]));
  expect(ids).not.toContain(other);
  await repo.failDocument(other, 'could not fetch');
  expect(await repo.getDocument(other)).toMatchObject({ status: 'failed', error: 'could not fetch' });
});

test('full text ranks English and Chinese; an account never sees another account’s chunks', async () => {
  await ingest('退货政策', '# 退货政策\n\n自收货之日起30天内可以申请退货。\n\n# 配送\n\n我们通过顺丰快递发货，一般三天送达。', 'cn-kf');
  await ingest('Sizes', '# Size guide\n\nOur shoes run small: order one size up.', 'shop-de');
  const zh = await repo.search({ query: '退货期限是多久？', account: 'cn-kf', k: 3 });
  expect(zh[0]).toMatchObject({ title: '退货政策', heading: '退货政策' });
  expect(zh[0]!.text).toContain('30天内');
  const en = await repo.search({ query: 'what size should I order for shoes', account: 'shop-de' });
  expect(en[0]?.title).toBe('Sizes');
  expect(en[0]?.ftsRank).toBe(1);
  expect((await repo.search({ query: '退货', account: 'shop-de' })).map((h) => h.title)).not.toContain('退货政策');
  expect(await repo.search({ query: '???', account: 'shop-de' })).toEqual([]);
});

test('re-ingesting replaces the chunks at once; a deleted document is never found again', async () => {
  const id = await ingest('Opening hours', 'We are open Monday to Friday.', 'shop-it');
  expect((await repo.search({ query: 'monday', account: 'shop-it' }))[0]?.documentId).toBe(id);
  await repo.replaceChunks(id, 'h2', chunksOf('We are open every day including Sunday.'));
  expect(await repo.search({ query: 'monday', account: 'shop-it' })).toEqual([]);
  expect((await repo.search({ query: 'sunday', account: 'shop-it' }))[0]?.documentId).toBe(id);
  expect(await repo.deleteDocument(id)).toBe(true);
  expect(await repo.deleteDocument(id)).toBe(false);
  expect(await repo.search({ query: 'sunday', account: 'shop-it' })).toEqual([]);
  expect(await repo.replaceChunks(id, 'h3', chunksOf('gone'))).toBe(false);
});

test('hybrid: a chunk found only by meaning is fused in; one found both ways ranks first', async () => {
  const acct = 'hybrid';
  await ingest('Payment', '# Payment\n\nWe take cards, PayPal and invoices.', acct, true);
  await ingest('Delivery', '# Shipping\n\nParcels leave our warehouse daily.', acct, true);
  // "pay" is in the embedding topic, not a word of the query: only the vector ranking finds it
  const semantic = await repo.search({ query: 'how can I settle the bill', account: acct, embedding: embed('pay') });
  expect(semantic[0]).toMatchObject({ title: 'Payment', vectorRank: 1 });
  expect(semantic[0]?.ftsRank).toBeUndefined();
  const both = await repo.search({ query: 'warehouse parcels', account: acct, embedding: embed('ship') });
  expect(both[0]).toMatchObject({ title: 'Delivery', ftsRank: 1, vectorRank: 1 });
  expect(both[0]!.score).toBeGreaterThan(both[1]?.score ?? 0);
});

test('without pgvector the chunk vectors are read once per process; replaced chunks are compared by their new vectors', async () => {
  const id = await ingest('Payments', '# Payments\n\nWe take card payments and PayPal.', 'shop-vec', true);
  const byMeaning = async () => (await repo.search({ query: 'zzz', account: 'shop-vec', embedding: embed('pay') })).map((h) => h.text);
  expect((await byMeaning())[0]).toContain('card payments');
  // a second search reads no vector again: the same answer from the process's vectors
  expect((await byMeaning())[0]).toContain('card payments');
  // the document's chunks replaced by text about returns: the new chunk's own vector is used
  await repo.replaceChunks(id, 'h-vec-2', chunksOf('# Returns\n\nReturn any item within 30 days.', true));
  const after = await repo.search({ query: 'zzz', account: 'shop-vec', embedding: embed('return') });
  expect(after[0]?.text).toContain('Return any item');
  expect(after[0]?.similarity).toBeCloseTo(1, 2);
  expect(after.map((h) => h.text).join(' ')).not.toContain('card payments');
});
