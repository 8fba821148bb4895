import express, { type NextFunction, type Request, type Response } from 'express';
import { Counter, Histogram, type Registry } from 'prom-client';
import { mountOpsRoutes, readWebhookBody, type InboundEvent, type Logger } from '@switchboard/core';
import {
  createChatwootInboundAdapter,
  isMirrorInbox,
  normalizeChatwootWebhook,
  resolveMirroredRef,
  webhookConversation,
  MirrorStore,
  type ChatwootSettings,
} from '@switchboard/channel-chatwoot/inbound';
import { gatewayKeys, pingRedis, type Producers, type RedisClient, acceptCustomerMessages, type AcceptContext } from '@switchboard/queue';

/** What the Chatwoot ingress needs; built in main.ts or by tests. */
export interface ChatwootIngressDeps {
  log: Logger;
  registry: Registry;
  producers: Producers;
  /** Producer connection (fails fast): delivery dedupe and mirror mapping reads. */
  redis: RedisClient;
  prefix: string;
  settings: ChatwootSettings;
  /** Accepts customer messages into their mailboxes before the 200 (see the WhatsApp ingress). */
  accept?: AcceptContext;
  now?: () => number;
}

/** A delivery id is remembered this long (agent-bot retries come within seconds; a day is generous). */
const DELIVERY_TTL_SEC = 24 * 3600;
/** A message/event id is remembered this long (the pipeline-wide dedupe horizon). */
const EVENT_TTL_SEC = 7 * 24 * 3600;

function lowerHeaders(req: Request): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v[0] : v;
  return headers;
}

/**
 * Builds the Chatwoot ingress: verify → dedupe → normalize (bot gate) → enqueue → 200, well inside
 * Chatwoot's 5 s webhook timeout (a slow agent-bot webhook makes Chatwoot open the conversation).
 * No Chatwoot API calls happen here; mirror-inbox webhooks are mapped to their WhatsApp/WeChat
 * conversation through Redis.
 */
export function createChatwootIngressApp(deps: ChatwootIngressDeps): express.Express {
  const now = deps.now ?? Date.now;
  const { settings, log } = deps;
  const keys = gatewayKeys(deps.prefix);
  const store = new MirrorStore(deps.redis, deps.prefix);
  const adapter = createChatwootInboundAdapter({
    secrets: settings.webhookSecrets,
    windowSec: settings.signatureWindowSec,
    ...(settings.enabled ? { accountId: settings.accountId } : {}),
    ...(settings.enabled && settings.botId !== undefined ? { botId: settings.botId } : {}),
    ...(settings.enabled && settings.mirrorInboxId !== undefined ? { mirrorInboxId: settings.mirrorInboxId } : {}),
  });
  const parseOpts = {
    ...(settings.enabled ? { accountId: settings.accountId } : {}),
    ...(settings.enabled && settings.botId !== undefined ? { botId: settings.botId } : {}),
    ...(settings.enabled && settings.mirrorInboxId !== undefined ? { mirrorInboxId: settings.mirrorInboxId } : {}),
  };

  const registers = [deps.registry];
  const webhooks = new Counter({ name: 'sb_chatwoot_webhooks_total', help: 'Chatwoot webhooks by event and result', labelNames: ['event', 'result'], registers });
  const sigFailures = new Counter({ name: 'sb_chatwoot_signature_failures_total', help: 'Chatwoot webhooks refused for a bad or missing signature', registers });
  const enqueueLatency = new Histogram({
    name: 'sb_chatwoot_enqueue_seconds',
    help: 'Time to make a Chatwoot delivery durable in Redis',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers,
  });

  const app = express();
  app.disable('x-powered-by');
  mountOpsRoutes(app, { registry: deps.registry, checks: { redis: () => pingRedis(deps.redis) } });

  app.post('/webhooks/chatwoot', readWebhookBody({ limit: settings.maxBodyBytes }), async (req, res) => {
    if (!settings.enabled) {
      webhooks.inc({ event: 'unknown', result: 'disabled' });
      res.status(503).json({ error: 'chatwoot channel is not configured' });
      return;
    }
    const receivedAt = now();
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const headers = lowerHeaders(req);
    const verified = adapter.verify({ rawBody, headers, query: req.query as Record<string, string | undefined>, now: receivedAt, maxBodyBytes: settings.maxBodyBytes });
    if (!verified.ok) {
      if (verified.status === 401) sigFailures.inc();
      const result = verified.status === 401 ? 'bad_signature' : verified.status === 413 ? 'too_large' : verified.status === 415 ? 'unsupported_encoding' : 'bad_request';
      webhooks.inc({ event: 'unknown', result });
      log.warn('chatwoot webhook refused', { status: verified.status, reason: verified.reason });
      res.status(verified.status).json({ error: verified.reason });
      return;
    }
    const payload = verified.payload;
    const event = payload.event;
    const delivery = headers['x-chatwoot-delivery']?.trim().slice(0, 200);
    const deliveryKey = delivery ? keys.ns('cw', 'dlv', delivery) : undefined;
    const started = process.hrtime.bigint();
    try {
      // transport dedupe: an agent-bot retry carries the same delivery id. The delivery is only
      // marked once its events are durable (below): a claim taken before the enqueue would survive
      // a Redis outage and turn the retry of a lost delivery into a "duplicate". Concurrent copies
      // both enqueue; job ids and the inbound role's event claim keep that to one reply.
      if (deliveryKey && (await deps.redis.exists(deliveryKey)) === 1) {
        webhooks.inc({ event, result: 'duplicate_delivery' });
        res.status(200).json({ status: 'duplicate' });
        return;
      }
      let mirroredRef;
      const where = webhookConversation(payload);
      if (where && isMirrorInbox(where.inboxId, parseOpts)) {
        mirroredRef = await resolveMirroredRef(store, where.accountId ?? settings.accountId, where.conversationId, where.contactInboxSourceId);
      }
      const events = normalizeChatwootWebhook(payload, parseOpts, { receivedAt, ...(mirroredRef ? { mirroredRef } : {}) });
      const ignored = events.filter((e): e is Extract<InboundEvent, { kind: 'unsupported' }> => e.kind === 'unsupported');
      for (const e of ignored) log.info('chatwoot event acknowledged, not acted on', { event, eventId: e.eventId, reason: e.reason });
      const actionable = events.filter((e) => e.kind !== 'unsupported');
      // message-id dedupe: one message reaches us once per destination (bot and API inbox), each with its own delivery id
      const eventKeys = actionable.map((e) => keys.ns('cw', 'evt', e.eventId));
      const seen = eventKeys.length ? await deps.redis.mget(...eventKeys) : [];
      const fresh = actionable.filter((_e, i) => !seen[i]);
      if (fresh.length > 0) {
        const forConsumer = deps.accept ? await acceptCustomerMessages(deps.accept, fresh) : fresh;
        await deps.producers.enqueueBulk('inbound', forConsumer.map((e) => ({ data: e, opts: { jobId: e.eventId } })));
        const multi = deps.redis.multi();
        for (const e of fresh) multi.set(keys.ns('cw', 'evt', e.eventId), '1', 'EX', EVENT_TTL_SEC);
        await multi.exec();
      }
      if (deliveryKey) await deps.redis.set(deliveryKey, '1', 'EX', DELIVERY_TTL_SEC);
      enqueueLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
      const result = fresh.length > 0 ? 'enqueued' : actionable.length > 0 ? 'duplicate_message' : 'ignored';
      webhooks.inc({ event, result });
      if (fresh.length > 0) log.info('chatwoot webhook enqueued', { event, events: fresh.map((e) => ({ eventId: e.eventId, kind: e.kind })) });
      res.status(200).json({ status: result, enqueued: fresh.length });
    } catch (err: unknown) {
      // Redis is away: nothing was marked, so Chatwoot's retry (or a resend) is processed; say 503
      webhooks.inc({ event, result: 'unavailable' });
      log.error('chatwoot enqueue failed', { event, err: err instanceof Error ? err.message : String(err) });
      res.status(503).json({ error: 'temporarily unavailable' });
    }
  });

  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const e = err as { type?: string; status?: number };
    if (res.headersSent) {
      next(err);
      return;
    }
    if (e.type === 'entity.too.large' || e.status === 413) {
      webhooks.inc({ event: 'unknown', result: 'too_large' });
      res.status(413).json({ error: 'body too large' });
      return;
    }
    if (e.status === 415) {
      webhooks.inc({ event: 'unknown', result: 'unsupported_encoding' });
      res.status(415).json({ error: 'unsupported content encoding' });
      return;
    }
    if (e.status && e.status >= 400 && e.status < 500) {
      res.status(400).json({ error: 'malformed request' });
      return;
    }
    log.error('unhandled request error', { err: err instanceof Error ? err.message : String(err) });
    res.status(500).json({ error: 'internal error' });
  });
  return app;
}
