/** Base of every error the gateway raises on purpose. `retryable` drives the BullMQ mapping. */
export class GatewayError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  constructor(message: string, opts: { code: string; retryable: boolean; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code;
    this.retryable = opts.retryable;
  }
}

/** A webhook whose signature, decryption or receive id does not check out. Answered 401/403. */
export class SignatureInvalidError extends GatewayError {
  constructor(reason: string) {
    super(reason, { code: 'signature_invalid', retryable: false });
  }
}

/** A body that is not what the provider documents. Answered 400. */
export class PayloadInvalidError extends GatewayError {
  constructor(reason: string, cause?: unknown) {
    super(reason, { code: 'payload_invalid', retryable: false, cause });
  }
}

/** The provider asked us to slow down. The whole queue pauses for `retryAfterMs` unless `scope` is `recipient`. */
export class ProviderRateLimitedError extends GatewayError {
  readonly retryAfterMs: number;
  readonly scope: 'account' | 'recipient';
  readonly providerCode: string;
  constructor(message: string, opts: { providerCode: string | number; retryAfterMs: number; scope?: 'account' | 'recipient'; cause?: unknown }) {
    super(message, { code: 'provider_rate_limited', retryable: true, cause: opts.cause });
    this.retryAfterMs = opts.retryAfterMs;
    this.scope = opts.scope ?? 'account';
    this.providerCode = String(opts.providerCode);
  }
}

/** The provider refused the request for good (e.g. WhatsApp 131047, WeChat 95001). Never retried. */
export class ProviderRejectedError extends GatewayError {
  readonly providerCode: string;
  constructor(message: string, opts: { providerCode: string | number; cause?: unknown }) {
    super(message, { code: 'provider_rejected', retryable: false, cause: opts.cause });
    this.providerCode = String(opts.providerCode);
  }
}

/**
 * The provider is down, timed out or answered 5xx. Retried with backoff. `outcomeUnknown` marks a
 * request that may have reached the provider (no response, a timeout, a 5xx without the provider's
 * own error body): before sending that part again the outbound worker reconciles it.
 */
export class ProviderUnavailableError extends GatewayError {
  readonly providerCode: string;
  readonly outcomeUnknown: boolean;
  constructor(message: string, opts: { providerCode?: string | number; outcomeUnknown?: boolean; cause?: unknown } = {}) {
    super(message, { code: 'provider_unavailable', retryable: true, cause: opts.cause });
    this.providerCode = String(opts.providerCode ?? 'unavailable');
    this.outcomeUnknown = opts.outcomeUnknown ?? false;
  }
}

/** True when a failed send may nevertheless have been performed by the provider. */
export function sendOutcomeUnknown(err: unknown): boolean {
  return err instanceof ProviderUnavailableError ? err.outcomeUnknown : !(err instanceof GatewayError);
}

/** True for a network error that proves the request never reached the provider (nothing listening). */
export function neverConnected(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
}

/** Credentials or settings are wrong (WhatsApp 190, WeChat 40001). Not retried; needs a human. */
export class ConfigurationError extends GatewayError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'configuration', retryable: false, cause });
  }
}

/** True for errors that must fail a job immediately. */
export function isNonRetryable(err: unknown): boolean {
  return err instanceof GatewayError && !err.retryable;
}
