import { renderContent } from '@switchboard/agent';
import {
  conversationId,
  jobId,
  type Logger,
  type OutboundAdapter,
  type OutboundJob,
} from '@switchboard/core';
import { enqueueReply } from '@switchboard/queue';
import {
  chatwootClients,
  chatwootSettingsFromEnv,
  HUMAN_REPLIED,
  type ChatwootClient,
  createChatwootOutboundAdapter,
  relayedChatwootMessage,
  reportDeliveryFailure,
  type ChatwootSettings,
} from '@switchboard/channel-chatwoot/outbound';
import type { GuardedFetcher } from '@switchboard/fetch';
import type { InboundHook, WorkerDeps } from '../deps.js';
import { setOwner } from '../schedule.js';

/**
 * Chatwoot settings from the worker's parsed environment. The worker env must include the
 * `chatwootEnv` fragment; values already parsed by it parse again to themselves.
 */
export function chatwootWorkerSettings(env: Record<string, unknown>): ChatwootSettings {
  return chatwootSettingsFromEnv(env);
}

/** The agent-bot outbound adapter, or undefined (with one warning) when Chatwoot or its bot token is not configured. */
export function buildChatwootAdapter(settings: ChatwootSettings, log: Logger, fetcher?: GuardedFetcher): OutboundAdapter | undefined {
  if (!settings.enabled) {
    log.warn('Chatwoot agent bot disabled: set CHATWOOT_URL, CHATWOOT_ACCOUNT_ID and CHATWOOT_BOT_TOKEN to enable it', { reason: settings.reason });
    return undefined;
  }
  const { bot, user } = chatwootClients(settings);
  if (!bot) {
    log.warn('Chatwoot agent bot disabled: CHATWOOT_BOT_TOKEN is not set');
    return undefined;
  }
  return createChatwootOutboundAdapter({ bot, ...(user ? { user } : {}), ...(settings.botId !== undefined ? { botId: settings.botId } : {}), log, ...(fetcher ? { fetcher } : {}) });
}

/**
 * Inbound hook: a human agent's public reply in the Chatwoot mirror inbox (normalized by
 * chatwoot-ingress to the original WhatsApp/WeChat conversation) goes out through that channel's
 * normal outbound queue (its formatting and limits), remembers the Chatwoot message for failure
 * reports, and makes the conversation human-owned so the bot stays quiet.
 */
export const chatwootRelayHook: InboundHook = async (event, deps) => {
  if (event.kind !== 'message' || event.author !== 'human_agent' || event.conversation.channel === 'chatwoot') return false;
  const chatwootMessage = relayedChatwootMessage(event);
  if (!chatwootMessage) return false;
  const outboundId = jobId('human', event.eventId);
  // enqueue first: the job id and the outbound ledger make a retried hook send at most once; in
  // order: a bot reply still pending for the conversation goes first
  await enqueueReply(deps, event.conversation, {
    outboundId,
    reply: { text: renderContent(event.content) },
    origin: 'human',
    chatwootMessage,
    receivedAt: event.receivedAt,
  });
  await setOwner(deps, conversationId(event.conversation), 'human', 'chatwoot agent replied');
  deps.log.info('chatwoot agent reply relayed', { channel: event.conversation.channel, outboundId, chatwootConversationId: chatwootMessage.conversationId });
  return true;
};

/**
 * Inbound hook: a human agent replied publicly in a bot conversation. Chatwoot leaves it `pending`
 * for webhook bots (#4410), so the conversation is opened with the bot token (`bot_handoff!`);
 * from then on `pending` again really means "back to the bot". The signal itself then goes on to
 * the normal ownership handling (returns false).
 */
export function chatwootTakeoverHook(bot: ChatwootClient): InboundHook {
  return async (event, deps) => {
    if (event.kind !== 'signal' || event.signal !== 'human_took_over' || event.conversation.channel !== 'chatwoot') return false;
    if (event.detail['reason'] !== HUMAN_REPLIED) return false;
    const id = Number(event.conversation.threadId);
    if (!Number.isInteger(id) || id <= 0) return false;
    try {
      await bot.toggleStatus(id, 'open');
    } catch (err: unknown) {
      // ownership is still recorded by the inbound role; opening is a courtesy to Chatwoot's UI and metrics
      deps.log.warn('chatwoot: could not open the conversation after a human reply', { chatwootConversationId: id, err: err instanceof Error ? err.message : String(err) });
    }
    return false;
  };
}

/** Reports a relayed human reply that could not be delivered back on its Chatwoot message (status failed + private note). */
export function chatwootFailureReporter(settings: ChatwootSettings, log: Logger): ((job: OutboundJob, reason: string) => Promise<void>) | undefined {
  const { user } = chatwootClients(settings);
  if (!user) return undefined;
  return async (job, reason) => {
    if (!job.chatwootMessage) return;
    await reportDeliveryFailure(user, job.chatwootMessage, reason);
    log.info('delivery failure reported to chatwoot', { outboundId: job.outboundId, chatwootConversationId: job.chatwootMessage.conversationId });
  };
}

/**
 * Wires the Chatwoot channel into the worker: the agent-bot adapter, the failure reporter and the
 * relay hook for the inbound role. Call once in the composition root:
 * `const { hooks } = setupChatwoot(deps); startInboundRole(deps, hooks);`
 */
export function setupChatwoot(deps: Pick<WorkerDeps, 'env' | 'log' | 'adapters' | 'onOutboundFailed'> & Partial<Pick<WorkerDeps, 'fetcher'>>): { hooks: InboundHook[] } {
  const settings = chatwootWorkerSettings(deps.env);
  const adapter = buildChatwootAdapter(settings, deps.log, deps.fetcher);
  if (adapter) deps.adapters.chatwoot = adapter;
  const reporter = settings.enabled ? chatwootFailureReporter(settings, deps.log) : undefined;
  if (reporter) deps.onOutboundFailed.push(reporter);
  else if (settings.enabled && settings.mirrorInboxId !== undefined) deps.log.warn('CHATWOOT_API_TOKEN is not set: failed deliveries of agent replies cannot be reported in Chatwoot');
  const { bot } = chatwootClients(settings);
  return { hooks: bot ? [chatwootRelayHook, chatwootTakeoverHook(bot)] : [chatwootRelayHook] };
}
