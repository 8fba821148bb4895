import { Cluster, Redis, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

/** Default address when `REDIS_URL` is unset. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * How a connection behaves while Redis is away.
 * - `producer` (ingress): fail fast, so a webhook can answer 503 and the provider redelivers.
 * - `worker`: wait out outages (BullMQ requires `maxRetriesPerRequest: null` on worker connections).
 */
export type ConnectionRole = 'producer' | 'worker';

function roleOptions(role: ConnectionRole): RedisOptions {
  return role === 'producer'
    ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000, retryStrategy: (n) => Math.min(200 * n, 2000) }
    : { enableOfflineQueue: true, maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(500 * n, 5000) };
}

/**
 * Creates an ioredis client. `REDIS_URL` may list several `redis://` seeds separated by commas, or
 * start with `redis+cluster://`; either selects the Cluster client.
 */
export function createRedis(url: string | undefined, role: ConnectionRole, extra: { autoPipelining?: boolean } = {}): RedisClient {
  const spec = (url ?? DEFAULT_REDIS_URL).trim();
  const seeds = spec.split(',').map((s) => s.trim()).filter(Boolean);
  const clusterMode = seeds.length > 1 || spec.startsWith('redis+cluster://');
  // auto-pipelining batches the commands issued in one tick into one write: much less CPU per
  // message under concurrency. Only for the gateway's own commands, never for BullMQ's connections
  // (taskforcesh/bullmq#457, OptimalBits/bull#2276 report broken jobs with it).
  const opts: RedisOptions = { ...roleOptions(role), ...(extra.autoPipelining ? { enableAutoPipelining: true } : {}) };
  if (clusterMode) {
    const nodes = seeds.map((s) => {
      const u = new URL(s.replace(/^redis\+cluster:/, 'redis:'));
      return { host: u.hostname, port: Number(u.port || 6379) };
    });
    return new Cluster(nodes, { redisOptions: { ...opts }, enableOfflineQueue: opts.enableOfflineQueue ?? true, enableAutoPipelining: extra.autoPipelining ?? false });
  }
  return new Redis(spec, opts);
}

/** Resolves when the client is ready, or rejects after `timeoutMs`. */
export function waitReady(client: RedisClient, timeoutMs = 5000): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.off('ready', onReady);
    };
    client.on('ready', onReady);
  });
}

/** Readiness check: PING with a short deadline. */
export async function pingRedis(client: RedisClient, timeoutMs = 1000): Promise<string | undefined> {
  const result = await Promise.race([
    client.ping().then(() => undefined),
    new Promise<string>((resolve) => setTimeout(() => resolve('redis ping timed out'), timeoutMs).unref()),
  ]);
  return result;
}

/** The Redis clock rate (`hz`) below which delayed jobs start noticeably late. */
export const RECOMMENDED_REDIS_HZ = 100;

/**
 * The server's clock rate (`hz` of `INFO server`; with dynamic hz the current one), or undefined when
 * INFO is refused or has no such field (some managed services). A BullMQ worker waits for its next
 * delayed job (a debounced turn, a backed-off retry) with a blocking BZPOPMIN whose timeout Redis only
 * checks on its clock tick: a delayed job starts up to 1/hz late (100 ms at the default 10).
 */
export async function redisClockHz(client: RedisClient): Promise<number | undefined> {
  try {
    const node = client instanceof Cluster ? client.nodes('master')[0] : client;
    if (!node) return undefined;
    const m = /^hz:(\d+)/m.exec(await node.info('server'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
