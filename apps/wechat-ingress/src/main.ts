import { baseEnv, closeServer, createLogger, createMetricsRegistry, listen, loadConfig, onShutdown, readDotenvFile, tlsFiles } from '@switchboard/core';
import { resolveCallbackSettings, wechatEnv } from '@switchboard/channel-wechat-kf/inbound';
import { backlogEnv, createRedis, exportQueueDepths, Producers, waitReady } from '@switchboard/queue';
import { createWechatIngressApp } from './app.js';

/** Composition root of the 微信客服 ingress (port WECHAT_PORT, default 3002). */
async function main(): Promise<void> {
  readDotenvFile();
  const cfg = loadConfig({ ...baseEnv, ...wechatEnv, ...backlogEnv });
  const log = createLogger({ service: 'wechat-ingress', level: cfg.LOG_LEVEL, showText: cfg.LOG_SHOW_TEXT });
  const resolved = resolveCallbackSettings(cfg);
  if (!resolved.enabled) log.warn('WeChat Kefu channel disabled: callbacks answer 503 until these are set', { missing: resolved.missing });
  // producer connection: fails fast while Redis is down, so callbacks answer 503 and WeCom retries
  const redis = createRedis(cfg.REDIS_URL, 'producer');
  redis.on('error', (err: Error) => log.warn('redis connection error', { err: err.message }));
  const producers = new Producers(redis, cfg.QUEUE_PREFIX);
  // give Redis a moment so the first callbacks are not refused; start anyway (503 until it is back)
  await waitReady(redis, 5000).catch(() => log.warn('redis not reachable yet; callbacks answer 503 until it is'));
  const registry = createMetricsRegistry({ service: 'wechat-ingress' });
  // the backlog is visible where the load arrives: ingress keeps accepting (durably) however deep it is
  const depths = exportQueueDepths(registry, producers, { alertThreshold: cfg.BACKLOG_ALERT_THRESHOLD, log });
  const app = createWechatIngressApp({ log, registry, producers, redis, settings: resolved.enabled ? resolved.settings : undefined });
  const server = await listen(app, cfg.WECHAT_PORT, { log, tls: tlsFiles(cfg) });
  log.info('wechat-ingress listening', { port: cfg.WECHAT_PORT, enabled: resolved.enabled });
  onShutdown(log, async () => {
    depths.stop();
    await closeServer(server);
    await producers.close();
    redis.disconnect();
  });
}

main().catch((err: unknown) => {
  // the logger may not exist yet (invalid configuration): one clear line naming every problem
  process.stderr.write(`wechat-ingress: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
