import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import request from 'supertest';
import { createMetricsRegistry, silentLogger } from '@switchboard/core';
import { createWhatsAppInboundAdapter } from '@switchboard/channel-whatsapp/inbound';
import { createRedis, exportQueueDepths, Producers, waitReady } from '@switchboard/queue';
import {
  dropPrefix,
  fixtureBytes,
  fixtureNames,
  signMeta,
  testRedisUrl,
  uniquePrefix,
  WHATSAPP_FIXTURE_SECRET,
  WHATSAPP_FIXTURE_SIGNATURES,
  whatsappTextDelivery,
} from '@switchboard/testkit';
import { createWhatsAppIngressApp } from './app';

// note: superagent JSON-encodes Buffer bodies when the content type is JSON, so bodies are sent as strings of the exact bytes

const SECRET = WHATSAPP_FIXTURE_SECRET;

function build(prefix: string, redisUrl = testRedisUrl()) {
  const redis = createRedis(redisUrl, 'producer');
  redis.on('error', () => undefined);
  const producers = new Producers(redis, prefix);
  const app = createWhatsAppIngressApp({
    log: silentLogger(),
    registry: createMetricsRegistry({ service: 'test' }),
    producers,
    redis,
    adapter: createWhatsAppInboundAdapter({ appSecret: SECRET }),
    verifyToken: 'test_verify_token',
  });
  return { app, close: async () => { await producers.close(); redis.disconnect(); } };
}

describe('whatsapp-ingress (real Redis)', () => {
  const admin = new Redis(testRedisUrl());
  const prefix = uniquePrefix('wai');
  const { app, close } = build(prefix);
  const inbound = new Queue('inbound', { connection: admin, prefix });

  afterAll(async () => {
    await inbound.close();
    await close();
    await dropPrefix(admin, prefix);
    admin.disconnect();
  });

  it('GET verification echoes the challenge as text/plain, 403 otherwise', async () => {
    const ok = await request(app).get('/webhooks/whatsapp').query({ 'hub.mode': 'subscribe', 'hub.verify_token': 'test_verify_token', 'hub.challenge': '1158201444' });
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('1158201444');
    expect(ok.headers['content-type']).toMatch(/text\/plain/);
    const bad = await request(app).get('/webhooks/whatsapp').query({ 'hub.mode': 'subscribe', 'hub.verify_token': 'wrong', 'hub.challenge': '1' });
    expect(bad.status).toBe(403);
  });

  it.each(Object.keys(WHATSAPP_FIXTURE_SIGNATURES))('accepts signed fixture %s and makes every event durable before answering', async (name) => {
    const before = await inbound.count();
    const res = await request(app).post('/webhooks/whatsapp').set('content-type', 'application/json').set('x-hub-signature-256', WHATSAPP_FIXTURE_SIGNATURES[name]!).send(fixtureBytes('whatsapp', name).toString('utf8'));
    expect(res.status).toBe(200);
    expect(await inbound.count()).toBeGreaterThan(before);
  });

  it('the batch fixture enqueues one job per message with deterministic ids', async () => {
    const jobs = await inbound.getJobs(['waiting', 'delayed', 'prioritized']);
    const ids = jobs.map((j) => j.id);
    expect(ids.filter((id) => id?.startsWith('wa-109876543210987-wamid'))).toEqual(expect.arrayContaining([expect.any(String)]));
    for (const id of ids) expect(id).not.toContain(':');
  });

  it('three concurrent copies of one delivery become one job', async () => {
    const body = Buffer.from(JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [{ id: 'W', changes: [{ field: 'messages', value: { metadata: { phone_number_id: 'PNDUP' }, contacts: [{ wa_id: '1555' }], messages: [{ from: '1555', id: 'wamid.DUP1', type: 'text', text: { body: 'hi' } }] } }] }],
    }));
    const sig = signMeta(body, SECRET);
    const results = await Promise.all([1, 2, 3].map(() => request(app).post('/webhooks/whatsapp').set('content-type', 'application/json').set('x-hub-signature-256', sig).send(body.toString('utf8'))));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    const jobs = (await inbound.getJobs(['waiting', 'delayed', 'prioritized'])).filter((j) => j.id === 'wa-PNDUP-wamid.DUP1');
    expect(jobs).toHaveLength(1);
  });

  it('refuses a bad or missing signature with 401 and enqueues nothing', async () => {
    const before = await inbound.count();
    const raw = fixtureBytes('whatsapp', '01-text.json');
    expect((await request(app).post('/webhooks/whatsapp').set('content-type', 'application/json').set('x-hub-signature-256', signMeta(raw, 'wrong')).send(raw.toString('utf8'))).status).toBe(401);
    expect((await request(app).post('/webhooks/whatsapp').set('content-type', 'application/json').send(raw.toString('utf8'))).status).toBe(401);
    const reserialised = JSON.stringify(JSON.parse(fixtureBytes('whatsapp', '07-wire-format-escaped-unicode.raw.json').toString()));
    expect((await request(app).post('/webhooks/whatsapp').set('content-type', 'application/json').set('x-hub-signature-256', WHATSAPP_FIXTURE_SIGNATURES['07-wire-format-escaped-unicode.raw.json']!).send(reserialised)).status).toBe(401);
    expect(await inbound.count()).toBe(before);
  });

  it('answers 400 to a signed body that is not JSON', async () => {
    const body = Buffer.from('{"object": "whatsapp_business_account", "entry": [');
    const res = await request(app).post('/webhooks/whatsapp').set('content-type', 'application/json').set('x-hub-signature-256', signMeta(body, SECRET)).send(body.toString('utf8'));
    expect(res.status).toBe(400);
  });

  it('answers 413 above 3 MB', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024 + 10, 'a');
    const res = await request(app).post('/webhooks/whatsapp').set('content-type', 'application/json').set('x-hub-signature-256', signMeta(body, SECRET)).send(body.toString('utf8'));
    expect(res.status).toBe(413);
  });

  it('acknowledges unknown fields and objects (200) as unsupported events', async () => {
    const body = Buffer.from(JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: 'W', changes: [{ field: 'message_template_status_update', value: { event: 'APPROVED' } }] }] }));
    const res = await request(app).post('/webhooks/whatsapp').set('content-type', 'application/json').set('x-hub-signature-256', signMeta(body, SECRET)).send(body.toString('utf8'));
    expect(res.status).toBe(200);
  });

  it('serves healthz, readyz and metrics', async () => {
    expect((await request(app).get('/healthz')).status).toBe(200);
    expect((await request(app).get('/readyz')).status).toBe(200);
    const metrics = await request(app).get('/metrics');
    expect(metrics.text).toContain('sb_webhook_deliveries_total');
    expect(metrics.text).toContain('sb_signature_failures_total');
    expect(metrics.text).toContain('sb_enqueue_seconds');
  });

  it('lists the fixture set it was tested with', () => {
    expect(fixtureNames('whatsapp').length).toBeGreaterThanOrEqual(8);
  });
});

describe('whatsapp-ingress with a backlog above BACKLOG_ALERT_THRESHOLD', () => {
  it('keeps accepting durably and reports the backlog on /metrics', async () => {
    const admin = new Redis(testRedisUrl());
    const prefix = uniquePrefix('wai-backlog');
    const redis = createRedis(testRedisUrl(), 'producer');
    // a producer connection fails fast: wait for it, as main.ts does, so the first delivery is not a 503
    await waitReady(redis, 5000);
    const producers = new Producers(redis, prefix);
    const registry = createMetricsRegistry({ service: 'test' });
    const depths = exportQueueDepths(registry, producers, { alertThreshold: 3 });
    const app = createWhatsAppIngressApp({ log: silentLogger(), registry, producers, redis, adapter: createWhatsAppInboundAdapter({ appSecret: SECRET }), verifyToken: 'v' });
    const inbound = new Queue('inbound', { connection: admin, prefix });
    try {
      // the producer connection fails fast (no offline queue: 503 until connected, by design): wait until it is up
      if (redis.status !== 'ready') await new Promise((r) => redis.once('ready', r));
      // no worker runs: every delivery stays in the backlog
      for (let i = 0; i < 8; i++) {
        const { payload } = whatsappTextDelivery({ waId: `1555190000${i}`, text: `backlog ${i}` });
        const body = JSON.stringify(payload);
        const res = await request(app).post('/webhooks/whatsapp').set('content-type', 'application/json').set('x-hub-signature-256', signMeta(body, SECRET)).send(body);
        expect(res.status).toBe(200);
      }
      expect(await inbound.count()).toBe(8);
      const metrics = await request(app).get('/metrics');
      expect(metrics.text).toMatch(/^sb_queue_backlog\{queue="inbound"[^}]*\} 8$/m);
      expect(metrics.text).toMatch(/^sb_queue_backlog_over_threshold\{queue="inbound"[^}]*\} 1$/m);
      expect((await request(app).get('/readyz')).status).toBe(200);
    } finally {
      depths.stop();
      await inbound.close();
      await producers.close();
      redis.disconnect();
      await dropPrefix(admin, prefix);
      admin.disconnect();
    }
  });
});

describe('whatsapp-ingress with Redis down', () => {
  it('answers 503 so Meta redelivers, and readyz is not ready', async () => {
    const { app, close } = build(uniquePrefix('wad'), 'redis://127.0.0.1:1');
    const raw = fixtureBytes('whatsapp', '01-text.json');
    const res = await request(app).post('/webhooks/whatsapp').set('content-type', 'application/json').set('x-hub-signature-256', WHATSAPP_FIXTURE_SIGNATURES['01-text.json']!).send(raw.toString('utf8'));
    expect(res.status).toBe(503);
    expect((await request(app).get('/readyz')).status).toBe(503);
    await close();
  });
});
