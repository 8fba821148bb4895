export { verifyMetaSignature, verifySubscription, safeEqual } from './whatsapp.verify.js';
export { parseWebhook, parseContent, OTHER_PHONE_NUMBER, type ParseWebhookOptions } from './whatsapp.parse.js';
export { createWhatsAppInboundAdapter, type WhatsAppInboundOptions } from './whatsapp.inbound.js';
export { whatsappEnv, whatsappAccountFields, type WhatsAppAccountFields } from './whatsapp.env.js';
export { whatsappInbound, whatsappAccountInbound, whatsappDefaultAccount, type WhatsAppInboundSettings, type WhatsAppInboundEnv } from './whatsapp.channel-inbound.js';
