import { conversationId, defineChannelWorker, DEFAULT_ACCOUNT_ID, jobId, outboundQueueFor, type ChannelAccounts, type OutboundJob } from '@switchboard/core';
import { normalizeOrigin } from '@switchboard/fetch';
import {
  CHATWOOT_MEDIA_RULES,
  ChatwootMirror,
  chatwootClients,
  chatwootEnv,
  chatwootSettings,
  createChatwootOutboundAdapter,
  HUMAN_REPLIED,
  relayedChatwootMessage,
  reportDeliveryFailure,
  type ChatwootClient,
  type ChatwootSettings,
} from '@switchboard/channel-chatwoot/outbound';
import { renderContent } from '@switchboard/agent';
import { UrlMediaSource } from '@switchboard/media';
import { createWorker } from '@switchboard/queue';
import type { WorkerChannelContext, WorkerInboundHook, WorkerRuntime } from './runtime.js';

/** Typed settings of one Chatwoot account. */
export type ChatwootWorkerSettings = Extract<ChatwootSettings, { enabled: true }>;

/** Mirror jobs mostly wait on Chatwoot; a few in flight keep one Chatwoot instance comfortable. */
const MAX_MIRROR_CONCURRENCY = 8;

/**
 * Inbound hook: a human agent's public reply in the Chatwoot mirror inbox (normalized by
 * chatwoot-ingress to the original conversation of another channel) goes out through that
 * channel's normal outbound queue (its formatting and limits), remembers the Chatwoot message for
 * failure reports, and makes the conversation human-owned so the bot stays quiet.
 */
export function chatwootRelayHook(ctx: Pick<WorkerChannelContext, 'producers' | 'setOwner' | 'log'>): WorkerInboundHook {
  return async (event) => {
    if (event.kind !== 'message' || event.author !== 'human_agent' || event.conversation.channel === 'chatwoot') return false;
    const chatwootMessage = relayedChatwootMessage(event);
    if (!chatwootMessage) return false;
    const outboundId = jobId('human', event.eventId);
    const job: OutboundJob = {
      outboundId,
      ref: event.conversation,
      reply: { text: renderContent(event.content) },
      origin: 'human',
      chatwootMessage,
      receivedAt: event.receivedAt,
    };
    // enqueue first: the job id and the outbound ledger make a retried hook send at most once
    await ctx.producers.enqueue(outboundQueueFor(event.conversation.channel), job, { jobId: outboundId });
    await ctx.setOwner(conversationId(event.conversation), 'human', 'chatwoot agent replied');
    ctx.log.info('chatwoot agent reply relayed', { channel: event.conversation.channel, outboundId, chatwootConversationId: chatwootMessage.conversationId });
    return true;
  };
}

/**
 * Inbound hook: a human agent replied publicly in a bot conversation. Chatwoot leaves it `pending`
 * for webhook bots (#4410), so the conversation is opened with the bot token (`bot_handoff!`);
 * from then on `pending` again really means "back to the bot". The signal itself then goes on to
 * the normal ownership handling (returns false).
 */
export function chatwootTakeoverHook(bot: ChatwootClient, ctx: Pick<WorkerChannelContext, 'log'>): WorkerInboundHook {
  return async (event) => {
    if (event.kind !== 'signal' || event.signal !== 'human_took_over' || event.conversation.channel !== 'chatwoot') return false;
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
 * The `mirror` consumer: copies the other channels' conversations into the Chatwoot API inbox
 * (`CHATWOOT_MIRROR_INBOX_ID`) with the user token, in its own queue with its own retries, so a
 * Chatwoot outage never blocks or delays a customer's reply.
 */
export function startMirrorConsumer(s: ChatwootWorkerSettings, ctx: Pick<WorkerChannelContext, 'log' | 'redis' | 'queueRedis' | 'prefix' | 'consumers'>) {
  const { bot, user } = chatwootClients(s);
  if (!user || s.mirrorInboxId === undefined) {
    ctx.log.warn('mirror role disabled: CHATWOOT_API_TOKEN (an administrator user token) is needed to create contacts and conversations');
    return [];
  }
  const mirror = new ChatwootMirror({
    user,
    ...(bot ? { bot } : {}),
    ...(s.botId !== undefined ? { botId: s.botId } : {}),
    inboxId: s.mirrorInboxId,
    redis: ctx.redis,
    prefix: ctx.prefix,
    log: ctx.log,
  });
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

/** Chatwoot attachments: plain (redirecting) URLs; CHATWOOT_URL's origin is fetched whatever its address. */
function attachmentSource(ctx: Pick<WorkerChannelContext, 'fetcher'>, url: string | undefined): UrlMediaSource {
  const origin = url ? normalizeOrigin(new URL(url).origin) : undefined;
  return new UrlMediaSource({ fetcher: ctx.fetcher, ...(origin ? { providerOrigins: [origin] } : {}) });
}

/** The Chatwoot channel (agent bot, mirror inbox, human takeover), worker half. */
export const chatwoot = defineChannelWorker<typeof chatwootEnv, ChatwootWorkerSettings, WorkerRuntime>({
  id: 'chatwoot',
  title: 'Chatwoot',
  env: chatwootEnv,
  outboundQueue: 'outbound-chatwoot',
  media: CHATWOOT_MEDIA_RULES,
  accounts(env): ChannelAccounts<ChatwootWorkerSettings> {
    const settings = chatwootSettings(env);
    if (!settings.enabled) {
      const missing = (['CHATWOOT_URL', 'CHATWOOT_ACCOUNT_ID'] as const).filter((k) => env[k] === undefined);
      return { enabled: false, missing, hint: settings.reason };
    }
    return { enabled: true, accounts: [{ id: DEFAULT_ACCOUNT_ID, settings }] };
  },
  sendRate: () => ({ max: 1000, durationMs: 1000 }),
  unconfiguredMediaSource: (env, ctx) => attachmentSource(ctx, env.CHATWOOT_URL),
  open(account, ctx) {
    const s = account.settings;
    const { bot, user } = chatwootClients(s);
    if (!bot) ctx.log.warn('Chatwoot agent bot disabled: CHATWOOT_BOT_TOKEN is not set');
    if (!user && s.mirrorInboxId !== undefined) ctx.log.warn('CHATWOOT_API_TOKEN is not set: failed deliveries of agent replies cannot be reported in Chatwoot');
    const adapter = bot ? createChatwootOutboundAdapter({ bot, ...(user ? { user } : {}), ...(s.botId !== undefined ? { botId: s.botId } : {}), log: ctx.log, fetcher: ctx.fetcher }) : undefined;
    const onOutboundFailed = user
      ? async (job: OutboundJob, reason: string) => {
          if (!job.chatwootMessage) return;
          await reportDeliveryFailure(user, job.chatwootMessage, reason);
          ctx.log.info('delivery failure reported to chatwoot', { outboundId: job.outboundId, chatwootConversationId: job.chatwootMessage.conversationId });
        }
      : undefined;
    return {
      accountId: account.id,
      ...(adapter ? { adapter } : {}),
      mediaSource: attachmentSource(ctx, s.baseUrl),
      inboundHooks: bot ? [chatwootRelayHook(ctx), chatwootTakeoverHook(bot, ctx)] : [chatwootRelayHook(ctx)],
      ...(onOutboundFailed ? { onOutboundFailed } : {}),
      ...(s.mirrorInboxId !== undefined ? { mirrorsConversations: true, roles: { mirror: () => startMirrorConsumer(s, ctx) } } : {}),
    };
  },
});
