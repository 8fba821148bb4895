import { jsonNestingExceeds, webhookPayloadBytes, type InboundAdapter } from '@switchboard/core';
import type { TelegramGroupMode } from './telegram.env.js';
import { parseUpdate } from './telegram.parse.js';
import { SECRET_HEADER, verifySecretToken } from './telegram.verify.js';

/** Options of {@link createTelegramInboundAdapter}. */
export interface TelegramInboundOptions {
  /** TELEGRAM_WEBHOOK_SECRET: the `secret_token` the webhook was registered with. */
  webhookSecret: string;
  /** The numeric bot id (prefix of TELEGRAM_BOT_TOKEN, see `botIdFromToken`). */
  botId: string;
  /** The bot's @username without `@` (from `getMe`), to recognise mentions in groups. */
  botUsername?: string;
  /** TELEGRAM_GROUP_MODE (default `mention`). */
  groupMode?: TelegramGroupMode;
}

/** The inbound half: secret header check, then JSON-parse, then normalize the update. */
export function createTelegramInboundAdapter(opts: TelegramInboundOptions): InboundAdapter<unknown> {
  const parseOpts = { botId: opts.botId, groupMode: opts.groupMode ?? 'mention', ...(opts.botUsername ? { botUsername: opts.botUsername } : {}) } as const;
  return {
    channel: 'telegram',
    verify(req) {
      const given = req.headers[SECRET_HEADER];
      if (given === undefined) return { ok: false, status: 401, reason: 'missing X-Telegram-Bot-Api-Secret-Token' };
      if (!verifySecretToken(given, opts.webhookSecret)) return { ok: false, status: 401, reason: 'X-Telegram-Bot-Api-Secret-Token mismatch' };
      // Telegram does not compress; a gzip/deflate body is inflated with the ingress's cap all the same
      const body = webhookPayloadBytes(req);
      if (!body.ok) return body;
      if (jsonNestingExceeds(body.body)) return { ok: false, status: 400, reason: 'JSON nested too deeply' };
      try {
        return { ok: true, payload: JSON.parse(body.body.toString('utf8')) as unknown };
      } catch {
        return { ok: false, status: 400, reason: 'body is not valid JSON' };
      }
    },
    parse: (payload, ctx) => parseUpdate(payload, parseOpts, ctx),
  };
}
