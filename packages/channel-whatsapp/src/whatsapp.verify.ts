import { createHmac, timingSafeEqual } from 'node:crypto';
import { safeEqual } from '@switchboard/core';

/**
 * Checks `X-Hub-Signature-256` over the exact raw request bytes.
 * Meta signs the escaped wire form (`\u00e9`, `\/`), so the body must never be re-serialised first.
 * @see https://developers.facebook.com/docs/graph-api/webhooks/getting-started#verification-requests
 */
export function verifyMetaSignature(raw: Buffer, header: string | undefined, appSecret: string): boolean {
  if (!header || !header.startsWith('sha256=')) return false;
  const hex = header.slice('sha256='.length).trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return false;
  const given = Buffer.from(hex, 'hex');
  const expected = createHmac('sha256', appSecret).update(raw).digest();
  // both are 32 bytes (checked above): a plain constant-time compare reveals nothing, and skips
  // the two extra SHA-256 digests safeEqual takes to hide lengths
  return timingSafeEqual(given, expected);
}

/** The constant-time compare of `core`, re-exported for the inbound entry point. */
export { safeEqual };

/**
 * The GET subscription handshake: `hub.mode=subscribe` and a matching `hub.verify_token` →
 * the challenge, verbatim; anything else → undefined (answer 403).
 */
export function verifySubscription(query: Readonly<Record<string, unknown>>, verifyToken: string): string | undefined {
  const mode = query['hub.mode'];
  const token = query['hub.verify_token'];
  const challenge = query['hub.challenge'];
  if (mode !== 'subscribe' || typeof token !== 'string' || typeof challenge !== 'string') return undefined;
  return safeEqual(token, verifyToken) ? challenge : undefined;
}
