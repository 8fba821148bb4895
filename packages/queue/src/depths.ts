import { int, QUEUES, type Logger, type QueueName } from '@switchboard/core';
import type { Producers } from './queues.js';

/** Settings of the backlog alert, shared by every process that exports queue depths. */
export const backlogEnv = {
  /**
   * Backlog (waiting + prioritized + delayed jobs) of one queue above which it is reported on
   * `/metrics` (`sb_queue_backlog_over_threshold`) and logged as a warning. Nothing is refused or
   * dropped: ingress keeps accepting, durably. 0 = no alert.
   */
  BACKLOG_ALERT_THRESHOLD: int(5000),
};

/** Job states exported per queue; `backlog` = waiting + prioritized + delayed (work not yet started). */
export const DEPTH_STATES = ['waiting', 'prioritized', 'delayed', 'active', 'failed', 'waiting-children'] as const;

/** One sample as prom-client's registry renders it. */
interface Sample {
  labels: Record<string, string>;
  value: number;
}

/**
 * The part of prom-client's metric contract a `Registry` uses (`registerMetric`, then `get()` on
 * every scrape). Written structurally so this package needs no prom-client dependency; it renders
 * exactly like a `Gauge` whose `collect()` reads the counts.
 */
interface ScrapedGauge {
  name: string;
  help: string;
  type: 'gauge';
  aggregator: 'first';
  get(): Promise<{ name: string; help: string; type: 'gauge'; aggregator: 'first'; values: Sample[] }>;
  reset(): void;
}

/** The registry methods used here (a prom-client `Registry` has them). */
export interface DepthRegistry {
  registerMetric(metric: never): void;
  getSingleMetric(name: string): unknown;
}

/** Options of {@link exportQueueDepths}. */
export interface QueueDepthOptions {
  /** Queues to read (default: every catalog queue). */
  queues?: readonly QueueName[];
  /** Metric name prefix (default `sb_queue`). */
  name?: string;
  /** A scrape never waits longer than this for Redis (ms); on timeout the last values are served. */
  timeoutMs?: number;
  /** BACKLOG_ALERT_THRESHOLD: backlog of one queue that raises the alert (0 or absent = none). */
  alertThreshold?: number;
  /** Where crossings of the threshold are logged (checked every `checkEveryMs`, default 15 s). */
  log?: Logger;
  checkEveryMs?: number;
}

/** Handle of {@link exportQueueDepths}: stops the threshold check. */
export interface QueueDepthExport {
  stop(): void;
}

/**
 * Exposes the backlog of every catalog queue on a prom-client registry, read from Redis at scrape
 * time (`getJobCounts`), so any process with a producer connection (ingress, worker, admin) can
 * serve it on `/metrics`:
 *
 * - `sb_queue_jobs{queue, state}` — jobs per state (waiting, prioritized, delayed, active, failed, …)
 * - `sb_queue_backlog{queue}` — waiting + prioritized + delayed: accepted work not yet started
 * - `sb_queue_oldest_waiting_seconds{queue}` — how long the oldest job ready to run has waited
 *
 * The queue counts are global (shared Redis), so when several processes export them the values are
 * the same everywhere; aggregate with `max`, not `sum`. If Redis does not answer within
 * `timeoutMs`, the previous values are served (a scrape must not hang on an outage).
 */
export function exportQueueDepths(registry: DepthRegistry, producers: Producers, opts: QueueDepthOptions = {}): QueueDepthExport {
  const base = opts.name ?? 'sb_queue';
  const queues = opts.queues ?? (Object.keys(QUEUES) as QueueName[]);
  const timeoutMs = opts.timeoutMs ?? 2000;
  let last: { jobs: Sample[]; backlog: Sample[]; oldest: Sample[] } = { jobs: [], backlog: [], oldest: [] };
  let inFlight: Promise<typeof last> | undefined;

  const read = async (): Promise<typeof last> => {
    const now = Date.now();
    const counts = await Promise.all(
      queues.map(async (q) => {
        const queue = producers.queue(q);
        // the oldest job ready to run: the tail of the wait list (a delayed job is due at timestamp + delay)
        const [head] = await queue.getJobs(['waiting'], 0, 0, true);
        return [q, await queue.getJobCounts(...DEPTH_STATES), head ? Math.max(0, (now - head.timestamp - (head.delay ?? 0)) / 1000) : 0] as const;
      }),
    );
    const jobs: Sample[] = [];
    const backlog: Sample[] = [];
    const oldest: Sample[] = [];
    for (const [queue, c, age] of counts) {
      for (const state of DEPTH_STATES) jobs.push({ labels: { queue, state }, value: c[state] ?? 0 });
      backlog.push({ labels: { queue }, value: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0) });
      oldest.push({ labels: { queue }, value: age });
    }
    return { jobs, backlog, oldest };
  };

  /** One Redis read per scrape, shared by both metrics. */
  const snapshot = async (): Promise<typeof last> => {
    inFlight ??= (async () => {
      try {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), timeoutMs);
          timer.unref();
        });
        const fresh = await Promise.race([read().catch(() => undefined), timeout]);
        clearTimeout(timer);
        if (fresh) last = fresh;
        return last;
      } finally {
        setImmediate(() => (inFlight = undefined));
      }
    })();
    return inFlight;
  };

  const gauge = (name: string, help: string, pick: (s: typeof last) => Sample[]): ScrapedGauge => ({
    name,
    help,
    type: 'gauge',
    aggregator: 'first',
    async get() {
      return { name, help, type: 'gauge', aggregator: 'first', values: pick(await snapshot()) };
    },
    reset() {
      last = { jobs: [], backlog: [], oldest: [] };
    },
  });

  const threshold = opts.alertThreshold ?? 0;
  const metrics = [
    gauge(`${base}_jobs`, 'Jobs per queue and state, read from Redis at scrape time', (s) => s.jobs),
    gauge(`${base}_backlog`, 'Accepted work not yet started per queue (waiting + prioritized + delayed)', (s) => s.backlog),
    gauge(`${base}_oldest_waiting_seconds`, 'Age of the oldest job ready to run per queue (0 = none waiting), read from Redis at scrape time', (s) => s.oldest),
  ];
  if (threshold > 0) {
    metrics.push(
      gauge(`${base}_backlog_threshold`, 'BACKLOG_ALERT_THRESHOLD: backlog of one queue that raises the alert', () => [{ labels: {}, value: threshold }]),
      gauge(`${base}_backlog_over_threshold`, '1 while a queue backlog is above BACKLOG_ALERT_THRESHOLD (ingress keeps accepting)', (s) =>
        s.backlog.map((b) => ({ labels: b.labels, value: b.value > threshold ? 1 : 0 })),
      ),
    );
  }
  for (const m of metrics) {
    if (registry.getSingleMetric(m.name)) continue; // already exported on this registry
    registry.registerMetric(m as never);
  }

  if (threshold <= 0 || !opts.log) return { stop: () => undefined };
  const log = opts.log;
  // alerted queues re-arm once they fall below 80 % of the threshold (no flapping logs)
  const alerted = new Set<string>();
  const check = async () => {
    for (const b of (await snapshot()).backlog) {
      const queue = b.labels['queue'] ?? '';
      if (b.value > threshold && !alerted.has(queue)) {
        alerted.add(queue);
        log.warn('queue backlog above BACKLOG_ALERT_THRESHOLD: still accepting; add workers of the role that consumes it', { queue, backlog: b.value, threshold });
      } else if (b.value < threshold * 0.8 && alerted.delete(queue)) {
        log.info('queue backlog back under BACKLOG_ALERT_THRESHOLD', { queue, backlog: b.value, threshold });
      }
    }
  };
  const timer = setInterval(() => void check().catch(() => undefined), opts.checkEveryMs ?? 15_000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
