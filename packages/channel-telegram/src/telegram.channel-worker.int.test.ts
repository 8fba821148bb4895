import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { loadConfig, silentLogger, type ConversationRef } from '@switchboard/core';
import { GuardedFetcher } from '@switchboard/fetch';
import { createFfmpeg, createMediaStore, mediaEnv } from '@switchboard/media';
import { createRedis, gatewayKeys, Mailbox, Producers } from '@switchboard/queue';
import { blockedByUser, dropPrefix, PNG_1X1, startFakeMediaHost, startFakeTelegram, TELEGRAM_FIXTURE_BOT, testRedisUrl, uniquePrefix, type FakeMediaHost, type FakeTelegram } from '@switchboard/testkit';
import type { WorkerChannelContext } from '@switchboard/channel-runtime';
import { telegram } from './worker.js';

describe('Telegram worker module (fake Bot API, real Redis)', () => {
  let tg: FakeTelegram;
  let host: FakeMediaHost;
  let tmp: string;
  const prefix = uniquePrefix('tgm');
  const redis = createRedis(testRedisUrl(), 'worker');
  const producers = new Producers(redis, prefix);
  const unreachable: Array<{ ref: ConversationRef; reason: string }> = [];

  beforeAll(async () => {
    [tg, host] = await Promise.all([startFakeTelegram({ token: TELEGRAM_FIXTURE_BOT.token }), startFakeMediaHost()]);
    tmp = await mkdtemp(join(tmpdir(), 'sb-tg-module-'));
  });
  afterAll(async () => {
    await Promise.all([tg.close(), host.close(), producers.close()]);
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
    redis.disconnect();
    await rm(tmp, { recursive: true, force: true });
  });

  function start(env: Record<string, string>) {
    const parsed = loadConfig({ ...mediaEnv, ...telegram.typed.env }, { MEDIA_TMP_DIR: tmp, ...env });
    const keys = gatewayKeys(prefix);
    const ctx: WorkerChannelContext = {
      log: silentLogger(),
      redis,
      queueRedis: redis,
      prefix,
      keys,
      producers,
      registry: new Registry(),
      // reply files come from the fake media host on loopback, listed as FETCH_ALLOWED_ORIGINS would list it
      fetcher: new GuardedFetcher({ allowedOrigins: [host.url], timeoutMs: 5000, maxBytes: 64 << 20 }),
      media: { env: parsed, store: createMediaStore(parsed), ffmpeg: createFfmpeg(parsed), keys: keys.media },
      consumers: { concurrency: 2, lockDurationMs: 30_000 },
      accept: { mailbox: new Mailbox(redis, prefix), producers, redis, prefix, debounceMs: 0, maxMessageAgeSec: 0 },
      setOwner: async () => undefined,
      markUnreachable: async (ref, reason) => {
        unreachable.push({ ref, reason });
      },
      recordSent: async () => undefined,
    };
    return telegram.start(parsed, ctx);
  }

  it('is disabled without TELEGRAM_BOT_TOKEN, naming it', () => {
    expect(start({})).toEqual({ enabled: false, missing: ['TELEGRAM_BOT_TOKEN'] });
  });

  it('opens the default account: the TELEGRAM_SEND_RATE limiter, reply media uploaded through the media preparer, 403 marks the conversation', async () => {
    const started = start({ TELEGRAM_BOT_TOKEN: TELEGRAM_FIXTURE_BOT.token, TELEGRAM_API_URL: tg.apiUrl, TELEGRAM_SEND_RATE: '7' });
    if (!started.enabled) throw new Error('telegram should be enabled');
    const [account] = started.accounts;
    expect(account?.accountId).toBe('default');
    expect(account?.sendRate).toEqual({ max: 7, durationMs: 1000 });
    const adapter = account!.adapter!;
    const ref: ConversationRef = { channel: 'telegram', account: TELEGRAM_FIXTURE_BOT.id, userId: '4242' };
    const url = host.chatwoot.add({ bytes: PNG_1X1, mimeType: 'image/png', filename: 'chart.png' });
    const parts = adapter.render({ text: 'Here is the chart', media: [{ kind: 'image', url, caption: 'Your *chart*' }] }, ref);
    for (const [i, part] of parts.entries()) await adapter.sendPart(ref, part, { outboundId: 'out-media', partIndex: i, partCount: parts.length });
    const photo = tg.sent.find((s) => s.method === 'sendPhoto');
    expect(photo?.media).toBe(`upload:image.png:${PNG_1X1.length}`);
    expect(photo?.plain).toBe('Your chart');

    tg.failNext(1, blockedByUser());
    await expect(adapter.sendPart(ref, { kind: 'text', text: 'hello' }, { outboundId: 'out-2', partIndex: 0, partCount: 1 })).rejects.toMatchObject({ retryable: false });
    expect(unreachable).toEqual([{ ref, reason: 'bot_blocked' }]);
  });
});
