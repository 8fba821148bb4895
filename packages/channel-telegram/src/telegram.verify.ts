import { safeEqual } from '@switchboard/core';

/** The header Telegram sets to the `secret_token` given to `setWebhook`. */
export const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

/**
 * Checks `X-Telegram-Bot-Api-Secret-Token` against the configured secret in constant time.
 * Telegram does not sign the body: the secret header is the only proof of origin.
 * @see https://core.telegram.org/bots/api#setwebhook
 */
export function verifySecretToken(header: string | undefined, secret: string): boolean {
  if (header === undefined || secret === '') return false;
  return safeEqual(header, secret);
}
