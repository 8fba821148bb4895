/**
 * Status callbacks of API messages (`API_CALLBACK_URL`) through the real worker pipeline (fake
 * Graph API and Bot API, real Redis, the `api-callbacks` role): a receiver on loopback gets one
 * signed POST per status change, in order; a 500 is retried and the later status waits for it;
 * redelivered and late statuses send nothing; a failed message reports the provider's error.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import { createMetricsRegistry, shortHash, silentLogger, type InboundStatus } from '@switchboard/core';
import { customerServiceWindows } from '@switchboard/channels';
import { createRedis, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import { telegramTextUpdate, waitFor, whatsappStatusDelivery, whatsappTextDelivery } from '@switchboard/testkit';
import { startPipeline, type Pipeline } from '@switchboard/worker/testing';
import { createAdminApp } from '../app';

jest.setTimeout(120_000);

const API_SECRET = 'api-callbacks-test-key-0001';
const CALLBACK_SECRET = 'callback-signing-secret-0001';
const PHONE_ID = '109876543210987';

interface Received {
  raw: Buffer;
  signature: string | undefined;
  body: { id: string; status: string; at: string; error?: string };
  answered: number;
}

/** The operator's receiver: keeps every POST with its raw bytes; answers 500 to the attempts it is told to refuse. */
async function startReceiver() {
  const received: Received[] = [];
  const refuse = new Map<string, number>();
  const app = express();
  app.post('/hooks/switchboard', express.raw({ type: '*/*', limit: '64kb' }), (req, res) => {
    const raw = req.body as Buffer;
    const body = JSON.parse(raw.toString('utf8')) as Received['body'];
    const key = `${body.id}/${body.status}`;
    const left = refuse.get(key) ?? 0;
    const answered = left > 0 ? 500 : 204;
    if (left > 0) refuse.set(key, left - 1);
    received.push({ raw, signature: req.get('X-Switchboard-Signature'), body, answered });
    res.status(answered).end();
  });
  const server: Server = await new Promise((resolve) => {
    const s = createServer(app).listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/switchboard`,
    received,
    /** POSTs for one message, in arrival order. */
    of: (id: string) => received.filter((r) => r.body.id === id),
    /** Statuses the receiver accepted (2xx) for one message, in order. */
    accepted: (id: string) => received.filter((r) => r.body.id === id && r.answered < 300).map((r) => r.body.status),
    refuseNext: (id: string, status: string, times: number) => refuse.set(`${id}/${status}`, times),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What a receiver does: HMAC-SHA256 of the raw bytes with the shared secret, compared in constant time. */
function signatureVerifies(r: Received): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', CALLBACK_SECRET).update(r.raw).digest('hex')}`);
  const got = Buffer.from(r.signature ?? '');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

describe('API_CALLBACK_URL: status callbacks of API messages', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let pipeline: Pipeline;
  let redis: RedisClient;
  let producers: Producers;
  let app: ReturnType<typeof createAdminApp>;

  beforeAll(async () => {
    receiver = await startReceiver();
    // no agent role: the only sends are the API's
    pipeline = await startPipeline({
      telegram: true,
      roles: ['inbound', 'outbound', 'api-callbacks'],
      env: { API_CALLBACK_URL: receiver.url, API_CALLBACK_SECRET: CALLBACK_SECRET, API_CALLBACK_TIMEOUT_MS: '3000' },
    });
    redis = createRedis(pipeline.env.REDIS_URL, 'producer');
    redis.on('error', () => undefined);
    await waitReady(redis);
    producers = new Producers(redis, pipeline.prefix);
    app = createAdminApp({
      log: silentLogger(),
      registry: createMetricsRegistry({ service: 'api-callbacks-test' }),
      redis,
      producers,
      prefix: pipeline.prefix,
      auth: undefined,
      apiKeys: [{ name: 'shop', secret: API_SECRET }],
      serviceWindows: customerServiceWindows(),
    });
  });

  afterAll(async () => {
    await producers?.close();
    redis?.disconnect();
    await pipeline?.close();
    await receiver?.close();
  });

  const send = async (key: string, body: Record<string, unknown>): Promise<string> => {
    const res = await request(app).post('/api/v1/messages').set('Authorization', `Bearer ${API_SECRET}`).set('Idempotency-Key', key).send(body);
    expect(res.status).toBe(202);
    return res.body.id as string;
  };
  const customerWrites = async (waId: string) => {
    expect(await pipeline.postWhatsApp(whatsappTextDelivery({ phoneNumberId: PHONE_ID, waId, text: 'hello' }).payload)).toBe(200);
  };
  const sentTo = (to: string, text: string) => {
    const msg = pipeline.graph.sent.find((m) => m.to === `+${to}` && JSON.stringify(m.body).includes(text));
    if (!msg) throw new Error(`nothing sent to ${to}`);
    return msg;
  };
  const metric = async (name: string, labels: Record<string, string>): Promise<number> => {
    const m = await pipeline.deps.registry.getSingleMetric(name)?.get();
    return (m?.values ?? []).filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((n, v) => n + v.value, 0);
  };
  /** A status event the worker sees (as a redelivery whose first job is gone would be): not deduplicated by the ingress. */
  const statusAgain = async (wamid: string, status: InboundStatus['status'], tag: string) => {
    const before = await metric('sb_delivery_statuses_total', { channel: 'whatsapp', status, applied: 'false' });
    const event: InboundStatus = { kind: 'status', eventId: `again-${tag}`, channel: 'whatsapp', account: PHONE_ID, providerMessageId: wamid, status, at: Date.now(), errors: [] };
    await pipeline.deps.producers.enqueue('inbound', event, { jobId: `again-${tag}` });
    await waitFor(async () => (await metric('sb_delivery_statuses_total', { channel: 'whatsapp', status, applied: 'false' })) > before, 10_000, `the repeated ${status} handled`);
  };
  const callbacksSettled = () =>
    waitFor(
      async () => {
        const c = await pipeline.deps.producers.queue('api-callbacks').getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        return Object.values(c).every((n) => n === 0);
      },
      10_000,
      'the callback queue drained',
    );

  it('posts sent, delivered and read, signed over the raw body; redelivered and late statuses post nothing', async () => {
    const to = '4915100000021';
    await customerWrites(to);
    const id = await send('cb-order-1', { channel: 'whatsapp', to, text: 'Your order has shipped.' });
    await waitFor(() => receiver.accepted(id).includes('sent'), 20_000, 'the sent callback');
    const msg = sentTo(to, 'Your order has shipped.');

    expect(await pipeline.postWhatsApp(whatsappStatusDelivery(msg, 'delivered'))).toBe(200);
    await waitFor(() => receiver.accepted(id).includes('delivered'), 10_000, 'the delivered callback');
    // the same webhook again (the provider redelivers it), and the same status reaching the worker again
    expect(await pipeline.postWhatsApp(whatsappStatusDelivery(msg, 'delivered'))).toBe(200);
    await statusAgain(msg.wamid, 'delivered', `${id}-delivered`);

    expect(await pipeline.postWhatsApp(whatsappStatusDelivery(msg, 'read'))).toBe(200);
    await waitFor(() => receiver.accepted(id).includes('read'), 10_000, 'the read callback');
    // delivered after read does not advance the message
    await statusAgain(msg.wamid, 'delivered', `${id}-late`);
    await callbacksSettled();

    const posts = receiver.of(id);
    expect(posts.map((p) => p.body.status)).toEqual(['sent', 'delivered', 'read']);
    for (const p of posts) {
      expect(signatureVerifies(p)).toBe(true);
      expect(p.signature).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(Object.keys(p.body)).toEqual(['id', 'status', 'at']);
      expect(new Date(p.body.at).toISOString()).toBe(p.body.at);
    }
    // what GET answers agrees
    const got = await request(app).get(`/api/v1/messages/${id}`).set('Authorization', `Bearer ${API_SECRET}`);
    expect(got.body).toEqual({ id, status: 'read' });
  });

  it('retries a callback the receiver answers 500, and holds the next status back until it went', async () => {
    const to = '4915100000022';
    await customerWrites(to);
    const errorsBefore = await metric('sb_api_callbacks_total', { outcome: 'error' });
    const text = 'Your parcel is on its way.';
    // the id is known before the message is sent: api-<hash of the key's name and the Idempotency-Key>
    const expectedId = `api-${shortHash('shop|cb-retry-1', 32)}`;
    receiver.refuseNext(expectedId, 'sent', 1);
    const id = await send('cb-retry-1', { channel: 'whatsapp', to, text });
    expect(id).toBe(expectedId);
    await waitFor(() => receiver.of(id).some((p) => p.body.status === 'sent'), 20_000, 'the first sent attempt');
    // delivered arrives while sent waits for its retry
    const msg = sentTo(to, text);
    expect(await pipeline.postWhatsApp(whatsappStatusDelivery(msg, 'delivered'))).toBe(200);
    await waitFor(() => receiver.accepted(id).includes('delivered'), 30_000, 'the delivered callback');
    await callbacksSettled();

    const posts = receiver.of(id);
    expect(posts.map((p) => [p.body.status, p.answered])).toEqual([
      ['sent', 500],
      ['sent', 204],
      ['delivered', 204],
    ]);
    expect(posts[1]!.raw.equals(posts[0]!.raw)).toBe(true);
    expect(await metric('sb_api_callbacks_total', { outcome: 'error' })).toBeGreaterThan(errorsBefore);
    expect(posts.every(signatureVerifies)).toBe(true);
  });

  it('retries a refused callback until the receiver takes it (500, 500, then 2xx)', async () => {
    const to = '4915100000025';
    await customerWrites(to);
    const text = 'Refused twice, then taken.';
    const id = await send('cb-retry-2', { channel: 'whatsapp', to, text });
    await waitFor(() => receiver.accepted(id).includes('sent'), 20_000, 'the sent callback');
    const msg = sentTo(to, text);
    // refuse the next status twice before it reaches the receiver at all
    receiver.refuseNext(id, 'read', 2);
    expect(await pipeline.postWhatsApp(whatsappStatusDelivery(msg, 'read'))).toBe(200);
    await waitFor(() => receiver.accepted(id).includes('read'), 30_000, 'the read callback after two refusals');
    const reads = receiver.of(id).filter((p) => p.body.status === 'read');
    expect(reads.map((p) => p.answered)).toEqual([500, 500, 204]);
    expect(new Set(reads.map((p) => p.raw.toString('utf8'))).size).toBe(1);
    expect(reads.every(signatureVerifies)).toBe(true);
  });

  it("posts failed with the provider's error", async () => {
    const to = '4915100000023';
    await customerWrites(to);
    const text = 'This one fails later';
    const id = await send('cb-failed-1', { channel: 'whatsapp', to, text });
    await waitFor(() => receiver.accepted(id).includes('sent'), 20_000, 'the sent callback');
    const failed = whatsappStatusDelivery(sentTo(to, text), 'sent') as { entry: Array<{ changes: Array<{ value: { statuses: Array<Record<string, unknown>> } }> }> };
    Object.assign(failed.entry[0]!.changes[0]!.value.statuses[0]!, { status: 'failed', errors: [{ code: 131026, title: 'Message undeliverable' }] });
    expect(await pipeline.postWhatsApp(failed)).toBe(200);
    await waitFor(() => receiver.accepted(id).includes('failed'), 10_000, 'the failed callback');
    const last = receiver.of(id).at(-1)!;
    expect(last.body).toEqual({ id, status: 'failed', at: expect.any(String), error: expect.stringContaining('131026') });
    expect(signatureVerifies(last)).toBe(true);
  });

  it('posts sent for a channel without delivery statuses (Telegram)', async () => {
    expect(await pipeline.postTelegram(telegramTextUpdate({ chatId: 7770101, text: 'hello bot' }))).toBe(200);
    const body = { channel: 'telegram', to: '7770101', text: 'Your ticket was answered.' };
    let id = '';
    await waitFor(
      async () => {
        const res = await request(app).post('/api/v1/messages').set('Authorization', `Bearer ${API_SECRET}`).set('Idempotency-Key', 'cb-tg-1').send(body);
        id = res.body.id as string;
        return res.status !== 422;
      },
      10_000,
      'the Telegram contact',
    );
    await waitFor(() => receiver.accepted(id).includes('sent'), 20_000, 'the sent callback');
    await callbacksSettled();
    expect(receiver.of(id).map((p) => p.body.status)).toEqual(['sent']);
  });
});
