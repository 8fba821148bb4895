import { defineAccountFile, defineChannelWorker, DEFAULT_ACCOUNT_ID, type ChannelAccounts } from '@switchboard/core';
import {
  createWechatOutboundAdapter,
  resolveApiSettings,
  wechatSyncConsumers,
  WECHAT_MEDIA_RULES,
  WechatApiClient,
  wechatAccountFields,
  wechatEnv,
  type WechatApiSettings,
} from './outbound.js';
import type { WorkerRuntime } from '@switchboard/channel-runtime';
import { WechatMediaSource } from './wechat.media.js';
import { WechatProfiles } from './wechat.profile.js';

/** Typed settings of one 微信客服 corp (account). */
export interface WechatWorkerSettings {
  readonly api: WechatApiSettings;
  readonly maxPartsPerReply: number;
  readonly handoffServicer?: string;
  readonly welcomeText?: string;
  readonly replayHistoryOnFirstSync: boolean;
  readonly firstSyncGraceSec: number;
  readonly syncLockMs: number;
  /** Cache lifetime of a customer's `kf/customer/batchget` answer, and the wait after a failed one, seconds. */
  readonly profileTtlSec: number;
  readonly profileRetrySec: number;
}

/** The 微信客服 (WeChat Kefu) channel, worker half. */
export const wechatKf = defineChannelWorker<typeof wechatEnv, WechatWorkerSettings, WorkerRuntime>({
  id: 'wechat-kf',
  title: 'WeChat Kefu',
  env: wechatEnv,
  outboundQueue: 'outbound-wechat-kf',
  media: WECHAT_MEDIA_RULES,
  customerIdKind: 'wechat_external_userid',
  accounts(env): ChannelAccounts<WechatWorkerSettings> {
    const api = resolveApiSettings(env);
    if (!api.enabled) return { enabled: false, missing: api.missing };
    const settings: WechatWorkerSettings = {
      api: api.settings,
      maxPartsPerReply: env.WECHAT_MAX_PARTS_PER_REPLY,
      replayHistoryOnFirstSync: env.WECHAT_REPLY_HISTORY_ON_FIRST_SYNC,
      firstSyncGraceSec: env.WECHAT_FIRST_SYNC_GRACE_SEC,
      syncLockMs: env.WECHAT_SYNC_LOCK_MS,
      profileTtlSec: env.WECHAT_PROFILE_TTL_SEC,
      profileRetrySec: env.WECHAT_PROFILE_RETRY_SEC,
      ...(env.WECHAT_HANDOFF_SERVICER ? { handoffServicer: env.WECHAT_HANDOFF_SERVICER } : {}),
      ...(env.WECHAT_WELCOME_TEXT ? { welcomeText: env.WECHAT_WELCOME_TEXT } : {}),
    };
    return { enabled: true, accounts: [{ id: DEFAULT_ACCOUNT_ID, settings }] };
  },
  accountFile: defineAccountFile(wechatAccountFields, (f, _entry, env): WechatWorkerSettings => ({
    api: { corpId: f.corpId, secret: f.secret, apiUrl: env.WECHAT_API_URL, timeoutMs: env.WECHAT_HTTP_TIMEOUT_MS },
    maxPartsPerReply: env.WECHAT_MAX_PARTS_PER_REPLY,
    replayHistoryOnFirstSync: env.WECHAT_REPLY_HISTORY_ON_FIRST_SYNC,
    firstSyncGraceSec: env.WECHAT_FIRST_SYNC_GRACE_SEC,
    syncLockMs: env.WECHAT_SYNC_LOCK_MS,
    profileTtlSec: env.WECHAT_PROFILE_TTL_SEC,
    profileRetrySec: env.WECHAT_PROFILE_RETRY_SEC,
    ...(f.handoffServicer ? { handoffServicer: f.handoffServicer } : {}),
    ...(f.welcomeText ? { welcomeText: f.welcomeText } : {}),
  })),
  // WeCom's own limits answer 45009/45033, which hold the corp back; the rate only bounds bursts
  sendRate: () => ({ max: 1000, durationMs: 1000 }),
  open(account, ctx) {
    const s = account.settings;
    const client = new WechatApiClient({ settings: s.api, redis: ctx.redis, keys: ctx.keys, log: ctx.log });
    const sync = wechatSyncConsumers(ctx);
    sync.add({ accountId: account.id, settings: s, client });
    const adapter = createWechatOutboundAdapter({
      client,
      accountId: account.id,
      redis: ctx.redis,
      keys: ctx.keys,
      log: ctx.log,
      maxPartsPerReply: s.maxPartsPerReply,
      fetcher: ctx.fetcher,
      ...(s.handoffServicer ? { handoffServicer: s.handoffServicer } : {}),
    });
    const profiles = new WechatProfiles({ client, redis: ctx.redis, keys: ctx.keys, log: ctx.log, ttlSec: s.profileTtlSec, retrySec: s.profileRetrySec });
    return {
      accountId: account.id,
      adapter,
      profileOf: (ref) => profiles.profileOf(ref),
      mediaSource: new WechatMediaSource({ apiUrl: s.api.apiUrl, tokens: client.tokens, fetcher: ctx.fetcher }),
      // callbacks only say "pull": the sync is part of getting messages in; one consumer per
      // process serves every corp, dispatching each job to its account's corp
      roles: { inbound: () => sync.start() },
    };
  },
});
