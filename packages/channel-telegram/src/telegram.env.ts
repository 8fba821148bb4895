import { z } from 'zod';
import { optional, port, url } from '@switchboard/core';

/** How the bot treats group chats: answer when mentioned or replied to, answer everything, or ignore groups. */
export const TelegramGroupMode = z.enum(['mention', 'all', 'off']);
export type TelegramGroupMode = z.infer<typeof TelegramGroupMode>;

const blank = (v: unknown): unknown => (typeof v === 'string' && v.trim() === '' ? undefined : typeof v === 'string' ? v.trim().toLowerCase() : v);

const TOKEN = /^\d{1,20}:[A-Za-z0-9_-]{20,}$/;
const TOKEN_HINT = 'must look like "123456789:AA…" (the token @BotFather gives)';
const SECRET = /^[A-Za-z0-9_-]{1,256}$/;
const SECRET_HINT = 'must be 1-256 characters of A-Z, a-z, 0-9, _ and -';
const USERNAME = /^@?[A-Za-z0-9_]{3,64}$/;

/**
 * Telegram Bot API settings (configuration contract, "Channels and accounts").
 * Without `TELEGRAM_BOT_TOKEN` the channel is disabled.
 */
export const telegramEnv = {
  TELEGRAM_PORT: port(3004),
  /** `<bot id>:<secret>` from @BotFather. */
  TELEGRAM_BOT_TOKEN: optional().pipe(
    z.string().regex(TOKEN, TOKEN_HINT).optional(),
  ),
  /** Sent by Telegram in `X-Telegram-Bot-Api-Secret-Token`: 1–256 of `A-Z a-z 0-9 _ -` (setWebhook `secret_token`). */
  TELEGRAM_WEBHOOK_SECRET: optional().pipe(z.string().regex(SECRET, SECRET_HINT).optional()),
  TELEGRAM_API_URL: url('https://api.telegram.org'),
  /** The bot's @username (without `@`) for recognising mentions in groups; unset = asked once with `getMe` at start. */
  TELEGRAM_BOT_USERNAME: optional().pipe(z.string().regex(USERNAME, 'must be the bot username, e.g. northwind_shop_bot').transform((s) => s.replace(/^@/, '')).optional()),
  TELEGRAM_GROUP_MODE: z.preprocess(blank, TelegramGroupMode.default('mention')),
  /**
   * Sends per second for the bot. Telegram's broadcast limit is about 30 messages per second
   * (and 1 per second per chat, 20 per minute per group); 429 `retry_after` covers the rest.
   */
  TELEGRAM_SEND_RATE: z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), z.coerce.number().int().min(1).max(1000).default(25)),
};

/** The numeric bot id: the part of the token before the colon (the bot's own user id). */
export function botIdFromToken(token: string): string {
  const id = token.split(':', 1)[0] ?? '';
  if (!/^\d+$/.test(id)) throw new Error('TELEGRAM_BOT_TOKEN must start with the numeric bot id ("123456789:AA…")');
  return id;
}


/** The keys of a Telegram bot in `ACCOUNTS_FILE` (both halves read them). */
export const telegramAccountFields = z.strictObject({
  botToken: z.string().regex(TOKEN, TOKEN_HINT),
  webhookSecret: z.string().regex(SECRET, SECRET_HINT),
  /** Without it the ingress asks `getMe` once at start. */
  botUsername: z.string().regex(USERNAME, 'must be the bot username, e.g. northwind_shop_bot').transform((s) => s.replace(/^@/, '')).optional(),
  groupMode: TelegramGroupMode.optional(),
  /** Sends per second of this bot (default TELEGRAM_SEND_RATE). */
  sendRate: z.number().int().min(1).max(1000).optional(),
});
export type TelegramAccountFields = z.output<typeof telegramAccountFields>;
