/**
 * `POST /api/v1/messages` with templates and the channels' own limits, through the real worker
 * pipeline (fake Graph API, Bot API and WeCom; real Redis): a WhatsApp template is checked against
 * the synced catalogue before it is queued, goes out with its filled components outside the 24 h
 * window and to a customer who never wrote (from WHATSAPP_PHONE_NUMBER_ID); invalid templates,
 * channels without templates and an unreadable catalogue are refused with stable codes; a Telegram
 * customer who blocked the bot is refused; WeChat Kefu's 48 h window and 5-message allowance are
 * checked before queueing.
 */
import request from 'supertest';
import { createMetricsRegistry, silentLogger } from '@switchboard/core';
import { customerServiceWindows, openChannelMessaging } from '@switchboard/channels';
import { createRedis, gatewayKeys, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import { FakeWecom, telegramTextUpdate, waitFor, WECHAT_TEST_CONFIG, whatsappTextDelivery } from '@switchboard/testkit';
import { startPipeline, type Pipeline } from '@switchboard/worker/testing';
import { createAdminApp } from '../app';

jest.setTimeout(120_000);

const SECRET = 'api-templates-test-secret-0001';
const PHONE_ID = '109876543210955';
const WABA = '5566778899';
const KF = 'wkApiTplKf000000000000000000001';
const TEMPLATES = [
  {
    id: '201',
    name: 'order_update',
    language: 'en_US',
    status: 'APPROVED',
    category: 'UTILITY',
    components: [
      { type: 'HEADER', format: 'TEXT', text: 'Order {{1}}' },
      { type: 'BODY', text: 'Hi {{1}}, your order {{2}} ships today.' },
      { type: 'BUTTONS', buttons: [{ type: 'URL', text: 'Track', url: 'https://shop.example/track/{{1}}' }] },
    ],
  },
  { id: '202', name: 'welcome', language: 'de', status: 'APPROVED', category: 'MARKETING', components: [{ type: 'BODY', text: 'Hallo {{first_name}}!' }] },
  { id: '203', name: 'welcome', language: 'en_US', status: 'PENDING', category: 'MARKETING', components: [{ type: 'BODY', text: 'Hello {{first_name}}!' }] },
];

describe('POST /api/v1/messages: templates and channel limits', () => {
  let pipeline: Pipeline;
  let wecom: FakeWecom;
  let redis: RedisClient;
  let producers: Producers;
  let app: ReturnType<typeof createAdminApp>;

  // `catalogues`: the key prefix of the template cache (another one = nothing synced yet)
  const adminWith = (env: Record<string, string>, catalogues = pipeline.prefix) =>
    createAdminApp({
      log: silentLogger(),
      registry: createMetricsRegistry({ service: 'api-templates-test' }),
      redis,
      producers,
      prefix: pipeline.prefix,
      auth: undefined,
      apiKeys: [{ name: 'shop', secret: SECRET }],
      serviceWindows: customerServiceWindows(),
      channelMessaging: openChannelMessaging({ env, context: { redis, prefix: catalogues, keys: gatewayKeys(catalogues), log: silentLogger() } }),
    });

  beforeAll(async () => {
    wecom = await FakeWecom.start({ corpId: WECHAT_TEST_CONFIG.corpId });
    // no agent role: the only sends are the API's
    pipeline = await startPipeline({
      telegram: true,
      roles: ['inbound', 'outbound'],
      env: { WECHAT_TOKEN: WECHAT_TEST_CONFIG.token, WECHAT_AESKEY: WECHAT_TEST_CONFIG.encodingAESKey, WECHAT_CORP_ID: WECHAT_TEST_CONFIG.corpId, WECHAT_SECRET: wecom.secret, WECHAT_API_URL: wecom.url },
    });
    pipeline.graph.templates.set(WABA, TEMPLATES);
    redis = createRedis(pipeline.env.REDIS_URL, 'producer');
    redis.on('error', () => undefined);
    await waitReady(redis);
    producers = new Producers(redis, pipeline.prefix);
    app = adminWith({ WHATSAPP_ACCESS_TOKEN: 'harness-access-token', WHATSAPP_GRAPH_URL: pipeline.graph.url, WHATSAPP_WABA_ID: WABA, WHATSAPP_PHONE_NUMBER_ID: PHONE_ID });
  });

  afterAll(async () => {
    await producers?.close();
    redis?.disconnect();
    await pipeline?.close();
    await wecom?.close();
  });

  const sendTo = (target: ReturnType<typeof createAdminApp>, key: string, body: Record<string, unknown>) =>
    request(target).post('/api/v1/messages').set('Authorization', `Bearer ${SECRET}`).set('Idempotency-Key', key).send(body);
  const send = (key: string, body: Record<string, unknown>) => sendTo(app, key, body);
  const status = (id: string) => request(app).get(`/api/v1/messages/${id}`).set('Authorization', `Bearer ${SECRET}`);
  const customerWrites = async (waId: string, text: string, timestamp?: number) => {
    expect(await pipeline.postWhatsApp(whatsappTextDelivery({ phoneNumberId: PHONE_ID, waId, text, ...(timestamp ? { timestamp } : {}) }).payload)).toBe(200);
  };
  const templatesTo = (to: string) => pipeline.graph.sent.filter((m) => m.to === `+${to}` && m.type === 'template');

  it('sends a template outside the 24-hour window with its filled components, exactly once', async () => {
    const to = '4915100000101';
    await customerWrites(to, 'an old message', Math.floor(Date.now() / 1000) - 30 * 3600);
    expect((await send('tpl-free-0001', { channel: 'whatsapp', to, text: 'Hello?' })).body.error).toBe('outside_window');
    const body = { channel: 'whatsapp', to: `+${to}`, template: { name: 'order_update', language: 'en_US', params: { header: ['A-1'], body: ['Ana', 'A-1'], buttons: ['A-1'] } } };
    const first = await send('tpl-0001', body);
    expect(first.status).toBe(202);
    await waitFor(async () => (await status(first.body.id)).body.status === 'sent', 20_000, 'the template sent');
    expect((await send('tpl-0001', body)).body.id).toBe(first.body.id);
    const sent = templatesTo(to);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.phoneNumberId).toBe(PHONE_ID);
    expect(sent[0]!.body['template']).toEqual({
      name: 'order_update',
      language: { code: 'en_US' },
      components: [
        { type: 'header', parameters: [{ type: 'text', text: 'A-1' }] },
        { type: 'body', parameters: [{ type: 'text', text: 'Ana' }, { type: 'text', text: 'A-1' }] },
        { type: 'button', sub_type: 'url', index: '0', parameters: [{ type: 'text', text: 'A-1' }] },
      ],
    });
  });

  it('starts a conversation with a customer who never wrote from WHATSAPP_PHONE_NUMBER_ID; free-form to them stays refused', async () => {
    const to = '4915100000102';
    const named = await send('tpl-new-0001', { channel: 'whatsapp', to, template: { name: 'welcome', language: 'de', params: { first_name: 'Ana' } } });
    expect(named.status).toBe(202);
    await waitFor(() => templatesTo(to).length === 1, 20_000, 'the template to a new customer');
    expect(templatesTo(to)[0]).toMatchObject({ phoneNumberId: PHONE_ID, body: { template: { name: 'welcome', language: { code: 'de' }, components: [{ type: 'body', parameters: [{ type: 'text', parameter_name: 'first_name', text: 'Ana' }] }] } } });
    const free = await send('tpl-new-0002', { channel: 'whatsapp', to, text: 'Hi!' });
    expect(free.status).toBe(422);
    expect(free.body.error).toBe('outside_window');
    // without the sending number a customer who never wrote cannot be reached
    const noNumber = adminWith({ WHATSAPP_ACCESS_TOKEN: 'harness-access-token', WHATSAPP_GRAPH_URL: pipeline.graph.url, WHATSAPP_WABA_ID: WABA });
    const refused = await sendTo(noNumber, 'tpl-new-0003', { channel: 'whatsapp', to: '4915100000103', template: { name: 'welcome', language: 'de', params: { first_name: 'Bo' } } });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toBe('unknown_customer');
  });

  it('refuses invalid templates before queueing (422 template_invalid with reason and details)', async () => {
    const to = '4915100000104';
    await customerWrites(to, 'hi');
    const unknown = await send('tpl-bad-0001', { channel: 'whatsapp', to, template: { name: 'no_such', language: 'en_US' } });
    expect(unknown.status).toBe(422);
    expect(unknown.body).toMatchObject({ error: 'template_invalid', reason: 'unknown_template', message: expect.stringContaining('no_such') });
    const language = await send('tpl-bad-0002', { channel: 'whatsapp', to, template: { name: 'order_update', language: 'fr' } });
    expect(language.body).toMatchObject({ error: 'template_invalid', reason: 'language_unavailable', details: [{ path: 'template', code: 'language_unavailable', message: 'en_US' }] });
    const pending = await send('tpl-bad-0003', { channel: 'whatsapp', to, template: { name: 'welcome', language: 'en_US', params: { first_name: 'Ana' } } });
    expect(pending.body).toMatchObject({ error: 'template_invalid', reason: 'not_approved' });
    const params = await send('tpl-bad-0004', { channel: 'whatsapp', to, template: { name: 'order_update', language: 'en_US', params: ['Ana'] } });
    expect(params.status).toBe(422);
    expect(params.body).toMatchObject({ error: 'template_invalid', reason: 'parameter_mismatch' });
    expect((params.body.details as { message: string }[]).map((d) => d.message)).toEqual(expect.arrayContaining([expect.stringMatching(/^header: 1 parameter expected, 0 given/), expect.stringMatching(/^body: 2 parameters expected, 1 given/)]));
    const mixed = await send('tpl-bad-0005', { channel: 'whatsapp', to, text: 'hi', template: { name: 'welcome', language: 'de' } });
    expect(mixed.status).toBe(400);
    expect(mixed.body.message).toMatch(/template is sent alone/);
    expect(templatesTo(to)).toEqual([]);
  });

  it('answers 503 when the catalogue cannot be read, 422 unsupported on a channel without templates', async () => {
    const to = '4915100000105';
    await customerWrites(to, 'hi');
    // a business account the Graph API does not know: the sync fails
    const broken = adminWith({ WHATSAPP_ACCESS_TOKEN: 'harness-access-token', WHATSAPP_GRAPH_URL: pipeline.graph.url, WHATSAPP_WABA_ID: '999000999' }, `${pipeline.prefix}-broken`);
    const unavailable = await sendTo(broken, 'tpl-503-0001', { channel: 'whatsapp', to, template: { name: 'welcome', language: 'de', params: { first_name: 'Ana' } } });
    expect(unavailable.status).toBe(503);
    expect(unavailable.body.error).toBe('unavailable');
    expect(await pipeline.postTelegram(telegramTextUpdate({ chatId: 7780001, text: 'hello bot' }))).toBe(200);
    const telegram = await send('tpl-tg-0001', { channel: 'telegram', to: '7780001', template: { name: 'welcome', language: 'de' } });
    expect(telegram.status).toBe(422);
    expect(telegram.body).toMatchObject({ error: 'unsupported', message: expect.stringMatching(/telegram has no message templates/) });
  });

  it('refuses a Telegram customer who blocked the bot (409 blocked) and sends again once they unblock it', async () => {
    const chatId = 7780002;
    expect(await pipeline.postTelegram(telegramTextUpdate({ chatId, text: 'hello bot' }))).toBe(200);
    await waitFor(async () => (await send('tg-blk-0001', { channel: 'telegram', to: String(chatId), text: 'first' })).status === 202, 10_000, 'the Telegram contact');
    const user = { id: chatId, is_bot: false, first_name: 'Ana' };
    const bot = { id: 1, is_bot: true, first_name: 'Bot' };
    const member = (status: string) => ({ update_id: Date.now() % 1_000_000_000, my_chat_member: { chat: { id: chatId, type: 'private', first_name: 'Ana' }, from: user, date: Math.floor(Date.now() / 1000), old_chat_member: { status: status === 'kicked' ? 'member' : 'kicked', user: bot }, new_chat_member: { status, user: bot } } });
    expect(await pipeline.postTelegram(member('kicked'))).toBe(200);
    let blocked: request.Response | undefined;
    await waitFor(async () => (blocked = await send(`tg-blk-${Date.now()}`, { channel: 'telegram', to: String(chatId), text: 'are you there?' })).status === 409, 10_000, 'the block noted');
    expect(blocked!.body).toMatchObject({ error: 'blocked', message: expect.stringMatching(/blocked the bot/) });
    expect(await pipeline.postTelegram(member('member'))).toBe(200);
    await waitFor(async () => (await send(`tg-unblk-${Date.now()}`, { channel: 'telegram', to: String(chatId), text: 'welcome back' })).status === 202, 10_000, 'the unblock noted');
  });

  it('checks WeChat Kefu\'s 5-message allowance and 48-hour window before queueing (422 outside_window)', async () => {
    const user = 'wmApiTplUser1';
    wecom.addMessages(KF, [wecom.customerText(KF, user, '你好')]);
    await pipeline.deps.producers.enqueue('wechat-sync', { corpId: WECHAT_TEST_CONFIG.corpId, openKfId: KF, token: wecom.callbackToken(), receivedAt: Date.now() }, { jobId: `wxs-tpl-${Date.now()}` });
    await waitFor(async () => (await send('wx-a-1', { channel: 'wechat-kf', to: user, text: '消息 1' })).status === 202, 20_000, 'the WeChat contact');
    for (let i = 2; i <= 5; i++) expect((await send(`wx-a-${i}`, { channel: 'wechat-kf', to: user, text: `消息 ${i}` })).status).toBe(202);
    await waitFor(() => wecom.sentTo(user).length >= 5, 20_000, 'five WeChat messages');
    const sixth = await send('wx-a-6', { channel: 'wechat-kf', to: user, text: '消息 6' });
    expect(sixth.status).toBe(422);
    expect(sixth.body).toMatchObject({ error: 'outside_window', reason: 'allowance_used', message: expect.stringMatching(/5 messages/) });

    const old = 'wmApiTplUser2';
    wecom.addMessages(KF, [wecom.customerText(KF, old, '很久以前', { sendTime: Math.floor(Date.now() / 1000) - 49 * 3600 })]);
    await pipeline.deps.producers.enqueue('wechat-sync', { corpId: WECHAT_TEST_CONFIG.corpId, openKfId: KF, token: wecom.callbackToken(), receivedAt: Date.now() }, { jobId: `wxs-tpl-old-${Date.now()}` });
    let late: request.Response | undefined;
    await waitFor(async () => (late = await send(`wx-b-${Date.now()}`, { channel: 'wechat-kf', to: old, text: '你好' })).body.error === 'outside_window', 20_000, 'the old WeChat contact');
    expect(late!.body).toMatchObject({ reason: 'window_closed', message: expect.stringMatching(/48 h/) });
    expect(wecom.sentTo(old)).toEqual([]);
  });
});
