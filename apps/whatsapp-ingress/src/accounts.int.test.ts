import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import request from 'supertest';
import { ConfigError, createMetricsRegistry, silentLogger } from '@switchboard/core';
import { whatsappDefaultAccount, whatsappInbound } from '@switchboard/channel-whatsapp/inbound';
import { createRedis, Producers, waitReady } from '@switchboard/queue';
import { createIngressApp } from '@switchboard/ingress';
import { dropPrefix, signMeta, testRedisUrl, uniquePrefix, whatsappTextDelivery } from '@switchboard/testkit';

/** The WhatsApp module serving two accounts through the one factory: each verified with its own secrets. */
describe('whatsapp-ingress with several accounts (real Redis)', () => {
  const admin = new Redis(testRedisUrl());
  const prefix = uniquePrefix('waacc');
  const redis = createRedis(testRedisUrl(), 'producer');
  redis.on('error', () => undefined);
  const producers = new Producers(redis, prefix);
  const inbound = new Queue('inbound', { connection: admin, prefix });
  const app = createIngressApp(
    whatsappInbound,
    [
      { id: 'default', settings: { enabled: true, appSecret: 'default-app-secret', verifyToken: 'default-verify' } },
      { id: 'shop-de', settings: { enabled: true, appSecret: 'shop-de-app-secret', verifyToken: 'shop-de-verify' } },
    ],
    { log: silentLogger(), registry: createMetricsRegistry({ service: 'test' }), producers, redis },
  );
  const delivery = (waId: string) => JSON.stringify(whatsappTextDelivery({ waId, text: 'hallo' }).payload);
  const post = (path: string, body: string, secret: string) => request(app).post(path).set('content-type', 'application/json').set('x-hub-signature-256', signMeta(body, secret)).send(body);

  beforeAll(() => waitReady(redis, 5000));
  afterAll(async () => {
    await inbound.close();
    await producers.close();
    redis.disconnect();
    await dropPrefix(admin, prefix);
    admin.disconnect();
  });

  it('POST: each route verifies with its own app secret; unknown accounts are 404', async () => {
    const body = delivery('4915100000001');
    expect((await post('/webhooks/whatsapp', body, 'default-app-secret')).text).toBe('EVENT_RECEIVED');
    expect((await post('/webhooks/whatsapp/default', body, 'default-app-secret')).status).toBe(200);
    expect((await post('/webhooks/whatsapp/shop-de', body, 'default-app-secret')).status).toBe(401);
    expect((await post('/webhooks/whatsapp/shop-de', delivery('4915100000002'), 'shop-de-app-secret')).status).toBe(200);
    expect((await post('/webhooks/whatsapp/shop-fr', body, 'default-app-secret')).status).toBe(404);
    expect(await inbound.count()).toBe(2);
  });

  it("GET: hub.challenge with that account's verify token only", async () => {
    const q = (token: string) => ({ 'hub.mode': 'subscribe', 'hub.verify_token': token, 'hub.challenge': '77' });
    expect((await request(app).get('/webhooks/whatsapp/shop-de').query(q('shop-de-verify'))).text).toBe('77');
    expect((await request(app).get('/webhooks/whatsapp/shop-de').query(q('default-verify'))).status).toBe(403);
    expect((await request(app).get('/webhooks/whatsapp').query(q('default-verify'))).text).toBe('77');
  });
});

describe('whatsappDefaultAccount (the environment defines the account `default`)', () => {
  const log = silentLogger();
  it('is disabled without credentials, refuses a missing app secret unless the insecure flag is set', () => {
    expect(whatsappDefaultAccount({ WHATSAPP_INSECURE_SKIP_SIGNATURE: false }, log)).toEqual({ id: 'default', settings: { enabled: false } });
    expect(() => whatsappDefaultAccount({ WHATSAPP_VERIFY_TOKEN: 'v', WHATSAPP_INSECURE_SKIP_SIGNATURE: false }, log)).toThrow(ConfigError);
    expect(whatsappDefaultAccount({ WHATSAPP_VERIFY_TOKEN: 'v', WHATSAPP_INSECURE_SKIP_SIGNATURE: true }, log).settings).toEqual({ enabled: true, appSecret: undefined, verifyToken: 'v' });
    expect(whatsappDefaultAccount({ WHATSAPP_APP_SECRET: 's', WHATSAPP_VERIFY_TOKEN: 'v', WHATSAPP_INSECURE_SKIP_SIGNATURE: false }, log).settings).toEqual({ enabled: true, appSecret: 's', verifyToken: 'v' });
  });
});
