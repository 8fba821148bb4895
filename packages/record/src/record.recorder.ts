import { shortHash, type Logger, type RecordEntry, type RecordJob } from '@switchboard/core';

/**
 * Where the pipeline reports facts for the record. `record` never throws and never waits for the
 * store: it only enqueues (bounded by `timeoutMs`), and a failed enqueue is logged and counted, so
 * recording can never fail or hold a reply.
 */
export interface Recorder {
  /** False for the no-op recorder (no store, or RECORD_ENABLED=false). */
  readonly enabled: boolean;
  record(entries: RecordEntry | readonly RecordEntry[]): Promise<void>;
}

/** The recorder when there is no store: records nothing. */
export const NO_RECORDER: Recorder = { enabled: false, record: async () => undefined };

/** What {@link QueueRecorder} needs. */
export interface QueueRecorderOptions {
  /** Enqueues one `record` job (Producers.enqueue('record', job, { jobId })). */
  enqueue(job: RecordJob, jobId: string): Promise<unknown>;
  log: Logger;
  /** Counts enqueues that failed or timed out. */
  onFailure?(): void;
  /** Longest wait for the enqueue (ms, default 2000). */
  timeoutMs?: number;
}

/** BullMQ-safe, deterministic job id of a set of entries: the same facts enqueued twice are one job. */
export function recordJobId(entries: readonly RecordEntry[]): string {
  return `rec-${shortHash(entries.map((e) => `${e.kind}:${e.id}`).join('|'), 32)}`;
}

/** The recorder of a pipeline with a store: one `record` job per call. */
export class QueueRecorder implements Recorder {
  readonly enabled = true;
  constructor(private readonly opts: QueueRecorderOptions) {}

  async record(entries: RecordEntry | readonly RecordEntry[]): Promise<void> {
    const list: RecordEntry[] = Array.isArray(entries) ? [...(entries as readonly RecordEntry[])] : [entries as RecordEntry];
    if (list.length === 0) return;
    for (let i = 0; i < list.length; i += 500) {
      const part = list.slice(i, i + 500);
      let timer: NodeJS.Timeout | undefined;
      try {
        const late = new Promise<never>((_r, reject) => {
          timer = setTimeout(() => reject(new Error('record enqueue timed out')), this.opts.timeoutMs ?? 2000);
        });
        const work = this.opts.enqueue({ entries: part }, recordJobId(part));
        work.catch(() => undefined);
        await Promise.race([work, late]);
      } catch (err) {
        this.opts.onFailure?.();
        this.opts.log.warn('record enqueue failed; these facts are not recorded', { entries: part.length, kinds: [...new Set(part.map((e) => e.kind))], err: err instanceof Error ? err.message : String(err) });
      } finally {
        clearTimeout(timer);
      }
    }
  }
}
