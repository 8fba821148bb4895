import { openAsBlob } from 'node:fs';
import { readFile } from 'node:fs/promises';
import axios, { type AxiosInstance } from 'axios';
import {
  ConfigurationError,
  GatewayError,
  ProviderRateLimitedError,
  ProviderUnavailableError,
  shortHash,
  type ChannelId,
  type Logger,
  type ReplyMedia,
} from '@switchboard/core';
import type { GuardedFetcher } from '@switchboard/fetch';
import type { RedisClient } from '@switchboard/queue';
import { MediaError, errorText } from './media.errors.js';
import type { Ffmpeg } from './media.ffmpeg.js';
import { MEDIA_USER_AGENT, type FetchedMedia } from './media.http.js';
import { baseMime, extensionFor, mimeFromFilename } from './media.mime.js';
import { decideOutbound, decideOutboundBy, OUTBOUND_RULES, type OutboundDecision, type OutboundMediaRules } from './media.policy.js';
import { UrlMediaSource } from './media.sources.js';
import type { MediaTempStore, MediaWorkspace } from './media.store.js';

/**
 * A reply's file made ready for one channel: either a provider media id / link to put in the
 * media message, or, when the channel cannot carry it, a text with the link and the reason.
 */
export type PreparedMedia =
  | {
      readonly kind: 'media';
      /** The provider's media type (`image`, `audio`, WeChat `voice`/`file`…). */
      readonly sendAs: string;
      readonly mediaId?: string;
      readonly link?: string;
      readonly mimeType?: string;
      readonly filename?: string;
      readonly caption?: string;
      /** True when the id came from the upload cache. */
      readonly cached?: boolean;
    }
  | { readonly kind: 'link'; readonly text: string; readonly reason: string };

/** The text sent instead of a file a channel cannot carry: caption, then the link. Never empty. */
export function linkFallbackText(media: ReplyMedia): string {
  const label = media.filename ?? { image: 'Image', audio: 'Audio', video: 'Video', document: 'Document' }[media.kind];
  return [media.caption?.trim(), `${label}: ${media.url}`].filter(Boolean).join('\n');
}

function linkFallback(media: ReplyMedia, reason: string): PreparedMedia {
  return { kind: 'link', text: linkFallbackText(media), reason };
}

/** Shared parts of the per-channel preparers. */
interface PreparerBase {
  store: MediaTempStore;
  ffmpeg: Ffmpeg;
  /** Upload cache; absent = upload every time. */
  redis?: RedisClient;
  /** Key prefix of the upload cache, e.g. `gatewayKeys(prefix).ns('media')`. */
  keyPrefix: string;
  timeoutMs: number;
  /** The guarded fetcher every reply file is downloaded through (public addresses only, FETCH_ALLOWED_ORIGINS excepted). */
  fetcher: GuardedFetcher;
  log: Logger;
}

/** Largest file fetched for an outbound conversion (a few times the channel limit, never huge). */
const OUTBOUND_FETCH_FACTOR = 4;

/** Reply media named by URL (by the agent, a tool or an API caller) is fetched like any outside URL: guarded, no credentials. */
async function fetchReplyFile(media: ReplyMedia, ws: MediaWorkspace, maxBytes: number, fetcher: GuardedFetcher): Promise<FetchedMedia> {
  const source = new UrlMediaSource({ fetcher });
  const declared = media.mimeType ?? mimeFromFilename(media.filename) ?? mimeFromFilename(safePath(media.url));
  return source.fetch({ url: media.url, ...(declared ? { mimeType: declared } : {}) }, ws, { maxBytes, what: `the ${media.kind} to send` });
}

/** Runs the conversion a decision asks for; returns the new file, or undefined when the encoder is missing. */
async function convertFor(decision: Extract<OutboundDecision, { action: 'convert' }>, file: FetchedMedia, ws: MediaWorkspace, ffmpeg: Ffmpeg): Promise<FetchedMedia> {
  const out = ws.path(extensionFor(decision.to));
  let size: number;
  if (decision.to === 'audio/ogg') size = await ffmpeg.toOggOpus(file.path, out);
  else if (decision.to === 'audio/amr') size = await ffmpeg.toAmr(file.path, out);
  else if (decision.to === 'image/jpeg') size = await ffmpeg.toJpeg(file.path, out);
  else throw new MediaError('conversion_failed', `no conversion to ${decision.to}`);
  ws.account(size);
  return { path: out, size, mimeType: decision.to, ...(file.filename ? { filename: file.filename } : {}) };
}

/** Which target types this ffmpeg can produce. */
async function converter(ffmpeg: Ffmpeg): Promise<(to: string) => boolean> {
  const [any, opus, amr] = await Promise.all([ffmpeg.available(), ffmpeg.hasEncoder('libopus'), ffmpeg.hasEncoder('libopencore_amrnb')]);
  return (to) => (to === 'audio/ogg' ? opus : to === 'audio/amr' ? amr : to === 'image/jpeg' ? any : false);
}

function fileName(media: ReplyMedia, mimeType: string): string {
  const ext = extensionFor(mimeType);
  if (media.filename) return media.filename.replace(/\.[a-z0-9]+$/i, '') + `.${ext}`;
  return `${media.kind}.${ext}`;
}

// ---- WhatsApp ------------------------------------------------------------------------------

/** Options of {@link WhatsAppMediaPreparer}. */
export interface WhatsAppMediaPreparerOptions extends PreparerBase {
  graphUrl: string;
  accessToken: string;
  /** `upload` (default, Meta's recommendation) or `link` (WhatsApp fetches the URL itself). */
  mode: 'upload' | 'link';
  /** Uploaded ids live 30 days; cached for less. */
  cacheTtlSec?: number;
}

/**
 * Prepares reply media for WhatsApp: `POST /{phone-number-id}/media` (multipart, 30-day id, cached
 * per URL) or a `link`, enforcing the Cloud API types and sizes (whatsapp-cloud-api.md §8); audio
 * and images of other types are converted with ffmpeg, anything else falls back to a link text.
 */
export class WhatsAppMediaPreparer {
  private readonly http: AxiosInstance;

  constructor(private readonly opts: WhatsAppMediaPreparerOptions) {
    this.http = axios.create({
      baseURL: opts.graphUrl,
      timeout: opts.timeoutMs,
      validateStatus: () => true,
      // the Bearer token goes to the Graph origin only: never follow a redirect elsewhere with it
      maxRedirects: 0,
      headers: { Authorization: `Bearer ${opts.accessToken}`, 'User-Agent': MEDIA_USER_AGENT },
    });
  }

  private cacheKey(phoneNumberId: string, url: string): string {
    return `${this.opts.keyPrefix}:wa-upload:${shortHash(`${phoneNumberId}|${url}`, 32)}`;
  }

  /**
   * The media object for a `{type, [type]: {id|link, caption?, filename?}}` message, or a link text.
   * Throws typed gateway errors (retryable or not) only for provider trouble the outbound job should retry or fail on.
   */
  async prepare(phoneNumberId: string, media: ReplyMedia): Promise<PreparedMedia> {
    const caption = media.kind === 'audio' ? undefined : media.caption;
    const extra = { ...(caption ? { caption } : {}), ...(media.kind === 'document' && media.filename ? { filename: media.filename } : {}) };
    if (this.opts.mode === 'link') {
      const declared = baseMime(media.mimeType ?? mimeFromFilename(media.filename) ?? mimeFromFilename(safePath(media.url)));
      const rule = OUTBOUND_RULES.whatsapp[media.kind];
      if (declared && rule.types !== 'any' && !rule.types.has(declared)) return linkFallback(media, `${declared} cannot be sent as ${media.kind} on WhatsApp`);
      return { kind: 'media', sendAs: rule.sendAs, link: media.url, ...extra };
    }
    const key = this.cacheKey(phoneNumberId, media.url);
    const hit = await this.opts.redis?.get(key);
    if (hit) {
      const [sendAs, mediaId] = hit.split('|');
      if (sendAs && mediaId) return { kind: 'media', sendAs, mediaId, cached: true, ...extra };
    }
    const ws = await this.opts.store.workspace();
    try {
      const rule = OUTBOUND_RULES.whatsapp[media.kind];
      let file: FetchedMedia;
      try {
        file = await fetchReplyFile(media, ws, rule.maxBytes * OUTBOUND_FETCH_FACTOR, this.opts.fetcher);
      } catch (err) {
        return linkFallback(media, errorText(err));
      }
      const decision = decideOutbound('whatsapp', media.kind, { mimeType: file.mimeType, sizeBytes: file.size }, { convert: await converter(this.opts.ffmpeg) });
      if (decision.action === 'link') return linkFallback(media, decision.reason);
      if (decision.action === 'convert') {
        try {
          file = await convertFor(decision, file, ws, this.opts.ffmpeg);
        } catch (err) {
          return linkFallback(media, errorText(err));
        }
        if (file.size > rule.maxBytes) return linkFallback(media, `${media.kind} larger than WhatsApp allows after conversion`);
      }
      const uploaded = await this.upload(phoneNumberId, file, fileName(media, file.mimeType));
      if ('reason' in uploaded) return linkFallback(media, uploaded.reason);
      await this.opts.redis?.set(key, `${rule.sendAs}|${uploaded.id}`, 'EX', this.opts.cacheTtlSec ?? 20 * 24 * 3600);
      return { kind: 'media', sendAs: rule.sendAs, mediaId: uploaded.id, mimeType: file.mimeType, ...extra };
    } finally {
      await ws.dispose();
    }
  }

  private async upload(phoneNumberId: string, file: FetchedMedia, name: string): Promise<{ id: string } | { reason: string }> {
    const form = new FormData();
    form.append('messaging_product', 'whatsapp');
    form.append('type', file.mimeType);
    form.append('file', await openAsBlob(file.path, { type: file.mimeType }), name);
    let res;
    try {
      res = await this.http.post<{ id?: string; error?: { code?: number; message?: string } }>(`/${encodeURIComponent(phoneNumberId)}/media`, form);
    } catch (err) {
      throw new ProviderUnavailableError(`whatsapp media upload: network error: ${errorText(err)}`, { providerCode: 'network', cause: err });
    }
    const id = res.data?.id;
    if (res.status >= 200 && res.status < 300 && typeof id === 'string') return { id };
    const code = res.data?.error?.code;
    const message = res.data?.error?.message ?? `HTTP ${res.status}`;
    if (res.status === 401 || code === 190) throw new ConfigurationError(`whatsapp media upload refused the access token: ${message}`);
    if (res.status === 429 || code === 130429 || code === 80007) throw new ProviderRateLimitedError(`whatsapp media upload rate limited: ${message}`, { providerCode: code ?? 429, retryAfterMs: 60_000 });
    if (res.status >= 500) throw new ProviderUnavailableError(`whatsapp media upload: ${message}`, { providerCode: code ?? res.status });
    // 131053 and other 4xx: this file will not go up; the customer gets the link instead
    return { reason: `WhatsApp refused the upload (${code ?? res.status}: ${message})` };
  }
}

// ---- WeChat Kefu ---------------------------------------------------------------------------

/** The upload call of the WeCom API; `WechatApiClient` of `@switchboard/channel-wechat-kf` has this shape. */
export interface WechatMediaUploadApi {
  uploadMedia(type: 'image' | 'voice' | 'video' | 'file', file: { bytes: Buffer; contentType: string; filename?: string }): Promise<string>;
}

/** Options of {@link WechatMediaPreparer}. */
export interface WechatMediaPreparerOptions extends PreparerBase {
  api: WechatMediaUploadApi;
  /** A `media_id` is valid 3 days; cache it for less (default 60 h). */
  cacheTtlSec?: number;
}

/** WeChat media ids expire after 3 days; never reuse one older than this. */
export const WECHAT_MEDIA_ID_MAX_TTL_SEC = 3 * 24 * 3600 - 3600;

/**
 * Prepares reply media for 微信客服: `media/upload?type=image|voice|video|file` (media_id valid 3
 * days, cached per URL for 60 h), enforcing WeCom's types and sizes (wechat-kf.md §7). Voice must be
 * AMR ≤ 2 MB ≤ 60 s: converted when ffmpeg has an AMR encoder, otherwise sent as a file. WeChat media
 * messages carry no caption: send `caption` as its own text.
 */
export class WechatMediaPreparer {
  private readonly ttlSec: number;

  constructor(private readonly opts: WechatMediaPreparerOptions) {
    this.ttlSec = Math.min(opts.cacheTtlSec ?? 60 * 3600, WECHAT_MEDIA_ID_MAX_TTL_SEC);
  }

  private cacheKey(url: string): string {
    return `${this.opts.keyPrefix}:wx-upload:${shortHash(url, 32)}`;
  }

  async prepare(media: ReplyMedia): Promise<PreparedMedia> {
    const caption = media.caption;
    const key = this.cacheKey(media.url);
    const hit = await this.opts.redis?.get(key);
    if (hit) {
      const [sendAs, mediaId] = hit.split('|');
      if (sendAs && mediaId) return { kind: 'media', sendAs, mediaId, cached: true, ...(caption ? { caption } : {}) };
    }
    const ws = await this.opts.store.workspace();
    try {
      const rule = OUTBOUND_RULES['wechat-kf'][media.kind];
      let file: FetchedMedia;
      try {
        file = await fetchReplyFile(media, ws, Math.max(rule.maxBytes * OUTBOUND_FETCH_FACTOR, OUTBOUND_RULES['wechat-kf'].document.maxBytes), this.opts.fetcher);
      } catch (err) {
        return linkFallback(media, errorText(err));
      }
      const durationSec = media.kind === 'audio' && (await this.opts.ffmpeg.available()) ? await this.opts.ffmpeg.probe(file.path).then((p) => p.durationSec).catch(() => undefined) : undefined;
      const can = await converter(this.opts.ffmpeg);
      let decision = decide('wechat-kf', media.kind, file, durationSec, can);
      // voice that cannot become AMR (or is too long) still reaches the customer as a playable file
      if (decision.action === 'link' && media.kind === 'audio') decision = decide('wechat-kf', 'document', file, undefined, can);
      if (decision.action === 'link') return linkFallback(media, decision.reason);
      if (decision.action === 'convert') {
        try {
          file = await convertFor(decision, file, ws, this.opts.ffmpeg);
        } catch (err) {
          return linkFallback(media, errorText(err));
        }
        const limit = OUTBOUND_RULES['wechat-kf'][media.kind].maxBytes;
        if (file.size > limit) return linkFallback(media, `${media.kind} larger than WeChat allows after conversion`);
      }
      const sendAs = decision.sendAs as 'image' | 'voice' | 'video' | 'file';
      let mediaId: string;
      try {
        mediaId = await this.opts.api.uploadMedia(sendAs, { bytes: await readFile(file.path), contentType: file.mimeType, filename: fileName(media, file.mimeType) });
      } catch (err) {
        // 40004/40005/40006/40009/40011 (bad type or size) are not retryable: send the link instead
        if (err instanceof GatewayError && !err.retryable && !(err instanceof ConfigurationError)) return linkFallback(media, err.message);
        throw err;
      }
      await this.opts.redis?.set(key, `${sendAs}|${mediaId}`, 'EX', this.ttlSec);
      return { kind: 'media', sendAs, mediaId, mimeType: file.mimeType, ...(caption ? { caption } : {}) };
    } finally {
      await ws.dispose();
    }
  }
}

// ---- upload as part of the send (Telegram multipart) ----------------------------------------

/** A reply file ready to be uploaded with the message that carries it. */
export type PreparedUpload =
  | { readonly kind: 'media'; readonly sendAs: string; readonly upload: { bytes: Buffer; filename: string; mimeType: string }; readonly caption?: string }
  | { readonly kind: 'link'; readonly text: string; readonly reason: string };

/** Options of {@link UploadMediaPreparer}. */
export interface UploadMediaPreparerOptions extends Omit<PreparerBase, 'redis' | 'keyPrefix'> {
  /** The channel's outbound media rules (its module's `media`). */
  rules: OutboundMediaRules;
}

function uploadLink(media: ReplyMedia, reason: string): PreparedUpload {
  return { kind: 'link', text: linkFallbackText(media), reason };
}

/**
 * Prepares reply media for channels that take the file's bytes in the send request itself
 * (multipart): fetched through the guarded fetcher, checked against the channel's rules,
 * converted with ffmpeg when the type is wrong, or replaced by a link text with the reason.
 */
export class UploadMediaPreparer {
  constructor(private readonly opts: UploadMediaPreparerOptions) {}

  async prepare(media: ReplyMedia): Promise<PreparedUpload> {
    const caption = media.caption;
    const ws = await this.opts.store.workspace();
    try {
      const rule = this.opts.rules.outbound[media.kind];
      let file: FetchedMedia;
      try {
        file = await fetchReplyFile(media, ws, rule.maxBytes * OUTBOUND_FETCH_FACTOR, this.opts.fetcher);
      } catch (err) {
        return uploadLink(media, errorText(err));
      }
      const decision = decideOutboundBy(this.opts.rules, media.kind, { mimeType: file.mimeType, sizeBytes: file.size }, { convert: await converter(this.opts.ffmpeg) });
      if (decision.action === 'link') return uploadLink(media, decision.reason);
      if (decision.action === 'convert') {
        try {
          file = await convertFor(decision, file, ws, this.opts.ffmpeg);
        } catch (err) {
          return uploadLink(media, errorText(err));
        }
        if (file.size > rule.maxBytes) return uploadLink(media, `${media.kind} larger than ${this.opts.rules.title} allows after conversion`);
      }
      const bytes = await readFile(file.path);
      return { kind: 'media', sendAs: decision.sendAs, upload: { bytes, filename: fileName(media, file.mimeType), mimeType: file.mimeType }, ...(caption ? { caption } : {}) };
    } finally {
      await ws.dispose();
    }
  }
}

function decide(channel: ChannelId, kind: ReplyMedia['kind'], file: FetchedMedia, durationSec: number | undefined, can: (to: string) => boolean): OutboundDecision {
  return decideOutbound(channel, kind, { mimeType: file.mimeType, sizeBytes: file.size, ...(durationSec !== undefined ? { durationSec } : {}) }, { convert: can });
}

function safePath(url: string): string | undefined {
  try {
    return new URL(url).pathname;
  } catch {
    return undefined;
  }
}
