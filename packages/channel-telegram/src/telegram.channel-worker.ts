import { defineAccountFile, defineChannelWorker, DEFAULT_ACCOUNT_ID, type ChannelAccounts } from '@switchboard/core';
import { normalizeOrigin } from '@switchboard/fetch';
import { botIdFromToken, telegramAccountFields, telegramEnv } from './inbound.js';
import { createTelegramOutboundAdapter, TELEGRAM_MEDIA_RULES, TelegramClient, TelegramMediaSource } from './outbound.js';
import { discard, getStream, MediaError, MediaFailureReason, saveBody, UploadMediaPreparer, type FetchedMedia, type MediaWorkspace } from '@switchboard/media';
import type { WorkerRuntime } from '@switchboard/channel-runtime';

/** Typed settings of one Telegram bot (account). */
export interface TelegramWorkerSettings {
  readonly botToken: string;
  /** The numeric prefix of the token: `ConversationRef.account` of its chats. */
  readonly botId: string;
  readonly apiUrl: string;
  readonly sendRatePerSec: number;
}

/** The Telegram Bot API channel, worker half. */
export const telegram = defineChannelWorker<typeof telegramEnv, TelegramWorkerSettings, WorkerRuntime>({
  id: 'telegram',
  title: 'Telegram',
  env: telegramEnv,
  outboundQueue: 'outbound-telegram',
  media: TELEGRAM_MEDIA_RULES,
  customerIdKind: 'telegram_id',
  accounts(env): ChannelAccounts<TelegramWorkerSettings> {
    const token = env.TELEGRAM_BOT_TOKEN;
    if (!token) return { enabled: false, missing: ['TELEGRAM_BOT_TOKEN'] };
    return {
      enabled: true,
      accounts: [{ id: DEFAULT_ACCOUNT_ID, settings: { botToken: token, botId: botIdFromToken(token), apiUrl: env.TELEGRAM_API_URL, sendRatePerSec: env.TELEGRAM_SEND_RATE } }],
    };
  },
  accountFile: defineAccountFile(telegramAccountFields, (f, _entry, env) => ({
    botToken: f.botToken,
    botId: botIdFromToken(f.botToken),
    apiUrl: env.TELEGRAM_API_URL,
    sendRatePerSec: f.sendRate ?? env.TELEGRAM_SEND_RATE,
  })),
  sendRate: (s) => ({ max: s.sendRatePerSec, durationMs: 1000 }),
  open(account, ctx) {
    const s = account.settings;
    const client = new TelegramClient({ apiUrl: s.apiUrl, token: s.botToken });
    const origin = normalizeOrigin(new URL(s.apiUrl).origin);
    const preparer = new UploadMediaPreparer({
      rules: { ...TELEGRAM_MEDIA_RULES, name: 'telegram' },
      store: ctx.media.store,
      ffmpeg: ctx.media.ffmpeg,
      timeoutMs: ctx.media.env.MEDIA_DOWNLOAD_TIMEOUT_MS,
      fetcher: ctx.fetcher,
      log: ctx.log,
    });
    const adapter = createTelegramOutboundAdapter({
      client,
      media: { prepare: (_account, media) => preparer.prepare(media) },
      onUnreachable: (ref, code) => ctx.markUnreachable(ref, code),
    });
    // files come from TELEGRAM_API_URL's origin (the token is in the path): allowed whatever its address
    const mediaSource = new TelegramMediaSource<MediaWorkspace, FetchedMedia>({
      client,
      async download(url, ws, opts) {
        const res = await getStream(ctx.fetcher, url, { what: opts.what, maxBytes: opts.maxBytes, providerOrigins: [origin] });
        if (res.status < 200 || res.status >= 300) {
          discard(res.body);
          const gone = res.status === 400 || res.status === 404;
          throw new MediaError(gone ? MediaFailureReason.expired : MediaFailureReason.downloadFailed, `${opts.what} download failed: Telegram answered HTTP ${res.status}`, {
            retryable: res.status >= 500 || res.status === 429,
          });
        }
        return saveBody(ws, res, { maxBytes: opts.maxBytes, what: opts.what, ...(opts.declaredMime ? { declaredMime: opts.declaredMime } : {}), ...(opts.filename ? { filename: opts.filename } : {}) });
      },
    });
    return { accountId: account.id, adapter, mediaSource };
  },
});
