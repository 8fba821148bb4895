import { baseEnv, closeServer, ConfigError, createLogger, createMetricsRegistry, listen, loadConfig, onShutdown, readDotenvFile, tlsFiles, type Logger } from '@switchboard/core';
import { botIdFromToken, createTelegramInboundAdapter, telegramEnv } from '@switchboard/channel-telegram/inbound';
import { TelegramClient } from '@switchboard/channel-telegram/outbound';
import { acceptEnv, backlogEnv, createRedis, exportQueueDepths, Mailbox, Producers, waitReady } from '@switchboard/queue';
import { createTelegramIngressApp } from './app.js';

/** The bot's @username for group mentions: configured, or asked once with getMe (a failure only disables mention detection). */
async function botUsername(cfg: { TELEGRAM_API_URL: string; TELEGRAM_BOT_USERNAME?: string | undefined }, token: string, log: Logger): Promise<string | undefined> {
  if (cfg.TELEGRAM_BOT_USERNAME) return cfg.TELEGRAM_BOT_USERNAME;
  try {
    return (await new TelegramClient({ apiUrl: cfg.TELEGRAM_API_URL, token, timeoutMs: 5000 }).getMe()).username;
  } catch (err) {
    log.warn('getMe failed: group mentions by @username are not recognised until TELEGRAM_BOT_USERNAME is set', { err: err instanceof Error ? err.message : String(err) });
    return undefined;
  }
}

async function main(): Promise<void> {
  readDotenvFile();
  const cfg = loadConfig({ ...baseEnv, ...telegramEnv, ...acceptEnv, ...backlogEnv });
  const log = createLogger({ service: 'telegram-ingress', level: cfg.LOG_LEVEL, showText: cfg.LOG_SHOW_TEXT });
  let adapter;
  const token = cfg.TELEGRAM_BOT_TOKEN;
  if (!token) {
    log.warn('Telegram channel disabled: set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET to enable it');
  } else {
    if (!cfg.TELEGRAM_WEBHOOK_SECRET) throw new ConfigError(['TELEGRAM_WEBHOOK_SECRET: required with TELEGRAM_BOT_TOKEN (the secret_token of setWebhook)']);
    const username = await botUsername(cfg, token, log);
    adapter = createTelegramInboundAdapter({ webhookSecret: cfg.TELEGRAM_WEBHOOK_SECRET, botId: botIdFromToken(token), groupMode: cfg.TELEGRAM_GROUP_MODE, ...(username ? { botUsername: username } : {}) });
  }
  const redis = createRedis(cfg.REDIS_URL, 'producer');
  redis.on('error', (err: Error) => log.warn('redis connection error', { err: err.message }));
  await waitReady(redis, 5000).catch(() => log.warn('redis not reachable yet; webhooks answer 503 until it is'));
  const producers = new Producers(redis, cfg.QUEUE_PREFIX);
  const registry = createMetricsRegistry({ service: 'telegram-ingress' });
  const depths = exportQueueDepths(registry, producers, { alertThreshold: cfg.BACKLOG_ALERT_THRESHOLD, log });
  const gatewayRedis = createRedis(cfg.REDIS_URL, 'producer', { autoPipelining: true });
  gatewayRedis.on('error', () => undefined);
  const accept = { mailbox: new Mailbox(gatewayRedis, cfg.QUEUE_PREFIX), producers, redis: gatewayRedis, prefix: cfg.QUEUE_PREFIX, debounceMs: cfg.TURN_DEBOUNCE_MS, maxMessageAgeSec: cfg.INBOUND_MAX_AGE_SEC };
  const app = createTelegramIngressApp({ log, registry, producers, redis, adapter, accept });
  const server = await listen(app, cfg.TELEGRAM_PORT, { log, tls: tlsFiles(cfg) });
  log.info('telegram-ingress listening', { port: cfg.TELEGRAM_PORT, enabled: Boolean(adapter) });
  onShutdown(log, async () => {
    depths.stop();
    await closeServer(server);
    await producers.close();
    redis.disconnect();
    gatewayRedis.disconnect();
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`telegram-ingress: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
