import { z } from 'zod';
import { InboundEvent, type InboundMessage } from '@switchboard/core';
import { fixtureJson, fixtureNames, TELEGRAM_FIXTURE_BOT, TELEGRAM_FIXTURES } from '@switchboard/testkit';
import { telegramEnv } from './telegram.env.js';
import { parseMessageKey, parseUpdate, topicOf, type TelegramParseOptions } from './telegram.parse.js';

const opts: TelegramParseOptions = { botId: TELEGRAM_FIXTURE_BOT.id, botUsername: TELEGRAM_FIXTURE_BOT.username, groupMode: 'mention' };
const ctx = { receivedAt: 1_764_703_999_000 };
const parse = (name: string, o: Partial<TelegramParseOptions> = {}) => parseUpdate(fixtureJson('telegram', name), { ...opts, ...o }, ctx);
const one = (name: string, o: Partial<TelegramParseOptions> = {}) => {
  const events = parse(name, o);
  expect(events).toHaveLength(1);
  return events[0]!;
};
const message = (name: string, o: Partial<TelegramParseOptions> = {}) => {
  const e = one(name, o);
  expect(e.kind).toBe('message');
  return e as InboundMessage;
};

describe('parseUpdate over every fixture', () => {
  const updates = fixtureNames('telegram').filter((n) => n.startsWith('update.'));

  it('has provenance and an expectation for every update fixture', () => {
    expect(updates.sort()).toEqual(Object.keys(TELEGRAM_FIXTURES).sort());
    for (const f of Object.values(TELEGRAM_FIXTURES)) expect(f.docsUrl).toMatch(/^https:\/\/core\.telegram\.org\/bots\//);
  });

  it.each(updates)('%s: one valid event with the expected kind and a redelivery-stable id', (name) => {
    const fixture = TELEGRAM_FIXTURES[name]!;
    const raw = fixtureJson<{ update_id: number }>('telegram', name);
    const events = parse(name);
    expect(events).toHaveLength(1);
    const e = InboundEvent.parse(events[0]);
    expect(e.kind).toBe(fixture.expect.kind);
    expect(e.eventId).toBe(`tg-${TELEGRAM_FIXTURE_BOT.id}-${raw.update_id}`);
    if (e.kind === 'message') expect(e.content.type).toBe(fixture.expect.type);
    if (e.kind === 'signal') expect(e.signal).toBe(fixture.expect.signal);
    // the same update parsed again (a redelivery) gives the same event
    expect(parse(name)).toEqual(events);
  });
});

describe('messages', () => {
  it('keys a private chat by chat id on the bot account', () => {
    const m = message('update.01-private-text.json');
    expect(m.conversation).toEqual({ channel: 'telegram', account: '7012345678', userId: '5123456789', displayName: 'Ana Souza', username: 'ana_souza' });
    expect(m.providerMessageId).toBe('5123456789:101');
    expect(parseMessageKey(m.providerMessageId)).toEqual({ chatId: '5123456789', messageId: 101 });
    expect(m.content).toEqual({ type: 'text', text: 'Hi! Do you ship to Lisbon? 🚚' });
    expect(m.sentAt).toBe(1764703200 * 1000);
    expect(m.receivedAt).toBe(ctx.receivedAt);
  });

  it('takes the largest photo size, as JPEG, with its caption', () => {
    expect(message('update.02-photo-with-caption.json').content).toEqual({
      type: 'image',
      media: { mediaId: 'AgACAgQAAxkBAAIBZmcAAbHq1_large', mimeType: 'image/jpeg', sizeBytes: 91873, caption: 'The box arrived damaged' },
    });
  });

  it('reads voice notes, music, videos, round videos, documents and stickers as media references', () => {
    expect(message('update.03-voice.json').content).toEqual({ type: 'audio', voice: true, media: { mediaId: 'AwACAgQAAxkBAAIBZ2cAAVoice01', mimeType: 'audio/ogg', sizeBytes: 11904 } });
    expect(message('update.04-audio.json').content).toMatchObject({ type: 'audio', voice: false, media: { filename: 'jingle.mp3', mimeType: 'audio/mpeg' } });
    expect(message('update.05-video.json').content).toMatchObject({ type: 'video', media: { mimeType: 'video/mp4', caption: 'see the corner' } });
    expect(message('update.06-video-note.json').content).toMatchObject({ type: 'video', media: { mediaId: 'DQACAgQAAxkBAAIBamcAAVnote01', mimeType: 'video/mp4' } });
    expect(message('update.07-document.json').content).toMatchObject({ type: 'document', media: { filename: 'invoice-2291.pdf', mimeType: 'application/pdf', sizeBytes: 84211 } });
    expect(message('update.08-sticker.json').content).toMatchObject({ type: 'sticker', animated: false, media: { mimeType: 'image/webp' } });
  });

  it('reads locations, venues, contacts and polls', () => {
    expect(message('update.09-location.json').content).toEqual({ type: 'location', latitude: 38.722252, longitude: -9.139337 });
    expect(message('update.10-venue.json').content).toEqual({ type: 'location', latitude: 38.710722, longitude: -9.137639, name: 'Northwind Store Chiado', address: 'Rua Garrett 12, Lisboa' });
    expect(message('update.11-contact.json').content).toEqual({ type: 'contacts', contacts: [{ name: 'Rui Costa', phones: ['+351912345678'], userId: '5876543210' }] });
    expect(message('update.12-poll.json').content).toMatchObject({ type: 'card', cardType: 'poll', summary: 'Which colour? (Blue / Green)' });
  });

  it('records an edit as a system note with its own message id (never answered on its own)', () => {
    const m = message('update.13-edited-message.json');
    expect(m.content).toEqual({ type: 'system', systemType: 'edited_message', text: 'the customer edited an earlier message to: Hi! Do you ship to Porto? 🚚' });
    expect(m.providerMessageId).toBe(`5123456789:101:e${1764703200 + 40}`);
  });
});

describe('callback queries', () => {
  it('is a button reply with the button text, keyed so the outbound can answer the query', () => {
    const m = message('update.14-callback-query.json');
    expect(m.content).toEqual({ type: 'interactive', interaction: 'button_reply', id: 'size_m', title: 'Medium (M)' });
    expect(m.providerMessageId).toBe('cb:4382946125712345678');
    expect(m.replyToProviderMessageId).toBe('5123456789:120');
    expect(m.conversation.userId).toBe('5123456789');
  });

  it('falls back to the sender when the message is absent (inline-mode buttons)', () => {
    const raw = fixtureJson<{ callback_query: Record<string, unknown> }>('telegram', 'update.14-callback-query.json');
    delete raw.callback_query.message;
    const [e] = parseUpdate(raw, opts, ctx);
    expect(e).toMatchObject({ kind: 'message', conversation: { userId: '5123456789', displayName: 'Ana Souza' }, content: { id: 'size_m', title: 'size_m' } });
  });
});

describe('my_chat_member', () => {
  it('turns a block and an unblock in a private chat into signals', () => {
    expect(one('update.15-my-chat-member-blocked.json')).toMatchObject({ kind: 'signal', signal: 'blocked', conversation: { userId: '5123456789' } });
    expect(one('update.16-my-chat-member-unblocked.json')).toMatchObject({ kind: 'signal', signal: 'unblocked' });
  });
});

describe('groups', () => {
  it('answers a mention, without the mention, naming the sender', () => {
    const m = message('update.17-group-mention.json');
    expect(m.content).toEqual({ type: 'text', text: 'Li Wei: what are your opening hours?' });
    expect(m.conversation).toMatchObject({ userId: '-1001987654321', displayName: 'Northwind Customers' });
  });

  it('answers a reply to one of the bot’s messages', () => {
    expect(message('update.19-group-reply-to-bot.json').replyToProviderMessageId).toBe('-1001987654321:5503');
  });

  it('does not answer a message that is not addressed to the bot in mention mode', () => {
    expect(one('update.18-group-not-addressed.json')).toMatchObject({ kind: 'unsupported', reason: 'group message not addressed to the bot' });
  });

  it('without the bot username only replies and text_mentions count', () => {
    expect(one('update.17-group-mention.json', { botUsername: undefined as unknown as string })).toMatchObject({ kind: 'unsupported' });
    const raw = fixtureJson<{ message: Record<string, unknown> }>('telegram', 'update.18-group-not-addressed.json');
    raw.message.entities = [{ type: 'text_mention', offset: 0, length: 6, user: { id: 7012345678, is_bot: true, first_name: 'Northwind Shop' } }];
    expect(parseUpdate(raw, { botId: opts.botId, groupMode: 'mention' }, ctx)[0]).toMatchObject({ kind: 'message' });
  });

  it('answers every group message in mode all, none in mode off', () => {
    expect(one('update.18-group-not-addressed.json', { groupMode: 'all' })).toMatchObject({ kind: 'message', content: { text: 'Li Wei: anyone tried the green one?' } });
    expect(one('update.17-group-mention.json', { groupMode: 'off' })).toMatchObject({ kind: 'unsupported', reason: 'group chats are off (TELEGRAM_GROUP_MODE=off)' });
    // private chats are not affected by the group mode
    expect(one('update.01-private-text.json', { groupMode: 'off' }).kind).toBe('message');
  });

  it('recognises a command addressed to the bot', () => {
    const raw = fixtureJson<{ message: Record<string, unknown> }>('telegram', 'update.18-group-not-addressed.json');
    raw.message.text = '/start@northwind_shop_bot';
    raw.message.entities = [{ type: 'bot_command', offset: 0, length: 25 }];
    expect(parseUpdate(raw, opts, ctx)[0]).toMatchObject({ kind: 'message', content: { text: 'Li Wei: /start' } });
  });

  it('keys a forum topic as its own conversation', () => {
    const raw = fixtureJson<{ message: Record<string, unknown> }>('telegram', 'update.17-group-mention.json');
    raw.message.message_thread_id = 42;
    raw.message.is_topic_message = true;
    const m = parseUpdate(raw, opts, ctx)[0] as InboundMessage;
    expect(m.conversation.threadId).toBe('-1001987654321#42');
    expect(topicOf(m.conversation)).toBe(42);
  });

  it('ignores service messages and channel posts', () => {
    expect(one('update.22-group-new-member.json', { groupMode: 'all' })).toMatchObject({ kind: 'message', content: { type: 'unsupported', providerType: 'message.new_chat_members' } });
    expect(one('update.20-channel-post.json')).toMatchObject({ kind: 'unsupported', providerType: 'channel_post' });
  });
});

describe('hostile and unknown input', () => {
  it.each([null, 42, 'x', [], {}, { update_id: -1 }, { update_id: 'abc' }])('%p becomes one unsupported event', (payload) => {
    const events = parseUpdate(payload, opts, ctx);
    expect(events).toHaveLength(1);
    expect(InboundEvent.parse(events[0]).kind).toBe('unsupported');
  });

  it('keeps an unknown update kind and malformed bodies as unsupported, never throws', () => {
    expect(parseUpdate({ update_id: 5, brand_new_kind: {} }, opts, ctx)[0]).toMatchObject({ kind: 'unsupported', providerType: 'brand_new_kind', eventId: 'tg-7012345678-5' });
    expect(parseUpdate({ update_id: 6, message: { text: 'no chat' } }, opts, ctx)[0]).toMatchObject({ kind: 'unsupported', reason: 'malformed message' });
    expect(parseUpdate({ update_id: 7, callback_query: { id: 'q' } }, opts, ctx)[0]).toMatchObject({ kind: 'unsupported' });
    expect(parseUpdate({ update_id: 8, my_chat_member: { chat: 1 } }, opts, ctx)[0]).toMatchObject({ kind: 'unsupported' });
    const photo = { update_id: 9, message: { message_id: 1, date: 1, chat: { id: 1, type: 'private' }, photo: [{ nope: true }] } };
    expect(parseUpdate(photo, opts, ctx)[0]).toMatchObject({ kind: 'message', content: { type: 'unsupported', reason: 'malformed photo' } });
  });

  it('is deterministic for the same bad payload (ingress retries dedupe)', () => {
    expect(parseUpdate({ hello: 'x' }, opts, ctx)).toEqual(parseUpdate({ hello: 'x' }, opts, ctx));
  });

  it('does not answer other bots', () => {
    const raw = fixtureJson<{ message: { from: Record<string, unknown> } }>('telegram', 'update.01-private-text.json');
    raw.message.from.is_bot = true;
    expect(parseUpdate(raw, opts, ctx)[0]).toMatchObject({ kind: 'unsupported' });
  });
});

describe('telegramEnv', () => {
  const schema = z.object(telegramEnv);

  it('has the documented defaults', () => {
    expect(schema.parse({})).toEqual({ TELEGRAM_PORT: 3004, TELEGRAM_API_URL: 'https://api.telegram.org', TELEGRAM_GROUP_MODE: 'mention', TELEGRAM_SEND_RATE: 25 });
  });

  it('validates the token, the secret and the group mode', () => {
    expect(schema.safeParse({ TELEGRAM_BOT_TOKEN: 'nonsense' }).success).toBe(false);
    expect(schema.safeParse({ TELEGRAM_WEBHOOK_SECRET: 'has spaces' }).success).toBe(false);
    expect(schema.safeParse({ TELEGRAM_GROUP_MODE: 'sometimes' }).success).toBe(false);
    expect(schema.parse({ TELEGRAM_BOT_TOKEN: TELEGRAM_FIXTURE_BOT.token, TELEGRAM_WEBHOOK_SECRET: TELEGRAM_FIXTURE_BOT.webhookSecret, TELEGRAM_GROUP_MODE: 'ALL', TELEGRAM_API_URL: 'http://127.0.0.1:9/' })).toMatchObject({
      TELEGRAM_BOT_TOKEN: TELEGRAM_FIXTURE_BOT.token,
      TELEGRAM_GROUP_MODE: 'all',
      TELEGRAM_API_URL: 'http://127.0.0.1:9',
    });
    expect(schema.parse({ TELEGRAM_BOT_TOKEN: '  ' }).TELEGRAM_BOT_TOKEN).toBeUndefined();
  });
});

describe('testkit update builders', () => {
  it('build updates the parser reads as the expected events', async () => {
    const { telegramTextUpdate, telegramCallbackUpdate, telegramPhotoUpdate } = await import('@switchboard/testkit');
    expect(parseUpdate(telegramTextUpdate({ chatId: 42, text: 'hi' }), opts, ctx)[0]).toMatchObject({ kind: 'message', content: { type: 'text', text: 'hi' }, conversation: { userId: '42' } });
    expect(parseUpdate(telegramCallbackUpdate({ chatId: 42, data: 'yes', buttonText: 'Yes!' }), opts, ctx)[0]).toMatchObject({ content: { type: 'interactive', id: 'yes', title: 'Yes!' } });
    expect(parseUpdate(telegramPhotoUpdate({ chatId: 42, fileId: 'F1', sizeBytes: 5 }), opts, ctx)[0]).toMatchObject({ content: { type: 'image', media: { mediaId: 'F1', sizeBytes: 5 } } });
  });
});
