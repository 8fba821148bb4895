import { GatewayError } from '@switchboard/core';

/**
 * Why a piece of media could not be understood. Each reason is a metric label and the start of
 * the sentence the agent is shown, so keep the set small and stable.
 */
export const MediaFailureReason = {
  tooLarge: 'too_large',
  unsupportedType: 'unsupported_type',
  expired: 'expired',
  downloadFailed: 'download_failed',
  conversionFailed: 'conversion_failed',
  ffmpegMissing: 'ffmpeg_missing',
  transcriptionFailed: 'transcription_failed',
  extractionFailed: 'extraction_failed',
  notConfigured: 'not_configured',
  storeFull: 'store_full',
  /** The link may not be fetched (non-public address, foreign redirect…): see `@switchboard/fetch`. */
  notAvailable: 'not_available',
} as const;
export type MediaFailureReason = (typeof MediaFailureReason)[keyof typeof MediaFailureReason];

/**
 * A media step that failed for a reason the customer's turn survives: the resolver turns it into
 * `enrichment.error`, logs and counts it. `retryable` says whether trying again later could help
 * (a network blip) or not (a 60 MB video stays 60 MB).
 */
export class MediaError extends GatewayError {
  readonly reason: MediaFailureReason;
  constructor(reason: MediaFailureReason, message: string, opts: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, { code: `media_${reason}`, retryable: opts.retryable ?? false, cause: opts.cause });
    this.reason = reason;
  }
}

/** The file is over the limit for its kind (known from a header, a provider field or while streaming). */
export class MediaTooLargeError extends MediaError {
  readonly limitBytes: number;
  readonly sizeBytes: number | undefined;
  constructor(what: string, limitBytes: number, sizeBytes?: number) {
    const size = sizeBytes === undefined ? 'more than' : `${formatBytes(sizeBytes)}, over`;
    super(MediaFailureReason.tooLarge, `${what} is too large (${size} the ${formatBytes(limitBytes)} limit)`);
    this.limitBytes = limitBytes;
    this.sizeBytes = sizeBytes;
  }
}

/** `1536` → `1.5 KB`; binary units, one decimal, for notes the agent and logs read. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v >= 10 ? Math.round(v) : Math.round(v * 10) / 10} ${units[i]}`;
}

/** Best-effort message of an unknown thrown value. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
