import { rename } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { FetchRefusedError, FetchTooLargeError, FETCH_USER_AGENT, type CredentialScope, type GuardedFetcher } from '@switchboard/fetch';
import { MediaError, MediaFailureReason, MediaTooLargeError, errorText } from './media.errors.js';
import { effectiveMime, extensionFor } from './media.mime.js';
import type { MediaWorkspace } from './media.store.js';

/** User-Agent of every media request. Meta's CDN answers requests without one with errors. */
export const MEDIA_USER_AGENT = FETCH_USER_AGENT;

/** A downloaded file in a turn's workspace. */
export interface FetchedMedia {
  readonly path: string;
  readonly size: number;
  /** Declared type checked against the first bytes (see {@link effectiveMime}). */
  readonly mimeType: string;
  readonly filename?: string;
}

/** A streaming GET whose status the caller inspects before taking the body. */
export interface StreamResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Readable;
}

/** What a media download may do: its cap, whose credentials it carries, which provider origin it may reach. */
export interface DownloadOptions {
  readonly what: string;
  readonly maxBytes: number;
  readonly credentials?: CredentialScope;
  /** The provider's own configured origin(s): fetched whatever their address (fakes, self-hosted installs). */
  readonly providerOrigins?: readonly string[];
}

/** Largest answer read from an API lookup (JSON), not a file. */
export const LOOKUP_MAX_BYTES = 256 * 1024;

/**
 * GET through the guarded fetcher as a stream. Refusals become non-retryable `not_available`
 * errors (the agent is told the file is not available), network failures retryable `download_failed`.
 */
export async function getStream(fetcher: GuardedFetcher, url: string, opts: DownloadOptions): Promise<StreamResponse> {
  try {
    const res = await fetcher.fetch(url, {
      what: opts.what,
      maxBytes: opts.maxBytes,
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      ...(opts.providerOrigins ? { providerOrigins: opts.providerOrigins } : {}),
    });
    return { status: res.status, headers: res.headers, body: res.body };
  } catch (err) {
    throw downloadError(err, opts.what, opts.maxBytes);
  }
}

/** The media error of a failed guarded fetch (or body read). */
export function downloadError(err: unknown, what: string, maxBytes: number): MediaError {
  if (err instanceof MediaError) return err;
  if (err instanceof FetchRefusedError) {
    return new MediaError(MediaFailureReason.notAvailable, `${what} is not available: its link points somewhere files are never fetched from (${err.reason})`, { cause: err });
  }
  if (err instanceof FetchTooLargeError) return new MediaTooLargeError(what, maxBytes, err.sizeBytes);
  return new MediaError(MediaFailureReason.downloadFailed, `${what} could not be downloaded (${errorText(err)})`, { retryable: true, cause: err });
}

/** Reads a (small) body to a string, at most `max` bytes; used for error answers. */
export async function readSmall(body: Readable, max = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of body) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    chunks.push(b);
    n += b.length;
    if (n > max) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, max);
}

/** Discards a body so the connection is released. */
export function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.resume();
}

/** Saves a successful response into the workspace: early size check on Content-Length, then a capped stream. */
export async function saveBody(
  ws: MediaWorkspace,
  res: StreamResponse,
  opts: { maxBytes: number; what: string; declaredMime?: string; filename?: string },
): Promise<FetchedMedia> {
  const length = Number(res.headers['content-length']);
  if (Number.isFinite(length) && length > opts.maxBytes) {
    res.body.destroy();
    throw new MediaTooLargeError(opts.what, opts.maxBytes, length);
  }
  let saved: Awaited<ReturnType<MediaWorkspace['write']>>;
  try {
    saved = await ws.write(res.body, { maxBytes: opts.maxBytes, what: opts.what });
  } catch (err) {
    throw downloadError(err, opts.what, opts.maxBytes);
  }
  const headerType = res.headers['content-type'];
  const mimeType = effectiveMime(opts.declaredMime ?? headerType, saved.head);
  const filename = opts.filename ?? filenameFromDisposition(res.headers['content-disposition']);
  // transcription servers and ffmpeg pick decoders by extension: name the file after its real type
  const path = saved.path.replace(/\.bin$/, `.${extensionFor(mimeType)}`);
  if (path !== saved.path) await rename(saved.path, path);
  return { path, size: saved.size, mimeType, ...(filename ? { filename } : {}) };
}

/** `attachment; filename="a b.pdf"` / `filename*=UTF-8''a%20b.pdf` → `a b.pdf`. */
export function filenameFromDisposition(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(value)?.[1];
  if (star) {
    try {
      return decodeURIComponent(star.trim());
    } catch {
      return star.trim();
    }
  }
  return /filename\s*=\s*"?([^";]+)"?/.exec(value)?.[1]?.trim();
}
