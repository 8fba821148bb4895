import { DEFAULT_ACCOUNT_ID, jobId, type ConversationRef, type MirrorJob } from '@switchboard/core';
import { mirrorTarget } from './channels.js';
import type { WorkerDeps } from './deps.js';

/**
 * Enqueues one `mirror` job for the account that mirrors `ref` (none = nothing to do). Mirroring
 * must never delay or block the customer's reply: its own queue, its own retries, and a failed
 * enqueue is only logged. `facts` become labels and custom attributes of the mirror conversation;
 * `media` names the customer's files of an `incoming` job (downloaded again by the mirror role).
 */
export async function enqueueMirror(
  deps: Pick<WorkerDeps, 'channels' | 'producers' | 'log'>,
  ref: ConversationRef,
  direction: MirrorJob['direction'],
  sourceId: string,
  text: string,
  facts?: MirrorJob['facts'],
  media?: MirrorJob['media'],
): Promise<void> {
  const target = mirrorTarget(deps, ref);
  if (target === undefined) return;
  const via = target.account.accountId;
  try {
    const job: MirrorJob = { ref, ...(via !== DEFAULT_ACCOUNT_ID ? { mirrorAccountId: via } : {}), direction, sourceId, text, at: Date.now(), ...(facts ? { facts } : {}), ...(media?.length ? { media } : {}) };
    await deps.producers.enqueue('mirror', job, { jobId: jobId('mir', ...(via !== DEFAULT_ACCOUNT_ID ? [via] : []), sourceId) });
  } catch (err) {
    deps.log.warn('mirror enqueue failed', { err: err instanceof Error ? err.message : String(err) });
  }
}
