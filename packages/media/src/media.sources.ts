import type { MediaRef } from '@switchboard/core';
import { normalizeOrigin, type CredentialScope, type GuardedFetcher } from '@switchboard/fetch';
import { MediaError, MediaFailureReason, errorText } from './media.errors.js';
import { discard, getStream, LOOKUP_MAX_BYTES, readSmall, saveBody, type FetchedMedia, type StreamResponse } from './media.http.js';
import type { MediaWorkspace } from './media.store.js';

/** Downloads one provider media reference into a workspace. */
export interface MediaSource {
  fetch(ref: MediaRef, ws: MediaWorkspace, opts: { maxBytes: number; what: string; account?: string }): Promise<FetchedMedia>;
}

// ---- WhatsApp ------------------------------------------------------------------------------

/** Options of {@link WhatsAppMediaSource}. */
export interface WhatsAppMediaSourceOptions {
  /** WHATSAPP_GRAPH_URL, e.g. `https://graph.facebook.com/v24.0`. */
  graphUrl: string;
  accessToken: string;
  /** Besides the Graph origin, the origins that receive the token (WHATSAPP_MEDIA_ORIGINS, Meta's CDN). */
  mediaOrigins: readonly string[];
  fetcher: GuardedFetcher;
}

/** The origin of a URL, or undefined when it is not one. */
export function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
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
 * @see ../../../../shared/providers/whatsapp-cloud-api.md §8
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

// ---- WeChat Kefu ---------------------------------------------------------------------------

/**
 * The access-token side of the WeCom API the media calls need. `WechatTokenCache` of
 * `@switchboard/channel-wechat-kf` (`WechatApiClient.tokens`) has exactly this shape.
 */
export interface AccessTokenProvider {
  get(): Promise<string>;
  invalidate(token: string): Promise<void>;
}

/** WeCom codes meaning the access token must be refreshed (once). */
const WECHAT_TOKEN_ERRORS = new Set([40014, 42001]);

/** Options of {@link WechatMediaSource}. */
export interface WechatMediaSourceOptions {
  /** WECHAT_API_URL, e.g. `https://qyapi.weixin.qq.com`. */
  apiUrl: string;
  tokens: AccessTokenProvider;
  fetcher: GuardedFetcher;
}

/**
 * WeCom `media/get`: the binary file, or a JSON body with `errcode` (checked by content type,
 * never saved as the file). 40014/42001 → refresh the token and retry once.
 * @see ../../../../shared/providers/wechat-kf.md §7
 */
export class WechatMediaSource implements MediaSource {
  private readonly origin: string;

  constructor(private readonly opts: WechatMediaSourceOptions) {
    this.origin = normalizeOrigin(new URL(opts.apiUrl).origin);
  }

  async fetch(ref: MediaRef, ws: MediaWorkspace, opts: { maxBytes: number; what: string }): Promise<FetchedMedia> {
    if (!ref.mediaId) throw new MediaError(MediaFailureReason.downloadFailed, `${opts.what} has no media_id`);
    for (let attempt = 0; ; attempt += 1) {
      let token: string;
      try {
        token = await this.opts.tokens.get();
      } catch (err) {
        throw new MediaError(MediaFailureReason.downloadFailed, `${opts.what} could not be fetched: no WeCom access token (${errorText(err)})`, { retryable: true, cause: err });
      }
      const url = new URL(`${this.opts.apiUrl}/cgi-bin/media/get`);
      url.searchParams.set('media_id', ref.mediaId);
      // the token rides in the query, added by the fetcher only on WECHAT_API_URL's origin
      const res = await getStream(this.opts.fetcher, url.toString(), {
        what: opts.what,
        maxBytes: opts.maxBytes,
        credentials: { name: 'wechat-kf', origins: [this.origin], query: { access_token: token } },
        providerOrigins: [this.origin],
      });
      if (res.status < 200 || res.status >= 300) {
        discard(res.body);
        throw new MediaError(MediaFailureReason.downloadFailed, `${opts.what} download failed: WeCom answered HTTP ${res.status}`, { retryable: true });
      }
      const type = res.headers['content-type'] ?? '';
      if (type.includes('json')) {
        const code = errcodeOf(await readSmall(res.body));
        if (code !== undefined && WECHAT_TOKEN_ERRORS.has(code) && attempt === 0) {
          await this.opts.tokens.invalidate(token);
          continue;
        }
        throw wechatMediaError(opts.what, code);
      }
      const saved = await saveBody(ws, res, { maxBytes: opts.maxBytes, what: opts.what, ...(ref.mimeType ? { declaredMime: ref.mimeType } : {}) });
      return saved;
    }
  }
}

function errcodeOf(text: string): number | undefined {
  try {
    const v = JSON.parse(text) as { errcode?: unknown };
    return typeof v.errcode === 'number' ? v.errcode : undefined;
  } catch {
    return undefined;
  }
}

function wechatMediaError(what: string, code: number | undefined): MediaError {
  if (code === 40007) return new MediaError(MediaFailureReason.expired, `${what} is no longer available on WeChat (media_id invalid or older than 3 days, errcode 40007)`);
  if (code === 45033 || code === 45009 || code === -1) {
    return new MediaError(MediaFailureReason.downloadFailed, `${what} could not be fetched now: WeCom is busy (errcode ${code})`, { retryable: true });
  }
  if (code === 830002) return new MediaError(MediaFailureReason.tooLarge, `${what} is too large to fetch in one request (over 20 MB, errcode 830002)`);
  return new MediaError(MediaFailureReason.downloadFailed, `${what} could not be fetched: WeCom errcode ${code ?? 'unknown'}`);
}

// ---- plain URLs (Chatwoot attachments) -----------------------------------------------------

/** Options of {@link UrlMediaSource}. */
export interface UrlMediaSourceOptions {
  fetcher: GuardedFetcher;
  /** The provider's configured origin (CHATWOOT_URL for attachments): fetched whatever its address. */
  providerOrigins?: readonly string[];
  /** Credentials for the provider's own origin only, e.g. an `api_access_token` for a private Chatwoot. */
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
