import {
  ConfigurationError,
  neverConnected,
  ProviderRateLimitedError,
  ProviderRejectedError,
  ProviderUnavailableError,
  type GatewayError,
} from '@switchboard/core';

/** Graph error body: `{ error: { code, message, error_data: { details }, fbtrace_id } }`. */
export interface GraphErrorBody {
  error?: { code?: number; message?: string; error_data?: { details?: string }; fbtrace_id?: string };
}

const TEMPORARY = new Set([1, 2, 131000, 131016, 133004, 131057, 2494100]);
const AUTH = new Set([0, 190]);

/** WhatsApp 131047: the 24 h customer-service window is closed; only templates may be sent. */
export const WINDOW_CLOSED = 131047;

/**
 * Maps a Graph API failure to a gateway error by `error.code` (never by HTTP status alone).
 * @see https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
 */
export function classifyGraphError(httpStatus: number | undefined, body: GraphErrorBody | undefined, cause?: unknown): GatewayError {
  const code = body?.error?.code;
  const detail = [body?.error?.message, body?.error?.error_data?.details].filter(Boolean).join(' — ') || `HTTP ${httpStatus ?? 'error'}`;
  const msg = `WhatsApp ${code ?? httpStatus ?? 'network'}: ${detail}`;
  if (code === undefined) {
    // no Graph error body: the request may have been performed (no idempotency key on /messages)
    if (httpStatus === undefined || httpStatus >= 500 || httpStatus === 408) {
      return new ProviderUnavailableError(msg, { providerCode: httpStatus ?? 'network', outcomeUnknown: !neverConnected(cause), cause });
    }
    if (httpStatus === 429) return new ProviderRateLimitedError(msg, { providerCode: 429, retryAfterMs: 1000, cause });
    if (httpStatus === 401 || httpStatus === 403) return new ConfigurationError(msg, cause);
    return new ProviderRejectedError(msg, { providerCode: httpStatus, cause });
  }
  if (code === 130429) return new ProviderRateLimitedError(msg, { providerCode: code, retryAfterMs: 1000, cause });
  if (code === 4 || code === 80007) return new ProviderRateLimitedError(msg, { providerCode: code, retryAfterMs: 60_000, cause });
  // pair rate: only this recipient is limited, so retry this job later instead of pausing the queue
  if (code === 131056) return new ProviderRateLimitedError(msg, { providerCode: code, retryAfterMs: 6000, scope: 'recipient', cause });
  if (code === 131048) return new ProviderRateLimitedError(msg, { providerCode: code, retryAfterMs: 10 * 60_000, cause });
  if (TEMPORARY.has(code) || (httpStatus !== undefined && httpStatus >= 500)) return new ProviderUnavailableError(msg, { providerCode: code, cause });
  if (AUTH.has(code)) return new ConfigurationError(msg, cause);
  return new ProviderRejectedError(msg, { providerCode: code, cause });
}
