import express, { type Request, type Response, type Router } from 'express';
import { conversationId, parseMultipart } from '@switchboard/core';
import { markdownV2ToPlain } from '@switchboard/channel-telegram/outbound';
import { safeEqual } from '../auth.js';
import type { SandboxMedia, SandboxStore } from './store.js';

/** Options of {@link createFakeTelegramRouter}. */
export interface FakeTelegramOptions {
  store: SandboxStore;
  /** The bot token the workers must present in the path (TELEGRAM_BOT_TOKEN). */
  botToken: string;
  /** The bot's numeric id (the part of the token before `:`): the account of its conversations. */
  botId: string;
  /** Called when the customer's phone would show typing (sendChatAction) or the bot answered a button press. */
  onChatAction?: (chatId: string, action: string) => void;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

const MEDIA_FIELD: Readonly<Record<string, string>> = { sendPhoto: 'photo', sendDocument: 'document', sendVoice: 'voice', sendAudio: 'audio', sendVideo: 'video' };
const TEXT_LIMIT = 4096;
const CAPTION_LIMIT = 1024;

/** A Bot API error envelope as Telegram sends it. */
function fail(res: Response, code: number, description: string): void {
  res.status(code).json({ ok: false, error_code: code, description });
}

/** What the customer's Telegram app would show: MarkdownV2 reduced to its text, buttons as `[ title ]`. */
export function describeTelegramSend(method: string, body: Obj): { text: string; media?: SandboxMedia } | { error: string } {
  const field = method === 'sendMessage' ? 'text' : 'caption';
  const raw = str(body[field]) ?? '';
  let text = raw;
  if (raw && body['parse_mode'] === 'MarkdownV2') {
    try {
      text = markdownV2ToPlain(raw);
    } catch {
      return { error: "Bad Request: can't parse entities" };
    }
  }
  if (method === 'sendMessage' && !text.trim()) return { error: 'Bad Request: message text is empty' };
  if (text.length > (method === 'sendMessage' ? TEXT_LIMIT : CAPTION_LIMIT)) return { error: method === 'sendMessage' ? 'Bad Request: message is too long' : 'Bad Request: message caption is too long' };
  const keyboard = (obj(body['reply_markup'])['inline_keyboard'] as unknown[] | undefined) ?? [];
  const buttons = keyboard.flatMap((row) => (Array.isArray(row) ? row : [])).map((b) => str(obj(b)['text'])).filter((t): t is string => Boolean(t));
  if (buttons.length) text = `${text}\n${buttons.map((b) => `[ ${b} ]`).join(' ')}`;
  const mediaField = MEDIA_FIELD[method];
  if (!mediaField) return { text };
  const media: SandboxMedia = { kind: mediaField === 'photo' ? 'image' : mediaField === 'voice' ? 'audio' : mediaField };
  const link = str(body[mediaField]);
  if (link && /^https?:\/\//.test(link)) media.url = link;
  return { text, media };
}

/**
 * A Telegram Bot API compatible fake, mounted at `/sandbox/telegram` so that
 * `TELEGRAM_API_URL=http://host:3000/sandbox/telegram` works unchanged: `POST /bot<token>/<method>`
 * (JSON, urlencoded or multipart; sendMessage, media sends, sendChatAction, answerCallbackQuery,
 * getFile, getMe) and `GET /file/bot<token>/<file_path>` (customer uploads). Same wire format as the
 * testkit fake; it exists here because production code must not import testkit.
 */
export function createFakeTelegramRouter(opts: FakeTelegramOptions): Router {
  const router = express.Router();
  let nextMessageId = 5000;

  router.get(/^\/file\/bot([^/]+)\/(.+)$/, (req, res) => {
    const m = /^\/file\/bot([^/]+)\/(.+)$/.exec(req.path)!;
    const file = opts.store.getMedia(decodeURIComponent(m[2]!).replace(/^uploads\//, ''));
    if (!safeEqual(decodeURIComponent(m[1]!), opts.botToken) || !file) {
      fail(res, 404, 'Not Found');
      return;
    }
    res.set('Content-Type', 'application/octet-stream').set('Content-Length', String(file.bytes.length)).send(file.bytes);
  });

  router.post(
    /^\/bot([^/]+)\/([A-Za-z]+)$/,
    express.json({ limit: '5mb' }),
    express.urlencoded({ extended: false, limit: '5mb' }),
    express.raw({ type: 'multipart/form-data', limit: '60mb' }),
    (req: Request, res: Response) => {
      const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(req.path)!;
      if (!safeEqual(decodeURIComponent(m[1]!), opts.botToken)) {
        fail(res, 401, 'Unauthorized');
        return;
      }
      let body: Obj = {};
      let upload: { field: string; filename: string } | undefined;
      if (Buffer.isBuffer(req.body)) {
        try {
          for (const [name, part] of parseMultipart(String(req.headers['content-type'] ?? ''), req.body)) {
            if (part.filename !== undefined) upload = { field: name, filename: part.filename };
            else body[name] = part.bytes.toString('utf8');
          }
          if (typeof body['reply_markup'] === 'string') body['reply_markup'] = JSON.parse(body['reply_markup']) as unknown;
        } catch {
          fail(res, 400, 'Bad Request: bad multipart body');
          return;
        }
      } else body = obj(req.body);
      const method = m[2]!;
      const chatId = str(body['chat_id']);
      switch (method) {
        case 'getMe':
          res.json({ ok: true, result: { id: Number(opts.botId), is_bot: true, first_name: 'Sandbox Bot', username: 'sandbox_bot' } });
          return;
        case 'sendChatAction':
          if (!chatId || !body['action']) return fail(res, 400, 'Bad Request: chat_id and action are required');
          opts.onChatAction?.(chatId, String(body['action']));
          res.json({ ok: true, result: true });
          return;
        case 'answerCallbackQuery':
          if (!body['callback_query_id']) return fail(res, 400, 'Bad Request: query is too old and response timeout expired or query ID is invalid');
          res.json({ ok: true, result: true });
          return;
        case 'getFile': {
          const id = str(body['file_id']) ?? '';
          const file = opts.store.getMedia(id);
          if (!file) return fail(res, 400, 'Bad Request: invalid file_id');
          res.json({ ok: true, result: { file_id: id, file_unique_id: `u${id.slice(-8)}`, file_size: file.bytes.length, file_path: `uploads/${id}` } });
          return;
        }
        default:
          break;
      }
      if (method !== 'sendMessage' && !MEDIA_FIELD[method]) return fail(res, 404, 'Not Found: method not found');
      if (!chatId) return fail(res, 400, 'Bad Request: chat_id is empty');
      const shown = describeTelegramSend(method, body);
      if ('error' in shown) return fail(res, 400, shown.error);
      const media = shown.media && upload ? { ...shown.media, filename: upload.filename } : shown.media;
      const messageId = nextMessageId++;
      const now = Date.now();
      const convId = conversationId({ channel: 'telegram', account: opts.botId, userId: chatId });
      const providerMessageId = `${chatId}:${messageId}`;
      // a human reply carries no id of ours on the wire: it is recognised by its text
      if (!opts.store.deliverHumanByText(convId, shown.text, providerMessageId, now)) {
        opts.store.add(convId, 'telegram', { author: 'bot', text: shown.text, ...(media ? { media } : {}), at: now, deliveredAt: now, providerMessageId });
      }
      res.json({ ok: true, result: { message_id: messageId, date: Math.floor(now / 1000), chat: { id: Number(chatId), type: 'private' }, ...(method === 'sendMessage' ? { text: shown.text } : { caption: shown.text }) } });
    },
  );

  router.use((_req, res) => fail(res, 404, 'Not Found'));
  return router;
}
