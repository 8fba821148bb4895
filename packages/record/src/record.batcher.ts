import type { RecordEntry } from '@switchboard/core';
import { isStoreUnavailable } from './record.availability.js';
import type { RecordWriteResult } from './record.writer.js';

/** Thrown to the jobs still held when the batcher closes: they were not written and keep their attempts. */
export class RecordHeldError extends Error {
  constructor() {
    super('the record was not written: the store is unreachable and the batcher is closing');
    this.name = 'RecordHeldError';
  }
}

/** What {@link RecordBatcher} writes with and reports to. */
export interface RecordBatcherOptions {
  /** Writes one batch in one transaction (RecordWriter.write). */
  write(entries: readonly RecordEntry[]): Promise<RecordWriteResult>;
  /** Undefined when the store answers, else why not (checkStore). */
  probe(): Promise<string | undefined>;
  /** Entries per batch at most. */
  maxEntries: number;
  /** How long the first job of a batch waits for others (ms). */
  maxWaitMs: number;
  /** The store became unreachable (with why) or reachable again. */
  onAvailability?(available: boolean, reason?: string): void;
  /** One batch committed. */
  onBatch?(result: RecordWriteResult, jobs: number, entries: number, ms: number): void;
  /** Longest pause between two probes while the store is down (ms, default 5000). */
  maxProbeIntervalMs?: number;
}

interface Pending {
  entries: readonly RecordEntry[];
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Collects the entries of many jobs into one write: a batch goes when it holds `maxEntries`
 * entries or `maxWaitMs` after its first job arrived, one batch at a time (jobs arriving during a
 * write form the next one). Each job's promise settles when its batch commits. While the store is
 * unreachable the batch is held (nothing rejects, so no job spends an attempt) and written again
 * once a probe answers; a batch the store refuses for another reason is written job by job, so
 * only the job at fault fails.
 */
export class RecordBatcher {
  private queue: Pending[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing = false;
  private closed = false;
  private available = true;
  private wake: (() => void) | undefined;

  constructor(private readonly opts: RecordBatcherOptions) {}

  /** True while the store is known to be unreachable (jobs are held). */
  get holding(): boolean {
    return !this.available;
  }

  /** Adds one job's entries; resolves once they are committed. */
  add(entries: readonly RecordEntry[]): Promise<void> {
    if (this.closed) return Promise.reject(new RecordHeldError());
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ entries, resolve, reject });
      this.queued += entries.length;
      if (this.queued >= this.opts.maxEntries) this.kick();
      else this.timer ??= setTimeout(() => this.kick(), this.opts.maxWaitMs);
    });
  }

  /**
   * Closing: queued jobs are written now while the store answers; held jobs (and jobs queued behind
   * them) reject with {@link RecordHeldError} instead of waiting for the store.
   */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.wake?.();
    if (this.writing) return;
    if (this.available) this.kick();
    else this.rejectQueued();
  }

  private rejectQueued(): void {
    const left = this.queue;
    this.queue = [];
    this.queued = 0;
    for (const p of left) p.reject(new RecordHeldError());
  }

  private kick(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.writing || this.queue.length === 0) return;
    this.writing = true;
    void this.drain().finally(() => {
      this.writing = false;
      if (this.closed) {
        if (this.available && this.queue.length > 0) this.kick();
        else this.rejectQueued();
      } else if (this.queued >= this.opts.maxEntries) this.kick();
      else if (this.queue.length > 0) this.timer ??= setTimeout(() => this.kick(), this.opts.maxWaitMs);
    });
  }

  /** Takes jobs off the queue up to `maxEntries` entries (at least one job). */
  private take(): Pending[] {
    const batch: Pending[] = [];
    let n = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0];
      if (!next || (batch.length > 0 && n + next.entries.length > this.opts.maxEntries)) break;
      this.queue.shift();
      batch.push(next);
      n += next.entries.length;
    }
    this.queued -= n;
    return batch;
  }

  private async drain(): Promise<void> {
    const batch = this.take();
    const entries = batch.flatMap((p) => p.entries);
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await this.opts.write(entries);
        this.setAvailable(true);
        this.opts.onBatch?.(result, batch.length, entries.length, Date.now() - started);
        for (const p of batch) p.resolve();
        return;
      } catch (err) {
        if (!isStoreUnavailable(err)) return this.writeOneByOne(batch);
        this.setAvailable(false, err instanceof Error ? err.message : String(err));
        if (!(await this.waitForStore(attempt))) {
          for (const p of batch) p.reject(new RecordHeldError());
          return;
        }
      }
    }
  }

  private async writeOneByOne(batch: readonly Pending[]): Promise<void> {
    for (const p of batch) {
      try {
        const result = await this.opts.write(p.entries);
        this.opts.onBatch?.(result, 1, p.entries.length, 0);
        p.resolve();
      } catch (err) {
        // an outage in the middle: the job keeps its attempts (held again by its next delivery)
        p.reject(isStoreUnavailable(err) ? new RecordHeldError() : err);
      }
    }
  }

  /** Sleeps (backing off) and probes until the store answers; false when closed first. */
  private async waitForStore(attempt: number): Promise<boolean> {
    for (let i = attempt; !this.closed; i++) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(200 * 2 ** Math.min(i, 10), this.opts.maxProbeIntervalMs ?? 5000));
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
      if (this.closed) return false;
      if ((await this.opts.probe()) === undefined) return true;
    }
    return false;
  }

  private setAvailable(available: boolean, reason?: string): void {
    if (available === this.available) return;
    this.available = available;
    this.opts.onAvailability?.(available, reason);
  }
}
