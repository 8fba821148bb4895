import express from 'express';
import { silentLogger } from '@switchboard/core';
import { createRedis, gatewayKeys, waitReady, type RedisClient } from '@switchboard/queue';
import { dropPrefix, startFakeGraph, startOnLoopback, testRedisUrl, uniquePrefix, type FakeGraph } from '@switchboard/testkit';
import { GraphClient, TemplateCatalogueService } from '@switchboard/channel-whatsapp/outbound';
import { apiAuth, apiFallbacks } from './api.js';
import { templatesRouter, type TemplateCatalogues } from './templates.routes.js';

const WABA = '4455667788';
const KEY = 'tpl-test-secret-0123456789';
const TEMPLATES = [
  { id: '1', name: 'order_update', language: 'en_US', status: 'APPROVED', category: 'UTILITY', components: [{ type: 'BODY', text: 'Order {{1}} ships {{2}}' }] },
  { id: '2', name: 'welcome', language: 'de', status: 'PENDING', category: 'MARKETING', components: [{ type: 'BODY', text: 'Hallo {{first_name}}' }] },
];

describe('GET /api/v1/templates', () => {
  let graph: FakeGraph;
  let redis: RedisClient;
  let prefix: string;
  let server: { url: string; close: () => Promise<void> };
  let templates: TemplateCatalogues | undefined;

  beforeAll(async () => {
    graph = await startFakeGraph();
    redis = createRedis(testRedisUrl(), 'producer');
    await waitReady(redis);
    const log = silentLogger();
    const app = express();
    app.use('/api/v1', apiAuth([{ name: 'test', secret: KEY }], log));
    // the route reads whatever source the test sets
    app.use('/api/v1', (req, res, next) => templatesRouter({ templates })(req, res, next));
    const fb = apiFallbacks(log);
    app.use('/api/v1', fb.notFound, fb.errors);
    server = await startOnLoopback(app);
  });
  beforeEach(() => {
    prefix = uniquePrefix('tplapi');
    graph.reset();
    graph.templates.set(WABA, TEMPLATES);
    const client = new GraphClient({ baseUrl: graph.url, accessToken: 'tok' });
    templates = new TemplateCatalogueService({ redis, keys: gatewayKeys(prefix).templates, accounts: new Map([['default', { wabaId: WABA, client }], ['shop-b', { wabaId: '999', client }]]) });
  });
  afterEach(() => dropPrefix(redis as Parameters<typeof dropPrefix>[0], prefix));
  afterAll(async () => {
    await server.close();
    await graph.close();
    await redis.quit();
  });

  const get = async (query = '', key = KEY) => {
    const res = await fetch(`${server.url}/api/v1/templates${query}`, { headers: { authorization: `Bearer ${key}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('syncs on demand when nothing is cached, then serves the cache', async () => {
    const first = await get();
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ account: 'default', wabaId: WABA, syncedAt: expect.any(String) });
    const list = first.body.templates as Array<Record<string, unknown>>;
    expect(list.map((t) => [t.name, t.language, t.status, t.category])).toEqual([
      ['order_update', 'en_US', 'APPROVED', 'UTILITY'],
      ['welcome', 'de', 'PENDING', 'MARKETING'],
    ]);
    expect(list[0]).toMatchObject({ components: { body: { parameterCount: 2, parameters: { format: 'positional', names: ['1', '2'] } }, buttons: [] } });
    expect(list[1]).toMatchObject({ components: { body: { parameters: { format: 'named', names: ['first_name'] } } } });
    expect((await get('?account=default')).status).toBe(200);
    expect(graph.templateRequests()).toBe(1);
  });

  it('answers 404 for an account without a catalogue, 400 for a malformed account, 401 without a key', async () => {
    expect(await get('?account=nobody')).toMatchObject({ status: 404, body: { error: 'not_found' } });
    expect(await get('?account=Bad%20Id')).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect((await get('', 'wrong-key-0123456789abcdef')).status).toBe(401);
  });

  it('answers 503 when the provider cannot be reached and nothing is cached, or nothing is configured', async () => {
    // WABA 999 is unknown to the fake Graph: the sync fails
    expect(await get('?account=shop-b')).toMatchObject({ status: 503, body: { error: 'unavailable', message: expect.stringMatching(/could not be synced/) } });
    templates = undefined;
    expect(await get()).toMatchObject({ status: 503, body: { error: 'unavailable', message: expect.stringMatching(/WHATSAPP_WABA_ID/) } });
  });
});
