import type { Worker } from 'bullmq';
import { Counter, Gauge, Histogram } from 'prom-client';
import { applyRetention, RecordBatcher, RecordHeldError } from '@switchboard/record';
import { createWorker, DelayedError } from '@switchboard/queue';
import type { RecordSink, WorkerDeps } from '../deps.js';

/** How often one worker of the deployment applies the record's retention. */
export const RETENTION_SCAN_MS = 6 * 3_600_000;
/**
 * Lock of record jobs (ms, at least): they wait for their batch, and an overloaded process that
 * renews late must not have them recovered and written again (harmless, but wasted).
 */
const RECORD_LOCK_MS = 60_000;
/** Jobs held in flight by one worker's record role (a batch is made of jobs in flight). */
const RECORD_CONCURRENCY = 200;

/**
 * Applies the record's retention once per scan slot for the whole deployment (a Redis lock per
 * slot); returns what it removed, or undefined when another worker has the slot.
 */
export async function applyRecordRetention(deps: Pick<WorkerDeps, 'redis' | 'prefix' | 'log'>, sink: Pick<RecordSink, 'db' | 'retention'>, scanMs = RETENTION_SCAN_MS, now = Date.now()) {
  const slot = Math.floor(now / scanMs);
  const locked = await deps.redis.set(`${deps.prefix}:record:retention:${slot}`, '1', 'PX', scanMs, 'NX');
  if (locked !== 'OK') return undefined;
  const out = await applyRetention(sink.db, sink.retention, now);
  if (Object.values(out).some((n) => n > 0)) deps.log.info('record retention applied', { ...out, retention: sink.retention });
  return out;
}

function recordMetrics(deps: WorkerDeps) {
  const registers = [deps.registry];
  const get = <T>(name: string, make: () => T): T => (deps.registry.getSingleMetric(name) as T | undefined) ?? make();
  return {
    rows: get('sb_record_rows_total', () => new Counter({ name: 'sb_record_rows_total', help: 'Rows written into the record, by table (redelivered entries are not counted)', labelNames: ['table'], registers })),
    batchSeconds: get('sb_record_batch_seconds', () => new Histogram({ name: 'sb_record_batch_seconds', help: 'Time to write one record batch (one transaction)', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers })),
    batchEntries: get('sb_record_batch_entries', () => new Histogram({ name: 'sb_record_batch_entries', help: 'Entries per record batch', buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000], registers })),
    holding: get('sb_record_store_unreachable', () => new Gauge({ name: 'sb_record_store_unreachable', help: '1 while the record role holds its jobs because the store is unreachable', registers })),
  };
}

/**
 * The `record` role: writes the record. Jobs in flight are collected into batches (RECORD_BATCH_MAX
 * entries or RECORD_BATCH_WAIT_MS), one transaction per batch; each job completes after its batch
 * commits. While the store is unreachable the jobs are held (active, their attempts untouched) and
 * written once it answers again; a worker closing meanwhile puts its held jobs back (delayed, not
 * failed). Retention runs every {@link RETENTION_SCAN_MS} on one worker of the deployment.
 */
export function startRecordRole(deps: WorkerDeps): Worker[] {
  const sink = deps.recordSink;
  if (!sink) return [];
  const metrics = recordMetrics(deps);
  const batcher = new RecordBatcher({
    write: (entries) => sink.writer.write(entries),
    probe: () => sink.probe(),
    maxEntries: sink.batchMax,
    maxWaitMs: sink.batchWaitMs,
    onAvailability: (available, reason) => {
      metrics.holding.set(available ? 0 : 1);
      if (available) deps.log.info('record: the store answers again; writing the held entries');
      else deps.log.warn('record: the store is unreachable; holding record jobs until it answers', { reason });
    },
    onBatch: (result, _jobs, entries, ms) => {
      const { erased, ...rows } = result;
      for (const [table, n] of Object.entries<number>(rows)) if (n > 0) metrics.rows.inc({ table }, n);
      // counts only: the customer is not named
      if (erased > 0) deps.log.info('record: entries of erased customers dropped', { entries: erased });
      metrics.batchEntries.observe(entries);
      metrics.batchSeconds.observe(ms / 1000);
    },
  });
  const worker = createWorker(
    'record',
    async (job, bullJob, token) => {
      try {
        await batcher.add(job.entries);
      } catch (err) {
        if (!(err instanceof RecordHeldError)) throw err;
        // closing while the store is down: back to the queue without spending an attempt
        await bullJob.moveToDelayed(Date.now() + 1000, token);
        throw new DelayedError();
      }
      return { entries: job.entries.length };
    },
    { connection: deps.queueRedis, prefix: deps.prefix, log: deps.log, concurrency: Math.max(RECORD_CONCURRENCY, sink.batchMax), lockDurationMs: Math.max(deps.settings.lockDurationMs, RECORD_LOCK_MS) },
  );
  const scan = () => void applyRecordRetention(deps, sink).catch((err: unknown) => deps.log.warn('record retention failed', { err: err instanceof Error ? err.message : String(err) }));
  const first = setTimeout(scan, 30_000);
  const timer = setInterval(scan, RETENTION_SCAN_MS);
  first.unref();
  timer.unref();
  worker.on('closing', () => {
    clearTimeout(first);
    clearInterval(timer);
    batcher.close();
  });
  return [worker];
}
