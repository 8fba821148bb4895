import { FakeWecom, waitFor, whatsappTextDelivery, WECHAT_TEST_CONFIG, type FakeChatwoot, type FakeChatwootConversation } from '@switchboard/testkit';
import { Queue } from 'bullmq';
import { jobId, type MirrorJob } from '@switchboard/core';
import { startPipeline, HARNESS_MIRROR_INBOX, type Pipeline } from './testing/harness';

jest.setTimeout(90_000);

const KF = 'wkIDkf000000000000000000000001';
let seq = 0;

/**
 * Who the customers are in the Chatwoot mirror, end to end: WhatsApp (webhook), Telegram (webhook)
 * and WeChat (kf/sync_msg, nickname from kf/customer/batchget) conversations through the worker
 * roles into the fake Chatwoot, with labels and custom attributes on handoff and opt-out.
 */
describe('chatwoot mirror identity, labels and attributes end to end (real Redis, fake providers)', () => {
  let p: Pipeline;
  let cw: FakeChatwoot;
  let wecom: FakeWecom;

  beforeAll(async () => {
    wecom = await FakeWecom.start({ corpId: WECHAT_TEST_CONFIG.corpId });
    p = await startPipeline({
      chatwoot: true,
      telegram: true,
      roles: ['inbound', 'agent', 'outbound', 'mirror'],
      env: {
        WECHAT_TOKEN: WECHAT_TEST_CONFIG.token,
        WECHAT_AESKEY: WECHAT_TEST_CONFIG.encodingAESKey,
        WECHAT_CORP_ID: WECHAT_TEST_CONFIG.corpId,
        WECHAT_SECRET: wecom.secret,
        WECHAT_API_URL: wecom.url,
        WECHAT_REPLY_HISTORY_ON_FIRST_SYNC: 'true',
        // a failed look-up is asked again at the next message
        WECHAT_PROFILE_RETRY_SEC: '0',
      },
    });
    cw = p.chatwoot!;
    p.openai.setReply((req) => {
      const last = [...req.messages].reverse().find((m) => m.role === 'user');
      const text = typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content ?? '');
      if (/escalate/i.test(text) && req.tools?.some((t) => t.function.name === 'handoff_to_human')) {
        return { content: null, tool_calls: [{ name: 'handoff_to_human', arguments: { reason: 'Refund decision', summary: 'Parcel 4821 arrived damaged; the customer wants a refund.' } }] };
      }
      return 'Thanks for your message, we are on it.';
    });
  });

  afterAll(async () => {
    await p.close();
    await wecom.close();
  });

  const contact = (identifier: string) => cw.contacts.find((c) => c.identifier === identifier);
  const conversationOf = (identifier: string): FakeChatwootConversation | undefined => {
    const c = contact(identifier);
    return c ? [...cw.conversations.values()].find((x) => x.contact_id === c.id && x.inbox_id === HARNESS_MIRROR_INBOX) : undefined;
  };

  /** Runs every finished mirror job of a customer again under new job ids and waits until they are done. */
  /** Runs every completed mirror job of the customer again (once the mirror queue is idle); returns the Chatwoot calls the re-run made. */
  async function rerunMirrorJobs(userId: string): Promise<Array<{ method: string; path: string }>> {
    const q = new Queue('mirror', { connection: p.deps.redis, prefix: p.prefix });
    try {
      await waitFor(async () => (await q.getWaitingCount()) + (await q.getActiveCount()) + (await q.getDelayedCount()) === 0, 20_000, 'mirror queue idle');
      // counted only now: a job of the first run still going on is not the re-run's call
      const before = cw.requests.length;
      const done = (await q.getJobs(['completed'])).filter((j) => (j.data as MirrorJob).ref.userId === userId);
      expect(done.length).toBeGreaterThan(0);
      const ids = done.map(() => jobId('again', String(++seq)));
      await Promise.all(done.map((j, i) => p.deps.producers.enqueue('mirror', j.data as MirrorJob, { jobId: ids[i]! })));
      await waitFor(async () => (await Promise.all(ids.map((id) => q.getJobState(id)))).every((s) => s === 'completed'), 20_000, 'rerun mirror jobs');
      return cw.requests.slice(before);
    } finally {
      await q.close();
    }
  }

  /** A customer writes on WeChat: the message is in kf/sync_msg and WeCom calls back (here: the sync job the callback makes). */
  async function wechatWrites(user: string, text: string): Promise<void> {
    wecom.customerText(KF, user, text);
    const token = wecom.callbackToken();
    await p.deps.producers.enqueue('wechat-sync', { corpId: WECHAT_TEST_CONFIG.corpId, openKfId: KF, token, receivedAt: Date.now() }, { jobId: jobId('wxs', 'id', String(++seq)) });
  }

  it('a WeChat customer is named and pictured from kf/customer/batchget', async () => {
    const user = `wmIDuser${Date.now()}a`;
    wecom.setCustomer(user, { nickname: '小王', avatar: 'https://wework.qpic.cn/wwhead/xiaowang/0', unionid: 'oUnionXW' });
    await wechatWrites(user, '你好，我的订单在哪里？');
    await waitFor(() => (conversationOf(`wechat:${user}`) ? cw.messagesIn(conversationOf(`wechat:${user}`)!.id).length >= 2 : false), 20_000, 'mirrored WeChat conversation');
    expect(contact(`wechat:${user}`)).toMatchObject({ name: '小王', avatar_url: 'https://wework.qpic.cn/wwhead/xiaowang/0', additional_attributes: { channel: 'wechat-kf', unionid: 'oUnionXW' } });
    await waitFor(() => conversationOf(`wechat:${user}`)?.labels.includes('lang-zh') ?? false, 20_000, 'language label of the reply');
    expect(conversationOf(`wechat:${user}`)?.labels).toEqual(expect.arrayContaining(['channel-wechat-kf', 'account-default', 'lang-zh']));
    // asked once: the nickname is cached for the next messages
    expect(wecom.callsTo('kf/customer/batchget').filter((c) => (c.body as { external_userid_list: string[] }).external_userid_list.includes(user))).toHaveLength(1);
  });

  it('batchget failing: the contact is created with the id as its name, and renamed once batchget works', async () => {
    const user = `wmIDuser${Date.now()}b`;
    wecom.setCustomer(user, { nickname: '李女士' });
    wecom.fail('kf/customer/batchget', 45009, 1000);
    await wechatWrites(user, '在吗？我想问一下退货');
    await waitFor(() => contact(`wechat:${user}`) !== undefined, 20_000, 'contact created without nickname');
    expect(contact(`wechat:${user}`)?.name).toBe(`wechat:${user}`);
    await waitFor(() => (conversationOf(`wechat:${user}`) ? cw.messagesIn(conversationOf(`wechat:${user}`)!.id).length >= 2 : false), 20_000, 'first exchange mirrored');
    expect(wecom.callsTo('kf/customer/batchget').some((c) => c.errcode === 45009)).toBe(true);
    // WeCom answers again
    wecom.clearFailures('kf/customer/batchget');
    await wechatWrites(user, '退货需要多久？');
    await waitFor(() => contact(`wechat:${user}`)?.name === '李女士', 20_000, 'contact renamed');
    await waitFor(() => cw.messagesIn(conversationOf(`wechat:${user}`)!.id).length >= 4, 20_000, 'second exchange mirrored');
    const patches = cw.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(`/contacts/${contact(`wechat:${user}`)!.id}`));
    expect(patches).toHaveLength(1);
    expect(cw.contacts.filter((c) => c.identifier === `wechat:${user}`)).toHaveLength(1);
  });

  it('a WhatsApp customer is named from the webhook profile, with username; a redelivered webhook changes nothing twice', async () => {
    const delivery = whatsappTextDelivery({ waId: '4915100000077', userId: 'DE.4400077', name: 'Jonas Becker', username: '@jonas.b', text: 'Hello, where is my parcel?' });
    expect(await p.postWhatsApp(delivery.payload)).toBe(200);
    await waitFor(() => (conversationOf('wa:DE.4400077') ? cw.messagesIn(conversationOf('wa:DE.4400077')!.id).length >= 2 : false), 20_000, 'mirrored WhatsApp conversation');
    expect(contact('wa:DE.4400077')).toMatchObject({ name: 'Jonas Becker', phone_number: '+4915100000077', additional_attributes: { channel: 'whatsapp', username: 'jonas.b' } });
    const conv = conversationOf('wa:DE.4400077')!;
    // the reply's job adds the language: the last fact of the first exchange
    await waitFor(() => conv.labels.includes('channel-whatsapp') && conv.custom_attributes['language'] === 'en', 20_000, 'labels and attributes of the exchange');
    expect(conv.labels).toEqual(expect.arrayContaining(['channel-whatsapp', 'account-default']));
    expect(await p.postWhatsApp(delivery.payload)).toBe(200);
    // every mirror job of the conversation run again (a retry): nothing is posted, created, updated or labelled twice
    expect((await rerunMirrorJobs('DE.4400077')).map((r) => `${r.method} ${r.path}`)).toEqual([]);
    expect(cw.contacts.filter((c) => c.identifier === 'wa:DE.4400077')).toHaveLength(1);
    expect(cw.messagesIn(conv.id)).toHaveLength(2);
  });

  it('a Telegram customer gets their name and username', async () => {
    const chat = { id: 5100000077, type: 'private', first_name: 'Ana', last_name: 'Souza', username: 'ana_souza' };
    const update = { update_id: 880001, message: { message_id: 11, from: { id: chat.id, is_bot: false, first_name: 'Ana', last_name: 'Souza', username: 'ana_souza' }, chat, date: Math.floor(Date.now() / 1000), text: 'Olá, vocês entregam em Lisboa?' } };
    expect(await p.postTelegram(update)).toBe(200);
    await waitFor(() => contact('tg:5100000077') !== undefined && conversationOf('tg:5100000077') !== undefined, 20_000, 'mirrored Telegram conversation');
    expect(contact('tg:5100000077')).toMatchObject({ name: 'Ana Souza', additional_attributes: { channel: 'telegram', username: 'ana_souza' } });
    await waitFor(() => conversationOf('tg:5100000077')?.labels.includes('channel-telegram') ?? false, 20_000, 'channel label');
    expect(conversationOf('tg:5100000077')?.labels).toEqual(expect.arrayContaining(['channel-telegram']));
  });

  it('a handoff sets the reason label and the summary attribute; opt-out the opted-out label', async () => {
    const delivery = whatsappTextDelivery({ waId: '4915100000088', name: 'Erika Muster', text: 'Please escalate my damaged parcel case' });
    expect(await p.postWhatsApp(delivery.payload)).toBe(200);
    await waitFor(() => conversationOf('wa:4915100000088')?.labels.includes('handoff-agent_decision') ?? false, 20_000, 'handoff label');
    const conv = conversationOf('wa:4915100000088')!;
    await waitFor(() => conv.custom_attributes['handoff_summary'] !== undefined && conv.labels.includes('lang-en'), 20_000, 'handoff attributes');
    expect(conv.custom_attributes).toMatchObject({ channel: 'whatsapp', gateway_account: 'default', handoff_reason: 'agent_decision', handoff_detail: 'Refund decision', handoff_summary: 'Parcel 4821 arrived damaged; the customer wants a refund.' });
    expect(conv.status).toBe('open');
    // the customer's message, the handoff note and the reply that tells the customer: all mirrored before the re-run
    await waitFor(() => cw.messagesIn(conv.id).length >= 3, 20_000, 'handoff exchange mirrored');
    const again = await rerunMirrorJobs('4915100000088');
    // only the handoff's re-opening is asked again (toggle_status is idempotent); no label, attribute, contact or message call
    expect(again.filter((r) => !r.path.endsWith('/toggle_status')).map((r) => `${r.method} ${r.path}`)).toEqual([]);

    const stop = whatsappTextDelivery({ waId: '4915100000099', name: 'Max', text: 'STOP' });
    expect(await p.postWhatsApp(stop.payload)).toBe(200);
    await waitFor(() => contact('wa:4915100000099')?.custom_attributes['opted_out'] === true, 20_000, 'opted-out facts');
    expect(conversationOf('wa:4915100000099')?.labels).toContain('opted-out');
    expect(conversationOf('wa:4915100000099')?.custom_attributes['opted_out']).toBe(true);
    expect(contact('wa:4915100000099')?.custom_attributes).toMatchObject({ opted_out: true });
    expect(cw.messagesIn(conversationOf('wa:4915100000099')!.id).some((m) => m.private && /opted out/.test(m.content ?? ''))).toBe(true);
  });
});
