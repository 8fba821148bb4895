import express from 'express';
import { parseMultipart } from '@switchboard/core';
import { startOnLoopback, type FakeServer, type RecordedRequest } from './http-fake.js';

/** A scripted Bot API failure: HTTP status and the Bot API error body. */
export interface TelegramFailure {
  status: number;
  body: { ok: false; error_code: number; description: string; parameters?: { retry_after?: number; migrate_to_chat_id?: number } };
  /** Only fail calls to this chat id. */
  chatId?: string;
  /** Only fail this method (default: any send method). */
  method?: string;
}

/** A Bot API error as Telegram sends it. */
export function telegramError(code: number, description: string, parameters?: TelegramFailure['body']['parameters']): TelegramFailure {
  return { status: code, body: { ok: false, error_code: code, description, ...(parameters ? { parameters } : {}) } };
}
/** 429 flood control with `retry_after` seconds. */
export const tooManyRequests = (retryAfter: number) => telegramError(429, `Too Many Requests: retry after ${retryAfter}`, { retry_after: retryAfter });
/** 403 from a user who blocked the bot. */
export const blockedByUser = () => telegramError(403, 'Forbidden: bot was blocked by the user');
/** A server-side failure (502 from Telegram's front end, 500 Internal Server Error). */
export const serverError = (status = 502) => telegramError(status, status === 502 ? 'Bad Gateway' : 'Internal Server Error');

/** A message the fake accepted. */
export interface TelegramSentMessage {
  method: string;
  /** The token in the path (`/bot<token>/…`): which bot sent it. */
  token: string;
  /** When the fake accepted it (ms since the epoch). */
  at: number;
  chatId: string;
  messageId: number;
  /** `text` (sendMessage) or `caption` (media), as sent. */
  text?: string;
  /** The plain text after MarkdownV2 parsing (what the customer sees). */
  plain?: string;
  parseMode?: string;
  /** For media: the URL given, or `upload:<filename>:<bytes>` for a multipart upload. */
  media?: string;
  body: Record<string, unknown>;
}

/** The fake Telegram Bot API. */
export interface FakeTelegram extends FakeServer {
  /** The base URL to use as TELEGRAM_API_URL. */
  apiUrl: string;
  sent: TelegramSentMessage[];
  chatActions: Array<{ chatId: string; action: string }>;
  callbackAnswers: Array<{ id: string; text?: string }>;
  webhook: { url: string; secretToken?: string } | undefined;
  /** The next `n` matching calls fail with `failure`. */
  failNext(n: number, failure: TelegramFailure): void;
  /** Every send to this chat answers 403 "bot was blocked by the user" until `unblock`. */
  block(chatId: string): void;
  unblock(chatId: string): void;
  /** Makes a file available to `getFile` and `/file/bot<token>/<path>`. */
  addFile(fileId: string, bytes: Buffer, opts?: { path?: string }): string;
  /** Send attempts received (including failed ones). */
  attempts(): number;
  /** Plain texts (after MarkdownV2 parsing) sent to a chat, in order; with `token`, only those that bot sent. */
  textsTo(chatId: string, token?: string): string[];
  reset(): void;
}

const RESERVED = '_*[]()~`>#+-=|{}.!';

/**
 * Parses MarkdownV2 as strictly as the Bot API does: every reserved character outside markup
 * must be escaped, every entity closed. Returns the plain text or the error Telegram would give.
 * @see https://core.telegram.org/bots/api#markdownv2-style
 */
export function parseMarkdownV2Strictly(s: string): { ok: true; text: string } | { ok: false; error: string } {
  let text = '';
  const stack: string[] = [];
  let mode: 'normal' | 'code' | 'pre' | 'url' = 'normal';
  const fail = (error: string) => ({ ok: false as const, error: `Bad Request: can't parse entities: ${error}` });
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      const next = s[i + 1];
      if (next === undefined || next.charCodeAt(0) > 126) return fail(`Character '\\' is reserved and must be escaped with the preceding '\\'`);
      if (mode !== 'url') text += next;
      i++;
      continue;
    }
    if (mode === 'pre') {
      if (s.startsWith('```', i)) {
        mode = 'normal';
        i += 2;
        if (text.endsWith('\n')) text = text.slice(0, -1);
      } else if (c === '`') return fail("Character '`' is reserved and must be escaped with the preceding '\\'");
      else text += c;
      continue;
    }
    if (mode === 'code') {
      if (c === '`') mode = 'normal';
      else text += c;
      continue;
    }
    if (mode === 'url') {
      if (c === ')') {
        mode = 'normal';
        stack.pop();
      }
      continue;
    }
    if (s.startsWith('```', i)) {
      mode = 'pre';
      const nl = s.indexOf('\n', i);
      i = nl < 0 ? s.length : nl;
      continue;
    }
    if (c === '`') {
      mode = 'code';
      continue;
    }
    const marker = c === '_' && s[i + 1] === '_' ? '__' : c === '|' && s[i + 1] === '|' ? '||' : c;
    if (marker === '*' || marker === '_' || marker === '__' || marker === '~' || marker === '||') {
      if (stack[stack.length - 1] === marker) stack.pop();
      else if (stack.includes(marker)) return fail(`Can't find end of ${marker} entity at byte offset ${i}`);
      else stack.push(marker);
      i += marker.length - 1;
      continue;
    }
    if (c === '[') {
      stack.push('[');
      continue;
    }
    if (c === ']') {
      if (stack[stack.length - 1] !== '[' || s[i + 1] !== '(') return fail("Character ']' is reserved and must be escaped with the preceding '\\'");
      mode = 'url';
      i++;
      continue;
    }
    if (c === '>' && (i === 0 || s[i - 1] === '\n')) continue;
    if (RESERVED.includes(c)) return fail(`Character '${c}' is reserved and must be escaped with the preceding '\\'`);
    text += c;
  }
  if (mode !== 'normal' || stack.length > 0) return fail(`Can't find end of the entity (${mode === 'normal' ? stack[stack.length - 1] : mode})`);
  return { ok: true, text };
}

const SEND_METHODS = new Set(['sendMessage', 'sendPhoto', 'sendDocument', 'sendVoice', 'sendAudio', 'sendVideo']);
const MEDIA_FIELD: Record<string, string> = { sendPhoto: 'photo', sendDocument: 'document', sendVoice: 'voice', sendAudio: 'audio', sendVideo: 'video' };

/** A bot the fake knows: its token and the @username getMe answers. */
export interface FakeTelegramBot {
  token: string;
  botUsername?: string;
}

/**
 * Starts a fake Telegram Bot API on loopback: `POST <url>/bot<token>/<method>` (JSON, form or
 * multipart) and `GET <url>/file/bot<token>/<file_path>`, with the Bot API's envelopes
 * (`{ok, result}` / `{ok: false, error_code, description, parameters}`), MarkdownV2 validation,
 * the 4096-character limit and scripted failures. `bots` adds more bots beside `token` (one API
 * for several bots, as api.telegram.org is); an unknown token is answered 401.
 */
export async function startFakeTelegram(opts: FakeTelegramBot & { bots?: FakeTelegramBot[] }): Promise<FakeTelegram> {
  const bots = new Map([opts, ...(opts.bots ?? [])].map((b) => [b.token, b]));
  const requests: RecordedRequest[] = [];
  const sent: TelegramSentMessage[] = [];
  const chatActions: FakeTelegram['chatActions'] = [];
  const callbackAnswers: FakeTelegram['callbackAnswers'] = [];
  const files = new Map<string, { path: string; bytes: Buffer }>();
  const blocked = new Set<string>();
  let failures: TelegramFailure[] = [];
  let attemptCount = 0;
  let nextMessageId = 1000;
  const state: { webhook: FakeTelegram['webhook'] } = { webhook: undefined };
  const app = express();
  app.use(express.json({ limit: '5mb' }));
  app.use(express.urlencoded({ extended: false }));
  app.use(express.raw({ type: 'multipart/form-data', limit: '60mb' }));
  const ok = (res: express.Response, result: unknown) => res.json({ ok: true, result });
  const err = (res: express.Response, f: TelegramFailure) => res.status(f.status).json(f.body);

  app.get(/^\/file\/bot([^/]+)\/(.+)$/, (req, res) => {
    const m = /^\/file\/bot([^/]+)\/(.+)$/.exec(req.path)!;
    requests.push({ method: req.method, path: '/file/bot<token>/' + m[2], query: {}, headers: { ...req.headers }, body: undefined, at: Date.now() });
    const file = [...files.values()].find((f) => f.path === decodeURIComponent(m[2]!));
    if (!bots.has(decodeURIComponent(m[1]!)) || !file) {
      res.status(404).json({ ok: false, error_code: 404, description: 'Not Found' });
      return;
    }
    res.setHeader('Content-Type', 'application/octet-stream').send(file.bytes);
  });

  app.use((req, res) => {
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(req.path);
    let body: Record<string, unknown> = {};
    let upload: { field: string; filename: string; size: number } | undefined;
    if (Buffer.isBuffer(req.body)) {
      for (const [name, part] of parseMultipart(String(req.headers['content-type'] ?? ''), req.body)) {
        if (part.filename !== undefined) upload = { field: name, filename: part.filename, size: part.bytes.length };
        else body[name] = part.bytes.toString('utf8');
      }
      for (const k of ['reply_markup', 'reply_parameters']) if (typeof body[k] === 'string') body[k] = JSON.parse(body[k]) as unknown;
    } else if (req.body && typeof req.body === 'object') body = { ...(req.body as Record<string, unknown>), ...(req.query as Record<string, unknown>) };
    else body = { ...(req.query as Record<string, unknown>) };
    requests.push({ method: req.method, path: m ? `/bot<token>/${m[2]}` : req.path, query: { ...req.query }, headers: { ...req.headers }, body, at: Date.now() });
    if (!m) {
      res.status(404).json({ ok: false, error_code: 404, description: 'Not Found' });
      return;
    }
    const token = decodeURIComponent(m[1]!);
    const bot = bots.get(token);
    if (!bot) {
      res.status(401).json({ ok: false, error_code: 401, description: 'Unauthorized' });
      return;
    }
    const botId = Number(token.split(':')[0]);
    const method = m[2]!;
    const chatId = body.chat_id === undefined ? undefined : String(body.chat_id);
    if (SEND_METHODS.has(method) || method === 'sendChatAction' || method === 'answerCallbackQuery' || method === 'getFile') {
      if (SEND_METHODS.has(method)) attemptCount += 1;
      const idx = failures.findIndex((f) => (f.method ? f.method === method : SEND_METHODS.has(method)) && (!f.chatId || f.chatId === chatId));
      if (idx >= 0) {
        const [f] = failures.splice(idx, 1);
        err(res, f!);
        return;
      }
    }
    switch (method) {
      case 'getMe':
        ok(res, { id: botId, is_bot: true, first_name: 'Fake Bot', username: bot.botUsername ?? 'fake_bot', can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false });
        return;
      case 'setWebhook':
        state.webhook = { url: String(body.url ?? ''), ...(body.secret_token ? { secretToken: String(body.secret_token) } : {}) };
        ok(res, true);
        return;
      case 'deleteWebhook':
        state.webhook = undefined;
        ok(res, true);
        return;
      case 'getWebhookInfo':
        ok(res, { url: state.webhook?.url ?? '', has_custom_certificate: false, pending_update_count: 0 });
        return;
      case 'sendChatAction':
        if (!chatId || !body.action) return err(res, telegramError(400, 'Bad Request: chat_id and action are required'));
        if (blocked.has(chatId)) return err(res, blockedByUser());
        chatActions.push({ chatId, action: String(body.action) });
        ok(res, true);
        return;
      case 'answerCallbackQuery':
        if (!body.callback_query_id) return err(res, telegramError(400, 'Bad Request: query is too old and response timeout expired or query ID is invalid'));
        callbackAnswers.push({ id: String(body.callback_query_id), ...(body.text ? { text: String(body.text) } : {}) });
        ok(res, true);
        return;
      case 'getFile': {
        const file = files.get(String(body.file_id ?? ''));
        if (!file) return err(res, telegramError(400, 'Bad Request: invalid file_id'));
        ok(res, { file_id: String(body.file_id), file_unique_id: `u${String(body.file_id).slice(-8)}`, file_size: file.bytes.length, file_path: file.path });
        return;
      }
      default:
        break;
    }
    if (!SEND_METHODS.has(method)) {
      res.status(404).json({ ok: false, error_code: 404, description: 'Not Found: method not found' });
      return;
    }
    if (!chatId) return err(res, telegramError(400, 'Bad Request: chat_id is empty'));
    if (blocked.has(chatId)) return err(res, blockedByUser());
    const textField = method === 'sendMessage' ? 'text' : 'caption';
    const raw = body[textField] === undefined ? undefined : String(body[textField]);
    if (method === 'sendMessage' && !raw) return err(res, telegramError(400, 'Bad Request: message text is empty'));
    let plain = raw;
    if (raw !== undefined && body.parse_mode === 'MarkdownV2') {
      const parsed = parseMarkdownV2Strictly(raw);
      if (!parsed.ok) return err(res, telegramError(400, parsed.error));
      plain = parsed.text;
    }
    const limit = method === 'sendMessage' ? 4096 : 1024;
    if (plain !== undefined && plain.length > limit) return err(res, telegramError(400, method === 'sendMessage' ? 'Bad Request: message is too long' : 'Bad Request: message caption is too long'));
    const keyboard = (body.reply_markup as { inline_keyboard?: Array<Array<{ callback_data?: string }>> } | undefined)?.inline_keyboard;
    if (keyboard?.flat().some((b) => b.callback_data !== undefined && (Buffer.byteLength(b.callback_data) > 64 || b.callback_data === ''))) {
      return err(res, telegramError(400, 'Bad Request: BUTTON_DATA_INVALID'));
    }
    let media: string | undefined;
    if (method !== 'sendMessage') {
      const field = MEDIA_FIELD[method]!;
      if (upload && upload.field === field) media = `upload:${upload.filename}:${upload.size}`;
      else if (typeof body[field] === 'string' && body[field]) media = String(body[field]);
      else return err(res, telegramError(400, `Bad Request: there is no ${field} in the request`));
    }
    const messageId = nextMessageId++;
    const record: TelegramSentMessage = { method, token, at: Date.now(), chatId, messageId, body };
    if (raw !== undefined) record.text = raw;
    if (plain !== undefined) record.plain = plain;
    if (typeof body.parse_mode === 'string') record.parseMode = body.parse_mode;
    if (media) record.media = media;
    sent.push(record);
    const chat = Number(chatId) < 0 ? { id: Number(chatId), type: 'supergroup', title: 'Group' } : { id: Number(chatId), type: 'private', first_name: 'Customer' };
    ok(res, { message_id: messageId, from: { id: botId, is_bot: true, first_name: 'Fake Bot' }, chat, date: Math.floor(Date.now() / 1000), ...(plain !== undefined ? { [textField]: plain } : {}) });
  });

  const { url, close } = await startOnLoopback(app);
  return {
    url,
    apiUrl: url,
    requests,
    sent,
    chatActions,
    callbackAnswers,
    get webhook() {
      return state.webhook;
    },
    failNext(n, failure) {
      for (let i = 0; i < n; i++) failures.push(failure);
    },
    block(chatId) {
      blocked.add(chatId);
    },
    unblock(chatId) {
      blocked.delete(chatId);
    },
    addFile(fileId, bytes, o = {}) {
      const path = o.path ?? `documents/file_${files.size + 1}`;
      files.set(fileId, { path, bytes });
      return path;
    },
    attempts() {
      return attemptCount;
    },
    textsTo(chatId, token) {
      return sent.filter((s) => s.chatId === chatId && (token === undefined || s.token === token)).map((s) => s.plain ?? `[${s.method}]`);
    },
    reset() {
      requests.length = 0;
      sent.length = 0;
      chatActions.length = 0;
      callbackAnswers.length = 0;
      failures = [];
      blocked.clear();
      attemptCount = 0;
    },
    close,
  };
}

/** Posts an update to a webhook URL as Telegram does (JSON body, secret header). */
export async function deliverTelegramUpdate(webhookUrl: string, update: unknown, secretToken?: string): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (secretToken !== undefined) headers['X-Telegram-Bot-Api-Secret-Token'] = secretToken;
  return fetch(webhookUrl, { method: 'POST', headers, body: typeof update === 'string' ? update : JSON.stringify(update) });
}

let updateSeq = 0;
/** A fresh update id (Telegram's are increasing integers per bot). */
export function nextTelegramUpdateId(): number {
  updateSeq += 1;
  return 900_000_000 + (Date.now() % 1_000_000) * 100 + (updateSeq % 100);
}

/** A real-shaped private-chat text update. */
export function telegramTextUpdate(o: { chatId: number; text: string; updateId?: number; messageId?: number; firstName?: string }): { update_id: number; message: Record<string, unknown> } {
  const user = { id: o.chatId, is_bot: false, first_name: o.firstName ?? 'Test', language_code: 'en' };
  return {
    update_id: o.updateId ?? nextTelegramUpdateId(),
    message: { message_id: o.messageId ?? updateSeq, from: user, chat: { id: o.chatId, first_name: user.first_name, type: 'private' }, date: Math.floor(Date.now() / 1000), text: o.text },
  };
}

/** A real-shaped press on an inline keyboard button of a message the bot sent. */
export function telegramCallbackUpdate(o: { chatId: number; data: string; buttonText?: string; queryId?: string; messageId?: number; updateId?: number }): { update_id: number; callback_query: Record<string, unknown> } {
  const user = { id: o.chatId, is_bot: false, first_name: 'Test', language_code: 'en' };
  return {
    update_id: o.updateId ?? nextTelegramUpdateId(),
    callback_query: {
      id: o.queryId ?? `${Date.now()}${updateSeq}`,
      from: user,
      message: {
        message_id: o.messageId ?? 1,
        from: { id: 1, is_bot: true, first_name: 'Bot' },
        chat: { id: o.chatId, first_name: 'Test', type: 'private' },
        date: Math.floor(Date.now() / 1000),
        text: 'Please choose:',
        reply_markup: { inline_keyboard: [[{ text: o.buttonText ?? o.data, callback_data: o.data }]] },
      },
      chat_instance: '-1',
      data: o.data,
    },
  };
}

/** A real-shaped private-chat photo update (register the file with `FakeTelegram.addFile(fileId, …)`). */
export function telegramPhotoUpdate(o: { chatId: number; fileId: string; sizeBytes: number; caption?: string; updateId?: number }): { update_id: number; message: Record<string, unknown> } {
  const user = { id: o.chatId, is_bot: false, first_name: 'Test' };
  return {
    update_id: o.updateId ?? nextTelegramUpdateId(),
    message: {
      message_id: updateSeq,
      from: user,
      chat: { id: o.chatId, first_name: 'Test', type: 'private' },
      date: Math.floor(Date.now() / 1000),
      photo: [
        { file_id: `${o.fileId}_thumb`, file_unique_id: 'thumb', file_size: 1000, width: 90, height: 90 },
        { file_id: o.fileId, file_unique_id: 'full', file_size: o.sizeBytes, width: 1280, height: 960 },
      ],
      ...(o.caption ? { caption: o.caption } : {}),
    },
  };
}
