import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { ChannelId, conversationId, DEFAULT_ACCOUNT_ID, jobId, type ConversationRef, type ConversationSignal, type Logger } from '@switchboard/core';
import { enqueueReply, gatewayKeys, getConversationOwner, OptOutStore, optOutRefOf, type Producers, type RedisClient } from '@switchboard/queue';
import type { ConversationDetail, RecordReader } from '@switchboard/record';
import { ApiError, parseOr400 as parse } from './api.js';

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

const ActionBody = z.object({
  /** The console's id of this click: a repeated submission sends nothing twice. */
  requestId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'requestId must be 8-64 letters, digits, _ or -'),
});
const ReplyBody = ActionBody.extend({ text: z.string().trim().min(1, 'text is empty').max(MAX_REPLY) }).strict();


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
  const signal = async (ref: ConversationRef, kind: 'human_took_over' | 'bot_resumed', eventId: string, reason: string): Promise<void> => {
    const event: ConversationSignal = { kind: 'signal', eventId, conversation: ref, at: Date.now(), signal: kind, detail: { reason, source: 'console' } };
    // the job id is the event id, as the ingress apps enqueue: a repeated click adds nothing
    await deps.producers.enqueue('inbound', event, { jobId: eventId });
  };

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
      res.set('Cache-Control', 'no-store').json({ owner: o.owner, ...(o.record ? { reason: o.record.reason, since: new Date(o.record.at).toISOString() } : {}) });
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
        await signal(ref, kind, jobId('console', action, detail.id, body.requestId), reason);
        deps.log.info(logLine, { conversation: detail.id, channel: detail.channel });
        res.status(202).json({ conversationId: detail.id, owner });
      }),
    );
  ownershipAction('takeover', 'human_took_over', 'human', 'taken over in the console', 'console take over');
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
