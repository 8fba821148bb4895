import type { MediaRef } from '@switchboard/core';
import type { CredentialScope, GuardedFetcher } from '@switchboard/fetch';
import { MediaError, MediaFailureReason } from './media.errors.js';
import { discard, getStream, saveBody, type FetchedMedia, type StreamResponse } from './media.http.js';
import type { MediaWorkspace } from './media.store.js';

/** Downloads one provider media reference into a workspace. */
export interface MediaSource {
  fetch(ref: MediaRef, ws: MediaWorkspace, opts: { maxBytes: number; what: string; account?: string }): Promise<FetchedMedia>;
}

/** The origin of a URL, or undefined when it is not one. */
export function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

// ---- plain URLs (attachments) ----------------------------------------------------------------

/** Options of {@link UrlMediaSource}. */
export interface UrlMediaSourceOptions {
  fetcher: GuardedFetcher;
  /** The provider's configured origin (its base URL, for attachments): fetched whatever its address. */
  providerOrigins?: readonly string[];
  /** Credentials for the provider's own origin only, e.g. an API token header for a private storage. */
  credentials?: CredentialScope;
}

/**
 * Media behind a plain URL (Chatwoot attachments' `data_url`, an ActiveStorage 302 to the blob;
 * reply media by URL), through the guarded fetcher: redirects followed and re-checked.
 */
export class UrlMediaSource implements MediaSource {
  constructor(private readonly opts: UrlMediaSourceOptions) {}

  async fetch(ref: MediaRef, ws: MediaWorkspace, opts: { maxBytes: number; what: string }): Promise<FetchedMedia> {
    const url = ref.url;
    // other schemes are refused (and counted) by the fetcher
    if (!url) throw new MediaError(MediaFailureReason.downloadFailed, `${opts.what} has no URL`);
    const res: StreamResponse = await getStream(this.opts.fetcher, url, {
      what: opts.what,
      maxBytes: opts.maxBytes,
      ...(this.opts.credentials ? { credentials: this.opts.credentials } : {}),
      ...(this.opts.providerOrigins ? { providerOrigins: this.opts.providerOrigins } : {}),
    });
    if (res.status >= 200 && res.status < 300) {
      return saveBody(ws, res, { maxBytes: opts.maxBytes, what: opts.what, ...(ref.mimeType ? { declaredMime: ref.mimeType } : {}), ...(ref.filename ? { filename: ref.filename } : {}) });
    }
    discard(res.body);
    if (res.status === 404 || res.status === 410) throw new MediaError(MediaFailureReason.expired, `${opts.what} is no longer available (HTTP ${res.status})`);
    throw new MediaError(MediaFailureReason.downloadFailed, `${opts.what} download failed: HTTP ${res.status}`, { retryable: res.status >= 500 || res.status === 429 });
  }
}
