import { shortHash, type Logger, type RecordEntry, type RecordJob } from '@switchboard/core';

/**
 * Where the pipeline reports facts for the record. `record` never throws and never waits for the
 * store: it only enqueues (bounded by `timeoutMs`), and a failed enqueue is logged and counted, so
 * recording can never fail or hold a reply.
 */
export interface Recorder {
  /** False for the no-op recorder (no store, or RECORD_ENABLED=false). */
  readonly enabled: boolean;
  /** Resolves once a `record` job holding these entries is in the queue, or the enqueue failed or timed out (logged and counted). */
  record(entries: RecordEntry | readonly RecordEntry[]): Promise<void>;
}

/** The recorder when there is no store: records nothing. */
export const NO_RECORDER: Recorder = { enabled: false, record: async () => undefined };

/** Most entries in one `record` job (the job schema's limit). */
export const RECORD_JOB_MAX_ENTRIES = 500;

/** What {@link QueueRecorder} needs. */
export interface QueueRecorderOptions {
  /** Enqueues one `record` job (Producers.enqueue('record', job, { jobId })). */
  enqueue(job: RecordJob, jobId: string): Promise<unknown>;
  log: Logger;
  /** Counts, per call, enqueues of its entries that failed or timed out. */
  onFailure?(): void;
  /** Longest wait of one call for its entries' enqueue (ms, default 2000). */
  timeoutMs?: number;
}

/** BullMQ-safe, deterministic job id of a set of entries: the same facts enqueued twice are one job. */
export function recordJobId(entries: readonly RecordEntry[]): string {
  return `rec-${shortHash(entries.map((e) => `${e.kind}:${e.id}`).join('|'), 32)}`;
}

/** One `record()` call waiting for its entries' jobs. */
interface Call {
  readonly entries: readonly RecordEntry[];
  /** When it was made: its wait ends `timeoutMs` later at the latest. */
  readonly at: number;
  /** Jobs holding some of its entries that have not settled yet. */
  open: number;
  readonly resolve: () => void;
}

/** One job of a round: its entries and the part of each call it holds. */
interface Job {
  entries: RecordEntry[];
  parts: Array<{ call: Call; entries: RecordEntry[] }>;
}

/** Packs the calls' entries into jobs of at most {@link RECORD_JOB_MAX_ENTRIES}, in call order (a large call may span jobs). */
function pack(calls: readonly Call[]): Job[] {
  const jobs: Job[] = [];
  let job: Job = { entries: [], parts: [] };
  for (const call of calls) {
    for (let i = 0; i < call.entries.length; ) {
      if (job.entries.length === RECORD_JOB_MAX_ENTRIES) {
        jobs.push(job);
        job = { entries: [], parts: [] };
      }
      const part = call.entries.slice(i, i + RECORD_JOB_MAX_ENTRIES - job.entries.length);
      i += part.length;
      job.entries.push(...part);
      job.parts.push({ call, entries: part });
      call.open += 1;
    }
  }
  if (job.entries.length > 0) jobs.push(job);
  return jobs;
}

const TIMED_OUT = Symbol('timed out');

/**
 * The recorder of a pipeline with a store, with group commit: calls made while an enqueue of this
 * recorder is in flight go together as one `record` job of all their entries (at most
 * {@link RECORD_JOB_MAX_ENTRIES}; more make several jobs), so a busy worker adds far fewer jobs
 * than it records facts. One round of jobs is in flight at a time; the calls made meanwhile form
 * the next round, sent as soon as it settles. A call with nothing in flight waits only for the
 * event loop's current turn (`setImmediate`: the calls of the same batch of I/O callbacks join it),
 * never for a timer.
 *
 * Each call resolves only once every job holding its entries was enqueued, or failed, or its
 * `timeoutMs` (counted from the call) ran out — so a fact whose `record()` resolved without a
 * failure is in Redis. A combined job that fails (not a timeout) is enqueued again call by call,
 * so an entry the queue refuses costs only its own call's facts; each call's failure is logged
 * and counted (`onFailure`) as if it had been enqueued alone. Nothing ever throws.
 *
 * A combined job's id is {@link recordJobId} of its entries: the record is idempotent by entry id,
 * so entries enqueued again in another combination are written once.
 */
export class QueueRecorder implements Recorder {
  readonly enabled = true;
  private pending: Call[] = [];
  private busy = false;

  constructor(private readonly opts: QueueRecorderOptions) {}

  record(entries: RecordEntry | readonly RecordEntry[]): Promise<void> {
    const list: readonly RecordEntry[] = Array.isArray(entries) ? (entries as readonly RecordEntry[]) : [entries as RecordEntry];
    if (list.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      // a copy: the caller may reuse its array after the call
      this.pending.push({ entries: [...list], at: Date.now(), open: 0, resolve });
      if (this.busy) return;
      this.busy = true;
      setImmediate(() => void this.drain());
    });
  }

  /** Sends rounds until no call is waiting: the calls made during a round are the next one. */
  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const calls = this.pending;
        this.pending = [];
        await this.round(calls);
      }
    } finally {
      this.busy = false;
    }
  }

  /** Enqueues the calls' entries (in parallel when they make several jobs) and resolves each call as its jobs settle. */
  private async round(calls: readonly Call[]): Promise<void> {
    const timeoutMs = this.opts.timeoutMs ?? 2000;
    // calls are in the order they were made: the first one's time runs out first
    const deadline = (calls[0]?.at ?? Date.now()) + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, deadline - Date.now()));
    });
    try {
      await Promise.all(pack(calls).map((job) => this.send(job, late)));
    } finally {
      clearTimeout(timer);
    }
  }

  private async send(job: Job, late: Promise<typeof TIMED_OUT>): Promise<void> {
    try {
      const err = await this.enqueue(job.entries, late);
      if (err === undefined) return;
      if (err === TIMED_OUT || job.parts.length === 1) {
        for (const part of job.parts) this.failed(part.entries, err);
        return;
      }
      // one call's entries may be what the queue refused: each call alone, so only that call loses its facts
      await Promise.all(
        job.parts.map(async (part) => {
          const again = await this.enqueue(part.entries, late);
          if (again !== undefined) this.failed(part.entries, again);
        }),
      );
    } finally {
      for (const part of job.parts) if (--part.call.open === 0) part.call.resolve();
    }
  }

  /** Adds one job; undefined when it is in the queue, else why not. */
  private async enqueue(entries: RecordEntry[], late: Promise<typeof TIMED_OUT>): Promise<unknown> {
    try {
      const work = this.opts.enqueue({ entries }, recordJobId(entries));
      work.catch(() => undefined);
      return await Promise.race([work.then(() => undefined), late]);
    } catch (err) {
      return err ?? new Error('record enqueue failed');
    }
  }

  private failed(entries: readonly RecordEntry[], err: unknown): void {
    try {
      this.opts.onFailure?.();
      this.opts.log.warn('record enqueue failed; these facts are not recorded', {
        entries: entries.length,
        kinds: [...new Set(entries.map((e) => e.kind))],
        err: err === TIMED_OUT ? 'record enqueue timed out' : err instanceof Error ? err.message : String(err),
      });
    } catch {
      // reporting must not keep a call from resolving
    }
  }
}
