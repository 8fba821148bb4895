import { type Redis } from 'ioredis';

let counter = 0;

/** The Redis every test uses (set by the jest global setup: REDIS_URL or a private server). */
export function testRedisUrl(): string {
  return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

/**
 * A queue/key prefix unique to this test run and call, so tests never touch keys they did not
 * create; the global teardown removes keys containing the run id.
 */
export function uniquePrefix(label = 'sb'): string {
  counter += 1;
  const run = process.env.SB_TEST_RUN ?? `t${Date.now().toString(36)}`;
  return `${label}${run}x${process.pid}x${counter}`;
}

/** Deletes every key under a prefix (only this test's keys). */
export async function dropPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
}
