import type { Worker } from 'bullmq';
import { DEFAULT_ACCOUNT_ID } from '@switchboard/core';
import { createWorker } from '@switchboard/queue';
import { accountFor, mirrorAccount, mirrorChannel } from '../channels.js';
import type { WorkerDeps } from '../deps.js';
import { mirrorMediaLoader } from '../mirror-media.js';

/** Mirror jobs mostly wait on the mirroring provider (Chatwoot); a few in flight keep one instance comfortable. */
const MAX_MIRROR_CONCURRENCY = 8;

/**
 * The `mirror` role: one consumer of the `mirror` queue per worker process, whatever the number of
 * mirroring accounts. Each job goes to the account it names (`mirrorAccountId`, absent = `default`);
 * a job whose account is not configured (any more) is dropped with a warning: no retry can apply it.
 */
export function startMirrorRole(deps: WorkerDeps): Worker[] {
  if (mirrorChannel(deps) === undefined) return [];
  return [
    createWorker(
      'mirror',
      async (job) => {
        const accountId = job.mirrorAccountId ?? DEFAULT_ACCOUNT_ID;
        const target = mirrorAccount(deps, accountId);
        if (!target?.account.mirror) {
          deps.log.warn('mirror job for an account that does not mirror here: dropped', { account: accountId, channel: job.ref.channel });
          return { skipped: 'mirror account not configured' };
        }
        // the customer's own channel names them (WeChat: nickname and avatar); never throws
        const profile = await accountFor(deps, job.ref)?.profileOf?.(job.ref);
        // customer files are downloaded again here, through the conversation's own media source
        const media = job.media?.length ? mirrorMediaLoader(deps, job.ref) : undefined;
        const outcome = await target.account.mirror(job, { ...(profile ? { profile } : {}), ...(media ? { media } : {}) });
        return outcome.posted ? { posted: outcome.messageId } : { skipped: outcome.reason };
      },
      { connection: deps.queueRedis, prefix: deps.prefix, log: deps.log, concurrency: Math.min(deps.settings.concurrency, MAX_MIRROR_CONCURRENCY) },
    ),
  ];
}
