// Removes this run's keys (and only them), and stops a redis-server the setup started.
module.exports = async function globalTeardown() {
  const { Redis } = require('ioredis');
  const run = process.env.SB_TEST_RUN;
  if (run && process.env.REDIS_URL && !process.env.REDIS_URL.includes(',')) {
    const redis = new Redis(process.env.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `*${run}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.unlink(...keys);
      } while (cursor !== '0');
    } catch {
      // nothing to clean when Redis is gone
    } finally {
      redis.disconnect();
    }
  }
  if (globalThis.__SB_REDIS_PID__) {
    try {
      process.kill(globalThis.__SB_REDIS_PID__, 'SIGTERM');
    } catch {
      // already gone
    }
  }
};
