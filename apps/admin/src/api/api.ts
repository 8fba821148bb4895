import { ConfigError, safeEqual, type Logger } from '@switchboard/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { z } from 'zod';

/**
 * The HTTP API's frame (`/api/v1/*`): bearer keys from `API_KEYS`, errors as
 * `{error, message, details?}` with a stable code, JSON in and out.
 */

/** One API key: the bearer is `secret`; `name` is what logs (and later scopes) name. */
export interface ApiKey {
  readonly name: string;
  readonly secret: string;
}

/** Stable error codes of the API (the `error` field). */
export const ApiErrorCode = z.enum([
  'unauthorized',
  'forbidden',
  'not_found',
  'invalid_request',
  'invalid_json',
  'payload_too_large',
  'unsupported_format',
  'store_unavailable',
  'unavailable',
  'idempotency_conflict',
  'outside_window',
  'unknown_customer',
  'opted_out',
  'rate_limited',
  'template_invalid',
  'invalid_template',
  'already_completed',
  'unsupported',
  'blocked',
  'unreachable',
  'identifier_taken',
  'invalid_rows',
]);
export type ApiErrorCode = z.infer<typeof ApiErrorCode>;

/** One problem of a refused request: where (`path`, dotted; empty = the whole input) and what. */
export const ApiIssue = z.object({ path: z.string(), message: z.string(), code: z.string() }).meta({ id: 'ApiIssue' });
export type ApiIssue = z.infer<typeof ApiIssue>;

/** The body of every error answer. */
export const ApiErrorBody = z
  .object({
    error: ApiErrorCode,
    message: z.string().meta({ description: 'for people; may change' }),
    reason: z.string().optional().meta({ description: 'a finer stable code (e.g. template_invalid: unknown_template, parameter_mismatch; outside_window: window_closed, allowance_used)' }),
    details: z.array(ApiIssue).optional().meta({ description: 'each problem of a refused request (400 invalid_request, 422 template_invalid)' }),
  })
  .meta({ id: 'Error', description: '`error` is a stable code; `message` says what to do' });
export type ApiErrorBody = z.infer<typeof ApiErrorBody>;

/** More about an error: a finer `reason` code and `details` (each problem). */
export interface ApiErrorExtra {
  readonly reason?: string;
  readonly details?: readonly ApiIssue[];
}

/** An error the API answers as `{error, message, reason?, details?}` with `status`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly extra: ApiErrorExtra = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Answers `{error, message}` (with `reason` and `details` when given). */
export function sendApiError(res: Response, status: number, code: ApiErrorCode, message: string, extra: ApiErrorExtra = {}): void {
  const body: ApiErrorBody = { error: code, message, ...(extra.reason ? { reason: extra.reason } : {}), ...(extra.details?.length ? { details: [...extra.details] } : {}) };
  res.status(status).set('Cache-Control', 'no-store').json(body);
}

/** A zod failure as `400 invalid_request`: every issue in `message` and, one by one, in `details`. */
export function invalidRequest(err: z.ZodError, where?: string): ApiError {
  const details = err.issues.map((i) => ({ path: [...(where ? [where] : []), ...i.path.map(String)].join('.'), message: i.message, code: i.code }));
  return new ApiError(400, 'invalid_request', details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join('; '), { details });
}

/** A query with its empty values dropped (`?account=` is no filter). */
export function withoutEmptyValues(query: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(query).filter(([, v]) => v !== ''));
}

/** `value` parsed by `schema`, or a thrown {@link invalidRequest} (`where` prefixes the paths, e.g. `query`). */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, where?: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw invalidRequest(r.error, where);
  return r.data;
}

const KEY_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * `API_KEYS` (`name:secret,name:secret`) → keys. Every malformed entry, duplicate name or
 * duplicate secret is reported at once (a {@link ConfigError}); the message names keys, never secrets.
 */
export function parseApiKeys(raw: string | undefined): ApiKey[] {
  if (!raw?.trim()) return [];
  const problems: string[] = [];
  const keys: ApiKey[] = [];
  raw.split(',').forEach((entry, i) => {
    const e = entry.trim();
    if (!e) return;
    const colon = e.indexOf(':');
    const name = colon > 0 ? e.slice(0, colon).trim() : '';
    const secret = colon > 0 ? e.slice(colon + 1).trim() : '';
    if (!KEY_NAME.test(name) || !secret) {
      problems.push(`API_KEYS entry ${i + 1}: expected name:secret (name: letters, digits, . _ -; a non-empty secret)`);
      return;
    }
    if (secret.length < 16) problems.push(`API_KEYS key "${name}": the secret must be at least 16 characters`);
    if (keys.some((k) => k.name === name)) problems.push(`API_KEYS: the name "${name}" is used twice`);
    if (keys.some((k) => k.secret === secret)) problems.push(`API_KEYS key "${name}": the same secret as key "${keys.find((k) => k.secret === secret)!.name}"`);
    keys.push({ name, secret });
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return keys;
}

/** The API key of an authenticated request (set by {@link apiAuth}). */
export function apiKeyOf(res: Response): ApiKey | undefined {
  return (res.locals as { apiKeyEntry?: ApiKey }).apiKeyEntry;
}

/** The API key name of an authenticated request (set by {@link apiAuth}). */
export function apiKeyName(res: Response): string | undefined {
  return (res.locals as { apiKey?: string }).apiKey;
}

/**
 * `Authorization: Bearer <secret>` against every key, each compared in constant time (all of them,
 * no early exit). Missing or wrong → 401 `{error: "unauthorized"}`; no keys configured → 401 to
 * everything. Logs the key's name and the route, never a secret or the header.
 */
export function apiAuth(keys: readonly ApiKey[], log: Logger): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const given = m?.[1];
    let match: ApiKey | undefined;
    for (const k of keys) {
      if (safeEqual(given ?? '', k.secret) && given !== undefined) match ??= k;
    }
    if (!match) {
      const reason = keys.length === 0 ? 'API_KEYS not set' : given === undefined ? 'no bearer token' : 'unknown key';
      log.warn('api request refused', { method: req.method, path: req.path, reason });
      res.set('WWW-Authenticate', 'Bearer realm="switchboard api"');
      sendApiError(res, 401, 'unauthorized', keys.length === 0 ? 'the API is disabled: no API_KEYS are configured' : 'a valid API key is required: Authorization: Bearer <secret>');
      return;
    }
    (res.locals as { apiKey?: string; apiKeyEntry?: ApiKey }).apiKey = match.name;
    (res.locals as { apiKeyEntry?: ApiKey }).apiKeyEntry = match;
    const started = Date.now();
    res.on('finish', () => log.info('api request', { key: match.name, method: req.method, path: req.baseUrl + req.path, status: res.statusCode, ms: Date.now() - started }));
    next();
  };
}

/** The API's last handlers: unknown routes → 404, body-parser and {@link ApiError}s → their code, the rest → 503. */
export function apiFallbacks(log: Logger): { notFound: RequestHandler; errors: (err: unknown, req: Request, res: Response, next: NextFunction) => void } {
  return {
    notFound: (req, res) => sendApiError(res, 404, 'not_found', `no route ${req.method} ${req.baseUrl}${req.path}`),
    errors: (err, req, res, next) => {
      if (res.headersSent) return next(err);
      if (err instanceof ApiError) return sendApiError(res, err.status, err.code, err.message, err.extra);
      const e = err as { status?: number; type?: string; limit?: number };
      if (e.type === 'entity.too.large') return sendApiError(res, 413, 'payload_too_large', `the body is larger than ${e.limit ?? 'the limit of'} bytes`);
      if (e.type === 'entity.parse.failed') return sendApiError(res, 400, 'invalid_json', 'the body is not valid JSON');
      if (e.status && e.status >= 400 && e.status < 500) return sendApiError(res, e.status, 'invalid_request', 'the request could not be read');
      log.error('api request failed', { method: req.method, path: req.baseUrl + req.path, err: err instanceof Error ? err.message : String(err) });
      sendApiError(res, 503, 'unavailable', 'the request could not be completed; try again');
    },
  };
}
