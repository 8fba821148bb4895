import { Writable } from 'node:stream';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import request from 'supertest';
import { createLogger, createMetricsRegistry, DEFAULT_ACCOUNT_ID, InboundEvent } from '@switchboard/core';
import { whatsappInbound } from '@switchboard/channel-whatsapp/inbound';
import { createRedis, Producers, waitReady } from '@switchboard/queue';
import { createIngressApp } from '@switchboard/ingress';
import { dropPrefix, signMeta, testRedisUrl, uniquePrefix, whatsappTextDelivery } from '@switchboard/testkit';

/**
 * A file account serves only its own phone numbers: a change of another number (e.g. a second
 * number of the same Meta app that belongs to another account) is acknowledged, logged without the
 * customer and counted, and never reaches the inbound queue.
 */
describe('whatsapp file account: only its own phone numbers (real Redis)', () => {
  const admin = new Redis(testRedisUrl());
  const prefix = uniquePrefix('wapn');
  const redis = createRedis(testRedisUrl(), 'producer');
  redis.on('error', () => undefined);
  const producers = new Producers(redis, prefix);
  const inbound = new Queue('inbound', { connection: admin, prefix });
  const registry = createMetricsRegistry({ service: 'test' });
  const log = createLogger({ service: 'test', level: 'debug' });
  log.clear();
  const lines: Record<string, unknown>[] = [];
  log.pipe(
    new Writable({
      objectMode: true,
      write(info: Record<string, unknown>, _enc, done) {
        lines.push(info);
        done();
      },
    }),
  );
  const app = createIngressApp(
    whatsappInbound,
    [
      { id: DEFAULT_ACCOUNT_ID, settings: { enabled: true, appSecret: 'default-app-secret', verifyToken: 'dv' } },
      { id: 'shop-de', settings: { enabled: true, appSecret: 'shop-de-app-secret', verifyToken: 'sv', phoneNumberIds: ['106540352242922', '106540352242923'] } },
    ],
    { log, registry, producers, redis },
  );
  const post = (path: string, payload: unknown, secret: string) => {
    const body = JSON.stringify(payload);
    return request(app).post(path).set('content-type', 'application/json').set('x-hub-signature-256', signMeta(body, secret)).send(body);
  };
  const jobs = async () => (await inbound.getJobs(['waiting', 'delayed', 'prioritized'])).map((j) => InboundEvent.parse(j.data));
  const metric = async (labels: Record<string, string>) => {
    const m = (await registry.getSingleMetric('sb_inbound_events_total')?.get())?.values ?? [];
    return m.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((n, v) => n + v.value, 0);
  };

  beforeAll(() => waitReady(redis, 5000));
  afterAll(async () => {
    await inbound.close();
    await producers.close();
    redis.disconnect();
    await dropPrefix(admin, prefix);
    admin.disconnect();
  });

  it("enqueues its own numbers' messages and only acknowledges another number's", async () => {
    const own = whatsappTextDelivery({ waId: '4915100000011', text: 'hallo', phoneNumberId: '106540352242923' });
    expect((await post('/webhooks/whatsapp/shop-de', own.payload, 'shop-de-app-secret')).text).toBe('EVENT_RECEIVED');

    const foreign = whatsappTextDelivery({ waId: '4915100000012', text: 'hallo', phoneNumberId: '999000111222333' });
    const res = await post('/webhooks/whatsapp/shop-de', foreign.payload, 'shop-de-app-secret');
    expect(res.status).toBe(200);
    expect(res.text).toBe('EVENT_RECEIVED');

    const queued = await jobs();
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({ kind: 'message', conversation: { userId: '4915100000011', account: '106540352242923', accountId: 'shop-de' } });
    expect(JSON.stringify(queued)).not.toContain('4915100000012');

    expect(await metric({ account: 'shop-de', kind: 'unsupported', type: 'other_phone_number' })).toBe(1);
    expect(await metric({ account: 'shop-de', kind: 'message' })).toBe(1);
    const logged = lines.find((l) => l['providerType'] === 'other_phone_number');
    expect(logged).toMatchObject({ account: 'shop-de', channel: 'whatsapp' });
    expect(String(logged?.['reason'])).toContain('999000111222333');
    const all = JSON.stringify(lines);
    expect(all).not.toContain('4915100000012');
    expect(all).not.toContain(foreign.wamid);
    expect(all).not.toContain('shop-de-app-secret');
  });

  it("a delivery mixing numbers hands on only the account's own changes", async () => {
    const mine = whatsappTextDelivery({ waId: '4915100000021', text: 'eins', phoneNumberId: '106540352242922' }).payload as { entry: { changes: unknown[] }[] };
    const theirs = whatsappTextDelivery({ waId: '4915100000022', text: 'zwei', phoneNumberId: '555000111222333' }).payload as { entry: { changes: unknown[] }[] };
    const mixed = { object: 'whatsapp_business_account', entry: [{ ...mine.entry[0], changes: [...(mine.entry[0]?.changes ?? []), ...(theirs.entry[0]?.changes ?? [])] }] };
    const before = (await jobs()).length;
    expect((await post('/webhooks/whatsapp/shop-de', mixed, 'shop-de-app-secret')).status).toBe(200);
    const added = (await jobs()).slice(0).filter((e) => e.kind === 'message' && e.conversation.userId === '4915100000021');
    expect(added).toHaveLength(1);
    expect((await jobs()).length).toBe(before + 1);
    expect(await metric({ account: 'shop-de', kind: 'unsupported', type: 'other_phone_number' })).toBe(2);
  });

  it('the default account (environment) still serves every phone number of its app', async () => {
    const before = (await jobs()).length;
    const any = whatsappTextDelivery({ waId: '4915100000031', text: 'hi', phoneNumberId: '999000111222333' });
    expect((await post('/webhooks/whatsapp', any.payload, 'default-app-secret')).status).toBe(200);
    expect((await jobs()).length).toBe(before + 1);
    expect(await metric({ account: 'default', kind: 'unsupported' })).toBe(0);
  });
});
