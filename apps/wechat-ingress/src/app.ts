import express, { type NextFunction, type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import { createIngressMetrics, decodeWebhookBody, mountOpsRoutes, readWebhookBody, type Logger } from '@switchboard/core';
import { parseRawQuery, syncJobFor, verifyCallback, verifyEcho, type WechatCallbackSettings } from '@switchboard/channel-wechat-kf/inbound';
import { pingRedis, type Producers, type RedisClient } from '@switchboard/queue';

/** What the WeChat ingress needs; built in main.ts or by tests. */
export interface WechatIngressDeps {
  log: Logger;
  registry: Registry;
  producers: Producers;
  redis: RedisClient;
  /** undefined = channel disabled (credentials absent): callbacks answer 503 so WeCom retries later. */
  settings: WechatCallbackSettings | undefined;
  /** Injectable clock (ms). */
  now?: () => number;
  /** WeCom waits 5 s for an answer; give up on Redis well before and answer 503. */
  enqueueTimeoutMs?: number;
}

const ROUTE = '/webhooks/wechat-kf';
const CHANNEL = 'wechat-kf';

class EnqueueTimeout extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new EnqueueTimeout(`enqueue took longer than ${ms} ms`)), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The 微信客服 ingress: `GET` answers URL verification with the decrypted echostr; `POST` verifies,
 * decrypts and checks the receive id of a callback, enqueues one `wechat-sync` job for a
 * `kf_msg_or_event` notice and answers `success` once the job is durable. Nothing else happens in
 * the request: messages are pulled by the sync worker.
 */
export function createWechatIngressApp(deps: WechatIngressDeps): express.Express {
  const now = deps.now ?? Date.now;
  const enqueueTimeoutMs = deps.enqueueTimeoutMs ?? 3000;
  const { deliveries: callbacks, signatureFailures: sigFailures, enqueueSeconds: enqueueLatency } = createIngressMetrics(deps.registry);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  mountOpsRoutes(app, {
    registry: deps.registry,
    checks: {
      redis: () => pingRedis(deps.redis),
      wechat: () => Promise.resolve(deps.settings ? undefined : 'disabled: WECHAT_TOKEN, WECHAT_AESKEY and WECHAT_CORP_ID are required'),
    },
  });

  const disabled = (res: Response) => {
    callbacks.inc({ channel: CHANNEL, result: 'disabled' });
    res.status(503).type('text/plain').send('wechat-kf channel is not configured');
  };

  app.get(ROUTE, (req, res) => {
    const settings = deps.settings;
    if (!settings) return disabled(res);
    // parse the raw query ourselves: qs would turn a literal '+' of the base64 echostr into a space
    const search = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : '';
    const verified = verifyEcho(settings, parseRawQuery(search), now());
    if (!verified.ok) {
      if (verified.status !== 400) sigFailures.inc({ channel: CHANNEL, reason: verified.reason });
      callbacks.inc({ channel: CHANNEL, result: verified.status === 400 ? 'bad_request' : 'bad_signature' });
      deps.log.warn('wechat url verification refused', { status: verified.status, reason: verified.reason });
      res.status(verified.status).type('text/plain').send('verification failed');
      return;
    }
    callbacks.inc({ channel: CHANNEL, result: 'verified' });
    deps.log.info('wechat callback url verified');
    // exactly the plaintext: no quotes, no newline
    res.status(200).type('text/plain').send(verified.payload);
  });

  const maxBodyBytes = deps.settings?.maxBodyBytes ?? 64 * 1024;
  app.post(ROUTE, readWebhookBody({ limit: maxBodyBytes }), async (req, res) => {
    const settings = deps.settings;
    if (!settings) return disabled(res);
    const received = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    // WeCom's signature is not over the body: msg_signature (query) covers the <Encrypt> element
    // inside it, so the body is decoded first (same cap as a plain body) and verified after
    const decoded = decodeWebhookBody(received, req.headers['content-encoding'], { maxBytes: maxBodyBytes });
    if (!decoded.ok) {
      callbacks.inc({ channel: CHANNEL, result: decoded.status === 413 ? 'too_large' : decoded.status === 415 ? 'unsupported_encoding' : 'bad_request' });
      deps.log.warn('wechat callback refused', { status: decoded.status, reason: decoded.reason });
      res.status(decoded.status).type('text/plain').send(decoded.reason);
      return;
    }
    const rawBody = decoded.body;
    const search = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : '';
    const receivedAt = now();
    const verified = verifyCallback(settings, { rawBody, headers: {}, query: parseRawQuery(search), now: receivedAt });
    if (!verified.ok) {
      if (verified.status !== 400) sigFailures.inc({ channel: CHANNEL, reason: verified.reason });
      callbacks.inc({ channel: CHANNEL, result: verified.status === 400 ? 'bad_request' : 'bad_signature' });
      deps.log.warn('wechat callback refused', { status: verified.status, reason: verified.reason });
      res.status(verified.status).type('text/plain').send(verified.status === 400 ? 'malformed callback' : 'verification failed');
      return;
    }
    const callback = verified.payload;
    if (callback.kind !== 'kf_msg_or_event') {
      // other WeCom callbacks can share this URL: acknowledge so WeCom does not retry, and say what it was
      callbacks.inc({ channel: CHANNEL, result: 'ignored' });
      deps.log.info('wechat callback acknowledged without action', { msgType: callback.msgType, event: callback.event });
      res.status(200).type('text/plain').send('success');
      return;
    }
    const job = syncJobFor(callback, settings.corpId, receivedAt, rawBody);
    const started = process.hrtime.bigint();
    try {
      await withTimeout(deps.producers.enqueue('wechat-sync', job.data, { jobId: job.jobId }), enqueueTimeoutMs);
    } catch (err) {
      callbacks.inc({ channel: CHANNEL, result: 'unavailable' });
      deps.log.error('wechat sync enqueue failed, asking WeCom to retry', { err: err instanceof Error ? err.message : String(err) });
      res.status(503).type('text/plain').send('temporarily unavailable');
      return;
    }
    enqueueLatency.observe({ channel: CHANNEL }, Number(process.hrtime.bigint() - started) / 1e9);
    callbacks.inc({ channel: CHANNEL, result: 'accepted' });
    deps.log.debug('wechat sync enqueued', { jobId: job.jobId, openKfId: callback.openKfId, hasToken: Boolean(callback.token) });
    res.status(200).type('text/plain').send('success');
  });

  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const e = err as { type?: string; status?: number };
    if (res.headersSent) return next(err);
    if (e.type === 'entity.too.large' || e.status === 413) {
      callbacks.inc({ channel: CHANNEL, result: 'too_large' });
      res.status(413).type('text/plain').send('body too large');
      return;
    }
    if (e.status === 415) {
      callbacks.inc({ channel: CHANNEL, result: 'unsupported_encoding' });
      res.status(415).type('text/plain').send('unsupported content encoding');
      return;
    }
    if (e.status && e.status >= 400 && e.status < 500) {
      callbacks.inc({ channel: CHANNEL, result: 'bad_request' });
      res.status(400).type('text/plain').send('malformed request');
      return;
    }
    deps.log.error('unhandled request error', { err: err instanceof Error ? err.message : String(err) });
    res.status(500).type('text/plain').send('internal error');
  });
  return app;
}
