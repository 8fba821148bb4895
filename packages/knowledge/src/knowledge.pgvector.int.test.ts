/**
 * The knowledge repository in pgvector mode: the embedded store (PGlite with the vector extension,
 * the `pnpm start` default) started as a process, HNSW index per embedding size, hybrid search.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createLogger } from '@switchboard/core';
import { openStore, sql, type Store } from '@switchboard/store';
import { KnowledgeRepo } from './knowledge.repo';

const main = resolve(__dirname, '../../store/dist/embedded/main.js');
if (!existsSync(main)) throw new Error('build first: pnpm exec turbo run build --filter=@switchboard/store (this test starts dist/embedded/main.js)');

jest.setTimeout(120_000);
const dataDir = mkdtempSync(join(tmpdir(), 'sb-kb-pgvector-'));
let child: ChildProcess;
let store: Store;

beforeAll(async () => {
  child = spawn(process.execPath, [main, '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((done, fail) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (!out.includes('\n')) return;
      const ready = JSON.parse(out.split('\n')[0]!) as { ready: boolean; url?: string; error?: string };
      if (ready.ready && ready.url) done(ready.url);
      else fail(new Error(`embedded store did not start: ${ready.error}`));
    });
    child.on('exit', (code) => fail(new Error(`embedded store exited ${code}`)));
  });
  store = await openStore({ url, log: createLogger({ service: 'kb-test', silent: true }), poolMax: 2 });
});
afterAll(async () => {
  await store?.close();
  child?.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

const unit = (v: number[]) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};

test('pgvector mode: the HNSW index of the embedding size serves the vector ranking, fused with full text', async () => {
  expect(store.vector.mode).toBe('pgvector');
  const repo = new KnowledgeRepo(store.db, 'pgvector');
  await repo.ensureVectorIndex(3);
  await repo.ensureVectorIndex(3); // idempotent
  const indexes = await sql<{ indexname: string }>`select indexname from pg_indexes where tablename = 'kb_chunk'`.execute(store.db);
  expect(indexes.rows.map((r) => r.indexname)).toContain('kb_chunk_embedding_hnsw_3');
  const pay = await repo.createDocument({ title: 'Payment', sourceKind: 'text' });
  await repo.replaceChunks(pay, 'p', [{ heading: 'Payment', text: 'Cards, PayPal and invoices are accepted.', contentHash: 'p', embedding: unit([0, 1, 0]) }]);
  const ship = await repo.createDocument({ title: 'Shipping', sourceKind: 'text', account: 'shop-de' });
  await repo.replaceChunks(ship, 's', [{ heading: 'Shipping', text: 'Parcels leave the warehouse daily.', contentHash: 's', embedding: unit([1, 0, 0.1]) }]);
  const semantic = await repo.search({ query: 'settle the bill', account: 'shop-de', embedding: unit([0, 1, 0.05]) });
  expect(semantic[0]).toMatchObject({ title: 'Payment', vectorRank: 1 });
  expect(semantic[0]!.similarity).toBeGreaterThan(0.99);
  const both = await repo.search({ query: 'warehouse', account: 'shop-de', embedding: unit([1, 0, 0]) });
  expect(both[0]).toMatchObject({ title: 'Shipping', ftsRank: 1, vectorRank: 1 });
  // another account does not see shop-de's document
  expect((await repo.search({ query: 'warehouse', account: 'shop-fr', embedding: unit([1, 0, 0]) })).map((h) => h.title)).not.toContain('Shipping');
});
