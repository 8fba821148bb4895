import { Queue } from 'bullmq';
import { conversationId, type ConversationRef } from '@switchboard/core';
import {
  fixtureJson,
  nextTelegramUpdateId,
  PNG_1X1,
  TELEGRAM_FIXTURE_BOT,
  telegramCallbackUpdate,
  telegramPhotoUpdate,
  telegramTextUpdate,
  tooManyRequests,
  waitFor,
} from '@switchboard/testkit';
import { HARNESS_MIRROR_INBOX, startPipeline, type Pipeline } from './testing/harness';

jest.setTimeout(90_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BOT = TELEGRAM_FIXTURE_BOT.id;
const ref = (chatId: number): ConversationRef => ({ channel: 'telegram', account: BOT, userId: String(chatId) });

type Payload = Record<string, unknown> & { conversation: Record<string, unknown> & { meta: Record<string, unknown> } };

/** A private chat's `my_chat_member` update: the user blocked (`kicked`) or unblocked (`member`) the bot. */
function membershipUpdate(chatId: number, from: 'member' | 'kicked', to: 'member' | 'kicked') {
  const bot = { id: Number(BOT), is_bot: true, first_name: 'Shop Bot', username: TELEGRAM_FIXTURE_BOT.username };
  return {
    update_id: nextTelegramUpdateId(),
    my_chat_member: {
      chat: { id: chatId, first_name: 'Test', type: 'private' },
      from: { id: chatId, is_bot: false, first_name: 'Test' },
      date: Math.floor(Date.now() / 1000),
      old_chat_member: { user: bot, status: from },
      new_chat_member: { user: bot, status: to, ...(to === 'kicked' ? { until_date: 0 } : {}) },
    },
  };
}

describe('Telegram end to end (real Redis, telegram-ingress, worker roles, fake Bot API and OpenAI)', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ telegram: true });
  });
  afterAll(async () => {
    await p.close();
  });
  const tg = () => p.telegram!;

  it('a text update gets one MarkdownV2 reply after a typing action; a redelivered update is not answered again', async () => {
    const update = telegramTextUpdate({ chatId: 5550001, text: 'Where is my parcel 42?' });
    expect(await p.postTelegram(update)).toBe(200);
    await waitFor(() => tg().textsTo('5550001').length === 1, 10_000, 'one reply');
    expect(tg().textsTo('5550001')[0]).toContain('Where is my parcel 42?');
    expect(tg().sent.find((s) => s.chatId === '5550001')?.parseMode).toBe('MarkdownV2');
    expect(tg().chatActions).toContainEqual({ chatId: '5550001', action: 'typing' });
    // Telegram redelivers an update it got no 2xx for: the finished jobs are removed so only the durable dedupe stops the copy
    const inbound = new Queue('inbound', { connection: p.deps.redis, prefix: p.prefix });
    await inbound.clean(0, 1000, 'completed');
    await inbound.close();
    expect(await Promise.all([p.postTelegram(update), p.postTelegram(update)])).toEqual([200, 200]);
    await sleep(1500);
    expect(tg().textsTo('5550001')).toHaveLength(1);
  });

  it('429 retry_after is honoured through the queue: the reply goes out once, after the wait, without burning an attempt', async () => {
    tg().failNext(1, tooManyRequests(2));
    const attemptsBefore = tg().attempts();
    const started = Date.now();
    await p.postTelegram(telegramTextUpdate({ chatId: 5550002, text: 'rate limited question' }));
    await waitFor(() => tg().textsTo('5550002').length === 1, 20_000, 'reply after the flood wait');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    await sleep(800);
    expect(tg().textsTo('5550002')).toHaveLength(1);
    expect(tg().attempts() - attemptsBefore).toBe(2);
    const q = new Queue('outbound-telegram', { connection: p.deps.redis, prefix: p.prefix });
    const done = (await q.getCompleted()).find((j) => (j.data as { ref: ConversationRef }).ref.userId === '5550002');
    // BullMQ counts the successful attempt; the 429 run was moved back by the queue's rate limit, not counted
    expect(done?.attemptsMade).toBe(1);
    expect(done?.attemptsStarted).toBe(2);
    expect(await q.getFailedCount()).toBe(0);
    await q.close();
  });

  it('a button press is answered (answerCallbackQuery) and the choice reaches the agent', async () => {
    const before = p.openai.requests.length;
    await p.postTelegram(telegramCallbackUpdate({ chatId: 5550003, data: 'track_order', buttonText: 'Track my order', queryId: 'cbq-5550003' }));
    await waitFor(() => tg().textsTo('5550003').length === 1, 10_000, 'reply to the button');
    expect(tg().callbackAnswers).toContainEqual({ id: 'cbq-5550003' });
    expect(JSON.stringify(p.openai.requests.slice(before))).toContain('Track my order');
  });

  it('a photo is downloaded with getFile through the guarded fetcher and shown to the model', async () => {
    const path = tg().addFile('photo-5550004', PNG_1X1, { path: 'photos/file_1.png' });
    const before = p.openai.requests.length;
    await p.postTelegram(telegramPhotoUpdate({ chatId: 5550004, fileId: 'photo-5550004', sizeBytes: PNG_1X1.length, caption: 'is this broken?' }));
    await waitFor(() => tg().textsTo('5550004').length === 1, 15_000, 'reply to the photo');
    expect(tg().requests.some((r) => r.path === `/file/bot<token>/${path}`)).toBe(true);
    expect(JSON.stringify(p.openai.requests.slice(before))).toContain(`data:image/png;base64,${PNG_1X1.toString('base64')}`);
  });

  it('403 blocked: the reply fails without retry and the conversation is marked; unblocking clears the mark', async () => {
    const chat = 5550005;
    const key = p.deps.keys.unreachable(conversationId(ref(chat)));
    tg().block(String(chat));
    await p.postTelegram(telegramTextUpdate({ chatId: chat, text: 'hello?' }));
    const q = new Queue('outbound-telegram', { connection: p.deps.redis, prefix: p.prefix });
    await waitFor(async () => (await q.getFailed()).some((j) => (j.data as { ref: ConversationRef }).ref.userId === String(chat)), 10_000, 'failed reply');
    const failed = (await q.getFailed()).find((j) => (j.data as { ref: ConversationRef }).ref.userId === String(chat))!;
    expect(failed.attemptsMade).toBe(1);
    expect(failed.failedReason).toContain('blocked by the user');
    await q.close();
    expect(await p.deps.redis.get(key)).toBe('bot_blocked');
    tg().unblock(String(chat));
    expect(await p.postTelegram(membershipUpdate(chat, 'kicked', 'member'))).toBe(200);
    await waitFor(async () => (await p.deps.redis.get(key)) === null, 10_000, 'mark cleared');
    expect(await p.postTelegram(membershipUpdate(chat, 'member', 'kicked'))).toBe(200);
    await waitFor(async () => (await p.deps.redis.get(key)) === 'blocked', 10_000, 'blocked signal marks');
  });
});

describe('Telegram human takeover via Chatwoot (mirror inbox, fake Chatwoot)', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ telegram: true, chatwoot: true, roles: ['inbound', 'agent', 'outbound', 'mirror'] });
  });
  afterAll(async () => {
    await p.close();
  });

  it("the conversation is mirrored; an agent's public reply is delivered once on Telegram and silences the bot", async () => {
    const cw = p.chatwoot!;
    const tg = p.telegram!;
    const chat = '5550101';
    await p.postTelegram(telegramTextUpdate({ chatId: Number(chat), text: 'My order 4821 arrived damaged', firstName: 'Jonas' }));
    await waitFor(() => tg.textsTo(chat).length === 1, 10_000, 'bot reply');
    await waitFor(() => [...cw.conversations.values()].some((c) => c.inbox_id === HARNESS_MIRROR_INBOX && cw.messagesIn(c.id).some((m) => m.message_type === 1)), 15_000, 'mirrored conversation');
    expect(cw.contacts.filter((c) => c.identifier === `tg:${chat}`)).toHaveLength(1);
    const conv = [...cw.conversations.values()].find((c) => c.inbox_id === HARNESS_MIRROR_INBOX)!;
    expect(cw.messagesIn(conv.id).filter((m) => m.message_type === 0).map((m) => m.content)).toEqual(['My order 4821 arrived damaged']);

    // the agent writes in Chatwoot: the message exists there, then the webhook arrives (twice: two destinations)
    const res = await fetch(`${cw.url}/api/v1/accounts/${cw.accountId}/conversations/${conv.id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', api_access_token: cw.userToken },
      body: JSON.stringify({ content: 'Hi Jonas, Maria here.', message_type: 'outgoing' }),
    });
    const human = (await res.json()) as { id: number };
    const base = fixtureJson<Payload>('chatwoot', 'message_created.outgoing_human_agent_api_inbox.json');
    const reply = {
      ...base,
      id: human.id,
      content: 'Hi Jonas, Maria here.',
      inbox: { id: HARNESS_MIRROR_INBOX, name: 'Telegram (gateway)' },
      conversation: { ...base.conversation, id: conv.id, inbox_id: HARNESS_MIRROR_INBOX, contact_inbox: { contact_id: conv.contact_id, source_id: conv.source_id } },
    };
    expect(await p.postChatwoot(reply, 'tg-h-1')).toBe(200);
    expect(await p.postChatwoot(reply, 'tg-h-2')).toBe(200);
    await waitFor(() => tg.textsTo(chat).some((t) => t.includes('Maria here')), 15_000, 'relayed reply');
    await sleep(1200);
    expect(tg.textsTo(chat).filter((t) => t.includes('Maria here'))).toHaveLength(1);

    // the human owns the conversation now: the next customer message is mirrored, not answered by the bot
    const sentBefore = tg.textsTo(chat).length;
    await p.postTelegram(telegramTextUpdate({ chatId: Number(chat), text: 'thanks Maria' }));
    await waitFor(() => cw.messagesIn(conv.id).some((m) => m.content === 'thanks Maria'), 15_000, 'mirrored customer message');
    await sleep(1200);
    expect(tg.textsTo(chat)).toHaveLength(sentBefore);
  });
});
