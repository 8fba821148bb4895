/**
 * The console's actions through the real worker pipeline on every channel (fake Graph API, Bot
 * API, Chatwoot and WeCom; real Redis and PostgreSQL): a reply typed in the console reaches the
 * customer on WhatsApp, Telegram, Chatwoot and WeChat Kefu through the channel's outbound queue,
 * after a bot reply still pending for the conversation, and makes the conversation human-owned;
 * take over and hand back change the owner through the inbound role.
 */
import request from 'supertest';
import { conversationId, createMetricsRegistry, silentLogger, type ConversationRef } from '@switchboard/core';
import { createRedis, enqueueReply, gatewayKeys, getConversationOwner, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import { RecordReader } from '@switchboard/record';
import { openStore, type Store } from '@switchboard/store';
import { createTestDatabase, FakeWecom, seedRecord, TELEGRAM_FIXTURE_BOT, waitFor, WECHAT_TEST_CONFIG, type TestDatabase } from '@switchboard/testkit';
import { startPipeline, type Pipeline } from '@switchboard/worker/testing';
import { createAdminApp } from './app';
import { parseApiKeyScopes } from './api/scopes';

jest.setTimeout(90_000);

const AUTH = { user: 'ops', password: 'conversations pipeline password' };
const basic = `Basic ${Buffer.from(`${AUTH.user}:${AUTH.password}`).toString('base64')}`;
const KF = 'wkPipelineKf0000000000000000001';
const API_KEY = { name: 'ops-tool', secret: 'pipeline-api-secret-0123456789' };
const READ_KEY = { name: 'reporting', secret: 'pipeline-read-secret-0123456789' };

describe('console actions through the worker pipeline, every channel', () => {
  let pipeline: Pipeline;
  let wecom: FakeWecom;
  let db: TestDatabase;
  let store: Store;
  let redis: RedisClient;
  let producers: Producers;
  let app: ReturnType<typeof createAdminApp>;
  let chatwootAccount: string;

  const refs: Record<string, ConversationRef> = {};

  beforeAll(async () => {
    wecom = await FakeWecom.start({ corpId: WECHAT_TEST_CONFIG.corpId });
    pipeline = await startPipeline({
      telegram: true,
      chatwoot: true,
      roles: ['inbound', 'outbound'],
      env: { HANDOFF_RESUME_SWEEP_MS: '200', WECHAT_TOKEN: WECHAT_TEST_CONFIG.token, WECHAT_AESKEY: WECHAT_TEST_CONFIG.encodingAESKey, WECHAT_CORP_ID: WECHAT_TEST_CONFIG.corpId, WECHAT_SECRET: wecom.secret, WECHAT_API_URL: wecom.url },
    });
    chatwootAccount = String(pipeline.chatwoot!.accountId);
    pipeline.chatwoot!.addConversation({ id: 4401 });
    // WeCom lets a kefu account write only within 48 h of the customer's last message
    wecom.addMessages(KF, [wecom.customerText(KF, 'wmPipelineUser1', '你好')]);

    refs.whatsapp = { channel: 'whatsapp', account: '106540352242922', userId: '4915100000001' };
    refs.telegram = { channel: 'telegram', account: TELEGRAM_FIXTURE_BOT.id, userId: '5550001' };
    refs.chatwoot = { channel: 'chatwoot', account: chatwootAccount, userId: '301', threadId: '4401' };
    refs['wechat-kf'] = { channel: 'wechat-kf', account: KF, userId: 'wmPipelineUser1' };

    db = await createTestDatabase('rec_pipeline');
    store = await openStore({ url: db.url, log: silentLogger(), poolMax: 3 });
    const at = new Date();
    await seedRecord(store.db, {
      conversations: Object.values(refs).map((r) => ({ id: conversationId(r), channel: r.channel, providerAccount: r.account, customerId: r.userId, ...(r.threadId ? { threadId: r.threadId } : {}) })),
      messages: Object.values(refs).map((r) => ({ id: `in:${r.channel}`, conversationId: conversationId(r), direction: 'in' as const, author: 'customer' as const, text: 'hello', at })),
    });
    redis = createRedis(pipeline.env.REDIS_URL, 'producer');
    redis.on('error', () => undefined);
    await waitReady(redis);
    producers = new Producers(redis, pipeline.prefix);
    app = createAdminApp({ log: silentLogger(), registry: createMetricsRegistry({ service: 'rec-pipeline-test' }), redis, producers, prefix: pipeline.prefix, auth: AUTH, record: new RecordReader(store.db), apiKeys: [API_KEY, READ_KEY], apiKeyScopes: parseApiKeyScopes(`${API_KEY.name}:send+read,${READ_KEY.name}:read`, [API_KEY, READ_KEY]) });
  });

  afterAll(async () => {
    await producers?.close();
    redis?.disconnect();
    await pipeline?.close();
    await wecom?.close();
    await store?.close();
    await db?.drop();
  });

  const act = (id: string, action: string, body: Record<string, unknown>) =>
    request(app).post(`/admin/conversations/api/conversations/${id}/${action}`).set('Authorization', basic).set('X-Switchboard-Console', '1').send(body);
  const ownerOf = async (id: string) => (await getConversationOwner(redis, pipeline.prefix, id)).owner;

  const delivered: Record<string, () => string[]> = {
    whatsapp: () => pipeline.graph.textsTo(refs.whatsapp!.userId),
    telegram: () => pipeline.telegram!.textsTo(refs.telegram!.userId),
    chatwoot: () => pipeline.chatwoot!.messagesIn(4401).map((m) => m.content ?? ''),
    'wechat-kf': () => wecom.sentTo(refs['wechat-kf']!.userId).map((m) => String((m.body['text'] as { content?: string } | undefined)?.content ?? '')),
  };

  it.each(['whatsapp', 'telegram', 'chatwoot', 'wechat-kf'])('a console reply reaches the customer on %s after the pending bot reply, and a person owns the conversation', async (channel) => {
    const ref = refs[channel]!;
    const id = conversationId(ref);
    // a bot reply enqueued just before: the person's reply goes after it
    await enqueueReply({ redis, producers, keys: gatewayKeys(pipeline.prefix) }, ref, { outboundId: `bot-${channel}-1`, reply: { text: `Bot answer on ${channel}` }, origin: 'agent' });
    const res = await act(id, 'reply', { requestId: `reply-${channel}-0001`, text: `A person answers on ${channel}` });
    expect(res.status).toBe(202);
    // a second click of the same submission
    expect((await act(id, 'reply', { requestId: `reply-${channel}-0001`, text: `A person answers on ${channel}` })).status).toBe(202);
    await waitFor(() => delivered[channel]!().some((t) => t.includes(`A person answers on ${channel}`)), 20_000, `the reply on ${channel}`);
    const texts = delivered[channel]!().filter((t) => t.includes(channel));
    expect(texts.map((t) => (t.includes('Bot answer') ? 'bot' : 'person'))).toEqual(['bot', 'person']);
    await waitFor(async () => (await ownerOf(id)) === 'human', 10_000, 'the owner');
  });

  it('takes over and hands back through the inbound role', async () => {
    const id = conversationId(refs.telegram!);
    expect((await act(id, 'handback', { requestId: 'handback-0001' })).status).toBe(202);
    await waitFor(async () => (await ownerOf(id)) === 'bot', 10_000, 'bot owner');
    expect((await act(id, 'takeover', { requestId: 'takeover-0001' })).status).toBe(202);
    await waitFor(async () => (await ownerOf(id)) === 'human', 10_000, 'human owner');
    const owner = await request(app).get(`/admin/conversations/api/conversations/${id}/owner`).set('Authorization', basic);
    expect(owner.body).toEqual({ owner: 'human', reason: 'paused', since: expect.any(String) });
  });

  const api = (id: string, action: 'pause' | 'resume', body?: Record<string, unknown>, idemKey?: string, secret = API_KEY.secret) => {
    const req = request(app).post(`/api/v1/conversations/${id}/${action}`).set('Authorization', `Bearer ${secret}`);
    if (idemKey) req.set('Idempotency-Key', idemKey);
    return body === undefined ? req.send() : req.send(body);
  };

  it.each(['whatsapp', 'telegram', 'chatwoot', 'wechat-kf'])('the API pauses and resumes the bot on %s through the inbound role; a pause with minutes ends by itself', async (channel) => {
    const id = conversationId(refs[channel]!);
    const resumed = await api(id, 'resume', undefined, `resume-${channel}-1`);
    expect(resumed.status).toBe(202);
    expect(resumed.body).toEqual({ id, owner: 'bot' });
    await waitFor(async () => (await ownerOf(id)) === 'bot', 10_000, 'bot owner');
    // a pause until resumed
    const paused = await api(id, 'pause', { reason: 'checking the order by phone' }, `pause-${channel}-1`);
    expect(paused.status).toBe(202);
    expect(paused.body).toEqual({ id, owner: 'human' });
    await waitFor(async () => (await ownerOf(id)) === 'human', 10_000, 'human owner');
    expect((await getConversationOwner(redis, pipeline.prefix, id)).record).toMatchObject({ reason: 'paused' });
    // the same key and body: the same answer, nothing new; another body: 409
    const replay = await api(id, 'pause', { reason: 'checking the order by phone' }, `pause-${channel}-1`);
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual(paused.body);
    expect((await api(id, 'pause', { minutes: 5 }, `pause-${channel}-1`)).status).toBe(409);
    expect((await api(id, 'resume', undefined, `resume-${channel}-2`)).status).toBe(202);
    await waitFor(async () => (await ownerOf(id)) === 'bot', 10_000, 'bot owner again');
    // a pause of 3 s: the worker's sweep hands the conversation back without anyone
    const short = await api(id, 'pause', { minutes: 0.05 }, `pause-${channel}-2`);
    expect(short.status).toBe(202);
    expect(short.body).toEqual({ id, owner: 'human', until: expect.any(String) });
    await waitFor(async () => (await ownerOf(id)) === 'human', 10_000, 'paused');
    expect((await getConversationOwner(redis, pipeline.prefix, id)).record?.until).toEqual(expect.any(Number));
    await waitFor(async () => (await ownerOf(id)) === 'bot', 30_000, 'resumed by itself');
  });

  it('answers 404 for an unknown conversation, 400 for a bad body, 403 without the send scope', async () => {
    expect((await api('wa-nope-0000', 'pause')).status).toBe(404);
    const id = conversationId(refs.whatsapp!);
    const bad = await api(id, 'pause', { minutes: -1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('invalid_request');
    expect((await api(id, 'pause', { minutes: 5, extra: true })).status).toBe(400);
    expect((await api(id, 'resume', undefined, undefined, READ_KEY.secret)).status).toBe(403);
  });
});
