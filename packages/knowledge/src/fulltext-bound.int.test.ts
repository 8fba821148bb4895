/**
 * The bounded full-text ranking on a real PostgreSQL (fulltext-candidates.ts), exercised with a
 * small budget on a few hundred chunks: the store's statistics are refreshed by the repo itself,
 * questions with a rare term or over common terms only rank their best chunks as the unbounded
 * ranking does, and a question whose only term is in every chunk still answers.
 */
import { createHash } from 'node:crypto';
import { createLogger } from '@switchboard/core';
import { openStore, type Store } from '@switchboard/store';
import { createTestDatabase, waitFor, type TestDatabase } from '@switchboard/testkit';
import { KnowledgeRepo, type ChunkInput } from './knowledge.repo';

const log = createLogger({ service: 'kb-test', silent: true });
const hash = (s: string) => createHash('sha256').update(s).digest('hex');
const BUDGET = 40;
let db: TestDatabase;
let store: Store;
let bounded: KnowledgeRepo;
let unbounded: KnowledgeRepo;

/** A repo with the test's budget and no cached statistics. */
const fresh = () => new KnowledgeRepo(store.db, store.vector.mode, { rankBudget: BUDGET });

/** Chunk i: "lamp" always, "warranty" every 3rd, "years" every 2nd, "zeppelin" in two. */
function text(i: number): string {
  return [`Model ${i} lamp`, i % 3 === 0 ? 'warranty' : 'shade', i % 2 === 0 ? 'years' : 'linen', i === 7 || i === 300 ? 'zeppelin' : 'steel', 'foot'].join(' ');
}

beforeAll(async () => {
  db = await createTestDatabase();
  store = await openStore({ url: db.url, log, poolMax: 3 });
  bounded = fresh();
  unbounded = new KnowledgeRepo(store.db, store.vector.mode, { rankBudget: Infinity });
  const id = await bounded.createDocument({ title: 'Catalogue', sourceKind: 'text' });
  const chunks: ChunkInput[] = Array.from({ length: 400 }, (_, i) => ({ heading: '', text: text(i), contentHash: hash(text(i)) }));
  expect(await bounded.replaceChunks(id, hash('catalogue'), chunks)).toBe(true);
});
afterAll(async () => {
  await store.close();
  await db.drop();
});

test('the repo analyzes a large chunk table whose statistics are missing; they name the common terms', async () => {
  expect(await unbounded.analyzeIfStale()).toBe(false); // no bound, no statistics needed
  // the insert reaches the table's activity counters a moment later; autovacuum may analyze first
  await waitFor(async () => (await bounded.analyzeIfStale()) || (await fresh().termStatistics()) !== undefined, 20_000, 'the statistics');
  expect(await bounded.analyzeIfStale()).toBe(false);
  bounded = fresh();
  const stats = await bounded.termStatistics();
  expect(stats?.rows).toBe(400);
  expect(stats?.frequency.get('lamp')).toBeCloseTo(1, 2);
  expect(stats?.frequency.get('warranty')).toBeCloseTo(134 / 400, 2);
});

test('with a rare term, and over common terms only, the best chunks rank as without the bound', async () => {
  const ids = async (repo: KnowledgeRepo, query: string) => (await repo.search({ query, k: 5 })).map((h) => h.text);
  const rare = await ids(bounded, 'zeppelin lamp warranty');
  expect(rare[0]).toBe(text(300)); // all three terms
  expect(rare).toEqual(await ids(unbounded, 'zeppelin lamp warranty'));
  // warranty (1/3), years (1/2), lamp (all): the candidates are the chunks with all three
  const common = await ids(bounded, 'warranty years lamp');
  expect(common).toEqual(await ids(unbounded, 'warranty years lamp'));
  for (const t of common) expect(t).toMatch(/lamp warranty years/);
});

test('a question whose only term is in every chunk ranks a bounded set and still answers', async () => {
  const hits = await bounded.search({ query: 'lamp', k: 5 });
  expect(hits).toHaveLength(5);
  for (const h of hits) expect(h.text).toContain('lamp');
});
