import { Redis } from 'ioredis';
import request from 'supertest';
import { z } from 'zod';
import { createMetricsRegistry, defineAccountFile, silentLogger, type ChannelAccount, type ChannelInbound, type InboundEvent } from '@switchboard/core';
import { createRedis, Producers, waitReady } from '@switchboard/queue';
import { dropPrefix, testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { createIngressApp, type IngressRuntime } from './index';

/** A minimal channel for the factory: a shared-secret header per account, JSON `{ id, user, kind? }`. */
type Settings = { enabled: true; secret: string } | { enabled: false };
interface Payload {
  id: string;
  user: string;
  kind?: 'noise' | 'sync';
}

const testInbound: ChannelInbound<Settings, IngressRuntime> = {
  channel: 'telegram',
  route: 'test-chan',
  bodyLimit: '16kb',
  errorFormat: 'json',
  unsupported: 'acknowledge',
  verifiesSubscription: true,
  readinessCheck: 'test-chan',
  accountFile: defineAccountFile(z.strictObject({ secret: z.string() }), (f) => ({ enabled: true, secret: f.secret })),
  createInbound(account, runtime) {
    const s = account.settings;
    if (!s.enabled) return { enabled: false, reason: 'no secret' };
    return {
      enabled: true,
      inbound: {
        adapter: {
          channel: 'telegram',
          verify(req) {
            if (req.headers['x-secret'] !== s.secret) return { ok: false, status: 401, reason: 'bad secret' };
            try {
              return { ok: true, payload: JSON.parse(req.rawBody.toString('utf8')) as Payload };
            } catch {
              return { ok: false, status: 400, reason: 'not JSON' };
            }
          },
          parse(p: Payload, ctx): InboundEvent[] {
            if (p.kind === 'sync') return [];
            if (p.kind === 'noise') return [{ kind: 'unsupported', eventId: `tc-${account.id}-${p.id}`, channel: 'telegram', providerType: 'noise', reason: 'test noise' }];
            return [{ kind: 'signal', eventId: `tc-${account.id}-${p.id}`, conversation: { channel: 'telegram', account: account.id, userId: p.user }, at: ctx.receivedAt, signal: 'info', detail: {} }];
          },
        },
        challenge: (req) => (req.query['token'] === s.secret ? { ok: true, payload: req.query['challenge'] ?? '' } : { ok: false, status: 403, reason: 'bad token' }),
        dedupe: { deliveryHeader: 'x-delivery', deliveryKey: (id) => `${runtime.prefix}:tc:${account.id}:dlv:${id}`, deliveryTtlSec: 60 },
        jobs: (p: Payload, ctx) => (p.kind === 'sync' ? [{ queue: 'wechat-sync', data: { corpId: account.id, receivedAt: ctx.receivedAt, openKfId: p.user }, jobId: `tcs-${account.id}-${p.id}` }] : []),
      },
    };
  },
  answer: (o) => ({ type: 'json', body: { ok: true, result: o.result, events: o.events, jobs: o.jobs } }),
};

const ACCOUNTS: Array<ChannelAccount<Settings>> = [
  { id: 'default', settings: { enabled: true, secret: 'default-secret' } },
  { id: 'shop-de', settings: { enabled: true, secret: 'shop-de-secret' } },
  { id: 'off', settings: { enabled: false } },
];

function build(prefix: string, redisUrl = testRedisUrl(), accounts = ACCOUNTS) {
  const redis = createRedis(redisUrl, 'producer');
  redis.on('error', () => undefined);
  const producers = new Producers(redis, prefix);
  const app = createIngressApp(testInbound, accounts, { log: silentLogger(), registry: createMetricsRegistry({ service: 'test' }), producers, redis });
  return { app, producers, ready: () => waitReady(redis, 5000), close: async () => { await producers.close(); redis.disconnect(); } };
}

const post = (app: Parameters<typeof request>[0], path: string, body: object, secret: string, headers: Record<string, string> = {}) => {
  let r = request(app).post(path).set('content-type', 'application/json').set('x-secret', secret);
  for (const [k, v] of Object.entries(headers)) r = r.set(k, v);
  return r.send(JSON.stringify(body));
};

describe('createIngressApp (real Redis)', () => {
  const admin = new Redis(testRedisUrl());
  const prefix = uniquePrefix('ingf');
  const { app, producers, ready, close } = build(prefix);
  const inboundJob = (id: string) => producers.queue('inbound').getJob(id);

  beforeAll(() => ready());
  afterAll(async () => {
    await close();
    await dropPrefix(admin, prefix);
    admin.disconnect();
  });

  it('the bare route serves the default account, durably, with the channel answer', async () => {
    const res = await post(app, '/webhooks/test-chan', { id: '1', user: 'u1' }, 'default-secret');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, result: 'accepted', events: 1, jobs: 0 });
    expect((await inboundJob('tc-default-1'))?.data).toMatchObject({ kind: 'signal', conversation: { account: 'default', userId: 'u1' } });
  });

  it('/default is the same account as the bare route', async () => {
    expect((await post(app, '/webhooks/test-chan/default', { id: '2', user: 'u1' }, 'default-secret')).status).toBe(200);
    expect(await inboundJob('tc-default-2')).toBeDefined();
  });

  it("an account's route verifies with that account's secret only", async () => {
    expect((await post(app, '/webhooks/test-chan/shop-de', { id: '3', user: 'u2' }, 'default-secret')).status).toBe(401);
    expect((await post(app, '/webhooks/test-chan', { id: '3', user: 'u2' }, 'shop-de-secret')).status).toBe(401);
    expect((await post(app, '/webhooks/test-chan/shop-de', { id: '3', user: 'u2' }, 'shop-de-secret')).status).toBe(200);
    // the account's events carry it: conversation, and an event id qualified by the account
    const job = await inboundJob('shop-de.tc-shop-de-3');
    expect(job?.data).toMatchObject({ eventId: 'shop-de.tc-shop-de-3', conversation: { accountId: 'shop-de' } });
    expect(await inboundJob('tc-default-3')).toBeUndefined();
  });

  it('an unknown or malformed account id is 404 and enqueues nothing', async () => {
    expect((await post(app, '/webhooks/test-chan/nope', { id: '4', user: 'u' }, 'default-secret')).status).toBe(404);
    expect((await post(app, '/webhooks/test-chan/Shop_DE', { id: '4', user: 'u' }, 'default-secret')).status).toBe(404);
    expect((await request(app).get('/webhooks/test-chan/nope').query({ token: 'default-secret', challenge: 'c' })).status).toBe(404);
    expect(await inboundJob('tc-nope-4')).toBeUndefined();
  });

  it('a disabled account answers 503 on both methods and fails the readiness check', async () => {
    expect((await post(app, '/webhooks/test-chan/off', { id: '5', user: 'u' }, 'x')).status).toBe(503);
    expect((await request(app).get('/webhooks/test-chan/off').query({ token: 'x' })).status).toBe(503);
    const ready = await request(app).get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.checks).toEqual({ redis: 'ok', 'test-chan': 'disabled: no secret' });
    expect((await request(app).get('/healthz')).status).toBe(200);
  });

  it('GET subscription checks per account answer the challenge as text/plain', async () => {
    const ok = await request(app).get('/webhooks/test-chan/shop-de').query({ token: 'shop-de-secret', challenge: '42' });
    expect([ok.status, ok.text]).toEqual([200, '42']);
    expect(ok.headers['content-type']).toMatch(/^text\/plain/);
    expect((await request(app).get('/webhooks/test-chan').query({ token: 'shop-de-secret', challenge: '42' })).status).toBe(403);
  });

  it('other jobs are made durable; acknowledged-only deliveries are `ignored`', async () => {
    const sync = await post(app, '/webhooks/test-chan', { id: '6', user: 'kf1', kind: 'sync' }, 'default-secret');
    expect(sync.body).toEqual({ ok: true, result: 'accepted', events: 0, jobs: 1 });
    expect((await producers.queue('wechat-sync').getJob('tcs-default-6'))?.data).toMatchObject({ corpId: 'default', openKfId: 'kf1' });
    const noise = await post(app, '/webhooks/test-chan', { id: '7', user: 'u', kind: 'noise' }, 'default-secret');
    expect(noise.body).toEqual({ ok: true, result: 'ignored', events: 0, jobs: 0 });
    expect(await inboundJob('tc-default-7')).toBeUndefined();
  });

  it('a repeated transport id is a duplicate delivery, marked only after it was durable', async () => {
    const first = await post(app, '/webhooks/test-chan', { id: '8', user: 'u' }, 'default-secret', { 'x-delivery': 'd-8' });
    const again = await post(app, '/webhooks/test-chan', { id: '9', user: 'u' }, 'default-secret', { 'x-delivery': 'd-8' });
    expect([first.body.result, again.body.result]).toEqual(['accepted', 'duplicate_delivery']);
    expect(await inboundJob('tc-default-9')).toBeUndefined();
  });

  it('maps refusals: 400 malformed, 413 too large, 415 unknown encoding; counts them', async () => {
    const bad = await request(app).post('/webhooks/test-chan').set('content-type', 'application/json').set('x-secret', 'default-secret').send('{nope');
    expect(bad.status).toBe(400);
    expect((await post(app, '/webhooks/test-chan', { id: '10', user: 'x'.repeat(20_000) }, 'default-secret')).status).toBe(413);
    const br = await request(app).post('/webhooks/test-chan').set('content-type', 'application/json').set('content-encoding', 'br').set('x-secret', 'default-secret').send('{}');
    expect(br.status).toBe(415);
    const metrics = (await request(app).get('/metrics')).text;
    expect(metrics).toMatch(/sb_webhook_deliveries_total\{channel="telegram",result="accepted"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/sb_webhook_deliveries_total\{channel="telegram",result="too_large"/);
    expect(metrics).toMatch(/sb_signature_failures_total\{channel="telegram",reason="bad secret"/);
    expect(metrics).toMatch(/sb_enqueue_seconds_count\{[^}]*channel="telegram"[^}]*\} [1-9]/);
  });

  it('the plain paths (served without Express) and the spellings Express routes answer alike', async () => {
    // exact paths take the direct route; a trailing slash or another letter case goes through Express's router
    const direct = await post(app, '/webhooks/test-chan/shop-de?x=1', { id: '11', user: 'u' }, 'shop-de-secret');
    const routed = await post(app, '/webhooks/test-chan/shop-de/', { id: '12', user: 'u' }, 'shop-de-secret');
    const cased = await post(app, '/Webhooks/Test-Chan', { id: '13', user: 'u' }, 'default-secret');
    for (const res of [direct, routed, cased]) {
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.body).toEqual({ ok: true, result: 'accepted', events: 1, jobs: 0 });
    }
    expect(await inboundJob('shop-de.tc-shop-de-12')).toBeDefined();
    expect(await inboundJob('tc-default-13')).toBeDefined();
    const refused = await post(app, '/webhooks/test-chan/nope/', { id: '14', user: 'u' }, 'default-secret');
    expect([refused.status, refused.body]).toEqual([404, { error: 'unknown account' }]);
    expect((await post(app, '/webhooks/test-chan-other', { id: '15', user: 'u' }, 'default-secret')).status).toBe(404);
  });

  it('refuses an invalid or repeated account id at construction', async () => {
    const redis = createRedis(testRedisUrl(), 'producer');
    redis.on('error', () => undefined);
    const producers = new Producers(redis, uniquePrefix('ingf'));
    const deps = { log: silentLogger(), registry: createMetricsRegistry({ service: 'test' }), producers, redis };
    expect(() => createIngressApp(testInbound, [{ id: 'Bad Id', settings: { enabled: false } }], deps)).toThrow(/must match/);
    expect(() => createIngressApp(testInbound, [ACCOUNTS[0]!, ACCOUNTS[0]!], { ...deps, registry: createMetricsRegistry({ service: 'test' }) })).toThrow(/twice/);
    await producers.close();
    redis.disconnect();
  });
});

describe('createIngressApp with Redis down', () => {
  it('answers 503 so the provider redelivers, and /readyz is not ready', async () => {
    const { app, close } = build(uniquePrefix('ingd'), 'redis://127.0.0.1:1', [ACCOUNTS[0]!]);
    const res = await post(app, '/webhooks/test-chan', { id: '1', user: 'u' }, 'default-secret');
    expect(res.status).toBe(503);
    expect((await request(app).get('/readyz')).status).toBe(503);
    await close();
  });
});
