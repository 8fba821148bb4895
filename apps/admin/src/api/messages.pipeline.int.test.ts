/**
 * `POST /api/v1/messages` and `GET /api/v1/messages/:id` through the real worker pipeline (fake
 * Graph API, Bot API and WeCom; real Redis): a customer's message opens the window (tracked where
 * customer messages are accepted), an API message reaches them exactly once through the outbound
 * queue, a replay sends nothing, another body is refused, a closed window is refused, and the
 * ledger's statuses (delivered, read, failed with the provider's error) are what GET answers.
 */
import request from 'supertest';
import { createMetricsRegistry, silentLogger } from '@switchboard/core';
import { customerServiceWindows } from '@switchboard/channels';
import { createRedis, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import { FakeWecom, telegramTextUpdate, waitFor, WECHAT_TEST_CONFIG, whatsappStatusDelivery, whatsappTextDelivery } from '@switchboard/testkit';
import { startPipeline, type Pipeline } from '@switchboard/worker/testing';
import { createAdminApp } from '../app';

jest.setTimeout(90_000);

const SECRET = 'api-messages-test-secret-0001';
const PHONE_ID = '109876543210987';
const KF = 'wkApiMsgKf00000000000000000001';

describe('POST /api/v1/messages through the worker pipeline', () => {
  let pipeline: Pipeline;
  let wecom: FakeWecom;
  let redis: RedisClient;
  let producers: Producers;
  let app: ReturnType<typeof createAdminApp>;

  beforeAll(async () => {
    wecom = await FakeWecom.start({ corpId: WECHAT_TEST_CONFIG.corpId });
    // no agent role: the only sends are the API's
    pipeline = await startPipeline({
      telegram: true,
      roles: ['inbound', 'outbound'],
      env: { WECHAT_TOKEN: WECHAT_TEST_CONFIG.token, WECHAT_AESKEY: WECHAT_TEST_CONFIG.encodingAESKey, WECHAT_CORP_ID: WECHAT_TEST_CONFIG.corpId, WECHAT_SECRET: wecom.secret, WECHAT_API_URL: wecom.url },
    });
    redis = createRedis(pipeline.env.REDIS_URL, 'producer');
    redis.on('error', () => undefined);
    await waitReady(redis);
    producers = new Producers(redis, pipeline.prefix);
    app = createAdminApp({
      log: silentLogger(),
      registry: createMetricsRegistry({ service: 'api-messages-test' }),
      redis,
      producers,
      prefix: pipeline.prefix,
      auth: undefined,
      apiKeys: [{ name: 'shop', secret: SECRET }],
      serviceWindows: customerServiceWindows(),
    });
  });

  afterAll(async () => {
    await producers?.close();
    redis?.disconnect();
    await pipeline?.close();
    await wecom?.close();
  });

  const send = (key: string | undefined, body: Record<string, unknown>) => {
    const r = request(app).post('/api/v1/messages').set('Authorization', `Bearer ${SECRET}`);
    return key === undefined ? r.send(body) : r.set('Idempotency-Key', key).send(body);
  };
  const status = (id: string) => request(app).get(`/api/v1/messages/${id}`).set('Authorization', `Bearer ${SECRET}`);
  const customerWrites = async (waId: string, text: string, timestamp?: number) => {
    expect(await pipeline.postWhatsApp(whatsappTextDelivery({ phoneNumberId: PHONE_ID, waId, text, ...(timestamp ? { timestamp } : {}) }).payload)).toBe(200);
  };

  it('refuses a request without Idempotency-Key or with an invalid body (400)', async () => {
    const missing = await send(undefined, { channel: 'whatsapp', to: '4915100000010', text: 'hi' });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('invalid_request');
    expect(missing.body.message).toMatch(/Idempotency-Key/);
    const bad = await send('k-bad-0001', { channel: 'fax', to: '', text: 'hi' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/channel/);
    const empty = await send('k-bad-0002', { channel: 'whatsapp', to: '4915100000010' });
    expect(empty.status).toBe(400);
    expect(empty.body.message).toMatch(/text or media/);
  });

  it('sends a WhatsApp text inside the window exactly once; a replay sends nothing; another body is 409', async () => {
    const to = '4915100000011';
    await customerWrites(to, 'Where is my order?');
    const body = { channel: 'whatsapp', to: `+${to}`, text: 'Your order has shipped.' };
    // two identical requests at once: one message
    const [a, b] = await Promise.all([send('order-1234-shipped', body), send('order-1234-shipped', body)]);
    expect([a.status, b.status].sort()).toEqual([200, 202]);
    expect(a.body.id).toBe(b.body.id);
    expect(a.body.id).toMatch(/^api-/);
    await waitFor(() => pipeline.graph.textsTo(to).includes('Your order has shipped.'), 20_000, 'the API message at the Graph API');
    // the same body with its keys in another order is the same request
    const replay = await send('order-1234-shipped', { text: 'Your order has shipped.', to: `+${to}`, channel: 'whatsapp' });
    expect(replay.status).toBe(200);
    expect(replay.body.id).toBe(a.body.id);
    const conflict = await send('order-1234-shipped', { ...body, text: 'Something else' });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error).toBe('idempotency_conflict');
    // give a wrongly repeated job the chance to show up, then count
    await waitFor(async () => (await status(a.body.id)).body.status === 'sent', 10_000, 'status sent');
    expect(pipeline.graph.textsTo(to).filter((t) => t === 'Your order has shipped.')).toHaveLength(1);
  });

  it('refuses free-form WhatsApp messages outside the 24-hour window (422 outside_window)', async () => {
    const never = await send('k-window-0001', { channel: 'whatsapp', to: '4915100000012', text: 'Hello?' });
    expect(never.status).toBe(422);
    expect(never.body.error).toBe('outside_window');
    const to = '4915100000013';
    await customerWrites(to, 'an old message', Math.floor(Date.now() / 1000) - 25 * 3600);
    // the ingress accepted it (and noted the contact) before answering 200
    const late = await send('k-window-0002', { channel: 'whatsapp', to, text: 'Hello?' });
    expect(late.status).toBe(422);
    expect(late.body.error).toBe('outside_window');
    expect(pipeline.graph.textsTo(to)).toEqual([]);
  });

  it('follows the ledger: delivered, read, and failed with the provider error', async () => {
    const to = '4915100000014';
    await customerWrites(to, 'hi');
    const ok = await send('k-status-ok', { channel: 'whatsapp', to, text: 'Status please' });
    expect(ok.status).toBe(202);
    expect(ok.body).toEqual({ id: ok.body.id, status: 'queued' });
    await waitFor(async () => (await status(ok.body.id)).body.status === 'sent', 20_000, 'sent');
    const msg = pipeline.graph.sent.find((m) => m.to === `+${to}` && JSON.stringify(m.body).includes('Status please'))!;
    expect(await pipeline.postWhatsApp(whatsappStatusDelivery(msg, 'delivered'))).toBe(200);
    await waitFor(async () => (await status(ok.body.id)).body.status === 'delivered', 10_000, 'delivered');
    expect(await pipeline.postWhatsApp(whatsappStatusDelivery(msg, 'read'))).toBe(200);
    await waitFor(async () => (await status(ok.body.id)).body.status === 'read', 10_000, 'read');

    const bad = await send('k-status-failed', { channel: 'whatsapp', to, text: 'This one fails later' });
    await waitFor(async () => (await status(bad.body.id)).body.status === 'sent', 20_000, 'sent');
    const failedMsg = pipeline.graph.sent.find((m) => m.to === `+${to}` && JSON.stringify(m.body).includes('This one fails later'))!;
    const failed = whatsappStatusDelivery(failedMsg, 'sent') as { entry: Array<{ changes: Array<{ value: { statuses: Array<Record<string, unknown>> } }> }> };
    Object.assign(failed.entry[0]!.changes[0]!.value.statuses[0]!, { status: 'failed', errors: [{ code: 131026, title: 'Message undeliverable' }] });
    expect(await pipeline.postWhatsApp(failed)).toBe(200);
    await waitFor(async () => (await status(bad.body.id)).body.status === 'failed', 10_000, 'failed');
    expect((await status(bad.body.id)).body).toEqual({ id: bad.body.id, status: 'failed', error: expect.stringContaining('131026') });
    expect((await status('api-unknown')).status).toBe(404);
  });

  it('sends on Telegram to a chat that wrote to the bot, and refuses one that never did', async () => {
    expect(await pipeline.postTelegram(telegramTextUpdate({ chatId: 7770001, text: 'hello bot' }))).toBe(200);
    const body = { channel: 'telegram', to: '7770001', text: 'Your ticket was answered.' };
    await waitFor(async () => (await send('tg-0001', body)).status !== 422, 10_000, 'the Telegram contact');
    await waitFor(() => pipeline.telegram!.textsTo('7770001').includes('Your ticket was answered.'), 20_000, 'the Telegram message');
    expect((await send('tg-0001', body)).status).toBe(200);
    expect(pipeline.telegram!.textsTo('7770001').filter((t) => t === 'Your ticket was answered.')).toHaveLength(1);
    const unknown = await send('tg-0002', { channel: 'telegram', to: '7770002', text: 'hi' });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error).toBe('unknown_customer');
  });

  it('sends on WeChat Kefu to a customer who wrote', async () => {
    wecom.addMessages(KF, [wecom.customerText(KF, 'wmApiMsgUser1', '你好')]);
    await pipeline.deps.producers.enqueue('wechat-sync', { corpId: WECHAT_TEST_CONFIG.corpId, openKfId: KF, token: wecom.callbackToken(), receivedAt: Date.now() }, { jobId: `wxs-api-${Date.now()}` });
    const body = { channel: 'wechat-kf', to: 'wmApiMsgUser1', text: '您的订单已发货' };
    await waitFor(async () => (await send('wx-0001', body)).status !== 422, 20_000, 'the WeChat contact');
    await waitFor(() => wecom.sentTo('wmApiMsgUser1').some((m) => (m.body['text'] as { content?: string } | undefined)?.content === '您的订单已发货'), 20_000, 'the WeChat message');
  });
});
