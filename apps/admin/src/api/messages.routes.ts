import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { ChannelId, DEFAULT_ACCOUNT_ID, insideWindow, shortHash, type ChannelMessaging, type ConversationRef, type CustomerServiceWindow, type Logger, type Reply, type ReplyTemplate, type SendRefusal } from '@switchboard/core';
import { customerContact, DeliveryLedger, enqueueReply, gatewayKeys, optOutRefOf, type CustomerContact, type OptOutStore, type Producers, type RedisClient } from '@switchboard/queue';
import { ApiError, apiKeyName, parseOr400, sendApiError, type ApiErrorCode } from './api.js';
import { bodyHash } from './body-hash.js';

/**
 * `POST /api/v1/messages` and `GET /api/v1/messages/:id`: a business message to a customer's
 * existing conversation, sent exactly once per `Idempotency-Key` through the channel's single
 * reply-ordering path (`enqueueReply`, origin `api`), so it is ordered with the bot's and humans'
 * replies, recorded and mirrored like them. Its status follows the delivery ledger.
 */

/** How long an `Idempotency-Key` (and the message it sent) is remembered. */
export const IDEMPOTENCY_TTL_SEC = 7 * 24 * 3600;

/** Longest text (WhatsApp's limit; other channels split longer text anyway). */
const MAX_TEXT = 4096;

const TemplateValue = z.string().max(1024);
const TemplateValues = z.union([z.array(TemplateValue).max(100), z.record(z.string().min(1).max(64), TemplateValue)]);

/**
 * A template send: `params` fills the body (a list in order, or a map of variable names), or the
 * parts by name: `{header?, body?, buttons?}` (buttons: one value per parameterised button, in order).
 */
export const TemplateBody = z
  .object({
    name: z.string().regex(/^[a-z0-9_]{1,512}$/, 'template.name: lowercase letters, digits and _'),
    language: z.string().regex(/^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$/, 'template.language: a language code such as en_US or de'),
    params: z
      .union([
        TemplateValues,
        z.strictObject({ header: TemplateValues.optional(), body: TemplateValues.optional(), buttons: z.array(TemplateValue).max(10).optional() }),
      ])
      .optional(),
  })
  .strict();

export const MessageBody = z
  .object({
    channel: ChannelId,
    /** The gateway account (`ACCOUNTS_FILE` id); absent = `default`. */
    account: z.string().regex(/^[a-z0-9-]{1,40}$/, 'account must be an ACCOUNTS_FILE id ([a-z0-9-]{1,40})').default(DEFAULT_ACCOUNT_ID),
    /** The channel's customer id (a leading `+` of a phone number is accepted). */
    to: z
      .string()
      .trim()
      .min(1, 'to is empty')
      .max(256)
      .transform((v) => v.replace(/^\+(?=\d+$)/, '')),
    text: z.string().trim().min(1, 'text is empty').max(MAX_TEXT).optional(),
    media: z
      .object({
        url: z.string().url().refine((u) => /^https?:\/\//i.test(u), 'media.url must be http(s)'),
        type: z.enum(['image', 'audio', 'video', 'document']),
        caption: z.string().max(1024).optional(),
        filename: z.string().max(240).optional(),
      })
      .strict()
      .optional(),
    /** Quick-reply options (buttons or a list where the channel has them, numbered text elsewhere). */
    options: z
      .array(z.object({ id: z.string().min(1).max(200), title: z.string().min(1).max(100), description: z.string().max(200).optional() }).strict())
      .min(1)
      .max(10)
      .optional(),
    /** A message template (the channel's catalogue): allowed outside the customer-service window. */
    template: TemplateBody.optional(),
  })
  .strict()
  .refine((b) => b.text !== undefined || b.media !== undefined || b.template !== undefined, { message: 'text or media (or a template) is required' })
  .refine((b) => b.template === undefined || (b.text === undefined && b.media === undefined && b.options === undefined), { message: 'a template is sent alone: no text, media or options with it' });
export type MessageBody = z.infer<typeof MessageBody>;

/** The headers of `POST /api/v1/messages` (Node lower-cases header names). */
export const MessageHeaders = z.object({
  'idempotency-key': z
    .string({ error: 'the Idempotency-Key header is required' })
    .trim()
    .min(1, 'the Idempotency-Key header is required')
    .max(255, 'the Idempotency-Key header is longer than 255 characters')
    .meta({ description: 'any string of 1-255 characters; the same key and body again returns the same message and sends nothing twice (kept 7 days, per API key)' }),
});

/** The path of `GET /api/v1/messages/{id}`; an id that is not one this API makes is a 404. */
export const MessageIdParams = z.object({ id: z.string().regex(/^api-[A-Za-z0-9]{1,64}$/).meta({ description: 'the `id` of the 202 answer' }) });

/** The status of an API message. */
export const MessageStatus = z.enum(['queued', 'sent', 'delivered', 'read', 'failed']);

/** `202`/`200` of `POST /api/v1/messages`. */
export const MessageAccepted = z.object({ id: z.string(), status: MessageStatus }).meta({ id: 'MessageAccepted' });

/** `GET /api/v1/messages/{id}`: where the message is (the delivery ledger's status; `error` when it failed). */
export const MessageView = z
  .object({
    id: z.string(),
    status: MessageStatus,
    error: z.string().optional().meta({ description: "why it failed (the provider's error)" }),
  })
  .meta({ id: 'MessageStatus' });

/** What a {@link MessageGuard} sees: the parsed body and the conversation it would join. */
export interface MessageTarget {
  readonly body: MessageBody;
  readonly ref: ConversationRef;
}

/**
 * A check before an API message is queued (opt-outs: `409 opted_out`): return an {@link ApiError}
 * to refuse. Guards run after the customer-service window check, before the idempotency claim.
 */
export type MessageGuard = (target: MessageTarget) => Promise<ApiError | undefined>;

/** Refuses customers who opted out of business-initiated messages (`409 opted_out`). */
export function optedOutGuard(optOuts: OptOutStore): MessageGuard {
  return async ({ ref }) =>
    (await optOuts.isOptedOut(optOutRefOf(ref))) ? new ApiError(409, 'opted_out', 'the customer opted out of messages from the business (they opt in again by sending START)') : undefined;
}

/** What the routes need. */
export interface MessagesDeps {
  redis: RedisClient;
  producers: Producers;
  prefix: string;
  log: Logger;
  /** Each channel's customer-service window (from its module); a channel absent here has none. */
  windows: Readonly<Partial<Record<ChannelId, CustomerServiceWindow>>>;
  /** Extra refusals (opt-outs); none by default. */
  guards?: readonly MessageGuard[];
  /** Each channel's messaging half (templates, own limits, new conversations); a channel absent here has none. */
  messaging?: Readonly<Partial<Record<ChannelId, ChannelMessaging>>>;
  now?: () => number;
}

// first request: claim the key for this body (and name the message); again: the stored body hash and id
const CLAIM = `
local body = redis.call('HGET', KEYS[1], 'body')
if body then
  if body ~= ARGV[1] then return {'conflict', ''} end
  return {'replay', redis.call('HGET', KEYS[1], 'id')}
end
redis.call('HSET', KEYS[1], 'body', ARGV[1], 'id', ARGV[2], 'state', 'claimed')
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('HSET', KEYS[2], 'channel', ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return {'claimed', ARGV[2]}
`;

/** A channel's refusal as the API answers it. */
function refused(r: SendRefusal): ApiError {
  return new ApiError(r.status, r.error as ApiErrorCode, r.message, { ...(r.reason ? { reason: r.reason } : {}), ...(r.details ? { details: r.details.map((message) => ({ path: 'template', message, code: r.reason ?? r.error })) } : {}) });
}

function replyOf(b: MessageBody, template: ReplyTemplate | undefined): Reply {
  if (template) return { text: '', template };
  return {
    text: b.text ?? '',
    ...(b.media ? { media: [{ kind: b.media.type, url: b.media.url, ...(b.media.caption ? { caption: b.media.caption } : {}), ...(b.media.filename ? { filename: b.media.filename } : {}) }] } : {}),
    ...(b.options ? { options: b.options } : {}),
  };
}

/** The messages router (mounted at `/api/v1/messages` behind the API's bearer auth). */
export function messagesRouter(deps: MessagesDeps): Router {
  const r = express.Router();
  const keys = gatewayKeys(deps.prefix);
  const ledger = new DeliveryLedger(deps.redis, deps.prefix);
  const now = deps.now ?? Date.now;
  const wrap = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) => {
    fn(req, res).catch(next);
  };
  const statusOf = async (channel: string, id: string): Promise<Omit<z.input<typeof MessageView>, 'id'>> => (await ledger.replyStatus(channel, id)) ?? { status: 'queued' as const };

  /** The template resolved against the account's catalogue, or the refusal (the channel has none, invalid, catalogue unavailable). */
  const templateOf = async (body: MessageBody, messaging: ChannelMessaging | undefined): Promise<ReplyTemplate | undefined> => {
    if (!body.template) return undefined;
    if (!messaging?.prepareTemplate) throw new ApiError(422, 'unsupported', `${body.channel} has no message templates: send text or media`);
    const prepared = await messaging.prepareTemplate(body.account, body.template);
    if (!prepared.ok) throw refused(prepared.refusal);
    return prepared.template;
  };

  /** Refuses what the channel would refuse; the conversation the message joins. */
  const target = async (body: MessageBody, messaging: ChannelMessaging | undefined): Promise<ConversationRef> => {
    const contact: CustomerContact | undefined = await customerContact(deps.redis, deps.prefix, body.channel, body.account, body.to);
    const kind = body.template ? 'template' : 'free-form';
    let ref = contact?.ref;
    if (kind === 'template') {
      // a template may open a conversation: the channel addresses a customer who never wrote
      ref ??= messaging?.refForNewCustomer?.(body.account, body.to);
    } else {
      const window = deps.windows[body.channel];
      if (window && !insideWindow(window, contact, now())) {
        throw new ApiError(422, 'outside_window', `the customer's service window is closed: free-form messages need a message from them in the last ${Math.round(window.afterLastMessageMs / 3600_000)} h${window.afterEntryPointMs ? ` (${Math.round(window.afterEntryPointMs / 3600_000)} h after an ad or post entry)` : ''}; send a template instead`);
      }
    }
    if (!ref) {
      const start = kind === 'template' && messaging?.refForNewCustomer ? ' (a template starts a conversation once the account\'s sending number is configured)' : '';
      throw new ApiError(422, 'unknown_customer', `no conversation with this customer on ${body.channel}/${body.account}: they must have written to this account first${start}`);
    }
    const refusal = await messaging?.check?.({ accountId: body.account, to: body.to, kind, ref, contact, now: now() });
    if (refusal) throw refused(refusal);
    for (const guard of deps.guards ?? []) {
      const refusal = await guard({ body, ref });
      if (refusal) throw refusal;
    }
    return ref;
  };

  r.post(
    '/',
    express.json({ limit: '64kb' }),
    wrap(async (req, res) => {
      const idemKey = parseOr400(MessageHeaders, { 'idempotency-key': req.get('Idempotency-Key') })['idempotency-key'];
      const body = parseOr400(MessageBody, req.body);
      const keyName = apiKeyName(res) ?? '';
      const hash = bodyHash(body);
      const idem = keys.api.idempotency(keyName, idemKey);
      const seen = await deps.redis.hmget(idem, 'body', 'id', 'state');
      if (seen[0] && seen[0] !== hash) throw new ApiError(409, 'idempotency_conflict', 'this Idempotency-Key was used with another body');
      if (seen[0] && seen[1] && seen[2] === 'queued') {
        res.status(200).json({ id: seen[1], ...(await statusOf(body.channel, seen[1])) });
        return;
      }
      const messaging = deps.messaging?.[body.channel];
      const template = await templateOf(body, messaging);
      const ref = await target(body, messaging);
      const id = `api-${shortHash(`${keyName}|${idemKey}`, 32)}`;
      const [outcome, claimedId] = (await deps.redis.eval(CLAIM, 2, idem, keys.api.message(id), hash, id, body.channel, String(IDEMPOTENCY_TTL_SEC))) as [string, string];
      if (outcome === 'conflict') throw new ApiError(409, 'idempotency_conflict', 'this Idempotency-Key was used with another body');
      // claimed, or a concurrent or crashed first request: enqueueReply is idempotent per outbound id (same place, same job)
      await enqueueReply({ redis: deps.redis, producers: deps.producers, keys }, ref, { outboundId: claimedId, reply: replyOf(body, template), origin: 'api' });
      await deps.redis.hset(idem, 'state', 'queued');
      deps.log.info('api message enqueued', { key: keyName, channel: body.channel, account: body.account, outboundId: claimedId, ...(template ? { template: `${template.name}:${template.language}` } : {}), replay: outcome !== 'claimed' });
      res.status(outcome === 'claimed' ? 202 : 200).json({ id: claimedId, status: 'queued' });
    }),
  );

  r.get(
    '/:id',
    wrap(async (req, res) => {
      const params = MessageIdParams.safeParse(req.params);
      const id = params.success ? params.data.id : '';
      const channel = params.success ? await deps.redis.hget(keys.api.message(id), 'channel') : null;
      if (!channel) return sendApiError(res, 404, 'not_found', 'no such message (ids are kept 7 days)');
      res.set('Cache-Control', 'no-store').json({ id, ...(await statusOf(channel, id)) });
    }),
  );

  return r;
}
