import {
  ConfigurationError,
  neverConnected,
  ProviderRateLimitedError,
  ProviderRejectedError,
  ProviderUnavailableError,
  type GatewayError,
} from '@switchboard/core';
import type { TgResponse } from './telegram.wire.js';

/**
 * Stable `providerCode`s of refusals. Telegram has no error codes beyond the HTTP-like
 * `error_code`; the `description` text is the only distinction, so it is matched here, once.
 */
export const TelegramRefusal = {
  /** 403 "Forbidden: bot was blocked by the user": never retry; mark the conversation. */
  botBlocked: 'bot_blocked',
  /** 403 "Forbidden: user is deactivated". */
  userDeactivated: 'user_deactivated',
  /** 403 "Forbidden: bot was kicked from the (super)group chat" / "bot is not a member". */
  botKicked: 'bot_kicked',
  /** 403 "Forbidden: bot can't initiate conversation with a user" (the user never pressed Start). */
  cannotInitiate: 'cannot_initiate',
  /** 400 "Bad Request: can't parse entities": the formatting was refused; resend as plain text. */
  cannotParseEntities: 'cannot_parse_entities',
  /** 400 "Bad Request: chat not found". */
  chatNotFound: 'chat_not_found',
  /** 400 with `parameters.migrate_to_chat_id`: the group became a supergroup with a new id. */
  chatMigrated: 'chat_migrated',
  /** 400 "Bad Request: query is too old and response timeout expired or query ID is invalid". */
  queryTooOld: 'query_too_old',
  /** Any other 400 / 403. */
  badRequest: 'bad_request',
  forbidden: 'forbidden',
} as const;
export type TelegramRefusal = (typeof TelegramRefusal)[keyof typeof TelegramRefusal];

/** Refusals that mean the customer cannot be reached any more (the conversation should be marked). */
export const UNREACHABLE: ReadonlySet<string> = new Set([TelegramRefusal.botBlocked, TelegramRefusal.userDeactivated, TelegramRefusal.botKicked]);

function refusalOf(status: number, description: string, body: TgResponse | undefined): TelegramRefusal {
  const d = description.toLowerCase();
  if (status === 403) {
    if (d.includes('blocked by the user')) return TelegramRefusal.botBlocked;
    if (d.includes('user is deactivated')) return TelegramRefusal.userDeactivated;
    if (d.includes('kicked') || d.includes('not a member')) return TelegramRefusal.botKicked;
    if (d.includes("can't initiate")) return TelegramRefusal.cannotInitiate;
    return TelegramRefusal.forbidden;
  }
  if (body?.parameters?.migrate_to_chat_id !== undefined) return TelegramRefusal.chatMigrated;
  if (d.includes("can't parse entities") || d.includes('can\'t find end of')) return TelegramRefusal.cannotParseEntities;
  if (d.includes('chat not found')) return TelegramRefusal.chatNotFound;
  if (d.includes('query is too old') || d.includes('query id is invalid')) return TelegramRefusal.queryTooOld;
  return TelegramRefusal.badRequest;
}

/**
 * Maps a failed Bot API call to a gateway error.
 * - 429 → rate limited for `parameters.retry_after` seconds (the queue limiter pauses);
 * - 403 → refused for good (`bot_blocked`, …), never retried;
 * - 401 / 404 → the token is wrong (Telegram answers 404 for an unknown bot token);
 * - 5xx or no answer → unavailable, retried; the send may have happened unless nothing connected.
 * @see https://core.telegram.org/bots/api#making-requests
 * @see https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
 */
export function classifyTelegramError(method: string, httpStatus: number | undefined, body: TgResponse | undefined, cause?: unknown): GatewayError {
  const status = body?.error_code ?? httpStatus;
  const description = body?.description ?? (httpStatus === undefined ? 'no response' : `HTTP ${httpStatus}`);
  const msg = `Telegram ${method} ${status ?? 'network'}: ${description}`;
  if (status === undefined || httpStatus === undefined) {
    return new ProviderUnavailableError(msg, { providerCode: 'network', outcomeUnknown: !neverConnected(cause), cause });
  }
  if (status === 429) {
    const seconds = body?.parameters?.retry_after;
    const retryAfterMs = typeof seconds === 'number' && seconds > 0 ? Math.ceil(seconds * 1000) : 1000;
    return new ProviderRateLimitedError(msg, { providerCode: 429, retryAfterMs, cause });
  }
  if (status >= 500 || httpStatus >= 500 || status === 408) return new ProviderUnavailableError(msg, { providerCode: status, outcomeUnknown: true, cause });
  if (status === 401 || status === 404) return new ConfigurationError(`${msg} (check the bot token: TELEGRAM_BOT_TOKEN, or botToken of the account in ACCOUNTS_FILE)`, cause);
  const refusal = refusalOf(status, description, body);
  const extra = refusal === TelegramRefusal.chatMigrated ? ` (migrate_to_chat_id ${body?.parameters?.migrate_to_chat_id})` : '';
  return new ProviderRejectedError(`${msg}${extra}`, { providerCode: refusal, cause });
}
