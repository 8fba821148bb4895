import type { AxiosInstance } from 'axios';
import type { MediaRef } from '@switchboard/core';
import { MediaError, MediaFailureReason, errorText } from './media.errors.js';
import { createDownloadHttp, discard, getStream, readSmall, saveBody, type FetchedMedia, type StreamResponse } from './media.http.js';
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
  timeoutMs: number;
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
 * replaced by a fresh one once.
 * @see ../../../../shared/providers/whatsapp-cloud-api.md §8
 */
export class WhatsAppMediaSource implements MediaSource {
  private readonly http: AxiosInstance;
  private readonly auth: Record<string, string>;

  constructor(private readonly opts: WhatsAppMediaSourceOptions) {
    this.http = createDownloadHttp({ timeoutMs: opts.timeoutMs, maxRedirects: 3 });
    this.auth = { Authorization: `Bearer ${opts.accessToken}` };
  }

  private async lookup(mediaId: string, account: string | undefined, what: string): Promise<{ url: string; mimeType?: string; size?: number }> {
    const res = await getStream(this.http, `${this.opts.graphUrl}/${encodeURIComponent(mediaId)}`, {
      headers: this.auth,
      ...(account ? { params: { phone_number_id: account } } : {}),
      what,
    });
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
    let url = ref.url;
    let mimeType = ref.mimeType;
    let lookups = 0;
    if (!url && mediaId) {
      const info = await this.lookup(mediaId, opts.account, opts.what);
      lookups += 1;
      url = info.url;
      mimeType ??= info.mimeType;
    }
    for (let attempt = 0; ; attempt += 1) {
      const res = await getStream(this.http, url!, { headers: this.auth, what: opts.what });
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
  timeoutMs: number;
}

/**
 * WeCom `media/get`: the binary file, or a JSON body with `errcode` (checked by content type,
 * never saved as the file). 40014/42001 → refresh the token and retry once.
 * @see ../../../../shared/providers/wechat-kf.md §7
 */
export class WechatMediaSource implements MediaSource {
  private readonly http: AxiosInstance;

  constructor(private readonly opts: WechatMediaSourceOptions) {
    this.http = createDownloadHttp({ timeoutMs: opts.timeoutMs });
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
      const res = await getStream(this.http, `${this.opts.apiUrl}/cgi-bin/media/get`, { params: { access_token: token, media_id: ref.mediaId }, what: opts.what });
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
  timeoutMs: number;
  /** Redirects to follow (Chatwoot `data_url` is an ActiveStorage 302 to the blob). */
  maxRedirects?: number;
  /** Extra headers, e.g. an `api_access_token` for a private Chatwoot storage proxy. */
  headers?: Record<string, string>;
}

/** Media behind a plain URL, following redirects (Chatwoot attachments' `data_url`). */
export class UrlMediaSource implements MediaSource {
  private readonly http: AxiosInstance;

  constructor(private readonly opts: UrlMediaSourceOptions) {
    this.http = createDownloadHttp({ timeoutMs: opts.timeoutMs, maxRedirects: opts.maxRedirects ?? 5 });
  }

  async fetch(ref: MediaRef, ws: MediaWorkspace, opts: { maxBytes: number; what: string }): Promise<FetchedMedia> {
    const url = ref.url;
    if (!url || !/^https?:\/\//i.test(url)) throw new MediaError(MediaFailureReason.downloadFailed, `${opts.what} has no http(s) URL`);
    const res: StreamResponse = await getStream(this.http, url, { ...(this.opts.headers ? { headers: this.opts.headers } : {}), what: opts.what });
    if (res.status >= 200 && res.status < 300) {
      return saveBody(ws, res, { maxBytes: opts.maxBytes, what: opts.what, ...(ref.mimeType ? { declaredMime: ref.mimeType } : {}), ...(ref.filename ? { filename: ref.filename } : {}) });
    }
    discard(res.body);
    if (res.status === 404 || res.status === 410) throw new MediaError(MediaFailureReason.expired, `${opts.what} is no longer available (HTTP ${res.status})`);
    throw new MediaError(MediaFailureReason.downloadFailed, `${opts.what} download failed: HTTP ${res.status}`, { retryable: res.status >= 500 || res.status === 429 });
  }
}
