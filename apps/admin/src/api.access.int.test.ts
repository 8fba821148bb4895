/**
 * The HTTP API's key controls end to end, through the admin app in-process on loopback with real
 * Redis and the typed client (`@switchboard/client`): a message sent and its status read, scopes
 * (403 naming the scope), revocation across processes (401) and its restore, the rate limit per key
 * across processes (429 with Retry-After), and error bodies with `details`.
 */
import { createMetricsRegistry, silentLogger } from '@switchboard/core';
import { createRedis, gatewayKeys, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import { dropPrefix, startOnLoopback, testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { switchboardClient } from '@switchboard/client';
import { createAdminApp, type AdminDeps } from './app';
import type { ApiKey } from './api/api';
import { parseApiKeyScopes } from './api/scopes';
import { API_OPERATIONS } from './api/operations';

const KEYS: ApiKey[] = [
  { name: 'full', secret: 'full-secret-0123456789abcdef' },
  { name: 'orders', secret: 'orders-secret-0123456789abcdef' },
  { name: 'kb', secret: 'kb-secret-0123456789abcdef' },
  { name: 'ops', secret: 'ops-secret-0123456789abcdef' },
];
const SCOPES = 'orders:send+read,kb:knowledge,ops:admin';
const secretOf = (name: string) => KEYS.find((k) => k.name === name)!.secret;

describe('API keys: scopes, revocation, rate limits (real Redis, typed client)', () => {
  let redis: RedisClient;
  const producers: Producers[] = [];
  const conns: RedisClient[] = [];
  const servers: Array<{ url: string; close: () => Promise<void> }> = [];
  const prefixes: string[] = [];

  /** One admin process: its own Redis connection, sharing `prefix` (and so Redis state) with others. */
  const startAdmin = async (prefix: string, more: Partial<AdminDeps> = {}, keys: ApiKey[] = KEYS) => {
    const conn = createRedis(testRedisUrl(), 'producer');
    conn.on('error', () => undefined);
    conns.push(conn);
    await waitReady(conn);
    const p = new Producers(conn, prefix);
    producers.push(p);
    const app = createAdminApp({ log: silentLogger(), registry: createMetricsRegistry({ service: 'api-access-test' }), redis: conn, producers: p, prefix, auth: undefined, apiKeys: keys, apiKeyScopes: parseApiKeyScopes(SCOPES, keys), ...more });
    const server = await startOnLoopback(app);
    servers.push(server);
    return server.url;
  };
  const newPrefix = () => {
    const p = uniquePrefix('apiacc');
    prefixes.push(p);
    return p;
  };

  beforeAll(async () => {
    redis = createRedis(testRedisUrl(), 'producer');
    await waitReady(redis);
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    for (const p of producers) await p.close();
    for (const c of conns) c.disconnect();
    for (const p of prefixes) await dropPrefix(redis as Parameters<typeof dropPrefix>[0], p);
    redis.disconnect();
  });

  /** A customer who wrote to the default Telegram account (what the inbound path records). */
  const customerWrote = async (prefix: string, chatId: string) => {
    await redis.hset(gatewayKeys(prefix).contact('telegram', 'default', chatId), { ref: JSON.stringify({ channel: 'telegram', account: 'shopbot', userId: chatId }), last: String(Date.now()) });
  };

  it('sends a message through the typed client and reads its status; a replay answers the same id', async () => {
    const prefix = newPrefix();
    const url = await startAdmin(prefix);
    await customerWrote(prefix, '4242');
    const api = switchboardClient({ baseUrl: url, apiKey: secretOf('orders') });
    const sent = await api.POST('/api/v1/messages', { params: { header: { 'Idempotency-Key': 'order-77-shipped' } }, body: { channel: 'telegram', to: '4242', text: 'Your order 77 has shipped' } });
    expect(sent.response.status).toBe(202);
    expect(sent.data).toEqual({ id: expect.stringMatching(/^api-/), status: 'queued' });
    const id = sent.data!.id;
    const status = await api.GET('/api/v1/messages/{id}', { params: { path: { id } } });
    expect(status.response.status).toBe(200);
    expect(status.data).toEqual({ id, status: 'queued' });
    const replay = await api.POST('/api/v1/messages', { params: { header: { 'Idempotency-Key': 'order-77-shipped' } }, body: { channel: 'telegram', to: '4242', text: 'Your order 77 has shipped' } });
    expect(replay.response.status).toBe(200);
    expect(replay.data?.id).toBe(id);
    // one reply on its way to the channel, not two
    const counts = await producers[0]!.queue('outbound-telegram').getJobCounts('waiting', 'delayed', 'prioritized', 'active');
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('answers 400 with details for each problem of a refused body', async () => {
    const url = await startAdmin(newPrefix());
    const api = switchboardClient({ baseUrl: url, apiKey: secretOf('full') });
    // deliberately wrong: the types would not allow it
    const bad = await api.POST('/api/v1/messages', { params: { header: { 'Idempotency-Key': 'k-1' } }, body: { channel: 'fax', to: '' } as never });
    expect(bad.response.status).toBe(400);
    expect(bad.error).toMatchObject({ error: 'invalid_request', message: expect.stringMatching(/channel/) });
    expect(bad.error!.details!.map((d) => d.path)).toEqual(expect.arrayContaining(['channel', 'to']));
  });

  it('refuses a route outside the key\'s scopes with 403 naming the scope; a key not listed has every scope', async () => {
    const url = await startAdmin(newPrefix());
    const orders = switchboardClient({ baseUrl: url, apiKey: secretOf('orders') });
    const kb = switchboardClient({ baseUrl: url, apiKey: secretOf('kb') });
    const ops = switchboardClient({ baseUrl: url, apiKey: secretOf('ops') });
    const full = switchboardClient({ baseUrl: url, apiKey: secretOf('full') });

    const docs = await orders.GET('/api/v1/knowledge/documents');
    expect(docs.response.status).toBe(403);
    expect(docs.error).toMatchObject({ error: 'forbidden', message: expect.stringContaining('"knowledge"') });
    const send = await kb.POST('/api/v1/messages', { params: { header: { 'Idempotency-Key': 'k-2' } }, body: { channel: 'telegram', to: '1', text: 'hi' } });
    expect(send.response.status).toBe(403);
    expect(send.error?.message).toContain('"send"');
    expect((await orders.GET('/api/v1/keys')).error?.message).toContain('"admin"');
    // within scope: the route runs (no store here: 503), not refused
    expect((await kb.GET('/api/v1/knowledge/documents')).error?.error).toBe('store_unavailable');
    expect((await orders.GET('/api/v1/conversations')).error?.error).toBe('store_unavailable');
    expect((await ops.DELETE('/api/v1/customers/{channel}/{customerId}', { params: { path: { channel: 'telegram', customerId: '1' } } })).error?.error).toBe('store_unavailable');
    expect((await full.GET('/api/v1/analytics')).error?.error).toBe('store_unavailable');
    // a route not in the operation table needs admin: 403 for a scoped key, 404 for one with admin
    const unknownOrders = await fetch(`${url}/api/v1/nothing-here`, { headers: { authorization: `Bearer ${secretOf('orders')}` } });
    expect(unknownOrders.status).toBe(403);
    const unknownFull = await fetch(`${url}/api/v1/nothing-here`, { headers: { authorization: `Bearer ${secretOf('full')}` } });
    expect(unknownFull.status).toBe(404);
    // express matches paths case-insensitively: so does the scope lookup
    const upper = await fetch(`${url}/API/V1/KNOWLEDGE/DOCUMENTS`, { headers: { authorization: `Bearer ${secretOf('orders')}` } });
    expect(upper.status).toBe(403);
    const keys = await ops.GET('/api/v1/keys');
    expect(keys.data?.items).toEqual([
      { name: 'full', scopes: ['send', 'read', 'knowledge', 'people', 'admin'], revoked: false },
      { name: 'orders', scopes: ['send', 'read'], revoked: false },
      { name: 'kb', scopes: ['knowledge'], revoked: false },
      { name: 'ops', scopes: ['admin'], revoked: false },
    ]);
  });

  it('revokes a key for every process at once (401), not itself, and restores it; a new secret for the name is not revoked', async () => {
    const prefix = newPrefix();
    const [a, b] = [await startAdmin(prefix), await startAdmin(prefix)];
    const ordersA = switchboardClient({ baseUrl: a, apiKey: secretOf('orders') });
    const ordersB = switchboardClient({ baseUrl: b, apiKey: secretOf('orders') });
    const ops = switchboardClient({ baseUrl: a, apiKey: secretOf('ops') });
    expect((await ordersB.GET('/api/v1/messages/{id}', { params: { path: { id: 'api-none' } } })).response.status).toBe(404);

    const revoked = await ops.POST('/api/v1/keys/{name}/revoke', { params: { path: { name: 'orders' } } });
    expect(revoked.data).toMatchObject({ name: 'orders', revoked: true, revokedBy: 'ops', revokedAt: expect.any(String) });
    for (const client of [ordersA, ordersB]) {
      const r = await client.GET('/api/v1/messages/{id}', { params: { path: { id: 'api-none' } } });
      expect(r.response.status).toBe(401);
      expect(r.error).toMatchObject({ error: 'unauthorized', message: expect.stringContaining('revoked') });
    }
    // a revocation holds for that secret: the same name with a new secret (API_KEYS changed at restart) works
    const rotated = KEYS.map((k) => (k.name === 'orders' ? { name: 'orders', secret: 'orders-new-secret-0123456789' } : k));
    const c = await startAdmin(prefix, {}, rotated);
    expect((await switchboardClient({ baseUrl: c, apiKey: 'orders-new-secret-0123456789' }).GET('/api/v1/messages/{id}', { params: { path: { id: 'api-none' } } })).response.status).toBe(404);

    expect((await ops.POST('/api/v1/keys/{name}/revoke', { params: { path: { name: 'ops' } } })).response.status).toBe(400);
    expect((await ops.POST('/api/v1/keys/{name}/revoke', { params: { path: { name: 'nobody' } } })).response.status).toBe(404);
    expect((await ops.GET('/api/v1/keys')).data?.items.find((k) => k.name === 'orders')).toMatchObject({ revoked: true, revokedBy: 'ops' });

    const restored = await ops.POST('/api/v1/keys/{name}/restore', { params: { path: { name: 'orders' } } });
    expect(restored.data).toEqual({ name: 'orders', scopes: ['send', 'read'], revoked: false });
    expect((await ordersB.GET('/api/v1/messages/{id}', { params: { path: { id: 'api-none' } } })).response.status).toBe(404);
    expect((await switchboardClient({ baseUrl: a, apiKey: 'not-a-key-0123456789abcdef' }).GET('/api/v1/keys')).response.status).toBe(401);
  });

  it('limits each key to API_RATE_LIMIT requests a minute across processes: 429 rate_limited with Retry-After', async () => {
    const prefix = newPrefix();
    const [a, b] = [await startAdmin(prefix, { apiRateLimit: 3 }), await startAdmin(prefix, { apiRateLimit: 3 })];
    const get = (url: string, key: string) => fetch(`${url}/api/v1/messages/api-none`, { headers: { authorization: `Bearer ${secretOf(key)}` } });
    const first = await get(a, 'orders');
    expect(first.status).toBe(404);
    expect([first.headers.get('ratelimit-limit'), first.headers.get('ratelimit-remaining')]).toEqual(['3', '2']);
    expect((await get(b, 'orders')).headers.get('ratelimit-remaining')).toBe('1');
    expect((await get(a, 'orders')).headers.get('ratelimit-remaining')).toBe('0');
    const limited = await get(b, 'orders');
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    // one request comes back every 60 s / 3 = 20 s
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(20);
    expect(await limited.json()).toMatchObject({ error: 'rate_limited', message: expect.stringContaining('3 requests a minute') });
    // another key has its own allowance
    expect((await get(a, 'full')).status).toBe(404);
    // the typed client sees the same
    const viaClient = await switchboardClient({ baseUrl: a, apiKey: secretOf('orders') }).GET('/api/v1/messages/{id}', { params: { path: { id: 'api-none' } } });
    expect(viaClient.response.status).toBe(429);
    expect(viaClient.error?.error).toBe('rate_limited');
  });

  it('routes every operation of the document (none answers "no route")', async () => {
    const url = await startAdmin(newPrefix());
    for (const op of API_OPERATIONS) {
      const path = op.path.replace(/\{[^}]+\}/g, 'x1');
      const res = await fetch(`${url}${path}`, { method: op.method.toUpperCase(), headers: { authorization: `Bearer ${secretOf('full')}`, 'content-type': 'application/json' }, ...(op.method === 'post' ? { body: '{}' } : {}) });
      const body = res.headers.get('content-type')?.includes('json') ? ((await res.json()) as { message?: string }) : {};
      expect([op.method, op.path, res.status === 404 && /^no route/.test(body.message ?? '')]).toEqual([op.method, op.path, false]);
    }
  });
});
