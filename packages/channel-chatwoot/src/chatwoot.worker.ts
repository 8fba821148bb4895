import type { Worker } from 'bullmq';
import type { Counter } from 'prom-client';
import { accountIdOf, conversationId, DEFAULT_ACCOUNT_ID, jobId, type ChannelId, type ChannelInboundHook, type ChannelMessaging, type ConversationRef, type InboundMessage, type Logger, type MessageContent, type ReplyTemplate } from '@switchboard/core';
import { createWorker, enqueueReply, type RedisClient, type ReplyContext } from '@switchboard/queue';
import type { ChatwootClient } from './chatwoot.client.js';
import type { ChatwootSettings } from './chatwoot.env.js';
import { chatwootClients } from './chatwoot.outbound-adapter.js';
import { ChatwootMirror } from './chatwoot.mirror.js';
import { HUMAN_REPLIED, relayedChatwootMessage } from './chatwoot.parse.js';
import { isTemplateCommand, parseTemplateCommand } from './chatwoot.template-command.js';
import { FOREIGN_ATTACHMENT_REASON, relayedReply } from './chatwoot.relay-media.js';

/** What the relay hook needs from the worker (it enqueues through `enqueueReply`, in conversation order). */
export interface ChatwootRelayContext extends ReplyContext {
  readonly log: Logger;
  setOwner(conversationId: string, owner: 'human' | 'bot', reason: string, accountId?: string, ref?: ConversationRef): Promise<void>;
  /** Message content as the text sent to the customer (the agent's renderer). */
  renderText(content: MessageContent): string;
  /** The channels' messaging halves: the template command checks and resolves templates with them. */
  readonly messaging?: Readonly<Partial<Record<ChannelId, ChannelMessaging>>>;
  /** Posts a private note in the Chatwoot conversation (needs the user token); absent = refusals are only logged. */
  note?(chatwootConversationId: number, text: string): Promise<void>;
  /** The origin of this account's CHATWOOT_URL: agents' attachments are sent only from there. */
  readonly chatwootOrigin?: string;
  /** `sb_fetch_refused_total`: an attachment on another origin is counted there. */
  readonly refused?: Counter<'reason'>;
}

/** The template of a `/template` command, or why it cannot be sent (a 503-like problem is thrown: the inbound job retries). */
async function commandTemplate(ctx: ChatwootRelayContext, event: InboundMessage, text: string): Promise<{ template: ReplyTemplate } | { refusal: string }> {
  const command = parseTemplateCommand(text);
  if (!command || !command.ok) return { refusal: command ? command.message : 'not a template command' };
  const channel = event.conversation.channel;
  const messaging = ctx.messaging?.[channel];
  if (!messaging?.prepareTemplate) return { refusal: `${channel} has no message templates; write the message instead` };
  const prepared = await messaging.prepareTemplate(accountIdOf(event.conversation), command.request);
  if (prepared.ok) return { template: prepared.template };
  if (prepared.refusal.status === 503) throw new Error(`template catalogue unavailable: ${prepared.refusal.message}`);
  const details = prepared.refusal.details?.length ? ` (${prepared.refusal.details.join('; ')})` : '';
  return { refusal: `${prepared.refusal.message}${details}` };
}

/** What the mirror consumer needs from the worker. */
export interface ChatwootMirrorContext {
  readonly log: Logger;
  readonly redis: RedisClient;
  readonly queueRedis: RedisClient;
  readonly prefix: string;
  readonly consumers: { readonly concurrency: number };
}

/** Mirror jobs mostly wait on Chatwoot; a few in flight keep one Chatwoot instance comfortable. */
const MAX_MIRROR_CONCURRENCY = 8;

/**
 * Inbound hook: a human agent's public reply in the Chatwoot mirror inbox (normalized by
 * chatwoot-ingress to the original conversation of another channel) goes out through that
 * channel's normal outbound queue (its formatting and limits), remembers the Chatwoot message for
 * failure reports, and makes the conversation human-owned so the bot stays quiet.
 */
export function chatwootRelayHook(ctx: ChatwootRelayContext, gatewayAccountId: string = DEFAULT_ACCOUNT_ID): ChannelInboundHook {
  return async (event) => {
    if (event.kind !== 'message' || event.author !== 'human_agent' || event.conversation.channel === 'chatwoot') return false;
    const chatwootMessage = relayedChatwootMessage(event);
    // every account's hooks see every event: only the instance the reply was typed in relays it
    if (!chatwootMessage || (chatwootMessage.accountId ?? DEFAULT_ACCOUNT_ID) !== gatewayAccountId) return false;
    const outboundId = jobId('human', event.eventId);
    const text = event.content.type === 'text' ? event.content.text : '';
    let template: ReplyTemplate | undefined;
    if (isTemplateCommand(text)) {
      const outcome = await commandTemplate(ctx, event, text);
      if ('refusal' in outcome) {
        await ctx.note?.(chatwootMessage.conversationId, `⚠️ Template not sent: ${outcome.refusal}`);
        ctx.log.info('chatwoot template command refused', { channel: event.conversation.channel, account: gatewayAccountId, chatwootConversationId: chatwootMessage.conversationId, reason: outcome.refusal });
        return true;
      }
      template = outcome.template;
    }
    const relayed = template ? { reply: { text: '', template } } : relayedReply(event.content, (c) => ctx.renderText(c), ctx.chatwootOrigin);
    if (relayed.refused) {
      // never fetched: a URL the agent did not upload to this Chatwoot (a forged or foreign payload)
      ctx.refused?.inc({ reason: FOREIGN_ATTACHMENT_REASON });
      ctx.log.warn('chatwoot attachment refused', { channel: event.conversation.channel, account: gatewayAccountId, chatwootConversationId: chatwootMessage.conversationId, reason: relayed.refused.why });
      const name = relayed.refused.filename ? ` "${relayed.refused.filename}"` : '';
      await ctx.note?.(chatwootMessage.conversationId, `⚠️ File${name} not sent to the customer: ${relayed.refused.why}.`);
    }
    // enqueue first: the job id and the outbound ledger make a retried hook send at most once; in
    // order: a bot reply still pending for the conversation goes first
    if (relayed.reply) {
      await enqueueReply(ctx, event.conversation, { outboundId, reply: relayed.reply, origin: 'human', chatwootMessage, receivedAt: event.receivedAt });
    }
    await ctx.setOwner(conversationId(event.conversation), 'human', 'chatwoot agent replied', event.conversation.accountId, event.conversation);
    ctx.log.info('chatwoot agent reply relayed', { channel: event.conversation.channel, account: gatewayAccountId, outboundId, ...(template ? { template: `${template.name}:${template.language}` } : {}), chatwootConversationId: chatwootMessage.conversationId });
    return true;
  };
}

/**
 * Inbound hook: a human agent replied publicly in a bot conversation. Chatwoot leaves it `pending`
 * for webhook bots (#4410), so the conversation is opened with the bot token (`bot_handoff!`);
 * from then on `pending` again really means "back to the bot". The signal itself then goes on to
 * the normal ownership handling (returns false).
 */
export function chatwootTakeoverHook(bot: ChatwootClient, ctx: { readonly log: Logger }, gatewayAccountId: string = DEFAULT_ACCOUNT_ID): ChannelInboundHook {
  return async (event) => {
    if (event.kind !== 'signal' || event.signal !== 'human_took_over' || event.conversation.channel !== 'chatwoot') return false;
    if (accountIdOf(event.conversation) !== gatewayAccountId) return false;
    if (event.detail['reason'] !== HUMAN_REPLIED) return false;
    const id = Number(event.conversation.threadId);
    if (!Number.isInteger(id) || id <= 0) return false;
    try {
      await bot.toggleStatus(id, 'open');
    } catch (err: unknown) {
      // ownership is still recorded by the inbound role; opening is a courtesy to Chatwoot's UI and metrics
      ctx.log.warn('chatwoot: could not open the conversation after a human reply', { chatwootConversationId: id, err: err instanceof Error ? err.message : String(err) });
    }
    return false;
  };
}

/**
 * The mirror of one Chatwoot account: copies the other channels' conversations into its API inbox
 * (`mirrorInboxId`) with the user token; undefined (warned) without a user token or mirror inbox.
 */
export function chatwootMirror(s: Extract<ChatwootSettings, { enabled: true }>, ctx: Pick<ChatwootMirrorContext, 'log' | 'redis' | 'prefix'>, gatewayAccountId: string = DEFAULT_ACCOUNT_ID): ChatwootMirror | undefined {
  const { bot, user } = chatwootClients(s);
  if (!user || s.mirrorInboxId === undefined) {
    ctx.log.warn('mirror role disabled: CHATWOOT_API_TOKEN (an administrator user token) is needed to create contacts and conversations', { account: gatewayAccountId });
    return undefined;
  }
  return new ChatwootMirror({
    user,
    ...(bot ? { bot } : {}),
    ...(s.botId !== undefined ? { botId: s.botId } : {}),
    inboxId: s.mirrorInboxId,
    gatewayAccountId,
    redis: ctx.redis,
    prefix: ctx.prefix,
    log: ctx.log,
    facts: s.mirrorFacts,
  });
}

/**
 * A `mirror` consumer for the `default` account alone (the worker runs one consumer for every
 * account, dispatching each job to the account it names): copies the other channels'
 * conversations into the Chatwoot API inbox (`CHATWOOT_MIRROR_INBOX_ID`) in its own queue with its
 * own retries, so a Chatwoot outage never blocks or delays a customer's reply.
 */
export function startMirrorConsumer(s: Extract<ChatwootSettings, { enabled: true }>, ctx: ChatwootMirrorContext): Worker[] {
  const mirror = chatwootMirror(s, ctx);
  if (!mirror) return [];
  return [
    createWorker(
      'mirror',
      async (job) => {
        const outcome = await mirror.apply(job);
        return outcome.posted ? { posted: outcome.messageId } : { skipped: outcome.reason };
      },
      { connection: ctx.queueRedis, prefix: ctx.prefix, log: ctx.log, concurrency: Math.min(ctx.consumers.concurrency, MAX_MIRROR_CONCURRENCY) },
    ),
  ];
}
