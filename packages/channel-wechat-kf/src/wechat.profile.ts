import type { ConversationRef, CustomerProfile, Logger } from '@switchboard/core';
import type { GatewayKeys, RedisClient } from '@switchboard/queue';
import { z } from 'zod';
import type { WechatApiClient } from './wechat.client.js';

/** Options of {@link WechatProfiles}. */
export interface WechatProfilesOptions {
  readonly client: Pick<WechatApiClient, 'batchGetCustomers' | 'corpId'>;
  readonly redis: RedisClient;
  readonly keys: GatewayKeys;
  readonly log: Logger;
  /** How long an answer (a nickname, or "unknown to WeCom") is kept before it is asked again, seconds. */
  readonly ttlSec: number;
  /** After a failed look-up, how long before WeCom is asked again, seconds (0 = at the next message). */
  readonly retrySec: number;
}

/** What is cached per customer: the answer, or that WeCom did not resolve the id. */
const CachedProfile = z.object({
  name: z.string().optional(),
  avatarUrl: z.string().optional(),
  unionid: z.string().optional(),
  /** `invalid` = listed in `invalid_external_userid`; `failed` = the call failed (kept only `retrySec`). */
  miss: z.enum(['invalid', 'failed']).optional(),
});
type CachedProfile = z.infer<typeof CachedProfile>;

/**
 * Customer profiles of one corp from `kf/customer/batchget`, cached in Redis per corp and customer
 * (the nickname otherwise never reaches the gateway: `sync_msg` carries only the external_userid).
 * A look-up never throws: a failure gives an empty profile (the mirror then names the customer by
 * id) and is asked again after `retrySec`.
 */
export class WechatProfiles {
  constructor(private readonly opts: WechatProfilesOptions) {}

  /** The customer of a conversation of this corp (nickname, avatar, unionid when WeCom gives them). */
  async profileOf(ref: Pick<ConversationRef, 'userId'>): Promise<CustomerProfile> {
    const key = this.opts.keys.wechat.profile(this.opts.client.corpId, ref.userId);
    const cached = await this.read(key);
    return toProfile(cached ?? (await this.lookUp(key, ref.userId)));
  }

  private async read(key: string): Promise<CachedProfile | undefined> {
    try {
      const raw = await this.opts.redis.get(key);
      if (!raw) return undefined;
      const parsed = CachedProfile.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  private async lookUp(key: string, userId: string): Promise<CachedProfile> {
    let found: CachedProfile;
    try {
      const { customers } = await this.opts.client.batchGetCustomers([userId]);
      const c = customers.find((x) => x.external_userid === userId);
      found = c
        ? { ...(c.nickname ? { name: c.nickname } : {}), ...(c.avatar ? { avatarUrl: c.avatar } : {}), ...(c.unionid ? { unionid: c.unionid } : {}) }
        : { miss: 'invalid' };
    } catch (err: unknown) {
      this.opts.log.warn('wechat customer look-up failed; the customer is named by id for now', { corp: this.opts.client.corpId, err: err instanceof Error ? err.message : String(err) });
      found = { miss: 'failed' };
    }
    const ttl = found.miss === 'failed' ? this.opts.retrySec : this.opts.ttlSec;
    if (ttl > 0) await this.opts.redis.set(key, JSON.stringify(found), 'EX', ttl).catch(() => undefined);
    return found;
  }
}

function toProfile(c: CachedProfile): CustomerProfile {
  return {
    ...(c.name ? { name: c.name } : {}),
    ...(c.avatarUrl ? { avatarUrl: c.avatarUrl } : {}),
    ...(c.unionid ? { identifiers: { unionid: c.unionid } } : {}),
  };
}
