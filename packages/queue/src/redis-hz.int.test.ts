import { Redis } from 'ioredis';
import { redisClockHz } from './redis.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('redisClockHz', () => {
  it("reads the server's clock rate from INFO server", async () => {
    const redis = new Redis(url);
    try {
      const configured = Number(((await redis.config('GET', 'hz')) as string[])[1]);
      const hz = await redisClockHz(redis);
      // dynamic hz may raise the current rate above the configured one, never below
      expect(hz).toBeGreaterThanOrEqual(configured);
    } finally {
      redis.disconnect();
    }
  });

  it('is undefined when the server cannot be asked', async () => {
    const redis = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    redis.on('error', () => undefined);
    try {
      expect(await redisClockHz(redis)).toBeUndefined();
    } finally {
      redis.disconnect();
    }
  });
});
