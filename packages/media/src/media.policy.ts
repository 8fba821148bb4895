import type { ChannelMediaRules, OutboundMediaRule, ReplyMedia } from '@switchboard/core';
import type { MediaLimits } from './media.env.js';
import { MediaError, MediaFailureReason } from './media.errors.js';
import { baseMime, sniffFormat, type MediaFormat, type SniffedFormat } from './media.mime.js';

const MB = 1024 * 1024;

/** What the pipeline does with one inbound media kind. */
export type InboundKind = 'image' | 'sticker' | 'audio' | 'video' | 'document';

/** Images the vision models take (OpenAI: png, jpeg, webp, non-animated gif). */
export const VISION_IMAGE_TYPES: ReadonlySet<string> = new Set(['image/jpeg', 'image/png', 'image/webp', 'image/gif']);

/** Audio the pipeline can turn into speech-to-text input (SILK is recognised, then refused with a reason). */
export const AUDIO_TYPES: ReadonlySet<string> = new Set([
  'audio/ogg', 'audio/opus', 'audio/amr', 'audio/amr-wb', 'audio/silk', 'audio/mpeg', 'audio/mp3', 'audio/mp4', 'audio/m4a', 'audio/x-m4a',
  'audio/aac', 'audio/wav', 'audio/x-wav', 'audio/flac', 'audio/webm', 'audio/3gpp', 'video/3gpp', 'video/mp4', 'video/webm',
]);

/** Video containers probed with ffprobe. */
export const VIDEO_TYPES: ReadonlySet<string> = new Set(['video/mp4', 'video/3gpp', 'video/quicktime', 'video/webm', 'video/x-matroska', 'video/mpeg']);

/** Documents whose text is extracted; other documents get a note only. */
export const TEXT_DOCUMENT_TYPES: ReadonlySet<string> = new Set([
  'application/pdf', 'text/plain', 'text/csv', 'text/markdown', 'text/tab-separated-values', 'application/json', 'text/xml', 'application/xml',
]);

const AUDIO_FORMATS: ReadonlySet<MediaFormat> = new Set<MediaFormat>(['ogg', 'mp3', 'aac', 'mp4', 'm4a', '3gp', 'wav', 'webm', 'matroska', 'flac', 'amr', 'amr-wb', 'silk']);
const VIDEO_FORMATS: ReadonlySet<MediaFormat> = new Set<MediaFormat>(['mp4', '3gp', 'mov', 'webm', 'matroska']);
const IMAGE_FORMATS: ReadonlySet<MediaFormat> = new Set<MediaFormat>(['jpeg', 'png', 'gif', 'webp', 'bmp', 'tiff']);

/**
 * The formats (sniffed from the bytes, never the declared type) each inbound kind may be. Audio,
 * video and images are binary containers only: text of any kind, playlists and concat lists are
 * refused before a tool sees them. Documents are read as PDF or text; any other sniffed format
 * gets a note without being opened.
 */
export const KIND_FORMATS: Readonly<Record<InboundKind, ReadonlySet<MediaFormat>>> = {
  audio: AUDIO_FORMATS,
  video: VIDEO_FORMATS,
  image: IMAGE_FORMATS,
  sticker: IMAGE_FORMATS,
  document: new Set<MediaFormat>(['pdf', 'text']),
};

/** Formats ffmpeg may be asked to convert from, per target: reply audio, reply images, speech. */
export const CONVERTIBLE_FORMATS = { audio: new Set<MediaFormat>([...AUDIO_FORMATS, ...VIDEO_FORMATS]), image: IMAGE_FORMATS } as const;

/** Human name of a sniffed format for refusals (`an HLS/M3U playlist`, `text`, `unknown binary data`). */
export function describeFormat(f: SniffedFormat | undefined): string {
  if (!f) return 'unknown binary data';
  if (f.indirection) return 'a playlist or file list';
  return f.format === 'text' ? 'text' : f.format;
}

/**
 * The sniffed format of `head` when `kind` allows it; otherwise a non-retryable
 * `unsupported_type` error that names what the bytes really are ("unsupported media").
 */
export function requireFormat(kind: InboundKind, head: Buffer, what: string): SniffedFormat {
  const f = sniffFormat(head);
  if (f && !f.indirection && KIND_FORMATS[kind].has(f.format)) return f;
  throw new MediaError(MediaFailureReason.unsupportedType, `${what} is unsupported media (${describeFormat(f)}, not ${kind === 'sticker' ? 'an image' : `${kind === 'audio' || kind === 'image' ? 'an' : 'a'} ${kind}`} format this assistant reads)`);
}

/** Inbound rule for one kind on one channel: accepted types and the byte cap. */
export interface InboundRule {
  readonly types: ReadonlySet<string> | 'any';
  readonly maxBytes: number;
}

/**
 * The inbound rule of a kind: the configured per-kind cap, never above what the channel's provider
 * lets us download in one request (its module's `media.downloadMaxBytes`).
 */
export function inboundRule(downloadMaxBytes: number, kind: InboundKind, limits: MediaLimits): InboundRule {
  const channelMax = Math.min(downloadMaxBytes, limits.maxBytes);
  switch (kind) {
    case 'image':
    case 'sticker':
      return { types: VISION_IMAGE_TYPES, maxBytes: Math.min(limits.imageBytes, channelMax) };
    case 'audio':
      return { types: AUDIO_TYPES, maxBytes: Math.min(limits.audioBytes, channelMax) };
    case 'video':
      return { types: VIDEO_TYPES, maxBytes: Math.min(limits.videoBytes, channelMax) };
    case 'document':
      return { types: TEXT_DOCUMENT_TYPES, maxBytes: Math.min(limits.documentBytes, channelMax) };
  }
}

/** True when `mime` (parameters ignored) is allowed by the rule. */
export function allows(rule: InboundRule, mime: string | undefined): boolean {
  if (rule.types === 'any') return true;
  const m = baseMime(mime);
  return m !== undefined && rule.types.has(m);
}

// ---- outbound ------------------------------------------------------------------------------

/** How a channel carries one outbound media kind (declared by the channel's module). */
export type OutboundRule = OutboundMediaRule;

/** A channel's outbound media rules as {@link decideOutbound} reads them. */
export interface OutboundMediaRules extends Pick<ChannelMediaRules, 'outbound' | 'minBytes'> {
  /** The channel, named in refusal reasons ("cannot be sent as image on <name>"). */
  readonly name: string;
}

/** What to do with one outbound file. */
export type OutboundDecision =
  | { readonly action: 'send'; readonly sendAs: string; readonly mimeType: string }
  | { readonly action: 'convert'; readonly sendAs: string; readonly from: string; readonly to: string }
  | { readonly action: 'link'; readonly reason: string };

/**
 * Decides how a file of `mime`/`sizeBytes` goes out on a channel as `kind`: as is, after a
 * conversion (when ffmpeg can do it), or as a link with a reason.
 */
export function decideOutbound(
  rules: OutboundMediaRules,
  kind: ReplyMedia['kind'],
  file: { mimeType: string; sizeBytes: number; durationSec?: number },
  can: { convert: (to: string) => boolean },
): OutboundDecision {
  const rule = rules.outbound[kind];
  const mime = baseMime(file.mimeType) ?? 'application/octet-stream';
  if (rules.minBytes !== undefined && file.sizeBytes < rules.minBytes) return { action: 'link', reason: 'the file is empty' };
  const typeOk = rule.types === 'any' || rule.types.has(mime);
  const lengthOk = rule.maxSeconds === undefined || file.durationSec === undefined || file.durationSec <= rule.maxSeconds;
  if (typeOk && lengthOk && file.sizeBytes <= rule.maxBytes) return { action: 'send', sendAs: rule.sendAs, mimeType: mime };
  if (!lengthOk) return { action: 'link', reason: `${kind} longer than ${rule.maxSeconds} s` };
  // a conversion can fix the type (and usually shrinks audio/images), not a file several times too big
  if (!typeOk && rule.convertTo && can.convert(rule.convertTo) && file.sizeBytes <= rule.maxBytes * 4) {
    return { action: 'convert', sendAs: rule.sendAs, from: mime, to: rule.convertTo };
  }
  if (!typeOk) return { action: 'link', reason: `${mime} cannot be sent as ${kind} on ${rules.name}` };
  return { action: 'link', reason: `${kind} larger than ${Math.round(rule.maxBytes / MB)} MB` };
}
