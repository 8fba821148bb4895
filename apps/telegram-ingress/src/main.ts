import type { Logger } from '@switchboard/core';
import { askBotUsername, completeTelegramFileAccount, telegramDefaultAccount, telegramEnv, telegramInbound } from '@switchboard/channel-telegram/inbound';
import { runIngress } from '@switchboard/ingress';

/**
 * A bot's @username for group mentions, asked once with getMe. A failure only disables mention
 * detection of that bot: warned with its account id and what to configure (never the token).
 */
async function askUsername(apiUrl: string, token: string, account: string, setting: string, log: Logger): Promise<string | undefined> {
  try {
    return await askBotUsername(apiUrl, token);
  } catch (err) {
    log.warn("getMe failed: group mentions by @username are not recognised until the bot's username is configured", { account, setting, err: err instanceof Error ? err.message : String(err) });
    return undefined;
  }
}

/** Composition root of telegram-ingress (port TELEGRAM_PORT, default 3004). */
runIngress({
  service: 'telegram-ingress',
  inbound: telegramInbound,
  env: telegramEnv,
  port: (cfg) => cfg.TELEGRAM_PORT,
  accounts: async (cfg, log) => [
    await telegramDefaultAccount(cfg, log, async (token) => cfg.TELEGRAM_BOT_USERNAME ?? (await askUsername(cfg.TELEGRAM_API_URL, token, 'default', 'TELEGRAM_BOT_USERNAME', log))),
  ],
  completeFileAccount: (account, cfg, log) => completeTelegramFileAccount(account, (token) => askUsername(cfg.TELEGRAM_API_URL, token, account.id, `${account.entry.where}.botUsername`, log)),
});
