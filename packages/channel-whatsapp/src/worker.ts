/** The worker half of the WhatsApp channel (what the registry in `@switchboard/channels` joins; never loaded by the ingress). */
export { whatsapp, type WhatsAppWorkerSettings } from './whatsapp.channel-worker.js';
export { WhatsAppMediaSource, createWhatsAppMediaPreparer, type WhatsAppMediaSourceOptions } from './whatsapp.media.js';
export { whatsappMessaging } from './whatsapp.messaging.js';
