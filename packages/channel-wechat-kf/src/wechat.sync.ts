import { randomBytes } from 'node:crypto';
import { ProviderRejectedError, shortHash, type InboundEvent, type Logger, type WechatSyncJob } from '@switchboard/core';
import type { GatewayKeys, Producers, RedisClient } from '@switchboard/queue';
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
  readonly client: WechatApiClient;
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
  /** `sync_msg.limit` (max 1000). */
  readonly limit?: number;
  /** Lease of the per-account sync lock; renewed after every page. */
  readonly lockMs?: number;
  /** Safety cap of pages per pull; the next callback continues from the stored cursor. */
  readonly maxPages?: number;
  /** Rounds one job pulls for coalesced jobs before handing the rest to a follow-up job (default 50). */
  readonly maxRounds?: number;
  readonly now?: () => number;
}

/**
 * What a job did. `coalesced`: another worker is pulling this account right now and was asked to
 * pull once more when it finishes (with this job's token), so this job has nothing left to do.
 */
export type SyncOutcome =
  | { readonly status: 'coalesced' }
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

/**
 * Take the account's sync lock, or leave a "pull again" note (with the newest callback token) for
 * the holder. One script, so a note can never be left after the holder's final check.
 * KEYS: lock, again. ARGV: owner, lockMs, token ('' = none). Returns 1 = acquired, 0 = noted.
 */
const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', tonumber(ARGV[2])) then return 1 end
redis.call('SET', KEYS[2], ARGV[3], 'PX', tonumber(ARGV[2]) * 3)
return 0`;
/**
 * The holder is done with a round: if a note arrived meanwhile, keep the lock and hand back the
 * noted token ({1, token}); otherwise release ({0}). A holder that lost its lock gets {-1}.
 * KEYS: lock, again. ARGV: owner, lockMs.
 */
const FINISH_ROUND = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {-1} end
local note = redis.call('GET', KEYS[2])
if note then
  redis.call('DEL', KEYS[2])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  return {1, note}
end
redis.call('DEL', KEYS[1])
return {0}`;
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
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
    this.servicers = new ServicerStatus(opts.redis, opts.keys);
    this.now = opts.now ?? Date.now;
  }

  /** The cursor stored for an account (tests, admin). */
  cursor(corpId: string, openKfId: string | undefined): Promise<string | undefined> {
    return this.cursors.get(corpId, openKfId);
  }

  /**
   * Pulls everything new for the job's account. When another worker is already pulling it, this
   * job leaves a note and returns `coalesced`: the holder pulls once more before it lets go, so a
   * burst of callbacks costs a few pulls instead of one each, and no notice is lost.
   */
  async run(job: WechatSyncJob): Promise<SyncOutcome> {
    const lockKey = this.opts.keys.ns('wechat', 'sync-lock', job.corpId, job.openKfId ?? '_all');
    const againKey = this.opts.keys.ns('wechat', 'sync-again', job.corpId, job.openKfId ?? '_all');
    const owner = randomBytes(8).toString('hex');
    const lockMs = this.opts.lockMs ?? 60_000;
    const fresh = job.token && this.now() - job.receivedAt < TOKEN_FRESH_MS ? job.token : '';
    if ((await this.opts.redis.eval(ACQUIRE, 2, lockKey, againKey, owner, lockMs, fresh)) !== 1) return { status: 'coalesced' };
    const renew = () => this.opts.redis.eval(RENEW, 1, lockKey, owner, lockMs).then(() => undefined);
    const total = { pages: 0, dispatched: 0, skipped: 0, firstSync: false, rounds: 0 };
    let current: WechatSyncJob = job;
    let followUp: WechatSyncJob | undefined;
    try {
      for (;;) {
        const r = await this.pull(current, renew);
        total.pages += r.pages;
        total.dispatched += r.dispatched;
        total.skipped += r.skipped;
        total.firstSync ||= r.firstSync;
        total.rounds += 1;
        const [state, token] = (await this.opts.redis.eval(FINISH_ROUND, 2, lockKey, againKey, owner, lockMs)) as [number, string?];
        if (state !== 1) break;
        const { token: _old, ...rest } = job;
        current = { ...rest, receivedAt: this.now(), ...(token ? { token } : {}) };
        if (total.rounds >= (this.opts.maxRounds ?? MAX_ROUNDS)) {
          // hand the pending round to a new job instead of holding one job forever on a hot account
          followUp = current;
          break;
        }
      }
    } finally {
      await this.opts.redis.eval(RELEASE, 1, lockKey, owner);
    }
    return { status: 'done', ...total, ...(followUp ? { followUp } : {}) };
  }

  private async pull(job: WechatSyncJob, renew: () => Promise<void>): Promise<{ pages: number; dispatched: number; skipped: number; firstSync: boolean }> {
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
        events.push(...n.events);
        for (const a of n.actions) if (a.type === 'welcome') actions.push(a);
        if (n.events.length === 0 && n.actions.length === 0) log.warn('wechat sync item without msgid ignored');
      }
      for (const e of events) if (e.kind === 'unsupported') log.info('wechat unsupported item', { providerType: e.providerType, reason: e.reason, eventId: e.eventId });
      // durable first: the cursor moves only after the page's events are in the inbound queue
      const forConsumer = this.opts.acceptMessages ? await this.opts.acceptMessages(events) : events;
      await this.opts.producers.enqueueBulk('inbound', forConsumer.map((data) => ({ data, opts: { jobId: data.eventId } })));
      dispatched += events.length;
      await this.apply(actions, log);
      const next = page.next_cursor;
      if (next) await this.cursors.set(job.corpId, job.openKfId, next);
      log.debug('wechat sync page', { page: pages, items: page.msg_list.length, events: events.length, hasMore: page.has_more });
      if (page.has_more !== 1) break;
      if (!next || next === cursor) {
        log.warn('wechat sync: has_more without a new cursor; stopping this pull', { page: pages });
        break;
      }
      cursor = next;
      await renew();
    }
    if (pages >= maxPages) log.warn('wechat sync stopped at the page cap; the next callback continues', { maxPages });
    if (firstSync) log.info('wechat first sync for account', { silent, dispatched, skipped, pages });
    return { pages, dispatched, skipped, firstSync };
  }

  private async apply(actions: SyncAction[], log: Logger): Promise<void> {
    for (const a of actions) {
      switch (a.type) {
        case 'customer_wrote':
          await this.allowance.customerWrote(a.ref.account, a.ref.userId, a.sentAt);
          break;
        case 'servicer_status':
          await this.servicers.set(a.servicerUserId, a.receiving);
          log.info('wechat servicer status changed', { receiving: a.receiving });
          break;
        case 'welcome':
          await this.welcome(a, log);
          break;
      }
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
    const claimed = await this.opts.redis.set(this.opts.keys.ns('wechat', 'welcome', shortHash(a.msgid, 24)), '1', 'EX', 3600, 'NX');
    if (claimed !== 'OK') return;
    try {
      await this.opts.client.sendMsgOnEvent(a.code, `gww${shortHash(a.msgid, 29)}`, { msgtype: 'text', text: { content: text } });
      log.info('wechat welcome sent');
    } catch (err) {
      log.warn('wechat welcome failed', { err: err instanceof Error ? err.message : String(err) });
    }
  }
}
