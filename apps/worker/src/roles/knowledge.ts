import type { Worker } from 'bullmq';
import type { KnowledgeJob } from '@switchboard/core';
import { ingestDocument } from '@switchboard/knowledge';
import { createWorker } from '@switchboard/queue';
import type { KnowledgeIngest, WorkerDeps } from '../deps.js';

/** Documents read at once per worker process (extraction is CPU work; fetches and embeddings wait). */
const MAX_KNOWLEDGE_CONCURRENCY = 4;
/** How often one worker looks for URL documents due for a re-check. */
export const RECHECK_SCAN_MS = 15 * 60_000;

/** A BullMQ job id for a document's job (`:` is not allowed in custom ids). */
export function knowledgeJobId(documentId: string, reason: KnowledgeJob['reason'], at = Date.now()): string {
  return reason === 'new' ? `kb-${documentId}-new` : `kb-${documentId}-${reason}-${at}`;
}

/**
 * Queues a re-check of every ready URL or sitemap document last fetched more than `recheckHours`
 * ago. One worker of the deployment does it per scan (a Redis lock); the job ids are per document
 * and scan, so two scans never queue the same re-check twice.
 */
export async function queueDueRechecks(deps: Pick<WorkerDeps, 'redis' | 'prefix' | 'producers' | 'log'>, ingest: KnowledgeIngest, scanMs = RECHECK_SCAN_MS): Promise<number> {
  if (ingest.recheckHours <= 0) return 0;
  const slot = Math.floor(Date.now() / scanMs);
  const locked = await deps.redis.set(`${deps.prefix}:kb:recheck:${slot}`, '1', 'PX', scanMs, 'NX');
  if (locked !== 'OK') return 0;
  const due = await ingest.repo.dueForRecheck(new Date(Date.now() - ingest.recheckHours * 3_600_000));
  await deps.producers.enqueueBulk(
    'knowledge',
    due.map((documentId) => ({ data: { documentId, reason: 'recheck' as const }, opts: { jobId: `kb-${documentId}-recheck-${slot}` } })),
  );
  if (due.length > 0) deps.log.info('knowledge re-checks queued', { documents: due.length, olderThanHours: ingest.recheckHours });
  return due.length;
}

/**
 * The `knowledge` role: reads documents into the knowledge base (extract, chunk, embed, store),
 * with the queue's retries for passing failures (the last attempt marks the document failed), and
 * a scan for URL documents due for a re-check every {@link RECHECK_SCAN_MS}.
 */
export function startKnowledgeRole(deps: WorkerDeps): Worker[] {
  const ingest = deps.knowledgeIngest;
  if (!ingest) return [];
  const worker = createWorker(
    'knowledge',
    async (job, bullJob) => {
      const final = bullJob.attemptsMade + 1 >= (bullJob.opts.attempts ?? 1);
      const m = deps.metrics;
      const stop = m.knowledgeSeconds.startTimer();
      let out: Awaited<ReturnType<typeof ingestDocument>>;
      try {
        out = await ingestDocument(ingest, job.documentId, { reason: job.reason, final });
      } catch (err) {
        // a passing failure: the queue retries it (the final attempt resolves as `failed` instead)
        stop({ outcome: 'retry' });
        m.knowledgeDocuments.inc({ outcome: 'retry', reason: job.reason });
        throw err;
      }
      stop({ outcome: out.status });
      m.knowledgeDocuments.inc({ outcome: out.status, reason: job.reason });
      if (out.status === 'ready') {
        m.knowledgeChunks.inc(out.chunks);
        m.knowledgeEmbedded.inc(out.embedded);
      }
      deps.log.info('knowledge document read', { documentId: job.documentId, reason: job.reason, status: out.status, ...('chunks' in out ? { chunks: out.chunks, embedded: out.embedded } : {}), ...('pages' in out ? { pages: out.pages } : {}), ...('reason' in out ? { error: out.reason } : {}) });
      return out;
    },
    { connection: deps.queueRedis, prefix: deps.prefix, log: deps.log, concurrency: Math.min(deps.settings.concurrency, MAX_KNOWLEDGE_CONCURRENCY), lockDurationMs: Math.max(deps.settings.lockDurationMs, 60_000) },
  );
  if (ingest.recheckHours > 0) {
    const scan = () => void queueDueRechecks(deps, ingest).catch((err: unknown) => deps.log.warn('knowledge re-check scan failed', { err: err instanceof Error ? err.message : String(err) }));
    const first = setTimeout(scan, 10_000);
    const timer = setInterval(scan, RECHECK_SCAN_MS);
    first.unref();
    timer.unref();
    worker.on('closing', () => {
      clearTimeout(first);
      clearInterval(timer);
    });
  }
  return [worker];
}
