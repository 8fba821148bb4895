import { GatewayError, type Logger, type MirrorMedia, type MirrorMediaLoader } from '@switchboard/core';
import { formatBytes } from '@switchboard/media';

/** Chatwoot's limits on attachments (chatwoot.md §4.1): `MAXIMUM_FILE_UPLOAD_SIZE` (default 40 MB) and 15 per message. */
export const CHATWOOT_ATTACHMENT_LIMITS = {
  maxFileBytes: 40 * 1024 * 1024,
  maxFiles: 15,
  /** What one mirrored message may carry in all (the whole multipart body is held in memory once). */
  maxMessageBytes: 100 * 1024 * 1024,
} as const;

/** One file ready for `attachments[]`. */
export interface MirrorAttachment {
  readonly bytes: Buffer;
  readonly filename: string;
  readonly contentType: string;
}

/** The files of a mirrored message, and a text line for each file that could not be attached. */
export interface MirrorAttachments {
  readonly files: MirrorAttachment[];
  readonly lines: string[];
}

const LABEL: Record<MirrorMedia['kind'], string> = { image: 'Image', audio: 'Audio', video: 'Video', document: 'File' };

/** `📎 File "invoice.pdf" (52 MB) not attached: <why>`: names the file and its size, never a provider URL (those need our token). */
export function attachmentFallbackLine(media: MirrorMedia, why: string, sizeBytes?: number): string {
  const label = media.kind === 'audio' && media.voice ? 'Voice message' : LABEL[media.kind];
  const name = media.ref.filename ? ` "${media.ref.filename}"` : '';
  const size = sizeBytes ?? media.ref.sizeBytes;
  return `📎 ${label}${name}${size !== undefined ? ` (${formatBytes(size)})` : ''} not attached: ${why}`;
}

/**
 * Downloads a mirror job's files within Chatwoot's limits: too many, too large (declared or while
 * downloading) or gone for good become a text line; a passing problem (network, provider 5xx) is
 * thrown while `retry` holds, so the job retries before anything is claimed or posted.
 */
export async function loadMirrorAttachments(
  media: readonly MirrorMedia[],
  load: MirrorMediaLoader | undefined,
  log: Logger,
  opts: { readonly retry: boolean; readonly limits?: typeof CHATWOOT_ATTACHMENT_LIMITS } = { retry: true },
): Promise<MirrorAttachments> {
  const limits = opts.limits ?? CHATWOOT_ATTACHMENT_LIMITS;
  const files: MirrorAttachment[] = [];
  const lines: string[] = [];
  let total = 0;
  for (const m of media) {
    if (!load) {
      lines.push(attachmentFallbackLine(m, 'media download is not configured for this channel'));
      continue;
    }
    if (files.length >= limits.maxFiles) {
      lines.push(attachmentFallbackLine(m, `Chatwoot takes at most ${limits.maxFiles} files per message`));
      continue;
    }
    const room = Math.min(limits.maxFileBytes, limits.maxMessageBytes - total);
    if (m.ref.sizeBytes !== undefined && m.ref.sizeBytes > room) {
      lines.push(attachmentFallbackLine(m, `larger than the ${formatBytes(room)} Chatwoot accepts`));
      continue;
    }
    try {
      const file = await load(m, room);
      files.push({ bytes: file.bytes, filename: file.filename, contentType: file.mimeType });
      total += file.bytes.length;
    } catch (err: unknown) {
      // a passing problem is retried for a while; past that the message goes without the file
      if (err instanceof GatewayError && err.retryable && opts.retry) throw err;
      const why = err instanceof Error ? err.message : String(err);
      log.warn('chatwoot mirror: file not attached', { kind: m.kind, err: why });
      lines.push(attachmentFallbackLine(m, why));
    }
  }
  return { files, lines };
}
