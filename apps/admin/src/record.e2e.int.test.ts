/**
 * The record's "Done when" end to end, on a real PostgreSQL and Redis: the worker pipeline (fake
 * Graph, WeCom, Bot API, Chatwoot and OpenAI, the `record` role writing to the test database) takes
 * traffic on every channel — WhatsApp with a delivered and a failed delivery status, WeChat Kefu in
 * Chinese, Telegram taken over by a person replying in the console, Chatwoot taken over by an agent's
 * reply — and the admin app's HTTP API on the same store shows it: each conversation's exact
 * timeline (messages in order with authors, statuses with the failure code, the handoff events), the
 * search by an English and a Chinese word, the export of a range (every message once, compared with
 * the rows) and analytics whose counts match the rows.
 */
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { conversationId, createMetricsRegistry, silentLogger, type ConversationRef } from '@switchboard/core';
import { createRedis, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import { RecordAnalytics, RecordReader } from '@switchboard/record';
import { openStore, type Store } from '@switchboard/store';
import {
  encryptWechatCallback,
  createTestDatabase,
  FakeWecom,
  fixtureJson,
  kfCallbackXml,
  TELEGRAM_FIXTURE_BOT,
  telegramTextUpdate,
  waitFor,
  WECHAT_TEST_CONFIG,
  whatsappStatusDelivery,
  whatsappTextDelivery,
  type TestDatabase,
} from '@switchboard/testkit';
import { createWechatIngressApp } from '@switchboard/wechat-ingress/app';
import { startPipeline, type Pipeline } from '@switchboard/worker/testing';
import { parseApiKeys } from './api/api';
import { createAdminApp } from './app';

jest.setTimeout(120_000);

const SECRET = 'record-e2e-api-secret-0123456789';
const AUTH = { user: 'ops', password: 'record e2e console password' };
const BASIC = `Basic ${Buffer.from(`${AUTH.user}:${AUTH.password}`).toString('base64')}`;
const KEYS = WECHAT_TEST_CONFIG;
const KF = 'wkRecApiE2Ekf000000000000000001';
/** The phone number id `whatsappTextDelivery` addresses. */
const WA_PHONE = '109876543210987';
const WA_USER = '15557400001';
const WECHAT_USER = 'wmRecApiE2EUser0001';
const TG_CHAT = 5550101;
const CW_CONVERSATION = 4501;
const CW_BOT_INBOX = 5;
const CW_CONTACT = 4411;

type Payload = Record<string, unknown> & { conversation: Record<string, unknown> & { meta: Record<string, unknown> } };

interface ApiMessage {
  id: string;
  direction: 'in' | 'out';
  author: 'customer' | 'bot' | 'human';
  text: string;
  at: string;
  status?: string;
  error?: { code?: number; title?: string };
  origin?: string;
  contentType: string;
  turnId?: string;
}
interface ApiConversation {
  id: string;
  channel: string;
  owner: string;
  messageCount: number;
  hadHuman: boolean;
  handoffReason?: string;
  customer: { id: string; name?: string };
  messages: ApiMessage[];
  events: Array<{ kind: string; at: string; reason?: string; detail: Record<string, unknown> }>;
  turns: Array<{ id: string; outcome: string; tokensIn: number; tokensOut: number; costUsd: number }>;
}

describe('the record through the API: every channel, a takeover, a failed delivery', () => {
  let db: TestDatabase;
  let store: Store;
  let p: Pipeline;
  let wecom: FakeWecom;
  let wechatServer: HttpServer;
  let wechatUrl = '';
  let adminServer: HttpServer;
  let adminUrl = '';
  let redis: RedisClient;
  let producers: Producers;
  const started = new Date();

  const refs = {
    whatsapp: { channel: 'whatsapp', account: WA_PHONE, userId: WA_USER } as ConversationRef,
    wechat: { channel: 'wechat-kf', account: KF, userId: WECHAT_USER } as ConversationRef,
    telegram: { channel: 'telegram', account: TELEGRAM_FIXTURE_BOT.id, userId: String(TG_CHAT) } as ConversationRef,
    chatwoot: { channel: 'chatwoot', account: '7', userId: String(CW_CONTACT), threadId: String(CW_CONVERSATION) } as ConversationRef,
  };
  const ids = Object.fromEntries(Object.entries(refs).map(([k, r]) => [k, conversationId(r)])) as Record<keyof typeof refs, string>;

  beforeAll(async () => {
    db = await createTestDatabase('rec_api_e2e');
    store = await openStore({ url: db.url, log: silentLogger(), poolMax: 4 });
    wecom = await FakeWecom.start({ corpId: KEYS.corpId });
    p = await startPipeline({
      store,
      telegram: true,
      chatwoot: true,
      env: {
        WECHAT_TOKEN: KEYS.token,
        WECHAT_AESKEY: KEYS.encodingAESKey,
        WECHAT_CORP_ID: KEYS.corpId,
        WECHAT_SECRET: wecom.secret,
        WECHAT_API_URL: wecom.url,
        WECHAT_SYNC_LOCK_MS: '1000',
        RECORD_BATCH_WAIT_MS: '20',
      },
      openai: {
        reply: (req) => {
          const last = [...req.messages].reverse().find((m) => m.role === 'user');
          const text = typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content ?? '');
          return `fake reply to: ${text.slice(-60)}`;
        },
      },
    });
    redis = createRedis(p.env.REDIS_URL, 'producer');
    redis.on('error', () => undefined);
    await waitReady(redis);
    producers = new Producers(redis, p.prefix);

    const wechatApp = createWechatIngressApp({
      log: silentLogger(),
      registry: createMetricsRegistry({ service: 'record-api-e2e-wechat' }),
      producers,
      redis,
      settings: { token: KEYS.token, aesKey: KEYS.encodingAESKey, corpId: KEYS.corpId, timestampWindowSec: 300, maxBodyBytes: 65536 },
    });
    wechatServer = await new Promise((resolve) => {
      const s = wechatApp.listen(0, '127.0.0.1', () => resolve(s));
    });
    wechatUrl = `http://127.0.0.1:${(wechatServer.address() as AddressInfo).port}`;

    const admin = createAdminApp({
      log: silentLogger(),
      registry: createMetricsRegistry({ service: 'record-api-e2e' }),
      redis,
      producers,
      prefix: p.prefix,
      auth: AUTH,
      apiKeys: parseApiKeys(`ops:${SECRET}`),
      record: new RecordReader(store.db),
      analytics: new RecordAnalytics(store.db),
    });
    adminServer = await new Promise((resolve) => {
      const s = admin.listen(0, '127.0.0.1', () => resolve(s));
    });
    adminUrl = `http://127.0.0.1:${(adminServer.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const s of [wechatServer, adminServer]) {
      await new Promise<void>((resolve) => {
        if (!s) return resolve();
        s.closeAllConnections();
        s.close(() => resolve());
      });
    }
    await producers?.close();
    redis?.disconnect();
    await p?.close();
    await wecom?.close();
    await store?.close();
    await db?.drop();
  });

  const api = async (path: string): Promise<Response> => fetch(`${adminUrl}/api/v1${path}`, { headers: { authorization: `Bearer ${SECRET}` } });
  const apiJson = async <T>(path: string): Promise<T> => {
    const res = await api(path);
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  };
  const timeline = async (id: string): Promise<ApiConversation | undefined> => {
    const res = await api(`/conversations/${encodeURIComponent(id)}`);
    if (res.status === 404) return undefined;
    expect(res.status).toBe(200);
    return (await res.json()) as ApiConversation;
  };
  /** Waits until the conversation's timeline (through the API) satisfies `ready`. */
  const timelineWhen = async (id: string, ready: (c: ApiConversation) => boolean, what: string): Promise<ApiConversation> => {
    let last: ApiConversation | undefined;
    await waitFor(
      async () => {
        last = await timeline(id);
        return last !== undefined && ready(last);
      },
      20_000,
      what,
    ).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}; last seen: ${JSON.stringify(last)}`);
    });
    return last!;
  };
  const recordDrained = async () => {
    const c = await p.deps.producers.queue('record').getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return Object.values(c).every((n) => n === 0);
  };
  const wechatTexts = () => wecom.sentTo(WECHAT_USER).map((m) => String((m.body['text'] as { content?: string } | undefined)?.content ?? ''));
  const chatwootBotReplies = () => p.chatwoot!.messagesIn(CW_CONVERSATION).filter((m) => m.token === 'bot' && !m.private && m.message_type === 1);

  it('every channel: traffic, a failed delivery, two takeovers → the exact timelines, search, export and analytics', async () => {
    // --- WhatsApp: two questions, the first reply delivered, the second reported failed
    const first = whatsappTextDelivery({ waId: WA_USER, name: 'Anna Berg', text: 'Where is my parcel 4711?' });
    expect(await p.postWhatsApp(first.payload)).toBe(200);
    await waitFor(() => p.graph.textsTo(WA_USER).length === 1, 20_000, 'the first WhatsApp reply');
    const sent1 = p.graph.sent.filter((m) => String(m.to).endsWith(WA_USER))[0]!;
    expect(await p.postWhatsApp(whatsappStatusDelivery(sent1, 'delivered'))).toBe(200);
    await timelineWhen(ids.whatsapp, (c) => c.messages.length === 2 && c.messages[1]!.status === 'delivered', 'the first exchange recorded');
    const second = whatsappTextDelivery({ waId: WA_USER, name: 'Anna Berg', text: 'Thanks, and the invoice?' });
    expect(await p.postWhatsApp(second.payload)).toBe(200);
    await waitFor(() => p.graph.textsTo(WA_USER).length === 2, 20_000, 'the second WhatsApp reply');
    const sent2 = p.graph.sent.filter((m) => String(m.to).endsWith(WA_USER))[1]!;
    const failed = whatsappStatusDelivery(sent2, 'sent') as { entry: Array<{ changes: Array<{ value: { statuses: Array<Record<string, unknown>> } }> }> };
    Object.assign(failed.entry[0]!.changes[0]!.value.statuses[0]!, { status: 'failed', errors: [{ code: 131026, title: 'Message undeliverable', message: 'Message undeliverable' }] });
    expect(await p.postWhatsApp(failed)).toBe(200);

    // --- WeChat Kefu: a question in Chinese
    wecom.customerText(KF, WECHAT_USER, '我的订单 8842 到哪里了？');
    const cb = encryptWechatCallback(KEYS, kfCallbackXml({ corpId: KEYS.corpId, token: wecom.callbackToken(), openKfId: KF }));
    expect((await fetch(`${wechatUrl}/webhooks/wechat-kf${cb.search}`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: cb.body })).status).toBe(200);
    await waitFor(() => wechatTexts().length === 1, 20_000, 'the WeChat reply');

    // --- Telegram: a question, the bot's answer, then a person replies from the console
    expect(await p.postTelegram(telegramTextUpdate({ chatId: TG_CHAT, text: 'Do you ship to Norway?', firstName: 'Ola' }))).toBe(200);
    await waitFor(() => p.telegram!.textsTo(String(TG_CHAT)).length === 1, 20_000, 'the Telegram reply');
    await timelineWhen(ids.telegram, (c) => c.messages.length === 2, 'the Telegram exchange recorded');
    const consoleReply = await fetch(`${adminUrl}/admin/conversations/api/conversations/${encodeURIComponent(ids.telegram)}/reply`, {
      method: 'POST',
      headers: { authorization: BASIC, 'x-switchboard-console': '1', 'content-type': 'application/json' },
      body: JSON.stringify({ requestId: 'rec-e2e-console-0001', text: 'Yes, we ship to Norway within 5 days.' }),
    });
    expect(consoleReply.status).toBe(202);
    await waitFor(() => p.telegram!.textsTo(String(TG_CHAT)).includes('Yes, we ship to Norway within 5 days.'), 20_000, 'the console reply on Telegram');

    // --- Chatwoot: a customer in the bot inbox, the bot's answer, then an agent replies in Chatwoot
    p.chatwoot!.addConversation({ id: CW_CONVERSATION, inbox_id: CW_BOT_INBOX, contact_id: CW_CONTACT, status: 'pending' });
    const incoming = fixtureJson<Payload>('chatwoot', 'message_created.incoming_contact_with_image.json');
    const { attachments: _attachments, ...incomingRest } = incoming;
    const customerMessage: Payload = {
      ...incomingRest,
      id: 95001,
      content: 'Can I change my delivery address?',
      created_at: new Date().toISOString(),
      inbox: { id: CW_BOT_INBOX, name: 'Website' },
      conversation: { ...incoming.conversation, id: CW_CONVERSATION, inbox_id: CW_BOT_INBOX },
    };
    expect(await p.postChatwoot(customerMessage)).toBe(200);
    await waitFor(() => chatwootBotReplies().length === 1, 20_000, 'the Chatwoot bot reply');
    await timelineWhen(ids.chatwoot, (c) => c.messages.length === 2, 'the Chatwoot exchange recorded');
    const human = fixtureJson<Payload>('chatwoot', 'message_created.outgoing_human_agent_api_inbox.json');
    const agentReply: Payload = {
      ...human,
      id: 95002,
      created_at: Math.floor(Date.now() / 1000),
      inbox: { id: CW_BOT_INBOX, name: 'Website' },
      conversation: { ...human.conversation, id: CW_CONVERSATION, inbox_id: CW_BOT_INBOX, status: 'pending', meta: { ...human.conversation.meta, assignee: null, assignee_type: null } },
    };
    expect(await p.postChatwoot(agentReply)).toBe(200);

    // --- the record catches up
    const wa = await timelineWhen(ids.whatsapp, (c) => c.messages.length === 4 && c.messages[3]!.status === 'failed', 'the WhatsApp timeline');
    const wx = await timelineWhen(ids.wechat, (c) => c.messages.length === 2, 'the WeChat timeline');
    const tg = await timelineWhen(ids.telegram, (c) => c.messages.length === 3 && c.events.length === 1 && c.owner === 'human', 'the Telegram timeline');
    const cw = await timelineWhen(ids.chatwoot, (c) => c.messages.length === 3 && c.events.length === 1 && c.owner === 'human', 'the Chatwoot timeline');
    await waitFor(recordDrained, 20_000, 'every record job written');

    const view = (c: ApiConversation) => c.messages.map((m) => ({ direction: m.direction, author: m.author, origin: m.origin, text: m.text, status: m.status, error: m.error }));
    const [waReply1, waReply2] = p.graph.textsTo(WA_USER);
    expect(wa).toMatchObject({ channel: 'whatsapp', owner: 'bot', hadHuman: false, messageCount: 4, customer: { id: WA_USER, name: 'Anna Berg' } });
    expect(view(wa)).toEqual([
      { direction: 'in', author: 'customer', origin: undefined, text: 'Where is my parcel 4711?', status: undefined, error: undefined },
      { direction: 'out', author: 'bot', origin: 'agent', text: waReply1, status: 'delivered', error: undefined },
      { direction: 'in', author: 'customer', origin: undefined, text: 'Thanks, and the invoice?', status: undefined, error: undefined },
      { direction: 'out', author: 'bot', origin: 'agent', text: waReply2, status: 'failed', error: { code: 131026, title: 'Message undeliverable' } },
    ]);
    expect(wa.events).toEqual([]);
    expect(wa.turns.map((t) => t.outcome)).toEqual(['answered', 'answered']);
    expect(wa.messages[1]!.turnId).toBe(wa.turns[0]!.id);
    expect(wa.messages[3]!.turnId).toBe(wa.turns[1]!.id);

    expect(wx).toMatchObject({ channel: 'wechat-kf', owner: 'bot', hadHuman: false, messageCount: 2, customer: { id: WECHAT_USER } });
    expect(view(wx)).toEqual([
      { direction: 'in', author: 'customer', origin: undefined, text: '我的订单 8842 到哪里了？', status: undefined, error: undefined },
      { direction: 'out', author: 'bot', origin: 'agent', text: wechatTexts()[0], status: undefined, error: undefined },
    ]);

    expect(tg).toMatchObject({ channel: 'telegram', owner: 'human', hadHuman: true, handoffReason: 'a person replied in the console', messageCount: 3 });
    expect(view(tg)).toEqual([
      { direction: 'in', author: 'customer', origin: undefined, text: 'Do you ship to Norway?', status: undefined, error: undefined },
      { direction: 'out', author: 'bot', origin: 'agent', text: p.telegram!.textsTo(String(TG_CHAT))[0], status: undefined, error: undefined },
      { direction: 'out', author: 'human', origin: 'human', text: 'Yes, we ship to Norway within 5 days.', status: undefined, error: undefined },
    ]);
    expect(tg.events.map((e) => [e.kind, e.reason])).toEqual([['handoff', 'a person replied in the console']]);
    expect(tg.turns.map((t) => t.outcome)).toEqual(['answered']);

    expect(cw).toMatchObject({ channel: 'chatwoot', owner: 'human', hadHuman: true, messageCount: 3, customer: { id: String(CW_CONTACT) } });
    expect(view(cw)).toEqual([
      { direction: 'in', author: 'customer', origin: undefined, text: 'Can I change my delivery address?', status: undefined, error: undefined },
      { direction: 'out', author: 'bot', origin: 'agent', text: chatwootBotReplies()[0]!.content, status: undefined, error: undefined },
      // the agent's own reply in the bot inbox is recorded as a person's message
      { direction: 'out', author: 'human', origin: 'human', text: String(agentReply.content), status: undefined, error: undefined },
    ]);
    expect(cw.events).toEqual([{ kind: 'handoff', at: expect.any(String), reason: expect.any(String), detail: { reason: cw.events[0]!.reason } }]);
    expect(cw.handoffReason).toBe(cw.events[0]!.reason);

    // every timeline is in time order
    for (const c of [wa, wx, tg, cw]) expect(c.messages.map((m) => m.at)).toEqual([...c.messages.map((m) => m.at)].sort());

    // --- search: an English word, a Chinese word, and a filter
    const search = async (query: string) => (await apiJson<{ items: Array<{ id: string }> }>(`/conversations?${query}`)).items.map((i) => i.id).sort();
    expect(await search(`q=${encodeURIComponent('parcel')}`)).toEqual([ids.whatsapp]);
    expect(await search(`q=${encodeURIComponent('Norway')}`)).toEqual([ids.telegram]);
    expect(await search(`q=${encodeURIComponent('订单')}`)).toEqual([ids.wechat]);
    expect(await search(`q=${encodeURIComponent('订单')}&channel=whatsapp`)).toEqual([]);
    expect(await search('owner=human')).toEqual([ids.telegram, ids.chatwoot].sort());
    expect(await search('')).toEqual(Object.values(ids).sort());

    // --- export: every message of the range exactly once, as the rows are
    const rows = await store.db
      .selectFrom('rec_message as m')
      .innerJoin('rec_conversation as c', 'c.id', 'm.conversation_id')
      .select(['m.conversation_id', 'c.channel', 'c.customer_id', 'm.direction', 'm.author', 'm.text', 'm.at'])
      .orderBy('m.at')
      .orderBy('m.id')
      .execute();
    expect(rows).toHaveLength(4 + 2 + 3 + 3);
    const exported = async (from: Date, to: Date) => {
      const res = await api(`/export?from=${from.toISOString()}&to=${to.toISOString()}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/application\/x-ndjson/);
      const body = await res.text();
      expect(body.endsWith('\n')).toBe(true);
      return body
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    };
    const asLine = (r: (typeof rows)[number]) => ({ conversationId: r.conversation_id, channel: r.channel, customerId: r.customer_id, direction: r.direction, author: r.author, text: r.text, at: r.at.toISOString() });
    const end = new Date(Date.now() + 60_000);
    const all = await exported(new Date(started.getTime() - 60_000), end);
    expect(all.map(({ account: _a, ...l }) => l)).toEqual(rows.map(asLine));
    expect(new Set(all.map((l) => JSON.stringify(l))).size).toBe(rows.length);
    // a range starting at the second distinct message time: only the rows from there on (the
    // traffic's order is not the record's: WeChat stamps whole seconds and is pulled later)
    const cut = rows.find((r) => r.at.getTime() > rows[0]!.at.getTime())!.at;
    const tail = await exported(cut, end);
    expect(tail.map(({ account: _a, ...l }) => l)).toEqual(rows.filter((r) => r.at >= cut).map(asLine));
    expect(tail.length).toBeLessThan(all.length);

    // --- analytics: the counts of the rows
    const report = await apiJson<{
      byChannel: Record<string, { conversations: number; messagesIn: number; messagesOut: number }>;
      containmentRate: number;
      handoffRate: number;
      llm: { tokensIn: number; tokensOut: number; costUsd: number };
      totals: { conversations: number; messagesIn: number; messagesOut: number };
      resolution: { engaged: number; contained: number; handedOff: number };
      handoffReasons: Array<{ reason: string; events: number; conversations: number }>;
      failedDeliveries: { total: number; byCode: Array<{ code: number | null; title: string | null; count: number; byChannel: Record<string, number> }> };
      turns: { total: number; byOutcome: Record<string, number> };
      firstResponse: { answered: number; unanswered: number };
    }>(`/analytics?from=${new Date(started.getTime() - 60_000).toISOString()}&to=${end.toISOString()}`);
    const expectedByChannel: Record<string, { conversations: number; messagesIn: number; messagesOut: number }> = {};
    for (const r of rows) {
      const c = (expectedByChannel[r.channel] ??= { conversations: 0, messagesIn: 0, messagesOut: 0 });
      if (r.direction === 'in') c.messagesIn++;
      else c.messagesOut++;
    }
    for (const ch of Object.keys(expectedByChannel)) expectedByChannel[ch]!.conversations = new Set(rows.filter((r) => r.channel === ch).map((r) => r.conversation_id)).size;
    expect(report.byChannel).toEqual(expectedByChannel);
    expect(report.byChannel).toEqual({
      whatsapp: { conversations: 1, messagesIn: 2, messagesOut: 2 },
      'wechat-kf': { conversations: 1, messagesIn: 1, messagesOut: 1 },
      telegram: { conversations: 1, messagesIn: 1, messagesOut: 2 },
      chatwoot: { conversations: 1, messagesIn: 1, messagesOut: 2 },
    });
    expect(report.totals).toEqual({ conversations: 4, messagesIn: 5, messagesOut: 7 });
    expect(report.resolution).toMatchObject({ engaged: 4, contained: 2, handedOff: 2 });
    expect(report.containmentRate).toBe(0.5);
    expect(report.handoffRate).toBe(0.5);
    expect(report.handoffReasons.map((r) => [r.reason, r.events, r.conversations]).sort()).toEqual([
      ['a person replied in the console', 1, 1],
      [cw.events[0]!.reason!, 1, 1],
    ].sort());
    expect(report.failedDeliveries).toEqual({ total: 1, byCode: [{ code: 131026, title: 'Message undeliverable', count: 1, byChannel: { whatsapp: 1 } }] });
    const turnRows = await store.db.selectFrom('rec_turn').select(['tokens_in', 'tokens_out', 'cost_usd', 'outcome']).execute();
    expect(turnRows).toHaveLength(5);
    expect(report.turns).toEqual({ total: 5, byOutcome: { answered: 5 } });
    expect(report.llm.tokensIn).toBe(turnRows.reduce((s, t) => s + t.tokens_in, 0));
    expect(report.llm.tokensOut).toBe(turnRows.reduce((s, t) => s + t.tokens_out, 0));
    expect(report.llm.costUsd).toBeCloseTo(turnRows.reduce((s, t) => s + Number(t.cost_usd), 0), 9);
    expect(report.firstResponse).toEqual({ answered: 4, unanswered: 0 });
  });
});
