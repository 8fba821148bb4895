import { TelegramClient } from '@switchboard/channel-telegram/outbound';

/** The update kinds the gateway reads (everything else stays off the wire). */
export const ALLOWED_UPDATES = ['message', 'edited_message', 'callback_query', 'my_chat_member'] as const;

/** What {@link registerWebhook} needs from the configuration. */
export interface WebhookSettings {
  TELEGRAM_BOT_TOKEN?: string | undefined;
  TELEGRAM_WEBHOOK_SECRET?: string | undefined;
  TELEGRAM_API_URL: string;
}

/**
 * The webhook URL for a public base URL: `https://gw.example.com` → `…/webhooks/telegram`; a URL
 * with a path is taken as is. Telegram delivers only to HTTPS (checked unless a local Bot API
 * server or the fake is used).
 */
export function webhookUrl(publicUrl: string, apiUrl: string): string {
  let u: URL;
  try {
    u = new URL(publicUrl);
  } catch {
    throw new Error(`not a URL: ${publicUrl}`);
  }
  if (u.protocol !== 'https:' && apiUrl === 'https://api.telegram.org') throw new Error('Telegram delivers webhooks only to https:// URLs (ports 443, 80, 88 or 8443)');
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/webhooks/telegram';
  return u.toString();
}

/** Registers the webhook with the secret token and returns what Telegram reports back. */
export async function registerWebhook(cfg: WebhookSettings, publicUrl: string): Promise<{ url: string; pendingUpdates: number; lastError?: string }> {
  if (!cfg.TELEGRAM_BOT_TOKEN) throw new Error('TELEGRAM_BOT_TOKEN is not set');
  if (!cfg.TELEGRAM_WEBHOOK_SECRET) throw new Error('TELEGRAM_WEBHOOK_SECRET is not set (it becomes setWebhook secret_token)');
  const url = webhookUrl(publicUrl, cfg.TELEGRAM_API_URL);
  const client = new TelegramClient({ apiUrl: cfg.TELEGRAM_API_URL, token: cfg.TELEGRAM_BOT_TOKEN });
  await client.setWebhook(url, cfg.TELEGRAM_WEBHOOK_SECRET, { allowed_updates: ALLOWED_UPDATES });
  const info = await client.getWebhookInfo();
  return { url: info.url, pendingUpdates: info.pending_update_count, ...(info.last_error_message ? { lastError: info.last_error_message } : {}) };
}
