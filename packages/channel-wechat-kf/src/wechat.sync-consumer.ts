import type { Worker } from 'bullmq';
import { Counter, type Registry } from 'prom-client';
import { jobId, shortHash } from '@switchboard/core';
import type { WorkerChannelContext } from '@switchboard/channel-runtime';
import { acceptCustomerMessages, createWorker, DelayedError } from '@switchboard/queue';
import type { WechatApiClient } from './wechat.client.js';
import { WechatSyncer } from './wechat.sync.js';

/** The sync settings of one corp (WECHAT_REPLY_HISTORY_ON_FIRST_SYNC, WECHAT_FIRST_SYNC_GRACE_SEC, WECHAT_SYNC_LOCK_MS, WECHAT_WELCOME_TEXT). */
export interface WechatSyncSettings {
  readonly replayHistoryOnFirstSync: boolean;
  readonly firstSyncGraceSec: number;
  readonly syncLockMs: number;
  readonly welcomeText?: string;
}

/** What the consumer needs from the worker: a part of the context every channel module gets. */
export type WechatSyncContext = Pick<WorkerChannelContext, 'log' | 'redis' | 'queueRedis' | 'prefix' | 'keys' | 'producers' | 'registry' | 'accept' | 'consumers'>;

function counter(registry: Registry, name: string, help: string, labelNames: string[]): Counter<string> {
  const existing = registry.getSingleMetric(name);
  return (existing as Counter<string> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
}

/**
 * The `wechat-sync` consumer (worker role `inbound`): `kf/sync_msg` pulls for callbacks, at most one per open_kfid across
 * the cluster (a job that finds the account being pulled leaves a note and the holder pulls once
 * more), events into `inbound`, then the cursor.
 */
export function startWechatSyncConsumer(s: WechatSyncSettings, client: WechatApiClient, ctx: WechatSyncContext): Worker {
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
