import { defineAccountFile, defineChannelWorker, DEFAULT_ACCOUNT_ID, type ChannelAccounts, type ConversationRef, type MirrorContext, type MirrorJob, type OutboundJob } from '@switchboard/core';
import { fetchRefusedCounter, normalizeOrigin } from '@switchboard/fetch';
import {
  CHATWOOT_MEDIA_RULES,
  chatwootAccountFields,
  chatwootFileSettings,
  chatwootClients,
  chatwootEnv,
  chatwootRelayHook,
  chatwootSettings,
  chatwootTakeoverHook,
  createChatwootOutboundAdapter,
  reportDeliveryFailure,
  chatwootMirror,
  type ChatwootSettings,
} from './outbound.js';
import { renderContent } from '@switchboard/agent';
import { UrlMediaSource } from '@switchboard/media';
import type { WorkerChannelContext, WorkerRuntime } from '@switchboard/channel-runtime';

/** Typed settings of one Chatwoot account. */
export type ChatwootWorkerSettings = Extract<ChatwootSettings, { enabled: true }>;

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
  accountFile: defineAccountFile(chatwootAccountFields, (f, _entry, env) => chatwootFileSettings(f, env)),
  sendRate: () => ({ max: 1000, durationMs: 1000 }),
  unconfiguredMediaSource: (env, ctx) => attachmentSource(ctx, env.CHATWOOT_URL),
  open(account, ctx) {
    const s = account.settings;
    const { bot, user } = chatwootClients(s);
    const note = user
      ? async (chatwootConversationId: number, content: string) => {
          await user.sendMessage(chatwootConversationId, { content, message_type: 'outgoing', private: true });
        }
      : undefined;
    const relay = { redis: ctx.redis, keys: ctx.keys, producers: ctx.producers, log: ctx.log, setOwner: (conversationId: string, owner: 'human' | 'bot', reason: string, accountId?: string, ref?: ConversationRef) => ctx.setOwner(conversationId, owner, reason, accountId, ref), renderText: renderContent, ...(ctx.messaging ? { messaging: ctx.messaging } : {}), ...(note ? { note } : {}), chatwootOrigin: normalizeOrigin(new URL(s.baseUrl).origin), refused: fetchRefusedCounter(ctx.registry) };
    if (!bot) ctx.log.warn('Chatwoot agent bot disabled: CHATWOOT_BOT_TOKEN is not set');
    if (!user && s.mirrorInboxId !== undefined) ctx.log.warn('CHATWOOT_API_TOKEN is not set: failed deliveries of agent replies cannot be reported in Chatwoot');
    const adapter = bot ? createChatwootOutboundAdapter({ bot, ...(user ? { user } : {}), ...(s.botId !== undefined ? { botId: s.botId } : {}), log: ctx.log, fetcher: ctx.fetcher }) : undefined;
    const onOutboundFailed = user
      ? async (job: OutboundJob, reason: string) => {
          // every account hears every failure: only the instance the relayed message is in reports it
          if (!job.chatwootMessage || (job.chatwootMessage.accountId ?? DEFAULT_ACCOUNT_ID) !== account.id) return;
          await reportDeliveryFailure(user, job.chatwootMessage, reason);
          ctx.log.info('delivery failure reported to chatwoot', { account: account.id, outboundId: job.outboundId, chatwootConversationId: job.chatwootMessage.conversationId });
        }
      : undefined;
    const mirror = s.mirrorInboxId !== undefined ? chatwootMirror(s, ctx, account.id) : undefined;
    return {
      accountId: account.id,
      ...(adapter ? { adapter } : {}),
      mediaSource: attachmentSource(ctx, s.baseUrl),
      inboundHooks: bot ? [chatwootRelayHook(relay, account.id), chatwootTakeoverHook(bot, ctx, account.id)] : [chatwootRelayHook(relay, account.id)],
      ...(onOutboundFailed ? { onOutboundFailed } : {}),
      ...(mirror ? { mirror: (job: MirrorJob, context?: MirrorContext) => mirror.apply(job, context), mirrorsMediaNotes: s.mirrorMediaNotes } : {}),
    };
  },
});
