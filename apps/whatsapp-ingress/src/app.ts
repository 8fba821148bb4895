import express, { type NextFunction, type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import { bodyLimitBytes, createIngressMetrics, mountOpsRoutes, readWebhookBody, type InboundAdapter, type InboundEvent, type Logger } from '@switchboard/core';
import { verifySubscription } from '@switchboard/channel-whatsapp/inbound';
import type { Producers, RedisClient, AcceptContext, DeliveryLedger } from '@switchboard/queue';
import { acceptCustomerMessages, acknowledgeSentParts, pingRedis } from '@switchboard/queue';

/** What the WhatsApp ingress needs; built in main.ts or by tests. */
export interface WhatsAppIngressDeps {
  log: Logger;
  registry: Registry;
  producers: Producers;
  redis: RedisClient;
  /** undefined = channel disabled (no credentials): webhooks answer 503 so Meta keeps them. */
  adapter: InboundAdapter<unknown> | undefined;
  verifyToken: string | undefined;
  /**
   * Where customer messages are accepted before the 200 (mailbox append + turn scheduling), so a
   * conversation's order is the order of acceptance. Without it the inbound consumer does it.
   */
  accept?: AcceptContext;
  /** Where statuses acknowledge sent parts before the 200 (see `acknowledgeSentParts`). */
  ledger?: DeliveryLedger;
  /** Meta payloads reach 3 MB; an inflated gzip/deflate body is held to the same limit. */
  bodyLimit?: string;
  now?: () => number;
}

/** The `sb_webhook_deliveries_total` result of a refusal that is not about the signature. */
function refusalResult(status: number): string {
  return status === 413 ? 'too_large' : status === 415 ? 'unsupported_encoding' : 'bad_request';
}

/** Builds the WhatsApp ingress: verify → parse → enqueue → respond, nothing else in the request. */
export function createWhatsAppIngressApp(deps: WhatsAppIngressDeps): express.Express {
  const now = deps.now ?? Date.now;
  const { deliveries, events: eventsIn, signatureFailures: sigFailures, enqueueSeconds: enqueueLatency } = createIngressMetrics(deps.registry);

  const app = express();
  app.disable('x-powered-by');
  mountOpsRoutes(app, { registry: deps.registry, checks: { redis: () => pingRedis(deps.redis) } });

  app.get('/webhooks/whatsapp', (req, res) => {
    const challenge = deps.verifyToken ? verifySubscription(req.query, deps.verifyToken) : undefined;
    if (challenge === undefined) {
      deps.log.warn('webhook verification refused', { channel: 'whatsapp' });
      res.status(403).type('text/plain').send('verification failed');
      return;
    }
    res.status(200).type('text/plain').send(challenge);
  });

  const bodyLimit = deps.bodyLimit ?? '3mb';
  const maxBodyBytes = bodyLimitBytes(bodyLimit);
  app.post('/webhooks/whatsapp', readWebhookBody({ limit: bodyLimit }), async (req, res) => {
    const adapter = deps.adapter;
    if (!adapter) {
      deliveries.inc({ channel: 'whatsapp', result: 'disabled' });
      res.status(503).json({ error: 'whatsapp channel is not configured' });
      return;
    }
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v[0] : v;
    const verified = adapter.verify({ rawBody, headers, query: req.query as Record<string, string | undefined>, now: now(), maxBodyBytes });
    if (!verified.ok) {
      const badSignature = verified.status === 401 || verified.status === 403;
      if (badSignature) sigFailures.inc({ channel: 'whatsapp', reason: verified.reason });
      deliveries.inc({ channel: 'whatsapp', result: badSignature ? 'bad_signature' : refusalResult(verified.status) });
      deps.log.warn('webhook refused', { channel: 'whatsapp', status: verified.status, reason: verified.reason });
      res.status(verified.status).json({ error: verified.reason });
      return;
    }
    let events: InboundEvent[];
    try {
      events = adapter.parse(verified.payload, { receivedAt: now() });
    } catch (err) {
      // parse never throws by contract; if it does, keep the delivery (503 → Meta redelivers) and say why
      deps.log.error('parse failed', { channel: 'whatsapp', err: err instanceof Error ? err.message : String(err) });
      res.status(503).json({ error: 'could not parse delivery' });
      return;
    }
    const started = process.hrtime.bigint();
    try {
      const forConsumer = deps.accept ? await acceptCustomerMessages(deps.accept, events) : events;
      if (deps.ledger) await acknowledgeSentParts(deps.ledger, events);
      await deps.producers.enqueueBulk('inbound', forConsumer.map((e) => ({ data: e, opts: { jobId: e.eventId } })));
    } catch (err) {
      deliveries.inc({ channel: 'whatsapp', result: 'unavailable' });
      deps.log.error('enqueue failed, asking Meta to redeliver', { channel: 'whatsapp', err: err instanceof Error ? err.message : String(err) });
      res.status(503).json({ error: 'temporarily unavailable' });
      return;
    }
    enqueueLatency.observe({ channel: 'whatsapp' }, Number(process.hrtime.bigint() - started) / 1e9);
    for (const e of events) {
      const type = e.kind === 'message' ? e.content.type : e.kind === 'status' ? e.status : e.kind === 'unsupported' ? e.providerType : e.signal;
      eventsIn.inc({ channel: 'whatsapp', kind: e.kind, type });
      if (e.kind === 'unsupported') deps.log.info('unsupported event acknowledged', { channel: 'whatsapp', eventId: e.eventId, providerType: e.providerType, reason: e.reason });
    }
    deliveries.inc({ channel: 'whatsapp', result: 'accepted' });
    res.status(200).type('text/plain').send('EVENT_RECEIVED');
  });

  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const e = err as { type?: string; status?: number };
    if (res.headersSent) return next(err);
    if (e.type === 'entity.too.large' || e.status === 413) {
      deliveries.inc({ channel: 'whatsapp', result: 'too_large' });
      res.status(413).json({ error: 'body too large' });
      return;
    }
    if (e.status === 415) {
      deliveries.inc({ channel: 'whatsapp', result: 'unsupported_encoding' });
      res.status(415).json({ error: 'unsupported content encoding' });
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
