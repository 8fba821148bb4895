import { createHash, timingSafeEqual } from 'node:crypto';

/** The header Telegram sets to the `secret_token` given to `setWebhook`. */
export const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Checks `X-Telegram-Bot-Api-Secret-Token` against the configured secret in constant time.
 * Telegram does not sign the body: the secret header is the only proof of origin. Both sides are
 * hashed first so the comparison takes the same time whatever the length of the given value.
 * @see https://core.telegram.org/bots/api#setwebhook
 */
export function verifySecretToken(header: string | undefined, secret: string): boolean {
  if (header === undefined || secret === '') return false;
  return timingSafeEqual(digest(header), digest(secret));
}
