import {
  ConfigurationError,
  type GatewayError,
  ProviderRateLimitedError,
  ProviderRejectedError,
  ProviderUnavailableError,
} from '@switchboard/core';

/**
 * WeCom `errcode` → gateway errors. Match on the code only: `errmsg` carries changing hints and IPs.
 * @see https://developer.work.weixin.qq.com/document/path/90313
 */

/** Access token invalid (40014) or expired (42001): refresh once, retry once. */
export const TOKEN_ERRORS: ReadonlySet<number> = new Set([40014, 42001]);

/** Codes that mean the deployment is misconfigured: retrying cannot help and may get the IP blocked. */
const CONFIG_ERRORS: Record<number, string> = {
  40001: 'invalid secret (WECHAT_SECRET); repeated attempts block the server IP for an hour',
  40013: 'invalid corp id (WECHAT_CORP_ID)',
  40056: 'invalid agentid',
  41001: 'access token missing',
  41004: 'secret missing',
  48002: 'API forbidden for this app',
  60020: 'server IP is not in the app trusted IP list (企业可信IP)',
  95000: 'invalid open_kfid',
  95004: 'open_kfid missing or not found',
  95011: 'secret edition mismatch',
  95012: 'secret edition mismatch',
  95017: 'kf API switch is off',
  95023: 'kf access granted to a 代开发 app',
};

/** Codes for which this particular send is refused for good. */
const REJECTED: Record<number, string> = {
  95001: 'over the 5-message limit for this customer message',
  95002: 'outside the 48 h window',
  95008: 'msgmenu has more than 10 items',
  95009: 'invalid msgmenu item type',
  95013: 'session already ended',
  95016: 'state transition not allowed',
  95018: 'session state does not allow sending (a human holds the session)',
  95019: 'servicer stopped or suspended',
  95030: 'message type banned by the kf component',
  95031: 'customer has not written within 48 h',
  40004: 'invalid media type',
  40005: 'invalid file type',
  40006: 'invalid file size',
  40007: 'invalid media_id',
  40009: 'invalid image size',
  40011: 'invalid video size',
  40058: 'invalid parameter',
  44004: 'empty text content',
  45002: 'content too long',
};

/** Why a codes was refused, in words (for failed-job reasons and logs). */
export function describeErrcode(code: number): string {
  return CONFIG_ERRORS[code] ?? REJECTED[code] ?? (code === 45009 ? 'frequency limit' : code === 45033 ? 'concurrency limit' : code === -1 ? 'system busy' : 'unknown error');
}

/** Converts an error answer of `api` into the typed error the queues understand. */
export function wechatApiError(api: string, errcode: number, errmsg: string): GatewayError {
  const what = `wechat ${api} failed: errcode ${errcode} (${describeErrcode(errcode)})`;
  const cause = { errcode, errmsg };
  if (errcode === 45009) return new ProviderRateLimitedError(what, { providerCode: errcode, retryAfterMs: 60_000, cause });
  if (errcode === 45033) return new ProviderRateLimitedError(what, { providerCode: errcode, retryAfterMs: 5_000, cause });
  if (errcode === -1 || TOKEN_ERRORS.has(errcode)) return new ProviderUnavailableError(what, { providerCode: errcode, cause });
  if (CONFIG_ERRORS[errcode]) return new ConfigurationError(what, cause);
  return new ProviderRejectedError(what, { providerCode: errcode, cause });
}
