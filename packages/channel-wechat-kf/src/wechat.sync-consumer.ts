import type { Worker } from 'bullmq';
import { Counter, type Registry } from 'prom-client';
import { ConfigError, ConfigurationError, DEFAULT_ACCOUNT_ID, jobId, shortHash } from '@switchboard/core';
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
export type WechatSyncContext = Pick<WorkerChannelContext, 'log' | 'redis' | 'queueRedis' | 'prefix' | 'keys' | 'producers' | 'registry' | 'accept' | 'consumers' | 'recordSent'>;

function counter(registry: Registry, name: string, help: string, labelNames: string[]): Counter<string> {
  const existing = registry.getSingleMetric(name);
  return (existing as Counter<string> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
}

/** One corp (gateway account) the process's sync consumer serves. */
export interface WechatSyncAccount {
  /** The gateway account id (`default` = the WECHAT_* variables). */
  readonly accountId: string;
  readonly settings: WechatSyncSettings;
  /** That corp's API client (its token cache). */
  readonly client: WechatApiClient;
}

interface ServedCorp {
  readonly corpId: string;
  readonly syncer: WechatSyncer;
}

/**
 * The `wechat-sync` consumer of one worker process (worker role `inbound`): `kf/sync_msg` pulls for
 * callbacks, at most one per corp + open_kfid across the cluster (a job that finds the account being
 * pulled leaves a note and the holder pulls once more), events into `inbound`, then the cursor.
 * Every corp of the process shares the one consumer: a job goes to its gateway account's corp (a job
 * without one is the account `default`'s, as queued before accounts existed); a job of an account
 * this worker does not serve fails for good, naming the account, and is never pulled by another corp.
 */
export function startWechatSyncConsumer(accounts: readonly WechatSyncAccount[], ctx: WechatSyncContext): Worker {
  const served = new Map<string, ServedCorp>(
    accounts.map((a) => [
      a.accountId,
      {
        corpId: a.client.corpId,
        syncer: new WechatSyncer({
          client: a.client,
          accountId: a.accountId,
          redis: ctx.redis,
          keys: ctx.keys,
          producers: ctx.producers,
          acceptMessages: (events) => acceptCustomerMessages(ctx.accept, events),
          log: ctx.log.child({ channel: 'wechat-kf', account: a.accountId }),
          replayHistoryOnFirstSync: a.settings.replayHistoryOnFirstSync,
          firstSyncGraceSec: a.settings.firstSyncGraceSec,
          lockMs: a.settings.syncLockMs,
          ...(a.settings.welcomeText ? { welcomeText: a.settings.welcomeText } : {}),
          recordSent: (message) => ctx.recordSent(message),
        }),
      },
    ]),
  );
  const pulls = counter(ctx.registry, 'sb_wechat_sync_total', 'WeChat sync_msg pulls by outcome', ['outcome', 'account']);
  const events = counter(ctx.registry, 'sb_wechat_sync_events_total', 'Events a WeChat pull put on the inbound queue, or skipped on a first sync', ['result', 'account']);
  return createWorker(
    'wechat-sync',
    async (data, job, token) => {
      const account = data.accountId ?? DEFAULT_ACCOUNT_ID;
      const corp = served.get(account);
      if (!corp) throw new ConfigurationError(`wechat-sync job of account "${account}", which this worker does not serve (ACCOUNTS_FILE differs between processes?)`);
      if (corp.corpId !== data.corpId) throw new ConfigurationError(`wechat-sync job of account "${account}" names another corp than the account's (its corpId changed?)`);
      const outcome = await corp.syncer.run(data, job.id);
      if (outcome.status === 'coalesced') {
        pulls.inc({ outcome: 'coalesced', account });
        return outcome;
      }
      if (outcome.status === 'watching') {
        // another worker is pulling: look again when its lock would lapse, take over if it died
        pulls.inc({ outcome: 'watching', account });
        if (!data.watching) await job.updateData({ ...data, watching: true });
        await job.moveToDelayed(outcome.recheckAt, token);
        throw new DelayedError();
      }
      pulls.inc({ outcome: outcome.firstSync ? 'first_sync' : 'done', account });
      events.inc({ result: 'dispatched', account }, outcome.dispatched);
      events.inc({ result: 'skipped', account }, outcome.skipped);
      if (outcome.followUp) {
        const next = outcome.followUp;
        await ctx.producers.enqueue('wechat-sync', next, { jobId: jobId('wxs', 'more', shortHash(`${next.corpId}|${next.openKfId ?? ''}|${next.receivedAt}`, 24)) });
      }
      return outcome;
    },
    { connection: ctx.queueRedis, prefix: ctx.prefix, log: ctx.log, concurrency: ctx.consumers.concurrency, lockDurationMs: ctx.consumers.lockDurationMs },
  );
}

/**
 * The corps of one worker process (one worker context) and their single `wechat-sync` consumer.
 * Each opened account adds its corp; the first account whose `inbound` role starts starts the
 * consumer for all of them, the others add none (two consumers of one process would only compete).
 */
export class WechatSyncConsumers {
  private readonly accounts: WechatSyncAccount[] = [];
  private running: Worker | undefined;

  constructor(private readonly ctx: WechatSyncContext) {}

  /**
   * Serves this corp's jobs too. A corp is one account (its callbacks, token, cursors and locks are
   * the corp's): a second account naming the same corp id stops the worker with a ConfigError.
   */
  add(account: WechatSyncAccount): void {
    const same = this.accounts.find((a) => a.accountId === account.accountId || a.client.corpId === account.client.corpId);
    if (same) throw new ConfigError([`wechat-kf accounts "${same.accountId}" and "${account.accountId}" name the same corpId: one WeCom corp is one account`]);
    this.accounts.push(account);
  }

  /** The consumer when none runs (first start, or after the last one was closed), else nothing. */
  start(): Worker[] {
    if (this.running && !this.running.closing) return [];
    this.running = startWechatSyncConsumer(this.accounts, this.ctx);
    return [this.running];
  }
}

const perWorker = new WeakMap<WechatSyncContext, WechatSyncConsumers>();

/** The sync consumers of a worker context (one per worker process; tests build several). */
export function wechatSyncConsumers(ctx: WechatSyncContext): WechatSyncConsumers {
  let found = perWorker.get(ctx);
  if (!found) perWorker.set(ctx, (found = new WechatSyncConsumers(ctx)));
  return found;
}
