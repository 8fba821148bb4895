import type { Logger, OutboundAdapter } from '@switchboard/core';
import type { GuardedFetcher } from '@switchboard/fetch';
import type { GatewayKeys, RedisClient } from '@switchboard/queue';
import { WechatApiClient } from './wechat.client.js';
import { resolveApiSettings, type WechatEnv } from './wechat.env.js';
import { createWechatOutboundAdapter } from './wechat.send.js';

/** The worker-side pieces of the channel, built from the parsed env (or why they are disabled). */
export type WechatWorkerChannel =
  | { readonly enabled: true; readonly client: WechatApiClient; readonly adapter: OutboundAdapter }
  | { readonly enabled: false; readonly missing: string[] };

/**
 * Builds the API client and outbound adapter for a worker. Credentials absent → `enabled: false`
 * with the missing variable names (the caller logs one warning).
 */
export function createWechatWorkerChannel(env: WechatEnv, deps: { redis: RedisClient; keys: GatewayKeys; log: Logger; fetcher?: GuardedFetcher }): WechatWorkerChannel {
  const api = resolveApiSettings(env);
  if (!api.enabled) return { enabled: false, missing: api.missing };
  const client = new WechatApiClient({ settings: api.settings, redis: deps.redis, keys: deps.keys, log: deps.log });
  const adapter = createWechatOutboundAdapter({
    client,
    redis: deps.redis,
    keys: deps.keys,
    log: deps.log,
    maxPartsPerReply: env.WECHAT_MAX_PARTS_PER_REPLY,
    ...(env.WECHAT_HANDOFF_SERVICER ? { handoffServicer: env.WECHAT_HANDOFF_SERVICER } : {}),
    ...(deps.fetcher ? { fetcher: deps.fetcher } : {}),
  });
  return { enabled: true, client, adapter };
}
