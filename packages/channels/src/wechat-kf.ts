import { Counter, type Registry } from 'prom-client';
import { defineChannelWorker, DEFAULT_ACCOUNT_ID, jobId, shortHash, type ChannelAccounts } from '@switchboard/core';
import {
  createWechatOutboundAdapter,
  resolveApiSettings,
  WECHAT_MEDIA_RULES,
  WechatApiClient,
  wechatEnv,
  WechatSyncer,
  type WechatApiSettings,
} from '@switchboard/channel-wechat-kf/outbound';
import { acceptCustomerMessages, createWorker, DelayedError } from '@switchboard/queue';
import type { WorkerChannelContext, WorkerRuntime } from './runtime.js';
import { WechatMediaSource } from './wechat-kf.media.js';

/** Typed settings of one 微信客服 corp (account). */
export interface WechatWorkerSettings {
  readonly api: WechatApiSettings;
  readonly maxPartsPerReply: number;
  readonly handoffServicer?: string;
  readonly welcomeText?: string;
  readonly replayHistoryOnFirstSync: boolean;
  readonly firstSyncGraceSec: number;
  readonly syncLockMs: number;
}

function counter(registry: Registry, name: string, help: string, labelNames: string[]): Counter<string> {
  const existing = registry.getSingleMetric(name);
  return (existing as Counter<string> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
}

/**
 * The `wechat-sync` consumer: `kf/sync_msg` pulls for callbacks, at most one per open_kfid across
 * the cluster (a job that finds the account being pulled leaves a note and the holder pulls once
 * more), events into `inbound`, then the cursor.
 */
function startSyncConsumer(s: WechatWorkerSettings, client: WechatApiClient, ctx: WorkerChannelContext) {
  const syncer = new WechatSyncer({
    client,
    redis: ctx.redis,
    keys: ctx.keys,
    producers: ctx.producers,
    acceptMessages: (events) => acceptCustomerMessages(ctx.accept, events),
    log: ctx.log,
    replayHistoryOnFirstSync: s.replayHistoryOnFirstSync,
    firstSyncGraceSec: s.firstSyncGraceSec,
    lockMs: s.syncLockMs,
    ...(s.welcomeText ? { welcomeText: s.welcomeText } : {}),
  });
  const pulls = counter(ctx.registry, 'sb_wechat_sync_total', 'WeChat sync_msg pulls by outcome', ['outcome']);
  const events = counter(ctx.registry, 'sb_wechat_sync_events_total', 'Events a WeChat pull put on the inbound queue, or skipped on a first sync', ['result']);
  return createWorker(
    'wechat-sync',
    async (data, job, token) => {
      const outcome = await syncer.run(data, job.id);
      if (outcome.status === 'coalesced') {
        pulls.inc({ outcome: 'coalesced' });
        return outcome;
      }
      if (outcome.status === 'watching') {
        // another worker is pulling: look again when its lock would lapse, take over if it died
        pulls.inc({ outcome: 'watching' });
        if (!data.watching) await job.updateData({ ...data, watching: true });
        await job.moveToDelayed(outcome.recheckAt, token);
        throw new DelayedError();
      }
      pulls.inc({ outcome: outcome.firstSync ? 'first_sync' : 'done' });
      events.inc({ result: 'dispatched' }, outcome.dispatched);
      events.inc({ result: 'skipped' }, outcome.skipped);
      if (outcome.followUp) {
        const next = outcome.followUp;
        await ctx.producers.enqueue('wechat-sync', next, { jobId: jobId('wxs', 'more', shortHash(`${next.corpId}|${next.openKfId ?? ''}|${next.receivedAt}`, 24)) });
      }
      return outcome;
    },
    { connection: ctx.queueRedis, prefix: ctx.prefix, log: ctx.log, concurrency: ctx.consumers.concurrency, lockDurationMs: ctx.consumers.lockDurationMs },
  );
}

/** The 微信客服 (WeChat Kefu) channel, worker half. */
export const wechatKf = defineChannelWorker<typeof wechatEnv, WechatWorkerSettings, WorkerRuntime>({
  id: 'wechat-kf',
  title: 'WeChat Kefu',
  env: wechatEnv,
  outboundQueue: 'outbound-wechat-kf',
  media: WECHAT_MEDIA_RULES,
  accounts(env): ChannelAccounts<WechatWorkerSettings> {
    const api = resolveApiSettings(env);
    if (!api.enabled) return { enabled: false, missing: api.missing };
    const settings: WechatWorkerSettings = {
      api: api.settings,
      maxPartsPerReply: env.WECHAT_MAX_PARTS_PER_REPLY,
      replayHistoryOnFirstSync: env.WECHAT_REPLY_HISTORY_ON_FIRST_SYNC,
      firstSyncGraceSec: env.WECHAT_FIRST_SYNC_GRACE_SEC,
      syncLockMs: env.WECHAT_SYNC_LOCK_MS,
      ...(env.WECHAT_HANDOFF_SERVICER ? { handoffServicer: env.WECHAT_HANDOFF_SERVICER } : {}),
      ...(env.WECHAT_WELCOME_TEXT ? { welcomeText: env.WECHAT_WELCOME_TEXT } : {}),
    };
    return { enabled: true, accounts: [{ id: DEFAULT_ACCOUNT_ID, settings }] };
  },
  // WeCom's own limits answer 45009/45033, which pause the queue; the limiter only bounds bursts
  sendRate: () => ({ max: 1000, durationMs: 1000 }),
  open(account, ctx) {
    const s = account.settings;
    const client = new WechatApiClient({ settings: s.api, redis: ctx.redis, keys: ctx.keys, log: ctx.log });
    const adapter = createWechatOutboundAdapter({
      client,
      redis: ctx.redis,
      keys: ctx.keys,
      log: ctx.log,
      maxPartsPerReply: s.maxPartsPerReply,
      fetcher: ctx.fetcher,
      ...(s.handoffServicer ? { handoffServicer: s.handoffServicer } : {}),
    });
    return {
      accountId: account.id,
      adapter,
      mediaSource: new WechatMediaSource({ apiUrl: s.api.apiUrl, tokens: client.tokens, fetcher: ctx.fetcher }),
      // callbacks only say "pull": the sync is part of getting messages in
      roles: { inbound: () => [startSyncConsumer(s, client, ctx)] },
    };
  },
});
