import {
  baseEnv,
  closeServer,
  createLogger,
  createMetricsRegistry,
  listen,
  loadConfig,
  onShutdown,
  readDotenvFile,
  tlsFiles,
} from '@switchboard/core';
import { chatwootEnv, chatwootSettings } from '@switchboard/channel-chatwoot/inbound';
import { acceptEnv, backlogEnv, createRedis, exportQueueDepths, Mailbox, Producers } from '@switchboard/queue';
import { createChatwootIngressApp } from './app.js';

/** Composition root of chatwoot-ingress: config, logger, producer Redis, routes, listen, graceful stop. */
async function main(): Promise<void> {
  readDotenvFile();
  const cfg = loadConfig({ ...baseEnv, ...chatwootEnv, ...acceptEnv, ...backlogEnv });
  const log = createLogger({ service: 'chatwoot-ingress', level: cfg.LOG_LEVEL, showText: cfg.LOG_SHOW_TEXT });
  const settings = chatwootSettings(cfg);
  if (!settings.enabled) {
    log.warn('Chatwoot channel disabled: set CHATWOOT_URL and CHATWOOT_ACCOUNT_ID to enable it', { reason: settings.reason });
  } else if (settings.webhookSecrets.length === 0) {
    log.warn('CHATWOOT_WEBHOOK_SECRET is not set: webhooks are accepted UNSIGNED (Chatwoot < 4.13 does not sign); set the agent-bot and API-inbox secrets in production');
  }
  const redis = createRedis(cfg.REDIS_URL, 'producer');
  redis.on('error', (err: Error) => log.warn('redis connection error', { err: err.message }));
  const producers = new Producers(redis, cfg.QUEUE_PREFIX);
  const registry = createMetricsRegistry({ service: 'chatwoot-ingress' });
  // the backlog is visible where the load arrives: ingress keeps accepting (durably) however deep it is
  const depths = exportQueueDepths(registry, producers, { alertThreshold: cfg.BACKLOG_ALERT_THRESHOLD, log });
  const accept = { mailbox: new Mailbox(redis, cfg.QUEUE_PREFIX), producers, redis, prefix: cfg.QUEUE_PREFIX, debounceMs: cfg.TURN_DEBOUNCE_MS, maxMessageAgeSec: cfg.INBOUND_MAX_AGE_SEC };
  const app = createChatwootIngressApp({ log, registry, producers, redis, prefix: cfg.QUEUE_PREFIX, settings, accept });
  const server = await listen(app, settings.port, { log, tls: tlsFiles(cfg) });
  log.info('chatwoot-ingress listening', {
    port: settings.port,
    enabled: settings.enabled,
    signed: settings.webhookSecrets.length > 0,
    mirror: settings.enabled && settings.mirrorInboxId !== undefined,
  });
  onShutdown(log, async () => {
    depths.stop();
    await closeServer(server);
    await producers.close();
    redis.disconnect();
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`chatwoot-ingress: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
