import { ConfigError, createMetricsRegistry, silentLogger } from '@switchboard/core';
import { closeWorkers, createRedis, gatewayKeys, Mailbox, Producers, type RedisClient } from '@switchboard/queue';
import type { Redis } from 'ioredis';
import { dropPrefix, testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { WechatApiClient } from './wechat.client.js';
import { WechatSyncConsumers, wechatSyncConsumers, type WechatSyncContext } from './wechat.sync-consumer.js';

const log = silentLogger();
const settings = { replayHistoryOnFirstSync: false, firstSyncGraceSec: 300, syncLockMs: 1000 };

describe('the wechat-sync consumers of one worker process (real Redis)', () => {
  let redis: RedisClient;
  let producers: Producers;
  let ctx: WechatSyncContext;

  beforeAll(() => {
    redis = createRedis(testRedisUrl(), 'worker');
    const prefix = uniquePrefix('wxc');
    producers = new Producers(redis, prefix);
    ctx = {
      log,
      redis,
      queueRedis: redis,
      prefix,
      keys: gatewayKeys(prefix),
      producers,
      registry: createMetricsRegistry({ service: 'wxc' }),
      accept: { mailbox: new Mailbox(redis, prefix), producers, redis, prefix, debounceMs: 100, maxMessageAgeSec: 0 },
      consumers: { concurrency: 1, lockDurationMs: 5000 },
      recordSent: async () => undefined,
    };
  });
  afterAll(async () => {
    await producers.close();
    await dropPrefix(redis as Redis, ctx.prefix);
    redis.disconnect();
  });

  const client = (corpId: string) => new WechatApiClient({ settings: { corpId, secret: 's', apiUrl: 'http://127.0.0.1:9', timeoutMs: 500 }, redis, keys: ctx.keys, log });

  it('one consumer for every corp of the process, started again only after it was closed', async () => {
    const sync = new WechatSyncConsumers(ctx);
    sync.add({ accountId: 'default', settings, client: client('wwA') });
    sync.add({ accountId: 'shop-b', settings, client: client('wwB') });
    const first = sync.start();
    expect(first).toHaveLength(1);
    expect(first[0]!.name).toBe('wechat-sync');
    expect(sync.start()).toEqual([]);
    await closeWorkers(first, 5000);
    const again = sync.start();
    expect(again).toHaveLength(1);
    expect(again[0]).not.toBe(first[0]);
    await closeWorkers(again, 5000);
  });

  it('one set of consumers per worker context', () => {
    expect(wechatSyncConsumers(ctx)).toBe(wechatSyncConsumers(ctx));
    expect(wechatSyncConsumers({ ...ctx })).not.toBe(wechatSyncConsumers(ctx));
  });

  it('two accounts naming one corp stop the worker with a ConfigError naming both ids', () => {
    const sync = new WechatSyncConsumers(ctx);
    sync.add({ accountId: 'default', settings, client: client('wwSame') });
    const twice = () => sync.add({ accountId: 'shop-c', settings, client: client('wwSame') });
    expect(twice).toThrow(ConfigError);
    expect(twice).toThrow(/"default" and "shop-c" name the same corpId/);
  });
});
