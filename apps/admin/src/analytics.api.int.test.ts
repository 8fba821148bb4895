/**
 * `GET /api/v1/analytics` on a real PostgreSQL (the record seeded row by row): API keys, the
 * contract's fields with hand-computed values, the detail fields, date parsing (dates, offsets,
 * defaults) and its 400s, 503 without a store, and the console's copy behind basic auth with
 * Chart.js served from node_modules.
 */
import request from 'supertest';
import { Redis } from 'ioredis';
import { createMetricsRegistry, silentLogger } from '@switchboard/core';
import { createRedis, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import { RecordAnalytics } from '@switchboard/record';
import { openStore, sql, tsvectorLiteral, type Store } from '@switchboard/store';
import { createTestDatabase, dropPrefix, testRedisUrl, uniquePrefix, type TestDatabase } from '@switchboard/testkit';
import { parseApiKeys } from './api/api';
import { createAdminApp } from './app';

const SECRET = 'analytics-api-secret-0123456789';
const KEYS = parseApiKeys(`ops:${SECRET}`);
const AUTH = { user: 'ops', password: 'analytics console password' };
const bearer = `Bearer ${SECRET}`;
const basic = `Basic ${Buffer.from(`${AUTH.user}:${AUTH.password}`).toString('base64')}`;

describe('analytics API (real PostgreSQL)', () => {
  const prefix = uniquePrefix('anapi');
  let db: TestDatabase;
  let store: Store;
  let redis: RedisClient;
  let producers: Producers;
  let app: ReturnType<typeof createAdminApp>;
  let noStore: ReturnType<typeof createAdminApp>;
  let seq = 0;

  const conversation = (id: string, channel: string) =>
    store.db.insertInto('rec_conversation').values({ id, channel, provider_account: 'p', customer_id: `cust-${id}`, thread_id: null, customer_name: null, handoff_reason: null, first_message_at: new Date('2026-11-02T00:00:00Z'), last_message_at: new Date('2026-11-03T00:00:00Z') }).execute();
  const message = (conversationId: string, direction: 'in' | 'out', author: 'customer' | 'bot' | 'human', at: string) => {
    const text = `${author} ${++seq}`;
    return store.db.insertInto('rec_message').values({ id: `m${seq}`, conversation_id: conversationId, direction, author, origin: null, content_type: 'text', text, terms: sql`${tsvectorLiteral(text)}::tsvector`, media: null, provider_message_id: null, turn_id: null, at: new Date(at) }).execute();
  };
  const turn = (conversationId: string, at: string, outcome: 'answered' | 'handoff', tokensIn: number, tokensOut: number, costUsd: string) =>
    store.db.insertInto('rec_turn').values({ id: `t${++seq}`, conversation_id: conversationId, at: new Date(at), outcome, model: 'gpt-4o-mini', variant: null, latency_ms: 900, tokens_in: tokensIn, tokens_out: tokensOut, cost_usd: costUsd }).execute();

  beforeAll(async () => {
    db = await createTestDatabase('analytics_api');
    store = await openStore({ url: db.url, log: silentLogger(), poolMax: 3 });
    redis = createRedis(testRedisUrl(), 'producer');
    redis.on('error', () => undefined);
    await waitReady(redis);
    producers = new Producers(redis, prefix);
    const base = { log: silentLogger(), redis, producers, prefix, auth: AUTH, apiKeys: KEYS };
    app = createAdminApp({ ...base, registry: createMetricsRegistry({ service: 'analytics-api-test' }), analytics: new RecordAnalytics(store.db) });
    noStore = createAdminApp({ ...base, registry: createMetricsRegistry({ service: 'analytics-api-test-2' }) });

    // a1 whatsapp: answered by the bot in 3 s
    await conversation('a1', 'whatsapp');
    await message('a1', 'in', 'customer', '2026-11-02T10:00:00Z');
    await message('a1', 'out', 'bot', '2026-11-02T10:00:03Z');
    await turn('a1', '2026-11-02T10:00:03Z', 'answered', 1000, 200, '0.001200');
    // a2 telegram: the bot answers in 1 s, then hands over to a human
    await conversation('a2', 'telegram');
    await message('a2', 'in', 'customer', '2026-11-02T11:00:00Z');
    await message('a2', 'out', 'bot', '2026-11-02T11:00:01Z');
    await turn('a2', '2026-11-02T11:00:01Z', 'handoff', 500, 50, '0.000600');
    await store.db.insertInto('rec_event').values({ id: 'ev1', conversation_id: 'a2', kind: 'handoff', detail: JSON.stringify({ reason: 'asked_for_human' }) as unknown as Record<string, unknown>, at: new Date('2026-11-02T11:00:30Z') }).execute();
    await message('a2', 'out', 'human', '2026-11-02T11:02:00Z');
    // a3 telegram: never answered
    await conversation('a3', 'telegram');
    await message('a3', 'in', 'customer', '2026-11-03T09:00:00Z');
    await store.db.insertInto('rec_status').values({ id: 'st1', channel: 'whatsapp', provider_message_id: 'wamid.x', status: 'failed', error_code: 131049, error_title: 'Meta chose not to deliver', at: new Date('2026-11-02T10:00:10Z') }).execute();
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

  it('answers 401 without a valid key; the console’s basic auth does not open the API', async () => {
    for (const auth of [undefined, 'Bearer wrong-secret-0123456789', basic]) {
      const req = request(app).get('/api/v1/analytics');
      const res = auth ? await req.set('Authorization', auth) : await req;
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: 'unauthorized', message: expect.any(String) });
    }
  });

  it('answers the contract’s fields with the exact figures of the range (a date `to` includes that day)', async () => {
    const res = await request(app).get('/api/v1/analytics?from=2026-11-02&to=2026-11-03').set('Authorization', bearer);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const b = res.body;
    expect({ from: b.from, to: b.to, byChannel: b.byChannel, containmentRate: b.containmentRate, handoffRate: b.handoffRate, firstResponseMs: b.firstResponseMs, llm: b.llm }).toEqual({
      from: '2026-11-02T00:00:00.000Z',
      to: '2026-11-04T00:00:00.000Z',
      byChannel: { whatsapp: { conversations: 1, messagesIn: 1, messagesOut: 1 }, telegram: { conversations: 2, messagesIn: 2, messagesOut: 2 } },
      // a1 and a3 never involved a human; a2 was handed over
      containmentRate: 2 / 3,
      handoffRate: 1 / 3,
      // samples 1000 and 3000 ms (a3 unanswered)
      firstResponseMs: { p50: 2000, p95: 2900 },
      llm: { tokensIn: 1500, tokensOut: 250, costUsd: 0.0018 },
    });
    // the detail the console draws
    expect(b).toMatchObject({
      timeZone: 'UTC',
      totals: { conversations: 3, messagesIn: 3, messagesOut: 3 },
      resolution: { engaged: 3, contained: 2, handedOff: 1 },
      resolutionByChannel: { whatsapp: { engaged: 1, contained: 1, handedOff: 0, containmentRate: 1, handoffRate: 0 }, telegram: { engaged: 2, contained: 1, handedOff: 1, containmentRate: 0.5, handoffRate: 0.5 } },
      handoffReasons: [{ reason: 'asked_for_human', events: 1, conversations: 1 }],
      firstResponse: { answered: 2, unanswered: 1 },
      llmByModel: [{ model: 'gpt-4o-mini', turns: 2, tokensIn: 1500, tokensOut: 250, costUsd: 0.0018 }],
      turns: { total: 2, byOutcome: { answered: 1, handoff: 1 } },
      failedDeliveries: { total: 1, byCode: [{ code: 131049, title: 'Meta chose not to deliver', count: 1, byChannel: { whatsapp: 1 } }] },
    });
    expect(b.days).toHaveLength(2);
    expect(b.days[0]).toEqual({
      day: '2026-11-02',
      conversations: 2,
      messagesIn: 2,
      messagesOut: 3,
      byChannel: { whatsapp: { conversations: 1, messagesIn: 1, messagesOut: 1 }, telegram: { conversations: 1, messagesIn: 1, messagesOut: 2 } },
      engaged: 2,
      contained: 1,
      handedOff: 1,
      containmentRate: 0.5,
      handoffRate: 0.5,
      firstResponseMs: { p50: 2000, p95: 2900, answered: 2, unanswered: 0 },
      llm: { turns: 2, tokensIn: 1500, tokensOut: 250, costUsd: 0.0018, byModel: [{ model: 'gpt-4o-mini', turns: 2, tokensIn: 1500, tokensOut: 250, costUsd: 0.0018 }] },
    });
    expect(b.days[1]).toMatchObject({ day: '2026-11-03', conversations: 1, messagesIn: 1, messagesOut: 0, engaged: 1, contained: 1, handedOff: 0, firstResponseMs: { p50: null, p95: null, answered: 0, unanswered: 1 } });
  });

  it('reads date-times with offsets, filters by channel, and defaults to the last 30 days', async () => {
    // 2026-11-02T18:30+08:00 = 10:30Z: only a2 and a3
    const res = await request(app).get('/api/v1/analytics').query({ from: '2026-11-02T18:30:00+08:00', to: '2026-11-04T00:00:00Z', channel: 'telegram' }).set('Authorization', bearer);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ from: '2026-11-02T10:30:00.000Z', channel: 'telegram', byChannel: { telegram: { conversations: 2, messagesIn: 2, messagesOut: 2 } }, containmentRate: 0.5, handoffRate: 0.5, firstResponseMs: { p50: 1000, p95: 1000 } });
    expect(Object.keys(res.body.byChannel)).toEqual(['telegram']);

    const before = Date.now();
    const dflt = await request(app).get('/api/v1/analytics').set('Authorization', bearer);
    const after = Date.now();
    expect(dflt.status).toBe(200);
    const to = Date.parse(dflt.body.to);
    expect(to).toBeGreaterThanOrEqual(before);
    expect(to).toBeLessThanOrEqual(after);
    expect(to - Date.parse(dflt.body.from)).toBe(30 * 86_400_000);
    expect(dflt.body).toMatchObject({ byChannel: {}, containmentRate: null, handoffRate: null, firstResponseMs: { p50: null, p95: null }, llm: { tokensIn: 0, tokensOut: 0, costUsd: 0 } });
  });

  it('refuses bad dates, reversed or too long ranges, unknown channels and parameters with 400 {error: invalid_request}', async () => {
    const bad: Record<string, string>[] = [
      { from: 'yesterday' },
      { from: '2026-02-30' },
      { to: '2026-11-02T25:00:00Z' },
      { from: '2026-11-02T10:00:00' },
      { from: '1730000000000' },
      { from: '2026-11-03', to: '2026-11-02' },
      { from: '2026-11-02T10:00:00Z', to: '2026-11-02T10:00:00Z' },
      { from: '2000-01-01', to: '2026-01-01' },
      { channel: 'fax' },
      { account: 'Not An Account' },
      { since: '2026-11-02' },
    ];
    for (const query of bad) {
      const res = await request(app).get('/api/v1/analytics').query(query).set('Authorization', bearer);
      expect({ query, status: res.status, error: res.body.error }).toEqual({ query, status: 400, error: 'invalid_request' });
      expect(typeof res.body.message).toBe('string');
    }
  });

  it('answers 503 store_unavailable without a store', async () => {
    const res = await request(noStore).get('/api/v1/analytics').set('Authorization', bearer);
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: 'store_unavailable', message: expect.stringMatching(/DATABASE_URL/) });
  });

  it('serves the console page, its data and Chart.js from node_modules behind basic auth', async () => {
    expect((await request(app).get('/admin/analytics')).status).toBe(401);
    expect((await request(app).get('/admin/analytics/api/analytics')).status).toBe(401);
    expect((await request(app).get('/admin/analytics/vendor/chart.umd.min.js')).status).toBe(401);
    const page = await request(app).get('/admin/analytics').set('Authorization', basic);
    expect(page.status).toBe(200);
    expect(page.text).toContain('/admin/analytics/vendor/chart.umd.min.js');
    const data = await request(app).get('/admin/analytics/api/analytics?from=2026-11-02&to=2026-11-03').set('Authorization', basic);
    expect(data.status).toBe(200);
    expect(data.body.byChannel.telegram).toEqual({ conversations: 2, messagesIn: 2, messagesOut: 2 });
    expect((await request(app).get('/admin/analytics/api/analytics?from=nope').set('Authorization', basic)).body.error).toBe('invalid_request');
    const lib = await request(app).get('/admin/analytics/vendor/chart.umd.min.js').set('Authorization', basic);
    expect(lib.status).toBe(200);
    expect(lib.headers['content-type']).toMatch(/javascript/);
    expect(lib.text).toContain('window.Chart=');
  });
});
