// Gives every test run a real Redis (same discovery as `pnpm start`) and a unique key prefix.
module.exports = async function globalSetup() {
  const { discoverRedis } = await import('./redis-discovery.mjs');
  const found = await discoverRedis({ dataDir: '.data/redis-test', port: 6391, aof: false, log: (s) => process.stderr.write(s + '\n') });
  process.env.REDIS_URL = found.url;
  process.env.SB_TEST_RUN = `t${Date.now().toString(36)}${process.pid}`;
  globalThis.__SB_REDIS_PID__ = found.started ? found.pid : undefined;
};
