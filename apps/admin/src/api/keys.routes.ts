import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Logger } from '@switchboard/core';
import { gatewayKeys, type RedisClient } from '@switchboard/queue';
import { ApiError, apiKeyName, parseOr400, type ApiKey } from './api.js';
import { keyFingerprint } from './key-controls.js';
import { ApiScope, type KeyScopes } from './scopes.js';

/**
 * Key management (mounted at `/api/v1` behind the API keys, scope `admin`): `GET /keys` lists the
 * configured keys (names and scopes, never secrets) with their revocation; `POST /keys/{name}/revoke`
 * and `/restore` revoke or restore a key at run time for every process (Redis, no expiry). A
 * revocation names the key's current secret: a new secret for that name in `API_KEYS` is not revoked.
 */

/** What the key routes need. */
export interface KeyRoutesDeps {
  keys: readonly ApiKey[];
  scopes: KeyScopes;
  redis: RedisClient;
  prefix: string;
  log: Logger;
}

export const KeyNameParams = z.object({ name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'name must be an API_KEYS name') });

export const ApiKeyView = z
  .object({
    name: z.string(),
    scopes: z.array(ApiScope),
    revoked: z.boolean(),
    revokedAt: z.string().optional().meta({ format: 'date-time' }),
    revokedBy: z.string().optional().meta({ description: 'the key that revoked it' }),
  })
  .meta({ id: 'ApiKey' });
export type ApiKeyView = z.input<typeof ApiKeyView>;
export const ApiKeyList = z.object({ items: z.array(ApiKeyView) }).meta({ id: 'ApiKeyList' });

const RevokedInfo = z.object({ at: z.string(), by: z.string() });

/** The key routes. */
export function keysRouter(deps: KeyRoutesDeps): Router {
  const r = express.Router();
  const keys = gatewayKeys(deps.prefix).api;
  const wrap = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) => {
    fn(req, res).catch(next);
  };
  const keyOf = (req: Request): ApiKey => {
    const { name } = parseOr400(KeyNameParams, req.params);
    const key = deps.keys.find((k) => k.name === name);
    if (!key) throw new ApiError(404, 'not_found', `no API key named "${name}" in API_KEYS`);
    return key;
  };
  const viewOf = async (key: ApiKey): Promise<ApiKeyView> => {
    const [fp, info] = await Promise.all([deps.redis.hget(keys.revoked(), key.name), deps.redis.hget(keys.revokedInfo(), key.name)]);
    const revoked = fp === keyFingerprint(key.secret);
    const meta = revoked && info ? RevokedInfo.safeParse(JSON.parse(info)) : undefined;
    return { name: key.name, scopes: [...(deps.scopes.get(key.name) ?? [])], revoked, ...(meta?.success ? { revokedAt: meta.data.at, revokedBy: meta.data.by } : {}) };
  };

  r.get(
    '/keys',
    wrap(async (_req, res) => {
      res.set('Cache-Control', 'no-store').json({ items: await Promise.all(deps.keys.map(viewOf)) });
    }),
  );

  r.post(
    '/keys/:name/revoke',
    wrap(async (req, res) => {
      const key = keyOf(req);
      const by = apiKeyName(res) ?? '';
      if (key.name === by) throw new ApiError(400, 'invalid_request', 'a key cannot revoke itself: use another key with the admin scope');
      await deps.redis.multi().hset(keys.revoked(), key.name, keyFingerprint(key.secret)).hset(keys.revokedInfo(), key.name, JSON.stringify({ at: new Date().toISOString(), by })).exec();
      deps.log.warn('api key revoked', { key: key.name, by });
      res.set('Cache-Control', 'no-store').json(await viewOf(key));
    }),
  );

  r.post(
    '/keys/:name/restore',
    wrap(async (req, res) => {
      const key = keyOf(req);
      await deps.redis.multi().hdel(keys.revoked(), key.name).hdel(keys.revokedInfo(), key.name).exec();
      deps.log.warn('api key restored', { key: key.name, by: apiKeyName(res) });
      res.set('Cache-Control', 'no-store').json(await viewOf(key));
    }),
  );
  return r;
}
