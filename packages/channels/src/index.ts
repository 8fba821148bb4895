/**
 * The channel registry: one worker module per channel. Adding a channel id to `ChannelId` without
 * registering its module here does not compile (the record is complete, not `Partial`).
 */
import type { ChannelRegistry, ChannelWorkerRegistry, EnvShape } from '@switchboard/core';
import { chatwootInbound } from '@switchboard/channel-chatwoot/inbound';
import { telegramInbound } from '@switchboard/channel-telegram/inbound';
import { wechatInbound } from '@switchboard/channel-wechat-kf/inbound';
import { whatsappInbound } from '@switchboard/channel-whatsapp/inbound';
import { chatwoot } from './chatwoot.js';
import type { WorkerRuntime } from './runtime.js';
import { telegram } from './telegram.js';
import { wechatKf } from './wechat-kf.js';
import { whatsapp } from './whatsapp.js';

export * from './runtime.js';
export { whatsapp, type WhatsAppWorkerSettings } from './whatsapp.js';
export { wechatKf, type WechatWorkerSettings } from './wechat-kf.js';
export { chatwoot, type ChatwootWorkerSettings } from './chatwoot.js';
export { telegram, type TelegramWorkerSettings } from './telegram.js';

/**
 * Every channel module: its inbound half (served by its ingress app through `createIngressApp`) and
 * its worker half. The registry lines: a fifth channel is one more entry here.
 */
export const CHANNEL_MODULES: ChannelRegistry<WorkerRuntime> = {
  whatsapp: { id: 'whatsapp', inbound: whatsappInbound, worker: whatsapp },
  'wechat-kf': { id: 'wechat-kf', inbound: wechatInbound, worker: wechatKf },
  chatwoot: { id: 'chatwoot', inbound: chatwootInbound, worker: chatwoot },
  telegram: { id: 'telegram', inbound: telegramInbound, worker: telegram },
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
