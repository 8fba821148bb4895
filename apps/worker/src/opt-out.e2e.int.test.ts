import { CustomerErasure } from '@switchboard/record';
import { OptOutStore } from '@switchboard/queue';
import { silentLogger } from '@switchboard/core';
import { waitFor, whatsappTextDelivery } from '@switchboard/testkit';
import { startPipeline, type Pipeline } from './testing/harness';

jest.setTimeout(60_000);

const PHONE_NUMBER_ID = '109876543210987';

/** A `user_preferences` change as Meta documents it (webhooks/reference/user_preferences). */
function userPreferences(waId: string, value: 'stop' | 'resume', timestamp: number) {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: 'WABA1',
        changes: [
          {
            field: 'user_preferences',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550001111', phone_number_id: PHONE_NUMBER_ID },
              contacts: [{ profile: { name: 'Pref Customer' }, wa_id: waId }],
              user_preferences: [{ wa_id: waId, detail: value === 'stop' ? 'User requested to stop marketing messages' : 'User requested to resume marketing messages', category: 'marketing_messages', value, timestamp }],
            },
          },
        ],
      },
    ],
  };
}

describe('opt-out (real Redis, fake Graph API and OpenAI, through the pipeline)', () => {
  let p: Pipeline;
  let store: OptOutStore;
  const ref = (waId: string) => ({ channel: 'whatsapp' as const, customerId: waId });
  beforeAll(async () => {
    p = await startPipeline();
    store = new OptOutStore(p.deps.redis, p.prefix);
  });
  afterAll(async () => {
    await p.close();
  });

  it('STOP opts out with one confirmation, a second STOP gets none, questions are still answered, START opts back in', async () => {
    const waId = '15557770001';
    expect(await p.postWhatsApp(whatsappTextDelivery({ waId, text: 'STOP' }).payload)).toBe(200);
    await waitFor(() => p.graph.textsTo(waId).length === 1, 10_000, 'the confirmation');
    expect(p.graph.textsTo(waId)[0]).toContain('unsubscribed');
    expect(await store.isOptedOut(ref(waId))).toBe(true);
    expect(await store.isOptedOut(ref(`+${waId}`))).toBe(true);

    // a repeated STOP (other case and punctuation), then a question: only the question is answered
    expect(await p.postWhatsApp(whatsappTextDelivery({ waId, text: ' Stop! ' }).payload)).toBe(200);
    expect(await p.postWhatsApp(whatsappTextDelivery({ waId, text: 'Where is my parcel 9?' }).payload)).toBe(200);
    await waitFor(() => p.graph.textsTo(waId).some((t) => t.includes('parcel 9')), 10_000, 'the answer');
    expect(p.graph.textsTo(waId)).toHaveLength(2);
    expect(p.graph.textsTo(waId).filter((t) => t.includes('unsubscribed'))).toHaveLength(1);
    // the model never saw a keyword
    expect(JSON.stringify(p.openai.requests.flatMap((r) => r.messages.filter((m) => m.role === 'user')))).not.toMatch(/\bstop\b/i);
    expect(await store.isOptedOut(ref(waId))).toBe(true);

    expect(await p.postWhatsApp(whatsappTextDelivery({ waId, text: 'start' }).payload)).toBe(200);
    await waitFor(() => p.graph.textsTo(waId).length === 3, 10_000, 'the opt-in confirmation');
    expect(p.graph.textsTo(waId)[2]).toContain('subscribed again');
    expect(await store.isOptedOut(ref(waId))).toBe(false);
  });

  it('退订 opts out with a Chinese confirmation; a message that only contains "stop" is a question', async () => {
    const waId = '15557770002';
    expect(await p.postWhatsApp(whatsappTextDelivery({ waId, text: '退订。' }).payload)).toBe(200);
    await waitFor(() => p.graph.textsTo(waId).length === 1, 10_000, 'the confirmation');
    expect(p.graph.textsTo(waId)[0]).toContain('您已退订');
    expect(await p.postWhatsApp(whatsappTextDelivery({ waId, text: 'stop sending the wrong size please' }).payload)).toBe(200);
    await waitFor(() => p.graph.textsTo(waId).length === 2, 10_000, 'the answer');
    expect(p.graph.textsTo(waId)[1]).toContain('wrong size');
  });

  it('a signed user_preferences webhook opts out and back in, without sending anything', async () => {
    const waId = '15557770003';
    const t = Math.floor(Date.now() / 1000);
    expect(await p.postWhatsApp(userPreferences(waId, 'stop', t))).toBe(200);
    await waitFor(() => store.isOptedOut(ref(waId)), 10_000, 'opted out by the webhook');
    expect((await store.get(ref(waId)))?.source).toBe('provider');
    expect(await p.postWhatsApp(userPreferences(waId, 'resume', t + 1))).toBe(200);
    await waitFor(async () => !(await store.isOptedOut(ref(waId))), 10_000, 'opted in by the webhook');
    expect(p.graph.textsTo(waId)).toHaveLength(0);
  });

  it('erasure removes the opt-out', async () => {
    const waId = '15557770004';
    expect(await p.postWhatsApp(whatsappTextDelivery({ waId, text: 'UNSUBSCRIBE' }).payload)).toBe(200);
    await waitFor(() => store.isOptedOut(ref(waId)), 10_000, 'opted out');
    const erasure = new CustomerErasure({ redis: p.deps.redis, prefix: p.prefix, log: silentLogger() });
    await erasure.erase({ channel: 'whatsapp', customerId: waId }, [{ channel: 'whatsapp', account: PHONE_NUMBER_ID, userId: waId }]);
    expect(await store.isOptedOut(ref(waId))).toBe(false);
  });
});
