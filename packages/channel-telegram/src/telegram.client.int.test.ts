import { ConfigurationError, isNonRetryable, ProviderRateLimitedError, ProviderRejectedError, ProviderUnavailableError, sendOutcomeUnknown } from '@switchboard/core';
import { blockedByUser, fixtureJson, serverError, startFakeTelegram, TELEGRAM_FIXTURE_BOT, telegramError, tooManyRequests, type FakeTelegram } from '@switchboard/testkit';
import { TelegramClient } from './telegram.client.js';
import { TelegramRefusal } from './telegram.errors.js';
import { TelegramMediaSource } from './telegram.media.js';

const token = TELEGRAM_FIXTURE_BOT.token;
let fake: FakeTelegram;
let client: TelegramClient;

beforeAll(async () => {
  fake = await startFakeTelegram({ token, botUsername: TELEGRAM_FIXTURE_BOT.username });
  client = new TelegramClient({ apiUrl: fake.apiUrl, token, timeoutMs: 3000 });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

async function caught(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

describe('TelegramClient against the fake Bot API', () => {
  it('calls <url>/bot<token>/<method> and returns result', async () => {
    await expect(client.getMe()).resolves.toMatchObject({ id: 7012345678, username: 'northwind_shop_bot' });
    const sent = await client.sendMessage('5123456789', 'hello');
    expect(sent).toMatchObject({ message_id: expect.any(Number), chat: { id: 5123456789 } });
    expect(fake.sent[0]).toMatchObject({ method: 'sendMessage', chatId: '5123456789', text: 'hello' });
    expect(fake.requests.map((r) => r.path)).toEqual(['/bot<token>/getMe', '/bot<token>/sendMessage']);
  });

  it('maps 429 with parameters.retry_after to a rate limit of that many seconds', async () => {
    fake.failNext(1, tooManyRequests(7));
    const err = await caught(client.sendMessage('5123456789', 'x'));
    expect(err).toBeInstanceOf(ProviderRateLimitedError);
    expect((err as ProviderRateLimitedError).retryAfterMs).toBe(7000);
    expect((err as ProviderRateLimitedError).retryable).toBe(true);
    // the fixture body, as Telegram sends it, gives the same result
    fake.failNext(1, { status: 429, body: fixtureJson('telegram', 'response.error-429.json') });
    expect(((await caught(client.sendMessage('5123456789', 'x'))) as ProviderRateLimitedError).retryAfterMs).toBe(7000);
  });

  it('maps 403 "bot was blocked by the user" to a non-retryable refusal with a code', async () => {
    fake.failNext(1, blockedByUser());
    const err = await caught(client.sendMessage('5123456789', 'x'));
    expect(err).toBeInstanceOf(ProviderRejectedError);
    expect((err as ProviderRejectedError).providerCode).toBe(TelegramRefusal.botBlocked);
    expect(isNonRetryable(err)).toBe(true);
  });

  it('names other refusals by their description', async () => {
    const cases: Array<[ReturnType<typeof telegramError>, string]> = [
      [telegramError(403, 'Forbidden: user is deactivated'), TelegramRefusal.userDeactivated],
      [telegramError(403, 'Forbidden: bot was kicked from the supergroup chat'), TelegramRefusal.botKicked],
      [telegramError(403, "Forbidden: bot can't initiate conversation with a user"), TelegramRefusal.cannotInitiate],
      [{ status: 400, body: fixtureJson('telegram', 'response.error-400-entities.json') }, TelegramRefusal.cannotParseEntities],
      [telegramError(400, 'Bad Request: chat not found'), TelegramRefusal.chatNotFound],
      [telegramError(400, 'Bad Request: group chat was upgraded to a supergroup chat', { migrate_to_chat_id: -1001234 }), TelegramRefusal.chatMigrated],
      [telegramError(400, 'Bad Request: something new'), TelegramRefusal.badRequest],
    ];
    for (const [failure, code] of cases) {
      fake.failNext(1, failure);
      const err = await caught(client.sendMessage('5123456789', 'x'));
      expect(err).toBeInstanceOf(ProviderRejectedError);
      expect((err as ProviderRejectedError).providerCode).toBe(code);
    }
  });

  it('maps 5xx to unavailable (retried, outcome unknown)', async () => {
    for (const status of [500, 502, 504]) {
      fake.failNext(1, serverError(status));
      const err = await caught(client.sendMessage('5123456789', 'x'));
      expect(err).toBeInstanceOf(ProviderUnavailableError);
      expect(sendOutcomeUnknown(err)).toBe(true);
    }
  });

  it('maps a wrong token to a configuration error, without the token in the message', async () => {
    const wrong = new TelegramClient({ apiUrl: fake.apiUrl, token: '7012345678:AAwrongwrongwrongwrongwrong' });
    const err = await caught(wrong.getMe());
    expect(err).toBeInstanceOf(ConfigurationError);
    expect(err.message).not.toContain('AAwrong');
  });

  it('maps a refused connection to unavailable with a known outcome, and never leaks the token', async () => {
    const down = new TelegramClient({ apiUrl: 'http://127.0.0.1:9', token, timeoutMs: 2000 });
    const err = await caught(down.sendMessage('1', 'x'));
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect(sendOutcomeUnknown(err)).toBe(false);
    expect(JSON.stringify({ message: err.message, cause: String((err as Error & { cause?: unknown }).cause) })).not.toContain(token.split(':')[1]!);
  });

  it('uploads media as multipart and sends media by URL', async () => {
    await client.sendMedia('5123456789', 'photo', { bytes: Buffer.from('fake-jpeg'), filename: 'a.jpg', mimeType: 'image/jpeg' }, { caption: 'hi' });
    await client.sendMedia('5123456789', 'document', 'https://example.com/doc.pdf');
    expect(fake.sent.map((s) => [s.method, s.media])).toEqual([
      ['sendPhoto', 'upload:a.jpg:9'],
      ['sendDocument', 'https://example.com/doc.pdf'],
    ]);
    expect(fake.sent[0]!.text).toBe('hi');
  });

  it('registers the webhook with its secret token', async () => {
    await client.setWebhook('https://gw.example.com/webhooks/telegram', TELEGRAM_FIXTURE_BOT.webhookSecret);
    expect(fake.webhook).toEqual({ url: 'https://gw.example.com/webhooks/telegram', secretToken: TELEGRAM_FIXTURE_BOT.webhookSecret });
    await expect(client.getWebhookInfo()).resolves.toMatchObject({ url: 'https://gw.example.com/webhooks/telegram' });
  });
});

describe('TelegramMediaSource', () => {
  const bytes = Buffer.from('%PDF-1.4 fake');
  type Ws = { dir: string };
  const download = jest.fn(async (url: string, _ws: Ws, opts: { maxBytes: number; declaredMime?: string; filename?: string }) => {
    const res = await fetch(url);
    return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), opts };
  });
  const source = () => new TelegramMediaSource<Ws, Awaited<ReturnType<typeof download>>>({ client, download });

  beforeEach(() => download.mockClear());

  it('resolves the file_id with getFile and downloads <url>/file/bot<token>/<file_path> through the injected download', async () => {
    const path = fake.addFile('BQACAgQAAxkBAAIBa2cAADoc01', bytes, { path: 'documents/file_7.pdf' });
    const got = await source().fetch({ mediaId: 'BQACAgQAAxkBAAIBa2cAADoc01', mimeType: 'application/pdf', filename: 'invoice.pdf' }, { dir: '/tmp' }, { maxBytes: 1_000_000, what: 'document' });
    expect(download).toHaveBeenCalledTimes(1);
    expect(download.mock.calls[0]![0]).toBe(`${fake.apiUrl}/file/bot${token}/${path}`);
    expect(got).toMatchObject({ status: 200, bytes, opts: { maxBytes: 1_000_000, declaredMime: 'application/pdf', filename: 'invoice.pdf' } });
  });

  it('caps at Telegram’s 20 MB and refuses known-too-large files before any request', async () => {
    const err = await caught(source().fetch({ mediaId: 'big', sizeBytes: 30 * 1024 * 1024 }, { dir: '/tmp' }, { maxBytes: 100 * 1024 * 1024, what: 'video' }));
    expect(err).toBeInstanceOf(ProviderRejectedError);
    expect((err as ProviderRejectedError).providerCode).toBe('file_too_big');
    expect(fake.requests).toHaveLength(0);
    fake.addFile('small', bytes);
    await source().fetch({ mediaId: 'small' }, { dir: '/tmp' }, { maxBytes: 100 * 1024 * 1024, what: 'file' });
    expect(download.mock.calls[0]![2].maxBytes).toBe(20 * 1024 * 1024);
  });

  it('raises a typed error for an unknown file_id, without downloading', async () => {
    const err = await caught(source().fetch({ mediaId: 'nope' }, { dir: '/tmp' }, { maxBytes: 1000, what: 'image' }));
    expect(err).toBeInstanceOf(ProviderRejectedError);
    expect(download).not.toHaveBeenCalled();
  });
});
