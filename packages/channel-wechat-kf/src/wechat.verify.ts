import { DEFAULT_ACCOUNT_ID, jobId, shortHash, type VerifyResult, type WebhookRequest, type WechatSyncJob } from '@switchboard/core';
import { verifyAndDecrypt, type WechatCryptoKeys } from './wechat.crypto.js';
import { extractEncrypt, parseCallback, type WechatCallback } from './wechat.parse.js';

/**
 * Request-level verification of 微信客服 callbacks (pure: raw bytes + query + clock in, result out).
 * @see https://developer.work.weixin.qq.com/document/path/90968
 */

/** Keys plus the timestamp window of the ingress. */
export interface CallbackVerifier extends WechatCryptoKeys {
  /** 0 disables the timestamp check. */
  readonly timestampWindowSec: number;
}

/**
 * Parses a raw query string without turning `+` into a space (WeCom URL-encodes `echostr`, but a
 * proxy or a hand-made request may not); percent-escapes are decoded, malformed ones kept as-is.
 */
export function parseRawQuery(search: string): Record<string, string> {
  const out: Record<string, string> = {};
  const q = search.startsWith('?') ? search.slice(1) : search;
  for (const pair of q.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    const key = safeDecode(rawKey);
    if (!(key in out)) out[key] = safeDecode(rawValue);
  }
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** GET URL verification: returns the decrypted `echostr`, which must be the whole response body. */
export function verifyEcho(v: CallbackVerifier, query: Readonly<Record<string, string | undefined>>, now: number): VerifyResult<string> {
  const r = verifyAndDecrypt(
    v,
    { msgSignature: query['msg_signature'], timestamp: query['timestamp'], nonce: query['nonce'], encrypted: query['echostr'] },
    now,
    v.timestampWindowSec,
  );
  if (!r.ok) return { ok: false, status: r.status, reason: r.reason };
  return { ok: true, payload: r.plaintext };
}

/**
 * POST event notice: signature over `Encrypt`, timestamp window, decryption, receive id = corp id,
 * then the notice parsed. Malformed → 400, bad signature → 401, wrong key/corp/stale → 403.
 */
export function verifyCallback(v: CallbackVerifier, req: WebhookRequest): VerifyResult<WechatCallback> {
  const body = req.rawBody.toString('utf8');
  const outer = extractEncrypt(body);
  if (!outer.ok) return { ok: false, status: 400, reason: outer.reason };
  const r = verifyAndDecrypt(
    v,
    { msgSignature: req.query['msg_signature'], timestamp: req.query['timestamp'], nonce: req.query['nonce'], encrypted: outer.encrypt },
    req.now,
    v.timestampWindowSec,
  );
  if (!r.ok) return { ok: false, status: r.status, reason: r.reason };
  const parsed = parseCallback(r.plaintext);
  if (!parsed.ok) return { ok: false, status: 400, reason: parsed.reason };
  return { ok: true, payload: parsed.callback };
}

/**
 * The `wechat-sync` job of a `kf_msg_or_event` notice and its id. WeCom's retries of one notice carry
 * the same `Token` (and the same ciphertext), so they collapse into one job. The id is per corp and
 * open_kfid, so two corps never share one; `accountId` (a gateway account other than `default`)
 * tells the worker which corp's client, cursors and agent serve the job.
 */
export function syncJobFor(
  callback: Extract<WechatCallback, { kind: 'kf_msg_or_event' }>,
  corpId: string,
  receivedAt: number,
  rawBody: Buffer,
  accountId: string = DEFAULT_ACCOUNT_ID,
): { jobId: string; data: WechatSyncJob } {
  const key = callback.token ?? rawBody.toString('utf8');
  return {
    jobId: jobId('wxs', shortHash(`${corpId}|${callback.openKfId ?? ''}|${key}`, 32)),
    data: {
      // the default account's jobs stay as they were: a job without an account id means `default`
      ...(accountId !== DEFAULT_ACCOUNT_ID ? { accountId } : {}),
      corpId,
      receivedAt,
      ...(callback.openKfId ? { openKfId: callback.openKfId } : {}),
      ...(callback.token ? { token: callback.token } : {}),
    },
  };
}
