/**
 * Chatwoot channel: agent bot (answer pending conversations, hand over to humans) and API-inbox
 * mirror of WhatsApp/WeChat conversations. Ingress imports `./inbound`, workers `./outbound`.
 * @see ../../../docs/channels/chatwoot.md
 */
export * from './inbound.js';
export * from './chatwoot.client.js';
export * from './chatwoot.outbound-adapter.js';
export * from './chatwoot.mirror.js';
