export { GraphClient, type GraphClientOptions, type GraphMessage } from './whatsapp.client.js';
export { classifyGraphError, WINDOW_CLOSED, type GraphErrorBody } from './whatsapp.errors.js';
export { markdownToWhatsApp, splitForWhatsApp, WHATSAPP_TEXT_LIMIT } from './whatsapp.format.js';
export { createWhatsAppOutboundAdapter, DEFAULT_WHATSAPP_RENDER, renderForWhatsApp, parseTemplateSpec, type WhatsAppOutboundOptions, type WhatsAppRenderOptions, type WhatsAppMediaPreparerLike } from './whatsapp.outbound.js';
export { whatsappEnv, whatsappAccountFields, type WhatsAppAccountFields } from './whatsapp.env.js';
export { WHATSAPP_MEDIA_RULES } from './whatsapp.media-rules.js';
export { GraphMediaUploader, type GraphMediaUploaderOptions } from './whatsapp.media-upload.js';
export { whatsappAdmission, fallbackTemplateJob, type WhatsAppAllowlist } from './whatsapp.policy.js';
