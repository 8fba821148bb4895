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

/** Recognises the container from its first bytes (enough of them: 16). */
export function sniffMime(head: Buffer): string | undefined {
  const starts = (sig: string | number[], at = 0) => {
    const b = typeof sig === 'string' ? Buffer.from(sig, 'latin1') : Buffer.from(sig);
    return head.length >= at + b.length && head.subarray(at, at + b.length).equals(b);
  };
  if (starts('%PDF-')) return 'application/pdf';
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (starts([0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (starts('GIF87a') || starts('GIF89a')) return 'image/gif';
  if (starts('RIFF') && starts('WEBP', 8)) return 'image/webp';
  if (starts('RIFF') && starts('WAVE', 8)) return 'audio/wav';
  if (starts('OggS')) return 'audio/ogg';
  if (starts('#!AMR-WB\n')) return 'audio/amr-wb';
  if (starts('#!AMR\n')) return 'audio/amr';
  // WeChat voice: SILK v3, sometimes behind a 0x02 byte (the "Tencent" variant)
  if (starts('#!SILK_V3') || starts('\x02#!SILK_V3')) return 'audio/silk';
  if (starts('ID3') || starts([0xff, 0xfb]) || starts([0xff, 0xf3]) || starts([0xff, 0xf2])) return 'audio/mpeg';
  if (starts('fLaC')) return 'audio/flac';
  if (starts([0x1a, 0x45, 0xdf, 0xa3])) return 'video/webm';
  if (starts('ftyp', 4)) {
    const brand = head.subarray(8, 12).toString('latin1');
    if (brand.startsWith('3g')) return 'video/3gpp';
    if (brand === 'M4A ' || brand === 'M4B ') return 'audio/mp4';
    if (brand === 'qt  ') return 'video/quicktime';
    return 'video/mp4';
  }
  if (starts('PK\x03\x04')) return 'application/zip';
  return undefined;
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
