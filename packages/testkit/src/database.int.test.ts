import pg from 'pg';
import { createTestDatabase } from './database';

async function databases(): Promise<string[]> {
  const c = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' });
  await c.connect();
  try {
    return (await c.query<{ datname: string }>('select datname from pg_database')).rows.map((r) => r.datname);
  } finally {
    await c.end();
  }
}

test('createTestDatabase makes a database of its own and drop() removes only that one', async () => {
  const a = await createTestDatabase();
  const b = await createTestDatabase();
  expect(a.name).toMatch(new RegExp(`^sb_test_${process.pid}_[0-9a-f]{10}$`));
  expect(a.name).not.toBe(b.name);
  const c = new pg.Client({ connectionString: a.url });
  await c.connect();
  expect((await c.query<{ db: string }>('select current_database() as db')).rows[0]?.db).toBe(a.name);
  await c.end();
  await a.drop();
  await a.drop(); // twice is fine
  const left = await databases();
  expect(left).not.toContain(a.name);
  expect(left).toContain(b.name);
  await b.drop();
  expect(await databases()).not.toContain(b.name);
});

test('no server: a message that says what to do', async () => {
  const saved = process.env.TEST_DATABASE_URL;
  process.env.TEST_DATABASE_URL = 'postgres://postgres:pw@127.0.0.1:9/postgres';
  try {
    await expect(createTestDatabase()).rejects.toThrow(/no PostgreSQL for the tests at postgres:\/\/postgres@127\.0\.0\.1:9\/postgres .*TEST_DATABASE_URL/);
  } finally {
    if (saved === undefined) delete process.env.TEST_DATABASE_URL;
    else process.env.TEST_DATABASE_URL = saved;
  }
});
