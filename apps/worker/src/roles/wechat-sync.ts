import type { Worker } from 'bullmq';
import { Counter, type Registry } from 'prom-client';
import { jobId, loadConfig, shortHash } from '@switchboard/core';
import { createWechatWorkerChannel, WechatSyncer, wechatEnv } from '@switchboard/channel-wechat-kf/outbound';
import { acceptCustomerMessages, createWorker, DelayedError } from '@switchboard/queue';
import type { WorkerDeps } from '../deps.js';
import { acceptContext } from '../schedule.js';

function counter(registry: Registry, name: string, help: string, labelNames: string[]): Counter<string> {
  const existing = registry.getSingleMetric(name);
  return (existing as Counter<string> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
}

/**
 * The `wechat-sync` role: `kf/sync_msg` pulls for callbacks, at most one per open_kfid across the
 * cluster (a job that finds the account being pulled leaves a note and the holder pulls once more),
 * events into `inbound`, then the cursor. Disabled with one warning when WECHAT_CORP_ID /
 * WECHAT_SECRET are absent.
 * @param opts.welcomeText overrides WECHAT_WELCOME_TEXT (e.g. from the agent configuration)
 */
export function startWechatSyncRole(deps: WorkerDeps, opts: { welcomeText?: string } = {}): Worker[] {
  const env = loadConfig(wechatEnv, deps.env as Record<string, string | undefined>);
  const channel = createWechatWorkerChannel(env, { redis: deps.redis, keys: deps.keys, log: deps.log, fetcher: deps.fetcher });
  if (!channel.enabled) {
    deps.log.warn('WeChat Kefu sync disabled: set these to enable it', { missing: channel.missing });
    return [];
  }
  const welcomeText = opts.welcomeText ?? env.WECHAT_WELCOME_TEXT;
  const syncer = new WechatSyncer({
    client: channel.client,
    redis: deps.redis,
    keys: deps.keys,
    producers: deps.producers,
    acceptMessages: (events) => acceptCustomerMessages(acceptContext(deps), events),
    log: deps.log,
    replayHistoryOnFirstSync: env.WECHAT_REPLY_HISTORY_ON_FIRST_SYNC,
    firstSyncGraceSec: env.WECHAT_FIRST_SYNC_GRACE_SEC,
    lockMs: env.WECHAT_SYNC_LOCK_MS,
    ...(welcomeText ? { welcomeText } : {}),
  });
  const pulls = counter(deps.registry, 'sb_wechat_sync_total', 'WeChat sync_msg pulls by outcome', ['outcome']);
  const events = counter(deps.registry, 'sb_wechat_sync_events_total', 'Events a WeChat pull put on the inbound queue, or skipped on a first sync', ['result']);
  const worker = createWorker(
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
        await deps.producers.enqueue('wechat-sync', next, { jobId: jobId('wxs', 'more', shortHash(`${next.corpId}|${next.openKfId ?? ''}|${next.receivedAt}`, 24)) });
      }
      return outcome;
    },
    { connection: deps.queueRedis, prefix: deps.prefix, log: deps.log, concurrency: deps.settings.concurrency, lockDurationMs: deps.settings.lockDurationMs },
  );
  return [worker];
}
