import express, { type NextFunction, type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import { createIngressMetrics, mountOpsRoutes, type InboundAdapter, type InboundEvent, type Logger } from '@switchboard/core';
import type { Producers, RedisClient, AcceptContext } from '@switchboard/queue';
import { acceptCustomerMessages, pingRedis } from '@switchboard/queue';

/** What the Telegram ingress needs; built in main.ts or by tests. */
export interface TelegramIngressDeps {
  log: Logger;
  registry: Registry;
  producers: Producers;
  redis: RedisClient;
  /** undefined = channel disabled (no token): updates answer 503 so Telegram keeps them. */
  adapter: InboundAdapter<unknown> | undefined;
  /**
   * Where customer messages are accepted before the 200 (mailbox append + turn scheduling), so a
   * conversation's order is the order of acceptance. Without it the inbound consumer does it.
   */
  accept?: AcceptContext;
  /** A Telegram update is small; files are never in the body (1 MB leaves room for long texts and entities). */
  bodyLimit?: string;
  now?: () => number;
}

const CHANNEL = 'telegram';

/**
 * Builds the Telegram ingress: secret header → parse → enqueue → respond, nothing else in the
 * request. `POST /webhooks/telegram` serves the default account (`/webhooks/telegram/default` too);
 * other account ids answer 404 until accounts are configurable.
 */
export function createTelegramIngressApp(deps: TelegramIngressDeps): express.Express {
  const now = deps.now ?? Date.now;
  const { deliveries, events: eventsIn, signatureFailures: sigFailures, enqueueSeconds: enqueueLatency } = createIngressMetrics(deps.registry);

  const app = express();
  app.disable('x-powered-by');
  mountOpsRoutes(app, { registry: deps.registry, checks: { redis: () => pingRedis(deps.redis) } });

  const handle = async (req: Request, res: Response) => {
    const account = (req.params as { account?: string }).account;
    if (account !== undefined && account !== 'default') {
      res.status(404).json({ error: 'unknown account' });
      return;
    }
    const adapter = deps.adapter;
    if (!adapter) {
      deliveries.inc({ channel: CHANNEL, result: 'disabled' });
      res.status(503).json({ error: 'telegram channel is not configured' });
      return;
    }
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v[0] : v;
    const verified = adapter.verify({ rawBody, headers, query: req.query as Record<string, string | undefined>, now: now() });
    if (!verified.ok) {
      if (verified.status !== 400) sigFailures.inc({ channel: CHANNEL, reason: verified.reason });
      deliveries.inc({ channel: CHANNEL, result: verified.status === 400 ? 'bad_request' : 'bad_signature' });
      deps.log.warn('webhook refused', { channel: CHANNEL, status: verified.status, reason: verified.reason });
      res.status(verified.status).json({ error: verified.reason });
      return;
    }
    let events: InboundEvent[];
    try {
      events = adapter.parse(verified.payload, { receivedAt: now() });
    } catch (err) {
      // parse never throws by contract; if it does, keep the update (503 → Telegram redelivers) and say why
      deps.log.error('parse failed', { channel: CHANNEL, err: err instanceof Error ? err.message : String(err) });
      res.status(503).json({ error: 'could not parse update' });
      return;
    }
    const started = process.hrtime.bigint();
    try {
      const forConsumer = deps.accept ? await acceptCustomerMessages(deps.accept, events) : events;
      // job id = tg-<bot>-<update_id>: a redelivered update is the same job, enqueued once
      await deps.producers.enqueueBulk('inbound', forConsumer.map((e) => ({ data: e, opts: { jobId: e.eventId } })));
    } catch (err) {
      deliveries.inc({ channel: CHANNEL, result: 'unavailable' });
      deps.log.error('enqueue failed, asking Telegram to redeliver', { channel: CHANNEL, err: err instanceof Error ? err.message : String(err) });
      res.status(503).json({ error: 'temporarily unavailable' });
      return;
    }
    enqueueLatency.observe({ channel: CHANNEL }, Number(process.hrtime.bigint() - started) / 1e9);
    for (const e of events) {
      const type = e.kind === 'message' ? e.content.type : e.kind === 'status' ? e.status : e.kind === 'unsupported' ? e.providerType : e.signal;
      eventsIn.inc({ channel: CHANNEL, kind: e.kind, type });
      if (e.kind === 'unsupported') deps.log.info('unsupported event acknowledged', { channel: CHANNEL, eventId: e.eventId, providerType: e.providerType, reason: e.reason });
    }
    deliveries.inc({ channel: CHANNEL, result: 'accepted' });
    res.status(200).json({ ok: true });
  };
  const body = express.raw({ type: () => true, limit: deps.bodyLimit ?? '1mb' });
  app.post('/webhooks/telegram', body, handle);
  app.post('/webhooks/telegram/:account', body, handle);

  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const e = err as { type?: string; status?: number };
    if (res.headersSent) return next(err);
    if (e.type === 'entity.too.large' || e.status === 413) {
      deliveries.inc({ channel: CHANNEL, result: 'too_large' });
      res.status(413).json({ error: 'body too large' });
      return;
    }
    if (e.status && e.status >= 400 && e.status < 500) {
      res.status(400).json({ error: 'malformed request' });
      return;
    }
    deps.log.error('unhandled request error', { err: err instanceof Error ? err.message : String(err) });
    res.status(500).json({ error: 'internal error' });
  });
  return app;
}
