/**
 * Record analytics on a real PostgreSQL, over a hand-made record whose every figure is computed by
 * hand below: traffic per channel and day, containment and handoffs (a `had_human` flag without
 * events, a handoff with and without a reason, one after the range), first-response percentiles
 * (a conversation that began before the range, one answered after it, one never answered), LLM
 * usage per day and model, turn outcomes and failed deliveries (a failure superseded by a later
 * delivery, one before the range, one without a code). Range ends are half-open `[from, to)`.
 */
import { createLogger } from '@switchboard/core';
import { openStore, sql, tsvectorLiteral, type Store } from '@switchboard/store';
import { createTestDatabase, type TestDatabase } from '@switchboard/testkit';
import { RecordAnalytics, utcDays } from './record.analytics';

const log = createLogger({ service: 'rec-analytics-test', silent: true });
let db: TestDatabase;
let store: Store;
let analytics: RecordAnalytics;

const at = (iso: string) => new Date(iso);
let seq = 0;

async function conversation(id: string, channel: string, opts: { account?: string; hadHuman?: boolean } = {}) {
  await store.db
    .insertInto('rec_conversation')
    .values({ id, channel, account_id: opts.account ?? 'default', provider_account: 'p1', customer_id: `cust-${id}`, thread_id: null, customer_name: null, handoff_reason: null, had_human: opts.hadHuman ?? false, first_message_at: at('2026-11-01T00:00:00Z'), last_message_at: at('2026-11-04T00:00:00Z') })
    .execute();
}

async function message(conversationId: string, direction: 'in' | 'out', author: 'customer' | 'bot' | 'human', when: string, providerMessageId?: string) {
  const text = `${author} message ${++seq}`;
  await store.db
    .insertInto('rec_message')
    .values({ id: `m${seq}`, conversation_id: conversationId, direction, author, origin: null, content_type: 'text', text, terms: sql`${tsvectorLiteral(text)}::tsvector`, media: null, provider_message_id: providerMessageId ?? null, turn_id: null, at: at(when) })
    .execute();
}

async function event(conversationId: string, kind: string, when: string, detail: Record<string, unknown> = {}) {
  await store.db.insertInto('rec_event').values({ id: `e${++seq}`, conversation_id: conversationId, kind, detail: JSON.stringify(detail) as unknown as Record<string, unknown>, at: at(when) }).execute();
}

async function turn(conversationId: string, when: string, outcome: 'answered' | 'faq' | 'silent' | 'handoff', model: string | null, tokensIn = 0, tokensOut = 0, costUsd = '0') {
  await store.db.insertInto('rec_turn').values({ id: `t${++seq}`, conversation_id: conversationId, at: at(when), outcome, model, variant: null, latency_ms: 100, tokens_in: tokensIn, tokens_out: tokensOut, cost_usd: costUsd }).execute();
}

async function status(channel: string, providerMessageId: string, value: string, when: string, errorCode?: number | null, errorTitle?: string) {
  await store.db.insertInto('rec_status').values({ id: `s${++seq}`, channel, provider_message_id: providerMessageId, status: value, error_code: errorCode ?? null, error_title: errorTitle ?? null, at: at(when) }).execute();
}

const FROM = at('2026-11-02T00:00:00Z');
const TO = at('2026-11-04T00:00:00Z');

beforeAll(async () => {
  db = await createTestDatabase('rec_analytics');
  store = await openStore({ url: db.url, log, poolMax: 3 });
  analytics = new RecordAnalytics(store.db);

  // C1 whatsapp: two questions answered by the bot (a reply in two parts), never a human
  await conversation('c1', 'whatsapp');
  await message('c1', 'in', 'customer', '2026-11-02T10:00:00Z');
  await message('c1', 'out', 'bot', '2026-11-02T10:00:02Z', 'wamid.1');
  await message('c1', 'out', 'bot', '2026-11-02T10:00:02.500Z', 'wamid.1b');
  await message('c1', 'in', 'customer', '2026-11-02T11:00:00Z');
  await message('c1', 'out', 'bot', '2026-11-02T11:00:01Z', 'wamid.2');
  await turn('c1', '2026-11-02T10:00:02Z', 'answered', 'gpt-4o-mini', 100, 20, '0.000150');
  await turn('c1', '2026-11-02T11:00:01Z', 'answered', 'gpt-4o-mini', 120, 30, '0.000200');

  // C2 telegram: the bot answers, the customer asks for a human, a human answers; again the next day
  await conversation('c2', 'telegram', { hadHuman: true });
  await message('c2', 'in', 'customer', '2026-11-02T12:00:00Z');
  await message('c2', 'out', 'bot', '2026-11-02T12:00:04Z', 'tg:1');
  await turn('c2', '2026-11-02T12:00:04Z', 'handoff', 'gpt-4o', 200, 10, '0.001000');
  await event('c2', 'handoff', '2026-11-02T12:01:00Z', { reason: 'customer_request' });
  await message('c2', 'out', 'human', '2026-11-02T12:05:00Z', 'tg:2');
  await event('c2', 'resume', '2026-11-02T18:00:00Z');
  await message('c2', 'in', 'customer', '2026-11-03T09:00:00Z');
  await event('c2', 'handoff', '2026-11-03T09:05:00Z');
  await message('c2', 'out', 'human', '2026-11-03T09:10:00Z', 'tg:3');

  // C3 whatsapp (account shop-de): began before the range; its first customer message inside is at 00:00:30
  await conversation('c3', 'whatsapp', { account: 'shop-de' });
  await message('c3', 'in', 'customer', '2026-11-01T23:59:00Z');
  await message('c3', 'out', 'bot', '2026-11-01T23:59:01Z');
  await turn('c3', '2026-11-01T23:59:01Z', 'answered', 'gpt-4o-mini', 50, 5, '0.500000');
  await message('c3', 'in', 'customer', '2026-11-02T00:00:30Z');
  await message('c3', 'out', 'bot', '2026-11-02T00:00:40Z');
  await turn('c3', '2026-11-02T00:00:40Z', 'faq', null);

  // C4 wechat-kf: never answered
  await conversation('c4', 'wechat-kf');
  await message('c4', 'in', 'customer', '2026-11-03T15:00:00Z');
  await turn('c4', '2026-11-03T15:00:01Z', 'silent', null);

  // C5 whatsapp: answered by the bot, but a human owned it once (the flag, no event or message)
  await conversation('c5', 'whatsapp', { hadHuman: true });
  await message('c5', 'in', 'customer', '2026-11-03T20:00:00Z');
  await message('c5', 'out', 'bot', '2026-11-03T20:00:01Z');
  await turn('c5', '2026-11-03T20:00:01Z', 'answered', 'gpt-4o', 300, 40, '0.002500');

  // C6 whatsapp: only a message sent by the API (no customer message: not engaged); its delivery failed
  await conversation('c6', 'whatsapp');
  await message('c6', 'out', 'bot', '2026-11-03T08:00:00Z', 'wamid.6');

  // C7 whatsapp: starts exactly at `to` (outside the half-open range)
  await conversation('c7', 'whatsapp');
  await message('c7', 'in', 'customer', '2026-11-04T00:00:00Z');
  await event('c7', 'handoff', '2026-11-04T00:00:00Z', { reason: 'customer_request' });

  // C8 telegram: asked in the range, answered only after it (36 h later)
  await conversation('c8', 'telegram');
  await message('c8', 'in', 'customer', '2026-11-02T13:00:00Z');
  await message('c8', 'out', 'bot', '2026-11-04T01:00:00Z');

  // statuses
  await status('whatsapp', 'wamid.1', 'sent', '2026-11-02T10:00:03Z');
  await status('whatsapp', 'wamid.1', 'delivered', '2026-11-02T10:00:04Z');
  await status('whatsapp', 'wamid.6', 'sent', '2026-11-03T08:00:01Z');
  await status('whatsapp', 'wamid.6', 'failed', '2026-11-03T08:00:05Z', 131026, 'Message undeliverable');
  // failed, then delivered after all: its latest status is not a failure
  await status('whatsapp', 'wamid.9', 'failed', '2026-11-02T10:30:00Z', 131047, 'Re-engagement message');
  await status('whatsapp', 'wamid.9', 'delivered', '2026-11-02T10:31:00Z');
  await status('telegram', 'tg:55', 'failed', '2026-11-03T11:00:00Z', 403, 'Forbidden: bot was blocked by the user');
  // before the range
  await status('whatsapp', 'wamid.10', 'failed', '2026-11-01T23:00:00Z', 131026, 'Message undeliverable');
  // no code from the provider
  await status('whatsapp', 'wamid.11', 'failed', '2026-11-02T05:00:00Z');
});

afterAll(async () => {
  await store.close();
  await db.drop();
});

test('utcDays lists every UTC day a range touches', () => {
  expect(utcDays(FROM, TO)).toEqual(['2026-11-02', '2026-11-03']);
  expect(utcDays(at('2026-11-02T23:00:00Z'), at('2026-11-03T00:00:01Z'))).toEqual(['2026-11-02', '2026-11-03']);
  expect(utcDays(at('2026-11-02T05:00:00Z'), at('2026-11-02T06:00:00Z'))).toEqual(['2026-11-02']);
});

test('traffic per channel and per day: messages in the range, conversations with a message in it', async () => {
  const r = await analytics.report({ from: FROM, to: TO });
  expect(r.totals).toEqual({ conversations: 7, messagesIn: 8, messagesOut: 9 });
  expect(r.byChannel).toEqual({
    whatsapp: { conversations: 4, messagesIn: 4, messagesOut: 6, resolution: { engaged: 3, contained: 2, handedOff: 0, containmentRate: 2 / 3, handoffRate: 0 } },
    telegram: { conversations: 2, messagesIn: 3, messagesOut: 3, resolution: { engaged: 2, contained: 1, handedOff: 1, containmentRate: 0.5, handoffRate: 0.5 } },
    'wechat-kf': { conversations: 1, messagesIn: 1, messagesOut: 0, resolution: { engaged: 1, contained: 1, handedOff: 0, containmentRate: 1, handoffRate: 0 } },
  });
  expect(r.days.map((d) => d.day)).toEqual(['2026-11-02', '2026-11-03']);
  const [d2, d3] = r.days;
  // c2 has messages on both days: it counts on each day, once in the range
  expect(d2).toMatchObject({ conversations: 4, messagesIn: 5, messagesOut: 6, byChannel: { whatsapp: { conversations: 2, messagesIn: 3, messagesOut: 4 }, telegram: { conversations: 2, messagesIn: 2, messagesOut: 2 } } });
  expect(d3).toMatchObject({ conversations: 4, messagesIn: 3, messagesOut: 3, byChannel: { whatsapp: { conversations: 2, messagesIn: 1, messagesOut: 2 }, telegram: { conversations: 1, messagesIn: 1, messagesOut: 1 }, 'wechat-kf': { conversations: 1, messagesIn: 1, messagesOut: 0 } } });
  expect(Object.keys(d2!.byChannel).sort()).toEqual(['telegram', 'whatsapp']);
});

test('containment, handoff rate and reasons', async () => {
  const r = await analytics.report({ from: FROM, to: TO });
  // engaged: c1 c2 c3 c4 c5 c8; contained: c1 c3 c4 c8 (c2 had a handoff and a human, c5 the flag); handed off: c2
  expect(r.resolution).toEqual({ engaged: 6, contained: 4, handedOff: 1, containmentRate: 4 / 6, handoffRate: 1 / 6 });
  // c7's handoff is at `to`: outside
  expect(r.handoffReasons).toEqual([
    { reason: 'customer_request', events: 1, conversations: 1 },
    { reason: 'unspecified', events: 1, conversations: 1 },
  ]);
  expect(r.days[0]!.resolution).toEqual({ engaged: 4, contained: 3, handedOff: 1, containmentRate: 0.75, handoffRate: 0.25 });
  expect(r.days[1]!.resolution).toEqual({ engaged: 3, contained: 1, handedOff: 1, containmentRate: 1 / 3, handoffRate: 1 / 3 });
});

test('first response: from the first customer message in the range to the next outgoing message', async () => {
  const r = await analytics.report({ from: FROM, to: TO });
  // samples (ms): c5 1000, c1 2000, c2 4000, c3 10000 (its in-range message), c8 129600000 (answered after `to`); c4 unanswered
  expect(r.firstResponse.answered).toBe(5);
  expect(r.firstResponse.unanswered).toBe(1);
  expect(r.firstResponse.p50).toBe(4000);
  // position 0.95 × 4 = 3.8: 10000 + 0.8 × (129600000 − 10000)
  expect(r.firstResponse.p95).toBeCloseTo(103_682_000, 3);
  // per day of the customer message: 2026-11-02 has c1 2000, c2 4000, c3 10000, c8 129600000 (p50 at
  // position 1.5: 4000 + 0.5 × 6000; p95 at 2.85), 2026-11-03 has c5 1000 (and c4 unanswered)
  expect(r.days[0]!.firstResponse).toMatchObject({ answered: 4, unanswered: 0, p50: 7000 });
  expect(r.days[0]!.firstResponse.p95).toBeCloseTo(10000 + 0.85 * 129_590_000, 3);
  expect(r.days[1]!.firstResponse).toEqual({ answered: 1, unanswered: 1, p50: 1000, p95: 1000 });
});

test('LLM tokens and cost per day and per model, turn outcomes', async () => {
  const r = await analytics.report({ from: FROM, to: TO });
  // c3's turn at 23:59:01 the day before (0.5 USD) is outside
  expect(r.llm).toEqual({
    turns: 6,
    tokensIn: 720,
    tokensOut: 100,
    costUsd: 0.00385,
    byModel: [
      { model: 'gpt-4o', turns: 2, tokensIn: 500, tokensOut: 50, costUsd: 0.0035 },
      { model: 'gpt-4o-mini', turns: 2, tokensIn: 220, tokensOut: 50, costUsd: 0.00035 },
      { model: null, turns: 2, tokensIn: 0, tokensOut: 0, costUsd: 0 },
    ],
  });
  expect(r.days[0]!.llm).toEqual({
    turns: 4,
    tokensIn: 420,
    tokensOut: 60,
    costUsd: 0.00135,
    byModel: [
      { model: 'gpt-4o-mini', turns: 2, tokensIn: 220, tokensOut: 50, costUsd: 0.00035 },
      { model: 'gpt-4o', turns: 1, tokensIn: 200, tokensOut: 10, costUsd: 0.001 },
      { model: null, turns: 1, tokensIn: 0, tokensOut: 0, costUsd: 0 },
    ],
  });
  expect(r.days[1]!.llm).toMatchObject({ turns: 2, tokensIn: 300, tokensOut: 40, costUsd: 0.0025 });
  expect(r.turns).toEqual({ total: 6, byOutcome: { answered: 3, faq: 1, handoff: 1, silent: 1 } });
});

test('failed deliveries: messages whose latest status is a failure in the range, by error code', async () => {
  const r = await analytics.report({ from: FROM, to: TO });
  expect(r.failedDeliveries).toEqual({
    total: 3,
    byCode: [
      { code: 403, title: 'Forbidden: bot was blocked by the user', count: 1, byChannel: { telegram: 1 } },
      { code: 131026, title: 'Message undeliverable', count: 1, byChannel: { whatsapp: 1 } },
      { code: null, title: null, count: 1, byChannel: { whatsapp: 1 } },
    ],
  });
});

test('a channel or account filter narrows every figure', async () => {
  const wa = await analytics.report({ from: FROM, to: TO, channel: 'whatsapp' });
  expect(wa.channel).toBe('whatsapp');
  expect(wa.totals).toEqual({ conversations: 4, messagesIn: 4, messagesOut: 6 });
  expect(Object.keys(wa.byChannel)).toEqual(['whatsapp']);
  expect(wa.resolution).toEqual({ engaged: 3, contained: 2, handedOff: 0, containmentRate: 2 / 3, handoffRate: 0 });
  expect(wa.handoffReasons).toEqual([]);
  // c1 2000, c3 10000, c5 1000
  expect(wa.firstResponse).toEqual({ answered: 3, unanswered: 0, p50: 2000, p95: 2000 + 0.9 * 8000 });
  expect(wa.llm).toMatchObject({ turns: 4, tokensIn: 520, tokensOut: 90, costUsd: 0.00285 });
  expect(wa.failedDeliveries.byCode.map((f) => f.code)).toEqual([131026, null]);

  const shop = await analytics.report({ from: FROM, to: TO, account: 'shop-de' });
  expect(shop.totals).toEqual({ conversations: 1, messagesIn: 1, messagesOut: 1 });
  expect(shop.firstResponse).toEqual({ answered: 1, unanswered: 0, p50: 10000, p95: 10000 });
  expect(shop.turns).toEqual({ total: 1, byOutcome: { faq: 1 } });
  // statuses are filtered by their own account: these were all recorded for `default`
  expect(shop.failedDeliveries).toEqual({ total: 0, byCode: [] });
});

test('range ends: `from` is inclusive, `to` exclusive, to the millisecond', async () => {
  const r = await analytics.report({ from: at('2026-11-02T00:00:30Z'), to: at('2026-11-02T10:00:00Z') });
  // c3's message at exactly `from` counts; c1's at exactly `to` does not
  expect(r.totals).toEqual({ conversations: 1, messagesIn: 1, messagesOut: 1 });
  expect(r.days.map((d) => d.day)).toEqual(['2026-11-02']);
  expect(r.firstResponse).toEqual({ answered: 1, unanswered: 0, p50: 10000, p95: 10000 });
  // wamid.11 failed at 05:00 without a code
  expect(r.failedDeliveries.byCode).toEqual([{ code: null, title: null, count: 1, byChannel: { whatsapp: 1 } }]);
});

test('an empty range has zeros, no rates and no percentiles; a reversed range is refused', async () => {
  const r = await analytics.report({ from: at('2026-10-01T00:00:00Z'), to: at('2026-10-03T00:00:00Z') });
  expect(r.totals).toEqual({ conversations: 0, messagesIn: 0, messagesOut: 0 });
  expect(r.byChannel).toEqual({});
  expect(r.resolution).toEqual({ engaged: 0, contained: 0, handedOff: 0, containmentRate: null, handoffRate: null });
  expect(r.firstResponse).toEqual({ answered: 0, unanswered: 0, p50: null, p95: null });
  expect(r.llm).toEqual({ turns: 0, tokensIn: 0, tokensOut: 0, costUsd: 0, byModel: [] });
  expect(r.turns).toEqual({ total: 0, byOutcome: {} });
  expect(r.failedDeliveries).toEqual({ total: 0, byCode: [] });
  expect(r.handoffReasons).toEqual([]);
  expect(r.days).toEqual([
    { day: '2026-10-01', conversations: 0, messagesIn: 0, messagesOut: 0, byChannel: {}, resolution: { engaged: 0, contained: 0, handedOff: 0, containmentRate: null, handoffRate: null }, firstResponse: { answered: 0, unanswered: 0, p50: null, p95: null }, llm: { turns: 0, tokensIn: 0, tokensOut: 0, costUsd: 0, byModel: [] } },
    { day: '2026-10-02', conversations: 0, messagesIn: 0, messagesOut: 0, byChannel: {}, resolution: { engaged: 0, contained: 0, handedOff: 0, containmentRate: null, handoffRate: null }, firstResponse: { answered: 0, unanswered: 0, p50: null, p95: null }, llm: { turns: 0, tokensIn: 0, tokensOut: 0, costUsd: 0, byModel: [] } },
  ]);
  await expect(analytics.report({ from: TO, to: FROM })).rejects.toThrow(RangeError);
  await expect(analytics.report({ from: TO, to: TO })).rejects.toThrow(RangeError);
});
