/**
 * The record end to end (real Redis, real PostgreSQL, fake Graph, WeCom and OpenAI): traffic on
 * WhatsApp and WeChat, a handoff and a failed delivery → exactly these rec_* rows; a redelivered
 * webhook and replayed record jobs → no duplicate; the store stopped mid-traffic (its connections
 * cut by a loopback TCP proxy) → every reply still sent, and every record row there once it is back.
 */
import type { Server as HttpServer } from 'node:http';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { conversationId, createLogger, createMetricsRegistry, silentLogger, type ConversationRef } from '@switchboard/core';
import { createRedis, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import { DEFAULT_LLM_PRICES, estimateCostUsd, turnRecordId } from '@switchboard/record';
import { openStore, sql, type Store } from '@switchboard/store';
import { createTestDatabase, encryptWechatCallback, FakeWecom, graphError, kfCallbackXml, waitFor, WECHAT_TEST_CONFIG, whatsappStatusDelivery, whatsappTextDelivery, type TestDatabase } from '@switchboard/testkit';
import { createWechatIngressApp } from '@switchboard/wechat-ingress/app';
import { startPipeline, type Pipeline } from './testing/harness';
import { applyRecordRetention, RETENTION_SCAN_MS } from './roles/record';
import { selectRoles, loadWorkerEnv } from './compose';

jest.setTimeout(120_000);

const PHONE = '109876543210987';
const KF = 'wkRecE2Ekf00000000000000000001';
const KEYS = WECHAT_TEST_CONFIG;

/** A TCP proxy on loopback to PostgreSQL that the test can cut (every connection dropped, port closed) and restore. */
class StoreProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', () => resolve()));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}

interface MessageRow {
  id: string;
  direction: string;
  author: string;
  origin: string | null;
  content_type: string;
  text: string;
  provider_message_id: string | null;
  turn_id: string | null;
}

describe('the record end to end', () => {
  let db: TestDatabase;
  let proxy: StoreProxy;
  let store: Store;
  /** A direct connection for the test's own reads (not through the proxy). */
  let reader: Store;
  let p: Pipeline;
  let fake: FakeWecom;
  let wechatServer: HttpServer;
  let wechatUrl = '';
  let ingressRedis: RedisClient;
  let ingressProducers: Producers;

  beforeAll(async () => {
    db = await createTestDatabase('sb_rec_e2e');
    const direct = new URL(db.url);
    proxy = new StoreProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
    await proxy.start();
    const viaProxy = new URL(db.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    const log = createLogger({ service: 'record-e2e', silent: true });
    store = await openStore({ url: viaProxy.toString(), log, poolMax: 4, connectTimeoutMs: 2000 });
    reader = await openStore({ url: db.url, log, poolMax: 2, migrate: false });
    fake = await FakeWecom.start({ corpId: KEYS.corpId });
    p = await startPipeline({
      store,
      env: {
        WECHAT_TOKEN: KEYS.token,
        WECHAT_AESKEY: KEYS.encodingAESKey,
        WECHAT_CORP_ID: KEYS.corpId,
        WECHAT_SECRET: fake.secret,
        WECHAT_API_URL: fake.url,
        WECHAT_SYNC_LOCK_MS: '1000',
        RECORD_BATCH_WAIT_MS: '20',
      },
      openai: {
        reply: (req) => {
          const last = [...req.messages].reverse().find((m) => m.role === 'user');
          const text = typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content ?? '');
          if (/escalate/i.test(text) && req.tools?.some((t) => t.function.name === 'handoff_to_human')) {
            return { content: null, tool_calls: [{ name: 'handoff_to_human', arguments: { reason: 'customer asked for a person', summary: 'wants a person' } }] };
          }
          return `fake reply to: ${text.slice(-60)}`;
        },
      },
    });
    ingressRedis = createRedis(p.env.REDIS_URL, 'producer');
    ingressRedis.on('error', () => undefined);
    await waitReady(ingressRedis);
    ingressProducers = new Producers(ingressRedis, p.prefix);
    const app = createWechatIngressApp({
      log: silentLogger(),
      registry: createMetricsRegistry({ service: 'record-e2e-wechat' }),
      producers: ingressProducers,
      redis: ingressRedis,
      settings: { token: KEYS.token, aesKey: KEYS.encodingAESKey, corpId: KEYS.corpId, timestampWindowSec: 300, maxBodyBytes: 65536 },
    });
    wechatServer = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    wechatUrl = `http://127.0.0.1:${(wechatServer.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => {
      wechatServer?.closeAllConnections();
      wechatServer?.close(() => resolve());
    });
    await ingressProducers?.close();
    ingressRedis?.disconnect();
    await p?.close();
    await fake?.close();
    await store?.close();
    await reader?.close();
    await proxy?.stop();
    await db?.drop();
  });

  beforeEach(() => p.graph.reset());

  const waRef = (waId: string): ConversationRef => ({ channel: 'whatsapp', account: PHONE, userId: waId });
  const messages = async (ref: ConversationRef): Promise<MessageRow[]> =>
    reader.db
      .selectFrom('rec_message')
      .select(['id', 'direction', 'author', 'origin', 'content_type', 'text', 'provider_message_id', 'turn_id'])
      .where('conversation_id', '=', conversationId(ref))
      .orderBy('at')
      .orderBy('id')
      .execute();
  const conversation = (ref: ConversationRef) => reader.db.selectFrom('rec_conversation').selectAll().where('id', '=', conversationId(ref)).executeTakeFirst();
  const turns = (ref: ConversationRef) => reader.db.selectFrom('rec_turn').selectAll().where('conversation_id', '=', conversationId(ref)).orderBy('at').execute();
  const events = (ref: ConversationRef) => reader.db.selectFrom('rec_event').select(['kind', 'detail']).where('conversation_id', '=', conversationId(ref)).orderBy('at').execute();
  /** Every record job written (nothing waiting, active or delayed). */
  const recordDrained = async () => {
    const c = await p.deps.producers.queue('record').getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return Object.values(c).every((n) => n === 0);
  };
  const counts = async () => {
    const out: Record<string, number> = {};
    for (const t of ['rec_conversation', 'rec_message', 'rec_status', 'rec_event', 'rec_turn'] as const) {
      out[t] = Number((await reader.db.selectFrom(t).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
    }
    return out;
  };
  const outboundDrained = async () => {
    const c = await p.deps.producers.queue('outbound-whatsapp').getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return Object.values(c).every((n) => n === 0);
  };

  it('WhatsApp: the customer message, the reply as sent, the turn and its delivery status; a redelivery writes nothing twice', async () => {
    const waId = '15557100001';
    const ref = waRef(waId);
    const { payload, wamid } = whatsappTextDelivery({ waId, name: 'Anna Berg', text: 'Where is my parcel 4711?' });
    expect(await p.postWhatsApp(payload)).toBe(200);
    await waitFor(() => p.graph.textsTo(waId).length === 1, 15_000, 'the reply');
    const sent = p.graph.sent.find((m) => String(m.to).endsWith(waId))!;
    expect(await p.postWhatsApp(whatsappStatusDelivery(sent, 'delivered'))).toBe(200);
    await waitFor(async () => (await messages(ref)).length === 2 && (await turns(ref)).length === 1 && (await reader.db.selectFrom('rec_status').select('id').where('provider_message_id', '=', sent.wamid).execute()).length === 1, 15_000, 'the record rows');

    const rows = await messages(ref);
    expect(rows).toEqual([
      { id: expect.stringMatching(/^in:/), direction: 'in', author: 'customer', origin: null, content_type: 'text', text: 'Where is my parcel 4711?', provider_message_id: wamid, turn_id: null },
      { id: expect.stringMatching(/^out:.*:0$/), direction: 'out', author: 'bot', origin: 'agent', content_type: 'text', text: p.graph.textsTo(waId)[0], provider_message_id: sent.wamid, turn_id: turnRecordId(conversationId(ref), 1) },
    ]);
    expect(await conversation(ref)).toMatchObject({ channel: 'whatsapp', account_id: 'default', provider_account: PHONE, customer_id: waId, customer_name: 'Anna Berg', owner: 'bot', had_human: false, message_count: 2 });
    const [turn] = await turns(ref);
    expect(turn).toMatchObject({ id: turnRecordId(conversationId(ref), 1), outcome: 'answered', model: p.env.LLM_MODEL, tools: [], sources: [] });
    expect(turn!.tokens_in).toBeGreaterThan(0);
    expect(turn!.tokens_out).toBeGreaterThan(0);
    expect(turn!.latency_ms).toEqual(expect.any(Number));
    expect(Number(turn!.cost_usd)).toBeCloseTo(estimateCostUsd(DEFAULT_LLM_PRICES, p.env.LLM_MODEL, turn!.tokens_in, turn!.tokens_out), 6);
    const status = await reader.db.selectFrom('rec_status').selectAll().where('provider_message_id', '=', sent.wamid).executeTakeFirstOrThrow();
    expect(status).toMatchObject({ channel: 'whatsapp', status: 'delivered', error_code: null });

    // the same webhooks again, and every record job of the run replayed under new job ids
    await waitFor(recordDrained, 15_000, 'record queue drained');
    const before = await counts();
    expect(await p.postWhatsApp(payload)).toBe(200);
    expect(await p.postWhatsApp(whatsappStatusDelivery(sent, 'delivered'))).toBe(200);
    const done = await p.deps.producers.queue('record').getJobs(['completed'], 0, 10_000);
    expect(done.length).toBeGreaterThan(0);
    await Promise.all(done.map((j, i) => p.deps.producers.enqueue('record', j.data, { jobId: `replay-${i}-${j.id}` })));
    await waitFor(recordDrained, 15_000, 'replayed jobs written');
    expect(await counts()).toEqual(before);
    expect(p.graph.textsTo(waId)).toHaveLength(1);
  });

  it('WhatsApp: a handoff (turn outcome, ownership, reason), a message while a human owns it, a failed delivery with its error code', async () => {
    const waId = '15557100002';
    const ref = waRef(waId);
    expect(await p.postWhatsApp(whatsappTextDelivery({ waId, text: 'escalate this, I want a person' }).payload)).toBe(200);
    await waitFor(() => p.graph.textsTo(waId).length === 1, 15_000, 'the handoff notice');
    expect(await p.postWhatsApp(whatsappTextDelivery({ waId, text: 'hello? anyone there' }).payload)).toBe(200);
    await waitFor(async () => (await messages(ref)).length === 3 && (await events(ref)).length === 1, 15_000, 'the handoff recorded');
    const rows = await messages(ref);
    expect(rows.map((m) => [m.direction, m.author, m.origin, m.text])).toEqual([
      ['in', 'customer', null, 'escalate this, I want a person'],
      ['out', 'bot', 'notice', p.graph.textsTo(waId)[0]],
      ['in', 'customer', null, 'hello? anyone there'],
    ]);
    expect(await events(ref)).toEqual([{ kind: 'handoff', detail: { reason: 'customer asked for a person' } }]);
    expect(await turns(ref)).toEqual([expect.objectContaining({ outcome: 'handoff', tools: ['handoff_to_human'] })]);
    expect(await conversation(ref)).toMatchObject({ owner: 'human', handoff_reason: 'customer asked for a person', had_human: true, message_count: 3 });

    // a reply the provider refuses for good, and a status webhook that reports a failure
    const failedWaId = '15557100003';
    const failedRef = waRef(failedWaId);
    p.graph.failNext(1, graphError(131047, 'Re-engagement message'));
    expect(await p.postWhatsApp(whatsappTextDelivery({ waId: failedWaId, text: 'Are you open today?' }).payload)).toBe(200);
    await waitFor(async () => (await events(failedRef)).some((e) => e.kind === 'delivery_failed'), 15_000, 'the failed delivery recorded');
    const failed = (await events(failedRef)).find((e) => e.kind === 'delivery_failed')!;
    expect(failed.detail).toMatchObject({ origin: 'agent', error: expect.stringContaining('131047') });
    expect((await messages(failedRef)).map((m) => m.direction)).toEqual(['in']);

    const statusPayload = {
      object: 'whatsapp_business_account',
      entry: [{ id: 'W', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { phone_number_id: PHONE }, statuses: [{ id: 'wamid.FAILEDSTATUS1', status: 'failed', timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: failedWaId, errors: [{ code: 131026, title: 'Message undeliverable', message: 'Message undeliverable' }] }] } }] }],
    };
    expect(await p.postWhatsApp(statusPayload)).toBe(200);
    await waitFor(async () => (await reader.db.selectFrom('rec_status').select('id').where('provider_message_id', '=', 'wamid.FAILEDSTATUS1').execute()).length === 1, 15_000, 'the failed status');
    expect(await reader.db.selectFrom('rec_status').select(['status', 'error_code', 'error_title']).where('provider_message_id', '=', 'wamid.FAILEDSTATUS1').executeTakeFirst()).toEqual({ status: 'failed', error_code: 131026, error_title: 'Message undeliverable' });
  });

  it('WeChat: the customer message and the reply with its msgid, searchable in Chinese', async () => {
    const user = `wmRecE2E${Date.now()}`;
    const ref: ConversationRef = { channel: 'wechat-kf', account: KF, userId: user };
    fake.customerText(KF, user, '我的订单 8842 到哪里了？');
    const cb = encryptWechatCallback(KEYS, kfCallbackXml({ corpId: KEYS.corpId, token: fake.callbackToken(), openKfId: KF }));
    const res = await fetch(`${wechatUrl}/webhooks/wechat-kf${cb.search}`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: cb.body });
    expect(res.status).toBe(200);
    await waitFor(() => fake.sentTo(user).length === 1, 15_000, 'the reply');
    await waitFor(async () => (await messages(ref)).length === 2, 15_000, 'both messages recorded');
    const rows = await messages(ref);
    expect(rows.map((m) => [m.direction, m.author, m.text])).toEqual([
      ['in', 'customer', '我的订单 8842 到哪里了？'],
      ['out', 'bot', (fake.sentTo(user)[0]!.body['text'] as { content: string }).content],
    ]);
    expect(rows[1]!.provider_message_id).toBe(fake.sentTo(user)[0]!.msgid);
    expect(await conversation(ref)).toMatchObject({ channel: 'wechat-kf', provider_account: KF, customer_id: user, message_count: 2 });
    const hits = await sql<{ id: string }>`select id from rec_message where terms @@ plainto_tsquery('simple', ${'订单'}) and conversation_id = ${conversationId(ref)}`.execute(reader.db);
    expect(hits.rows.length).toBeGreaterThanOrEqual(1);
  });

  it('the store stopped mid-traffic: every reply is still sent, and every record row is there once it is back', async () => {
    const users = ['15557200001', '15557200002', '15557200003', '15557200004'];
    await waitFor(recordDrained, 15_000, 'record queue drained before the outage');
    await waitFor(outboundDrained, 15_000, 'outbound drained before the outage');
    await proxy.stop();
    try {
      for (const u of users) expect(await p.postWhatsApp(whatsappTextDelivery({ waId: u, text: `outage question from ${u}` }).payload)).toBe(200);
      await waitFor(() => users.every((u) => p.graph.textsTo(u).length === 1), 20_000, 'every reply sent while the store is down');
      const unreachable = p.deps.registry.getSingleMetric('sb_record_store_unreachable');
      await waitFor(async () => (await unreachable?.get())?.values[0]?.value === 1, 20_000, 'the record role holding its jobs');
      for (const u of users) expect(await messages(waRef(u))).toEqual([]);
      // nothing failed: the held jobs keep their attempts
      expect(await p.deps.producers.queue('record').getJobCounts('failed')).toEqual({ failed: 0 });
    } finally {
      await proxy.start();
    }
    await waitFor(async () => {
      for (const u of users) if ((await messages(waRef(u))).length !== 2 || (await turns(waRef(u))).length !== 1) return false;
      return true;
    }, 30_000, 'every record row after the store is back');
    for (const u of users) {
      expect((await messages(waRef(u))).map((m) => [m.direction, m.text])).toEqual([
        ['in', `outage question from ${u}`],
        ['out', p.graph.textsTo(u)[0]],
      ]);
      expect((await conversation(waRef(u)))?.message_count).toBe(2);
    }
    await waitFor(recordDrained, 15_000, 'record queue drained after the outage');
    expect(await p.deps.producers.queue('record').getJobCounts('failed')).toEqual({ failed: 0 });
  });

  it('retention: one worker per scan slot (a Redis lock) removes what is older than each kind keeps', async () => {
    const sink = p.deps.recordSink!;
    expect(sink.retention).toEqual({ messagesDays: 365, turnsDays: 90, mediaDays: 365 });
    const now = Date.now() + 1000 * 86_400_000;
    const day = 86_400_000;
    const ref = waRef('15557300001');
    await sink.writer.write([
      { kind: 'message', id: 'in:ret-old', ref, direction: 'in', author: 'customer', contentType: 'image', text: '[image]', media: { kind: 'image', mimeType: 'image/png', sizeBytes: 10 }, at: now - 400 * day },
      { kind: 'message', id: 'in:ret-mid', ref, direction: 'in', author: 'customer', contentType: 'text', text: 'still kept', at: now - 100 * day },
      { kind: 'turn', id: 'turn:ret-old', ref, outcome: 'answered', tokensIn: 1, tokensOut: 1, costUsd: 0, tools: [], sources: [], at: now - 100 * day },
    ]);
    const slotStart = Math.floor(now / RETENTION_SCAN_MS) * RETENTION_SCAN_MS;
    const first = await applyRecordRetention(p.deps, sink, RETENTION_SCAN_MS, slotStart + 1);
    // the other workers of the deployment find the slot taken
    expect(await applyRecordRetention(p.deps, sink, RETENTION_SCAN_MS, slotStart + 2)).toBeUndefined();
    expect(first).toMatchObject({ messages: expect.any(Number), turns: expect.any(Number) });
    expect(first!.turns).toBeGreaterThanOrEqual(1);
    expect((await messages(ref)).map((m) => m.id)).toEqual(['in:ret-mid']);
    expect(await turns(ref)).toEqual([]);
    expect((await conversation(ref))?.message_count).toBe(1);
  });

  it('the record role runs by default only with a store, and not with RECORD_ENABLED=false', () => {
    const base = { REDIS_URL: p.env.REDIS_URL };
    expect(selectRoles(loadWorkerEnv({ ...base, DATABASE_URL: db.url }))).toContain('record');
    expect(selectRoles(loadWorkerEnv(base))).not.toContain('record');
    expect(selectRoles(loadWorkerEnv({ ...base, DATABASE_URL: db.url, RECORD_ENABLED: 'false' }))).not.toContain('record');
    expect(() => selectRoles(loadWorkerEnv({ ...base, WORKER_ROLES: 'record' }))).toThrow(/record role needs the store/);
  });
});
