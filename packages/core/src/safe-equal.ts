import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (v: string | Buffer): Buffer => createHash('sha256').update(v).digest();

/**
 * Constant-time equality of two secrets, signatures or tokens: the one comparison every verifier
 * and the admin auth use. Both sides are hashed first, so the time taken reveals neither where
 * the values differ nor their lengths. Strings are compared as UTF-8 bytes.
 */
export function safeEqual(a: string | Buffer, b: string | Buffer): boolean {
  return timingSafeEqual(digest(a), digest(b));
}
