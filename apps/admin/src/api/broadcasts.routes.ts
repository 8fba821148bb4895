import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { ChannelId, DEFAULT_ACCOUNT_ID, shortHash, type Logger, type TemplateComponentValue } from '@switchboard/core';
import { BroadcastStore, gatewayKeys, type BroadcastMeta, type Producers, type RedisClient } from '@switchboard/queue';
import { ApiError, apiKeyName, sendApiError } from './api.js';
import { bodyHash } from './body-hash.js';

/**
 * `POST /api/v1/broadcasts`, `GET /api/v1/broadcasts/:id`, `POST /api/v1/broadcasts/:id/cancel`:
 * one template to many recipients. The template is checked for every recipient's parameters before
 * anything is stored; the recipients are stored in chunks and fed into the channel's outbound path
 * by the worker's `broadcast` role (paced below the sender's rate, yielding to replies). Same
 * `Idempotency-Key` semantics as `POST /api/v1/messages`.
 */

/** Most recipients one broadcast may have. */
export const MAX_RECIPIENTS = 100_000;
/** How long an `Idempotency-Key` of a broadcast is remembered. */
const IDEMPOTENCY_TTL_SEC = 7 * 24 * 3600;
/** Latest `sendAt` accepted (from now). */
const MAX_SCHEDULE_MS = 30 * 24 * 3600_000;

const Values = z.union([z.array(z.string().max(1024)).max(100), z.record(z.string().max(64), z.string().max(1024))]);
/** A recipient's template parameters: a list or name map (the body), or `{header?, body?, buttons?}`. */
const Params = z.union([Values, z.object({ header: Values.optional(), body: Values.optional(), buttons: z.array(z.string().max(2000)).max(10).optional() }).strict()]);

export const BroadcastBody = z
  .object({
    channel: ChannelId,
    account: z.string().regex(/^[a-z0-9-]{1,40}$/, 'account must be an ACCOUNTS_FILE id ([a-z0-9-]{1,40})').default(DEFAULT_ACCOUNT_ID),
    template: z.object({ name: z.string().min(1).max(512), language: z.string().min(2).max(15) }).strict(),
    recipients: z
      .array(
        z
          .object({
            to: z
              .string()
              .trim()
              .min(1, 'to is empty')
              .max(256)
              .transform((v) => v.replace(/^\+(?=\d+$)/, '')),
            params: Params.optional(),
          })
          .strict(),
      )
      .min(1, 'recipients is empty')
      .max(MAX_RECIPIENTS, `at most ${MAX_RECIPIENTS} recipients`),
    /** ISO 8601 time (or ms since epoch) to start sending; absent = now. */
    sendAt: z.union([z.iso.datetime({ offset: true }), z.number().int().positive()]).optional(),
  })
  .strict();
export type BroadcastBody = z.infer<typeof BroadcastBody>;

/** The `Idempotency-Key` header of `POST /api/v1/broadcasts` (the document's view; the route checks it itself). */
export const BroadcastHeaders = z.object({ 'idempotency-key': z.string().min(1).max(255).meta({ description: 'required; the same key and body again answers the same broadcast' }) });

/** `:id` of a broadcast. */
export const BroadcastIdParams = z.object({ id: z.string().min(1).max(64) });

/** A broadcast and its progress counts (every recipient is in exactly one bucket). */
export const BroadcastView = z
  .object({
    id: z.string(),
    status: z.enum(['scheduled', 'running', 'completed', 'cancelled']),
    channel: z.string(),
    account: z.string(),
    template: z.object({ name: z.string(), language: z.string() }),
    sendAt: z.string(),
    counts: z
      .object({
        total: z.number().int(),
        queued: z.number().int(),
        sent: z.number().int(),
        delivered: z.number().int(),
        read: z.number().int(),
        failed: z.record(z.string(), z.number().int()).meta({ description: 'by reason: marketing_limit, outside_window, pair_rate_limit, code_<n>…' }),
        skipped: z.record(z.string(), z.number().int()).meta({ description: 'opted_out, blocked, invalid' }),
        cancelled: z.number().int(),
      })
      .loose(),
  })
  .meta({ id: 'Broadcast' });

/** A problem of the template check. */
export interface TemplateProblem {
  readonly recipient?: number;
  readonly code: string;
  readonly message: string;
}

/** A channel's template check (see `broadcastTemplatePreparers` of the channel registry). */
export interface BroadcastTemplatePreparer {
  prepare(
    accountId: string,
    template: { name: string; language: string },
    params: readonly unknown[],
  ): Promise<{ readonly ok: true; readonly components: ReadonlyArray<readonly TemplateComponentValue[]> } | { readonly ok: false; readonly problems: readonly TemplateProblem[] }>;
}

/** What the routes need. */
export interface BroadcastsDeps {
  redis: RedisClient;
  producers: Producers;
  prefix: string;
  log: Logger;
  /** The template check of each channel with templates; a channel absent here cannot broadcast (422 unsupported). */
  templates: Readonly<Partial<Record<ChannelId, BroadcastTemplatePreparer>>>;
  now?: () => number;
}

// first request: claim the key for this body; again: the stored body hash (and whether it was created)
const CLAIM = `
local body = redis.call('HGET', KEYS[1], 'body')
if body then
  if body ~= ARGV[1] then return 'conflict' end
  return 'replay'
end
redis.call('HSET', KEYS[1], 'body', ARGV[1], 'id', ARGV[2], 'state', 'claimed')
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 'claimed'
`;

function sendProblems(res: Response, status: number, error: string, message: string, details?: readonly unknown[]): void {
  res.status(status).set('Cache-Control', 'no-store').json({ error, message, ...(details ? { details } : {}) });
}

/** The job id of a broadcast's runner. */
export function broadcastJobId(id: string): string {
  return `bcr-${id}`;
}

/** The broadcasts router (mounted at `/api/v1/broadcasts` behind the API's bearer auth). */
export function broadcastsRouter(deps: BroadcastsDeps): Router {
  const r = express.Router();
  const store = new BroadcastStore(deps.redis, deps.prefix);
  const keys = gatewayKeys(deps.prefix).broadcast;
  const now = deps.now ?? Date.now;
  const wrap = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) => {
    fn(req, res).catch(next);
  };
  const view = async (meta: BroadcastMeta) => ({
    id: meta.id,
    status: meta.status,
    channel: meta.channel,
    account: meta.accountId,
    template: meta.template,
    sendAt: new Date(meta.sendAt).toISOString(),
    counts: await store.counts(meta.id, meta.total),
  });

  r.post(
    '/',
    express.json({ limit: '32mb' }),
    wrap(async (req, res) => {
      const idemKey = req.get('Idempotency-Key')?.trim();
      if (!idemKey) throw new ApiError(400, 'invalid_request', 'the Idempotency-Key header is required');
      if (idemKey.length > 255) throw new ApiError(400, 'invalid_request', 'the Idempotency-Key header is longer than 255 characters');
      const parsed = BroadcastBody.safeParse(req.body);
      if (!parsed.success) {
        const issues = parsed.error.issues.slice(0, 20).map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
        throw new ApiError(400, 'invalid_request', issues.join('; '));
      }
      const body = parsed.data;
      const preparer = deps.templates[body.channel];
      if (!preparer) return sendProblems(res, 422, 'unsupported', `${body.channel} has no message templates: broadcasts are not supported on it`);
      const sendAt = body.sendAt === undefined ? now() : typeof body.sendAt === 'number' ? body.sendAt : Date.parse(body.sendAt);
      if (sendAt > now() + MAX_SCHEDULE_MS) throw new ApiError(400, 'invalid_request', 'sendAt: at most 30 days ahead');
      const keyName = apiKeyName(res) ?? '';
      const hash = bodyHash(body);
      const idem = keys.idempotency(keyName, idemKey);
      const id = shortHash(`bc|${keyName}|${idemKey}`, 20);
      const seen = await deps.redis.hmget(idem, 'body', 'state');
      if (seen[0] && seen[0] !== hash) throw new ApiError(409, 'idempotency_conflict', 'this Idempotency-Key was used with another body');
      if (seen[1] === 'created') {
        const meta = await store.meta(id);
        if (meta) {
          res.status(200).json(await view(meta));
          return;
        }
      }
      // every recipient's parameters against the catalogue, before anything is stored or queued
      const prepared = await preparer.prepare(body.account, body.template, body.recipients.map((x) => x.params));
      if (!prepared.ok) {
        const unavailable = prepared.problems.some((p) => p.code === 'templates_unavailable');
        const message = prepared.problems.length === 1 && prepared.problems[0]!.recipient === undefined ? prepared.problems[0]!.message : `the template does not fit ${prepared.problems.length === 20 ? 'at least 20' : prepared.problems.length} recipient(s); the first problems are listed`;
        return sendProblems(res, unavailable ? 503 : 422, unavailable ? 'unavailable' : 'invalid_template', message, prepared.problems);
      }
      const outcome = (await deps.redis.eval(CLAIM, 1, idem, hash, id, String(IDEMPOTENCY_TTL_SEC))) as string;
      if (outcome === 'conflict') throw new ApiError(409, 'idempotency_conflict', 'this Idempotency-Key was used with another body');
      // claimed, or a concurrent or crashed first request: storing and enqueueing are idempotent per id
      await store.create({
        id,
        channel: body.channel,
        accountId: body.account,
        template: body.template,
        recipients: body.recipients.map((x, i) => ({ to: x.to, ...(prepared.components[i]?.length ? { components: prepared.components[i] } : {}) })),
        sendAt,
        createdAt: now(),
        apiKey: keyName,
      });
      await deps.producers.enqueue('broadcast', { broadcastId: id }, { jobId: broadcastJobId(id), delay: Math.max(0, sendAt - now()) });
      await deps.redis.hset(idem, 'state', 'created');
      const meta = (await store.meta(id))!;
      deps.log.info('broadcast created', { key: keyName, channel: body.channel, account: body.account, broadcast: id, recipients: meta.total, sendAt: new Date(sendAt).toISOString(), replay: outcome !== 'claimed' });
      res.status(outcome === 'claimed' ? 202 : 200).json(await view(meta));
    }),
  );

  r.get(
    '/:id',
    wrap(async (req, res) => {
      const id = String(req.params.id);
      const meta = /^[a-z0-9]{1,40}$/.test(id) ? await store.meta(id) : undefined;
      if (!meta) return sendApiError(res, 404, 'not_found', 'no such broadcast (broadcasts are kept 30 days)');
      res.set('Cache-Control', 'no-store').json(await view(meta));
    }),
  );

  r.post(
    '/:id/cancel',
    wrap(async (req, res) => {
      const id = String(req.params.id);
      const meta = /^[a-z0-9]{1,40}$/.test(id) ? await store.meta(id) : undefined;
      if (!meta) return sendApiError(res, 404, 'not_found', 'no such broadcast (broadcasts are kept 30 days)');
      const status = await store.cancel(id, now());
      if (status === 'completed') return sendProblems(res, 409, 'already_completed', 'the broadcast has completed: nothing left to cancel');
      // a runner waiting for sendAt ends at once; a running one stops feeding and withdraws what is still queued
      await deps.producers.enqueue('broadcast', { broadcastId: id }, { jobId: `${broadcastJobId(id)}-cancel` });
      deps.log.info('broadcast cancelled', { broadcast: id });
      res.set('Cache-Control', 'no-store').json(await view((await store.meta(id))!));
    }),
  );

  return r;
}
