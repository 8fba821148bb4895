import { DelayedError, Queue, RateLimitError, UnrecoverableError, Worker, type Job, type JobsOptions, type WorkerOptions } from 'bullmq';
import {
  GatewayError,
  ProviderRateLimitedError,
  QUEUES,
  type Logger,
  type QueueName,
  type QueuePayload,
} from '@switchboard/core';
import type { RedisClient } from './redis.js';

/** Typed producers for every queue of the catalog. */
export class Producers {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(private readonly connection: RedisClient, readonly prefix: string) {}

  /** The BullMQ queue behind a catalog name (created lazily, shared). */
  queue(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      const spec = QUEUES[name];
      q = new Queue(name, {
        connection: this.connection,
        prefix: this.prefix,
        skipWaitingForReady: true,
        defaultJobOptions: {
          attempts: spec.attempts,
          backoff: spec.backoff,
          removeOnComplete: spec.removeOnComplete,
          removeOnFail: spec.removeOnFail,
        },
      });
      q.on('error', () => undefined); // surfaced through the failing add()/readiness instead
      this.queues.set(name, q);
    }
    return q;
  }

  /** Validates and adds one job. `jobId` makes the add idempotent while the job is retained. */
  async enqueue<N extends QueueName>(name: N, data: QueuePayload<N>, opts: JobsOptions & { jobId: string }): Promise<void> {
    const parsed = QUEUES[name].schema.parse(data);
    await this.queue(name).add(name, parsed, opts);
  }

  /**
   * Validates and adds many jobs; resolves once every one is in Redis, rejects if any add failed.
   * Jobs are added one by one in parallel rather than with `addBulk`: `addBulk` builds an ioredis
   * pipeline, whose construction copies every script defined on the connection (BullMQ defines
   * dozens) and cost more than the adds themselves in the ingress profile. Not atomic, and it needs
   * not be: a failed delivery is answered 5xx and redelivered, and job ids make re-adds no-ops.
   */
  async enqueueBulk<N extends QueueName>(name: N, jobs: Array<{ data: QueuePayload<N>; opts: JobsOptions & { jobId: string } }>): Promise<void> {
    if (jobs.length === 0) return;
    const q = this.queue(name);
    const parsed = jobs.map((j) => ({ data: QUEUES[name].schema.parse(j.data), opts: j.opts }));
    await Promise.all(parsed.map((j) => q.add(name, j.data, j.opts)));
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}

/** What a processor receives: the validated payload and the BullMQ job. */
export type Processor<N extends QueueName> = (data: QueuePayload<N>, job: Job, token: string | undefined) => Promise<unknown>;

/** Options of {@link createWorker}. */
export interface CreateWorkerOptions {
  connection: RedisClient;
  prefix: string;
  log: Logger;
  concurrency?: number;
  limiter?: WorkerOptions['limiter'];
  settings?: WorkerOptions['settings'];
  /** Called when a job failed for good (after its last attempt or an unrecoverable error). */
  onFinalFailure?: (job: Job, err: Error) => void;
  /** Lock of an active job; a killed worker's jobs are recovered about this long after the kill. */
  lockDurationMs?: number;
}

/**
 * How often a job may be recovered from a stall before it fails. Every gateway job is idempotent
 * (and a reply's send is fenced by its lock), so a recovery is never harmful, while failing the job
 * loses the turn or the reply. BullMQ's default (1) lost turns and replies in the chaos soak; 10 was
 * still too few with the 5 s lock: a CPU-starved worker misses renewals ("false" stalls of live
 * runs), and one soak at load average 14–21 failed 4 reply jobs that had stalled 12–14 times (one
 * message lost). 100 recoveries are about 8–10 minutes of a job that really kills its worker each
 * time before it fails.
 */
const MAX_STALLED_COUNT = 100;

/**
 * How often BullMQ's stalled-job check runs for a lock of `lockMs`: a quarter of the lock (at least
 * 500 ms). A job whose worker died loses its lock between lock/2 and lock after the death (locks are
 * renewed every lock/2) and is moved back to `wait` by the first check after that, so it is re-run
 * between lock/2 and 1.25 × lock after the death. The check is one script per queue per interval
 * across all workers (BullMQ elects one checker per interval), so a short interval costs little.
 */
export function stalledIntervalFor(lockMs: number): number {
  return Math.max(500, Math.floor(lockMs / 4));
}

/** BullMQ's reason for a job that stalled more than `maxStalledCount` times. */
const STALLED_FOR_GOOD = 'stalled more than allowable limit';

/** Thrown by a processor that re-delayed its own job (debounce); not a failure. */
export { DelayedError };

/**
 * Maps gateway errors to BullMQ control flow, at the one place jobs fail:
 * non-retryable → `UnrecoverableError`; rate limited → queue pause + `RateLimitError`
 * (recipient-scoped limits are retried with backoff instead, since a pause would stop every recipient);
 * anything else → rethrown for exponential backoff.
 */
export async function mapError(err: unknown, queue: Queue): Promise<never> {
  if (err instanceof DelayedError || err instanceof UnrecoverableError || err instanceof RateLimitError) throw err;
  if (err instanceof ProviderRateLimitedError && err.scope === 'account') {
    await queue.rateLimit(err.retryAfterMs);
    throw new RateLimitError();
  }
  if (err instanceof GatewayError && !err.retryable) {
    const unrecoverable = new UnrecoverableError(`${err.code}: ${err.message}`);
    throw unrecoverable;
  }
  throw err instanceof Error ? err : new Error(String(err));
}

/** Creates a worker for a catalog queue with payload validation and error mapping. */
export function createWorker<N extends QueueName>(name: N, processor: Processor<N>, opts: CreateWorkerOptions): Worker {
  const spec = QUEUES[name];
  const control = new Queue(name, { connection: opts.connection, prefix: opts.prefix, skipWaitingForReady: true });
  control.on('error', () => undefined);
  const worker = new Worker(
    name,
    async (job, token) => {
      const parsed = spec.schema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`invalid ${name} payload: ${parsed.error.message}`);
      try {
        return await processor(parsed.data as QueuePayload<N>, job, token);
      } catch (err: unknown) {
        return mapError(err, control);
      }
    },
    {
      connection: opts.connection,
      prefix: opts.prefix,
      concurrency: opts.concurrency ?? 1,
      maxStalledCount: MAX_STALLED_COUNT,
      lockDuration: opts.lockDurationMs ?? 30_000,
      stalledInterval: stalledIntervalFor(opts.lockDurationMs ?? 30_000),
      // no maxStartedAttempts: re-delays (debounce, reply ordering) and rate limits count as started
      // attempts, and capping them failed replies that were only waiting (order-wait regression test)
      ...(opts.limiter ? { limiter: opts.limiter } : {}),
      ...(opts.settings ? { settings: opts.settings } : {}),
    },
  );
  worker.on('error', (err) => opts.log.error('worker error', { queue: name, err: err.message }));
  worker.on('failed', (job, err) => {
    if (!job) return;
    const final =
      err instanceof UnrecoverableError ||
      err.name === 'UnrecoverableError' ||
      err.message.includes(STALLED_FOR_GOOD) ||
      job.attemptsMade >= (job.opts.attempts ?? 1);
    opts.log.warn(final ? 'job failed' : 'job attempt failed', { queue: name, jobId: job.id, attempt: job.attemptsMade, reason: err.message });
    if (final) opts.onFinalFailure?.(job, err);
  });
  worker.on('closed', () => void control.close().catch(() => undefined));
  return worker;
}

/**
 * Closes workers, letting active jobs finish, but never longer than `deadlineMs` in all.
 * Outbound workers close last, so replies of turns that finish during shutdown still go out.
 */
export async function closeWorkers(workers: Worker[], deadlineMs = 20_000): Promise<void> {
  const isOutbound = (w: Worker) => w.name.startsWith('outbound-');
  const staged = async () => {
    await Promise.all(workers.filter((w) => !isOutbound(w)).map((w) => w.close()));
    await Promise.all(workers.filter(isOutbound).map((w) => w.close()));
  };
  await Promise.race([staged(), new Promise<void>((resolve) => setTimeout(resolve, deadlineMs).unref())]);
}
