import { readFile } from 'node:fs/promises';
import type { Counter } from 'prom-client';
import { conversationId, type ChannelId, type ConversationRef, type InboundMessage, type Logger, type MediaRef } from '@switchboard/core';
import type { MediaLimits } from './media.env.js';
import { MediaError, MediaFailureReason, MediaTooLargeError, errorText, formatBytes } from './media.errors.js';
import { durationFromFile } from './media.duration.js';
import { readHead, type Ffmpeg, type ProbeResult } from './media.ffmpeg.js';
import type { FetchedMedia } from './media.http.js';
import { baseMime, extensionFor, mimeFromFilename, sniffFormat, type MediaFormat, type SniffedFormat } from './media.mime.js';
import { DEFAULT_DOCUMENT_LIMITS, extractPdfText, extractPlainText, type DocumentLimits } from './media.pdf.js';
import { inboundRule, requireFormat, TEXT_DOCUMENT_TYPES, VISION_IMAGE_TYPES, type InboundKind } from './media.policy.js';
import { SilkTooLongError, silkToWav } from './media.silk.js';
import type { MediaSource } from './media.sources.js';
import type { MediaTempStore, MediaWorkspace } from './media.store.js';
import type { TranscriptCache, Transcriber } from './media.transcribe.js';

/** The enrichment the resolver fills in (the `enrichment` field of an inbound message). */
export type Enrichment = NonNullable<InboundMessage['enrichment']>;

/** Labels of the media counter: `outcome` is `ok`, `cached` or a {@link MediaFailureReason}. */
export type MediaCounter = Counter<'channel' | 'kind' | 'outcome'>;

/** Options of {@link MediaResolver}. */
export interface MediaResolverOptions {
  /**
   * Where media comes from: per channel, or per conversation (each gateway account downloads with
   * its own credentials); none gives `not_configured`.
   */
  sources: Partial<Record<ChannelId, MediaSource>> | ((ref: ConversationRef) => MediaSource | undefined);
  /** The most each channel's provider lets us download in one request (its module's `media.downloadMaxBytes`; absent = MEDIA_MAX_BYTES). */
  downloadMax?: Partial<Record<ChannelId, number>>;
  store: MediaTempStore;
  ffmpeg: Ffmpeg;
  /** Speech-to-text; absent = voice notes are reported as not transcribed. */
  transcriber?: Transcriber;
  transcripts?: TranscriptCache;
  limits: MediaLimits;
  /** Transcribe the sound track of videos. */
  transcribeVideo: boolean;
  /** Per PDF extraction. */
  processTimeoutMs: number;
  /** Memory, inflated-bytes and page caps of document extraction (defaults: 512 MB, 64 MB, 100 pages). */
  documents?: Partial<Omit<DocumentLimits, 'timeoutMs' | 'maxChars'>>;
  log: Logger;
  counter?: MediaCounter;
  /** Media of one turn processed in parallel. */
  concurrency?: number;
}

/** Who the media belongs to (for logs and the sources that check the sending account). */
export interface EnrichContext {
  ref?: ConversationRef;
  conversationId?: string;
}

/**
 * Audio OpenAI-compatible `/audio/transcriptions` endpoints take as is (flac, mp3, mp4, m4a, ogg,
 * wav, webm), sent untouched after sniffing; anything else (AMR, AAC, 3GP, Matroska, a video's
 * sound track) is converted to MP3 with ffmpeg, SILK is decoded to WAV.
 */
const SPEECH_PASSTHROUGH: ReadonlySet<MediaFormat> = new Set<MediaFormat>(['ogg', 'mp3', 'mp4', 'm4a', 'wav', 'webm', 'flac']);
const SPEECH_EXT: Partial<Record<MediaFormat, string>> = { ogg: 'ogg', mp3: 'mp3', mp4: 'mp4', m4a: 'm4a', wav: 'wav', webm: 'webm', flac: 'flac' };

type MediaContent = Extract<InboundMessage['content'], { media: MediaRef }>;

function isMedia(c: InboundMessage['content']): c is MediaContent {
  return 'media' in c;
}

function what(c: MediaContent): string {
  switch (c.type) {
    case 'audio':
      return c.voice ? 'the voice message' : 'the audio file';
    case 'document':
      return c.media.filename ? `the document "${c.media.filename}"` : 'the document';
    case 'sticker':
      return 'the sticker';
    default:
      return `the ${c.type}`;
  }
}

function seconds(s: number): string {
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

/**
 * Turns the media of inbound messages into something the agent can read: transcripts for voice
 * and audio (and video sound), data URLs for images, extracted text for PDFs and text files, and
 * short notes for the rest. Downloads happen here, in the worker, into a per-call workspace that
 * is deleted before `enrich` returns. A failure never drops a message: it becomes
 * `enrichment.error`, is logged and counted.
 */
export class MediaResolver {
  constructor(private readonly opts: MediaResolverOptions) {}

  private downloadMax(channel: ChannelId): number {
    return this.opts.downloadMax?.[channel] ?? this.opts.limits.maxBytes;
  }

  /** Returns the messages (same order) with `enrichment` filled where they carry media. Never rejects for media problems. */
  async enrich(messages: InboundMessage[], ctx: EnrichContext = {}): Promise<InboundMessage[]> {
    let ws: Promise<MediaWorkspace> | undefined;
    const workspace = () => (ws ??= this.opts.store.workspace());
    try {
      return await mapLimit(messages, this.opts.concurrency ?? 3, (m) => this.enrichOne(m, workspace, ctx));
    } finally {
      if (ws) await ws.then((w) => w.dispose()).catch((err: unknown) => this.opts.log.warn('media workspace cleanup failed', { err: errorText(err) }));
    }
  }

  private async enrichOne(m: InboundMessage, workspace: () => Promise<MediaWorkspace>, ctx: EnrichContext): Promise<InboundMessage> {
    const c = m.content;
    if (!isMedia(c) || m.enrichment) return m;
    const channel = m.conversation.channel;
    const kind: InboundKind = c.type;
    const started = Date.now();
    let enrichment: Enrichment;
    let outcome: string;
    try {
      const r = await this.understand(m, c, workspace, ctx);
      enrichment = r.enrichment;
      outcome = r.cached ? 'cached' : 'ok';
      this.opts.log.info('media understood', { channel, kind, outcome, ms: Date.now() - started, conversation: ctx.conversationId, eventId: m.eventId });
    } catch (err) {
      const media = err instanceof MediaError ? err : new MediaError(MediaFailureReason.downloadFailed, `${what(c)} could not be read (${errorText(err)})`, { cause: err });
      outcome = media.reason;
      const sentence = media.reason === MediaFailureReason.ffmpegMissing ? `${what(c)} could not be processed: ${media.message}` : media.message;
      enrichment = { error: capitalize(sentence), ...this.fallbackNote(c, media) };
      const level = err instanceof MediaError ? 'warn' : 'error';
      this.opts.log[level]('media not understood', { channel, kind, reason: media.reason, retryable: media.retryable, err: media.message, conversation: ctx.conversationId, eventId: m.eventId });
    }
    this.opts.counter?.inc({ channel, kind, outcome });
    return { ...m, enrichment };
  }

  /** A note with what is known without the file (size from the provider), so the agent still knows what arrived. */
  private fallbackNote(c: MediaContent, err: MediaError): { note?: string } {
    const size = err instanceof MediaTooLargeError && err.sizeBytes !== undefined ? err.sizeBytes : c.media.sizeBytes;
    const parts = [c.type === 'audio' && c.voice ? 'voice message' : c.type, c.media.filename ? `"${c.media.filename}"` : undefined, size !== undefined ? formatBytes(size) : undefined];
    return { note: `${parts.filter(Boolean).join(', ')} received but not read` };
  }

  private identity(m: InboundMessage, ref: MediaRef): string | undefined {
    const id = ref.mediaId ?? ref.url;
    return id ? `${m.conversation.channel}|${m.conversation.accountId ?? ''}|${m.conversation.account}|${id}` : undefined;
  }

  private async download(m: InboundMessage, c: MediaContent, kind: InboundKind, ws: MediaWorkspace, ctx: EnrichContext): Promise<FetchedMedia> {
    const channel = m.conversation.channel;
    const sources = this.opts.sources;
    const source = typeof sources === 'function' ? sources(m.conversation) : sources[channel];
    if (!source) throw new MediaError(MediaFailureReason.notConfigured, `${what(c)} could not be fetched: media download is not configured for ${channel}`);
    const rule = inboundRule(this.downloadMax(channel), kind, this.opts.limits);
    // refuse before downloading when the provider told us the size
    if (c.media.sizeBytes !== undefined && c.media.sizeBytes > rule.maxBytes) throw new MediaTooLargeError(what(c), rule.maxBytes, c.media.sizeBytes);
    const account = ctx.ref?.account ?? m.conversation.account;
    // the sending account: a source that scopes downloads by account (a phone number id) checks it
    return source.fetch(c.media, ws, { maxBytes: rule.maxBytes, what: what(c), account });
  }

  private async understand(m: InboundMessage, c: MediaContent, workspace: () => Promise<MediaWorkspace>, ctx: EnrichContext): Promise<{ enrichment: Enrichment; cached?: boolean }> {
    switch (c.type) {
      case 'image':
      case 'sticker':
        return { enrichment: await this.image(m, c, await workspace(), ctx) };
      case 'audio':
        return this.audio(m, c, workspace, ctx);
      case 'video':
        return this.video(m, c, await workspace(), ctx);
      case 'document':
        return { enrichment: await this.document(m, c, workspace, ctx) };
    }
  }

  private async image(m: InboundMessage, c: MediaContent, ws: MediaWorkspace, ctx: EnrichContext): Promise<Enrichment> {
    const rule = inboundRule(this.downloadMax(m.conversation.channel), 'image', this.opts.limits);
    let file = await this.download(m, c, 'image', ws, ctx);
    const format = requireFormat(c.type === 'sticker' ? 'sticker' : 'image', await readHead(file.path), what(c));
    file = { ...file, mimeType: format.mime };
    if (!VISION_IMAGE_TYPES.has(format.mime)) {
      // BMP, TIFF: the vision models take JPEG
      const out = ws.path('jpg');
      const size = await this.opts.ffmpeg.toJpeg(file.path, out);
      ws.account(size);
      if (size > rule.maxBytes) throw new MediaTooLargeError(what(c), rule.maxBytes, size);
      file = { path: out, size, mimeType: 'image/jpeg' };
    }
    const bytes = await readFile(file.path);
    const animated = c.type === 'sticker' && c.animated ? ' (animated)' : '';
    return { imageDataUrl: `data:${file.mimeType};base64,${bytes.toString('base64')}`, note: `${c.type}${animated}, ${file.mimeType}, ${formatBytes(file.size)}` };
  }

  /** Transcribes a file whose format was sniffed and allowed; `durationSec` when known. */
  private async transcribeFile(file: FetchedMedia, format: SniffedFormat, ws: MediaWorkspace, c: MediaContent, durationSec: number | undefined): Promise<{ text: string; durationSec?: number }> {
    const transcriber = this.opts.transcriber;
    if (!transcriber) throw new MediaError(MediaFailureReason.notConfigured, `${what(c)} could not be transcribed: speech-to-text is not configured (OPENAI_API_KEY)`);
    if (durationSec !== undefined && durationSec > this.opts.limits.audioSec) {
      throw new MediaError(MediaFailureReason.tooLarge, `${what(c)} is ${seconds(durationSec)} long, over the ${seconds(this.opts.limits.audioSec)} transcription limit`);
    }
    let path = file.path;
    let mimeType: string;
    let filename: string;
    let length = durationSec;
    if (format.format === 'silk') {
      const out = ws.path('wav');
      try {
        const wav = await silkToWav(file.path, out, { maxSec: this.opts.limits.audioSec, timeoutMs: this.opts.processTimeoutMs, memoryMb: this.opts.documents?.memoryMb ?? DEFAULT_DOCUMENT_LIMITS.memoryMb });
        ws.account(wav.size);
        length = wav.durationSec;
      } catch (err) {
        if (err instanceof SilkTooLongError) {
          throw new MediaError(MediaFailureReason.tooLarge, `${what(c)} is ${seconds(err.durationSec)} long, over the ${seconds(this.opts.limits.audioSec)} transcription limit`);
        }
        throw err instanceof MediaError ? new MediaError(err.reason, `${what(c)} ${err.message}`, { cause: err }) : err;
      }
      path = out;
      mimeType = 'audio/wav';
      filename = 'voice.wav';
    } else if (SPEECH_PASSTHROUGH.has(format.format) && c.type !== 'video') {
      // the endpoint decodes these itself: the customer's bytes go as they are, named after their real format
      const ext = SPEECH_EXT[format.format] ?? extensionFor(format.mime);
      mimeType = format.format === 'mp4' || format.format === 'm4a' ? 'audio/mp4' : format.format === 'webm' ? 'audio/webm' : format.mime;
      filename = `${c.type === 'audio' && c.voice ? 'voice' : 'audio'}.${ext}`;
    } else {
      const out = ws.path('mp3');
      const size = await this.opts.ffmpeg.toSpeechMp3(file.path, out, this.opts.limits.audioSec);
      ws.account(size);
      path = out;
      mimeType = 'audio/mpeg';
      filename = 'audio.mp3';
    }
    const text = (await transcriber.transcribe(path, { mimeType, filename })).trim();
    return { text, ...(length !== undefined ? { durationSec: length } : {}) };
  }

  /** ffprobe facts of an allowed file (hardened input), or undefined when ffprobe is missing or fails. */
  private async probeIfPossible(path: string): Promise<ProbeResult | undefined> {
    if (!(await this.opts.ffmpeg.probeAvailable())) return undefined;
    try {
      return await this.opts.ffmpeg.probe(path);
    } catch (err) {
      this.opts.log.warn('ffprobe failed', { err: errorText(err) });
      return undefined;
    }
  }

  private async audio(m: InboundMessage, c: MediaContent, workspace: () => Promise<MediaWorkspace>, ctx: EnrichContext): Promise<{ enrichment: Enrichment; cached?: boolean }> {
    const label = c.type === 'audio' && c.voice ? 'voice message' : 'audio';
    const id = this.identity(m, c.media);
    const hit = id ? await this.opts.transcripts?.get(conversationId(m.conversation), id) : undefined;
    if (hit !== undefined) return { enrichment: { transcript: hit, note: `${label}, transcribed` }, cached: true };
    if (!this.opts.transcriber) throw new MediaError(MediaFailureReason.notConfigured, `${what(c)} could not be transcribed: speech-to-text is not configured (OPENAI_API_KEY)`);
    const ws = await workspace();
    const file = await this.download(m, c, 'audio', ws, ctx);
    // the bytes decide, never the declared type: a playlist or any text is refused here
    const format = requireFormat('audio', await readHead(file.path), what(c));
    // the container says its length when it can (no tool run); ffprobe otherwise; SILK's comes from the decoder
    const durationSec = format.format === 'silk' ? undefined : ((await durationFromFile(file.path, format.format)) ?? (await this.probeIfPossible(file.path))?.durationSec);
    const t = await this.transcribeFile(file, format, ws, c, durationSec);
    if (id) await this.opts.transcripts?.set(conversationId(m.conversation), id, t.text);
    const length = t.durationSec !== undefined ? `, ${seconds(t.durationSec)}` : '';
    return { enrichment: { transcript: t.text, note: `${label}${length}, transcribed` } };
  }

  private async video(m: InboundMessage, c: MediaContent, ws: MediaWorkspace, ctx: EnrichContext): Promise<{ enrichment: Enrichment; cached?: boolean }> {
    const file = await this.download(m, c, 'video', ws, ctx);
    const format = requireFormat('video', await readHead(file.path), what(c));
    const probe = await this.probeIfPossible(file.path);
    const facts = [
      'video',
      probe?.durationSec !== undefined ? seconds(probe.durationSec) : undefined,
      formatBytes(file.size),
      probe?.width && probe.height ? `${probe.width}×${probe.height}` : undefined,
      probe && !probe.hasAudio ? 'no sound' : undefined,
      probe ? undefined : 'duration unknown (ffprobe missing)',
    ].filter(Boolean);
    const enrichment: Enrichment = { note: facts.join(', ') };
    if (!this.opts.transcribeVideo || !this.opts.transcriber || !probe?.hasAudio) return { enrichment };
    if (probe.durationSec !== undefined && probe.durationSec > this.opts.limits.audioSec) {
      return { enrichment: { note: `${enrichment.note}; sound not transcribed (longer than ${seconds(this.opts.limits.audioSec)})` } };
    }
    const id = this.identity(m, c.media);
    const key = id ? `${id}#sound` : undefined;
    const hit = key ? await this.opts.transcripts?.get(conversationId(m.conversation), key) : undefined;
    if (hit !== undefined) return { enrichment: { ...enrichment, transcript: hit }, cached: true };
    try {
      const transcript = (await this.transcribeFile(file, format, ws, c, probe.durationSec)).text;
      if (key) await this.opts.transcripts?.set(conversationId(m.conversation), key, transcript);
      return { enrichment: { ...enrichment, transcript } };
    } catch (err) {
      // the video itself was understood; only its sound was not
      this.opts.log.warn('video sound not transcribed', { channel: m.conversation.channel, err: errorText(err) });
      return { enrichment: { ...enrichment, error: capitalize(`the sound of ${what(c)} could not be transcribed: ${errorText(err)}`) } };
    }
  }

  private async document(m: InboundMessage, c: MediaContent, workspace: () => Promise<MediaWorkspace>, ctx: EnrichContext): Promise<Enrichment> {
    const declared = baseMime(c.media.mimeType);
    const named = mimeFromFilename(c.media.filename);
    const known = declared && declared !== 'application/octet-stream' ? declared : named;
    const describe = (mime: string | undefined, size: number | undefined) =>
      ['document', c.media.filename ? `"${c.media.filename}"` : undefined, mime, size !== undefined ? formatBytes(size) : undefined].filter(Boolean).join(', ');
    // a type we cannot read anyway: say what arrived without downloading it
    if (known && !TEXT_DOCUMENT_TYPES.has(known) && !known.startsWith('text/')) {
      return { note: `${describe(known, c.media.sizeBytes)}; its content cannot be read here` };
    }
    const ws = await workspace();
    const file = await this.download(m, c, 'document', ws, ctx);
    const name = c.media.filename ?? file.filename;
    const sniffed = baseMime(file.mimeType) ?? 'application/octet-stream';
    // WeChat `file` messages carry no type: a docx sniffs as zip, its name (Content-Disposition) says more
    const byName = mimeFromFilename(name);
    const mime = (sniffed === 'application/zip' || sniffed === 'application/octet-stream') && byName ? byName : sniffed;
    const head = [`document`, name ? `"${name}"` : undefined, mime, formatBytes(file.size)].filter(Boolean).join(', ');
    const cap = this.opts.limits.textChars;
    // what is read is decided by the bytes: a PDF goes to the bounded reader, text is read as text
    const format = sniffFormat(await readHead(file.path));
    if (format?.format === 'pdf') {
      const pdf = await extractPdfText(file.path, { maxChars: cap, timeoutMs: this.opts.processTimeoutMs, what: what(c), ...this.opts.documents });
      const pages = pdf.pages !== undefined ? `, ${pdf.pages} page${pdf.pages === 1 ? '' : 's'}` : '';
      const partial = pdf.pagesRead !== undefined && pdf.pages !== undefined && pdf.pagesRead < pdf.pages ? ` (first ${pdf.pagesRead} pages read)` : '';
      if (!pdf.text) return { note: `${head}${pages}${partial}; no text layer (probably a scan), content not read` };
      return { text: pdf.text, note: `${head}${pages}${partial}; text extracted${pdf.truncated ? ` (cut to ${cap} characters)` : ''}` };
    }
    if (format?.format === 'text') {
      const t = await extractPlainText(file.path, { maxChars: cap });
      return { text: t.text, note: `${head}; text extracted${t.truncated ? ` (cut to ${cap} characters)` : ''}` };
    }
    return { note: `${head}; its content cannot be read here` };
  }
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Maps with at most `limit` calls in flight, keeping order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const run = async () => {
    while (next < items.length) {
      const i = next;
      next += 1;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, run));
  return out;
}
