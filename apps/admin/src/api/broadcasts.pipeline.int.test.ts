/**
 * `POST /api/v1/broadcasts` through the real worker pipeline (fake Graph API, real Redis, the
 * inbound, agent, outbound and broadcast roles): a broadcast of 1,000 with 10 % opted out, a
 * customer who blocked the business, one over Meta's marketing limit and a burst of 131056 reaches
 * every eligible recipient exactly once and the opted-out never, while a customer writing to the same
 * number meanwhile is answered promptly (not queued behind the broadcast); cancellation, `sendAt`,
 * idempotency and the template check before anything is queued.
 */
import request from 'supertest';
import { createMetricsRegistry, silentLogger } from '@switchboard/core';
import { broadcastTemplatePreparers, openTemplateCatalogues } from '@switchboard/channels';
import { createRedis, gatewayKeys, OptOutStore, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import { graphError, waitFor, whatsappStatusDelivery, whatsappTextDelivery, type SentMessage } from '@switchboard/testkit';
import { startPipeline, type Pipeline } from '@switchboard/worker/testing';
import { createAdminApp } from '../app';

jest.setTimeout(180_000);

const SECRET = 'api-broadcast-test-secret-0001';
const PHONE_ID = '109876543210987';
const WABA = '5566778899';
const TEMPLATES = [
  { id: '1', name: 'spring_sale', language: 'en_US', status: 'APPROVED', category: 'MARKETING', components: [{ type: 'BODY', text: 'Hi {{1}}, {{2}} off this week' }] },
  { id: '2', name: 'no_params', language: 'en_US', status: 'APPROVED', category: 'UTILITY', components: [{ type: 'BODY', text: 'Your order is ready' }] },
];

type Counts = { total: number; queued: number; sent: number; delivered: number; read: number; failed: Record<string, number>; skipped: Record<string, number>; cancelled: number };

describe('POST /api/v1/broadcasts through the worker pipeline', () => {
  let pipeline: Pipeline;
  let redis: RedisClient;
  let producers: Producers;
  let app: ReturnType<typeof createAdminApp>;

  beforeAll(async () => {
    pipeline = await startPipeline({
      roles: ['inbound', 'agent', 'outbound', 'broadcast'],
      env: { WHATSAPP_PHONE_NUMBER_ID: PHONE_ID, WHATSAPP_WABA_ID: WABA, WHATSAPP_SEND_RATE: '80', BROADCAST_RATE_SHARE: '0.5', BROADCAST_TICK_MS: '100' },
    });
    pipeline.graph.templates.set(WABA, TEMPLATES);
    redis = createRedis(pipeline.env.REDIS_URL, 'producer');
    redis.on('error', () => undefined);
    await waitReady(redis);
    producers = new Producers(redis, pipeline.prefix);
    const catalogues = openTemplateCatalogues({ env: pipeline.env, redis, keys: gatewayKeys(pipeline.prefix).templates });
    app = createAdminApp({
      log: silentLogger(),
      registry: createMetricsRegistry({ service: 'api-broadcast-test' }),
      redis,
      producers,
      prefix: pipeline.prefix,
      auth: undefined,
      apiKeys: [{ name: 'shop', secret: SECRET }],
      broadcastTemplates: broadcastTemplatePreparers(catalogues),
    });
  });

  afterAll(async () => {
    await producers?.close();
    redis?.disconnect();
    await pipeline?.close();
  });

  const create = (key: string | undefined, body: Record<string, unknown>) => {
    const r = request(app).post('/api/v1/broadcasts').set('Authorization', `Bearer ${SECRET}`);
    return key === undefined ? r.send(body) : r.set('Idempotency-Key', key).send(body);
  };
  const get = async (id: string) => (await request(app).get(`/api/v1/broadcasts/${id}`).set('Authorization', `Bearer ${SECRET}`)).body as { id: string; status: string; counts: Counts };
  const cancel = (id: string) => request(app).post(`/api/v1/broadcasts/${id}/cancel`).set('Authorization', `Bearer ${SECRET}`).send();
  const templateSends = (name: string) => pipeline.graph.sent.filter((m) => m.type === 'template' && (m.body.template as { name?: string } | undefined)?.name === name);
  const sendsTo = (sends: SentMessage[], number: string) => sends.filter((m) => m.to === `+${number}` || m.to === number || m.recipient === number).length;

  it('reaches every eligible recipient of 1,000 exactly once, skips the opted-out, counts blocked and marketing-limited, retries a 131056 burst — and answers a customer meanwhile', async () => {
    const numbers = Array.from({ length: 1000 }, (_, i) => `4916${String(100000 + i).padStart(8, '0')}`);
    const optOuts = new OptOutStore(redis, pipeline.prefix);
    const optedOut = numbers.filter((_, i) => i % 10 === 3);
    for (const n of optedOut) await optOuts.optOut({ channel: 'whatsapp', customerId: n }, 'keyword');
    const blocked = numbers[501]!;
    const limited = numbers[502]!;
    // recipient-specific failures first (only they match them), then a burst any send may hit
    pipeline.graph.failNext(1, { ...graphError(131050, 'Unable to deliver message: the user blocked the business'), recipient: blocked });
    pipeline.graph.failNext(1, { ...graphError(131049, 'This message was not delivered to maintain healthy ecosystem engagement'), recipient: limited });
    const body = { channel: 'whatsapp', template: { name: 'spring_sale', language: 'en_US' }, recipients: numbers.map((to, i) => ({ to: `+${to}`, params: [`Customer ${i}`, '20%'] })) };
    const created = await create('spring-2026', body);
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ id: expect.stringMatching(/^[a-z0-9]+$/), status: 'scheduled', counts: { total: 1000, queued: 1000 } });
    const id = created.body.id as string;

    // a burst of pair-rate limits once sending is under way
    await waitFor(() => templateSends('spring_sale').length >= 50, 60_000, 'the broadcast under way');
    pipeline.graph.failNext(25, graphError(131056, '(#131056) (Business Account, Consumer Account) pair rate limit hit'));

    // a customer writes to the same number while the broadcast runs: their reply must not wait behind it
    await waitFor(() => templateSends('spring_sale').length >= 200, 60_000, '200 broadcast sends');
    const customer = '4917000000042';
    const wroteAt = Date.now();
    const sentBefore = templateSends('spring_sale').length;
    expect(await pipeline.postWhatsApp(whatsappTextDelivery({ phoneNumberId: PHONE_ID, waId: customer, text: 'Where is my order?' }).payload)).toBe(200);
    await waitFor(() => pipeline.graph.textsTo(customer).length > 0, 30_000, "the customer's reply");
    const replyMs = Date.now() - wroteAt;
    const replyIndex = pipeline.graph.sent.findIndex((m) => m.to === `+${customer}`);
    const broadcastSendsBeforeReply = pipeline.graph.sent.slice(0, replyIndex).filter((m) => m.type === 'template').length;
    // not queued behind the broadcast: most of it was still to go when the reply went out
    expect(broadcastSendsBeforeReply - sentBefore).toBeLessThan(300);
    expect(900 - broadcastSendsBeforeReply).toBeGreaterThan(300);
    process.stdout.write(`broadcast test: customer reply after ${replyMs} ms, ${broadcastSendsBeforeReply - sentBefore} broadcast sends in between\n`);

    await waitFor(async () => (await get(id)).status === 'completed', 150_000, 'the broadcast completed');
    const sends = templateSends('spring_sale');
    const eligible = numbers.filter((n) => !optedOut.includes(n) && n !== blocked && n !== limited);
    for (const n of eligible) expect(sendsTo(sends, n)).toBe(1);
    for (const n of [...optedOut, blocked, limited]) expect(sendsTo(sends, n)).toBe(0);
    expect(sends).toHaveLength(eligible.length);
    // each send carries the recipient's parameters
    const first = sends.find((m) => m.to === `+${numbers[0]}`)!;
    expect(JSON.stringify(first.body)).toContain('Customer 0');

    const final = await get(id);
    expect(final.counts).toMatchObject({ total: 1000, queued: 0, sent: eligible.length, failed: { marketing_limit: 1 }, skipped: { opted_out: 100, blocked: 1, invalid: 0 }, cancelled: 0 });

    // statuses come back through the ledger into the counts
    expect(await pipeline.postWhatsApp(whatsappStatusDelivery(sends[0]!, 'delivered'))).toBe(200);
    expect(await pipeline.postWhatsApp(whatsappStatusDelivery(sends[1]!, 'read'))).toBe(200);
    const failed = whatsappStatusDelivery(sends[2]!, 'sent') as { entry: Array<{ changes: Array<{ value: { statuses: Array<Record<string, unknown>> } }> }> };
    Object.assign(failed.entry[0]!.changes[0]!.value.statuses[0]!, { status: 'failed', errors: [{ code: 131049, title: 'healthy ecosystem engagement' }] });
    expect(await pipeline.postWhatsApp(failed)).toBe(200);
    await waitFor(async () => {
      const c = (await get(id)).counts;
      return c.delivered === 1 && c.read === 1 && c.failed.marketing_limit === 2 && c.sent === eligible.length - 3;
    }, 20_000, 'delivered, read and failed in the counts');
  });

  it('cancels: what is not sent yet is never sent', async () => {
    const numbers = Array.from({ length: 400 }, (_, i) => `4915${String(200000 + i).padStart(8, '0')}`);
    const created = await create('cancel-me', { channel: 'whatsapp', template: { name: 'no_params', language: 'en_US' }, recipients: numbers.map((to) => ({ to })) });
    expect(created.status).toBe(202);
    const id = created.body.id as string;
    const mine = () => pipeline.graph.sent.filter((m) => m.type === 'template' && numbers.some((n) => m.to === `+${n}`));
    await waitFor(() => mine().length >= 20, 60_000, 'some sends');
    const cancelled = await cancel(id);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    await waitFor(async () => (await get(id)).counts.queued === 0, 30_000, 'nothing left queued');
    const c = (await get(id)).counts;
    expect(c.sent + c.cancelled).toBe(400);
    expect(c.cancelled).toBeGreaterThan(100);
    // nothing more goes out: the sends equal the count, also a moment later (a send in progress has finished by now)
    await waitFor(() => mine().length === c.sent, 10_000, 'sends equal the count');
    expect((await cancel(id)).status).toBe(200);
  });

  it('starts at sendAt, not before', async () => {
    const numbers = ['4915300000001', '4915300000002', '4915300000003'];
    const sendAt = Date.now() + 3000;
    const created = await create('later', { channel: 'whatsapp', template: { name: 'no_params', language: 'en_US' }, recipients: numbers.map((to) => ({ to })), sendAt: new Date(sendAt).toISOString() });
    expect(created.status).toBe(202);
    const id = created.body.id as string;
    expect((await get(id)).status).toBe('scheduled');
    await waitFor(async () => (await get(id)).status === 'completed', 30_000, 'the scheduled broadcast completed');
    const sentAts = pipeline.graph.requests.filter((q) => q.path.endsWith('/messages') && numbers.some((n) => JSON.stringify(q.body).includes(n))).map((q) => q.at);
    expect(sentAts).toHaveLength(3);
    expect(Math.min(...sentAts)).toBeGreaterThanOrEqual(sendAt);
    for (const n of numbers) expect(pipeline.graph.sent.filter((m) => m.to === `+${n}`)).toHaveLength(1);
    expect((await get(id)).counts).toMatchObject({ total: 3, sent: 3, queued: 0 });
    // a scheduled broadcast cancelled before it starts sends nothing
    const later = await create('later-cancelled', { channel: 'whatsapp', template: { name: 'no_params', language: 'en_US' }, recipients: [{ to: '4915300000009' }], sendAt: new Date(Date.now() + 2000).toISOString() });
    expect((await cancel(later.body.id as string)).body).toMatchObject({ status: 'cancelled', counts: { cancelled: 1, queued: 0 } });
  });

  it('is idempotent per Idempotency-Key and checks the template for every recipient before queueing', async () => {
    const body = { channel: 'whatsapp', template: { name: 'no_params', language: 'en_US' }, recipients: [{ to: '4915400000001' }, { to: '4915400000001' }] };
    const [a, b] = await Promise.all([create('idem-1', body), create('idem-1', body)]);
    expect([a.status, b.status].sort()).toEqual([200, 202]);
    expect(a.body.id).toBe(b.body.id);
    const replay = await create('idem-1', { recipients: body.recipients, template: body.template, channel: 'whatsapp' });
    expect(replay.status).toBe(200);
    expect(replay.body.id).toBe(a.body.id);
    expect((await create('idem-1', { ...body, recipients: [{ to: '4915400000002' }] })).status).toBe(409);
    await waitFor(async () => (await get(a.body.id as string)).status === 'completed', 30_000, 'completed');
    // the duplicate recipient is sent once and counted invalid
    expect(pipeline.graph.sent.filter((m) => m.to === '+4915400000001')).toHaveLength(1);
    expect((await get(a.body.id as string)).counts).toMatchObject({ sent: 1, skipped: { invalid: 1 } });

    expect((await create(undefined, body)).status).toBe(400);
    const unknown = await create('bad-1', { ...body, template: { name: 'nope', language: 'en_US' } });
    expect(unknown.status).toBe(422);
    expect(unknown.body).toMatchObject({ error: 'invalid_template', details: [{ code: 'unknown_template' }] });
    const params = await create('bad-2', { channel: 'whatsapp', template: { name: 'spring_sale', language: 'en_US' }, recipients: [{ to: '4915400000003', params: ['a', 'b'] }, { to: '4915400000004', params: ['only one'] }, { to: '4915400000005' }] });
    expect(params.status).toBe(422);
    expect(params.body.details).toEqual([
      { recipient: 1, code: 'parameter_mismatch', message: expect.stringContaining('2 parameters expected, 1 given') },
      { recipient: 2, code: 'parameter_mismatch', message: expect.stringContaining('2 parameters expected, 0 given') },
    ]);
    expect(pipeline.graph.sent.filter((m) => m.to === '+4915400000003')).toHaveLength(0);
    const telegram = await create('bad-3', { channel: 'telegram', template: { name: 'no_params', language: 'en_US' }, recipients: [{ to: '123' }] });
    expect(telegram.status).toBe(422);
    expect(telegram.body.error).toBe('unsupported');
    expect((await request(app).get('/api/v1/broadcasts/unknown0').set('Authorization', `Bearer ${SECRET}`)).status).toBe(404);
  });
});
