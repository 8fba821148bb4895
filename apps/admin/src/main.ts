import {
  closeServer,
  createLogger,
  createMetricsRegistry,
  listen,
  loadConfig,
  onShutdown,
  readDotenvFile,
  tlsFiles,
} from '@switchboard/core';
import { Embedder, KnowledgeBase, KnowledgeRepo } from '@switchboard/knowledge';
import { createRedis, gatewayKeys, Producers, waitReady } from '@switchboard/queue';
import { openStore, type Store } from '@switchboard/store';
import { CustomerErasure, RecordAnalytics, RecordReader } from '@switchboard/record';
import { PeopleDirectory } from '@switchboard/people';
import { broadcastTemplatePreparers, CHANNELS, customerServiceWindows, openChannelMessaging, openTemplateCatalogues } from '@switchboard/channels';
import { parseApiKeys } from './api/api.js';
import { parseApiKeyScopes } from './api/scopes.js';
import { createAdminApp } from './app.js';
import { createPreviewAgents } from './api/preview-agents.js';
import { adminEnv, AUTH_OFF_WARNING, previewConfigEnv, readAccountsForConsole, resolveAdminAuth, resolveSandboxSettings } from './env.js';
import { loadOfflineCoverage } from './sandbox/faq-topics.js';
import { createSandbox, type SandboxOptions } from './sandbox/sandbox.js';

/** Composition root of the admin app (port ADMIN_PORT, default 3000). */
async function main(): Promise<void> {
  readDotenvFile();
  const cfg = loadConfig(adminEnv);
  const log = createLogger({ service: 'admin', level: cfg.LOG_LEVEL, showText: cfg.LOG_SHOW_TEXT });
  const auth = resolveAdminAuth(cfg);
  // refuses SANDBOX=on under NODE_ENV=production or next to real channel credentials, before anything starts
  const settings = resolveSandboxSettings(cfg);
  // read once: account changes are picked up on restart, like every other process
  const accountsFile = readAccountsForConsole(cfg.ACCOUNTS_FILE);
  if (!auth) log.warn(AUTH_OFF_WARNING, { port: cfg.ADMIN_PORT });
  const apiKeys = parseApiKeys(cfg.API_KEYS);
  const apiKeyScopes = parseApiKeyScopes(cfg.API_KEY_SCOPES, apiKeys);
  if (apiKeys.length === 0) log.warn('HTTP API disabled: API_KEYS is not set, so /api/v1/* answers 401 to every request');
  else log.info('HTTP API enabled', { keys: apiKeys.map((k) => `${k.name}:${(apiKeyScopes.get(k.name) ?? []).join('+')}`), rateLimitPerMinute: cfg.API_RATE_LIMIT || 'off' });
  let store: Store | undefined;
  let knowledge: KnowledgeBase | undefined;
  let analytics: RecordAnalytics | undefined;
  if (cfg.DATABASE_URL) {
    store = await openStore({ url: cfg.DATABASE_URL, log, poolMax: cfg.DATABASE_POOL_MAX });
    const embedder = cfg.OPENAI_API_KEY ? new Embedder(store.db, { apiKey: cfg.OPENAI_API_KEY, baseURL: cfg.OPENAI_BASE_URL, model: cfg.EMBEDDING_MODEL, dimensions: cfg.EMBEDDING_DIMENSIONS }) : undefined;
    knowledge = new KnowledgeBase(new KnowledgeRepo(store.db, store.vector.mode), embedder);
    analytics = new RecordAnalytics(store.db);
    log.info('knowledge routes enabled', { search: knowledge.mode, ...(embedder ? { embeddingModel: cfg.EMBEDDING_MODEL, dimensions: cfg.EMBEDDING_DIMENSIONS } : { reason: 'OPENAI_API_KEY unset: full-text search only' }) });
  } else {
    log.warn('knowledge and the record disabled: DATABASE_URL is not set, so /api/v1/knowledge/*, /api/v1/conversations, /api/v1/export, /api/v1/analytics, /admin/knowledge, /admin/conversations and /admin/analytics answer 503 store_unavailable');
  }
  const redis = createRedis(cfg.REDIS_URL, 'producer');
  redis.on('error', (err: Error) => log.warn('redis connection error', { err: err.message }));
  await waitReady(redis, 5000).catch(() => log.warn('redis not reachable yet; pages answer 503 until it is'));
  const producers = new Producers(redis, cfg.QUEUE_PREFIX);
  // the workers sync the catalogues on their schedule; the API reads the cache and syncs only when it is empty
  const templates = openTemplateCatalogues({ env: cfg, accountsFile, redis, keys: gatewayKeys(cfg.QUEUE_PREFIX).templates, log });
  const channelMessaging = openChannelMessaging({ env: cfg, accountsFile, context: { redis, prefix: cfg.QUEUE_PREFIX, keys: gatewayKeys(cfg.QUEUE_PREFIX), log } });
  const registry = createMetricsRegistry({ service: 'admin' });
  const erasure = store ? new CustomerErasure({ redis, prefix: cfg.QUEUE_PREFIX, db: store.db, producers, log, registry, identifierKindOf: (channel) => CHANNELS[channel].customerIdKind }) : undefined;

  let sandbox;
  if (settings) {
    const opts: SandboxOptions = { log, redis, producers, prefix: cfg.QUEUE_PREFIX, agentOnline: settings.agentOnline };
    const offline = settings.agentOnline ? undefined : loadOfflineCoverage(cfg.AGENT_CONFIG, log);
    if (offline) opts.offline = offline;
    if (settings.whatsapp) opts.whatsapp = settings.whatsapp;
    else log.info('sandbox: WhatsApp is not faked (real credentials, or no SANDBOX_WHATSAPP_APP_SECRET / SANDBOX_WHATSAPP_ACCESS_TOKEN)');
    if (settings.wechat) opts.wechat = settings.wechat;
    else log.info('sandbox: WeChat is not faked (real credentials, or no SANDBOX_WECHAT_TOKEN / _AESKEY / _CORP_ID / _SECRET)');
    if (settings.telegram) opts.telegram = settings.telegram;
    else log.info('sandbox: Telegram is not faked (real credentials, or no SANDBOX_TELEGRAM_BOT_TOKEN / _WEBHOOK_SECRET)');
    sandbox = createSandbox(opts);
    log.info('sandbox enabled', { url: `http://localhost:${cfg.ADMIN_PORT}/sandbox`, agent: opts.agentOnline ? 'online' : 'offline (FAQ)', whatsapp: Boolean(opts.whatsapp), wechat: Boolean(opts.wechat), telegram: Boolean(opts.telegram), prefix: cfg.QUEUE_PREFIX });
  }

  // the console's answer preview: the workers' agent (same configuration files, same knowledge base), run without side effects
  const previewAgents = createPreviewAgents({
    env: { OPENAI_API_KEY: cfg.OPENAI_API_KEY, OPENAI_BASE_URL: cfg.OPENAI_BASE_URL, LLM_MODEL: cfg.LLM_MODEL, LLM_TIMEOUT_MS: cfg.LLM_TIMEOUT_MS, AGENT_CONFIG: cfg.AGENT_CONFIG, VISION_MODEL: cfg.VISION_MODEL },
    redis,
    prefix: cfg.QUEUE_PREFIX,
    log,
    knowledge,
    accountsFile,
    configEnv: previewConfigEnv(),
  });
  const app = createAdminApp({ previewAgents, serviceWindows: customerServiceWindows(), broadcastTemplates: broadcastTemplatePreparers(templates), channelMessaging, log, registry, redis, producers, prefix: cfg.QUEUE_PREFIX, auth, ...(sandbox ? { sandbox } : {}), ...(accountsFile ? { accountsFile } : {}), apiKeys, apiKeyScopes, apiRateLimit: cfg.API_RATE_LIMIT, ...(knowledge ? { knowledge } : {}), ...(analytics ? { analytics } : {}), ...(erasure ? { erasure } : {}), ...(templates ? { templates } : {}), maxUploadBytes: cfg.KNOWLEDGE_MAX_UPLOAD_BYTES, ...(store ? { storeReadiness: store.readiness, record: new RecordReader(store.db), people: new PeopleDirectory(store.db) } : {}) });
  const server = await listen(app, cfg.ADMIN_PORT, { log, tls: tlsFiles(cfg) });
  log.info('admin listening', { port: cfg.ADMIN_PORT, board: '/admin/queues', auth: auth ? 'basic' : 'off', sandbox: Boolean(sandbox), accounts: accountsFile ? accountsFile.entries.map((a) => `${a.channel}/${a.id}`) : [] });
  onShutdown(log, async () => {
    await closeServer(server, 5000);
    await producers.close();
    await store?.close();
    redis.disconnect();
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`admin: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
