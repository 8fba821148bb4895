import { readFile } from 'node:fs/promises';
import type { MediaKeys } from '@switchboard/queue';
import { ConfigurationError, GatewayError, type MediaRef } from '@switchboard/core';
import { WECHAT_MEDIA_RULES } from './outbound.js';
import { normalizeOrigin, type GuardedFetcher } from '@switchboard/fetch';
import { MediaUploadPreparer, type MediaUploadPreparerOptions, discard, errorText, getStream, MediaError, MediaFailureReason, readSmall, saveBody, type FetchedMedia, type MediaSource, type MediaWorkspace } from '@switchboard/media';

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
 * @see https://developer.work.weixin.qq.com/document/path/90254
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


/** The upload call of the WeCom API; `WechatApiClient` of `@switchboard/channel-wechat-kf` has this shape. */
export interface WechatMediaUploadApi {
  uploadMedia(type: 'image' | 'voice' | 'video' | 'file', file: { bytes: Buffer; contentType: string; filename?: string }): Promise<string>;
}

/** WeChat media ids expire after 3 days; never reuse one older than this. */
export const WECHAT_MEDIA_ID_MAX_TTL_SEC = 3 * 24 * 3600 - 3600;

/**
 * Reply media for 微信客服: `media/upload?type=image|voice|video|file` (media_id valid 3 days,
 * cached per URL for 60 h), within WeCom's types and sizes. Voice must be AMR ≤ 2 MB ≤ 60 s:
 * converted when ffmpeg has an AMR encoder, otherwise sent as a file. WeChat media messages carry
 * no caption: send `caption` as its own text.
 */
export function createWechatMediaPreparer(
  api: WechatMediaUploadApi,
  deps: Omit<MediaUploadPreparerOptions, 'rules' | 'upload' | 'cacheKey' | 'cacheTtlSec' | 'mode' | 'extras' | 'fallbackKind'> & { keys: MediaKeys; cacheTtlSec?: number },
): MediaUploadPreparer {
  const { keys: _keys, cacheTtlSec, ...base } = deps;
  return new MediaUploadPreparer({
    ...base,
    rules: { ...WECHAT_MEDIA_RULES, name: 'wechat-kf' },
    fallbackKind: { audio: 'document' },
    async upload(_account, file, sendAs) {
      try {
        return { id: await api.uploadMedia(sendAs as 'image' | 'voice' | 'video' | 'file', { bytes: await readFile(file.path), contentType: file.mimeType, filename: file.filename }) };
      } catch (err) {
        // 40004/40005/40006/40009/40011 (bad type or size) are not retryable: send the link instead
        if (err instanceof GatewayError && !err.retryable && !(err instanceof ConfigurationError)) return { reason: err.message };
        throw err;
      }
    },
    cacheKey: (_account, url) => deps.keys.wechatUpload(url),
    cacheTtlSec: Math.min(cacheTtlSec ?? 60 * 3600, WECHAT_MEDIA_ID_MAX_TTL_SEC),
  });
}
