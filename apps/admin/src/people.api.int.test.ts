/**
 * The people API on a real PostgreSQL and Redis: scope `people`, create/replace/read/list/delete,
 * 409 `identifier_taken`, the CSV import (422 per-row errors with row numbers, 409 naming the row,
 * 413 above 2 MB, 415 for a non-CSV body) and 503 without a store.
 */
import request from 'supertest';
import { Redis } from 'ioredis';
import { createMetricsRegistry, silentLogger } from '@switchboard/core';
import { PeopleDirectory } from '@switchboard/people';
import { createRedis, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import { openStore, type Store } from '@switchboard/store';
import { createTestDatabase, dropPrefix, testRedisUrl, uniquePrefix, type TestDatabase } from '@switchboard/testkit';
import { parseApiKeys } from './api/api';
import { parseApiKeyScopes } from './api/scopes';
import { createAdminApp } from './app';

const SECRET = 'people-api-secret-0123456789';
const READER = 'people-reader-secret-0123456789';
const KEYS = parseApiKeys(`crm:${SECRET},reader:${READER}`);
const bearer = `Bearer ${SECRET}`;

describe('people API (real PostgreSQL and Redis)', () => {
  const prefix = uniquePrefix('peopleapi');
  let db: TestDatabase;
  let store: Store;
  let redis: RedisClient;
  let producers: Producers;
  let app: ReturnType<typeof createAdminApp>;
  let noStore: ReturnType<typeof createAdminApp>;

  beforeAll(async () => {
    db = await createTestDatabase('people_api');
    store = await openStore({ url: db.url, log: silentLogger(), poolMax: 3 });
    redis = createRedis(testRedisUrl(), 'producer');
    redis.on('error', () => undefined);
    await waitReady(redis);
    producers = new Producers(redis, prefix);
    const base = { redis, producers, prefix, auth: undefined, apiKeys: KEYS, apiKeyScopes: parseApiKeyScopes('crm:people,reader:read', KEYS), log: silentLogger() };
    app = createAdminApp({ ...base, registry: createMetricsRegistry({ service: 'people-api-1' }), people: new PeopleDirectory(store.db) });
    noStore = createAdminApp({ ...base, registry: createMetricsRegistry({ service: 'people-api-2' }) });
  });
  afterAll(async () => {
    await producers.close();
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
    redis.disconnect();
    await store.close();
    await db.drop();
  });

  it('needs a key with the people scope', async () => {
    expect((await request(app).get('/api/v1/people')).status).toBe(401);
    const res = await request(app).get('/api/v1/people').set('Authorization', `Bearer ${READER}`);
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: 'forbidden' });
    expect((await request(noStore).get('/api/v1/people').set('Authorization', bearer)).body).toMatchObject({ error: 'store_unavailable' });
  });

  it('PUT creates (201) then replaces (200); GET reads and lists with filters; DELETE removes', async () => {
    const created = await request(app)
      .put('/api/v1/people/anna')
      .set('Authorization', bearer)
      .send({ role: 'staff', name: 'Anna', externalId: 'E-1', attributes: { desk: 'B2' }, identifiers: [{ kind: 'phone', value: '+49 151 1234567' }, { kind: 'username', value: '@Anna' }] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'anna', account: 'default', role: 'staff', identifiers: [{ kind: 'phone', value: '491511234567' }, { kind: 'username', value: 'anna' }], source: 'api' });
    const replaced = await request(app).put('/api/v1/people/anna').set('Authorization', bearer).send({ role: 'admin', identifiers: [{ kind: 'phone', value: '491511234567' }] });
    expect(replaced.status).toBe(200);
    expect(replaced.body.role).toBe('admin');
    expect((await request(app).get('/api/v1/people/anna').set('Authorization', bearer)).body).toMatchObject({ role: 'admin', identifiers: [{ kind: 'phone' }] });
    const byPhone = await request(app).get('/api/v1/people').query({ identifier: '+49 (151) 1234567' }).set('Authorization', bearer);
    expect(byPhone.body.items.map((p: { id: string }) => p.id)).toEqual(['anna']);
    expect((await request(app).get('/api/v1/people').query({ role: 'vip' }).set('Authorization', bearer)).body.items).toEqual([]);
    expect((await request(app).put('/api/v1/people/bad id').set('Authorization', bearer).send({ role: 'staff' })).status).toBe(400);
    expect((await request(app).put('/api/v1/people/x').set('Authorization', bearer).send({ role: 'staff', identifiers: [{ kind: 'phone', value: 'nope' }] })).body).toMatchObject({ error: 'invalid_request' });
    expect((await request(app).delete('/api/v1/people/anna').set('Authorization', bearer)).status).toBe(204);
    expect((await request(app).get('/api/v1/people/anna').set('Authorization', bearer)).status).toBe(404);
    expect((await request(app).delete('/api/v1/people/anna').set('Authorization', bearer)).status).toBe(404);
  });

  it('409 identifier_taken when the identifier belongs to another person (a wa_id is the same number as a phone)', async () => {
    await request(app).put('/api/v1/people/bob').set('Authorization', bearer).send({ role: 'customer', identifiers: [{ kind: 'phone', value: '+34600111222' }] }).expect(201);
    const res = await request(app).put('/api/v1/people/carol').set('Authorization', bearer).send({ role: 'vip', identifiers: [{ kind: 'wa_id', value: '34600111222' }] });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: 'identifier_taken' });
  });

  it('CSV import: all rows or none; 422 with row numbers; 409 naming the row; 413; 415; pages', async () => {
    const csv = (body: string) => request(app).post('/api/v1/people/import').set('Authorization', bearer).set('Content-Type', 'text/csv').send(body);
    const ok = await csv('id,role,name,phone,attr.tier\nimp-1,customer,"Doe, Jane",+44 7700 900001,gold\nimp-2,vip,Max,+44 7700 900002,\n');
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ imported: 2, created: 2, updated: 0 });
    expect((await request(app).get('/api/v1/people/imp-1').set('Authorization', bearer)).body).toMatchObject({ name: 'Doe, Jane', attributes: { tier: 'gold' }, source: 'import' });
    expect((await csv('id,role,name,phone,attr.tier\nimp-1,customer,"Doe, Jane",+44 7700 900001,gold\n')).body).toEqual({ imported: 1, created: 0, updated: 1 });

    const bad = await csv('role,phone\ncustomer,+44 7700 900003\nCustomer!,not a phone\ncustomer\n');
    expect(bad.status).toBe(422);
    expect(bad.body.error).toBe('invalid_rows');
    expect(bad.body.details.map((d: { path: string }) => d.path)).toEqual(expect.arrayContaining(['row.3', 'row.4']));
    expect(bad.body.details.map((d: { path: string }) => d.path)).not.toContain('row.2');
    expect((await request(app).get('/api/v1/people').query({ identifier: '447700900003' }).set('Authorization', bearer)).body.items).toEqual([]);

    const conflict = await csv('role,phone\ncustomer,+44 7700 900004\ncustomer,+34 600 111 222\n');
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ error: 'identifier_taken', message: expect.stringContaining('row 3') });
    expect((await request(app).get('/api/v1/people').query({ identifier: '447700900004' }).set('Authorization', bearer)).body.items).toEqual([]);

    expect((await csv('role,phone\n' + 'customer,+44 7700 900005\n'.repeat(90_000))).status).toBe(413);
    expect((await request(app).post('/api/v1/people/import').set('Authorization', bearer).send({ role: 'x' })).status).toBe(415);
    expect((await csv('role,phone\n"open\n')).body).toMatchObject({ error: 'invalid_rows' });

    const page1 = await request(app).get('/api/v1/people').query({ limit: 2 }).set('Authorization', bearer);
    expect(page1.body.items).toHaveLength(2);
    const page2 = await request(app).get('/api/v1/people').query({ limit: 2, cursor: page1.body.next }).set('Authorization', bearer);
    expect(page2.body.items[0].id > page1.body.items[1].id).toBe(true);
    expect((await request(app).get('/api/v1/people').query({ cursor: 'nope' }).set('Authorization', bearer)).status).toBe(400);
  });
});
