import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import request from 'supertest';
import { createMetricsRegistry, InboundEvent, silentLogger } from '@switchboard/core';
import { createTelegramInboundAdapter } from '@switchboard/channel-telegram/inbound';
import { createRedis, Producers, waitReady } from '@switchboard/queue';
import { dropPrefix, fixtureBytes, fixtureNames, testRedisUrl, TELEGRAM_FIXTURE_BOT, uniquePrefix } from '@switchboard/testkit';
import { createTelegramIngressApp } from './app';

const SECRET = TELEGRAM_FIXTURE_BOT.webhookSecret;
const HEADER = 'x-telegram-bot-api-secret-token';
const adapter = () => createTelegramInboundAdapter({ webhookSecret: SECRET, botId: TELEGRAM_FIXTURE_BOT.id, botUsername: TELEGRAM_FIXTURE_BOT.username });

function build(prefix: string, redisUrl = testRedisUrl(), withAdapter = true) {
  const redis = createRedis(redisUrl, 'producer');
  redis.on('error', () => undefined);
  const producers = new Producers(redis, prefix);
  const app = createTelegramIngressApp({ log: silentLogger(), registry: createMetricsRegistry({ service: 'test' }), producers, redis, adapter: withAdapter ? adapter() : undefined });
  return { app, ready: () => waitReady(redis, 5000), close: async () => { await producers.close(); redis.disconnect(); } };
}

describe('telegram-ingress (real Redis)', () => {
  const admin = new Redis(testRedisUrl());
  const prefix = uniquePrefix('tgi');
  const { app, ready, close } = build(prefix);
  const inbound = new Queue('inbound', { connection: admin, prefix });
  const updates = fixtureNames('telegram').filter((n) => n.startsWith('update.'));

  beforeAll(() => ready());

  afterAll(async () => {
    await inbound.close();
    await close();
    await dropPrefix(admin, prefix);
    admin.disconnect();
  });

  it.each(updates)('accepts %s with the secret and makes its event durable (job id tg-<bot>-<update_id>) before answering', async (name) => {
    const raw = fixtureBytes('telegram', name);
    const res = await request(app).post('/webhooks/telegram').set('content-type', 'application/json').set(HEADER, SECRET).send(raw.toString('utf8'));
    expect(res.status).toBe(200);
    const updateId = (JSON.parse(raw.toString('utf8')) as { update_id: number }).update_id;
    const job = await inbound.getJob(`tg-${TELEGRAM_FIXTURE_BOT.id}-${updateId}`);
    expect(job).toBeDefined();
    expect(InboundEvent.safeParse(job!.data).success).toBe(true);
  });

  it('a redelivered update (even three at once) is one job', async () => {
    const body = JSON.stringify({ update_id: 913000001, message: { message_id: 1, date: 1764703200, chat: { id: 42, type: 'private', first_name: 'A' }, from: { id: 42, is_bot: false, first_name: 'A' }, text: 'hi' } });
    const results = await Promise.all([1, 2, 3].map(() => request(app).post('/webhooks/telegram').set('content-type', 'application/json').set(HEADER, SECRET).send(body)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    expect((await request(app).post('/webhooks/telegram').set('content-type', 'application/json').set(HEADER, SECRET).send(body)).status).toBe(200);
    const jobs = (await inbound.getJobs(['waiting', 'delayed', 'prioritized'])).filter((j) => j.id === `tg-${TELEGRAM_FIXTURE_BOT.id}-913000001`);
    expect(jobs).toHaveLength(1);
  });

  it('refuses a missing or wrong secret with 401 and enqueues nothing', async () => {
    const before = await inbound.count();
    const raw = fixtureBytes('telegram', 'update.01-private-text.json').toString('utf8');
    expect((await request(app).post('/webhooks/telegram').set('content-type', 'application/json').send(raw)).status).toBe(401);
    expect((await request(app).post('/webhooks/telegram').set('content-type', 'application/json').set(HEADER, 'wrong').send(raw)).status).toBe(401);
    expect((await request(app).post('/webhooks/telegram').set('content-type', 'application/json').set(HEADER, `x${SECRET}`).send(raw)).status).toBe(401);
    expect(await inbound.count()).toBe(before);
  });

  it('serves the default account on its own route and 404 for unknown accounts', async () => {
    const body = JSON.stringify({ update_id: 913000002, inline_query: { id: '1', from: { id: 1, is_bot: false, first_name: 'A' }, query: '', offset: '' } });
    expect((await request(app).post('/webhooks/telegram/default').set('content-type', 'application/json').set(HEADER, SECRET).send(body)).status).toBe(200);
    expect((await request(app).post('/webhooks/telegram/other-shop').set('content-type', 'application/json').set(HEADER, SECRET).send(body)).status).toBe(404);
  });

  it('answers 400 to a body that is not JSON, 413 above 1 MB', async () => {
    expect((await request(app).post('/webhooks/telegram').set('content-type', 'application/json').set(HEADER, SECRET).send('{"update_id": ')).status).toBe(400);
    expect((await request(app).post('/webhooks/telegram').set('content-type', 'application/json').set(HEADER, SECRET).send('a'.repeat(1024 * 1024 + 10))).status).toBe(413);
  });

  it('serves healthz, readyz and metrics', async () => {
    expect((await request(app).get('/healthz')).status).toBe(200);
    expect((await request(app).get('/readyz')).status).toBe(200);
    const metrics = await request(app).get('/metrics');
    expect(metrics.text).toMatch(/sb_webhook_deliveries_total\{[^}]*channel="telegram"[^}]*result="accepted"/);
    expect(metrics.text).toMatch(/sb_signature_failures_total\{[^}]*channel="telegram"/);
  });
});

describe('telegram-ingress without a token', () => {
  it('answers 503 so Telegram keeps the update', async () => {
    const { app, ready, close } = build(uniquePrefix('tgd'), testRedisUrl(), false);
    await ready();
    const res = await request(app).post('/webhooks/telegram').set('content-type', 'application/json').set(HEADER, SECRET).send('{}');
    expect(res.status).toBe(503);
    await close();
  });
});

describe('telegram-ingress with Redis down', () => {
  it('answers 503 so Telegram redelivers, and readyz is not ready', async () => {
    const { app, close } = build(uniquePrefix('tgr'), 'redis://127.0.0.1:1');
    const raw = fixtureBytes('telegram', 'update.01-private-text.json').toString('utf8');
    const res = await request(app).post('/webhooks/telegram').set('content-type', 'application/json').set(HEADER, SECRET).send(raw);
    expect(res.status).toBe(503);
    expect((await request(app).get('/readyz')).status).toBe(503);
    await close();
  });
});
