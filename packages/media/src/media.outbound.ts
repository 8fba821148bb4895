import { readFile } from 'node:fs/promises';
import type { Logger, ReplyMedia } from '@switchboard/core';
import type { GuardedFetcher } from '@switchboard/fetch';
import type { RedisClient } from '@switchboard/queue';
import { MediaError, errorText } from './media.errors.js';
import type { Ffmpeg } from './media.ffmpeg.js';
import type { FetchedMedia } from './media.http.js';
import { baseMime, extensionFor, mimeFromFilename } from './media.mime.js';
import { decideOutbound, type OutboundDecision, type OutboundMediaRules } from './media.policy.js';
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

/** Shared parts of the preparers. */
interface PreparerBase {
  store: MediaTempStore;
  ffmpeg: Ffmpeg;
  /** Upload cache; absent = upload every time. */
  redis?: RedisClient;
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

// ---- upload first, then send by media id ---------------------------------------------------

/** A reply file ready for upload (in the per-call workspace). */
export interface UploadFile {
  readonly path: string;
  readonly size: number;
  readonly mimeType: string;
  readonly filename: string;
}

/**
 * Uploads one file to the provider under the channel's media type `sendAs` and returns its media
 * id, or the reason the provider refused this file (the customer then gets the link instead).
 * Throws typed gateway errors only for trouble the outbound job should retry or fail on.
 */
export type MediaUploader = (account: string | undefined, file: UploadFile, sendAs: string) => Promise<{ id: string } | { reason: string }>;

/** Options of {@link MediaUploadPreparer}. */
export interface MediaUploadPreparerOptions extends PreparerBase {
  /** The channel's outbound media rules (its module's `media`). */
  rules: OutboundMediaRules;
  upload: MediaUploader;
  /** The upload cache key of a URL sent from an account (the key registry's `gatewayKeys(prefix).media`). */
  cacheKey(account: string | undefined, url: string): string;
  /** How long an uploaded id is reused (less than the provider keeps it). */
  cacheTtlSec: number;
  /** `link`: the provider fetches the URL itself (declared types are still checked); default `upload`. */
  mode?: 'upload' | 'link';
  /** Caption and filename the media message carries (default: the caption). */
  extras?(media: ReplyMedia): { caption?: string; filename?: string };
  /** A kind that cannot go out as itself goes out as this one (e.g. voice that cannot be converted → a file). */
  fallbackKind?: Partial<Record<ReplyMedia['kind'], ReplyMedia['kind']>>;
}

/**
 * Prepares reply media for channels that upload first and send by media id: the file is fetched
 * through the guarded fetcher, checked against the channel's rules (audio length probed when the
 * channel limits it), converted with ffmpeg when the type is wrong, uploaded with the channel's
 * uploader and the id cached per URL; anything that cannot go out becomes a link text with the reason.
 */
export class MediaUploadPreparer {
  constructor(private readonly opts: MediaUploadPreparerOptions) {}

  /** The media for the provider's media message, or a link text. `account` = the sending account (part of the cache key). */
  async prepare(account: string | undefined, media: ReplyMedia): Promise<PreparedMedia> {
    const { rules } = this.opts;
    const extra = this.opts.extras ? this.opts.extras(media) : media.caption ? { caption: media.caption } : {};
    const rule = rules.outbound[media.kind];
    if (this.opts.mode === 'link') {
      const declared = baseMime(media.mimeType ?? mimeFromFilename(media.filename) ?? mimeFromFilename(safePath(media.url)));
      if (declared && rule.types !== 'any' && !rule.types.has(declared)) return linkFallback(media, `${declared} cannot be sent as ${media.kind} on ${rules.name}`);
      return { kind: 'media', sendAs: rule.sendAs, link: media.url, ...extra };
    }
    const key = this.opts.cacheKey(account, media.url);
    const hit = await this.opts.redis?.get(key);
    if (hit) {
      const [sendAs, mediaId] = hit.split('|');
      if (sendAs && mediaId) return { kind: 'media', sendAs, mediaId, cached: true, ...extra };
    }
    const ws = await this.opts.store.workspace();
    try {
      const fallback = this.opts.fallbackKind?.[media.kind];
      let file: FetchedMedia;
      try {
        file = await fetchReplyFile(media, ws, Math.max(rule.maxBytes * OUTBOUND_FETCH_FACTOR, fallback ? rules.outbound[fallback].maxBytes : 0), this.opts.fetcher);
      } catch (err) {
        return linkFallback(media, errorText(err));
      }
      const durationSec =
        rule.maxSeconds !== undefined && (await this.opts.ffmpeg.available()) ? await this.opts.ffmpeg.probe(file.path).then((p) => p.durationSec).catch(() => undefined) : undefined;
      const can = { convert: await converter(this.opts.ffmpeg) };
      const decide = (kind: ReplyMedia['kind'], d: number | undefined) =>
        decideOutbound(rules, kind, { mimeType: file.mimeType, sizeBytes: file.size, ...(d !== undefined ? { durationSec: d } : {}) }, can);
      let decision = decide(media.kind, durationSec);
      if (decision.action === 'link' && fallback) decision = decide(fallback, undefined);
      if (decision.action === 'link') return linkFallback(media, decision.reason);
      if (decision.action === 'convert') {
        try {
          file = await convertFor(decision, file, ws, this.opts.ffmpeg);
        } catch (err) {
          return linkFallback(media, errorText(err));
        }
        if (file.size > rule.maxBytes) return linkFallback(media, `${media.kind} larger than ${rules.name} allows after conversion`);
      }
      const uploaded = await this.opts.upload(account, { path: file.path, size: file.size, mimeType: file.mimeType, filename: fileName(media, file.mimeType) }, decision.sendAs);
      if ('reason' in uploaded) return linkFallback(media, uploaded.reason);
      await this.opts.redis?.set(key, `${decision.sendAs}|${uploaded.id}`, 'EX', this.opts.cacheTtlSec);
      return { kind: 'media', sendAs: decision.sendAs, mediaId: uploaded.id, mimeType: file.mimeType, ...extra };
    } finally {
      await ws.dispose();
    }
  }
}

// ---- upload as part of the send (multipart) ------------------------------------------------

/** A reply file ready to be uploaded with the message that carries it. */
export type PreparedUpload =
  | { readonly kind: 'media'; readonly sendAs: string; readonly upload: { bytes: Buffer; filename: string; mimeType: string }; readonly caption?: string }
  | { readonly kind: 'link'; readonly text: string; readonly reason: string };

/** Options of {@link UploadMediaPreparer}. */
export interface UploadMediaPreparerOptions extends Omit<PreparerBase, 'redis'> {
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
      const decision = decideOutbound(this.opts.rules, media.kind, { mimeType: file.mimeType, sizeBytes: file.size }, { convert: await converter(this.opts.ffmpeg) });
      if (decision.action === 'link') return uploadLink(media, decision.reason);
      if (decision.action === 'convert') {
        try {
          file = await convertFor(decision, file, ws, this.opts.ffmpeg);
        } catch (err) {
          return uploadLink(media, errorText(err));
        }
        if (file.size > rule.maxBytes) return uploadLink(media, `${media.kind} larger than ${this.opts.rules.name} allows after conversion`);
      }
      const bytes = await readFile(file.path);
      return { kind: 'media', sendAs: decision.sendAs, upload: { bytes, filename: fileName(media, file.mimeType), mimeType: file.mimeType }, ...(caption ? { caption } : {}) };
    } finally {
      await ws.dispose();
    }
  }
}

function safePath(url: string): string | undefined {
  try {
    return new URL(url).pathname;
  } catch {
    return undefined;
  }
}
