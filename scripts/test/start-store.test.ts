/**
 * `pnpm start` without DATABASE_URL runs the embedded store: the apps get its URL, stopping the
 * start stops it (exit 0), its data survives a restart, and a store already serving the folder is
 * reused. With DATABASE_URL set, no embedded store is started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { silentLogger } from '@switchboard/core';
import { openStore, type Kysely } from '@switchboard/store';

const root = resolve(__dirname, '..', '..');
for (const f of ['apps/worker/dist/main.js', 'packages/store/dist/embedded/main.js']) {
  if (!existsSync(join(root, f))) throw new Error(`build first: pnpm exec turbo run build (this test starts ${f})`);
}

jest.setTimeout(180_000);
const storeDir = mkdtempSync(join(tmpdir(), 'sb-start-store-'));
afterAll(() => rmSync(storeDir, { recursive: true, force: true }));

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => done(typeof addr === 'object' && addr ? addr.port : 0));
    });
    srv.on('error', fail);
  });
}

interface Run {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

async function start(extra: Record<string, string> = {}): Promise<Run> {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    LOG_LEVEL: 'warn',
    SANDBOX: 'off',
    REDIS_URL: 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: `start-store-${process.pid}`,
    WORKER_METRICS_PORT: String(await freePort()),
    ...extra,
  };
  const child = spawn(process.execPath, ['scripts/start.mjs', '--no-build', '--apps=worker', `--store-dir=${storeDir}`], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const end = Date.now() + 150_000;
  while (!/\[start\] ready: /.test(out)) {
    if (child.exitCode !== null || Date.now() > end) throw new Error(`pnpm start did not get ready:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, out: () => out, exited };
}

const storeUrl = (out: string) => /\[start\] store: (postgres:\/\/\S+)/.exec(out)?.[1];

function lockPid(): number | undefined {
  try {
    return (JSON.parse(readFileSync(join(storeDir, 'store.lock'), 'utf8')) as { pid: number }).pid;
  } catch {
    return undefined;
  }
}
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

type KeptDb = Kysely<{ kept: { v: string } }>;

/** Opens the store package on `url` (migrating it, as every app does) and runs `fn` on it. */
async function withStore<T>(url: string, fn: (db: KeptDb) => Promise<T>): Promise<T> {
  const store = await openStore({ url, log: silentLogger('start-store-test'), poolMax: 2 });
  try {
    return await fn(store.db as unknown as KeptDb);
  } finally {
    await store.close();
  }
}

test('the embedded store runs with the apps, stops with them, and keeps its data across starts', async () => {
  const first = await start();
  const url = storeUrl(first.out());
  expect(url).toBeDefined();
  expect(first.out()).toMatch(/\(embedded, started in [\d.]+ s, stopped with the apps\)/);
  const pid = lockPid() as number;
  expect(alive(pid)).toBe(true);
  await withStore(url as string, async (db) => {
    await db.schema.createTable('kept').addColumn('v', 'text').execute();
    await db.insertInto('kept').values({ v: 'survives a restart' }).execute();
  });

  // a second start on the same folder reuses the running store instead of failing
  const second = await start();
  expect(second.out()).toMatch(new RegExp(`store: ${url} \\(embedded, served by process ${pid}\\)`));
  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
  expect(alive(pid)).toBe(true);

  first.child.kill('SIGINT');
  expect(await first.exited).toBe(0);
  const end = Date.now() + 15_000;
  while (alive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  expect(alive(pid)).toBe(false);
  expect(lockPid()).toBeUndefined();

  const third = await start();
  const rows = await withStore(storeUrl(third.out()) as string, (db) => db.selectFrom('kept').select('v').execute());
  expect(rows).toEqual([{ v: 'survives a restart' }]);
  third.child.kill('SIGTERM');
  expect(await third.exited).toBe(0);
});

test('a lock naming a live process that does not serve the store (a reused pid) does not stop the start', async () => {
  writeFileSync(join(storeDir, 'store.lock'), JSON.stringify({ pid: process.pid, url: 'postgres://postgres@127.0.0.1:9/postgres' }));
  const run = await start();
  expect(run.out()).toMatch(/\(embedded, started in [\d.]+ s, stopped with the apps\)/);
  expect(lockPid()).not.toBe(process.pid);
  run.child.kill('SIGTERM');
  expect(await run.exited).toBe(0);
});

test('with DATABASE_URL set no embedded store is started', async () => {
  const run = await start({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test' });
  expect(run.out()).toMatch(/\[start\] store: DATABASE_URL\n/);
  expect(lockPid()).toBeUndefined();
  run.child.kill('SIGTERM');
  expect(await run.exited).toBe(0);
});
