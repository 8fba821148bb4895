import { closeServer, createLogger, createOpsApp, listen, onShutdown, readDotenvFile, tlsFiles } from '@switchboard/core';
import { closeWorkers, createRedis, pingRedis, RECOMMENDED_REDIS_HZ, redisClockHz } from '@switchboard/queue';
import { buildWorkerDeps, loadWorkerEnv, selectRoles, startRoles } from './compose.js';
import { openKnowledge } from './knowledge.js';
import { apiCallbackSettings } from './api-callback-settings.js';
import { watchPeopleFile } from '@switchboard/people';

async function main(): Promise<void> {
  readDotenvFile();
  const env = loadWorkerEnv();
  // settings that need each other are checked before anything is opened (buildWorkerDeps reads them again)
  apiCallbackSettings(env);
  const log = createLogger({ service: 'worker', level: env.LOG_LEVEL, showText: env.LOG_SHOW_TEXT });
  const roles = selectRoles(env);
  const redis = createRedis(env.REDIS_URL, 'worker');
  const producerRedis = createRedis(env.REDIS_URL, 'worker');
  for (const c of [redis, producerRedis]) c.on('error', (err: Error) => log.warn('redis connection error', { err: err.message }));
  const kb = await openKnowledge(env, log);
  const deps = buildWorkerDeps(env, redis, producerRedis, log, kb ? { knowledge: kb.knowledge, store: kb.store } : {});
  if (env.PEOPLE_FILE && !deps.people) throw new Error('PEOPLE_FILE needs the data store (DATABASE_URL)');
  const stopPeopleFile = env.PEOPLE_FILE && deps.people ? await watchPeopleFile(deps.people.directory, env.PEOPLE_FILE, log, () => deps.people?.lookup.invalidate()) : undefined;
  const workers = startRoles(deps, roles);
  const ops = createOpsApp({
    registry: deps.registry,
    checks: {
      redis: () => pingRedis(redis),
      ...(kb ? { store: kb.store.readiness } : {}),
      consumers: async () => (workers.every((w) => w.isRunning()) ? undefined : 'a consumer is not running'),
    },
  });
  const server = await listen(ops, env.WORKER_METRICS_PORT, { log, tls: tlsFiles(env) });
  log.info('worker started', { roles, concurrency: env.WORKER_CONCURRENCY, metricsPort: env.WORKER_METRICS_PORT, queues: workers.map((w) => w.name) });
  void redisClockHz(redis).then((hz) => {
    if (hz !== undefined && hz < RECOMMENDED_REDIS_HZ) {
      log.warn(`Redis runs at hz ${hz}: debounced turns and retries can start up to ${Math.round(1000 / hz)} ms late; set hz ${RECOMMENDED_REDIS_HZ} in redis.conf (docs/operations.md)`, { hz });
    }
  });
  onShutdown(log, async () => {
    stopPeopleFile?.();
    await closeWorkers(workers, 20_000);
    await deps.producers.close();
    await deps.close();
    await kb?.store.close();
    await closeServer(server, 2000);
    redis.disconnect();
    producerRedis.disconnect();
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
