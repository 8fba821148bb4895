import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { ChannelId, conversationId, DEFAULT_ACCOUNT_ID, jobId, shortHash, type ConversationRef, type ConversationSignal, type HandoffReason, type Logger } from '@switchboard/core';
import { enqueueReply, gatewayKeys, getConversationOwner, OptOutStore, optOutRefOf, type Producers, type RedisClient } from '@switchboard/queue';
import type { ConversationDetail, RecordReader } from '@switchboard/record';
import { ApiError, apiKeyName, parseOr400 as parse } from './api.js';
import { bodyHash } from './body-hash.js';

/**
 * The console's actions on a recorded conversation (mounted at `/admin/conversations/api` behind
 * the admin's basic auth): take over, hand back, reply as a human. They enqueue exactly what the
 * providers' own events and the Chatwoot relay enqueue — a `human_took_over` / `bot_resumed`
 * signal on the `inbound` queue (the inbound role sets the owner), a reply with origin `human`
 * through `enqueueReply` (the conversation's reply order, then the channel's outbound queue) — so
 * there is no second path to a customer. The conversation is addressed from its record.
 */

/** What the actions need. */
export interface ConversationActionsDeps {
  record: RecordReader | undefined;
  redis: RedisClient;
  producers: Producers;
  prefix: string;
  log: Logger;
}

/** Longest console reply (WhatsApp's text limit; other channels split longer replies anyway). */
const MAX_REPLY = 4096;

/** Longest pause (a year); a pause without minutes lasts until resumed (or the auto-resume time). */
const MAX_PAUSE_MINUTES = 365 * 24 * 60;
const PauseMinutes = z.number().positive('minutes must be positive').max(MAX_PAUSE_MINUTES, `minutes: at most ${MAX_PAUSE_MINUTES}`);

const ClickBody = z.object({
  /** The console's id of this click: a repeated submission sends nothing twice. */
  requestId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'requestId must be 8-64 letters, digits, _ or -'),
});
const ActionBody = ClickBody.extend({
  /** Take over for this many minutes only (the console's "take over for N minutes"). */
  minutes: PauseMinutes.optional(),
});

/** Body of `POST /api/v1/conversations/{id}/pause` (optional). */
export const PauseBody = z
  .object({
    /** The bot answers again after this many minutes without human activity; absent = until resumed (or HANDOFF_AUTO_RESUME_MINUTES). */
    minutes: PauseMinutes.optional(),
    /** Why (kept in the owner record and the log; the handoff reason is `paused`). */
    reason: z.string().trim().min(1).max(200).optional(),
  })
  .strict();
export type PauseBody = z.infer<typeof PauseBody>;

/** Optional `Idempotency-Key` of the pause/resume routes (the document's view; the route checks it itself). */
export const OwnershipHeaders = z.object({ 'idempotency-key': z.string().min(1).max(255).optional().meta({ description: 'optional; the same key and body again answers the same result and changes nothing twice' }) });

/** Answer of the pause/resume routes. */
export const OwnershipView = z.object({
  id: z.string(),
  owner: z.enum(['human', 'bot']),
  /** When the bot answers again by itself (a pause with minutes). */
  until: z.string().optional(),
});
export type OwnershipView = z.infer<typeof OwnershipView>;

/** How long an `Idempotency-Key` of a pause or resume is remembered. */
const OWNERSHIP_IDEMPOTENCY_TTL_SEC = 7 * 24 * 3600;

/** The one ownership signal of the console, the API and the providers: enqueued on `inbound` (the inbound role sets the owner). */
async function enqueueOwnershipSignal(producers: Producers, ref: ConversationRef, kind: 'human_took_over' | 'bot_resumed', eventId: string, detail: { reason: string; source: string; minutes?: number; note?: string }): Promise<void> {
  const event: ConversationSignal = { kind: 'signal', eventId, conversation: ref, at: Date.now(), signal: kind, detail };
  // the job id is the event id, as the ingress apps enqueue: a repeated request adds nothing
  await producers.enqueue('inbound', event, { jobId: eventId });
}
const ReplyBody = ClickBody.extend({ text: z.string().trim().min(1, 'text is empty').max(MAX_REPLY) }).strict();


/**
 * The conversation reference the pipeline used, rebuilt from the record. Its id must hash back to
 * the recorded id: otherwise a reply would open another conversation, so it is refused.
 */
export function refFromRecord(c: ConversationDetail): ConversationRef {
  const channel = ChannelId.safeParse(c.channel);
  if (!channel.success) throw new ApiError(409, 'invalid_request', `the conversation's channel "${c.channel}" is not one this gateway serves`);
  const ref: ConversationRef = {
    channel: channel.data,
    ...(c.account !== DEFAULT_ACCOUNT_ID ? { accountId: c.account } : {}),
    account: c.providerAccount,
    userId: c.customer.id,
    ...(c.threadId ? { threadId: c.threadId } : {}),
    ...(c.customer.name ? { displayName: c.customer.name } : {}),
  };
  if (conversationId(ref) !== c.id) throw new ApiError(409, 'invalid_request', 'this conversation cannot be addressed from its record (its id does not match its channel, account and customer)');
  return ref;
}

/** The actions router (see the module comment). */
export function conversationActionsRouter(deps: ConversationActionsDeps): Router {
  const r = express.Router();
  const keys = gatewayKeys(deps.prefix);
  const wrap = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) => {
    fn(req, res).catch(next);
  };
  const conversationOf = async (req: Request): Promise<{ detail: ConversationDetail; ref: ConversationRef }> => {
    if (!deps.record) throw new ApiError(503, 'store_unavailable', 'the record needs the data store: set DATABASE_URL (pnpm start provides an embedded one)');
    const detail = await deps.record.getConversation(String(req.params.id));
    if (!detail) throw new ApiError(404, 'not_found', 'no such conversation');
    return { detail, ref: refFromRecord(detail) };
  };
  const signal = (ref: ConversationRef, kind: 'human_took_over' | 'bot_resumed', eventId: string, reason: string, minutes?: number): Promise<void> =>
    enqueueOwnershipSignal(deps.producers, ref, kind, eventId, { reason, source: 'console', ...(minutes !== undefined ? { minutes } : {}) });

  /** The channels the gateway serves (the console's channel filter). */
  r.get('/channels', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ channels: ChannelId.options });
  });

  /**
   * Whether the conversation's customer opted out of business-initiated messages (STOP, the
   * provider's preference webhook): `{optedOut, source?, since?}`. The bot still answers them.
   */
  r.get(
    '/conversations/:id/opt-out',
    wrap(async (req, res) => {
      const { ref } = await conversationOf(req);
      const o = await new OptOutStore(deps.redis, deps.prefix).get(optOutRefOf(ref));
      res.set('Cache-Control', 'no-store').json({ optedOut: o !== undefined, ...(o ? { source: o.source, ...(o.at > 0 ? { since: new Date(o.at).toISOString() } : {}) } : {}) });
    }),
  );

  /** Who owns the conversation right now (Redis; the record follows once the signal is processed). */
  r.get(
    '/conversations/:id/owner',
    wrap(async (req, res) => {
      const id = String(req.params.id);
      const o = await getConversationOwner(deps.redis, deps.prefix, id);
      res.set('Cache-Control', 'no-store').json({ owner: o.owner, ...(o.record ? { reason: o.record.reason, since: new Date(o.record.at).toISOString(), ...(o.record.until ? { until: new Date(o.record.until).toISOString() } : {}) } : {}) });
    }),
  );

  /** Take over or hand back: one ownership signal on the `inbound` queue, as Chatwoot's would be. */
  const ownershipAction = (action: 'takeover' | 'handback', kind: 'human_took_over' | 'bot_resumed', owner: 'human' | 'bot', reason: string, logLine: string) =>
    r.post(
      `/conversations/:id/${action}`,
      express.json({ limit: '4kb' }),
      wrap(async (req, res) => {
        const body = parse(ActionBody, req.body);
        const { detail, ref } = await conversationOf(req);
        const minutes = kind === 'human_took_over' ? body.minutes : undefined;
        await signal(ref, kind, jobId('console', action, detail.id, body.requestId), reason, minutes);
        deps.log.info(logLine, { conversation: detail.id, channel: detail.channel, ...(minutes !== undefined ? { minutes } : {}) });
        res.status(202).json({ conversationId: detail.id, owner, ...(minutes !== undefined ? { until: new Date(Date.now() + minutes * 60_000).toISOString() } : {}) });
      }),
    );
  const paused: HandoffReason = 'paused';
  ownershipAction('takeover', 'human_took_over', 'human', paused, 'console take over');
  ownershipAction('handback', 'bot_resumed', 'bot', 'handed back in the console', 'console hand back');

  r.post(
    '/conversations/:id/reply',
    express.json({ limit: '64kb' }),
    wrap(async (req, res) => {
      const body = parse(ReplyBody, req.body);
      const { detail, ref } = await conversationOf(req);
      const outboundId = jobId('console', detail.id, body.requestId);
      // as the Chatwoot relay does: the reply first (in the conversation's order), then the bot stays quiet
      await enqueueReply({ redis: deps.redis, producers: deps.producers, keys }, ref, { outboundId, reply: { text: body.text }, origin: 'human' });
      await signal(ref, 'human_took_over', jobId('console', 'replied', detail.id, body.requestId), 'a person replied in the console');
      deps.log.info('console reply enqueued', { conversation: detail.id, channel: detail.channel, outboundId });
      res.status(202).json({ conversationId: detail.id, outboundId });
    }),
  );

  return r;
}

/** What the API's pause/resume routes need. */
export type ConversationControlDeps = ConversationActionsDeps;

/**
 * `POST /api/v1/conversations/{id}/pause` and `/resume` (scope `send`): the same ownership signals
 * as the console's take over / hand back, so there is one path to the owner. An optional
 * `Idempotency-Key` binds the request: the same key and body again answers the same result (200)
 * and enqueues nothing new; another body → 409 `idempotency_conflict`.
 */
export function conversationControlRouter(deps: ConversationControlDeps): Router {
  const r = express.Router();
  const keys = gatewayKeys(deps.prefix);
  const wrap = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) => {
    fn(req, res).catch(next);
  };
  const control = (action: 'pause' | 'resume') =>
    r.post(
      `/conversations/:id/${action}`,
      express.json({ limit: '4kb' }),
      wrap(async (req, res) => {
        const body = action === 'pause' ? parse(PauseBody, req.body ?? {}) : parse(z.object({}).strict(), req.body ?? {});
        const idemKey = parse(OwnershipHeaders, { 'idempotency-key': req.get('Idempotency-Key')?.trim() || undefined })['idempotency-key'];
        if (!deps.record) throw new ApiError(503, 'store_unavailable', 'the record needs the data store: set DATABASE_URL (pnpm start provides an embedded one)');
        const detail = await deps.record.getConversation(String(req.params.id));
        if (!detail) throw new ApiError(404, 'not_found', 'no such conversation');
        const ref = refFromRecord(detail);
        const keyName = apiKeyName(res) ?? '';
        const minutes = action === 'pause' ? (body as PauseBody).minutes : undefined;
        const view: OwnershipView = { id: detail.id, owner: action === 'pause' ? 'human' : 'bot', ...(minutes !== undefined ? { until: new Date(Date.now() + minutes * 60_000).toISOString() } : {}) };
        let requestId: string = randomRequestId();
        if (idemKey) {
          const idem = keys.api.idempotency(keyName, `conversation|${idemKey}`);
          const hash = bodyHash({ action, id: detail.id, body });
          const fresh = await deps.redis.hsetnx(idem, 'body', hash);
          const [storedHash, storedView] = await deps.redis.hmget(idem, 'body', 'view');
          if (!fresh && storedHash !== hash) throw new ApiError(409, 'idempotency_conflict', 'this Idempotency-Key was used with another body');
          if (!fresh && storedView) {
            res.status(200).json(JSON.parse(storedView) as OwnershipView);
            return;
          }
          await deps.redis.multi().hset(idem, 'view', JSON.stringify(view)).expire(idem, OWNERSHIP_IDEMPOTENCY_TTL_SEC).exec();
          requestId = shortHash(`${keyName}|${idemKey}`, 24);
        }
        const eventId = jobId('api', action, detail.id, requestId);
        const pauseBody = body as PauseBody;
        if (action === 'pause') {
          await enqueueOwnershipSignal(deps.producers, ref, 'human_took_over', eventId, { reason: 'paused', source: 'api', ...(minutes !== undefined ? { minutes } : {}), ...(pauseBody.reason ? { note: pauseBody.reason } : {}) });
        } else {
          await enqueueOwnershipSignal(deps.producers, ref, 'bot_resumed', eventId, { reason: 'resumed through the API', source: 'api' });
        }
        deps.log.info(action === 'pause' ? 'api pause' : 'api resume', { key: keyName, conversation: detail.id, channel: detail.channel, ...(minutes !== undefined ? { minutes } : {}) });
        res.status(202).json(view);
      }),
    );
  control('pause');
  control('resume');
  return r;
}

function randomRequestId(): string {
  return randomUUID().replace(/-/g, '');
}
