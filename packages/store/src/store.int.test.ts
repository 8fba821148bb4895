/**
 * The store on a real PostgreSQL (TEST_DATABASE_URL or 127.0.0.1:5432): migrations up, re-run,
 * two pools migrating at once, the vector mode the server allows, the readiness check.
 */
import { sql } from 'kysely';
import { createLogger } from '@switchboard/core';
import { createTestDatabase, type TestDatabase } from '@switchboard/testkit';
import { SCHEMA_VERSION, migrations, openStore, redactDatabaseUrl, type Store } from './index';

const log = createLogger({ service: 'store-test', silent: true });
const dbs: TestDatabase[] = [];
const stores: Store[] = [];

async function freshDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  dbs.push(db);
  return db;
}
async function open(url: string): Promise<Store> {
  const store = await openStore({ url, log, poolMax: 3 });
  stores.push(store);
  return store;
}

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await Promise.all(dbs.map((d) => d.drop()));
});

test('a fresh database is migrated to the latest schema and says so in store_meta', async () => {
  const { url } = await freshDatabase();
  const store = await open(url);
  expect(store.migration?.applied).toEqual(Object.keys(migrations));
  const meta = await store.db.selectFrom('store_meta').selectAll().executeTakeFirstOrThrow();
  expect(meta.schema_version).toBe(SCHEMA_VERSION);
  expect(meta.created_at).toBeInstanceOf(Date);
  const ran = await sql<{ name: string }>`select name from store_migration order by name`.execute(store.db);
  expect(ran.rows.map((r) => r.name)).toEqual(Object.keys(migrations));
});

test('opening a migrated store again applies nothing and keeps its data', async () => {
  const { url } = await freshDatabase();
  const first = await open(url);
  const created = (await first.db.selectFrom('store_meta').select('created_at').executeTakeFirstOrThrow()).created_at;
  await first.close();
  stores.splice(stores.indexOf(first), 1);
  const again = await open(url);
  expect(again.migration).toEqual({ applied: [], schemaVersion: SCHEMA_VERSION });
  const meta = await again.db.selectFrom('store_meta').selectAll().execute();
  expect(meta).toHaveLength(1);
  expect(meta[0]?.created_at).toEqual(created);
});

test('two processes starting at once: one migrates, the other waits and finds nothing to do', async () => {
  const { url } = await freshDatabase();
  const [a, b] = await Promise.all([open(url), open(url)]);
  const applied = [...(a.migration?.applied ?? []), ...(b.migration?.applied ?? [])];
  expect(applied).toEqual(Object.keys(migrations));
  expect(await a.db.selectFrom('store_meta').select('schema_version').execute()).toEqual([{ schema_version: SCHEMA_VERSION }]);
});

test('vector mode: pgvector exactly when the server ships the extension, else plain with the reason', async () => {
  const { url } = await freshDatabase();
  const store = await open(url);
  const available = await sql<{ name: string }>`select name from pg_available_extensions where name = 'vector'`.execute(store.db);
  if (available.rows.length > 0) {
    expect(store.vector.mode).toBe('pgvector');
    expect(store.vector.version).toMatch(/^\d+\.\d+/);
  } else {
    // stock Debian PostgreSQL 15 (this project's CI) has no pgvector
    expect(store.vector).toEqual({ mode: 'plain', reason: expect.stringContaining('vector') });
  }
});

test('readiness: undefined while the database answers, a reason once it is gone', async () => {
  const db = await freshDatabase();
  const store = await openStore({ url: db.url, log, poolMax: 2 });
  expect(await store.readiness()).toBeUndefined();
  await store.close();
  const gone = await openStore({ url: db.url, log, migrate: false, connectTimeoutMs: 500 }).catch(() => undefined);
  expect(gone).toBeDefined();
  await db.drop();
  expect(await gone?.readiness()).toMatch(/store unreachable: .*does not exist|terminat/);
  await gone?.close();
});

test('an unreachable database fails the open; URLs are logged without their password', async () => {
  await expect(openStore({ url: 'postgres://postgres:secret@127.0.0.1:9/none', log, connectTimeoutMs: 500 })).rejects.toThrow();
  expect(redactDatabaseUrl('postgres://postgres:secret@127.0.0.1:9/none')).toBe('postgres://postgres@127.0.0.1:9/none');
});
