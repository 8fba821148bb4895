import type { Worker } from 'bullmq';
import { ChatwootMirror, chatwootClients } from '@switchboard/channel-chatwoot/outbound';
import { createWorker } from '@switchboard/queue';
import type { WorkerDeps } from '../deps.js';
import { chatwootWorkerSettings } from './chatwoot.js';

/** Mirror jobs mostly wait on Chatwoot; a few in flight keep one Chatwoot instance comfortable. */
const MAX_MIRROR_CONCURRENCY = 8;

/**
 * The `mirror` role: copies WhatsApp/WeChat conversations into the Chatwoot API inbox
 * (`CHATWOOT_MIRROR_INBOX_ID`) with the user token. Runs in its own queue with its own retries,
 * so a Chatwoot outage never blocks or delays a customer's reply. Idle (no workers) when
 * mirroring is not configured.
 */
export function startMirrorRole(deps: Pick<WorkerDeps, 'env' | 'log' | 'redis' | 'queueRedis' | 'prefix' | 'settings'>): Worker[] {
  const settings = chatwootWorkerSettings(deps.env);
  if (!settings.enabled || settings.mirrorInboxId === undefined) {
    deps.log.info('mirror role idle: CHATWOOT_URL, CHATWOOT_ACCOUNT_ID and CHATWOOT_MIRROR_INBOX_ID are needed to mirror into Chatwoot');
    return [];
  }
  const { bot, user } = chatwootClients(settings);
  if (!user) {
    deps.log.warn('mirror role disabled: CHATWOOT_API_TOKEN (an administrator user token) is needed to create contacts and conversations');
    return [];
  }
  const mirror = new ChatwootMirror({
    user,
    ...(bot ? { bot } : {}),
    ...(settings.botId !== undefined ? { botId: settings.botId } : {}),
    inboxId: settings.mirrorInboxId,
    redis: deps.redis,
    prefix: deps.prefix,
    log: deps.log,
  });
  const worker = createWorker(
    'mirror',
    async (job) => {
      const outcome = await mirror.apply(job);
      return outcome.posted ? { posted: outcome.messageId } : { skipped: outcome.reason };
    },
    {
      connection: deps.queueRedis,
      prefix: deps.prefix,
      log: deps.log,
      concurrency: Math.min(deps.settings.concurrency, MAX_MIRROR_CONCURRENCY),
    },
  );
  return [worker];
}
