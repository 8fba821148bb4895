import { safeEqual } from '@switchboard/core';
import { decrypt, getSignature } from '@wecom/crypto';

/**
 * Callback cryptography: what `@wecom/crypto` leaves to the caller.
 * The library computes signatures and runs AES, but it does not compare `msg_signature`, does not
 * check the receive id (a wrong key decrypts to garbage with `id: ''` instead of throwing) and
 * throws `RangeError`/OpenSSL errors on malformed input.
 * @see https://developer.work.weixin.qq.com/document/path/91144
 * @see https://developer.work.weixin.qq.com/document/path/90968
 */

/** Keys of one callback configuration. */
export interface WechatCryptoKeys {
  readonly token: string;
  readonly aesKey: string;
  readonly corpId: string;
}

/** The signed parameters of a callback request. */
export interface SignedParams {
  readonly msgSignature: string | undefined;
  readonly timestamp: string | undefined;
  readonly nonce: string | undefined;
  /** `Encrypt` of a POST body, or `echostr` of a GET verification. */
  readonly encrypted: string | undefined;
}

/** Why a callback was refused; `status` is the HTTP answer. */
export type CryptoFailure =
  | { readonly ok: false; readonly status: 400; readonly reason: 'missing_params' | 'malformed_ciphertext' }
  | { readonly ok: false; readonly status: 401; readonly reason: 'bad_signature' }
  | { readonly ok: false; readonly status: 403; readonly reason: 'stale_timestamp' | 'decrypt_failed' | 'receiveid_mismatch' };

export type DecryptResult = { readonly ok: true; readonly plaintext: string } | CryptoFailure;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Query parsers (qs, URLSearchParams) turn a literal `+` into a space. Base64 never contains spaces,
 * so putting the `+` back is always safe.
 */
export function repairBase64(value: string): string {
  return value.replace(/ /g, '+');
}

/** `sha1(sort([token, timestamp, nonce, encrypted]).join(''))`, lower-case hex. */
export function wechatSignature(token: string, timestamp: string, nonce: string, encrypted: string): string {
  return getSignature(token, timestamp, nonce, encrypted);
}

/** Constant-time comparison of two hex signatures (case-insensitive). */
export function signatureMatches(expected: string, given: string): boolean {
  return safeEqual(expected.toLowerCase(), given.toLowerCase());
}

/**
 * Verifies `msg_signature`, the timestamp window, decrypts and checks that the receive id equals the
 * corp id. Never throws for bad input.
 * @param nowMs injectable clock
 * @param windowSec maximum |now - timestamp|; 0 disables the check
 */
export function verifyAndDecrypt(keys: WechatCryptoKeys, params: SignedParams, nowMs: number, windowSec: number): DecryptResult {
  const { msgSignature, timestamp, nonce } = params;
  if (!msgSignature || !timestamp || !nonce || !params.encrypted) return { ok: false, status: 400, reason: 'missing_params' };
  // only line breaks and tabs are trimmed: a space at either end is a `+` the query parser turned into one
  const encrypted = repairBase64(params.encrypted.replace(/^[\t\r\n]+|[\t\r\n]+$/g, ''));
  if (!signatureMatches(wechatSignature(keys.token, timestamp, nonce, encrypted), msgSignature)) {
    return { ok: false, status: 401, reason: 'bad_signature' };
  }
  if (windowSec > 0) {
    const ts = Number(timestamp);
    if (!Number.isFinite(ts) || Math.abs(nowMs / 1000 - ts) > windowSec) return { ok: false, status: 403, reason: 'stale_timestamp' };
  }
  // AES-CBC needs whole 16-byte blocks and WeCom pads to 32; anything else is not a WeCom ciphertext.
  const bytes = BASE64.test(encrypted) ? Buffer.from(encrypted, 'base64') : undefined;
  if (!bytes || bytes.length < 32 || bytes.length % 16 !== 0) return { ok: false, status: 400, reason: 'malformed_ciphertext' };
  let out: { message: string; id: string };
  try {
    out = decrypt(keys.aesKey, encrypted);
  } catch {
    return { ok: false, status: 403, reason: 'decrypt_failed' };
  }
  // A wrong key yields garbage (often id ''), never an exception: the receive id is the real check.
  if (out.id !== keys.corpId) return { ok: false, status: 403, reason: 'receiveid_mismatch' };
  return { ok: true, plaintext: out.message };
}
