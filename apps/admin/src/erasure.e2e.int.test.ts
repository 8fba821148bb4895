/**
 * Erasure end to end on a real PostgreSQL and a real Redis: two WhatsApp customers talk to the bot
 * through the worker pipeline (fake Graph, fake Chatwoot mirror, fake OpenAI), their record rows are
 * in the store, and every customer-keyed Redis family holds something of both. `DELETE
 * /api/v1/customers/whatsapp/<id>` → 204 removes everything of the first (store rows, statuses,
 * every key mentioning them, their queue jobs), leaves the second untouched, logs only hashed ids,
 * counts the erasure, and the first customer's next message reaches the model with no history.
 */
import request from 'supertest';
import { conversationId, createMetricsRegistry, customerId, silentLogger, type ConversationRef, type Logger } from '@switchboard/core';
import { gatewayKeys, Producers, type RedisClient } from '@switchboard/queue';
import { CustomerErasure, RecordReader } from '@switchboard/record';
import { openStore, sql, type Store } from '@switchboard/store';
import { createTestDatabase, waitFor, whatsappTextDelivery, type FakeChatRequest, type TestDatabase } from '@switchboard/testkit';
import { startPipeline, type Pipeline } from '@switchboard/worker/testing';
import { CHANNELS } from '@switchboard/channels';
import { PeopleDirectory, PersonInput } from '@switchboard/people';
import { parseApiKeys } from './api/api';
import { createAdminApp } from './app';

jest.setTimeout(120_000);

const SECRET = 'erasure-api-secret-0123456789';
const PNID = '109876543210987';
const A = '15557770001';
const B = '15557770002';
const ref = (wa: string): ConversationRef => ({ channel: 'whatsapp', account: PNID, userId: wa });

function recordingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (msg: string, meta?: unknown) => {
    lines.push(JSON.stringify({ level, msg, meta }));
  };
  return { log: { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } as unknown as Logger, lines };
}

const userTexts = (req: FakeChatRequest): string[] => req.messages.filter((m) => m.role !== 'system').map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? '')));

describe('customer erasure (API, real PostgreSQL and Redis, worker pipeline)', () => {
  let db: TestDatabase;
  let store: Store;
  let p: Pipeline;
  let redis: RedisClient;
  let producers: Producers;
  const { log, lines } = recordingLogger();
  const registry = createMetricsRegistry({ service: 'erasure-test' });
  let app: ReturnType<typeof createAdminApp>;

  beforeAll(async () => {
    db = await createTestDatabase('erasure');
    store = await openStore({ url: db.url, log: silentLogger(), poolMax: 3 });
    p = await startPipeline({ chatwoot: true, roles: ['inbound', 'agent', 'outbound', 'mirror'] });
    redis = p.deps.redis;
    producers = new Producers(redis, p.prefix);
    const erasure = new CustomerErasure({ redis, prefix: p.prefix, db: store.db, producers, log, registry, identifierKindOf: (channel) => CHANNELS[channel].customerIdKind });
    app = createAdminApp({ log: silentLogger(), registry, redis, producers, prefix: p.prefix, auth: undefined, apiKeys: parseApiKeys(`ops:${SECRET}`), erasure, record: new RecordReader(store.db) });
  });

  afterAll(async () => {
    await producers?.close();
    await p?.close();
    await store?.close();
    await db?.drop();
  });

  async function talk(wa: string, text: string): Promise<{ wamid: string }> {
    const before = p.graph.textsTo(wa).length;
    const { payload, wamid } = whatsappTextDelivery({ waId: wa, text });
    expect(await p.postWhatsApp(payload)).toBe(200);
    await waitFor(() => p.graph.textsTo(wa).length > before, 20_000, `a reply to ${wa}`);
    return { wamid };
  }

  /** What the record writer keeps of one exchange (the writer is another module; its rows are written here as it does). */
  async function recordExchange(r: ConversationRef, inbound: { wamid: string; text: string }): Promise<{ outboundId: string; sentWamid: string }> {
    const k = gatewayKeys(p.prefix);
    const id = conversationId(r);
    const outboundId = (await redis.get(k.lastReply(id)))!;
    const sent = p.graph.sent.filter((m) => String(m.to ?? '').replace(/^\+/, '') === r.userId).at(-1)!;
    const now = new Date();
    await store.db
      .insertInto('rec_conversation')
      .values({ id, channel: r.channel, provider_account: r.account, customer_id: r.userId, thread_id: null, customer_name: null, handoff_reason: null, first_message_at: now, last_message_at: now })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    const eventId = `wa-${PNID}-${inbound.wamid}`;
    await store.db
      .insertInto('rec_message')
      .values([
        { id: `in:${eventId}`, conversation_id: id, direction: 'in', author: 'customer', origin: null, content_type: 'text', text: inbound.text, terms: sql`to_tsvector('simple', ${inbound.text})`, media: null, provider_message_id: inbound.wamid, turn_id: null, at: now },
        { id: `out:${outboundId}:0`, conversation_id: id, direction: 'out', author: 'bot', origin: 'agent', content_type: 'text', text: 'reply', terms: sql`to_tsvector('simple', 'reply')`, media: null, provider_message_id: sent.wamid, turn_id: null, at: now },
      ])
      .execute();
    await store.db.insertInto('rec_status').values({ id: `status:whatsapp:${sent.wamid}:delivered`, channel: 'whatsapp', provider_message_id: sent.wamid, status: 'delivered', error_code: null, error_title: null, at: now }).execute();
    await store.db.insertInto('rec_turn').values({ id: `turn:${id}:1`, conversation_id: id, at: now, outcome: 'answered', model: 'gpt-4o-mini' }).execute();
    await store.db.insertInto('rec_event').values({ id: `ev:${id}:handoff`, conversation_id: id, kind: 'handoff', detail: JSON.stringify({ reason: 'asked' }) as unknown as Record<string, unknown>, at: now }).execute();
    return { outboundId, sentWamid: sent.wamid };
  }

  /** Keys of the families the pipeline did not write in this conversation (profile, rate limits, transcripts, ownership, allowance). */
  async function plantFamilies(r: ConversationRef, outboundId: string): Promise<string[]> {
    const k = gatewayKeys(p.prefix);
    const id = conversationId(r);
    const cust = customerId(r);
    const keys = [
      k.agent.profile(cust),
      k.agent.rateNotice(cust),
      `${k.agent.rateLimiterPrefix()}:${cust}`,
      k.agent.rateDecision(cust, 'turn-1'),
      k.agent.verification(cust),
      `${k.agent.rateLimiterPrefix()}:role-vip:${cust}`,
      k.agent.failures(id),
      k.agent.summary(id),
      k.owner(id),
      k.unreachable(id),
      k.media.transcript(id, `whatsapp||${PNID}|media-1`),
      k.pairRate(outboundId),
      k.sendSlot(outboundId, 0),
      k.reply(id, 7),
      ...Object.values(k.wechat.allowance(r.account, r.userId)),
    ];
    for (const key of keys) await redis.set(key, JSON.stringify({ of: r.userId }));
    await redis.zadd(k.owners(), Date.now(), id);
    return keys;
  }

  async function allKeys(): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${p.prefix}*`, 'COUNT', 1000);
      cursor = next;
      found.push(...batch);
    } while (cursor !== '0');
    return found;
  }

  it('DELETE /api/v1/customers/:channel/:customerId erases the customer everywhere, leaves others untouched, and the next message starts with an empty memory', async () => {
    const firstA = { text: 'Hello, my shoe size is 44 and my order is AC-7781', ...(await talk(A, 'Hello, my shoe size is 44 and my order is AC-7781')) };
    const firstB = { text: 'Hi, I need the invoice for order BX-1002', ...(await talk(B, 'Hi, I need the invoice for order BX-1002')) };
    const k = gatewayKeys(p.prefix);
    const [convA, convB] = [conversationId(ref(A)), conversationId(ref(B))];
    // the mirror created both Chatwoot conversations
    await waitFor(async () => (await redis.exists(k.chatwoot.mirrorByRef(convA), k.chatwoot.mirrorByRef(convB))) === 2, 20_000, 'both mirror mappings');
    await waitFor(async () => (await redis.exists(k.agent.memory(convA), k.agent.memory(convB))) === 2, 20_000, 'both memories');
    const recA = await recordExchange(ref(A), firstA);
    const recB = await recordExchange(ref(B), firstB);
    const plantedA = await plantFamilies(ref(A), recA.outboundId);
    const plantedB = await plantFamilies(ref(B), recB.outboundId);
    const mirrorA = JSON.parse((await redis.get(k.chatwoot.mirrorByRef(convA)))!) as { accountId: number; conversationId: number };
    const mirrorB = JSON.parse((await redis.get(k.chatwoot.mirrorByRef(convB)))!) as { accountId: number; conversationId: number };
    const mconvA = k.chatwoot.mirrorByConversation(mirrorA.accountId, mirrorA.conversationId);
    const mconvB = k.chatwoot.mirrorByConversation(mirrorB.accountId, mirrorB.conversationId);
    expect(await redis.exists(mconvA, mconvB)).toBe(2);
    const turnJobsOf = async (conv: string) => (await producers.queue('turn').getJobs(['completed', 'failed', 'waiting', 'delayed'])).filter((j) => j.id?.includes(conv)).length;
    expect(await turnJobsOf(convA)).toBeGreaterThan(0);

    // identifiers of A and B as they appear in keys (the dedupe claims `seen:` hold only `1` and stay)
    const marks = (conv: string, r: ConversationRef, rec: { outboundId: string; sentWamid: string }, wamid: string) => [conv, customerId(r), rec.outboundId, rec.sentWamid, wamid];
    const ofA = (key: string) => !key.includes(':seen:') && marks(convA, ref(A), recA, firstA.wamid).some((m) => key.includes(m));
    const keysBefore = await allKeys();
    const bKeys = [k.agent.memory(convB), k.chatwoot.mirrorByRef(convB), mconvB, ...plantedB];
    expect(keysBefore.filter(ofA).length).toBeGreaterThan(10);

    // both are known people: the erasure removes A's link in the directory, never B's, and keeps the person
    const people = new PeopleDirectory(store.db);
    await people.put('person-a', PersonInput.parse({ role: 'vip', identifiers: [{ kind: 'phone', value: `+${A}` }, { kind: 'username', value: 'a_user' }] }));
    await people.put('person-b', PersonInput.parse({ role: 'vip', identifiers: [{ kind: 'wa_id', value: B }] }));

    const unauthorized = await request(app).delete(`/api/v1/customers/whatsapp/${A}`);
    expect(unauthorized.status).toBe(401);
    expect((await request(app).delete(`/api/v1/customers/fax/${A}`).set('Authorization', `Bearer ${SECRET}`)).body).toMatchObject({ error: 'invalid_request' });

    const res = await request(app).delete(`/api/v1/customers/whatsapp/%2B${A}`).set('Authorization', `Bearer ${SECRET}`);
    expect(res.status).toBe(204);

    // Redis: nothing of A by any family, every key of B still there
    const keysAfter = await allKeys();
    expect(keysAfter.filter(ofA)).toEqual([]);
    for (const key of [...plantedA, mconvA, k.chatwoot.mirrorByRef(convA), k.agent.memory(convA), k.lastReply(convA)]) expect(keysAfter).not.toContain(key);
    for (const key of bKeys) expect(keysAfter).toContain(key);
    expect(await redis.zscore(k.owners(), convA)).toBeNull();
    expect(await redis.zscore(k.owners(), convB)).not.toBeNull();
    expect(await turnJobsOf(convA)).toBe(0);
    expect(await turnJobsOf(convB)).toBeGreaterThan(0);

    // the store: no row of A (conversation, messages, turns, events, statuses), B's all there
    const count = async (table: 'rec_conversation' | 'rec_message' | 'rec_turn' | 'rec_event', column: 'id' | 'conversation_id', conv: string) =>
      Number((await store.db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).where(column, '=', conv).executeTakeFirstOrThrow()).n);
    const statuses = async (wamid: string) => Number((await store.db.selectFrom('rec_status').select((eb) => eb.fn.countAll<string>().as('n')).where('provider_message_id', '=', wamid).executeTakeFirstOrThrow()).n);
    expect([await count('rec_conversation', 'id', convA), await count('rec_message', 'conversation_id', convA), await count('rec_turn', 'conversation_id', convA), await count('rec_event', 'conversation_id', convA), await statuses(recA.sentWamid)]).toEqual([0, 0, 0, 0, 0]);
    expect([await count('rec_conversation', 'id', convB), await count('rec_message', 'conversation_id', convB), await count('rec_turn', 'conversation_id', convB), await count('rec_event', 'conversation_id', convB), await statuses(recB.sentWamid)]).toEqual([1, 2, 1, 1, 1]);

    // the directory: A's number is no longer linked (the person and their other identifiers stay); B untouched
    expect((await people.get('person-a'))?.identifiers).toEqual([{ kind: 'username', value: 'a_user' }]);
    expect((await people.findByIdentifiers('default', [{ kind: 'wa_id', value: B }]))?.id).toBe('person-b');

    // the conversation API no longer knows A's conversation; B's is still there
    expect((await request(app).get(`/api/v1/conversations/${convA}`).set('Authorization', `Bearer ${SECRET}`)).status).toBe(404);
    expect((await request(app).get(`/api/v1/conversations/${convB}`).set('Authorization', `Bearer ${SECRET}`)).status).toBe(200);

    // logged with hashed ids only, and counted
    const logged = lines.filter((l) => l.includes('customer erased'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/"customer":"[0-9a-f]{16}"/);
    expect(lines.join('\n')).not.toContain(A);
    expect(await registry.metrics()).toMatch(/record_erasures_total\{channel="whatsapp",outcome="erased"[^}]*\} 1/);

    // erasing again is fine (nothing left)
    expect((await request(app).delete(`/api/v1/customers/whatsapp/${A}`).set('Authorization', `Bearer ${SECRET}`)).status).toBe(204);

    // A's next message reaches the model with no history; B's memory still holds their first turn
    p.openai.requests.length = 0;
    await talk(A, 'Do you ship to Lisbon?');
    const req = p.openai.requests.find((r) => userTexts(r).some((t) => t.includes('Do you ship to Lisbon?')))!;
    expect(req).toBeDefined();
    expect(userTexts(req).join('\n')).not.toMatch(/AC-7781|size is 44/);
    expect(req.messages.filter((m) => m.role === 'assistant')).toHaveLength(0);
    expect(await redis.llen(k.agent.memory(convB))).toBe(1);
  });

  it('answers 503 store_unavailable without a store', async () => {
    const noStore = createAdminApp({ log: silentLogger(), registry: createMetricsRegistry({ service: 'erasure-nostore' }), redis, producers, prefix: p.prefix, auth: undefined, apiKeys: parseApiKeys(`ops:${SECRET}`) });
    const res = await request(noStore).delete(`/api/v1/customers/whatsapp/${B}`).set('Authorization', `Bearer ${SECRET}`);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error: 'store_unavailable' });
  });
});
