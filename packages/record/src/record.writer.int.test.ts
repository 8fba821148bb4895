/**
 * The record writer on a real PostgreSQL: idempotent batches (a redelivered batch writes nothing
 * twice), exact message counts, out-of-order arrival (first/last message time and owner follow
 * `at`, not arrival), full-text terms, retention per kind.
 */
import { conversationId, createLogger, type ConversationRef, type RecordEntry } from '@switchboard/core';
import { openStore, sql, type Store } from '@switchboard/store';
import { createRedis, type RedisClient } from '@switchboard/queue';
import { createTestDatabase, dropPrefix, testRedisUrl, uniquePrefix, type TestDatabase } from '@switchboard/testkit';
import { CustomerErasure } from './erasure';
import { applyRetention } from './record.retention';
import { RecordWriter } from './record.writer';

const log = createLogger({ service: 'record-test', silent: true });
let db: TestDatabase;
let store: Store;
let writer: RecordWriter;

const T0 = Date.UTC(2026, 0, 10, 9, 0, 0);
const ref = (userId: string, displayName?: string): ConversationRef => ({ channel: 'whatsapp', account: '1065', userId, ...(displayName ? { displayName } : {}) });

function msg(id: string, r: ConversationRef, at: number, text: string, author: 'customer' | 'bot' | 'human' = 'customer'): RecordEntry {
  return { kind: 'message', id, ref: r, direction: author === 'customer' ? 'in' : 'out', author, contentType: 'text', text, at };
}
function event(id: string, r: ConversationRef, at: number, name: string, detail: Record<string, unknown> = {}): RecordEntry {
  return { kind: 'event', id, ref: r, event: name, detail, at };
}
function turn(id: string, r: ConversationRef, at: number): RecordEntry {
  return { kind: 'turn', id, ref: r, outcome: 'answered', model: 'gpt-4o-mini', latencyMs: 812, tokensIn: 1200, tokensOut: 80, costUsd: 0.000228, tools: ['lookup_order'], sources: [{ documentId: 'd1', title: 'Returns' }], at };
}

async function conversation(r: ConversationRef) {
  return store.db.selectFrom('rec_conversation').selectAll().where('id', '=', conversationId(r)).executeTakeFirstOrThrow();
}
async function count(table: 'rec_message' | 'rec_status' | 'rec_event' | 'rec_turn' | 'rec_conversation'): Promise<number> {
  const row = await store.db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

beforeAll(async () => {
  db = await createTestDatabase('sb_rec_writer');
  store = await openStore({ url: db.url, log, poolMax: 4 });
  writer = new RecordWriter(store.db);
});
afterAll(async () => {
  await store?.close();
  await db?.drop();
});

beforeEach(async () => {
  await sql`truncate rec_conversation, rec_message, rec_status, rec_event, rec_turn, rec_erasure cascade`.execute(store.db);
});

test('a batch writes every kind once; the same batch again writes nothing', async () => {
  const r = ref('491701', 'Anna');
  const batch: RecordEntry[] = [
    msg('in:e1', r, T0, 'Where is my order 4711?'),
    turn('turn:c:1', r, T0 + 900),
    { ...msg('out:o1:0', r, T0 + 1000, 'It ships today.', 'bot'), origin: 'agent', providerMessageId: 'wamid.A', turnId: 'turn:c:1' } as RecordEntry,
    { kind: 'status', id: 'status:whatsapp:s1', channel: 'whatsapp', providerMessageId: 'wamid.A', status: 'failed', errorCode: 131047, errorTitle: 'Re-engagement message', at: T0 + 2000 },
  ];
  expect(await writer.write(batch)).toEqual({ conversations: 1, messages: 2, statuses: 1, events: 0, turns: 1, erased: 0 });
  expect(await writer.write(batch)).toEqual({ conversations: 0, messages: 0, statuses: 0, events: 0, turns: 0, erased: 0 });
  // a batch that carries one job twice (redelivered while the first was still queued)
  expect(await writer.write([...batch, ...batch])).toEqual({ conversations: 0, messages: 0, statuses: 0, events: 0, turns: 0, erased: 0 });

  const c = await conversation(r);
  expect(c).toMatchObject({ channel: 'whatsapp', account_id: 'default', provider_account: '1065', customer_id: '491701', customer_name: 'Anna', owner: 'bot', had_human: false, message_count: 2 });
  expect(c.first_message_at.getTime()).toBe(T0);
  expect(c.last_message_at.getTime()).toBe(T0 + 1000);
  const out = await store.db.selectFrom('rec_message').selectAll().where('id', '=', 'out:o1:0').executeTakeFirstOrThrow();
  expect(out).toMatchObject({ direction: 'out', author: 'bot', origin: 'agent', provider_message_id: 'wamid.A', turn_id: 'turn:c:1', text: 'It ships today.' });
  const t = await store.db.selectFrom('rec_turn').selectAll().executeTakeFirstOrThrow();
  expect(t).toMatchObject({ outcome: 'answered', model: 'gpt-4o-mini', latency_ms: 812, tokens_in: 1200, tokens_out: 80, cost_usd: '0.000228', tools: ['lookup_order'], sources: [{ documentId: 'd1', title: 'Returns' }] });
  const s = await store.db.selectFrom('rec_status').selectAll().executeTakeFirstOrThrow();
  expect(s).toMatchObject({ status: 'failed', error_code: 131047, error_title: 'Re-engagement message', provider_message_id: 'wamid.A' });
  expect(await count('rec_message')).toBe(2);
});

test('message_count is exact when overlapping batches arrive out of order and concurrently', async () => {
  const r = ref('491702');
  const all = Array.from({ length: 60 }, (_, i) => msg(`in:m${i}`, r, T0 + i * 1000, `message number ${i}`));
  // later messages first, overlapping windows, written concurrently
  const batches = [all.slice(40, 60), all.slice(20, 45), all.slice(0, 25), all.slice(10, 50)];
  await Promise.all(batches.map((b) => writer.write(b)));
  await writer.write(all);
  const c = await conversation(r);
  expect(c.message_count).toBe(60);
  expect(await count('rec_message')).toBe(60);
  expect(c.first_message_at.getTime()).toBe(T0);
  expect(c.last_message_at.getTime()).toBe(T0 + 59_000);
});

test('a conversation first seen through a turn or an event takes its message times from its messages', async () => {
  const r = ref('491703');
  await writer.write([event('ev:h1', r, T0 + 50_000, 'handoff', { reason: 'customer asked' })]);
  await writer.write([msg('in:late', r, T0 + 10_000, 'hello')]);
  const c = await conversation(r);
  expect(c.message_count).toBe(1);
  expect(c.first_message_at.getTime()).toBe(T0 + 10_000);
  expect(c.last_message_at.getTime()).toBe(T0 + 10_000);
});

test('the owner is the latest ownership event by time, whatever order they arrive in', async () => {
  const r = ref('491704');
  await writer.write([msg('in:x', r, T0, 'I want a person')]);
  // the resume (later) arrives before the handoff (earlier)
  await writer.write([event('ev:resume', r, T0 + 60_000, 'resume')]);
  await writer.write([event('ev:handoff', r, T0 + 1000, 'handoff', { reason: 'customer_request' })]);
  let c = await conversation(r);
  expect(c).toMatchObject({ owner: 'bot', handoff_reason: 'customer_request', had_human: true });
  await writer.write([event('ev:handoff2', r, T0 + 120_000, 'handoff', { reason: 'knowledge_gap' })]);
  c = await conversation(r);
  expect(c).toMatchObject({ owner: 'human', handoff_reason: 'knowledge_gap', had_human: true });
  // a human's message marks the conversation too (containment counts it)
  const r2 = ref('491705');
  await writer.write([msg('in:y', r2, T0, 'hi'), msg('out:h:0', r2, T0 + 5, 'Hello, Maria here', 'human')]);
  expect((await conversation(r2)).had_human).toBe(true);
});

test('message text is searchable by English words and Chinese terms', async () => {
  const r = ref('491706');
  await writer.write([msg('in:en', r, T0, 'My parcel never arrived'), msg('in:zh', r, T0 + 1, '我的快递还没有到')]);
  const hits = async (q: string) =>
    (await sql<{ id: string }>`select id from rec_message where terms @@ plainto_tsquery('simple', ${q}) order by id`.execute(store.db)).rows.map((x) => x.id);
  expect(await hits('parcel')).toEqual(['in:en']);
  expect(await hits('快递')).toEqual(['in:zh']);
});

test('a batch the store refuses is written not at all (one transaction)', async () => {
  const r = ref('491707');
  const bad: RecordEntry = { ...msg('in:bad', r, T0, 'x'), author: 'robot' } as unknown as RecordEntry;
  await expect(writer.write([msg('in:good', r, T0, 'fine'), bad])).rejects.toThrow();
  expect(await count('rec_message')).toBe(0);
  expect(await count('rec_conversation')).toBe(0);
});

test('retention per kind: messages, turn details and media metadata each by their own age', async () => {
  const now = T0 + 400 * 86_400_000;
  const day = 86_400_000;
  const old = ref('491708');
  const young = ref('491709');
  const media = { kind: 'image', mimeType: 'image/jpeg', sizeBytes: 52_000 };
  await writer.write([
    msg('in:old1', old, now - 380 * day, 'very old'),
    { ...msg('in:oldimg', young, now - 200 * day, '[image]'), contentType: 'image', media } as RecordEntry,
    { ...msg('in:newimg', young, now - 10 * day, '[image]'), contentType: 'image', media } as RecordEntry,
    msg('in:new', young, now - 5 * day, 'recent'),
    turn('turn:old', young, now - 100 * day),
    turn('turn:new', young, now - 5 * day),
    { kind: 'status', id: 'status:old', channel: 'whatsapp', providerMessageId: 'w1', status: 'read', at: now - 370 * day },
  ]);
  const out = await applyRetention(store.db, { messagesDays: 365, turnsDays: 90, mediaDays: 30 }, now);
  expect(out).toEqual({ messages: 1, statuses: 1, events: 0, turns: 1, media: 1, conversations: 1, tombstones: 0 });
  expect((await store.db.selectFrom('rec_message').select(['id', 'media']).orderBy('id').execute()).map((m) => [m.id, m.media?.kind ?? null])).toEqual([
    ['in:new', null],
    ['in:newimg', 'image'],
    ['in:oldimg', null],
  ]);
  expect((await store.db.selectFrom('rec_turn').select('id').execute()).map((t) => t.id)).toEqual(['turn:new']);
  expect(await store.db.selectFrom('rec_conversation').select('id').where('id', '=', conversationId(old)).executeTakeFirst()).toBeUndefined();
  expect((await conversation(young)).message_count).toBe(3);
  // a second pass finds nothing more
  expect(await applyRetention(store.db, { messagesDays: 365, turnsDays: 90, mediaDays: 30 }, now)).toEqual({ messages: 0, statuses: 0, events: 0, turns: 0, media: 0, conversations: 0, tombstones: 0 });
});

test('a voice transcript is kept beside the normalized text and searched with it; a retried turn adds it to a message recorded without it, counted once', async () => {
  const r = ref('491709');
  const voice = (mediaText?: string): RecordEntry => ({
    kind: 'message',
    id: 'in:voice1',
    ref: r,
    direction: 'in',
    author: 'customer',
    contentType: 'audio',
    text: '[voice message]',
    media: { kind: 'voice', mimeType: 'audio/ogg', sizeBytes: 4000 },
    ...(mediaText ? { mediaText } : {}),
    at: T0,
  });
  // the first run of the turn failed before the media was read: recorded without the transcript
  expect((await writer.write([voice()])).messages).toBe(1);
  expect((await writer.write([voice('my parcel 4711 never arrived 包裹没到')])).messages).toBe(0);
  const row = await store.db.selectFrom('rec_message').select(['text', 'media_text']).where('id', '=', 'in:voice1').executeTakeFirstOrThrow();
  expect(row).toEqual({ text: '[voice message]', media_text: 'my parcel 4711 never arrived 包裹没到' });
  expect((await conversation(r)).message_count).toBe(1);
  for (const q of ['parcel', '包裹']) {
    const hits = await sql<{ id: string }>`select id from rec_message where terms @@ plainto_tsquery('simple', ${q})`.execute(store.db);
    expect(hits.rows.map((h) => h.id)).toEqual(['in:voice1']);
  }
  // a transcript once kept is never replaced
  await writer.write([voice('something else')]);
  expect((await store.db.selectFrom('rec_message').select('media_text').where('id', '=', 'in:voice1').executeTakeFirstOrThrow()).media_text).toBe('my parcel 4711 never arrived 包裹没到');
});

describe('erasure tombstones', () => {
  let redis: RedisClient;
  const prefix = uniquePrefix('rec-tomb');
  beforeAll(() => {
    redis = createRedis(testRedisUrl(), 'worker');
  });
  afterAll(async () => {
    await dropPrefix(redis as Parameters<typeof dropPrefix>[0], prefix);
    redis.disconnect();
  });

  test('a job of an erased customer written after the erasure brings nothing back; their next messages are kept', async () => {
    const erased = ref('+491702');
    const other = ref('491703');
    await writer.write([msg('in:t1', erased, T0, 'my address is Hauptstr. 1'), msg('in:o1', other, T0, 'hello')]);
    const erasure = new CustomerErasure({ redis, prefix, db: store.db, log });
    const before = Date.now();
    await erasure.erase({ channel: 'whatsapp', customerId: '+491702' });
    expect(await store.db.selectFrom('rec_conversation').select('id').where('id', '=', conversationId(erased)).execute()).toEqual([]);
    const erasedAt = (await store.db.selectFrom('rec_erasure').select(['customer_hash', 'erased_at']).executeTakeFirstOrThrow()).erased_at.getTime();
    expect(erasedAt).toBeGreaterThanOrEqual(before - 1000);

    // a turn that was in flight: the customer's message, its turn, and its reply sent after the erasure
    const late = await writer.write([
      msg('in:t2', erased, erasedAt - 500, 'and my phone is 0170 1234567'),
      { ...turn('turn:e:1', erased, erasedAt - 100) },
      { ...(msg('out:e1:0', erased, erasedAt + 2000, 'Thanks, noted.', 'bot') as Extract<RecordEntry, { kind: 'message' }>), repliesToAt: erasedAt - 500 },
      event('owner:e1', erased, erasedAt - 50, 'handoff', { reason: 'asked for a person' }),
      msg('in:o2', other, erasedAt - 500, 'another customer, same batch'),
    ]);
    expect(late).toEqual({ conversations: 0, messages: 1, statuses: 0, events: 0, turns: 0, erased: 4 });
    expect(await store.db.selectFrom('rec_conversation').select('id').where('id', '=', conversationId(erased)).execute()).toEqual([]);
    expect((await conversation(other)).message_count).toBe(2);

    // the customer writes again after the erasure: a new conversation, kept
    expect((await writer.write([msg('in:t3', erased, erasedAt + 5000, 'hi again')])).messages).toBe(1);
    expect((await conversation(erased)).message_count).toBe(1);
    // tombstones age out with retention
    const out = await applyRetention(store.db, { messagesDays: 0, turnsDays: 0, mediaDays: 0 }, erasedAt + 31 * 86_400_000);
    expect(out.tombstones).toBe(1);
    expect(await count('rec_message')).toBe(3);
  });

  test('an erasure waits for a batch in flight and deletes what it wrote; a batch behind the erasure reads the tombstone', async () => {
    const r = ref('491704');
    await writer.write([msg('in:w1', r, T0, 'first')]);
    // a writer transaction holding its lock (as a batch in the middle of its inserts)
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const inFlight = store.db.transaction().execute(async (trx) => {
      await sql`lock table rec_conversation in row exclusive mode`.execute(trx);
      await trx.insertInto('rec_conversation').values({ id: 'conv-in-flight', channel: 'whatsapp', provider_account: '1065', customer_id: '491704', first_message_at: new Date(T0), last_message_at: new Date(T0) }).execute();
      locked();
      await held;
    });
    await isLocked;
    const erasure = new CustomerErasure({ redis, prefix, db: store.db, log });
    let erasedDone = false;
    const erasing = erasure.erase({ channel: 'whatsapp', customerId: '491704' }).then(() => (erasedDone = true));
    await new Promise((r2) => setTimeout(r2, 300));
    expect(erasedDone).toBe(false);
    release();
    await inFlight;
    await erasing;
    // the in-flight batch's conversation went with the erasure, though the erasure first looked before it committed
    expect(await store.db.selectFrom('rec_conversation').select('id').where('customer_id', '=', '491704').execute()).toEqual([]);
  });
});
