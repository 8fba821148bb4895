import { createHmac } from 'node:crypto';
import { safeEqual, type ApiCallbackJob } from '@switchboard/core';

/** The header that carries a callback's signature. */
export const API_CALLBACK_SIGNATURE_HEADER = 'X-Switchboard-Signature';

/** The body posted for one callback: `{id, status, at, error?}`, `at` as ISO 8601 (UTC), keys in this order. */
export function apiCallbackBody(job: ApiCallbackJob): string {
  return JSON.stringify({ id: job.id, status: job.status, at: new Date(job.at).toISOString(), ...(job.error ? { error: job.error } : {}) });
}

/** `sha256=<hex HMAC-SHA256 of the raw body with the secret>`. */
export function signApiCallback(rawBody: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

/** Checks a received signature over the raw body, in constant time (what a receiver does). */
export function verifyApiCallback(rawBody: string | Buffer, secret: string, header: string | undefined): boolean {
  return header !== undefined && safeEqual(header, signApiCallback(rawBody, secret));
}
