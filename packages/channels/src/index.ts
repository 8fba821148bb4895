/**
 * The channel registry: one worker module per channel. Adding a channel id to `ChannelId` without
 * registering its module here does not compile (the record is complete, not `Partial`).
 */
import type { ChannelWorkerRegistry, EnvShape } from '@switchboard/core';
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

/** Every channel's worker half. */
export const CHANNELS: ChannelWorkerRegistry<WorkerRuntime> = { whatsapp, 'wechat-kf': wechatKf, chatwoot, telegram };

/** The environment fragments of every channel, merged (for the worker's schema). */
export const channelsEnv = {
  ...whatsapp.typed.env,
  ...wechatKf.typed.env,
  ...chatwoot.typed.env,
  ...telegram.typed.env,
} satisfies EnvShape;
