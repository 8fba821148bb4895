import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { resolve } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { Gauge, type Registry } from 'prom-client';
import { DEFAULT_ACCOUNT_ID, mountOpsRoutes, QUEUES, type AccountsFile, type ChannelId, type ChannelMessaging, type CustomerServiceWindow, type Logger, type QueueName } from '@switchboard/core';
import { listHumanOwned, OptOutStore, pingRedis, type Producers, type RedisClient } from '@switchboard/queue';
import { basicAuth, type AdminCredentials } from './auth.js';
import { buildOverview, renderOverviewHtml } from './overview.js';
import { loopbackHostOnly, securityHeaders } from './security.js';
import type { Sandbox } from './sandbox/sandbox.js';
import type { KnowledgeBase } from '@switchboard/knowledge';
import { apiAuth, apiFallbacks, sendApiError, type ApiKey } from './api/api.js';
import { apiKeyControls } from './api/key-controls.js';
import { keysRouter } from './api/keys.routes.js';
import { docsRouter } from './api/docs.routes.js';
import { API_OPERATIONS } from './api/operations.js';
import { scopeResolver } from './api/openapi.js';
import { parseApiKeyScopes, type KeyScopes } from './api/scopes.js';
import { knowledgeRouter } from './api/knowledge.routes.js';
import { customersRouter } from './api/customers.routes.js';
import { peopleRouter } from './api/people.routes.js';
import type { PeopleDirectory } from '@switchboard/people';
import type { PreviewAgents } from './api/preview-agents.js';
import { agentKeys, UnansweredQuestions } from '@switchboard/agent';
import { conversationsRouter } from './api/conversations.routes.js';
import { conversationActionsRouter, conversationControlRouter } from './api/conversation-actions.routes.js';
import { messagesRouter, optedOutGuard, type MessageGuard } from './api/messages.routes.js';
import { analyticsRouter } from './api/analytics.routes.js';
import { templatesRouter, type TemplateCatalogues } from './api/templates.routes.js';
import { broadcastsRouter, type BroadcastTemplatePreparer } from './api/broadcasts.routes.js';
import { analyticsConsole } from './analytics.console.js';
import type { CustomerErasure, RecordAnalytics, RecordReader } from '@switchboard/record';

/** What the admin app needs; built in main.ts or by tests. */
export interface AdminDeps {
  log: Logger;
  registry: Registry;
  /** A connection that fails fast, so the pages answer quickly while Redis is away. */
  redis: RedisClient;
  producers: Producers;
  prefix: string;
  /** undefined = authentication disabled (ADMIN_AUTH=off, local only). */
  auth: AdminCredentials | undefined;
  /** The local chat simulator and its fake provider APIs (undefined = not served). */
  sandbox?: Sandbox;
  /** Bull Board read-only mode (no retry/clean/promote buttons). */
  readOnly?: boolean;
  /** `ACCOUNTS_FILE` as read at start (see `readAccountsForConsole`): the overview lists its accounts, never a setting. */
  accountsFile?: AccountsFile;
  /** Keys of the HTTP API (`API_KEYS`); none = `/api/v1/*` answers 401 to everything. */
  apiKeys?: readonly ApiKey[];
  /** Each key's scopes (`API_KEY_SCOPES`, see `parseApiKeyScopes`); absent = every key has every scope. */
  apiKeyScopes?: KeyScopes;
  /** Requests per minute per API key (`API_RATE_LIMIT`); absent or 0 = no limit. */
  apiRateLimit?: number;
  /** The knowledge base on the store (undefined = no `DATABASE_URL`: the knowledge routes answer 503). */
  knowledge?: KnowledgeBase;
  /** The erasure procedure on the store (undefined = no `DATABASE_URL`: the erasure route answers 503). */
  erasure?: CustomerErasure;
  /** The directory of known people on the store (undefined = no `DATABASE_URL`: the people routes answer 503). */
  people?: PeopleDirectory;
  /** The record on the store (undefined = no `DATABASE_URL`: the conversation and export routes answer 503). */
  record?: RecordReader;
  /** Largest knowledge upload (bytes; default 20 MB). */
  maxUploadBytes?: number;
  /** Analytics of the record on the store (undefined = no `DATABASE_URL`: the analytics routes answer 503). */
  analytics?: RecordAnalytics;
  /** The agents of the console's answer previews (`POST …/knowledge/preview`); absent = 503. */
  previewAgents?: PreviewAgents;
  /** The WhatsApp template catalogues (`GET /api/v1/templates`); absent = 503. */
  templates?: TemplateCatalogues;
  /** `/readyz` check of the store, when one is open. */
  storeReadiness?: () => Promise<string | undefined>;
  /** Where the console's static files live (default `apps/admin/public`). */
  publicDir?: string;
  /** Each channel's customer-service window (`customerServiceWindows()` of the channel registry); absent = none enforced. */
  serviceWindows?: Readonly<Partial<Record<ChannelId, CustomerServiceWindow>>>;
  /** Extra refusals of `POST /api/v1/messages` (opt-outs), run before a message is queued. */
  messageGuards?: readonly MessageGuard[];
  /** The template check of each channel with templates (`broadcastTemplatePreparers()` of the channel registry); absent = broadcasts answer 422 unsupported. */
  broadcastTemplates?: Readonly<Partial<Record<ChannelId, BroadcastTemplatePreparer>>>;
  /** Each channel's messaging half (`openChannelMessaging()` of the channel registry): templates, own limits, new conversations; absent = none. */
  channelMessaging?: Readonly<Partial<Record<ChannelId, ChannelMessaging>>>;
}

export const BOARD_PATH = '/admin/queues';

function registerQueueMetrics(deps: AdminDeps): void {
  const names = Object.keys(QUEUES) as QueueName[];
  new Gauge({
    name: 'sb_queue_jobs',
    help: 'Jobs per queue and state (read on scrape)',
    labelNames: ['queue', 'state'],
    registers: [deps.registry],
    async collect() {
      const counts = await Promise.all(names.map((n) => deps.producers.queue(n).getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized')));
      this.reset();
      counts.forEach((c, i) => {
        for (const [state, value] of Object.entries(c)) this.set({ queue: names[i]!, state }, value);
      });
    },
  });
  new Gauge({
    name: 'sb_conversations_human_owned',
    help: 'Conversations currently handed to a human',
    registers: [deps.registry],
    async collect() {
      this.set((await listHumanOwned(deps.redis, deps.prefix, 10_000)).length);
    },
  });
}

/**
 * The admin app: Bull Board at `/admin/queues` and the overview at `/admin` (both behind basic
 * auth), ops routes, and — when enabled — the sandbox at `/sandbox` with its fake provider APIs.
 */
export function createAdminApp(deps: AdminDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  if (!deps.auth) app.use(loopbackHostOnly());
  app.use(securityHeaders());
  registerQueueMetrics(deps);
  mountOpsRoutes(app, { registry: deps.registry, checks: { redis: () => pingRedis(deps.redis), ...(deps.storeReadiness ? { store: deps.storeReadiness } : {}) } });

  const guard = deps.auth ? basicAuth(deps.auth) : (_req: Request, _res: Response, next: NextFunction) => next();

  const board = new ExpressAdapter();
  board.setBasePath(BOARD_PATH);
  createBullBoard({
    queues: (Object.keys(QUEUES) as QueueName[]).map((name) => new BullMQAdapter(deps.producers.queue(name), { readOnlyMode: deps.readOnly ?? false })),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'Switchboard' } },
  });
  app.use(BOARD_PATH, guard, board.getRouter() as express.Router);

  app.get('/admin/overview.json', guard, async (_req, res, next) => {
    try {
      res.set('Cache-Control', 'no-store').json(await buildOverview(deps.producers, deps.redis, deps.prefix, Date.now(), deps.accountsFile));
    } catch (err) {
      next(err);
    }
  });
  app.get('/admin', guard, async (_req, res, next) => {
    try {
      const o = await buildOverview(deps.producers, deps.redis, deps.prefix, Date.now(), deps.accountsFile);
      res.set('Cache-Control', 'no-store').type('html').send(renderOverviewHtml(o, { sandbox: Boolean(deps.sandbox) }));
    } catch (err) {
      next(err);
    }
  });
  app.get('/', (_req, res) => res.redirect(deps.sandbox ? '/sandbox' : '/admin'));

  const fallbacks = apiFallbacks(deps.log);
  const answers = {
    unanswered: new UnansweredQuestions(deps.redis, agentKeys(deps.prefix)),
    agents: deps.previewAgents,
    accounts: () => deps.previewAgents?.accounts() ?? [...new Set([DEFAULT_ACCOUNT_ID, ...(deps.accountsFile?.entries.map((e) => e.id) ?? [])])],
  };
  const kbRoutes = knowledgeRouter({ kb: deps.knowledge, producers: deps.producers, maxUploadBytes: deps.maxUploadBytes ?? 20 * 1024 * 1024, answers });
  const publicDir = deps.publicDir ?? resolve(__dirname, '..', 'public');
  const apiKeys = deps.apiKeys ?? [];
  const apiKeyScopes = deps.apiKeyScopes ?? parseApiKeyScopes(undefined, apiKeys);
  // the API's description needs no key
  app.use(docsRouter({ operations: API_OPERATIONS, publicDir, version: '1' }));
  app.use('/api/v1', apiAuth(apiKeys, deps.log), apiKeyControls({ redis: deps.redis, prefix: deps.prefix, log: deps.log, scopes: apiKeyScopes, rateLimitPerMinute: deps.apiRateLimit ?? 0, scopeOf: scopeResolver(API_OPERATIONS) }));
  app.use('/api/v1', keysRouter({ keys: apiKeys, scopes: apiKeyScopes, redis: deps.redis, prefix: deps.prefix, log: deps.log }));
  app.use('/api/v1/knowledge', kbRoutes);
  const analyticsRoutes = analyticsRouter({ analytics: deps.analytics });
  app.use('/api/v1', analyticsRoutes);
  app.use('/api/v1/customers', customersRouter({ erasure: deps.erasure }));
  app.use('/api/v1/people', peopleRouter({ directory: deps.people }));
  app.use('/api/v1/messages', messagesRouter({ redis: deps.redis, producers: deps.producers, prefix: deps.prefix, log: deps.log, windows: deps.serviceWindows ?? {}, ...(deps.channelMessaging ? { messaging: deps.channelMessaging } : {}), guards: [optedOutGuard(new OptOutStore(deps.redis, deps.prefix)), ...(deps.messageGuards ?? [])] }));
  app.use('/api/v1/broadcasts', broadcastsRouter({ redis: deps.redis, producers: deps.producers, prefix: deps.prefix, log: deps.log, templates: deps.broadcastTemplates ?? {} }));
  const recordRoutes = conversationsRouter({ record: deps.record, log: deps.log });
  app.use('/api/v1', recordRoutes);
  app.use('/api/v1', conversationControlRouter({ record: deps.record, redis: deps.redis, producers: deps.producers, prefix: deps.prefix, log: deps.log }));
  app.use('/api/v1', templatesRouter({ templates: deps.templates }));
  app.use('/api/v1', fallbacks.notFound, fallbacks.errors);

  // the console: a static page (scripts and styles as files, CSP 'self') over the same routes behind basic auth
  app.get('/admin/knowledge', guard, (_req, res) => {
    res.set('Cache-Control', 'no-store').sendFile(resolve(publicDir, 'knowledge', 'index.html'));
  });
  app.use('/admin/knowledge/assets', guard, express.static(resolve(publicDir, 'knowledge'), { index: false, maxAge: 0 }));
  // basic auth rides along on cross-site requests: the console's own header needs a CORS preflight no other site passes
  const consoleWrites = (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.get('x-switchboard-console') !== '1') {
      sendApiError(res, 403, 'forbidden', 'console requests carry X-Switchboard-Console: 1');
      return;
    }
    next();
  };
  app.use('/admin/knowledge/api', guard, consoleWrites, kbRoutes, fallbacks.errors);

  // the conversation console: a list page and a timeline page over the record routes, plus the actions
  app.get('/admin/conversations', guard, (_req, res) => {
    res.set('Cache-Control', 'no-store').sendFile(resolve(publicDir, 'conversations', 'index.html'));
  });
  app.use('/admin/conversations/assets', guard, express.static(resolve(publicDir, 'conversations'), { index: false, maxAge: 0 }));
  app.use(
    '/admin/conversations/api',
    guard,
    consoleWrites,
    recordRoutes,
    conversationActionsRouter({ record: deps.record, redis: deps.redis, producers: deps.producers, prefix: deps.prefix, log: deps.log }),
    fallbacks.notFound,
    fallbacks.errors,
  );
  app.get('/admin/conversations/:id', guard, (_req, res) => {
    res.set('Cache-Control', 'no-store').sendFile(resolve(publicDir, 'conversations', 'conversation.html'));
  });

  app.use(analyticsConsole({ guard, publicDir, routes: analyticsRoutes, errors: fallbacks.errors }));

  if (deps.sandbox) {
    // the fake provider APIs authenticate like the real ones (bearer token, corp secret), not with basic auth
    if (deps.sandbox.graph) app.use('/sandbox/graph', deps.sandbox.graph);
    if (deps.sandbox.wecom) app.use('/sandbox/wecom', deps.sandbox.wecom);
    if (deps.sandbox.telegram) app.use('/sandbox/telegram', deps.sandbox.telegram);
    app.use('/sandbox', guard, deps.sandbox.ui);
  } else {
    // outside sandbox mode nothing answers like a provider (or a sandbox) does
    app.use('/sandbox', (_req, res) => {
      res.status(404).type('text/plain').send('not found (the sandbox is off)');
    });
  }

  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const e = err as { status?: number; type?: string };
    if (e.type === 'entity.too.large') {
      res.status(413).json({ error: 'body too large' });
      return;
    }
    if (e.status && e.status >= 400 && e.status < 500) {
      res.status(e.status).json({ error: 'bad request' });
      return;
    }
    deps.log.error('admin request failed', { err: err instanceof Error ? err.message : String(err) });
    res.status(503).json({ error: 'unavailable' });
  });
  return app;
}
