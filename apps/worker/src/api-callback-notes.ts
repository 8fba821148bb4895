import { isApiMessageId, noteApiMessageStatus } from '@switchboard/queue';
import type { WorkerDeps } from './deps.js';

/**
 * Where the pipeline may have changed an API message's status (its reply finished, a provider
 * status arrived): enqueues its callback when the status advanced. Never fails the caller: a
 * callback is not worth a reply or a status; a missed one is picked up by the message's next note.
 */
export async function noteApiCallback(deps: WorkerDeps, channel: string, sentAs: string): Promise<void> {
  // a held API message is sent as `rel-<id>` when released; its status (the ledger follows the release) is the message's
  const outboundId = sentAs.replace(/^(rel-)+/, '');
  if (!deps.apiCallbacks || !isApiMessageId(outboundId)) return;
  try {
    const claimed = await noteApiMessageStatus(deps, channel, outboundId);
    if (claimed) deps.metrics.apiCallbacks.inc({ outcome: 'enqueued' });
  } catch (err) {
    deps.metrics.apiCallbacks.inc({ outcome: 'enqueue_failed' });
    deps.log.warn('api callback not enqueued', { outboundId, err: err instanceof Error ? err.message : String(err) });
  }
}

/** A provider status of one sent message: the API message it belongs to, if any, may have changed. */
export async function noteApiCallbackForStatus(deps: WorkerDeps, channel: string, providerMessageId: string): Promise<void> {
  if (!deps.apiCallbacks) return;
  const rec = await deps.ledger.get(channel, providerMessageId).catch(() => undefined);
  if (rec?.outboundId) await noteApiCallback(deps, channel, rec.outboundId);
}
