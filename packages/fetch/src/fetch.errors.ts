import { GatewayError } from '@switchboard/core';
import type { AddressRefusal } from './fetch.address.js';

/**
 * Why a fetch was refused before (or instead of) talking to the host. Each value is a label of
 * `sb_fetch_refused_total`: the address reasons of {@link AddressRefusal} plus these.
 */
export const FetchRefusal = {
  /** Not `http:` / `https:`, or not a URL at all. */
  badUrl: 'bad_url',
  /** `user:password@` in the URL. */
  userinfo: 'userinfo',
  /** A name that resolved to no address at all. */
  noAddress: 'no_address',
  /** More redirects than FETCH_MAX_REDIRECTS. */
  tooManyRedirects: 'too_many_redirects',
  /** A redirect without a usable `Location`. */
  badRedirect: 'bad_redirect',
} as const;
export type FetchRefusalReason = (typeof FetchRefusal)[keyof typeof FetchRefusal] | AddressRefusal;

/**
 * A URL named by the outside that may not be fetched: it points at (or redirects to) a
 * non-public address, is not http(s), or redirects too often. Never retryable: the same URL is
 * refused again. `origin` is the refused hop's origin (no path, no query: those may carry tokens).
 */
export class FetchRefusedError extends GatewayError {
  readonly reason: FetchRefusalReason;
  readonly origin: string | undefined;
  /** 0 for the URL as given, n for the n-th redirect. */
  readonly hop: number;
  constructor(reason: FetchRefusalReason, message: string, opts: { origin?: string; hop?: number } = {}) {
    super(message, { code: 'fetch_refused', retryable: false });
    this.reason = reason;
    this.origin = opts.origin;
    this.hop = opts.hop ?? 0;
  }
}

/** The host could not be reached, answered nothing in time, or broke the connection. Retryable. */
export class FetchFailedError extends GatewayError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'fetch_failed', retryable: true, cause });
  }
}

/** The body is larger than the cap (by `Content-Length`, or while streaming). Not retryable. */
export class FetchTooLargeError extends GatewayError {
  readonly limitBytes: number;
  readonly sizeBytes: number | undefined;
  constructor(limitBytes: number, sizeBytes?: number) {
    super(`response larger than ${limitBytes} bytes${sizeBytes !== undefined ? ` (${sizeBytes})` : ''}`, { code: 'fetch_too_large', retryable: false });
    this.limitBytes = limitBytes;
    this.sizeBytes = sizeBytes;
  }
}
