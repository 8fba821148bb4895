import { createHmac } from 'node:crypto';
import { safeEqual } from '@switchboard/core';

/** Inputs of {@link verifyChatwootSignature}. Headers are lower-cased. */
export interface ChatwootSignatureInput {
  readonly rawBody: Buffer;
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** Accepted secrets (agent bot, API inbox, account webhook each have their own). Empty = signing off. */
  readonly secrets: readonly string[];
  /** Injectable clock, ms. */
  readonly now: number;
  /** Replay window, seconds, either side of `now`. */
  readonly windowSec: number;
}

export type ChatwootSignatureResult = { readonly ok: true; readonly signed: boolean } | { readonly ok: false; readonly reason: string };

const SIGNATURE = /^sha256=[0-9a-f]{64}$/i;

/**
 * Verifies `X-Chatwoot-Signature` = `sha256=` + hex HMAC-SHA256(secret, `"{X-Chatwoot-Timestamp}.{raw body}"`)
 * over the exact bytes received, constant time, against every configured secret.
 * Never throws. With no secrets configured every request is accepted (`signed: false`): older
 * Chatwoot versions (before 4.13.0 for bots and API inboxes) do not sign.
 * @see https://github.com/chatwoot/chatwoot/blob/develop/lib/webhooks/trigger.rb
 */
export function verifyChatwootSignature(input: ChatwootSignatureInput): ChatwootSignatureResult {
  if (input.secrets.length === 0) return { ok: true, signed: false };
  const ts = input.headers['x-chatwoot-timestamp']?.trim();
  const sig = input.headers['x-chatwoot-signature']?.trim();
  if (!ts || !sig) return { ok: false, reason: 'missing signature headers' };
  if (!/^\d{1,12}$/.test(ts)) return { ok: false, reason: 'malformed timestamp' };
  if (Math.abs(input.now / 1000 - Number(ts)) > input.windowSec) return { ok: false, reason: 'timestamp outside window' };
  if (!SIGNATURE.test(sig)) return { ok: false, reason: 'malformed signature' };
  const got = Buffer.from(sig.toLowerCase(), 'utf8');
  let match = false;
  for (const secret of input.secrets) {
    const want = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${ts}.`).update(input.rawBody).digest('hex')}`, 'utf8');
    // every secret is compared (no early exit) so timing does not reveal which one matched
    if (safeEqual(want, got)) match = true;
  }
  return match ? { ok: true, signed: true } : { ok: false, reason: 'signature mismatch' };
}
