/** The worker half of the Chatwoot channel (what the registry in `@switchboard/channels` joins; never loaded by the ingress). */
export { chatwoot, type ChatwootWorkerSettings } from './chatwoot.channel-worker.js';
