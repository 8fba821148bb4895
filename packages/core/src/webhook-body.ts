import { gunzipSync, inflateSync } from 'node:zlib';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import getRawBody from 'raw-body';
import type { WebhookRequest } from './channel.js';

/**
 * Webhook bodies, one way for every ingress route.
 *
 * Policy (README "Webhook bodies and compression", docs/architecture.md):
 * 1. the bytes are read exactly as received, never inflated by the framework, with an explicit limit
 *    on the wire (above it → 413);
 * 2. `Content-Encoding` may be absent/`identity`, `gzip` (`x-gzip`) or `deflate` (zlib-wrapped, as
 *    RFC 9110 defines it); anything else, and stacked codings such as `gzip, gzip`, → 415;
 * 3. a signature that covers the body (WhatsApp `X-Hub-Signature-256`, Chatwoot
 *    `X-Chatwoot-Signature`) is checked over the received (still encoded) bytes, so a signature over
 *    the inflated JSON is refused;
 * 4. only then is the body inflated, holding the inflated size to the same limit as an unencoded
 *    body (above it → 413, the inflation stops there; corrupt data → 400).
 * A WeChat callback carries its signature inside the body (`msg_signature` in the query covers the
 * `<Encrypt>` element), so that route decodes first (with the same cap) and then verifies.
 */

/** The content codings an ingress accepts. */
export type ContentCoding = 'identity' | 'gzip' | 'deflate';

/** Refusal of a webhook body, with the HTTP status to answer. */
export interface BodyRefusal {
  readonly ok: false;
  readonly status: 400 | 413 | 415;
  readonly reason: string;
}

/**
 * Reads `Content-Encoding`: absent/empty/`identity` → identity; one `gzip`/`x-gzip`/`deflate` → that;
 * anything else (br, zstd, compress, unknown, stacked) → a 415 refusal.
 */
export function contentCoding(header: string | readonly string[] | undefined): { ok: true; coding: ContentCoding } | BodyRefusal {
  const raw = Array.isArray(header) ? header.join(',') : (header as string | undefined) ?? '';
  const codings = raw
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  if (codings.length === 0) return { ok: true, coding: 'identity' };
  if (codings.length > 1) return { ok: false, status: 415, reason: 'stacked content encodings are not accepted' };
  const only = codings[0];
  if (only === 'gzip' || only === 'x-gzip') return { ok: true, coding: 'gzip' };
  if (only === 'deflate') return { ok: true, coding: 'deflate' };
  return { ok: false, status: 415, reason: 'unsupported content encoding' };
}

/** An error for the app's error handler, shaped like body-parser's (`status`, `type`). */
class BodyError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly type: string,
  ) {
    super(message);
    this.name = 'BodyError';
  }
}

/** Options of {@link readWebhookBody}. */
export interface ReadWebhookBodyOptions {
  /** Most bytes accepted on the wire (a number of bytes or a string such as `'3mb'`). */
  readonly limit: number | string;
}

/**
 * Express middleware for a webhook route: `req.body` becomes a Buffer of the bytes exactly as
 * received (never inflated). Errors go to the app's error handler with body-parser's shapes:
 * `entity.too.large` (413), `encoding.unsupported` (415), `request.aborted`/`request.size.invalid` (400).
 */
export function readWebhookBody(opts: ReadWebhookBodyOptions): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const length = req.headers['content-length'];
    getRawBody(req, { limit: opts.limit, ...(length !== undefined ? { length } : {}) })
      .then((bytes) => {
        // read first, refuse after: the connection stays usable for the next request
        const coding = contentCoding(req.headers['content-encoding']);
        if (!coding.ok) {
          next(new BodyError(coding.reason, coding.status, 'encoding.unsupported'));
          return;
        }
        req.body = bytes;
        next();
      })
      .catch((err: unknown) => next(err));
  };
}

/** The decoded body is held to this many bytes when the ingress does not say (Meta's 3 MB). */
export const DEFAULT_MAX_DECODED_BYTES = 3 * 1024 * 1024;

/** Options of {@link decodeWebhookBody}. */
export interface DecodeOptions {
  /** Most bytes the inflated body may have; inflation stops as soon as it is exceeded. */
  readonly maxBytes: number;
}

/**
 * Inflates a received body according to its `Content-Encoding` header, holding the result to
 * `maxBytes` (→ 413 as soon as exceeded: zlib stops there, so a bomb never takes more memory than
 * the cap), corrupt data → 400, unsupported codings → 415. Identity bodies are returned as they are.
 * Synchronous on purpose (adapters verify synchronously); the cap bounds the time as well.
 * Call it only after the signature over the received bytes was checked (see the module comment).
 */
export function decodeWebhookBody(
  received: Buffer,
  contentEncoding: string | readonly string[] | undefined,
  opts: DecodeOptions,
): { ok: true; body: Buffer; coding: ContentCoding } | BodyRefusal {
  const coding = contentCoding(contentEncoding);
  if (!coding.ok) return coding;
  if (coding.coding === 'identity') {
    if (received.length > opts.maxBytes) return { ok: false, status: 413, reason: 'body too large' };
    return { ok: true, body: received, coding: 'identity' };
  }
  try {
    const inflate = coding.coding === 'gzip' ? gunzipSync : inflateSync;
    return { ok: true, body: inflate(received, { maxOutputLength: opts.maxBytes }), coding: coding.coding };
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return { ok: false, status: 413, reason: 'inflated body too large' };
    return { ok: false, status: 400, reason: `corrupt ${coding.coding} body` };
  }
}

/**
 * The body an adapter parses, for use right after its signature check: `rawBody` decoded per the
 * request's `content-encoding` header, capped at `maxBodyBytes` (default {@link DEFAULT_MAX_DECODED_BYTES}).
 */
export function webhookPayloadBytes(req: WebhookRequest): { ok: true; body: Buffer } | BodyRefusal {
  const decoded = decodeWebhookBody(req.rawBody, req.headers['content-encoding'], { maxBytes: req.maxBodyBytes ?? DEFAULT_MAX_DECODED_BYTES });
  return decoded.ok ? { ok: true, body: decoded.body } : decoded;
}

/** Parses a size limit such as `'3mb'` or a number of bytes into bytes (for the inflated cap). */
export function bodyLimitBytes(limit: number | string): number {
  if (typeof limit === 'number') return limit;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(limit);
  if (!m) throw new Error(`invalid body limit: ${limit}`);
  const unit = (m[2] ?? 'b').toLowerCase();
  const factor = unit === 'gb' ? 1024 ** 3 : unit === 'mb' ? 1024 ** 2 : unit === 'kb' ? 1024 : 1;
  return Math.floor(Number(m[1]) * factor);
}
