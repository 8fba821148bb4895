/**
 * Takeover from every surface, end to end against the fakes (real Redis; real PostgreSQL where the
 * record is involved): a WhatsApp Business app message (Coexistence echo) is recorded and mirrored
 * once, never answered, and keeps the bot quiet for the configured time, after which the bot takes
 * the conversation back by itself; business hours in `notice` and `queue` mode with a time zone
 * and a holiday (clock injected); a customer asking for a person gets the same handoff label in
 * Chatwoot on WhatsApp, Telegram and WeChat.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conversationId, createLogger, type ConversationRef } from '@switchboard/core';
import { getConversationOwner } from '@switchboard/queue';
import { openStore, type Store } from '@switchboard/store';
import { createTestDatabase, FakeWecom, telegramTextUpdate, waitFor, WECHAT_TEST_CONFIG, whatsappEchoFixtureFor, whatsappFixtureFor, type FakeChatwoot, type TestDatabase } from '@switchboard/testkit';
import { HARNESS_MIRROR_INBOX, startPipeline, type Pipeline } from './testing/harness';

jest.setTimeout(120_000);

const PNID = '109876543210987';
let seq = 0;
const newWaId = () => `49170${String(Date.now()).slice(-6)}${String(++seq).padStart(2, '0')}`;
const waRef = (waId: string): ConversationRef => ({ channel: 'whatsapp', account: PNID, userId: waId });
const customerText = (waId: string, text: string) => {
  const { payload } = whatsappFixtureFor('01-text.json', { waId });
  const value = (payload as { entry: Array<{ changes: Array<{ value: { messages: Array<Record<string, unknown>>; contacts?: Array<Record<string, unknown>> } }> }> }).entry[0]!.changes[0]!.value;
  value.messages[0]!.text = { body: text };
  // keyed on the wa_id, as the echo fixture addresses the customer (the fixture's business-scoped ids are shared)
  delete value.messages[0]!.from_user_id;
  delete value.messages[0]!.from_parent_user_id;
  for (const c of value.contacts ?? []) {
    delete c.user_id;
    delete c.parent_user_id;
  }
  return payload;
};
const drained = async (p: Pipeline, ...queues: Array<'inbound' | 'turn' | 'mirror' | 'record' | 'outbound-whatsapp'>) => {
  for (const q of queues) {
    const counts = await p.deps.producers.queue(q).getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    if (Object.values(counts).some((n) => n > 0)) return false;
  }
  return true;
};

/** The mirror conversation holding a message with this (unique) text. */
function mirrorConversationWith(cw: FakeChatwoot, text: string): number | undefined {
  return cw.messages.find((m) => m.content === text && cw.conversations.get(m.conversationId)?.inbox_id === HARNESS_MIRROR_INBOX)?.conversationId;
}

describe('WhatsApp Business app coexistence: an echo is a human reply', () => {
  let db: TestDatabase;
  let store: Store;
  let p: Pipeline;

  beforeAll(async () => {
    db = await createTestDatabase('sb_takeover_echo');
    store = await openStore({ url: db.url, log: createLogger({ service: 'takeover-echo', silent: true }), poolMax: 4 });
    p = await startPipeline({
      store,
      chatwoot: true,
      roles: ['inbound', 'agent', 'outbound', 'mirror', 'record'],
      // quiet for 6 s after an echo, swept every 200 ms
      env: { WHATSAPP_ECHO_QUIET_MINUTES: '0.1', HANDOFF_RESUME_SWEEP_MS: '200', RECORD_BATCH_WAIT_MS: '20' },
    });
  });
  afterAll(async () => {
    await p?.close();
    await store?.close();
    await db?.drop();
  });

  it('is recorded and mirrored once even when redelivered, never answered, and the bot is quiet for the quiet time, then answers again', async () => {
    const waId = newWaId();
    const convId = conversationId(waRef(waId));
    const first = `Hello, where is my order ${waId}?`;
    expect(await p.postWhatsApp(customerText(waId, first))).toBe(200);
    await waitFor(() => p.graph.textsTo(waId).length === 1, 20_000, 'the bot answers the customer');
    await waitFor(() => mirrorConversationWith(p.chatwoot!, first) !== undefined, 30_000, 'the mirror conversation');

    const echoText = 'Hi, this is Maria from the shop: your order ships today.';
    const { payload, wamid } = whatsappEchoFixtureFor({ waId, text: echoText });
    expect(await p.postWhatsApp(payload)).toBe(200);
    // Meta redelivers the same echo
    expect(await p.postWhatsApp(payload)).toBe(200);
    const recordId = `in:wa-echo-${PNID}-${wamid}`;
    const rows = () => store.db.selectFrom('rec_message').select(['id', 'direction', 'author', 'origin', 'text']).where('id', '=', recordId).execute();
    await waitFor(async () => (await rows()).length === 1, 20_000, 'the echo recorded');
    expect((await rows())[0]).toMatchObject({ direction: 'out', author: 'human', origin: 'business', text: echoText });
    const owner = await getConversationOwner(p.deps.redis, p.prefix, convId);
    expect(owner).toMatchObject({ owner: 'human', record: { reason: 'business_reply', until: expect.any(Number) } });

    const mirrorId = mirrorConversationWith(p.chatwoot!, first)!;
    const echoes = () => p.chatwoot!.messagesIn(mirrorId).filter((m) => m.content === echoText);
    await waitFor(() => echoes().length === 1, 45_000, 'the echo mirrored');

    // the customer writes while the business is talking: recorded and mirrored, not answered
    expect(await p.postWhatsApp(customerText(waId, 'Great, thanks Maria!'))).toBe(200);
    await waitFor(() => p.chatwoot!.messagesIn(mirrorId).some((m) => m.content === 'Great, thanks Maria!'), 20_000, 'the customer mirrored');
    await waitFor(() => drained(p, 'inbound', 'turn', 'mirror', 'record'), 20_000, 'queues drained');
    expect(p.graph.textsTo(waId)).toHaveLength(1);
    expect(p.graph.textsTo(waId)).not.toContain(echoText);
    expect(echoes()).toHaveLength(1);
    expect(await rows()).toHaveLength(1);
    expect(echoes()[0]).toMatchObject({ private: false });

    // after the quiet time the bot owns the conversation again (recorded) and answers
    await waitFor(async () => (await getConversationOwner(p.deps.redis, p.prefix, convId)).owner === 'bot', 30_000, 'auto resume');
    await waitFor(
      async () => (await store.db.selectFrom('rec_event').select('kind').where('conversation_id', '=', convId).execute()).some((e) => e.kind === 'resume'),
      20_000,
      'the resume recorded',
    );
    expect(await p.postWhatsApp(customerText(waId, 'One more question please'))).toBe(200);
    await waitFor(() => p.graph.textsTo(waId).length === 2, 20_000, 'the bot answers again');
  });

  it('human activity extends the quiet time: a second echo keeps the bot quiet past the first expiry', async () => {
    const waId = newWaId();
    const convId = conversationId(waRef(waId));
    expect(await p.postWhatsApp(whatsappEchoFixtureFor({ waId, text: 'First note from the app' }).payload)).toBe(200);
    await waitFor(async () => (await getConversationOwner(p.deps.redis, p.prefix, convId)).owner === 'human', 20_000, 'human owner');
    const first = (await getConversationOwner(p.deps.redis, p.prefix, convId)).record!.until!;
    expect(await p.postWhatsApp(whatsappEchoFixtureFor({ waId, text: 'Second note from the app' }).payload)).toBe(200);
    await waitFor(async () => ((await getConversationOwner(p.deps.redis, p.prefix, convId)).record?.until ?? 0) > first, 20_000, 'the expiry moved');
    // never answered: the bot sent nothing to this customer
    expect(p.graph.textsTo(waId)).toEqual([]);
  });
});

describe('business hours (Europe/Berlin, a holiday; clock injected)', () => {
  const config = (outside: 'notice' | 'queue') => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-hours-'));
    const file = join(dir, 'agent.json');
    writeFileSync(
      file,
      JSON.stringify({
        businessHours: {
          timeZone: 'Europe/Berlin',
          weekly: { mon: ['09:00-18:00'], tue: ['09:00-18:00'], wed: ['09:00-18:00'], thu: ['09:00-18:00'], fri: ['09:00-17:00'] },
          holidays: ['2026-12-25'],
          outside,
          messages: { notice: { en: 'Our team is out. Back {opening}.', de: 'Unser Team ist nicht da. Zurück {opening}.' } },
        },
      }),
    );
    return file;
  };

  describe('outside: notice', () => {
    let p: Pipeline;
    beforeAll(async () => {
      p = await startPipeline({ env: { AGENT_CONFIG: config('notice') } });
    });
    afterAll(async () => {
      await p?.close();
    });

    it('tells when people are back once per closed period and still answers as the bot; inside hours nothing is added', async () => {
      // Saturday 2026-12-05 11:00 Berlin: back Monday 09:00
      p.deps.clock = () => Date.parse('2026-12-05T10:00:00Z');
      const waId = newWaId();
      expect(await p.postWhatsApp(customerText(waId, 'Hello, where is my order please?'))).toBe(200);
      await waitFor(() => p.graph.textsTo(waId).length === 2, 20_000, 'notice and answer');
      const [notice, answer] = p.graph.textsTo(waId);
      expect(notice).toMatch(/^Our team is out\. Back Monday.*09:00/);
      expect(answer).not.toMatch(/Our team is out/);
      expect(await p.postWhatsApp(customerText(waId, 'And can I change the address?'))).toBe(200);
      await waitFor(() => p.graph.textsTo(waId).length === 3, 20_000, 'second answer');
      expect(p.graph.textsTo(waId).filter((t) => t.startsWith('Our team is out'))).toHaveLength(1);
      // Monday 10:00 Berlin: open, no notice
      p.deps.clock = () => Date.parse('2026-12-07T09:00:00Z');
      expect(await p.postWhatsApp(customerText(waId, 'Thanks, one last thing about my invoice'))).toBe(200);
      await waitFor(() => p.graph.textsTo(waId).length === 4, 20_000, 'answer inside hours');
      expect(p.graph.textsTo(waId).filter((t) => t.startsWith('Our team is out'))).toHaveLength(1);
    });
  });

  describe('outside: queue', () => {
    let p: Pipeline;
    beforeAll(async () => {
      p = await startPipeline({ env: { AGENT_CONFIG: config('queue') } });
    });
    afterAll(async () => {
      await p?.close();
    });

    it('on a holiday hands the conversation to people with reason outside_hours and the notice, without asking the model', async () => {
      // Friday 2026-12-25 11:00 Berlin is a holiday: back Monday 2026-12-28 09:00
      p.deps.clock = () => Date.parse('2026-12-25T10:00:00Z');
      const waId = newWaId();
      const asked = p.openai.calls.length;
      expect(await p.postWhatsApp(customerText(waId, 'Hello, where is my order please?'))).toBe(200);
      await waitFor(() => p.graph.textsTo(waId).length === 1, 20_000, 'the notice');
      expect(p.graph.textsTo(waId)[0]).toMatch(/^Our team is out\. Back Monday, (December 28|28 December).*09:00/);
      const convId = conversationId(waRef(waId));
      await waitFor(async () => (await getConversationOwner(p.deps.redis, p.prefix, convId)).owner === 'human', 30_000, 'handed to people');
      expect(await getConversationOwner(p.deps.redis, p.prefix, convId)).toMatchObject({ owner: 'human', record: { reason: 'outside_hours' } });
      expect(p.openai.calls.length).toBe(asked);
    });
  });
});

describe('a customer asking for a person: the same handoff label on every channel', () => {
  let p: Pipeline;
  let wecom: FakeWecom;
  const KF = 'wkTakeoverKf00000000000000001';

  beforeAll(async () => {
    wecom = await FakeWecom.start({ corpId: WECHAT_TEST_CONFIG.corpId });
    p = await startPipeline({
      chatwoot: true,
      telegram: true,
      roles: ['inbound', 'agent', 'outbound', 'mirror'],
      env: { WECHAT_TOKEN: WECHAT_TEST_CONFIG.token, WECHAT_AESKEY: WECHAT_TEST_CONFIG.encodingAESKey, WECHAT_CORP_ID: WECHAT_TEST_CONFIG.corpId, WECHAT_SECRET: wecom.secret, WECHAT_API_URL: wecom.url },
    });
  });
  afterAll(async () => {
    await p?.close();
    await wecom?.close();
  });

  const handoffLabels = (channel: string) =>
    [...p.chatwoot!.conversations.values()].filter((c) => c.inbox_id === HARNESS_MIRROR_INBOX && c.labels.includes(`channel-${channel}`)).flatMap((c) => c.labels.filter((l) => l.startsWith('handoff-')));

  it('WhatsApp, Telegram and WeChat all label handoff-customer_request', async () => {
    const waId = newWaId();
    expect(await p.postWhatsApp(customerText(waId, 'I want to talk to a human please'))).toBe(200);
    expect(await p.postTelegram(telegramTextUpdate({ chatId: 5557001, text: 'I want to talk to a human please' }))).toBe(200);
    const user = `wmTakeover${Date.now()}`;
    wecom.addMessages(KF, [wecom.customerText(KF, user, '转人工')]);
    await p.deps.producers.enqueue('wechat-sync', { corpId: WECHAT_TEST_CONFIG.corpId, openKfId: KF, receivedAt: Date.now() }, { jobId: `wxs-takeover-${user}` });
    for (const channel of ['whatsapp', 'telegram', 'wechat-kf']) {
      await waitFor(() => handoffLabels(channel).length > 0, 30_000, `the handoff label on ${channel}`);
      expect(handoffLabels(channel)).toEqual(['handoff-customer_request']);
    }
  });
});
