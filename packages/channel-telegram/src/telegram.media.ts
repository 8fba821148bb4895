import { ProviderRejectedError, type ChannelMediaRules, type MediaRef } from '@switchboard/core';
import type { TelegramClient } from './telegram.client.js';

/** Bots can download files up to 20 MB through `getFile`. @see https://core.telegram.org/bots/api#getfile */
export const TELEGRAM_DOWNLOAD_MAX = 20 * 1024 * 1024;

/**
 * The guarded download the media pipeline injects: fetches `url` into the workspace `ws` with its
 * own limits (size, redirects, private addresses). The URL holds the bot token: it must not be logged.
 */
export type TelegramDownload<W, R> = (
  url: string,
  ws: W,
  opts: { maxBytes: number; what: string; declaredMime?: string; filename?: string },
) => Promise<R>;

/** Options of {@link TelegramMediaSource}. */
export interface TelegramMediaSourceOptions<W, R> {
  client: TelegramClient;
  download: TelegramDownload<W, R>;
}

/**
 * Telegram media in two steps: `getFile(file_id)` → `file_path` (valid at least an hour), then a
 * download of `<url>/file/bot<token>/<file_path>` through the injected, guarded download. Fits
 * `@switchboard/media`'s `MediaSource` when `W`/`R` are its workspace and fetched-media types.
 */
export class TelegramMediaSource<W, R> {
  constructor(private readonly opts: TelegramMediaSourceOptions<W, R>) {}

  async fetch(ref: MediaRef, ws: W, opts: { maxBytes: number; what: string; account?: string }): Promise<R> {
    if (!ref.mediaId) throw new ProviderRejectedError(`${opts.what} has no Telegram file_id`, { providerCode: 'no_file_id' });
    const maxBytes = Math.min(opts.maxBytes, TELEGRAM_DOWNLOAD_MAX);
    // the update's file_size is known before any request: refuse early what cannot be downloaded
    if (ref.sizeBytes !== undefined && ref.sizeBytes > maxBytes) {
      throw new ProviderRejectedError(`${opts.what} is too large (${ref.sizeBytes} bytes, limit ${maxBytes})`, { providerCode: 'file_too_big' });
    }
    const file = await this.opts.client.getFile(ref.mediaId);
    if (!file.file_path) throw new ProviderRejectedError(`${opts.what}: getFile returned no file_path (file too big for bots?)`, { providerCode: 'file_too_big' });
    if (file.file_size !== undefined && file.file_size > maxBytes) {
      throw new ProviderRejectedError(`${opts.what} is too large (${file.file_size} bytes, limit ${maxBytes})`, { providerCode: 'file_too_big' });
    }
    return this.opts.download(this.opts.client.fileUrl(file.file_path), ws, {
      maxBytes,
      what: opts.what,
      ...(ref.mimeType ? { declaredMime: ref.mimeType } : {}),
      ...(ref.filename ? { filename: ref.filename } : {}),
    });
  }
}

const MB = 1024 * 1024;

/**
 * Telegram's media limits (core.telegram.org/bots/api#sending-files): bots download up to 20 MB
 * with `getFile`; uploads up to 10 MB for photos, 50 MB otherwise; a voice note must be OGG/Opus.
 */
export const TELEGRAM_MEDIA_RULES: ChannelMediaRules = {
  downloadMaxBytes: TELEGRAM_DOWNLOAD_MAX,
  outbound: {
    image: { sendAs: 'photo', maxBytes: 10 * MB, types: new Set(['image/jpeg', 'image/png', 'image/webp', 'image/gif']), convertTo: 'image/jpeg' },
    audio: { sendAs: 'voice', maxBytes: 50 * MB, types: new Set(['audio/ogg', 'audio/mpeg', 'audio/mp4']), convertTo: 'audio/ogg' },
    video: { sendAs: 'video', maxBytes: 50 * MB, types: new Set(['video/mp4']) },
    document: { sendAs: 'document', maxBytes: 50 * MB, types: 'any' },
  },
};
