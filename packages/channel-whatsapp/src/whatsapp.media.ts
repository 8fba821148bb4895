import { openAsBlob } from 'node:fs';
import type { MediaKeys } from '@switchboard/queue';
import type { MediaRef } from '@switchboard/core';
import { GraphMediaUploader, WHATSAPP_MEDIA_RULES } from './outbound.js';
import { FETCH_USER_AGENT, normalizeOrigin, type CredentialScope, type GuardedFetcher } from '@switchboard/fetch';
import { MediaUploadPreparer, type MediaUploadPreparerOptions, discard, getStream, LOOKUP_MAX_BYTES, MediaError, MediaFailureReason, originOf, readSmall, saveBody, type FetchedMedia, type MediaSource, type MediaWorkspace, type StreamResponse } from '@switchboard/media';

/** Options of {@link WhatsAppMediaSource}. */
export interface WhatsAppMediaSourceOptions {
  /** WHATSAPP_GRAPH_URL, e.g. `https://graph.facebook.com/v24.0`. */
  graphUrl: string;
  accessToken: string;
  /** Besides the Graph origin, the origins that receive the token (WHATSAPP_MEDIA_ORIGINS, Meta's CDN). */
  mediaOrigins: readonly string[];
  fetcher: GuardedFetcher;
}

interface GraphMediaInfo {
  url?: string;
  mime_type?: string;
  file_size?: number;
  error?: { code?: number; message?: string };
}

/**
 * WhatsApp media in two steps: `GET /{media-id}` → `{url}` (valid 5 minutes), then `GET url` with
 * the Bearer token. A URL that answers 401/404 (expired, or the webhook's `url` went stale) is
 * replaced by a fresh one once. The token goes only to the Graph origin and the media origins
 * (Meta's CDN): a webhook `url` or a lookup answer on any other host is fetched without it (and
 * only from a public address); a foreign webhook `url` is ignored when there is a media id.
 * @see https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media
 */
export class WhatsAppMediaSource implements MediaSource {
  private readonly scope: CredentialScope;
  private readonly graphOrigin: string;

  constructor(private readonly opts: WhatsAppMediaSourceOptions) {
    this.graphOrigin = normalizeOrigin(new URL(opts.graphUrl).origin);
    this.scope = { name: 'whatsapp', origins: [this.graphOrigin, ...opts.mediaOrigins], headers: { Authorization: `Bearer ${opts.accessToken}` } };
  }

  private get(url: string, what: string, maxBytes: number): Promise<StreamResponse> {
    return getStream(this.opts.fetcher, url, { what, maxBytes, credentials: this.scope, providerOrigins: [this.graphOrigin] });
  }

  private async lookup(mediaId: string, account: string | undefined, what: string): Promise<{ url: string; mimeType?: string; size?: number }> {
    const url = new URL(`${this.opts.graphUrl}/${encodeURIComponent(mediaId)}`);
    if (account) url.searchParams.set('phone_number_id', account);
    const res = await this.get(url.toString(), what, LOOKUP_MAX_BYTES);
    const text = await readSmall(res.body);
    let info: GraphMediaInfo = {};
    try {
      info = JSON.parse(text) as GraphMediaInfo;
    } catch {
      // not JSON: handled below by status
    }
    if (res.status >= 200 && res.status < 300 && typeof info.url === 'string' && info.url) {
      return { url: info.url, ...(info.mime_type ? { mimeType: info.mime_type } : {}), ...(typeof info.file_size === 'number' ? { size: info.file_size } : {}) };
    }
    const code = info.error?.code;
    if (res.status === 401 || code === 190) {
      throw new MediaError(MediaFailureReason.downloadFailed, `${what} could not be fetched: the WhatsApp access token was refused (190)`);
    }
    if (res.status === 404 || res.status === 400 || code === 100) {
      // webhook media ids live 7 days
      throw new MediaError(MediaFailureReason.expired, `${what} is no longer available on WhatsApp (media id expired or unknown)`);
    }
    throw new MediaError(MediaFailureReason.downloadFailed, `${what} could not be fetched: Graph API answered HTTP ${res.status}`, { retryable: res.status >= 500 || res.status === 429 });
  }

  async fetch(ref: MediaRef, ws: MediaWorkspace, opts: { maxBytes: number; what: string; account?: string }): Promise<FetchedMedia> {
    const { mediaId } = ref;
    if (!mediaId && !ref.url) throw new MediaError(MediaFailureReason.downloadFailed, `${opts.what} has neither a media id nor a URL`);
    const own = (u: string | undefined) => u !== undefined && this.scope.origins.includes(originOf(u) ?? '');
    // a media id is looked up on Graph rather than trusting a payload URL on a foreign host
    let url = ref.url && (own(ref.url) || !mediaId) ? ref.url : undefined;
    let mimeType = ref.mimeType;
    let lookups = 0;
    if (!url && mediaId) {
      const info = await this.lookup(mediaId, opts.account, opts.what);
      lookups += 1;
      url = info.url;
      mimeType ??= info.mimeType;
    }
    for (let attempt = 0; ; attempt += 1) {
      const res = await this.get(url!, opts.what, opts.maxBytes);
      if (res.status >= 200 && res.status < 300) {
        return saveBody(ws, res, { maxBytes: opts.maxBytes, what: opts.what, ...(mimeType ? { declaredMime: mimeType } : {}), ...(ref.filename ? { filename: ref.filename } : {}) });
      }
      discard(res.body);
      // the download URL lives 5 minutes: get a new one, once
      if ((res.status === 401 || res.status === 403 || res.status === 404) && attempt === 0 && mediaId) {
        const info = await this.lookup(mediaId, opts.account, opts.what);
        lookups += 1;
        url = info.url;
        mimeType ??= info.mimeType;
        continue;
      }
      if (res.status === 401 || res.status === 403 || res.status === 404 || res.status === 410) {
        throw new MediaError(MediaFailureReason.expired, `${opts.what} download link expired (HTTP ${res.status} after ${lookups} URL request(s))`);
      }
      throw new MediaError(MediaFailureReason.downloadFailed, `${opts.what} download failed: HTTP ${res.status}`, { retryable: res.status >= 500 || res.status === 429 });
    }
  }
}


/** Uploaded media ids live 30 days; reused for less. */
const UPLOAD_CACHE_TTL_SEC = 20 * 24 * 3600;

/**
 * Reply media for WhatsApp: `POST /{phone-number-id}/media` (cached per account and URL) or a
 * `link` the Cloud API fetches itself, within the Cloud API's types and sizes.
 */
export function createWhatsAppMediaPreparer(
  s: { graphUrl: string; accessToken: string; mode: 'upload' | 'link' },
  deps: Omit<MediaUploadPreparerOptions, 'rules' | 'upload' | 'cacheKey' | 'cacheTtlSec' | 'mode' | 'extras' | 'fallbackKind'> & { keys: MediaKeys },
): MediaUploadPreparer {
  const uploader = new GraphMediaUploader({ graphUrl: s.graphUrl, accessToken: s.accessToken, timeoutMs: deps.timeoutMs, userAgent: FETCH_USER_AGENT });
  const { keys: _keys, ...base } = deps;
  return new MediaUploadPreparer({
    ...base,
    rules: { ...WHATSAPP_MEDIA_RULES, name: 'whatsapp' },
    mode: s.mode,
    // audio messages carry no caption; documents keep their file name
    extras: (m) => ({ ...(m.kind !== 'audio' && m.caption ? { caption: m.caption } : {}), ...(m.kind === 'document' && m.filename ? { filename: m.filename } : {}) }),
    upload: async (phoneNumberId, file) => uploader.upload(phoneNumberId ?? '', { blob: await openAsBlob(file.path, { type: file.mimeType }), mimeType: file.mimeType, filename: file.filename }),
    cacheKey: (phoneNumberId, url) => deps.keys.whatsappUpload(phoneNumberId ?? '', url),
    cacheTtlSec: UPLOAD_CACHE_TTL_SEC,
  });
}
