/**
 * The embedded store as `pnpm start` runs it: the built `dist/embedded/main.js` process on a fresh
 * folder, reached by the store package over TCP. Migrate, write (pgvector included), run
 * parameterized queries and transactions from two pools at once, stop with SIGTERM, start again,
 * read back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { createLogger } from '@switchboard/core';
import { migrations, openStore, type Store } from '../index';
import { readEmbeddedStoreLock } from './server';

const main = resolve(__dirname, '../../dist/embedded/main.js');
if (!existsSync(main)) throw new Error('build first: pnpm exec turbo run build --filter=@switchboard/store (this test starts dist/embedded/main.js)');

jest.setTimeout(180_000);
const log = createLogger({ service: 'embedded-test', silent: true });
const dataDir = mkdtempSync(join(tmpdir(), 'sb-embedded-'));
const children = new Set<ChildProcess>();

interface Running {
  child: ChildProcess;
  url: string;
  ms: number;
}

function startProcess(): Promise<Running> {
  const child = spawn(process.execPath, [main, '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((done, fail) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (!out.includes('\n') || line === undefined) return;
      const ready = JSON.parse(line) as { ready: boolean; url?: string; ms?: number; error?: string };
      if (ready.ready && ready.url) done({ child, url: ready.url, ms: ready.ms ?? 0 });
      else fail(new Error(`embedded store did not start: ${ready.error}`));
    });
    child.on('exit', (code) => fail(new Error(`embedded store exited ${code}: ${err}`)));
  });
}

function stopProcess(child: ChildProcess): Promise<number | null> {
  return new Promise((done) => {
    child.on('exit', (code) => done(code));
    child.kill('SIGTERM');
  });
}

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

type ProbeDb = Kysely<{ probe: { id: number; label: string; embedding: string } }>;

test('start, migrate, write, stop, start again, read back', async () => {
  const first = await startProcess();
  expect(first.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
  expect(readEmbeddedStoreLock(dataDir)?.url).toBe(first.url);

  // two processes opening the fresh store at once: one migrates, the other finds nothing to do
  const [store, other] = await Promise.all([openStore({ url: first.url, log, poolMax: 4 }), openStore({ url: first.url, log, poolMax: 4 })]);
  expect([...(store.migration?.applied ?? []), ...(other.migration?.applied ?? [])]).toEqual(Object.keys(migrations));
  expect(store.vector.mode).toBe('pgvector');
  expect(await store.readiness()).toBeUndefined();
  const db = store.db as unknown as ProbeDb;
  await db.schema
    .createTable('probe')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('embedding', sql`vector(3)`, (c) => c.notNull())
    .execute();
  await db
    .insertInto('probe')
    .values([
      { id: 1, label: 'north', embedding: '[0,1,0]' },
      { id: 2, label: 'east', embedding: '[1,0,0]' },
    ])
    .execute();

  // two pools (two processes, as far as the server knows): interleaved parameterized queries and
  // transactions from both must each see their own statement and their own rows
  const stores: Store[] = [store, other];
  const work = Array.from({ length: 120 }, async (_, i) => {
    const s = stores[i % 2] as Store;
    const pdb = s.db as unknown as ProbeDb;
    if (i % 3 === 0) {
      const r = await sql<{ a: string; b: number }>`select ${`v${i}`}::text as a, ${i}::int as b`.execute(pdb);
      return r.rows[0]?.a === `v${i}` && r.rows[0]?.b === i;
    }
    if (i % 3 === 1) {
      const r = await pdb.selectFrom('probe').select('label').where('id', '=', 1 + (i % 2)).executeTakeFirst();
      return r?.label === (i % 2 === 0 ? 'north' : 'east');
    }
    return pdb.transaction().execute(async (trx) => {
      await trx.insertInto('probe').values({ id: 100 + i, label: `t${i}`, embedding: `[${i},0,1]` }).execute();
      const r = await trx.selectFrom('probe').select('label').where('id', '=', 100 + i).executeTakeFirst();
      return r?.label === `t${i}`;
    });
  });
  expect((await Promise.all(work)).every(Boolean)).toBe(true);

  // a client that goes away inside its transaction: rolled back, and the others are not blocked
  await (store.db as unknown as ProbeDb).connection().execute(async (c) => {
    await sql`begin`.execute(c);
    await c.insertInto('probe').values({ id: 999, label: 'abandoned', embedding: '[0,0,1]' }).execute();
  });
  await store.close(); // ends the pool's connections, the one inside the transaction included
  const seen = await (other.db as unknown as ProbeDb).selectFrom('probe').select('id').where('id', '=', 999).execute();
  expect(seen).toEqual([]);
  await other.close();

  expect(await stopProcess(first.child)).toBe(0);
  expect(readEmbeddedStoreLock(dataDir)).toBeUndefined();

  const second = await startProcess();
  const again = await openStore({ url: second.url, log });
  expect(again.migration?.applied).toEqual([]);
  const adb = again.db as unknown as ProbeDb;
  const nearest = await adb
    .selectFrom('probe')
    .select('label')
    .where('id', '<', 100)
    .orderBy(sql`embedding <-> ${'[0.9,0.1,0]'}::vector`)
    .executeTakeFirst();
  expect(nearest?.label).toBe('east');
  const count = await adb.selectFrom('probe').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  expect(Number(count.n)).toBe(2 + 40);
  await again.close();
  expect(await stopProcess(second.child)).toBe(0);
  process.stderr.write(`embedded store: first start ${first.ms} ms, restart ${second.ms} ms\n`);
});

test('a second process on the same folder is refused while the first serves it', async () => {
  const first = await startProcess();
  await expect(startProcess()).rejects.toThrow(/is served by process \d+/);
  expect(await stopProcess(first.child)).toBe(0);
});
