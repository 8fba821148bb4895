/** The worker half of the Telegram channel (what the registry in `@switchboard/channels` joins; never loaded by the ingress). */
export { telegram, type TelegramWorkerSettings } from './telegram.channel-worker.js';
export { telegramMessaging } from './telegram.messaging.js';
