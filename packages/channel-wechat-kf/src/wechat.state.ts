import { DEFAULT_ACCOUNT_ID } from '@switchboard/core';
import type { GatewayKeys, RedisClient } from '@switchboard/queue';

/**
 * Small Redis records the channel keeps for itself: sync cursors, the per-customer send allowance
 * (5 messages per customer message, 48 h window) and servicer availability.
 */

/** WeCom keeps messages 3 days; a cursor older than that is useless but harmless, so keep it 30 days. */
const CURSOR_TTL_SEC = 30 * 24 * 3600;
/** The 48 h send window. */
export const SEND_WINDOW_MS = 48 * 3600 * 1000;
/** WeCom's allowance per customer message. */
export const SENDS_PER_CUSTOMER_MESSAGE = 5;

/** Durable `next_cursor` per corp + open_kfid. */
export class CursorStore {
  constructor(private readonly redis: RedisClient, private readonly keys: GatewayKeys) {}

  key(corpId: string, openKfId: string | undefined): string {
    return this.keys.wechat.cursor(corpId, openKfId);
  }

  async get(corpId: string, openKfId: string | undefined): Promise<string | undefined> {
    return (await this.redis.get(this.key(corpId, openKfId))) ?? undefined;
  }

  async set(corpId: string, openKfId: string | undefined, cursor: string): Promise<void> {
    await this.redis.set(this.key(corpId, openKfId), cursor, 'EX', CURSOR_TTL_SEC);
  }
}

/**
 * Allowance bookkeeping per conversation: when the customer last wrote and which msgids were sent
 * since. Lets the sender refuse locally (95001/95002) instead of burning API calls, and stays
 * idempotent: re-sending an already counted msgid is always allowed.
 */
export class SendAllowance {
  constructor(private readonly redis: RedisClient, private readonly keys: GatewayKeys) {}

  private base(openKfId: string, userId: string) {
    return this.keys.wechat.allowance(openKfId, userId);
  }

  /**
   * A customer message arrived: a fresh allowance and a new 48 h window. Only moves forward: an older
   * message synced late, or the same message pulled again (a re-run page), does not reset it.
   */
  async customerWrote(openKfId: string, userId: string, sentAtMs: number, msgid: string): Promise<void> {
    const b = this.base(openKfId, userId);
    const ttl = Math.ceil(SEND_WINDOW_MS / 1000);
    const [last, lastMsgid] = await this.redis.mget(b.last, b.msgid);
    if (sentAtMs < Number(last ?? '0') || lastMsgid === msgid) return;
    await this.redis.multi().set(b.last, String(sentAtMs), 'EX', ttl).set(b.msgid, msgid, 'EX', ttl).del(b.sent).exec();
  }

  /** Why a send would be refused, or undefined when it may go out. */
  async check(openKfId: string, userId: string, msgid: string, now: number): Promise<{ code: 95001 | 95002; reason: string } | undefined> {
    const b = this.base(openKfId, userId);
    const [last, already, count] = await Promise.all([
      this.redis.get(b.last),
      this.redis.sismember(b.sent, msgid),
      this.redis.scard(b.sent),
    ]);
    if (already) return undefined;
    if (last && now - Number(last) > SEND_WINDOW_MS) return { code: 95002, reason: 'the customer last wrote more than 48 h ago' };
    if (count >= SENDS_PER_CUSTOMER_MESSAGE) return { code: 95001, reason: 'the 5 messages allowed per customer message are used up' };
    return undefined;
  }

  /** Counts a sent msgid against the allowance. */
  async sent(openKfId: string, userId: string, msgid: string): Promise<void> {
    const b = this.base(openKfId, userId);
    await this.redis.multi().sadd(b.sent, msgid).expire(b.sent, Math.ceil(SEND_WINDOW_MS / 1000)).exec();
  }
}

/**
 * Which servicers of one account's corp are receiving (from `servicer_status_change`), to pick a
 * handoff target. Servicer user ids are only unique within a corp: an account other than `default`
 * keeps its own fields (`<accountId>|<userid>`); the account `default` keeps the plain user ids.
 */
export class ServicerStatus {
  constructor(private readonly redis: RedisClient, private readonly keys: GatewayKeys, private readonly accountId: string = DEFAULT_ACCOUNT_ID) {}

  private field(servicerUserId: string): string {
    return this.accountId === DEFAULT_ACCOUNT_ID ? servicerUserId : `${this.accountId}|${servicerUserId}`;
  }

  async set(servicerUserId: string, receiving: boolean): Promise<void> {
    await this.redis.hset(this.keys.wechat.servicers(), this.field(servicerUserId), receiving ? '1' : '0');
  }

  /** false only when the servicer is known to have stopped receiving. */
  async mayReceive(servicerUserId: string): Promise<boolean> {
    return (await this.redis.hget(this.keys.wechat.servicers(), this.field(servicerUserId))) !== '0';
  }
}
