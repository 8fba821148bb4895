import { ConfigurationError, ProviderUnavailableError, shortHash, type Logger } from '@switchboard/core';
import { acquireLock, compareAndDelete, type GatewayKeys, type RedisClient } from '@switchboard/queue';

/**
 * Access-token cache shared by every worker through Redis.
 * - One refresh at a time across processes (a Redis lock) and within a process (one promise).
 * - Tokens are dropped `marginSec` before WeCom expires them.
 * - A 40001 (wrong secret) blocks further `gettoken` calls for this secret for `configBlockSec`:
 *   WeCom blocks the server IP for an hour after repeated failures.
 * @see https://developer.work.weixin.qq.com/document/path/91039
 */

/** Fetches a fresh token from WeCom (`gettoken`). Throws typed errors. */
export type TokenFetcher = () => Promise<{ token: string; expiresInSec: number }>;

export interface TokenCacheOptions {
  /** Refresh this long before expiry (WeCom tokens live 7200 s). */
  marginSec: number;
  /** Lease of the refresh lock; a crashed refresher frees it after this. */
  lockMs: number;
  /** How long a process waits for another one's refresh. */
  waitMs: number;
  pollMs: number;
  /** After a 40001, refuse to call `gettoken` with the same secret for this long. */
  configBlockSec: number;
}

const DEFAULTS: TokenCacheOptions = { marginSec: 300, lockMs: 10_000, waitMs: 12_000, pollMs: 50, configBlockSec: 600 };

interface Cached {
  t: string;
  /** Which secret produced it, so a rotated secret never uses the old one's token. */
  h: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Redis-backed single-flight access-token cache for one corp + secret. */
export class WechatTokenCache {
  private readonly opts: TokenCacheOptions;
  private readonly secretHash: string;
  private readonly cacheKey: string;
  private readonly lockKey: string;
  private readonly blockKey: string;
  private inflight: Promise<string> | undefined;
  /** Number of `gettoken` calls made by this instance (metrics and tests). */
  fetches = 0;

  constructor(
    private readonly redis: RedisClient,
    keys: GatewayKeys,
    corpId: string,
    secret: string,
    private readonly fetcher: TokenFetcher,
    private readonly log: Logger,
    opts: Partial<TokenCacheOptions> = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
    this.secretHash = shortHash(`${corpId}|${secret}`, 16);
    this.cacheKey = keys.wechat.token(corpId);
    this.lockKey = keys.wechat.tokenLock(corpId);
    this.blockKey = keys.wechat.tokenBlocked(corpId, this.secretHash);
  }

  /** A valid token: cached, or refreshed by exactly one process. */
  get(): Promise<string> {
    if (!this.inflight) {
      this.inflight = this.load().finally(() => {
        this.inflight = undefined;
      });
    }
    return this.inflight;
  }

  /** Drops `badToken` from the cache (only if no one replaced it meanwhile). */
  async invalidate(badToken: string): Promise<void> {
    const current = await this.redis.get(this.cacheKey);
    if (current && this.parse(current) === badToken) await compareAndDelete(this.redis, this.cacheKey, current);
  }

  private parse(raw: string | null): string | undefined {
    if (!raw) return undefined;
    try {
      const c = JSON.parse(raw) as Partial<Cached>;
      return c.h === this.secretHash && typeof c.t === 'string' ? c.t : undefined;
    } catch {
      return undefined;
    }
  }

  private async blocked(): Promise<void> {
    const reason = await this.redis.get(this.blockKey);
    if (reason) throw new ConfigurationError(`wechat gettoken disabled after a configuration error: ${reason}`);
  }

  private async load(): Promise<string> {
    const deadline = Date.now() + this.opts.waitMs;
    for (;;) {
      const cached = this.parse(await this.redis.get(this.cacheKey));
      if (cached) return cached;
      await this.blocked();
      const lock = await acquireLock(this.redis, this.lockKey, this.opts.lockMs);
      if (lock) {
        try {
          return await this.refresh();
        } finally {
          await lock.release();
        }
      }
      if (Date.now() > deadline) throw new ProviderUnavailableError('wechat access token refresh by another process did not finish in time', { providerCode: 'token_wait' });
      await sleep(this.opts.pollMs);
    }
  }

  private async refresh(): Promise<string> {
    // another process may have refreshed between our cache miss and taking the lock
    const again = this.parse(await this.redis.get(this.cacheKey));
    if (again) return again;
    this.fetches += 1;
    let fresh: { token: string; expiresInSec: number };
    try {
      fresh = await this.fetcher();
    } catch (err) {
      if (err instanceof ConfigurationError) {
        await this.redis.set(this.blockKey, err.message, 'EX', this.opts.configBlockSec);
        this.log.error('wechat gettoken refused: configuration error, not retrying', { err: err.message, blockSec: this.opts.configBlockSec });
      }
      throw err;
    }
    const ttlSec = Math.max(30, fresh.expiresInSec - this.opts.marginSec);
    await this.redis.set(this.cacheKey, JSON.stringify({ t: fresh.token, h: this.secretHash } satisfies Cached), 'EX', ttlSec);
    this.log.info('wechat access token refreshed', { ttlSec });
    return fresh.token;
  }
}
