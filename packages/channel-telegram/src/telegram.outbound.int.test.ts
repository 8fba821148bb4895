import { ProviderRateLimitedError, ProviderRejectedError, type ConversationRef, type OutboundPart, type Reply } from '@switchboard/core';
import { blockedByUser, startFakeTelegram, TELEGRAM_FIXTURE_BOT, telegramError, tooManyRequests, type FakeTelegram } from '@switchboard/testkit';
import { TelegramClient } from './telegram.client.js';
import { TelegramRefusal } from './telegram.errors.js';
import { HASHED_OPTION_PREFIX, createTelegramOutboundAdapter, renderForTelegram, type TelegramMediaPreparerLike } from './telegram.outbound.js';
import { CALLBACK_ID_PREFIX } from './telegram.parse.js';

const token = TELEGRAM_FIXTURE_BOT.token;
const ref: ConversationRef = { channel: 'telegram', account: TELEGRAM_FIXTURE_BOT.id, userId: '5123456789' };
const group: ConversationRef = { channel: 'telegram', account: TELEGRAM_FIXTURE_BOT.id, userId: '-1001987654321' };
let fake: FakeTelegram;
let client: TelegramClient;

beforeAll(async () => {
  fake = await startFakeTelegram({ token });
  client = new TelegramClient({ apiUrl: fake.apiUrl, token, timeoutMs: 3000 });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const ctx = (partIndex: number, partCount: number, inReplyTo?: string) => ({ outboundId: 'ob-1', partIndex, partCount, ...(inReplyTo ? { inReplyTo } : {}) });

async function sendAll(adapter: ReturnType<typeof createTelegramOutboundAdapter>, r: ConversationRef, reply: Reply, inReplyTo?: string): Promise<string[]> {
  const parts = adapter.render(reply, r);
  const ids: string[] = [];
  for (const [i, p] of parts.entries()) ids.push((await adapter.sendPart(r, p, ctx(i, parts.length, inReplyTo))).providerMessageId!);
  return ids;
}

describe('renderForTelegram', () => {
  it('is deterministic and keeps every part within 4096 characters', () => {
    const reply: Reply = { text: Array.from({ length: 40 }, (_, i) => `**Step ${i}:** ${'do the thing (carefully). '.repeat(12)}`).join('\n\n') };
    const a = renderForTelegram(reply);
    expect(renderForTelegram(reply)).toEqual(a);
    expect(a.length).toBeGreaterThan(1);
  });

  it('puts options as a keyboard under the last text, and numbers more than 100 options as text', () => {
    expect(renderForTelegram({ text: 'Pick one', options: [{ id: 'a', title: 'A' }] })).toEqual([{ kind: 'options', text: 'Pick one', options: [{ id: 'a', title: 'A' }] }]);
    expect(renderForTelegram({ text: '', options: [{ id: 'a', title: 'A' }] })[0]).toMatchObject({ kind: 'options', text: 'Please choose:' });
    const many = Array.from({ length: 101 }, (_, i) => ({ id: `o${i}`, title: `Option ${i}` }));
    const parts = renderForTelegram({ text: 'Pick', options: many });
    expect(parts.every((p) => p.kind === 'text')).toBe(true);
  });

  it('renders nothing for an empty reply and sends media after the text', () => {
    expect(renderForTelegram({ text: '  ' })).toEqual([]);
    expect(renderForTelegram({ text: 'see', media: [{ kind: 'image', url: 'https://x.y/a.jpg' }] }).map((p) => p.kind)).toEqual(['text', 'media']);
  });
});

describe('Telegram outbound adapter against the fake Bot API', () => {
  it('reads a rendered part back as the text a person sees (for the record), without MarkdownV2 escapes', () => {
    const adapter = createTelegramOutboundAdapter({ client });
    const parts = adapter.render({ text: 'Yes, we ship to Norway (in 5 days). **Free** over 50.', options: [{ id: 'a', title: 'Track it!' }] }, ref);
    expect(parts.map((p) => p.kind)).toEqual(['options']);
    const options = parts[0];
    expect(adapter.readableText!(options!)).toBe('Yes, we ship to Norway (in 5 days). Free over 50.');
    const [plain] = adapter.render({ text: 'Price: 12.50 - ok!' }, ref);
    expect(adapter.readableText!(plain!)).toBe('Price: 12.50 - ok!');
  });

  it('sends a long Markdown reply as several valid MarkdownV2 messages, in order', async () => {
    const adapter = createTelegramOutboundAdapter({ client });
    const text = Array.from({ length: 30 }, (_, i) => `## Part ${i}\n\nPrice: **1+1=2!** (see [docs](https://example.com/a_(b))). ${'More text. '.repeat(40)}`).join('\n\n');
    const ids = await sendAll(adapter, ref, { text });
    expect(ids.length).toBeGreaterThan(1);
    expect(fake.sent).toHaveLength(ids.length);
    for (const s of fake.sent) {
      expect(s.parseMode).toBe('MarkdownV2');
      expect(s.plain!.length).toBeLessThanOrEqual(4096);
    }
    expect(fake.sent[0]!.plain!.startsWith('Part 0\n\nPrice: 1+1=2! (see docs).')).toBe(true);
    expect(ids[0]).toBe(`5123456789:${fake.sent[0]!.messageId}`);
  });

  it('sends options as an inline keyboard, hashing ids longer than 64 bytes', async () => {
    const adapter = createTelegramOutboundAdapter({ client });
    const long = 'x'.repeat(80);
    await sendAll(adapter, ref, { text: 'Which size?', options: [{ id: 'size_s', title: 'Small' }, { id: long, title: 'Custom' }] });
    const keyboard = (fake.sent[0]!.body.reply_markup as { inline_keyboard: Array<Array<{ text: string; callback_data: string }>> }).inline_keyboard;
    expect(keyboard[0]).toEqual([{ text: 'Small', callback_data: 'size_s' }]);
    expect(keyboard[1]![0]!.callback_data.startsWith(HASHED_OPTION_PREFIX)).toBe(true);
    expect(Buffer.byteLength(keyboard[1]![0]!.callback_data)).toBeLessThanOrEqual(64);
  });

  it('answers the callback query of a button press and shows typing when a turn starts', async () => {
    const adapter = createTelegramOutboundAdapter({ client });
    await adapter.turnStarted!(ref, `${CALLBACK_ID_PREFIX}4382946125712345678`);
    expect(fake.callbackAnswers).toEqual([{ id: '4382946125712345678' }]);
    expect(fake.chatActions).toEqual([{ chatId: '5123456789', action: 'typing' }]);
    await adapter.turnStarted!(ref, '5123456789:101');
    expect(fake.callbackAnswers).toHaveLength(1);
  });

  it('tolerates a callback query that is too old', async () => {
    const adapter = createTelegramOutboundAdapter({ client });
    fake.failNext(1, { ...telegramError(400, 'Bad Request: query is too old and response timeout expired or query ID is invalid'), method: 'answerCallbackQuery' });
    await expect(adapter.turnStarted!(ref, `${CALLBACK_ID_PREFIX}old`)).resolves.toBeUndefined();
    expect(fake.chatActions).toHaveLength(1);
  });

  it('quotes the question in groups and answers in the forum topic', async () => {
    const adapter = createTelegramOutboundAdapter({ client });
    await sendAll(adapter, { ...group, threadId: '-1001987654321#42' }, { text: 'We open at 9.' }, '-1001987654321:5501');
    expect(fake.sent[0]!.body).toMatchObject({ chat_id: '-1001987654321', message_thread_id: 42, reply_parameters: { message_id: 5501, allow_sending_without_reply: true } });
    await sendAll(adapter, ref, { text: 'Private.' }, '5123456789:101');
    expect(fake.sent[1]!.body.reply_parameters).toBeUndefined();
  });

  it('resends as plain text when Telegram refuses the formatting', async () => {
    const adapter = createTelegramOutboundAdapter({ client });
    fake.failNext(1, telegramError(400, "Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 3"));
    await sendAll(adapter, ref, { text: 'a **b** c.' });
    expect(fake.sent).toHaveLength(1);
    expect(fake.sent[0]).toMatchObject({ text: 'a b c.', plain: 'a b c.' });
    expect(fake.sent[0]!.parseMode).toBeUndefined();
  });

  it('passes 429 retry_after to the queue as a rate limit', async () => {
    const adapter = createTelegramOutboundAdapter({ client });
    fake.failNext(1, tooManyRequests(3));
    const [part] = adapter.render({ text: 'hi' }, ref) as [OutboundPart];
    await expect(adapter.sendPart(ref, part, ctx(0, 1))).rejects.toMatchObject({ constructor: ProviderRateLimitedError, retryAfterMs: 3000 });
    await expect(adapter.sendPart(ref, part, ctx(0, 1))).resolves.toMatchObject({ providerMessageId: expect.stringMatching(/^5123456789:\d+$/) });
  });

  it('fails a blocked chat without retry and reports it once through onUnreachable', async () => {
    const unreachable = jest.fn(async () => undefined);
    const adapter = createTelegramOutboundAdapter({ client, onUnreachable: unreachable });
    fake.block('5123456789');
    const [part] = adapter.render({ text: 'hi' }, ref) as [OutboundPart];
    const err = await adapter.sendPart(ref, part, ctx(0, 1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderRejectedError);
    expect((err as ProviderRejectedError).providerCode).toBe(TelegramRefusal.botBlocked);
    expect(unreachable).toHaveBeenCalledWith(ref, TelegramRefusal.botBlocked);
    fake.unblock('5123456789');
    fake.failNext(1, { ...blockedByUser(), method: 'sendChatAction' });
    await expect(adapter.turnStarted!(ref, undefined)).rejects.toBeInstanceOf(ProviderRejectedError);
    expect(unreachable).toHaveBeenCalledTimes(2);
  });

  it('sends media by URL with the right method, voice notes only for OGG', async () => {
    const adapter = createTelegramOutboundAdapter({ client });
    await sendAll(adapter, ref, {
      text: '',
      media: [
        { kind: 'image', url: 'https://cdn.example.com/a.jpg', caption: 'The **new** model.' },
        { kind: 'document', url: 'https://cdn.example.com/manual.pdf' },
        { kind: 'audio', url: 'https://cdn.example.com/note.ogg' },
        { kind: 'audio', url: 'https://cdn.example.com/song.mp3', mimeType: 'audio/mpeg' },
        { kind: 'video', url: 'https://cdn.example.com/v.mp4' },
      ],
    });
    expect(fake.sent.map((s) => s.method)).toEqual(['sendPhoto', 'sendDocument', 'sendVoice', 'sendAudio', 'sendVideo']);
    expect(fake.sent[0]).toMatchObject({ media: 'https://cdn.example.com/a.jpg', plain: 'The new model.', parseMode: 'MarkdownV2' });
  });

  it('uploads what the media preparer prepared, or sends its link text', async () => {
    const prepare = jest.fn<ReturnType<TelegramMediaPreparerLike['prepare']>, Parameters<TelegramMediaPreparerLike['prepare']>>();
    prepare.mockResolvedValueOnce({ kind: 'media', sendAs: 'voice', upload: { bytes: Buffer.from('OggS....'), filename: 'reply.ogg', mimeType: 'audio/ogg' } });
    prepare.mockResolvedValueOnce({ kind: 'link', text: 'The file is too large to send: https://cdn.example.com/big.zip', reason: 'too large' });
    const adapter = createTelegramOutboundAdapter({ client, media: { prepare } });
    await sendAll(adapter, ref, { text: '', media: [{ kind: 'audio', url: 'https://cdn.example.com/a.wav' }, { kind: 'document', url: 'https://cdn.example.com/big.zip' }] });
    expect(prepare).toHaveBeenCalledWith(TELEGRAM_FIXTURE_BOT.id, { kind: 'audio', url: 'https://cdn.example.com/a.wav' });
    expect(fake.sent.map((s) => [s.method, s.media ?? s.plain])).toEqual([
      ['sendVoice', 'upload:reply.ogg:8'],
      ['sendMessage', 'The file is too large to send: https://cdn.example.com/big.zip'],
    ]);
  });

  it('refuses templates (Telegram has none)', async () => {
    const adapter = createTelegramOutboundAdapter({ client });
    await expect(adapter.sendPart(ref, { kind: 'template', name: 'x', language: 'en' }, ctx(0, 1))).rejects.toBeInstanceOf(ProviderRejectedError);
  });
});
