import {
  baseEnv,
  closeServer,
  ConfigError,
  createLogger,
  createMetricsRegistry,
  listen,
  loadConfig,
  onShutdown,
  readDotenvFile,
  tlsFiles,
} from '@switchboard/core';
import { createWhatsAppInboundAdapter, whatsappEnv } from '@switchboard/channel-whatsapp/inbound';
import { acceptEnv, backlogEnv, createRedis, DeliveryLedger, exportQueueDepths, Mailbox, Producers, waitReady } from '@switchboard/queue';
import { createWhatsAppIngressApp } from './app.js';

async function main(): Promise<void> {
  readDotenvFile();
  const cfg = loadConfig({ ...baseEnv, ...whatsappEnv, ...acceptEnv, ...backlogEnv });
  const log = createLogger({ service: 'whatsapp-ingress', level: cfg.LOG_LEVEL, showText: cfg.LOG_SHOW_TEXT });
  const configured = Boolean(cfg.WHATSAPP_APP_SECRET || cfg.WHATSAPP_VERIFY_TOKEN || cfg.WHATSAPP_ACCESS_TOKEN);
  let adapter;
  if (!configured && !cfg.WHATSAPP_INSECURE_SKIP_SIGNATURE) {
    log.warn('WhatsApp channel disabled: set WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN and WHATSAPP_ACCESS_TOKEN to enable it');
  } else if (!cfg.WHATSAPP_APP_SECRET) {
    if (!cfg.WHATSAPP_INSECURE_SKIP_SIGNATURE) {
      throw new ConfigError(['WHATSAPP_APP_SECRET: required to verify X-Hub-Signature-256 (or set WHATSAPP_INSECURE_SKIP_SIGNATURE=true for local tests)']);
    }
    log.warn('INSECURE: WHATSAPP_INSECURE_SKIP_SIGNATURE=true, webhook signatures are NOT verified; never run this in production');
    adapter = createWhatsAppInboundAdapter({ appSecret: undefined });
  } else {
    adapter = createWhatsAppInboundAdapter({ appSecret: cfg.WHATSAPP_APP_SECRET });
  }
  const redis = createRedis(cfg.REDIS_URL, 'producer');
  redis.on('error', (err: Error) => log.warn('redis connection error', { err: err.message }));
  // a fail-fast connection refuses commands until connected: wait briefly so the first webhook is not a 503
  await waitReady(redis, 5000).catch(() => log.warn('redis not reachable yet; webhooks answer 503 until it is'));
  const producers = new Producers(redis, cfg.QUEUE_PREFIX);
  const registry = createMetricsRegistry({ service: 'whatsapp-ingress' });
  // the backlog is visible where the load arrives: ingress keeps accepting (durably) however deep it is
  const depths = exportQueueDepths(registry, producers, { alertThreshold: cfg.BACKLOG_ALERT_THRESHOLD, log });
  // the gateway's own commands (mailbox accept, acknowledgements, counters) of concurrent requests
  // share socket writes; BullMQ keeps the plain connection
  const gatewayRedis = createRedis(cfg.REDIS_URL, 'producer', { autoPipelining: true });
  gatewayRedis.on('error', () => undefined);
  const accept = { mailbox: new Mailbox(gatewayRedis, cfg.QUEUE_PREFIX), producers, redis: gatewayRedis, prefix: cfg.QUEUE_PREFIX, debounceMs: cfg.TURN_DEBOUNCE_MS, maxMessageAgeSec: cfg.INBOUND_MAX_AGE_SEC };
  const app = createWhatsAppIngressApp({ log, registry, producers, redis, adapter, accept, ledger: new DeliveryLedger(gatewayRedis, cfg.QUEUE_PREFIX), verifyToken: cfg.WHATSAPP_VERIFY_TOKEN });
  const server = await listen(app, cfg.WHATSAPP_PORT, { log, tls: tlsFiles(cfg) });
  log.info('whatsapp-ingress listening', { port: cfg.WHATSAPP_PORT, enabled: Boolean(adapter) });
  onShutdown(log, async () => {
    depths.stop();
    await closeServer(server);
    await producers.close();
    redis.disconnect();
    gatewayRedis.disconnect();
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`whatsapp-ingress: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
