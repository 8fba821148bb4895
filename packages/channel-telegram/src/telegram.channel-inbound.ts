import { ConfigError, DEFAULT_ACCOUNT_ID, defineAccountFile, type AccountEntry, type AccountInbound, type ChannelAccount, type ChannelInbound, type InboundAdapter, type Logger } from '@switchboard/core';
import { botIdFromToken, telegramAccountFields, type TelegramGroupMode } from './telegram.env.js';
import { createTelegramInboundAdapter, type TelegramInboundOptions } from './telegram.inbound.js';

/** One Telegram bot's inbound settings. */
export type TelegramInboundSettings = { readonly enabled: false } | ({ readonly enabled: true } & TelegramInboundOptions);

/** An account's inbound half from a built adapter (no GET: Telegram has no subscription check). */
export function telegramAccountInbound(adapter: InboundAdapter<unknown>): AccountInbound<unknown> {
  return { adapter };
}

/** The inbound half of the Telegram channel (`/webhooks/telegram[/<accountId>]`, port 3004). */
export const telegramInbound: ChannelInbound<TelegramInboundSettings> = {
  channel: 'telegram',
  route: 'telegram',
  // an update is small; files are never in the body (1 MB leaves room for long texts and entities)
  bodyLimit: '1mb',
  errorFormat: 'json',
  unsupported: 'enqueue',
  accountFile: defineAccountFile(telegramAccountFields, (f) => ({
    enabled: true,
    webhookSecret: f.webhookSecret,
    botId: botIdFromToken(f.botToken),
    groupMode: f.groupMode ?? 'mention',
    ...(f.botUsername ? { botUsername: f.botUsername } : {}),
  })),
  createInbound(account) {
    const s = account.settings;
    if (!s.enabled) return { enabled: false, reason: 'TELEGRAM_BOT_TOKEN is not set' };
    const { enabled: _enabled, ...opts } = s;
    return { enabled: true, inbound: telegramAccountInbound(createTelegramInboundAdapter(opts)) };
  },
  answer: () => ({ type: 'json', body: { ok: true } }),
};

/** The variables of `telegramEnv` that define the default bot's inbound half. */
export interface TelegramInboundEnv {
  readonly TELEGRAM_BOT_TOKEN?: string | undefined;
  readonly TELEGRAM_WEBHOOK_SECRET?: string | undefined;
  readonly TELEGRAM_GROUP_MODE: TelegramGroupMode;
}

/**
 * The `default` bot from the Telegram variables: disabled (warned) without a token; a token without
 * TELEGRAM_WEBHOOK_SECRET stops the start. `username` finds the bot's @username for group mentions
 * (configured or asked with getMe by the caller; undefined only disables mention detection).
 */
export async function telegramDefaultAccount(cfg: TelegramInboundEnv, log: Logger, username: (token: string) => Promise<string | undefined>): Promise<ChannelAccount<TelegramInboundSettings>> {
  const token = cfg.TELEGRAM_BOT_TOKEN;
  if (!token) {
    log.warn('Telegram channel disabled: set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET to enable it');
    return { id: DEFAULT_ACCOUNT_ID, settings: { enabled: false } };
  }
  if (!cfg.TELEGRAM_WEBHOOK_SECRET) throw new ConfigError(['TELEGRAM_WEBHOOK_SECRET: required with TELEGRAM_BOT_TOKEN (the secret_token of setWebhook)']);
  const botUsername = await username(token);
  return {
    id: DEFAULT_ACCOUNT_ID,
    settings: { enabled: true, webhookSecret: cfg.TELEGRAM_WEBHOOK_SECRET, botId: botIdFromToken(token), groupMode: cfg.TELEGRAM_GROUP_MODE, ...(botUsername ? { botUsername } : {}) },
  };
}

/**
 * Completes a bot of `ACCOUNTS_FILE` at start: without `botUsername`, `username(botToken)` finds its
 * @username (getMe, by the caller) for group mentions, as for the default bot. undefined (the Bot API
 * could not be asked) leaves the account as it is: only mention detection by @username is off.
 */
export async function completeTelegramFileAccount(
  account: ChannelAccount<TelegramInboundSettings> & { readonly entry: AccountEntry },
  username: (token: string) => Promise<string | undefined>,
): Promise<ChannelAccount<TelegramInboundSettings>> {
  const s = account.settings;
  if (!s.enabled || s.botUsername) return account;
  // the inbound settings keep no token: read it again from the (already checked) entry
  const { botToken } = telegramAccountFields.parse(account.entry.fields);
  const botUsername = await username(botToken);
  return botUsername ? { ...account, settings: { ...s, botUsername } } : account;
}
