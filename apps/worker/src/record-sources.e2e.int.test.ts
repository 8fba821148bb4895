/**
 * What reaches the record besides the pipeline's own turns and sends (real Redis, real PostgreSQL,
 * fake Chatwoot and WeCom): a human agent's reply in a Chatwoot bot inbox (a sent message by a
 * person, beside its handoff), a customer message the Chatwoot gate withholds from the bot (kept,
 * once, never answered) and a WeChat welcome sent with `send_msg_on_event` (the bot speaking).
 */
import { createLogger } from '@switchboard/core';
import { openStore, type Store } from '@switchboard/store';
import { createTestDatabase, FakeWecom, fixtureJson, waitFor, WECHAT_TEST_CONFIG, type TestDatabase } from '@switchboard/testkit';
import { startPipeline, type Pipeline } from './testing/harness';

jest.setTimeout(120_000);

const BOT_INBOX = 5;
const KF = 'wkRecSrcKf0000000000000000001';
const KEYS = WECHAT_TEST_CONFIG;
type Payload = Record<string, unknown> & { conversation: Record<string, unknown> & { meta: Record<string, unknown> } };

describe('record sources outside the turn and the outbound queue', () => {
  let db: TestDatabase;
  let store: Store;
  let p: Pipeline;
  let fake: FakeWecom;

  beforeAll(async () => {
    db = await createTestDatabase('sb_rec_src');
    store = await openStore({ url: db.url, log: createLogger({ service: 'rec-src', silent: true }), poolMax: 4 });
    fake = await FakeWecom.start({ corpId: KEYS.corpId });
    p = await startPipeline({
      store,
      chatwoot: true,
      env: {
        WECHAT_TOKEN: KEYS.token,
        WECHAT_AESKEY: KEYS.encodingAESKey,
        WECHAT_CORP_ID: KEYS.corpId,
        WECHAT_SECRET: fake.secret,
        WECHAT_API_URL: fake.url,
        WECHAT_WELCOME_TEXT: '您好，欢迎光临！',
        WECHAT_REPLY_HISTORY_ON_FIRST_SYNC: 'true',
        RECORD_BATCH_WAIT_MS: '20',
      },
    });
  });

  afterAll(async () => {
    await p?.close();
    await fake?.close();
    await store?.close();
    await db?.drop();
  });

  const byId = (id: string) => store.db.selectFrom('rec_message').select(['id', 'conversation_id', 'direction', 'author', 'origin', 'text', 'provider_message_id']).where('id', '=', id).execute();
  const recordDrained = async () => Object.values(await p.deps.producers.queue('record').getJobCounts('waiting', 'active', 'delayed', 'prioritized')).every((n) => n === 0);
  const inboundDrained = async () => Object.values(await p.deps.producers.queue('inbound').getJobCounts('waiting', 'active', 'delayed', 'prioritized')).every((n) => n === 0);

  function customerMessage(conversationId: number, messageId: number, content: string, conv: Record<string, unknown> = {}): Payload {
    const base = fixtureJson<Payload>('chatwoot', 'message_created.incoming_contact_with_image.json');
    const { attachments: _a, ...rest } = base;
    return { ...rest, id: messageId, content, inbox: { id: BOT_INBOX, name: 'Website' }, conversation: { ...base.conversation, id: conversationId, inbox_id: BOT_INBOX, ...conv } };
  }

  it("Chatwoot bot inbox: a human agent's reply is a sent message by a person (id from the Chatwoot message), beside the handoff", async () => {
    p.chatwoot!.addConversation({ id: 611, inbox_id: BOT_INBOX, contact_id: 4411, status: 'pending' });
    const human = fixtureJson<Payload>('chatwoot', 'message_created.outgoing_human_agent_api_inbox.json');
    const payload = { ...human, id: 96110, content: 'Hi, I am Mara from support — your refund is on its way.', inbox: { id: BOT_INBOX, name: 'Website' }, conversation: { ...human.conversation, id: 611, inbox_id: BOT_INBOX, status: 'pending', meta: { ...human.conversation.meta, assignee: null, assignee_type: null } } };
    expect(await p.postChatwoot(payload)).toBe(200);
    const id = 'in:cw-7-96110-message_created';
    await waitFor(async () => (await byId(id)).length === 1, 15_000, 'the human reply recorded');
    const [row] = await byId(id);
    expect(row).toMatchObject({ direction: 'out', author: 'human', origin: 'human', text: 'Hi, I am Mara from support — your refund is on its way.', provider_message_id: '96110' });
    await waitFor(async () => (await store.db.selectFrom('rec_event').select('kind').where('conversation_id', '=', row!.conversation_id).execute()).some((e) => e.kind === 'handoff'), 15_000, 'the handoff');
    // Chatwoot delivers the same webhook again (another delivery id): nothing twice
    expect(await p.postChatwoot(payload)).toBe(200);
    await waitFor(inboundDrained, 15_000, 'inbound drained');
    await waitFor(recordDrained, 15_000, 'record drained');
    expect(await byId(id)).toHaveLength(1);
    const conv = await store.db.selectFrom('rec_conversation').select(['owner', 'had_human', 'message_count']).where('id', '=', row!.conversation_id).executeTakeFirstOrThrow();
    expect(conv).toEqual({ owner: 'human', had_human: true, message_count: 1 });
  });

  it('Chatwoot: a customer message in a conversation a person owns is recorded once, before and without any answer', async () => {
    p.chatwoot!.addConversation({ id: 612, inbox_id: BOT_INBOX, contact_id: 4411, status: 'open' });
    const asked = p.openai.requests.length;
    const payload = customerMessage(612, 96120, 'Can you also change the delivery address?', { status: 'open' });
    expect(await p.postChatwoot(payload)).toBe(200);
    const id = 'in:cw-7-96120-message_created';
    await waitFor(async () => (await byId(id)).length === 1, 15_000, 'the customer message recorded');
    expect((await byId(id))[0]).toMatchObject({ direction: 'in', author: 'customer', text: 'Can you also change the delivery address?', provider_message_id: '96120' });
    // redelivered by Chatwoot, and the inbound job replayed under another id: still one row
    expect(await p.postChatwoot(payload)).toBe(200);
    const done = await p.deps.producers.queue('inbound').getJobs(['completed'], 0, 1000);
    const job = done.find((j) => (j.data as { eventId?: string }).eventId === 'cw-7-96120-message_created');
    expect(job).toBeDefined();
    await p.deps.producers.enqueue('inbound', job!.data as never, { jobId: 'replay-96120' });
    await waitFor(inboundDrained, 15_000, 'inbound drained');
    await waitFor(recordDrained, 15_000, 'record drained');
    const rows = await byId(id);
    expect(rows).toHaveLength(1);
    expect((await store.db.selectFrom('rec_conversation').select('message_count').where('id', '=', rows[0]!.conversation_id).executeTakeFirstOrThrow()).message_count).toBe(1);
    // never answered: no turn, no model call, no bot message in Chatwoot
    expect(p.openai.requests.length).toBe(asked);
    expect(p.chatwoot!.messagesIn(612).filter((m) => m.token === 'bot' && !m.private)).toHaveLength(0);
    expect(await store.db.selectFrom('rec_turn').select('id').where('conversation_id', '=', rows[0]!.conversation_id).execute()).toEqual([]);
  });

  it('WeChat: a welcome sent with send_msg_on_event is recorded as the bot speaking, once', async () => {
    const user = `wmRecSrc${Date.now()}`;
    const now = Math.floor(Date.now() / 1000);
    fake.addMessages(KF, [{ msgid: `enter-${user}`, send_time: now, origin: 4, msgtype: 'event', event: { event_type: 'enter_session', open_kfid: KF, external_userid: user, scene: 'qr', welcome_code: `WC-${user}` } }]);
    await p.deps.producers.enqueue('wechat-sync', { corpId: KEYS.corpId, openKfId: KF, receivedAt: Date.now() }, { jobId: `wxs-${user}` });
    await waitFor(() => fake.sentOnEvent.some((w) => w.code === `WC-${user}`), 15_000, 'the welcome sent');
    const welcome = fake.sentOnEvent.find((w) => w.code === `WC-${user}`)!;
    const rows = () =>
      store.db.selectFrom('rec_message as m').innerJoin('rec_conversation as c', 'c.id', 'm.conversation_id').select(['m.id', 'm.direction', 'm.author', 'm.origin', 'm.text', 'm.provider_message_id']).where('c.customer_id', '=', user).execute();
    await waitFor(async () => (await rows()).length === 1, 15_000, 'the welcome recorded');
    expect(await rows()).toEqual([{ id: `out:welcome-${welcome.msgid}:0`, direction: 'out', author: 'bot', origin: 'welcome', text: '您好，欢迎光临！', provider_message_id: welcome.msgid }]);
    // the same page pulled again sends and records nothing more
    await p.deps.producers.enqueue('wechat-sync', { corpId: KEYS.corpId, openKfId: KF, receivedAt: Date.now() }, { jobId: `wxs-${user}-again` });
    await waitFor(recordDrained, 15_000, 'record drained');
    expect(fake.sentOnEvent.filter((w) => w.code === `WC-${user}`)).toHaveLength(1);
    expect(await rows()).toHaveLength(1);
  });
});
