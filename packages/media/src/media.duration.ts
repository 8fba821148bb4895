import { open } from 'node:fs/promises';
import type { MediaFormat } from './media.mime.js';

/**
 * Durations read from the container itself, without ffprobe: OGG (Opus or Vorbis: the last page's
 * granule position over the sample rate) and WAV (data bytes over the byte rate). Undefined when
 * the file does not say (other formats, or a malformed header), and the caller falls back to
 * ffprobe or to no duration.
 */
export async function durationFromFile(path: string, format: MediaFormat): Promise<number | undefined> {
  if (format !== 'ogg' && format !== 'wav') return undefined;
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(Math.min(size, 4096));
    await fh.read(head, 0, head.length, 0);
    if (format === 'wav') return wavDuration(head, size);
    const tailLen = Math.min(size, 65_536);
    const tail = Buffer.alloc(tailLen);
    await fh.read(tail, 0, tailLen, size - tailLen);
    return oggDuration(head, tail);
  } finally {
    await fh.close();
  }
}

/** Seconds of an OGG stream from its first page (codec header) and its tail (last granule). */
export function oggDuration(head: Buffer, tail: Buffer): number | undefined {
  let rate: number | undefined;
  let preSkip = 0;
  const opus = head.indexOf('OpusHead', 0, 'latin1');
  const vorbis = head.indexOf('\x01vorbis', 0, 'latin1');
  if (opus >= 0 && head.length >= opus + 12) {
    // Opus granules always count 48 kHz samples; the first `pre-skip` are decoder warm-up
    rate = 48_000;
    preSkip = head.readUInt16LE(opus + 10);
  } else if (vorbis >= 0 && head.length >= vorbis + 16) {
    rate = head.readUInt32LE(vorbis + 12);
  }
  if (!rate) return undefined;
  const last = tail.lastIndexOf('OggS', tail.length - 27, 'latin1');
  if (last < 0) return undefined;
  const granule = tail.readBigInt64LE(last + 6);
  if (granule <= 0n) return undefined;
  const sec = (Number(granule) - preSkip) / rate;
  return Number.isFinite(sec) && sec >= 0 ? sec : undefined;
}

/** Seconds of a PCM WAV: the `data` chunk's size over the `fmt ` chunk's byte rate. */
export function wavDuration(head: Buffer, fileSize: number): number | undefined {
  let pos = 12;
  let byteRate: number | undefined;
  while (pos + 8 <= head.length) {
    const id = head.toString('latin1', pos, pos + 4);
    const len = head.readUInt32LE(pos + 4);
    if (id === 'fmt ' && pos + 16 <= head.length) byteRate = head.readUInt32LE(pos + 16);
    if (id === 'data') {
      if (!byteRate) return undefined;
      // streamed WAVs carry 0 or 0xFFFFFFFF: the file size says how much data there is
      const data = len === 0 || len === 0xffffffff ? fileSize - pos - 8 : Math.min(len, fileSize - pos - 8);
      return data / byteRate;
    }
    pos += 8 + len + (len % 2);
  }
  return undefined;
}
