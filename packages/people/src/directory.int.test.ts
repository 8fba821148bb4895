/** The directory on a real PostgreSQL: CRUD, identifier uniqueness (phone = wa_id), pages, look-ups, file sync, links. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Logger } from '@switchboard/core';
import { openStore, type Store } from '@switchboard/store';
import { createTestDatabase, waitFor, type TestDatabase } from '@switchboard/testkit';
import { CachedPeopleLookup, IdentifierTakenError, PeopleDirectory, PersonInput, syncPeopleFile, watchPeopleFile } from './index';

const log = createLogger({ service: 'people-test', silent: true });
let db: TestDatabase;
let store: Store;
let dir: PeopleDirectory;

beforeAll(async () => {
  db = await createTestDatabase();
  store = await openStore({ url: db.url, log, poolMax: 4 });
  dir = new PeopleDirectory(store.db);
});
afterAll(async () => {
  await store.close();
  await db.drop();
});

const input = (v: Record<string, unknown>) => PersonInput.parse(v);

test('put creates then replaces a person; identifiers are normalized and replaced as a whole', async () => {
  const first = await dir.put('anna', input({ role: 'staff', name: 'Anna', identifiers: [{ kind: 'phone', value: '+49 151 1234567' }, { kind: 'username', value: '@Anna' }] }));
  expect(first.created).toBe(true);
  expect(first.person.identifiers).toEqual([{ kind: 'phone', value: '491511234567' }, { kind: 'username', value: 'anna' }]);
  const second = await dir.put('anna', input({ role: 'admin', attributes: { desk: 3 }, identifiers: [{ kind: 'telegram_id', value: '777' }] }));
  expect(second.created).toBe(false);
  expect(second.person).toMatchObject({ role: 'admin', attributes: { desk: 3 }, identifiers: [{ kind: 'telegram_id', value: '777' }] });
  expect(second.person.name).toBeUndefined();
});

test('a wa_id finds the person listed by phone; an identifier of another person is refused (409)', async () => {
  await dir.put('bob', input({ role: 'customer', identifiers: [{ kind: 'phone', value: '+34 600 111 222' }] }));
  expect((await dir.findByIdentifiers('default', [{ kind: 'wa_id', value: '34600111222' }]))?.id).toBe('bob');
  expect(await dir.findByIdentifiers('other-account', [{ kind: 'wa_id', value: '34600111222' }])).toBeUndefined();
  await expect(dir.put('carol', input({ role: 'vip', identifiers: [{ kind: 'wa_id', value: '34600111222' }] }))).rejects.toBeInstanceOf(IdentifierTakenError);
  expect(await dir.get('carol')).toBeUndefined();
  // another account may hold the same number
  await dir.put('carol', input({ account: 'shop-de', role: 'vip', identifiers: [{ kind: 'wa_id', value: '34600111222' }] }));
});

test('lists filter by account, role and identifier and page with an opaque cursor', async () => {
  for (let i = 0; i < 5; i += 1) await dir.put(`list-${i}`, input({ account: 'pages', role: i % 2 ? 'vip' : 'customer', identifiers: [{ kind: 'username', value: `user${i}` }] }));
  const p1 = await dir.list({ account: 'pages', limit: 2 });
  expect(p1.items.map((p) => p.id)).toEqual(['list-0', 'list-1']);
  const p2 = await dir.list({ account: 'pages', limit: 2, cursor: p1.next });
  expect(p2.items.map((p) => p.id)).toEqual(['list-2', 'list-3']);
  expect((await dir.list({ account: 'pages', role: 'vip' })).items.map((p) => p.id)).toEqual(['list-1', 'list-3']);
  expect((await dir.list({ identifier: '@USER4' })).items.map((p) => p.id)).toEqual(['list-4']);
  await expect(dir.list({ cursor: 'bogus' })).rejects.toThrow(/cursor/);
});

test('an import is all or nothing: a conflict in row 2 leaves row 1 unwritten', async () => {
  const err = await dir
    .putMany([{ id: 'imp-1', input: input({ role: 'customer', identifiers: [{ kind: 'username', value: 'fresh' }] }) }, { id: 'imp-2', input: input({ role: 'customer', identifiers: [{ kind: 'phone', value: '34600111222' }] }) }], 'import')
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(IdentifierTakenError);
  expect((err as { row?: number }).row).toBe(1);
  expect(await dir.get('imp-1')).toBeUndefined();
});

test('verification links an identifier to the person the business named; erasure unlinks it', async () => {
  await dir.put('dora', input({ role: 'customer', externalId: 'C-9', identifiers: [] }));
  const linked = await dir.linkVerified('default', { kind: 'telegram_id', value: '4242' }, 'C-9', 'customer');
  expect(linked.id).toBe('dora');
  const fresh = await dir.linkVerified('default', { kind: 'telegram_id', value: '4343' }, 'C-10', 'customer');
  expect(fresh).toMatchObject({ externalId: 'C-10', source: 'verification', role: 'customer' });
  expect(await dir.unlink('default', [{ kind: 'telegram_id', value: '4242' }])).toBe(1);
  expect(await dir.findByIdentifiers('default', [{ kind: 'telegram_id', value: '4242' }])).toBeUndefined();
});

test('the cached look-up asks the store once per TTL', async () => {
  let calls = 0;
  let now = 1000;
  const lookup = new CachedPeopleLookup({ findByIdentifiers: (a, i) => ((calls += 1), dir.findByIdentifiers(a, i)) }, 30_000, 10, () => now);
  const who = [{ kind: 'wa_id' as const, value: '34600111222' }];
  expect((await lookup.find('default', who))?.id).toBe('bob');
  expect((await lookup.find('default', who))?.id).toBe('bob');
  expect(calls).toBe(1);
  now += 30_001;
  await lookup.find('default', who);
  expect(calls).toBe(2);
});

test('PEOPLE_FILE: shorthand identifiers, re-sync removes entries dropped from the file only', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'people-')), 'people.yaml');
  writeFileSync(path, 'people:\n  - id: file-ed\n    role: staff\n    phone: "+44 7700 900123"\n  - id: file-fi\n    role: vip\n    username: ["@Fi", "fi_two"]\n');
  expect(await syncPeopleFile(dir, path)).toEqual({ people: 2 });
  expect((await dir.get('file-fi'))?.identifiers).toHaveLength(2);
  writeFileSync(path, 'people:\n  - id: file-ed\n    role: admin\n    phone: "+44 7700 900123"\n');
  await syncPeopleFile(dir, path);
  expect(await dir.get('file-fi')).toBeUndefined();
  expect((await dir.get('file-ed'))?.role).toBe('admin');
  expect(await dir.get('bob')).toBeDefined();
  writeFileSync(path, 'people:\n  - id: bad\n    role: staff\n    phone: nope\n');
  await expect(syncPeopleFile(dir, path)).rejects.toThrow(/PEOPLE_FILE/);
});

test('PEOPLE_FILE is watched: an edit is applied and the caches are told; a bad edit keeps the directory', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'people-watch-')), 'people.json');
  writeFileSync(path, JSON.stringify({ people: [{ id: 'watch-1', role: 'customer', telegram_id: '880001' }] }));
  let synced = 0;
  const errors: string[] = [];
  const quiet = () => undefined;
  const watchLog = { info: quiet, warn: quiet, debug: quiet, error: (msg: string) => errors.push(msg) } as unknown as Logger;
  const stop = await watchPeopleFile(dir, path, watchLog, () => (synced += 1), 50);
  try {
    expect((await dir.get('watch-1'))?.role).toBe('customer');
    expect(synced).toBe(1);
    writeFileSync(path, JSON.stringify({ people: [{ id: 'watch-1', role: 'vip', telegram_id: '880001' }] }));
    await waitFor(async () => (await dir.get('watch-1'))?.role === 'vip', 10_000, 'edit applied');
    await waitFor(() => synced >= 2, 5000, 'caches told');
    writeFileSync(path, '{ not json');
    await waitFor(() => errors.length > 0, 10_000, 'bad edit reported');
    expect(errors[0]).toContain('people file not reloaded');
    expect((await dir.get('watch-1'))?.role).toBe('vip');
  } finally {
    stop();
  }
});

test('PEOPLE_FILE watch: an edit the store failed to take is tried again on the next poll, not kept back until the next edit', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'people-retry-')), 'people.json');
  writeFileSync(path, JSON.stringify({ people: [{ id: 'retry-1', role: 'customer', telegram_id: '880101' }] }));
  let failNext = false;
  // the real directory, with one refused write on demand (a store that is away for a moment)
  const flaky = Object.create(dir, {
    putMany: {
      value: async (...args: Parameters<PeopleDirectory['putMany']>) => {
        if (failNext) {
          failNext = false;
          throw new Error('connection terminated');
        }
        return dir.putMany(...args);
      },
    },
  }) as PeopleDirectory;
  const errors: string[] = [];
  const quiet = () => undefined;
  const watchLog = { info: quiet, warn: quiet, debug: quiet, error: (msg: string) => errors.push(msg) } as unknown as Logger;
  const stop = await watchPeopleFile(flaky, path, watchLog, quiet, 50);
  try {
    failNext = true;
    writeFileSync(path, JSON.stringify({ people: [{ id: 'retry-1', role: 'vip', telegram_id: '880101' }] }));
    await waitFor(() => errors.length > 0, 10_000, 'failed reload reported');
    await waitFor(async () => (await dir.get('retry-1'))?.role === 'vip', 10_000, 'edit applied on a later poll');
  } finally {
    stop();
  }
});
