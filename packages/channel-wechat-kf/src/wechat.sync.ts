import { randomBytes } from 'node:crypto';
import { DEFAULT_ACCOUNT_ID, ProviderRejectedError, shortHash, withAccount, type InboundEvent, type Logger, type WechatSyncJob } from '@switchboard/core';
import { heldLock, loadScripts, lockToken, type GatewayKeys, type Producers, type RedisClient } from '@switchboard/queue';
import type { ChannelSentMessage } from '@switchboard/channel-runtime';
import type { WechatApiClient } from './wechat.client.js';
import { normalizeKfMessage, type SyncAction } from './wechat.normalize.js';
import { CursorStore, SendAllowance, ServicerStatus } from './wechat.state.js';

/**
 * `kf/sync_msg` pull for one callback: at most one per open_kfid across all workers, every page's
 * events durable in `inbound` before its cursor is stored, `has_more` followed even through empty
 * pages, and a first pull without a cursor drains the 3-day history without answering it.
 * @see https://developer.work.weixin.qq.com/document/path/94670
 */

export interface WechatSyncerOptions {
  /** The corp's API client (its token cache); cursors and locks are keyed by its corp id. */
  readonly client: WechatApiClient;
  /**
   * The gateway account this corp is (`ACCOUNTS_FILE` id, default `default`): every event of a
   * pull carries it (conversation, event id), so replies, agent and limits follow the account.
   */
  readonly accountId?: string;
  readonly redis: RedisClient;
  readonly keys: GatewayKeys;
  readonly producers: Producers;
  /**
   * Accepts a page's customer messages into their mailboxes (in page order) and returns the events
   * that still go to the inbound queue. Without it every event goes there.
   */
  readonly acceptMessages?: (events: InboundEvent[]) => Promise<InboundEvent[]>;
  readonly log: Logger;
  /** First pull without a cursor: dispatch the history (true) or only recent messages (false). */
  readonly replayHistoryOnFirstSync: boolean;
  /** During a silent first pull, messages younger than this (relative to the callback) are still answered. */
  readonly firstSyncGraceSec: number;
  /** Welcome text for `enter_session` (unset = none). */
  readonly welcomeText?: string;
  /** Records a welcome once sent (it bypasses the outbound queue, which records the other replies). */
  readonly recordSent?: (message: ChannelSentMessage) => Promise<void>;
  /** `sync_msg.limit` (max 1000). */
  readonly limit?: number;
  /** Lease of the per-account sync lock (default 15 s), renewed by a heartbeat while the holder lives. */
  readonly lockMs?: number;
  /** Safety cap of pages per pull; the next callback continues from the stored cursor. */
  readonly maxPages?: number;
  /** Rounds one job pulls for coalesced jobs before handing the rest to a follow-up job (default 50). */
  readonly maxRounds?: number;
  readonly now?: () => number;
}

/**
 * What a job did. `coalesced`: another worker is pulling this account and another job is watching
 * it, so this callback's messages are covered. `watching`: another worker is pulling; this job
 * re-checks at `recheckAt` (when that worker's lock lapses if it died) and takes over if work is
 * still pending.
 */
export type SyncOutcome =
  | { readonly status: 'coalesced' }
  | { readonly status: 'watching'; readonly recheckAt: number }
  | {
      readonly status: 'done';
      readonly pages: number;
      readonly dispatched: number;
      readonly skipped: number;
      readonly firstSync: boolean;
      readonly rounds: number;
      /** Set when this job stopped at the round cap with notes pending: enqueue it as a new job. */
      readonly followUp?: WechatSyncJob;
    };

/** The callback `Token` is valid 10 minutes; stop sending it a little before. */
const TOKEN_FRESH_MS = 9 * 60_000;
/** `welcome_code` is valid 20 s after `enter_session`; leave room for the call itself. */
const WELCOME_VALID_MS = 18_000;
/** Pending work outlives any holder (a dead one included) until a pull covers it. */
const PENDING_TTL_MS = 24 * 3600_000;

/*
 * Per account: `lock` (the worker pulling, leased and renewed by a heartbeat), `pending` (hash: `v`
 * = callbacks seen, `token` = the newest callback token) and `watcher` (the one waiting job that
 * takes over if the holder dies). A holder clears `pending` only when a round ends with no callback
 * newer than the one it started from, so work of a holder killed mid-pull stays pending.
 * Scripts: `wechatSyncAcquire-3.lua`, `wechatSyncRecheck-3.lua`, `wechatSyncFinishRound-2.lua` in @switchboard/queue.
 */

/** Default cap of rounds one job does for others (each round is one pull to has_more = 0). */
const MAX_ROUNDS = 50;

/** Runs `wechat-sync` jobs. */
export class WechatSyncer {
  private readonly cursors: CursorStore;
  private readonly allowance: SendAllowance;
  private readonly servicers: ServicerStatus;
  private readonly now: () => number;

  constructor(private readonly opts: WechatSyncerOptions) {
    this.cursors = new CursorStore(opts.redis, opts.keys);
    this.allowance = new SendAllowance(opts.redis, opts.keys);
    this.servicers = new ServicerStatus(opts.redis, opts.keys, opts.accountId);
    this.now = opts.now ?? Date.now;
  }

  /** The cursor stored for an account (tests, admin). */
  cursor(corpId: string, openKfId: string | undefined): Promise<string | undefined> {
    return this.cursors.get(corpId, openKfId);
  }

  /**
   * Pulls everything new for the job's account. When another worker is already pulling it, the
   * callback is counted as pending work that the holder pulls once more for before it lets go, so a
   * burst of callbacks costs a few pulls instead of one each; one job per account watches the holder
   * (`watching`) and takes over if the holder dies, so no notice is lost to a crash.
   * @param jobKey identifies the job across its re-runs (the BullMQ job id)
   */
  async run(job: WechatSyncJob, jobKey = randomBytes(8).toString('hex')): Promise<SyncOutcome> {
    const keys = this.opts.keys.wechat;
    const lockKey = keys.syncLock(job.corpId, job.openKfId);
    const pendingKey = keys.syncPending(job.corpId, job.openKfId);
    const watcherKey = keys.syncWatcher(job.corpId, job.openKfId);
    const owner = lockToken();
    const lockMs = this.opts.lockMs ?? 15_000;
    const fresh = job.token && this.now() - job.receivedAt < TOKEN_FRESH_MS ? job.token : '';
    const redis = loadScripts(this.opts.redis);
    const take = job.watching ? redis.sbWechatSyncRecheck.bind(redis) : redis.sbWechatSyncAcquire.bind(redis);
    const [state, value] = await take(lockKey, pendingKey, watcherKey, owner, lockMs, fresh, jobKey, PENDING_TTL_MS);
    if (state === 0) return { status: 'coalesced' };
    if (state === 2) return { status: 'watching', recheckAt: this.now() + Math.max(200, (value ?? 0) + 200) };
    // a heartbeat keeps the lease while this process lives; if it dies the lock lapses within lockMs
    const lock = heldLock(this.opts.redis, lockKey, owner, lockMs);
    const stopHeartbeat = lock.keepAlive();
    const total = { pages: 0, dispatched: 0, skipped: 0, firstSync: false, rounds: 0 };
    const { token: _first, watching: _w, ...base } = job;
    let current: WechatSyncJob = job;
    let version = value ?? 0;
    let followUp: WechatSyncJob | undefined;
    try {
      for (;;) {
        const r = await this.pull(current);
        total.pages += r.pages;
        total.dispatched += r.dispatched;
        total.skipped += r.skipped;
        total.firstSync ||= r.firstSync;
        total.rounds += 1;
        const [next, v, token] = await redis.sbWechatSyncFinishRound(lockKey, pendingKey, owner, lockMs, version);
        if (next !== 1) break;
        version = v ?? version;
        current = { ...base, receivedAt: this.now(), ...(token ? { token } : {}) };
        if (total.rounds >= (this.opts.maxRounds ?? MAX_ROUNDS)) {
          // hand the pending round to a new job instead of holding one job forever on a hot account
          followUp = current;
          break;
        }
      }
    } finally {
      stopHeartbeat();
      await lock.release();
    }
    return { status: 'done', ...total, ...(followUp ? { followUp } : {}) };
  }

  private async pull(job: WechatSyncJob): Promise<{ pages: number; dispatched: number; skipped: number; firstSync: boolean }> {
    const log = this.opts.log.child({ openKfId: job.openKfId });
    let cursor = await this.cursors.get(job.corpId, job.openKfId);
    const firstSync = cursor === undefined;
    const silent = firstSync && !this.opts.replayHistoryOnFirstSync;
    const oldestAnswered = job.receivedAt - this.opts.firstSyncGraceSec * 1000;
    let token = job.token && this.now() - job.receivedAt < TOKEN_FRESH_MS ? job.token : undefined;
    let pages = 0;
    let dispatched = 0;
    let skipped = 0;
    const maxPages = this.opts.maxPages ?? 200;
    while (pages < maxPages) {
      let page;
      try {
        page = await this.opts.client.syncMsg({
          ...(cursor ? { cursor } : {}),
          ...(token ? { token } : {}),
          limit: this.opts.limit ?? 1000,
          voice_format: 0,
          ...(job.openKfId ? { open_kfid: job.openKfId } : {}),
        });
      } catch (err) {
        // 95007: the callback token expired or is unknown; pull without it (rate-limited but valid)
        if (token && err instanceof ProviderRejectedError && err.providerCode === '95007') {
          log.warn('wechat sync token rejected, pulling without it');
          token = undefined;
          continue;
        }
        throw err;
      }
      pages += 1;
      const receivedAt = this.now();
      const events: InboundEvent[] = [];
      const actions: SyncAction[] = [];
      for (const raw of page.msg_list) {
        const n = normalizeKfMessage(raw, { receivedAt, ...(job.openKfId ? { openKfId: job.openKfId } : {}) });
        for (const a of n.actions) if (a.type === 'customer_wrote' || a.type === 'servicer_status') actions.push(a);
        const sendTime = Number((raw as { send_time?: unknown }).send_time ?? 0) * 1000;
        if (silent && sendTime < oldestAnswered) {
          skipped += n.events.length;
          continue;
        }
        events.push(...n.events.map((e) => withAccount(e, this.opts.accountId ?? DEFAULT_ACCOUNT_ID)));
        for (const a of n.actions) if (a.type === 'welcome') actions.push(a);
        if (n.events.length === 0 && n.actions.length === 0) log.warn('wechat sync item without msgid ignored');
      }
      for (const e of events) if (e.kind === 'unsupported') log.info('wechat unsupported item', { providerType: e.providerType, reason: e.reason, eventId: e.eventId });
      // the send allowance first: a reply must never be counted against an older customer message
      await this.recordState(actions, log);
      // durable next: the cursor moves only after the page's events are accepted or in the inbound queue
      const forConsumer = this.opts.acceptMessages ? await this.opts.acceptMessages(events) : events;
      await this.opts.producers.enqueueBulk('inbound', forConsumer.map((data) => ({ data, opts: { jobId: data.eventId } })));
      dispatched += events.length;
      for (const a of actions) if (a.type === 'welcome') await this.welcome(a, log);
      const next = page.next_cursor;
      if (next) await this.cursors.set(job.corpId, job.openKfId, next);
      log.debug('wechat sync page', { page: pages, items: page.msg_list.length, events: events.length, hasMore: page.has_more });
      if (page.has_more !== 1) break;
      if (!next || next === cursor) {
        log.warn('wechat sync: has_more without a new cursor; stopping this pull', { page: pages });
        break;
      }
      cursor = next;
    }
    if (pages >= maxPages) log.warn('wechat sync stopped at the page cap; the next callback continues', { maxPages });
    if (firstSync) log.info('wechat first sync for account', { silent, dispatched, skipped, pages });
    return { pages, dispatched, skipped, firstSync };
  }

  /**
   * Send allowances (only each customer's newest message of the page counts) and servicer states of
   * a page, customers in parallel.
   */
  private async recordState(actions: SyncAction[], log: Logger): Promise<void> {
    const newest = new Map<string, Extract<SyncAction, { type: 'customer_wrote' }>>();
    for (const a of actions) {
      if (a.type !== 'customer_wrote') continue;
      const key = `${a.ref.account}\u0000${a.ref.userId}`;
      const seen = newest.get(key);
      if (!seen || a.sentAt >= seen.sentAt) newest.set(key, a);
    }
    await Promise.all([...newest.values()].map((a) => this.allowance.customerWrote(a.ref.account, a.ref.userId, a.sentAt, a.msgid)));
    for (const a of actions) {
      if (a.type !== 'servicer_status') continue;
      await this.servicers.set(a.servicerUserId, a.receiving);
      log.info('wechat servicer status changed', { receiving: a.receiving });
    }
  }

  private async welcome(a: Extract<SyncAction, { type: 'welcome' }>, log: Logger): Promise<void> {
    const text = this.opts.welcomeText;
    if (!text) return;
    const age = this.now() - a.sentAt;
    if (age > WELCOME_VALID_MS) {
      log.info('wechat welcome skipped: welcome_code expired', { ageMs: age });
      return;
    }
    // a code works once; a re-run of this page must not try again
    const claimed = await this.opts.redis.set(this.opts.keys.wechat.welcome(a.msgid), '1', 'EX', 3600, 'NX');
    if (claimed !== 'OK') return;
    const msgid = `gww${shortHash(a.msgid, 29)}`;
    let sent: { msgid?: string };
    try {
      sent = await this.opts.client.sendMsgOnEvent(a.code, msgid, { msgtype: 'text', text: { content: text } });
      log.info('wechat welcome sent');
    } catch (err) {
      log.warn('wechat welcome failed', { err: err instanceof Error ? err.message : String(err) });
      return;
    }
    const accountId = this.opts.accountId ?? DEFAULT_ACCOUNT_ID;
    await this.opts.recordSent?.({
      sourceId: accountId === DEFAULT_ACCOUNT_ID ? `welcome-${msgid}` : `welcome-${accountId}-${msgid}`,
      ref: accountId === DEFAULT_ACCOUNT_ID ? a.ref : { ...a.ref, accountId },
      origin: 'welcome',
      text,
      ...(sent.msgid ? { providerMessageId: sent.msgid } : {}),
      at: this.now(),
    });
  }
}
