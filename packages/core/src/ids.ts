import { createHash } from 'node:crypto';
import { memoizeRecent } from './memo.js';

/** Digests of recent short values (conversation and customer ids are hashed many times per message). */
const sha256Hex = memoizeRecent((value: string) => createHash('sha256').update(value).digest('hex'), 4096, 256);

/** Short, stable hex digest used to build job ids and Redis keys from arbitrary provider ids. */
export function shortHash(value: string, length = 16): string {
  return sha256Hex(value).slice(0, length);
}

/**
 * Builds a BullMQ-safe job id from parts.
 *
 * BullMQ rejects custom ids that contain `:` or are made only of digits
 * (docs `guide/jobs/job-ids.md`), so every unsafe character becomes `_` and the
 * id always starts with a letter prefix.
 */
export function jobId(prefix: string, ...parts: Array<string | number>): string {
  const body = parts.map((p) => String(p).replace(/[^A-Za-z0-9._-]/g, '_')).join('-');
  const id = `${prefix}-${body}`;
  // Provider ids can be long (wamids are ~60 chars); keep ids bounded but unique.
  return id.length > 200 ? `${prefix}-${shortHash(id, 40)}` : id;
}

/**
 * Correlation of one part of an outbound reply, set where the provider echoes it back on delivery
 * statuses (WhatsApp `biz_opaque_callback_data`, at most 512 characters): `<outboundId>#<part>`.
 */
export function partCorrelation(outboundId: string, part: number | 'fallback'): string {
  return `${outboundId}#${part}`;
}

/** Reads a {@link partCorrelation}; undefined for anything else (including the fallback template's). */
export function parsePartCorrelation(value: string | undefined): { outboundId: string; part: number } | undefined {
  const m = value === undefined ? null : /^(.+)#(\d{1,4})$/.exec(value);
  return m ? { outboundId: m[1]!, part: Number(m[2]) } : undefined;
}
