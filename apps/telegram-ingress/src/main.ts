import type { Logger } from '@switchboard/core';
import { telegramDefaultAccount, telegramEnv, telegramInbound } from '@switchboard/channel-telegram/inbound';
import { TelegramClient } from '@switchboard/channel-telegram/outbound';
import { runIngress } from '@switchboard/ingress';

/** The bot's @username for group mentions: configured, or asked once with getMe (a failure only disables mention detection). */
async function botUsername(cfg: { TELEGRAM_API_URL: string; TELEGRAM_BOT_USERNAME?: string | undefined }, token: string, log: Logger): Promise<string | undefined> {
  if (cfg.TELEGRAM_BOT_USERNAME) return cfg.TELEGRAM_BOT_USERNAME;
  try {
    return (await new TelegramClient({ apiUrl: cfg.TELEGRAM_API_URL, token, timeoutMs: 5000 }).getMe()).username;
  } catch (err) {
    log.warn('getMe failed: group mentions by @username are not recognised until TELEGRAM_BOT_USERNAME is set', { err: err instanceof Error ? err.message : String(err) });
    return undefined;
  }
}

/** Composition root of telegram-ingress (port TELEGRAM_PORT, default 3004). */
runIngress({
  service: 'telegram-ingress',
  inbound: telegramInbound,
  env: telegramEnv,
  port: (cfg) => cfg.TELEGRAM_PORT,
  accounts: async (cfg, log) => [await telegramDefaultAccount(cfg, log, (token) => botUsername(cfg, token, log))],
});
