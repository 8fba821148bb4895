/**
 * Inbound half of the Chatwoot channel, for chatwoot-ingress: no API calls, no send code.
 * @see ../../../docs/channels/chatwoot.md
 */
export * from './chatwoot.env.js';
export * from './chatwoot.wire.js';
export * from './chatwoot.verify.js';
export * from './chatwoot.gate.js';
export * from './chatwoot.parse.js';
export * from './chatwoot.inbound-adapter.js';
export * from './chatwoot.mirror-store.js';
export * from './chatwoot.channel-inbound.js';
