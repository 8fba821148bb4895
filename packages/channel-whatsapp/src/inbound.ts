export { verifyMetaSignature, verifySubscription, safeEqual } from './whatsapp.verify.js';
export { parseWebhook, parseContent } from './whatsapp.parse.js';
export { createWhatsAppInboundAdapter, type WhatsAppInboundOptions } from './whatsapp.inbound.js';
export { whatsappEnv } from './whatsapp.env.js';
