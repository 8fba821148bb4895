import { Redis } from 'ioredis';
import { dropPrefix, testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { acquireLock, compareAndDelete, heldLock } from './lock';
import { loadScripts } from './lua-scripts';

describe('lock helper (real Redis)', () => {
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const prefix = uniquePrefix('lock');
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  it('one owner at a time; only the owner renews or releases', async () => {
    const key = `${prefix}:a`;
    const a = await acquireLock(redis, key, 5000);
    expect(a).toBeDefined();
    expect(await acquireLock(redis, key, 5000)).toBeUndefined();
    const intruder = heldLock(redis, key, 'not-the-owner', 5000);
    expect(await intruder.renew()).toBe(false);
    expect(await intruder.release()).toBe(false);
    expect(await redis.get(key)).toBe(a?.token);
    expect(await a?.renew(20_000)).toBe(true);
    expect(await redis.pttl(key)).toBeGreaterThan(10_000);
    expect(await a?.release()).toBe(true);
    expect(await redis.exists(key)).toBe(0);
    expect(await a?.release()).toBe(false);
    expect(await acquireLock(redis, key, 5000)).toBeDefined();
  });

  it('a lease lapses without renewal and is kept alive by the heartbeat', async () => {
    // a 900 ms lease renewed every 300 ms leaves 600 ms for a loaded CI machine's timer delays
    const lapsing = await acquireLock(redis, `${prefix}:b`, 900);
    const kept = await acquireLock(redis, `${prefix}:c`, 900);
    const stop = kept?.keepAlive();
    await new Promise((r) => setTimeout(r, 2000));
    expect(await redis.exists(`${prefix}:b`)).toBe(0);
    expect(await redis.get(`${prefix}:c`)).toBe(kept?.token);
    expect(await lapsing?.renew()).toBe(false);
    stop?.();
    await new Promise((r) => setTimeout(r, 1500));
    expect(await redis.exists(`${prefix}:c`)).toBe(0);
  });

  it('compareAndDelete deletes only the expected value', async () => {
    await redis.set(`${prefix}:d`, 'v1');
    expect(await compareAndDelete(redis, `${prefix}:d`, 'v2')).toBe(false);
    expect(await compareAndDelete(redis, `${prefix}:d`, 'v1')).toBe(true);
    expect(await redis.exists(`${prefix}:d`)).toBe(0);
  });

  it('scripts go out as EVALSHA, never EVAL with the script text once loaded', async () => {
    const r = loadScripts(redis);
    await r.sbCompareAndDelete(`${prefix}:e`, 'x'); // the first call may load the script
    const monitor = await redis.monitor();
    const seen: string[] = [];
    // the server is shared with other tests: only this test's key counts
    monitor.on('monitor', (_t: string, args: string[]) => {
      if (args.includes(`${prefix}:e`)) seen.push(String(args[0]).toLowerCase());
    });
    await r.sbCompareAndDelete(`${prefix}:e`, 'x');
    await r.sbLockRenew(`${prefix}:e`, 'x', 100);
    await new Promise((res) => setTimeout(res, 100));
    monitor.disconnect();
    expect(seen.filter((c) => c.startsWith('eval'))).toEqual(['evalsha', 'evalsha']);
  });
});
