import axios, { type AxiosInstance } from 'axios';
import { keepAliveAgents } from '@switchboard/core';
import { classifyTelegramError } from './telegram.errors.js';
import { TgResponse } from './telegram.wire.js';

/** Options of {@link TelegramClient}. */
export interface TelegramClientOptions {
  /** TELEGRAM_API_URL, e.g. `https://api.telegram.org` (no trailing slash). */
  apiUrl: string;
  /** TELEGRAM_BOT_TOKEN. */
  token: string;
  timeoutMs?: number;
}

/** A file to upload as multipart/form-data instead of a URL Telegram fetches itself. */
export interface TelegramUpload {
  bytes: Buffer;
  filename: string;
  mimeType?: string;
}

/** What a media send carries: a URL (Telegram downloads it, photos ≤ 5 MB, others ≤ 20 MB) or an upload. */
export type TelegramInputFile = string | TelegramUpload;

/** The send methods for media, by the field that carries the file. */
export const MEDIA_METHODS = {
  photo: 'sendPhoto',
  document: 'sendDocument',
  voice: 'sendVoice',
  audio: 'sendAudio',
  video: 'sendVideo',
} as const;
export type TelegramMediaField = keyof typeof MEDIA_METHODS;

/** The `File` object of `getFile`. @see https://core.telegram.org/bots/api#file */
export interface TelegramFile {
  file_id: string;
  file_unique_id?: string;
  file_size?: number;
  file_path?: string;
}

/** A sent `Message`, reduced to what the gateway keeps. */
export interface TelegramSent {
  message_id: number;
  chat: { id: number };
}

/** A network error without the request config (whose URL holds the bot token). */
function sanitized(err: unknown): Error {
  const e = err as { message?: string; code?: string };
  return Object.assign(new Error(e.message ?? 'request failed'), e.code ? { code: e.code } : {});
}

/**
 * The Bot API calls the gateway makes: `POST <url>/bot<token>/<method>`. Every failure is raised as
 * a typed gateway error (see telegram.errors.ts); the token never appears in an error.
 */
export class TelegramClient {
  private readonly http: AxiosInstance;

  constructor(private readonly opts: TelegramClientOptions) {
    this.http = axios.create({
      baseURL: `${opts.apiUrl}/bot${opts.token}`,
      timeout: opts.timeoutMs ?? 15_000,
      headers: { 'User-Agent': 'switchboard-gateway/0.1' },
      validateStatus: () => true,
      maxRedirects: 0,
      ...keepAliveAgents(),
    });
  }

  /** Calls one Bot API method with a JSON body (or multipart when `form` is given) and returns `result`. */
  async call<T>(method: string, body: Record<string, unknown> = {}, form?: FormData): Promise<T> {
    let res;
    try {
      res = form
        ? await this.http.post<unknown>(`/${method}`, form)
        : await this.http.post<unknown>(`/${method}`, body, { headers: { 'Content-Type': 'application/json' } });
    } catch (err) {
      throw classifyTelegramError(method, undefined, undefined, sanitized(err));
    }
    const parsed = TgResponse.safeParse(res.data);
    const envelope = parsed.success ? parsed.data : undefined;
    if (res.status >= 200 && res.status < 300 && envelope?.ok === true) return envelope.result as T;
    throw classifyTelegramError(method, res.status, envelope ?? { ok: false, description: `HTTP ${res.status} without a Bot API body` });
  }

  /** The bot itself (`id`, `username`). */
  getMe(): Promise<{ id: number; is_bot: boolean; first_name: string; username?: string }> {
    return this.call('getMe');
  }

  /** Sends a text; `extra` carries `entities`/`parse_mode`, `reply_markup`, `reply_parameters`, `message_thread_id`. */
  sendMessage(chatId: string, text: string, extra: Record<string, unknown> = {}): Promise<TelegramSent> {
    return this.call('sendMessage', { chat_id: chatId, text, link_preview_options: { is_disabled: true }, ...extra });
  }

  /** Shows "typing…" (or another action) for up to 5 s or until the next message. */
  async sendChatAction(chatId: string, action = 'typing', extra: Record<string, unknown> = {}): Promise<void> {
    await this.call<boolean>('sendChatAction', { chat_id: chatId, action, ...extra });
  }

  /** Stops the button's loading spinner; must be called for every callback query, within seconds. */
  async answerCallbackQuery(callbackQueryId: string, text?: string): Promise<void> {
    await this.call<boolean>('answerCallbackQuery', { callback_query_id: callbackQueryId, ...(text ? { text } : {}) });
  }

  /** Sends media by URL or upload: `sendPhoto`, `sendDocument`, `sendVoice`, `sendAudio`, `sendVideo`. */
  sendMedia(chatId: string, field: TelegramMediaField, input: TelegramInputFile, extra: Record<string, unknown> = {}): Promise<TelegramSent> {
    const method = MEDIA_METHODS[field];
    if (typeof input === 'string') return this.call(method, { chat_id: chatId, [field]: input, ...extra });
    const form = new FormData();
    form.set('chat_id', chatId);
    for (const [k, v] of Object.entries(extra)) form.set(k, typeof v === 'string' ? v : JSON.stringify(v));
    form.set(field, new Blob([new Uint8Array(input.bytes)], { type: input.mimeType ?? 'application/octet-stream' }), input.filename);
    return this.call(method, {}, form);
  }

  /** Prepares a file for download (bots can download files up to 20 MB; the path lives at least an hour). */
  getFile(fileId: string): Promise<TelegramFile> {
    return this.call('getFile', { file_id: fileId });
  }

  /** The download URL of a `file_path`: `<url>/file/bot<token>/<file_path>`. Holds the token: never log it. */
  fileUrl(filePath: string): string {
    const path = filePath.split('/').map(encodeURIComponent).join('/');
    return `${this.opts.apiUrl}/file/bot${this.opts.token}/${path}`;
  }

  /** Registers the webhook with the secret Telegram echoes in `X-Telegram-Bot-Api-Secret-Token`. */
  async setWebhook(url: string, secretToken: string, extra: Record<string, unknown> = {}): Promise<void> {
    await this.call<boolean>('setWebhook', { url, secret_token: secretToken, ...extra });
  }

  /** Webhook status: pending updates and the last delivery error (troubleshooting). */
  getWebhookInfo(): Promise<{ url: string; pending_update_count: number; last_error_date?: number; last_error_message?: string }> {
    return this.call('getWebhookInfo');
  }
}
