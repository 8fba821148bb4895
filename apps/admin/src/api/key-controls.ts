import { createHash } from 'node:crypto';
import type { Logger } from '@switchboard/core';
import { gatewayKeys, type RedisClient } from '@switchboard/queue';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { apiKeyOf, sendApiError, type ApiKey } from './api.js';
import type { ApiScope, KeyScopes } from './scopes.js';

/**
 * Per-request controls of an authenticated API key, after {@link apiAuth}: revocation (401), the
 * rate limit (429) and the route's scope (403). Revocation and the rate limit are one Redis round
 * trip (one script), so a revocation holds for the next request of every process.
 */

/** The fingerprint a revocation names: a revocation holds for that secret, not for a new secret given to the same name. */
export function keyFingerprint(secret: string): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 32);
}

/** The length of the rate window: `API_RATE_LIMIT` counts requests per minute. */
export const RATE_PERIOD_MS = 60_000;

/*
 * KEYS[1] revoked hash, KEYS[2] the key's rate state; ARGV[1] key name, ARGV[2] fingerprint,
 * ARGV[3] limit per period (0 = off), ARGV[4] period ms.
 * A token bucket of `limit` requests refilled evenly over the period (GCRA: one number, the
 * theoretical arrival time). → {1, remaining, ms until full} | {0, 0, ms until the next request
 * is allowed} | {-1, 0, 0} revoked. The clock is Redis's, so every process counts alike.
 */
const CONTROL = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return {-1, 0, 0} end
local limit = tonumber(ARGV[3])
if limit <= 0 then return {1, -1, 0} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local period = tonumber(ARGV[4])
local interval = period / limit
local tat = tonumber(redis.call('GET', KEYS[2]) or '0')
if tat < now then tat = now end
local nextTat = tat + interval
local allowAt = nextTat - period
if allowAt > now then return {0, 0, math.ceil(allowAt - now)} end
redis.call('SET', KEYS[2], string.format('%.3f', nextTat), 'PX', math.ceil(nextTat - now))
return {1, math.floor((now - allowAt) / interval), math.ceil(nextTat - now)}
`;

/** What the controls need. */
export interface KeyControlsDeps {
  redis: RedisClient;
  prefix: string;
  log: Logger;
  /** Each key's scopes (`API_KEY_SCOPES`); a key missing here has none. */
  scopes: KeyScopes;
  /** Requests per minute per key (`API_RATE_LIMIT`); 0 = no limit. */
  rateLimitPerMinute: number;
  /** The scope a request needs (from the operation table). */
  scopeOf: (method: string, path: string) => ApiScope;
}

/** The middleware (mounted at `/api/v1` right after `apiAuth`). */
export function apiKeyControls(deps: KeyControlsDeps): RequestHandler {
  const keys = gatewayKeys(deps.prefix).api;
  const fingerprints = new WeakMap<ApiKey, string>();
  const fingerprintOf = (k: ApiKey) => {
    let fp = fingerprints.get(k);
    if (!fp) fingerprints.set(k, (fp = keyFingerprint(k.secret)));
    return fp;
  };
  return (req: Request, res: Response, next: NextFunction) => {
    const key = apiKeyOf(res);
    if (!key) {
      sendApiError(res, 401, 'unauthorized', 'a valid API key is required: Authorization: Bearer <secret>');
      return;
    }
    const limit = deps.rateLimitPerMinute;
    (deps.redis.eval(CONTROL, 2, keys.revoked(), keys.rate(key.name), key.name, fingerprintOf(key), String(limit), String(RATE_PERIOD_MS)) as Promise<[number, number, number]>).then(
      ([verdict, remaining, ms]) => {
        if (verdict === -1) {
          deps.log.warn('api request refused', { key: key.name, method: req.method, path: req.baseUrl + req.path, reason: 'revoked key' });
          res.set('WWW-Authenticate', 'Bearer realm="switchboard api", error="invalid_token"');
          return sendApiError(res, 401, 'unauthorized', `the API key "${key.name}" is revoked`);
        }
        if (limit > 0) {
          res.set('RateLimit-Policy', `${limit};w=${RATE_PERIOD_MS / 1000}`);
          res.set('RateLimit-Limit', String(limit));
          res.set('RateLimit-Remaining', String(Math.max(0, remaining)));
          res.set('RateLimit-Reset', String(Math.ceil(ms / 1000)));
        }
        if (verdict === 0) {
          const retryAfter = Math.max(1, Math.ceil(ms / 1000));
          res.set('Retry-After', String(retryAfter));
          return sendApiError(res, 429, 'rate_limited', `the API key "${key.name}" is over its rate limit of ${limit} requests a minute; retry after ${retryAfter} s`);
        }
        const needed = deps.scopeOf(req.method, req.baseUrl + req.path);
        if (!(deps.scopes.get(key.name) ?? []).includes(needed)) {
          return sendApiError(res, 403, 'forbidden', `the API key "${key.name}" lacks the scope "${needed}" this route needs (API_KEY_SCOPES)`);
        }
        next();
      },
      (err: unknown) => {
        deps.log.error('api key check failed', { key: key.name, err: err instanceof Error ? err.message : String(err) });
        sendApiError(res, 503, 'unavailable', 'the API key could not be checked (Redis); try again');
      },
    );
  };
}
