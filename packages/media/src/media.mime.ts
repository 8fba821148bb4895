/**
 * MIME helpers: providers send parameters (`audio/ogg; codecs=opus`), generic types
 * (`application/octet-stream` from WeChat and ActiveStorage) or nothing, so the first bytes of the
 * file decide when the declared type is missing or generic.
 */

/** `Audio/OGG; codecs=opus` → `audio/ogg`. */
export function baseMime(mime: string | undefined): string | undefined {
  const m = mime?.split(';')[0]?.trim().toLowerCase();
  return m ? m : undefined;
}

/** Types that say nothing about the content. */
const GENERIC = new Set(['application/octet-stream', 'binary/octet-stream', 'application/binary', 'application/x-download', 'application/force-download']);

/**
 * A container recognised from its first bytes. `demuxer` is the ffmpeg input format forced with
 * `-f` (undefined = ffmpeg never reads it); `indirection` marks text that tells a tool to read
 * other files or URLs (HLS/M3U playlists, ffconcat lists, SDP, ffmetadata): never media.
 */
export interface SniffedFormat {
  readonly format: MediaFormat;
  readonly mime: string;
  readonly demuxer?: string;
  readonly indirection?: true;
}

/** Every format {@link sniffFormat} can name. */
export type MediaFormat =
  | 'ogg' | 'mp3' | 'aac' | 'mp4' | 'm4a' | '3gp' | 'mov' | 'wav' | 'webm' | 'matroska' | 'flac' | 'amr' | 'amr-wb' | 'silk'
  | 'jpeg' | 'png' | 'gif' | 'webp' | 'bmp' | 'tiff'
  | 'pdf' | 'zip' | 'text' | 'playlist';

/** How many leading bytes {@link sniffFormat} wants (more are ignored). */
export const SNIFF_BYTES = 4096;

/**
 * Names the real format of a file from its first bytes ({@link SNIFF_BYTES} is plenty), whatever
 * the provider declared. Undefined = unknown binary. Text that would make ffmpeg or a player
 * open other files (`#EXTM3U`, `ffconcat`, SDP…) is `playlist`, never `text`.
 */
export function sniffFormat(head: Buffer): SniffedFormat | undefined {
  const starts = (sig: string | number[], at = 0) => {
    const b = typeof sig === 'string' ? Buffer.from(sig, 'latin1') : Buffer.from(sig);
    return head.length >= at + b.length && head.subarray(at, at + b.length).equals(b);
  };
  if (starts('%PDF-')) return { format: 'pdf', mime: 'application/pdf' };
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { format: 'png', mime: 'image/png', demuxer: 'png_pipe' };
  if (starts([0xff, 0xd8, 0xff])) return { format: 'jpeg', mime: 'image/jpeg', demuxer: 'jpeg_pipe' };
  if (starts('GIF87a') || starts('GIF89a')) return { format: 'gif', mime: 'image/gif', demuxer: 'gif' };
  if (starts('BM') && head.length >= 26 && head.readUInt32LE(2) > 26) return { format: 'bmp', mime: 'image/bmp', demuxer: 'bmp_pipe' };
  if (starts('II*\0') || starts('MM\0*')) return { format: 'tiff', mime: 'image/tiff', demuxer: 'tiff_pipe' };
  if (starts('RIFF') && starts('WEBP', 8)) return { format: 'webp', mime: 'image/webp', demuxer: 'webp_pipe' };
  if (starts('RIFF') && starts('WAVE', 8)) return { format: 'wav', mime: 'audio/wav', demuxer: 'wav' };
  if (starts('OggS')) return { format: 'ogg', mime: 'audio/ogg', demuxer: 'ogg' };
  if (starts('#!AMR-WB\n')) return { format: 'amr-wb', mime: 'audio/amr-wb', demuxer: 'amr' };
  if (starts('#!AMR\n')) return { format: 'amr', mime: 'audio/amr', demuxer: 'amr' };
  // WeChat voice: SILK v3, often behind a 0x02 byte (the "Tencent" variant); ffmpeg has no decoder
  if (starts('#!SILK_V3') || starts('\x02#!SILK_V3')) return { format: 'silk', mime: 'audio/silk' };
  if (starts('fLaC')) return { format: 'flac', mime: 'audio/flac', demuxer: 'flac' };
  if (starts([0x1a, 0x45, 0xdf, 0xa3])) {
    // EBML header: the DocType says webm or matroska
    const webm = head.subarray(0, 64).includes(Buffer.from('webm', 'latin1'));
    return webm ? { format: 'webm', mime: 'video/webm', demuxer: 'matroska' } : { format: 'matroska', mime: 'video/x-matroska', demuxer: 'matroska' };
  }
  if (starts('ftyp', 4)) {
    const brand = head.subarray(8, 12).toString('latin1');
    if (brand.startsWith('3g')) return { format: '3gp', mime: 'video/3gpp', demuxer: 'mov' };
    if (brand === 'M4A ' || brand === 'M4B ') return { format: 'm4a', mime: 'audio/mp4', demuxer: 'mov' };
    if (brand === 'qt  ') return { format: 'mov', mime: 'video/quicktime', demuxer: 'mov' };
    return { format: 'mp4', mime: 'video/mp4', demuxer: 'mov' };
  }
  if (starts('ID3')) return { format: 'mp3', mime: 'audio/mpeg', demuxer: 'mp3' };
  if (head.length >= 2 && head[0] === 0xff) {
    const b1 = head[1] as number;
    // ADTS AAC: sync 0xFFF, layer bits 00; MPEG audio: sync 0xFFE, layer bits non-zero
    if ((b1 & 0xf6) === 0xf0) return { format: 'aac', mime: 'audio/aac', demuxer: 'aac' };
    if ((b1 & 0xe0) === 0xe0 && (b1 & 0x06) !== 0) return { format: 'mp3', mime: 'audio/mpeg', demuxer: 'mp3' };
  }
  if (starts('PK\x03\x04')) return { format: 'zip', mime: 'application/zip' };
  if (isIndirection(head)) return { format: 'playlist', mime: 'application/vnd.apple.mpegurl', indirection: true };
  if (looksLikeText(head)) return { format: 'text', mime: 'text/plain' };
  return undefined;
}

/**
 * Text that makes a demuxer open other resources: HLS/M3U (`#EXTM3U`, `#EXTINF`), ffconcat, SDP,
 * ffmetadata. Checked after a BOM and leading whitespace, case-insensitively. (Audio and video
 * allow no text at all, so this only names the refusal; it is not the guard.)
 */
function isIndirection(head: Buffer): boolean {
  const s = head.toString('latin1').replace(/^\xEF\xBB\xBF/, '').trimStart();
  return /^(#EXTM3U|#EXTINF|#EXT-X-|ffconcat|;FFMETADATA|v=0\r?\n)/i.test(s);
}

/** Recognises the container from its first bytes; the MIME type of {@link sniffFormat}, binary formats only. */
export function sniffMime(head: Buffer): string | undefined {
  const f = sniffFormat(head);
  return f && f.format !== 'text' && f.format !== 'playlist' ? f.mime : undefined;
}

/**
 * The type to trust: the sniffed one when the declared type is missing or generic, or when the
 * bytes prove a different family (a `.jpg` that is a PDF); otherwise the declared one, which
 * carries detail sniffing cannot (docx vs zip, text/csv).
 */
export function effectiveMime(declared: string | undefined, head: Buffer): string {
  const d = baseMime(declared);
  const sniffed = sniffMime(head);
  if (!d || GENERIC.has(d)) return sniffed ?? (looksLikeText(head) ? 'text/plain' : 'application/octet-stream');
  if (sniffed && sniffed !== 'application/zip' && family(sniffed) !== family(d)) return sniffed;
  return d;
}

function family(mime: string): string {
  return mime === 'application/pdf' ? 'pdf' : (mime.split('/')[0] ?? mime);
}

/** True when the bytes decode as UTF-8 text without control characters (other than whitespace). */
export function looksLikeText(head: Buffer): boolean {
  if (head.length === 0) return false;
  const s = head.toString('utf8');
  // cut the last character: the sample may end inside a multi-byte sequence
  const body = s.slice(0, Math.max(0, s.length - 1));
  if (body.includes('\uFFFD')) return false;
  return !/[\x00-\x08\x0E-\x1F]/.test(body);
}

const EXT: Record<string, string> = {
  'application/pdf': 'pdf',
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'audio/ogg': 'ogg',
  'audio/opus': 'opus',
  'audio/amr': 'amr',
  'audio/amr-wb': 'awb',
  'audio/silk': 'silk',
  'audio/mpeg': 'mp3',
  'audio/mp3': 'mp3',
  'audio/mp4': 'm4a',
  'audio/m4a': 'm4a',
  'audio/x-m4a': 'm4a',
  'audio/aac': 'aac',
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/flac': 'flac',
  'audio/webm': 'webm',
  'video/mp4': 'mp4',
  'video/3gpp': '3gp',
  'video/quicktime': 'mov',
  'video/webm': 'webm',
  'text/plain': 'txt',
  'text/csv': 'csv',
  'text/markdown': 'md',
  'image/bmp': 'bmp',
  'image/tiff': 'tiff',
  'video/x-matroska': 'mkv',
  'application/json': 'json',
};

/** A file extension for a MIME type (`bin` when unknown). */
export function extensionFor(mime: string | undefined): string {
  return EXT[baseMime(mime) ?? ''] ?? 'bin';
}

/** The MIME type a file name implies, for links without a declared type. */
export function mimeFromFilename(name: string | undefined): string | undefined {
  const ext = name?.split(/[?#]/)[0]?.split('.').pop()?.toLowerCase();
  if (!ext) return undefined;
  const hit = Object.entries(EXT).find(([, e]) => e === ext);
  if (hit) return hit[0];
  const more: Record<string, string> = {
    jpeg: 'image/jpeg',
    oga: 'audio/ogg',
    docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
    doc: 'application/msword',
    xls: 'application/vnd.ms-excel',
    ppt: 'application/vnd.ms-powerpoint',
  };
  return more[ext];
}
