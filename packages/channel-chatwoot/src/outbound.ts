/**
 * Outbound half of the Chatwoot channel, for workers: API client, agent-bot adapter, handoff,
 * delivery-failure reports and the API-inbox mirror.
 * @see ../../../docs/channels/chatwoot.md
 */
export * from './chatwoot.client.js';
export * from './chatwoot.outbound-adapter.js';
export * from './chatwoot.mirror.js';
export {
  MirrorStore,
  MirrorMapping,
  MIRROR_SOURCE_PREFIX,
  resolveMirroredRef,
  mirrorContactIdentifier,
  mirrorContactSourceId,
  mirrorMessageSourceId,
  decodeMirrorContactSourceId,
} from './chatwoot.mirror-store.js';
export { chatwootAccountFields, chatwootEnv, chatwootFileSettings, chatwootSettings, type ChatwootAccountFields, type ChatwootEnv, type ChatwootSettings } from './chatwoot.env.js';
export { relayedChatwootMessage, relayedMessageId, HUMAN_REPLIED } from './chatwoot.parse.js';
export { CHATWOOT_MEDIA_RULES } from './chatwoot.media-rules.js';
export { chatwootMirror, chatwootRelayHook, chatwootTakeoverHook, startMirrorConsumer, type ChatwootRelayContext, type ChatwootMirrorContext } from './chatwoot.worker.js';
