import { rename } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { MediaError, MediaFailureReason, MediaTooLargeError, errorText } from './media.errors.js';
import { effectiveMime, extensionFor } from './media.mime.js';
import type { MediaWorkspace } from './media.store.js';

/** User-Agent of every media request. Meta's CDN answers requests without one with errors. */
export const MEDIA_USER_AGENT = 'switchboard-gateway/0.1 (media)';

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

/** An axios instance for binary downloads: streams, never throws on status, explicit User-Agent. */
export function createDownloadHttp(opts: { timeoutMs: number; maxRedirects?: number; baseURL?: string }): AxiosInstance {
  return axios.create({
    ...(opts.baseURL ? { baseURL: opts.baseURL } : {}),
    timeout: opts.timeoutMs,
    maxRedirects: opts.maxRedirects ?? 0,
    validateStatus: () => true,
    proxy: false,
    headers: { 'User-Agent': MEDIA_USER_AGENT },
  });
}

function flatHeaders(res: AxiosResponse): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers ?? {})) if (v !== undefined && v !== null) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  return out;
}

/** GET as a stream. Network failures become retryable `download_failed` errors. */
export async function getStream(http: AxiosInstance, url: string, opts: { headers?: Record<string, string>; params?: Record<string, string>; what: string }): Promise<StreamResponse> {
  let res: AxiosResponse<Readable>;
  try {
    res = await http.get<Readable>(url, { responseType: 'stream', ...(opts.headers ? { headers: opts.headers } : {}), ...(opts.params ? { params: opts.params } : {}) });
  } catch (err) {
    throw new MediaError(MediaFailureReason.downloadFailed, `${opts.what} could not be downloaded (${errorText(err)})`, { retryable: true, cause: err });
  }
  return { status: res.status, headers: flatHeaders(res), body: res.data };
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
  const saved = await ws.write(res.body, { maxBytes: opts.maxBytes, what: opts.what });
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
