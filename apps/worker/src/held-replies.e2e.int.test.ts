/**
 * Held replies end to end (real Redis, fake Graph and OpenAI on loopback, the worker's roles):
 * a reply known to be outside the customer's window is held and the re-engagement template goes
 * out once; the customer writes → the held replies are delivered once, in order, before the bot's
 * answer; a 131047 (failed status webhook or send error) holds the reply; redeliveries and a worker
 * restart change nothing; an unanswered hold expires and is recorded.
 */
import { conversationId, type ConversationRef, type OutboundJob } from '@switchboard/core';
import { enqueueReply, turnOutboundId } from '@switchboard/queue';
import { openStore, type Store } from '@switchboard/store';
import { createLogger } from '@switchboard/core';
import { createTestDatabase, graphError, waitFor, whatsappTextDelivery, type SentMessage, type TestDatabase } from '@switchboard/testkit';
import { startPipeline, type Pipeline } from './testing/harness';

jest.setTimeout(90_000);

const PHONE = '109876543210987';
const DAY_AGO_SEC = () => Math.floor(Date.now() / 1000) - 25 * 3600;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const refOf = (waId: string, name = 'Test User'): ConversationRef => ({ channel: 'whatsapp', account: PHONE, userId: waId, address: `+${waId}`, displayName: name });

function failedStatus(wamid: string, waId: string): unknown {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '100200300400500',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550001111', phone_number_id: PHONE },
              statuses: [{ id: wamid, status: 'failed', timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: waId, errors: [{ code: 131047, title: 'Re-engagement message', message: 'Re-engagement message' }] }],
            },
          },
        ],
      },
    ],
  };
}

/** Text messages to a customer (templates left out). */
const textsTo = (p: Pipeline, waId: string): string[] => p.graph.textsTo(waId).filter((t) => t !== '[template]');

const templatesTo = (p: Pipeline, waId: string): SentMessage[] => p.graph.sent.filter((m) => m.type === 'template' && String(m.to ?? m.recipient).replace(/^\+/, '') === waId);

async function heldCount(p: Pipeline, outcome: string): Promise<number> {
  const metric = await p.deps.registry.getSingleMetric('sb_held_replies_total')?.get();
  return (metric?.values ?? []).filter((v) => v.labels.outcome === outcome).reduce((n, v) => n + v.value, 0);
}

describe('held replies (closed customer-service window)', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ env: { WHATSAPP_REENGAGE_TEMPLATE: 'reengage:en_US', WHATSAPP_REENGAGE_PARAMS: '1=customer_name|there,2=reason' } });
  });
  afterAll(async () => {
    await p.close();
  });

  it('a reply known outside the window is held, the template goes out once; the customer writes → held replies once, in order, then the answer', async () => {
    const waId = '15557100001';
    const ref = refOf(waId, 'Ana');
    const convId = conversationId(ref);
    const old = whatsappTextDelivery({ waId, name: 'Ana', text: 'old question from yesterday', timestamp: DAY_AGO_SEC() });
    expect(await p.postWhatsApp(old.payload)).toBe(200);
    await waitFor(() => templatesTo(p, waId).length === 1, 15_000, 're-engagement template');
    await waitFor(async () => (await p.deps.held.list(convId)).length === 1, 10_000, 'one held reply');
    expect(textsTo(p, waId)).toEqual([]);
    expect(templatesTo(p, waId)[0]!.body.template).toEqual({
      name: 'reengage',
      language: { code: 'en_US' },
      components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ana' }, { type: 'text', text: 'an answer to your question' }] }],
    });

    // an API message while the window is closed joins the same hold episode: held, no second template
    const api: Omit<OutboundJob, 'ref' | 'after'> = { outboundId: 'api-heldE2E1', reply: { text: 'your order 77 has shipped' }, origin: 'api' };
    await enqueueReply(p.deps, ref, api);
    await waitFor(async () => (await p.deps.held.list(convId)).length === 2, 10_000, 'two held replies');
    expect(await p.deps.ledger.replyStatus('whatsapp', 'api-heldE2E1')).toEqual({ status: 'queued', held: true });

    // the old webhook redelivered and the workers restarted: nothing more goes out
    expect(await p.postWhatsApp(old.payload)).toBe(200);
    await p.restartWorkers();
    await sleep(1200);
    expect(templatesTo(p, waId)).toHaveLength(1);
    expect(textsTo(p, waId)).toEqual([]);

    const fresh = whatsappTextDelivery({ waId, name: 'Ana', text: 'hello again, any news?' });
    expect(await p.postWhatsApp(fresh.payload)).toBe(200);
    await waitFor(() => textsTo(p, waId).length === 3, 15_000, 'held replies and the answer');
    // the same message delivered again: no more replies
    expect(await p.postWhatsApp(fresh.payload)).toBe(200);
    await sleep(1500);
    const texts = textsTo(p, waId);
    expect(texts).toHaveLength(3);
    expect(texts[0]).toContain('old question from yesterday');
    expect(texts[1]).toBe('your order 77 has shipped');
    expect(texts[2]).toContain('hello again, any news?');
    expect(templatesTo(p, waId)).toHaveLength(1);
    expect(await p.deps.held.list(convId)).toEqual([]);
    await waitFor(async () => (await p.deps.ledger.replyStatus('whatsapp', 'api-heldE2E1'))?.status === 'sent', 5000, 'api message sent');
    expect(await p.deps.ledger.replyStatus('whatsapp', 'api-heldE2E1')).toEqual({ status: 'sent' });
    expect(await heldCount(p, 'held')).toBeGreaterThanOrEqual(2);
    expect(await heldCount(p, 'delivered')).toBeGreaterThanOrEqual(2);
  });

  it('a 131047 failed status holds the sent reply (template once, also when redelivered); the next message delivers it once', async () => {
    const waId = '15557100002';
    const convId = conversationId(refOf(waId));
    const first = whatsappTextDelivery({ waId, text: 'question answered too late' });
    expect(await p.postWhatsApp(first.payload)).toBe(200);
    await waitFor(() => textsTo(p, waId).length === 1, 15_000, 'the reply (accepted by Graph)');
    const sent = p.graph.sent.find((m) => m.type === 'text' && String(m.to).replace(/^\+/, '') === waId)!;
    // Meta reports the 131047 asynchronously; the webhook is delivered three times
    for (let i = 0; i < 3; i++) expect(await p.postWhatsApp(failedStatus(sent.wamid, waId))).toBe(200);
    await waitFor(() => templatesTo(p, waId).length === 1, 15_000, 're-engagement template');
    await waitFor(async () => (await p.deps.held.list(convId)).length === 1, 10_000, 'held reply');
    await sleep(1200);
    expect(templatesTo(p, waId)).toHaveLength(1);

    const next = whatsappTextDelivery({ waId, text: 'still there?' });
    expect(await p.postWhatsApp(next.payload)).toBe(200);
    await waitFor(() => textsTo(p, waId).length === 3, 15_000, 'the held reply again, then the answer');
    await sleep(1000);
    const texts = textsTo(p, waId);
    expect(texts).toHaveLength(3);
    expect(texts[1]).toBe(texts[0]);
    expect(texts[2]).toContain('still there?');
    expect(templatesTo(p, waId)).toHaveLength(1);
  });

  it('a 131047 send error holds the reply instead of failing it (the template once)', async () => {
    const waId = '15557100003';
    const convId = conversationId(refOf(waId));
    p.graph.failNext(1, { ...graphError(131047, '(#131047) Re-engagement message'), recipient: waId });
    const msg = whatsappTextDelivery({ waId, text: 'refused synchronously' });
    expect(await p.postWhatsApp(msg.payload)).toBe(200);
    await waitFor(() => templatesTo(p, waId).length === 1, 15_000, 're-engagement template');
    await waitFor(async () => (await p.deps.held.list(convId)).length === 1, 10_000, 'held reply');
    expect(textsTo(p, waId)).toEqual([]);
    await sleep(800);
    expect(templatesTo(p, waId)).toHaveLength(1);
  });
});

describe('held replies expire', () => {
  let db: TestDatabase;
  let store: Store;
  let p: Pipeline;
  beforeAll(async () => {
    db = await createTestDatabase('sb_held_e2e');
    store = await openStore({ url: db.url, log: createLogger({ service: 'held-e2e', silent: true }), poolMax: 4 });
    // 0.0005 h = 1.8 s
    p = await startPipeline({ store, env: { WHATSAPP_FALLBACK_TEMPLATE: 'hello_again:en_US', WHATSAPP_HELD_REPLY_TTL_HOURS: '0.0005', RECORD_BATCH_WAIT_MS: '20' } });
  });
  afterAll(async () => {
    await p?.close();
    await store?.close();
    await db?.drop();
  });

  it('an unanswered held reply is dropped after the ttl, recorded as held_reply_expired, and not delivered later', async () => {
    const waId = '15557100004';
    const ref = refOf(waId);
    const convId = conversationId(ref);
    const old = whatsappTextDelivery({ waId, text: 'nobody answers this', timestamp: DAY_AGO_SEC() });
    expect(await p.postWhatsApp(old.payload)).toBe(200);
    await waitFor(() => templatesTo(p, waId).length === 1, 15_000, 'the older-name template');
    expect(templatesTo(p, waId)[0]!.body.template).toEqual({ name: 'hello_again', language: { code: 'en_US' } });
    const outboundId = turnOutboundId(convId, 1);
    await waitFor(async () => (await p.deps.ledger.replyStatus('whatsapp', outboundId))?.status === 'failed', 15_000, 'expired');
    expect((await p.deps.ledger.replyStatus('whatsapp', outboundId))?.error).toMatch(/held reply expired/);
    expect(await p.deps.held.list(convId)).toEqual([]);
    const events = async () => store.db.selectFrom('rec_event').select(['kind', 'detail']).where('conversation_id', '=', convId).execute();
    await waitFor(async () => (await events()).some((e) => e.kind === 'held_reply_expired'), 15_000, 'recorded');
    const expired = (await events()).filter((e) => e.kind === 'held_reply_expired');
    expect(expired).toHaveLength(1);
    expect(expired[0]!.detail).toMatchObject({ outboundId, origin: 'agent', cause: 'window_closed', reason: expect.stringContaining('within 1.8 s') as unknown });
    expect((await events()).filter((e) => e.kind === 'reply_held')).toHaveLength(1);
    const metric = await p.deps.registry.getSingleMetric('sb_held_replies_total')?.get();
    expect(metric?.values.find((v) => v.labels.outcome === 'expired')?.value).toBe(1);

    // the customer writes afterwards: only the answer to that message
    const fresh = whatsappTextDelivery({ waId, text: 'back now' });
    expect(await p.postWhatsApp(fresh.payload)).toBe(200);
    await waitFor(() => textsTo(p, waId).length === 1, 15_000, 'answer');
    await sleep(800);
    expect(textsTo(p, waId)).toHaveLength(1);
    expect(textsTo(p, waId)[0]).toContain('back now');
  });
});
