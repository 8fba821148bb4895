import { QUEUES, type QueueName } from '@switchboard/core';
import type { Producers } from './queues.js';

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
}

/**
 * Exposes the backlog of every catalog queue on a prom-client registry, read from Redis at scrape
 * time (`getJobCounts`), so any process with a producer connection (ingress, worker, admin) can
 * serve it on `/metrics`:
 *
 * - `sb_queue_jobs{queue, state}` — jobs per state (waiting, prioritized, delayed, active, failed, …)
 * - `sb_queue_backlog{queue}` — waiting + prioritized + delayed: accepted work not yet started
 *
 * The queue counts are global (shared Redis), so when several processes export them the values are
 * the same everywhere; aggregate with `max`, not `sum`. If Redis does not answer within
 * `timeoutMs`, the previous values are served (a scrape must not hang on an outage).
 */
export function exportQueueDepths(registry: DepthRegistry, producers: Producers, opts: QueueDepthOptions = {}): void {
  const base = opts.name ?? 'sb_queue';
  const queues = opts.queues ?? (Object.keys(QUEUES) as QueueName[]);
  const timeoutMs = opts.timeoutMs ?? 2000;
  let last: { jobs: Sample[]; backlog: Sample[] } = { jobs: [], backlog: [] };
  let inFlight: Promise<typeof last> | undefined;

  const read = async (): Promise<typeof last> => {
    const counts = await Promise.all(queues.map(async (q) => [q, await producers.queue(q).getJobCounts(...DEPTH_STATES)] as const));
    const jobs: Sample[] = [];
    const backlog: Sample[] = [];
    for (const [queue, c] of counts) {
      for (const state of DEPTH_STATES) jobs.push({ labels: { queue, state }, value: c[state] ?? 0 });
      backlog.push({ labels: { queue }, value: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0) });
    }
    return { jobs, backlog };
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
      last = { jobs: [], backlog: [] };
    },
  });

  const metrics = [
    gauge(`${base}_jobs`, 'Jobs per queue and state, read from Redis at scrape time', (s) => s.jobs),
    gauge(`${base}_backlog`, 'Accepted work not yet started per queue (waiting + prioritized + delayed)', (s) => s.backlog),
  ];
  for (const m of metrics) {
    if (registry.getSingleMetric(m.name)) continue; // already exported on this registry
    registry.registerMetric(m as never);
  }
}
