import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { loadConfig, silentLogger, type ConversationRef } from '@switchboard/core';
import { GuardedFetcher } from '@switchboard/fetch';
import { createFfmpeg, createMediaStore, MediaFailureReason, mediaEnv } from '@switchboard/media';
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
    return { started: telegram.start(parsed, ctx), ctx };
  }

  /** A plain loopback HTTP server (not listed as an allowed origin of the test's fetcher). */
  async function plainServer(handler: (req: IncomingMessage, res: import('node:http').ServerResponse) => void): Promise<{ url: string; seen: IncomingMessage[]; close(): Promise<void> }> {
    const seen: IncomingMessage[] = [];
    const server: Server = createServer((req, res) => {
      seen.push(req);
      handler(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      seen,
      close: () => {
        server.closeAllConnections();
        return new Promise<void>((r) => server.close(() => r()));
      },
    };
  }

  it('is disabled without TELEGRAM_BOT_TOKEN, naming it', () => {
    expect(start({}).started).toEqual({ enabled: false, missing: ['TELEGRAM_BOT_TOKEN'] });
  });

  it('opens the default account: the TELEGRAM_SEND_RATE limiter, reply media uploaded through the media preparer, 403 marks the conversation', async () => {
    const { started } = start({ TELEGRAM_BOT_TOKEN: TELEGRAM_FIXTURE_BOT.token, TELEGRAM_API_URL: tg.apiUrl, TELEGRAM_SEND_RATE: '7' });
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

  it('inbound media: getFile, then <api>/file/bot<token>/<path> through the guarded fetcher (the API origin allowed, a redirect elsewhere refused)', async () => {
    // the fake Bot API is on loopback and not among the fetcher's allowed origins: TELEGRAM_API_URL's origin is the provider's own
    tg.addFile('tg-photo-1', PNG_1X1, { path: 'photos/file_9.png' });
    const { started, ctx } = start({ TELEGRAM_BOT_TOKEN: TELEGRAM_FIXTURE_BOT.token, TELEGRAM_API_URL: tg.apiUrl });
    if (!started.enabled) throw new Error('telegram should be enabled');
    const source = started.accounts[0]!.mediaSource!;
    const ws = await ctx.media.store.workspace();
    try {
      const file = await source.fetch({ mediaId: 'tg-photo-1', mimeType: 'image/png' }, ws, { maxBytes: 1 << 20, what: 'the photo' });
      expect(file.mimeType).toBe('image/png');
      expect(file.size).toBe(PNG_1X1.length);
    } finally {
      await ws.dispose();
    }
    expect(tg.requests.some((r) => r.path === '/file/bot<token>/photos/file_9.png')).toBe(true);

    // a file server that sends the download elsewhere: the guard refuses the unlisted host, which is never reached
    const foreign = await plainServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(PNG_1X1);
    });
    const api = await plainServer((req, res) => {
      if (req.url?.endsWith('/getFile')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true, result: { file_id: 'tg-photo-2', file_unique_id: 'u2', file_size: PNG_1X1.length, file_path: 'photos/file_10.png' } }));
        return;
      }
      res.writeHead(302, { location: `${foreign.url}/stolen.png` });
      res.end();
    });
    try {
      const redirected = start({ TELEGRAM_BOT_TOKEN: TELEGRAM_FIXTURE_BOT.token, TELEGRAM_API_URL: api.url });
      if (!redirected.started.enabled) throw new Error('telegram should be enabled');
      const ws2 = await ctx.media.store.workspace();
      const err = await redirected.started.accounts[0]!.mediaSource!.fetch({ mediaId: 'tg-photo-2' }, ws2, { maxBytes: 1 << 20, what: 'the photo' })
        .finally(() => ws2.dispose())
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ reason: MediaFailureReason.notAvailable, retryable: false });
      expect(api.seen.map((r) => r.url)).toEqual([`/bot${TELEGRAM_FIXTURE_BOT.token}/getFile`, `/file/bot${TELEGRAM_FIXTURE_BOT.token}/photos/file_10.png`]);
      expect(foreign.seen).toHaveLength(0);
    } finally {
      await Promise.all([api.close(), foreign.close()]);
    }
  });
});
