import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQueryString } from 'node:querystring';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Registry } from 'prom-client';
import {
  ACCOUNT_ID_PATTERN,
  bodyLimitBytes,
  createIngressMetrics,
  DEFAULT_ACCOUNT_ID,
  mountOpsRoutes,
  readWebhookBody,
  type AccountInbound,
  type ChannelAccount,
  type ChannelInbound,
  type DeliveryOutcome,
  type InboundEvent,
  type InboundJob,
  type InboundRuntime,
  type InboundSetup,
  type Logger,
  type ReadinessCheck,
  type WebhookRequest,
  withAccount,
} from '@switchboard/core';
import {
  acceptCustomerMessages,
  acknowledgeSentParts,
  pingRedis,
  type AcceptContext,
  type DeliveryLedger,
  type Producers,
  type RedisClient,
} from '@switchboard/queue';

/** What the ingress hands to channels whose inbound half reads Redis (Chatwoot's mirror look-up). */
export interface IngressRuntime extends InboundRuntime {
  /** The producer connection: fails fast while Redis is away, so the delivery is answered 503. */
  readonly redis: RedisClient;
}

/** What {@link createIngressApp} needs; built by `runIngress` or by tests. */
export interface IngressDeps {
  log: Logger;
  registry: Registry;
  producers: Producers;
  /** Producer connection (fails fast): readiness, dedupe keys, channel look-ups. */
  redis: RedisClient;
  /** Key prefix; default the producers' prefix. */
  prefix?: string;
  /**
   * Where customer messages are accepted before the 200 (mailbox append + turn scheduling), so a
   * conversation's order is the order of acceptance. Without it the inbound consumer does it.
   */
  accept?: AcceptContext;
  /** Where statuses acknowledge sent parts before the 200 (see `acknowledgeSentParts`). */
  ledger?: DeliveryLedger;
  /** Overrides the channel's body limit (tests). */
  bodyLimit?: number | string;
  /** Overrides the channel's enqueue timeout (tests). */
  enqueueTimeoutMs?: number;
  now?: () => number;
}

const EMPTY = Buffer.alloc(0);

type Account = { id: string; inbound: AccountInbound<unknown> };
type ExpressHandle = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

/** A failure of `parse`, which by contract never throws: answered 503 so the provider keeps the delivery. */
class ParseFailure extends Error {}
class EnqueueTimeout extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number | undefined): Promise<T> {
  if (!ms) return p;
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new EnqueueTimeout(`enqueue took longer than ${ms} ms`)), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

function rawQueryOf(url: string): string {
  const i = url.indexOf('?');
  return i < 0 ? '' : url.slice(i);
}

/**
 * The headers as adapters read them: one string per name. Node already lower-cases the names and
 * joins repeated headers, except `set-cookie` (an array), so the request's own object serves as it
 * is unless that one is present.
 */
function headersOf(req: IncomingMessage): Readonly<Record<string, string | undefined>> {
  const headers = req.headers;
  if (headers['set-cookie'] === undefined) return headers as Readonly<Record<string, string | undefined>>;
  const copy: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(headers)) copy[k] = Array.isArray(v) ? v[0] : v;
  return copy;
}

/**
 * One delivery as its adapter sees it. The query string is parsed only when an adapter reads
 * `query` (WeChat signs its query; a WhatsApp POST carries none worth parsing), as Express's
 * default ("simple") query parser does.
 */
class Delivery implements WebhookRequest {
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly rawQuery: string;
  constructor(
    req: IncomingMessage,
    url: string,
    readonly rawBody: Buffer,
    readonly now: number,
    readonly maxBodyBytes: number,
  ) {
    this.headers = headersOf(req);
    this.rawQuery = rawQueryOf(url);
  }
  /** Parsed on each read (a getter on the prototype: a spread copy of the delivery does not carry it). */
  get query(): Readonly<Record<string, string | undefined>> {
    return parseQueryString(this.rawQuery.slice(1)) as Record<string, string | undefined>;
  }
}

const TEXT_TYPE = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

/** Answers with node's own writeHead/end: the Express helpers cost more than the rest of the answer. */
function answerWith(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The `sb_webhook_deliveries_total` result of a refusal. */
function refusalResult(status: number): string {
  if (status === 401 || status === 403) return 'bad_signature';
  return status === 413 ? 'too_large' : status === 415 ? 'unsupported_encoding' : 'bad_request';
}

/** Text/plain refusals of a verification never echo the adapter's reason (it can name what failed inside a decrypted body). */
function refusalText(status: number): string {
  if (status === 401 || status === 403) return 'verification failed';
  if (status === 413) return 'body too large';
  if (status === 415) return 'unsupported content encoding';
  return 'malformed request';
}

function eventType(e: InboundEvent): string {
  return e.kind === 'message' ? e.content.type : e.kind === 'status' ? e.status : e.kind === 'unsupported' ? e.providerType : e.signal;
}

async function enqueueJob(producers: Producers, job: InboundJob): Promise<void> {
  // the union of InboundJob pairs each queue with its payload; the compiler cannot follow the pair
  await producers.enqueue(job.queue, job.data, { jobId: job.jobId });
}

/**
 * The ingress of one channel for all its accounts: `POST /webhooks/<route>` (account `default`) and
 * `POST /webhooks/<route>/<accountId>`, plus `GET` on the same paths when the channel verifies
 * subscriptions. Per request: account → raw body (limit, content-encoding rules) → verify with that
 * account's secrets → parse every event → durable acceptance (mailbox accept, status acks, inbound
 * and other jobs) → the channel's success answer. Redis away or slower than the channel allows →
 * 503; unknown account → 404; disabled account → 503. Nothing else happens in the request.
 */
export function createIngressApp<S>(inbound: ChannelInbound<S, IngressRuntime>, accounts: readonly ChannelAccount<S>[], deps: IngressDeps): express.Express {
  const now = deps.now ?? Date.now;
  const { log, redis, producers } = deps;
  const channel = inbound.channel;
  const prefix = deps.prefix ?? producers.prefix;
  const enqueueTimeoutMs = deps.enqueueTimeoutMs ?? inbound.enqueueTimeoutMs;
  const metrics = createIngressMetrics(deps.registry);
  const extra = inbound.observe?.(deps.registry);
  /** `account`: the route's account id when it is one of ours (bounded label values), else `unknown`. */
  const record = {
    delivery: (account: string, result: string, name?: string) => {
      metrics.deliveries.inc({ channel, result, account });
      extra?.delivery(result, name);
    },
    signatureFailure: (account: string, reason: string) => {
      metrics.signatureFailures.inc({ channel, reason, account });
      extra?.signatureFailure(reason);
    },
    durable: (seconds: number) => {
      metrics.enqueueSeconds.observe({ channel }, seconds);
      extra?.durable(seconds);
    },
  };

  const policy = inbound.unsupported;
  const unsupportedPolicy = typeof policy === 'function' ? policy : () => policy;

  const setups = new Map<string, InboundSetup>();
  const bodyReaders = new Map<string, { read: RequestHandler; maxBodyBytes: number }>();
  for (const account of accounts) {
    if (!ACCOUNT_ID_PATTERN.test(account.id)) throw new Error(`${channel}: account id "${account.id}" must match ${String(ACCOUNT_ID_PATTERN)}`);
    if (setups.has(account.id)) throw new Error(`${channel}: account id "${account.id}" is listed twice`);
    const setup = inbound.createInbound(account, { redis, prefix });
    setups.set(account.id, setup);
    const limit = (setup.enabled ? setup.inbound.bodyLimit : undefined) ?? deps.bodyLimit ?? inbound.bodyLimit;
    bodyReaders.set(account.id, { read: readWebhookBody({ limit }), maxBodyBytes: bodyLimitBytes(limit) });
  }

  /** `fromAdapter`: the reason comes from a verification (text answers then use a fixed line). */
  const sendError = (res: ServerResponse, status: number, reason: string, fromAdapter = false) => {
    if (inbound.errorFormat === 'text') answerWith(res, status, TEXT_TYPE, fromAdapter ? refusalText(status) : reason);
    else answerWith(res, status, JSON_TYPE, JSON.stringify({ error: reason }));
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const checks: Record<string, ReadinessCheck> = { redis: () => pingRedis(redis) };
  if (inbound.readinessCheck) {
    checks[inbound.readinessCheck] = () => {
      const off = [...setups.entries()].find(([, s]) => !s.enabled);
      return Promise.resolve(off && !off[1].enabled ? `disabled: ${off[1].reason}` : undefined);
    };
  }
  mountOpsRoutes(app, { registry: deps.registry, checks });

  /** The account of a request, or the answer was sent (404 unknown, 503 disabled). */
  const resolveAccount = (routeAccountId: string | undefined, res: ServerResponse): Account | undefined => {
    const id = routeAccountId ?? DEFAULT_ACCOUNT_ID;
    const setup = ACCOUNT_ID_PATTERN.test(id) ? setups.get(id) : undefined;
    if (!setup) {
      sendError(res, 404, 'unknown account');
      return undefined;
    }
    if (!setup.enabled) {
      record.delivery(id, 'disabled');
      sendError(res, 503, `${channel} channel is not configured`);
      return undefined;
    }
    return { id, inbound: setup.inbound };
  };

  const base = `/webhooks/${inbound.route}`;
  const paths = [base, `${base}/:accountId`];

  if (inbound.verifiesSubscription) {
    for (const path of paths) {
      app.get(path, (req, res) => {
        const account = resolveAccount((req.params as { accountId?: string }).accountId, res);
        if (!account) return;
        const challenge = account.inbound.challenge?.({ query: req.query as Record<string, string | undefined>, rawQuery: rawQueryOf(req.originalUrl), now: now() });
        if (!challenge || !challenge.ok) {
          const status = challenge && !challenge.ok ? challenge.status : 403;
          const reason = challenge && !challenge.ok ? challenge.reason : 'no subscription check';
          if (status === 401 || status === 403) record.signatureFailure(account.id, reason);
          record.delivery(account.id, refusalResult(status));
          log.warn('subscription verification refused', { channel, account: account.id, status, reason });
          res.status(status).type('text/plain').send('verification failed');
          return;
        }
        record.delivery(account.id, 'verified');
        log.info('subscription verified', { channel, account: account.id });
        // exactly the challenge: no quotes, no newline
        res.status(200).type('text/plain').send(challenge.payload);
      });
    }
  }

  /** A refused body (limits, encodings, aborted reads) → 413/415/400; anything else → 500. */
  const answerRequestError = (err: unknown, accountId: string, res: ServerResponse): void => {
    const e = err as { type?: string; status?: number };
    if (e.type === 'entity.too.large' || e.status === 413) {
      record.delivery(accountId, 'too_large', 'unknown');
      sendError(res, 413, 'body too large');
      return;
    }
    if (e.status === 415) {
      record.delivery(accountId, 'unsupported_encoding', 'unknown');
      sendError(res, 415, 'unsupported content encoding');
      return;
    }
    if (e.status && e.status >= 400 && e.status < 500) {
      record.delivery(accountId, 'bad_request', 'unknown');
      sendError(res, 400, 'malformed request');
      return;
    }
    log.error('unhandled request error', { channel, err: err instanceof Error ? err.message : String(err) });
    sendError(res, 500, 'internal error');
  };

  /**
   * One delivery POST: resolves the account, reads the body with that account's limit, then
   * {@link handle}. Errors are answered here (the response is never left open).
   */
  const serveDelivery = (req: IncomingMessage, res: ServerResponse, routeAccountId: string | undefined): void => {
    const account = resolveAccount(routeAccountId, res);
    if (!account) return;
    bodyReaders.get(account.id)!.read(req as Request, res as Response, (err?: unknown) => {
      if (err !== undefined) {
        if (res.headersSent) res.destroy();
        else answerRequestError(err, account.id, res);
        return;
      }
      handle(req, res, account).catch((e: unknown) => {
        if (res.headersSent) res.destroy();
        else answerRequestError(e, account.id, res);
      });
    });
  };

  const handle = async (req: IncomingMessage & { body?: unknown }, res: ServerResponse, account: Account) => {
    const acc = account.inbound;
    const dedupe = acc.dedupe;
    const rawBody = Buffer.isBuffer(req.body) ? req.body : EMPTY;
    const receivedAt = now();
    const delivery = new Delivery(req, req.url ?? '', rawBody, receivedAt, bodyReaders.get(account.id)!.maxBodyBytes);
    const headers = delivery.headers;
    const verified = acc.adapter.verify(delivery);
    if (!verified.ok) {
      if (verified.status === 401 || verified.status === 403) record.signatureFailure(account.id, verified.reason);
      record.delivery(account.id, refusalResult(verified.status), 'unknown');
      log.warn(`${channel} webhook refused`, { channel, account: account.id, status: verified.status, reason: verified.reason });
      sendError(res, verified.status, verified.reason, true);
      return;
    }
    const payload = verified.payload;
    const name = acc.describe?.(payload);
    const started = process.hrtime.bigint();
    let parsed: InboundEvent[] = [];

    const makeDurable = async (): Promise<DeliveryOutcome> => {
      const deliveryId = dedupe ? headers[dedupe.deliveryHeader.toLowerCase()]?.trim().slice(0, 200) : undefined;
      const deliveryKey = dedupe && deliveryId ? dedupe.deliveryKey(deliveryId) : undefined;
      // a delivery is only marked once its events are durable (below): a mark taken before would
      // survive a Redis outage and turn the retry of a lost delivery into a "duplicate"
      if (deliveryKey && (await redis.exists(deliveryKey)) === 1) return { result: 'duplicate_delivery', events: 0, jobs: 0 };
      const extras = acc.prepare ? await acc.prepare(payload, { receivedAt }) : {};
      try {
        // events of a non-default account carry its id (routing, agent, rate limits, conversation key)
        parsed = acc.adapter.parse(payload, { ...extras, receivedAt }).map((e) => withAccount(e, account.id, channel));
      } catch (err) {
        throw new ParseFailure(err instanceof Error ? err.message : String(err));
      }
      const jobs = acc.jobs?.(payload, { receivedAt }) ?? [];
      const handOn = parsed.filter((e) => e.kind !== 'unsupported' || unsupportedPolicy(e) === 'enqueue');
      let fresh = handOn;
      const eventKey = dedupe?.eventKey?.bind(dedupe);
      const eventTtl = dedupe?.eventTtlSec;
      if (eventKey && eventTtl && handOn.length > 0) {
        // one message can reach us through several destinations, each with its own delivery id
        const seen = await redis.mget(...handOn.map((e) => eventKey(e.eventId)));
        fresh = handOn.filter((_e, i) => !seen[i]);
      }
      if (fresh.length > 0) {
        const forConsumer = deps.accept ? await acceptCustomerMessages(deps.accept, fresh) : fresh;
        if (deps.ledger) await acknowledgeSentParts(deps.ledger, fresh);
        // job id = event id: a redelivered event is the same job, enqueued once
        await producers.enqueueBulk('inbound', forConsumer.map((e) => ({ data: e, opts: { jobId: e.eventId } })));
        if (eventKey && eventTtl) {
          const multi = redis.multi();
          for (const e of fresh) multi.set(eventKey(e.eventId), '1', 'EX', eventTtl);
          await multi.exec();
        }
      }
      for (const job of jobs) await enqueueJob(producers, job);
      if (deliveryKey && dedupe) await redis.set(deliveryKey, '1', 'EX', dedupe.deliveryTtlSec);
      const result = handOn.length === 0 && jobs.length === 0 && parsed.length > 0 ? 'ignored' : handOn.length > 0 && fresh.length === 0 && jobs.length === 0 ? 'duplicate_message' : 'accepted';
      return { result, events: fresh.length, jobs: jobs.length };
    };

    let outcome: DeliveryOutcome;
    try {
      outcome = await withTimeout(makeDurable(), enqueueTimeoutMs);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof ParseFailure) {
        // parse never throws by contract; if it does, keep the delivery (503 → redelivery) and say why
        log.error('parse failed', { channel, account: account.id, err: message });
        sendError(res, 503, 'could not parse delivery');
        return;
      }
      record.delivery(account.id, 'unavailable', name);
      log.error('enqueue failed, asking the provider to redeliver', { channel, account: account.id, err: message });
      sendError(res, 503, 'temporarily unavailable');
      return;
    }
    if (outcome.result !== 'duplicate_delivery') record.durable(Number(process.hrtime.bigint() - started) / 1e9);
    for (const e of parsed) {
      metrics.events.inc({ channel, kind: e.kind, type: eventType(e), account: account.id });
      if (e.kind === 'unsupported') log.info('unsupported event acknowledged', { channel, account: account.id, eventId: e.eventId, providerType: e.providerType, reason: e.reason });
    }
    record.delivery(account.id, outcome.result, name);
    if ((outcome.events > 0 || outcome.jobs > 0) && log.isDebugEnabled()) log.debug('delivery accepted', { channel, account: account.id, name, events: outcome.events, jobs: outcome.jobs });
    const answer = inbound.answer(outcome);
    if (answer.type === 'text') answerWith(res, 200, TEXT_TYPE, answer.body);
    else answerWith(res, 200, JSON_TYPE, JSON.stringify(answer.body));
  };
  for (const path of paths) app.post(path, (req, res) => serveDelivery(req, res, (req.params as { accountId?: string }).accountId));

  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    answerRequestError(err, 'unknown', res);
  });

  // Deliveries on the plain paths skip Express's request handling (its router, request and response
  // decoration cost as much CPU as the rest of a delivery; docs/performance.md): the same
  // serveDelivery, reached by an exact match. Anything else (GET, odd spellings of the path such as
  // a trailing slash, other routes) goes through Express as before.
  const accountOfPath = (url: string | undefined): string | undefined | false => {
    if (!url || !url.startsWith(base)) return false;
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path.length === base.length) return undefined;
    if (path.charCodeAt(base.length) !== 47 /* / */) return false;
    const id = path.slice(base.length + 1);
    return ACCOUNT_ID_PATTERN.test(id) ? id : false;
  };
  const expressHandle = (app as unknown as { handle: ExpressHandle }).handle.bind(app);
  (app as unknown as { handle: ExpressHandle }).handle = (req, res, next) => {
    if (req.method === 'POST') {
      const accountId = accountOfPath(req.url);
      if (accountId !== false) {
        serveDelivery(req, res, accountId);
        return;
      }
    }
    expressHandle(req, res, next);
  };
  return app;
}
