/**
 * The HTTP API's record routes on a real PostgreSQL and Redis: `GET /api/v1/conversations`
 * (filters, English and Chinese search, cursor pages), `GET /api/v1/conversations/:id` (the
 * timeline; unknown → 404), `GET /api/v1/export` (JSONL streamed, default last 30 days, a range
 * larger than one batch, every message once); keys, errors, no store → 503. And the console's
 * copy behind basic auth with its actions: take over / hand back as `inbound` signals, a reply as
 * an `outbound` job with origin `human` in the conversation's reply order.
 */
import request from 'supertest';
import { Redis } from 'ioredis';
import { conversationId, createMetricsRegistry, silentLogger, type ConversationRef } from '@switchboard/core';
import { createRedis, gatewayKeys, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import { EXPORT_BATCH, RecordReader } from '@switchboard/record';
import { openStore, type Store } from '@switchboard/store';
import { createTestDatabase, dropPrefix, seedRecord, testRedisUrl, uniquePrefix, type SeedMessage, type TestDatabase } from '@switchboard/testkit';
import { parseApiKeys } from './api/api';
import { createAdminApp } from './app';

const SECRET = 'record-api-secret-0123456789';
const KEYS = parseApiKeys(`ops:${SECRET}`);
const AUTH = { user: 'ops', password: 'record console password' };
const bearer = `Bearer ${SECRET}`;
const basic = `Basic ${Buffer.from(`${AUTH.user}:${AUTH.password}`).toString('base64')}`;

const NOW = Date.now();
const minutesAgo = (m: number) => new Date(NOW - m * 60_000);
const DAY = 24 * 3600 * 1000;

const waRef: ConversationRef = { channel: 'whatsapp', account: '106540352242922', userId: '4915112345678' };
const wcRef: ConversationRef = { channel: 'wechat-kf', accountId: 'cn-kf', account: 'wkAAA', userId: 'wmCustomer1' };
const WA = conversationId(waRef);
const WC = conversationId(wcRef);

describe('record API and console routes (real PostgreSQL and Redis)', () => {
  const prefix = uniquePrefix('recapi');
  let db: TestDatabase;
  let store: Store;
  let redis: RedisClient;
  let producers: Producers;
  let app: ReturnType<typeof createAdminApp>;
  let noStore: ReturnType<typeof createAdminApp>;

  beforeAll(async () => {
    db = await createTestDatabase('rec_api');
    store = await openStore({ url: db.url, log: silentLogger(), poolMax: 3 });
    redis = createRedis(testRedisUrl(), 'producer');
    redis.on('error', () => undefined);
    await waitReady(redis);
    producers = new Producers(redis, prefix);
    const base = { log: silentLogger(), redis, producers, prefix, auth: AUTH, apiKeys: KEYS };
    app = createAdminApp({ ...base, registry: createMetricsRegistry({ service: 'rec-api-test' }), record: new RecordReader(store.db) });
    noStore = createAdminApp({ ...base, registry: createMetricsRegistry({ service: 'rec-api-test-2' }) });
    await seedRecord(store.db, {
      conversations: [
        { id: WA, channel: 'whatsapp', providerAccount: waRef.account, customerId: waRef.userId, customerName: 'Ada' },
        { id: WC, channel: 'wechat-kf', account: 'cn-kf', providerAccount: wcRef.account, customerId: wcRef.userId, owner: 'human', handoffReason: 'asked for a person' },
        { id: 'telegram-old', channel: 'telegram', providerAccount: 'bot1', customerId: '777' },
      ],
      messages: [
        { id: 'in:wa1', conversationId: WA, direction: 'in', author: 'customer', text: 'Where is my parcel?', at: minutesAgo(30) },
        { id: 'out:wa1:0', conversationId: WA, direction: 'out', author: 'bot', origin: 'agent', text: 'It ships tomorrow.', at: minutesAgo(29), providerMessageId: 'wamid.A', turnId: 'turn:wa:1' },
        { id: 'in:wc1', conversationId: WC, direction: 'in', author: 'customer', text: '退货期限是多久？', at: minutesAgo(20) },
        { id: 'out:wc1:0', conversationId: WC, direction: 'out', author: 'human', origin: 'human', text: '30天内可以退货。', at: minutesAgo(19), providerMessageId: 'wc-msg-1' },
        // 40 days old: outside the export's default range
        { id: 'in:tg-old', conversationId: 'telegram-old', direction: 'in', author: 'customer', text: 'old parcel question', at: new Date(NOW - 40 * DAY) },
      ],
      statuses: [
        { id: 'st1', channel: 'whatsapp', providerMessageId: 'wamid.A', status: 'delivered', at: minutesAgo(28) },
        { id: 'st2', channel: 'wechat-kf', providerMessageId: 'wc-msg-1', status: 'failed', errorCode: 95018, errorTitle: 'session held by a servicer', at: minutesAgo(18) },
      ],
      events: [{ id: 'ev1', conversationId: WC, kind: 'handoff', at: minutesAgo(19.5), detail: { reason: 'asked for a person' } }],
      turns: [{ id: 'turn:wa:1', conversationId: WA, at: minutesAgo(29.5), outcome: 'answered', model: 'gpt-4o-mini', latencyMs: 900, tokensIn: 500, tokensOut: 20, costUsd: 0.0001, tools: ['search_knowledge'], sources: [{ documentId: 'd1', title: 'Shipping' }] }],
    });
  });

  afterAll(async () => {
    await producers.close();
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
    redis.disconnect();
    await store.close();
    await db.drop();
  });

  const get = (path: string) => request(app).get(path).set('Authorization', bearer);

  it('answers 401 without a valid key and 503 store_unavailable without a store', async () => {
    for (const path of ['/api/v1/conversations', `/api/v1/conversations/${WA}`, '/api/v1/export']) {
      const res = await request(app).get(path);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: 'unauthorized', message: expect.any(String) });
      const off = await request(noStore).get(path).set('Authorization', bearer);
      expect(off.status).toBe(503);
      expect(off.body).toEqual({ error: 'store_unavailable', message: expect.stringContaining('DATABASE_URL') });
    }
  });

  it('lists conversations in the contract shape, filtered and searched (English and Chinese)', async () => {
    const res = await get('/api/v1/conversations');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      items: [
        { id: WC, channel: 'wechat-kf', account: 'cn-kf', customer: { id: 'wmCustomer1' }, lastMessageAt: minutesAgo(19).toISOString(), messageCount: 2, owner: 'human' },
        { id: WA, channel: 'whatsapp', account: 'default', customer: { id: '4915112345678', name: 'Ada' }, lastMessageAt: minutesAgo(29).toISOString(), messageCount: 2, owner: 'bot' },
        { id: 'telegram-old', channel: 'telegram', account: 'default', customer: { id: '777' }, lastMessageAt: new Date(NOW - 40 * DAY).toISOString(), messageCount: 1, owner: 'bot' },
      ],
    });
    const ids = async (qs: string) => ((await get(`/api/v1/conversations?${qs}`)).body as { items: Array<{ id: string }> }).items.map((i) => i.id);
    expect(await ids('channel=whatsapp')).toEqual([WA]);
    expect(await ids('account=cn-kf')).toEqual([WC]);
    expect(await ids('q=parcel')).toEqual([WA, 'telegram-old']);
    expect(await ids(`q=${encodeURIComponent('退货')}`)).toEqual([WC]);
    expect(await ids(`q=${encodeURIComponent('parcel')}&from=${encodeURIComponent(new Date(NOW - DAY).toISOString())}`)).toEqual([WA]);
    expect(await ids(`to=${new Date(NOW - DAY).toISOString().slice(0, 10)}`)).toEqual(['telegram-old']);
    // empty parameters are no filter
    expect(await ids('channel=&q=&account=')).toHaveLength(3);
  });

  it('pages with limit and an opaque next passed back as cursor', async () => {
    const first = await get('/api/v1/conversations?limit=2');
    expect(first.body.items).toHaveLength(2);
    expect(typeof first.body.next).toBe('string');
    const second = await get(`/api/v1/conversations?limit=2&cursor=${encodeURIComponent(first.body.next as string)}`);
    expect(second.body).toEqual({ items: [expect.objectContaining({ id: 'telegram-old' })] });
  });

  it('refuses bad parameters with 400 invalid_request', async () => {
    for (const qs of ['channel=fax', 'account=Not_Valid', 'owner=robot', 'limit=0', 'limit=201', 'from=yesterday', `from=${new Date(NOW).toISOString()}&to=${new Date(NOW - DAY).toISOString()}`, 'cursor=abc', 'channel=whatsapp&channel=telegram', 'sort=asc']) {
      const res = await get(`/api/v1/conversations?${qs}`);
      expect([qs, res.status, res.body.error]).toEqual([qs, 400, 'invalid_request']);
    }
  });

  it('shows one conversation: messages with author, status and error, handoffs and bot turns; unknown → 404', async () => {
    const res = await get(`/api/v1/conversations/${WA}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: WA, channel: 'whatsapp', account: 'default', customer: { id: '4915112345678', name: 'Ada' }, messageCount: 2, owner: 'bot', lastMessageAt: minutesAgo(29).toISOString() });
    expect(res.body.messages).toEqual([
      { id: 'in:wa1', direction: 'in', author: 'customer', text: 'Where is my parcel?', at: minutesAgo(30).toISOString(), contentType: 'text' },
      { id: 'out:wa1:0', direction: 'out', author: 'bot', text: 'It ships tomorrow.', at: minutesAgo(29).toISOString(), status: 'delivered', origin: 'agent', contentType: 'text', turnId: 'turn:wa:1' },
    ]);
    expect(res.body.turns).toEqual([
      { id: 'turn:wa:1', at: minutesAgo(29.5).toISOString(), outcome: 'answered', model: 'gpt-4o-mini', latencyMs: 900, tokensIn: 500, tokensOut: 20, costUsd: 0.0001, tools: ['search_knowledge'], sources: [{ documentId: 'd1', title: 'Shipping' }] },
    ]);
    const wc = await get(`/api/v1/conversations/${WC}`);
    expect(wc.body.messages[1]).toMatchObject({ direction: 'out', author: 'human', status: 'failed', error: { code: 95018, title: 'session held by a servicer' } });
    expect(wc.body.events).toEqual([{ kind: 'handoff', at: minutesAgo(19.5).toISOString(), reason: 'asked for a person', detail: { reason: 'asked for a person' } }]);

    const missing = await get('/api/v1/conversations/whatsapp-nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: 'not_found', message: 'no such conversation' });
  });

  it('exports JSONL streamed: default last 30 days, explicit ranges, more than one batch, every message once', async () => {
    const res = await get('/api/v1/export?format=jsonl');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="switchboard-export-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.jsonl"$/);
    const lines = res.text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      { conversationId: WA, channel: 'whatsapp', account: 'default', customerId: '4915112345678', direction: 'in', author: 'customer', text: 'Where is my parcel?', at: minutesAgo(30).toISOString() },
      { conversationId: WA, channel: 'whatsapp', account: 'default', customerId: '4915112345678', direction: 'out', author: 'bot', text: 'It ships tomorrow.', at: minutesAgo(29).toISOString() },
      { conversationId: WC, channel: 'wechat-kf', account: 'cn-kf', customerId: 'wmCustomer1', direction: 'in', author: 'customer', text: '退货期限是多久？', at: minutesAgo(20).toISOString() },
      { conversationId: WC, channel: 'wechat-kf', account: 'cn-kf', customerId: 'wmCustomer1', direction: 'out', author: 'human', text: '30天内可以退货。', at: minutesAgo(19).toISOString() },
    ]);
    expect(res.text.endsWith('\n')).toBe(true);

    // the old conversation only with an explicit range; an empty range is an empty body
    const old = await get(`/api/v1/export?from=${new Date(NOW - 41 * DAY).toISOString()}&to=${new Date(NOW - 39 * DAY).toISOString()}`);
    expect(old.text.trimEnd().split('\n').map((l) => (JSON.parse(l) as { text: string }).text)).toEqual(['old parcel question']);
    const none = await get(`/api/v1/export?from=2020-01-01&to=2020-02-01`);
    expect([none.status, none.text]).toEqual([200, '']);

    for (const qs of ['format=csv', 'from=soon', `from=${new Date(NOW).toISOString()}&to=${new Date(NOW - DAY).toISOString()}`]) {
      const bad = await get(`/api/v1/export?${qs}`);
      expect([qs, bad.status, bad.body.error]).toEqual([qs, 400, 'invalid_request']);
    }

    // more than one batch of the reader, in a day of its own
    const base = Date.parse('2026-06-01T00:00:00.000Z');
    const many: SeedMessage[] = [];
    for (let i = 0; i < EXPORT_BATCH + 150; i++) many.push({ id: `bulk-${i}`, conversationId: 'telegram-old', direction: 'in', author: 'customer', text: `bulk ${i}`, at: new Date(base + Math.floor(i / 3) * 1000) });
    await seedRecord(store.db, { messages: many });
    const big = await get('/api/v1/export?format=jsonl&from=2026-06-01&to=2026-06-02');
    const texts = big.text.trimEnd().split('\n').map((l) => (JSON.parse(l) as { text: string }).text);
    expect(texts).toHaveLength(EXPORT_BATCH + 150);
    expect(new Set(texts).size).toBe(EXPORT_BATCH + 150);
  });

  describe('console copy behind basic auth, with actions', () => {
    const consoleCall = (method: 'get' | 'post', path: string) => request(app)[method](`/admin/conversations/api${path}`).set('Authorization', basic);
    const jobs = async (queue: 'inbound' | 'outbound-whatsapp' | 'outbound-wechat-kf') => (await producers.queue(queue).getJobs(['waiting', 'delayed', 'prioritized', 'active'])).map((j) => ({ id: j.id, data: j.data as Record<string, unknown> }));

    it('needs the basic auth and the console header for actions', async () => {
      expect((await request(app).get('/admin/conversations/api/conversations')).status).toBe(401);
      expect((await request(app).get('/admin/conversations')).status).toBe(401);
      const list = await consoleCall('get', '/conversations?channel=whatsapp');
      expect(list.status).toBe(200);
      expect(list.body.items.map((i: { id: string }) => i.id)).toEqual([WA]);
      const page = await request(app).get('/admin/conversations').set('Authorization', basic);
      expect(page.status).toBe(200);
      expect(page.text).toContain('<h1>Conversations</h1>');
      const one = await request(app).get(`/admin/conversations/${WA}`).set('Authorization', basic);
      expect(one.text).toContain('conversation.js');
      const refused = await consoleCall('post', `/conversations/${WA}/takeover`).send({ requestId: 'click-0001' });
      expect(refused.status).toBe(403);
    });

    it('takes over and hands back through inbound signals, once per click', async () => {
      const take = await consoleCall('post', `/conversations/${WA}/takeover`).set('X-Switchboard-Console', '1').send({ requestId: 'click-0002' });
      expect(take.status).toBe(202);
      await consoleCall('post', `/conversations/${WA}/takeover`).set('X-Switchboard-Console', '1').send({ requestId: 'click-0002' });
      const back = await consoleCall('post', `/conversations/${WC}/handback`).set('X-Switchboard-Console', '1').send({ requestId: 'click-0003' });
      expect(back.status).toBe(202);
      const signals = (await jobs('inbound')).sort((a, b) => String(a.id).localeCompare(String(b.id)));
      expect(signals).toEqual([
        { id: `console-handback-${WC}-click-0003`, data: { kind: 'signal', eventId: `console-handback-${WC}-click-0003`, conversation: wcRef, at: expect.any(Number), signal: 'bot_resumed', detail: { reason: 'handed back in the console', source: 'console' } } },
        { id: `console-takeover-${WA}-click-0002`, data: { kind: 'signal', eventId: `console-takeover-${WA}-click-0002`, conversation: { ...waRef, displayName: 'Ada' }, at: expect.any(Number), signal: 'human_took_over', detail: { reason: 'paused', source: 'console' } } },
      ]);
      expect((await consoleCall('get', `/conversations/${WA}/owner`)).body).toEqual({ owner: 'bot' });
    });

    it('replies as a human through the conversation reply order, and the bot stays quiet', async () => {
      const res = await consoleCall('post', `/conversations/${WC}/reply`).set('X-Switchboard-Console', '1').send({ requestId: 'click-0004', text: '  您好，我来帮您处理。 ' });
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ conversationId: WC, outboundId: `console-${WC}-click-0004` });
      await consoleCall('post', `/conversations/${WC}/reply`).set('X-Switchboard-Console', '1').send({ requestId: 'click-0004', text: '您好，我来帮您处理。' });
      expect(await jobs('outbound-wechat-kf')).toEqual([{ id: `console-${WC}-click-0004`, data: expect.objectContaining({ outboundId: `console-${WC}-click-0004`, origin: 'human', reply: { text: '您好，我来帮您处理。' }, ref: wcRef }) }]);
      expect(await redis.get(gatewayKeys(prefix).lastReply(WC))).toBe(`console-${WC}-click-0004`);
      expect((await jobs('inbound')).map((j) => j.id)).toContain(`console-replied-${WC}-click-0004`);

      for (const body of [{ requestId: 'click-0005' }, { requestId: 'click-0005', text: '   ' }, { requestId: 'x', text: 'hi' }, { requestId: 'click-0005', text: 'x'.repeat(4097) }]) {
        const bad = await consoleCall('post', `/conversations/${WC}/reply`).set('X-Switchboard-Console', '1').send(body);
        expect(bad.status).toBe(400);
      }
      const unknown = await consoleCall('post', '/conversations/whatsapp-nope/reply').set('X-Switchboard-Console', '1').send({ requestId: 'click-0006', text: 'hi' });
      expect(unknown.status).toBe(404);
      // a record whose id does not hash from its channel, account and customer is never addressed
      const mismatch = await consoleCall('post', '/conversations/telegram-old/reply').set('X-Switchboard-Console', '1').send({ requestId: 'click-0007', text: 'hi' });
      expect([mismatch.status, mismatch.body.error]).toEqual([409, 'invalid_request']);
    });
  });
});
