/**
 * The channel registry: one module per channel, each joined from its channel package's `./inbound`
 * and `./worker` halves. Adding a channel id to `ChannelId` without registering its module here does
 * not compile (the record is complete, not `Partial`).
 */
import type { AccountsFile, ChannelId, ChannelMessaging, ChannelRegistry, ChannelWorkerRegistry, CustomerServiceWindow, EnvShape } from '@switchboard/core';
import type { MessagingContext, WorkerRuntime } from '@switchboard/channel-runtime';
import { chatwootInbound } from '@switchboard/channel-chatwoot/inbound';
import { chatwoot } from '@switchboard/channel-chatwoot/worker';
import { telegramInbound } from '@switchboard/channel-telegram/inbound';
import { telegram, telegramMessaging } from '@switchboard/channel-telegram/worker';
import { wechatInbound } from '@switchboard/channel-wechat-kf/inbound';
import { wechatKf, wechatMessaging } from '@switchboard/channel-wechat-kf/worker';
import { whatsappInbound } from '@switchboard/channel-whatsapp/inbound';
import { whatsapp, whatsappMessaging } from '@switchboard/channel-whatsapp/worker';
import { whatsappBroadcastOutcome, whatsappTemplatePreparer, type BroadcastOutcome } from '@switchboard/channel-whatsapp/outbound';

/**
 * Every channel module: its inbound half (served by its ingress app through `createIngressApp`) and
 * its worker half. The registry lines: a fifth channel is one more entry here.
 */
export const CHANNEL_MODULES: ChannelRegistry<WorkerRuntime> = {
  whatsapp: { id: 'whatsapp', inbound: whatsappInbound, worker: whatsapp, messaging: whatsappMessaging },
  'wechat-kf': { id: 'wechat-kf', inbound: wechatInbound, worker: wechatKf, messaging: wechatMessaging },
  chatwoot: { id: 'chatwoot', inbound: chatwootInbound, worker: chatwoot },
  telegram: { id: 'telegram', inbound: telegramInbound, worker: telegram, messaging: telegramMessaging },
};

/** Every channel's worker half (what the worker opens). */
export const CHANNELS: ChannelWorkerRegistry<WorkerRuntime> = {
  whatsapp: CHANNEL_MODULES.whatsapp.worker,
  'wechat-kf': CHANNEL_MODULES['wechat-kf'].worker,
  chatwoot: CHANNEL_MODULES.chatwoot.worker,
  telegram: CHANNEL_MODULES.telegram.worker,
};

/** The environment fragments of every channel, merged (for the worker's schema). */
export const channelsEnv = {
  ...whatsapp.typed.env,
  ...wechatKf.typed.env,
  ...chatwoot.typed.env,
  ...telegram.typed.env,
} satisfies EnvShape;

/** Each channel's customer-service window for business-started free-form messages (channels without one are absent). */
export function customerServiceWindows(): Partial<Record<ChannelId, CustomerServiceWindow>> {
  const out: Partial<Record<ChannelId, CustomerServiceWindow>> = {};
  for (const m of Object.values(CHANNEL_MODULES)) if (m.inbound.freeFormWindow) out[m.id] = m.inbound.freeFormWindow;
  return out;
}

/** The variables every channel's messaging half reads (for the schema of a process that opens them: the admin app). */
export const channelMessagingEnv = {
  ...whatsappMessaging.env,
  ...wechatMessaging.env,
  ...telegramMessaging.env,
} satisfies EnvShape;

/**
 * Every channel's messaging half, opened for the process's configuration: templates, sending
 * limits and new conversations of business messages (`POST /api/v1/messages`). A channel without
 * one is absent (no templates, no extra limits).
 */
export function openChannelMessaging(opts: { env: Readonly<Record<string, unknown>>; accountsFile?: AccountsFile | undefined; context: MessagingContext }): Partial<Record<ChannelId, ChannelMessaging>> {
  const out: Partial<Record<ChannelId, ChannelMessaging>> = {};
  for (const m of Object.values(CHANNEL_MODULES)) if (m.messaging) out[m.id] = m.messaging.open(opts);
  return out;
}

/**
 * The message-template catalogues of the channels that have them (WhatsApp), for processes that
 * only read them (the admin API): their environment fragment and the opener.
 */
export { whatsappTemplateEnv as templateCatalogueEnv, openTemplateCatalogues } from '@switchboard/channel-whatsapp/outbound';

/**
 * Broadcasts (`POST /api/v1/broadcasts`): each channel with message templates, its template check
 * (every recipient's parameters against the catalogue, resolved to filled components) and how a
 * failed send counts (skipped: blocked or invalid, or failed with a reason). A channel absent here
 * has no templates: a broadcast on it is refused.
 */
export const BROADCAST_CHANNELS = {
  whatsapp: { preparer: whatsappTemplatePreparer, outcome: whatsappBroadcastOutcome },
} as const satisfies Partial<Record<ChannelId, unknown>>;

/** The template check of each channel that has templates, over the catalogues opened by {@link openTemplateCatalogues}. */
export function broadcastTemplatePreparers(catalogues: Parameters<typeof whatsappTemplatePreparer>[0]): Partial<Record<ChannelId, ReturnType<typeof whatsappTemplatePreparer>>> {
  return { whatsapp: BROADCAST_CHANNELS.whatsapp.preparer(catalogues) };
}

/** How a failed broadcast send of `channel` counts; channels without templates never broadcast. */
export function broadcastOutcomeOf(channel: ChannelId, error: string): BroadcastOutcome {
  const c = (BROADCAST_CHANNELS as Partial<Record<ChannelId, (typeof BROADCAST_CHANNELS)['whatsapp']>>)[channel];
  return c ? c.outcome(error) : { failed: 'error' };
}
export type { BroadcastOutcome, TemplatePrepared, TemplatePrepareProblem } from '@switchboard/channel-whatsapp/outbound';
