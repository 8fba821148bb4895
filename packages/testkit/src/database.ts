import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL server tests use: `TEST_DATABASE_URL`, else the local one `.ci/run` starts. */
export function testDatabaseServerUrl(): string {
  return process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

/** A database created for one test file (see {@link createTestDatabase}). */
export interface TestDatabase {
  /** Its name, `sb_test_<pid>_<random>`. */
  readonly name: string;
  /** URL of that database on the test server. */
  readonly url: string;
  /** Drops this database (and nothing else), closing connections left open to it. */
  drop(): Promise<void>;
}

async function onServer<T>(serverUrl: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (err) {
    const where = new URL(serverUrl);
    where.password = '';
    throw new Error(`no PostgreSQL for the tests at ${where.toString()} (${err instanceof Error ? err.message : String(err)}): start one (.ci/run does), or set TEST_DATABASE_URL`, { cause: err });
  }
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates a uniquely named, empty database on the test server (`TEST_DATABASE_URL` or
 * `postgres://postgres@127.0.0.1:5432/postgres`) and returns its URL. Each test file gets its own;
 * `drop()` removes only that one, so runs in parallel and a developer's databases are never touched.
 */
export async function createTestDatabase(label = 'sb_test'): Promise<TestDatabase> {
  if (!/^[a-z][a-z0-9_]{0,30}$/.test(label)) throw new Error(`createTestDatabase: label must be a lower-case identifier: ${label}`);
  const serverUrl = testDatabaseServerUrl();
  const name = `${label}_${process.pid}_${randomBytes(5).toString('hex')}`;
  // identifiers cannot be bound parameters: the generated name is checked above and quoted by pg
  await onServer(serverUrl, (c) => c.query(`create database ${c.escapeIdentifier(name)}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      await onServer(serverUrl, (c) => c.query(`drop database if exists ${c.escapeIdentifier(name)} with (force)`));
    },
  };
}
