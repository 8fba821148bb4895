import { Redis } from 'ioredis';
import { createMetricsRegistry } from '@switchboard/core';
import { dropPrefix, testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { exportQueueDepths } from './depths';
import { Producers } from './queues';

describe('exportQueueDepths (real Redis)', () => {
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const prefix = uniquePrefix('depth');
  const producers = new Producers(redis, prefix);
  afterAll(async () => {
    await producers.close();
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  it('exposes the backlog of every catalog queue on /metrics, read at scrape time', async () => {
    const registry = createMetricsRegistry({ service: 'test' });
    exportQueueDepths(registry, producers);
    exportQueueDepths(registry, producers); // idempotent on one registry
    const ref = { channel: 'whatsapp' as const, account: '1', userId: '2' };
    await producers.enqueue('turn', { conversationId: 'c1', ref, seq: 1 }, { jobId: 'turn-c1-1' });
    await producers.enqueue('turn', { conversationId: 'c2', ref, seq: 1 }, { jobId: 'turn-c2-1', delay: 60_000 });
    const text = await registry.metrics();
    // the registry appends its default labels (service=…)
    expect(text).toMatch(/^sb_queue_backlog\{queue="turn"[^}]*\} 2$/m);
    expect(text).toMatch(/^sb_queue_jobs\{queue="turn",state="waiting"[^}]*\} 1$/m);
    expect(text).toMatch(/^sb_queue_jobs\{queue="turn",state="delayed"[^}]*\} 1$/m);
    expect(text).toMatch(/^sb_queue_backlog\{queue="inbound"[^}]*\} 0$/m);
    expect(text).toMatch(/^sb_queue_backlog\{queue="outbound-whatsapp"[^}]*\} 0$/m);
    expect(text.match(/^# TYPE sb_queue_backlog gauge$/gm)).toHaveLength(1);
  });

  it('exposes the age of the oldest job ready to run per queue (delayed jobs are not late)', async () => {
    await producers.queue('turn').obliterate({ force: true });
    const registry = createMetricsRegistry({ service: 'test' });
    exportQueueDepths(registry, producers);
    const ref = { channel: 'whatsapp' as const, account: '1', userId: '2' };
    const created = Date.now() - 120_000;
    await producers.enqueue('turn', { conversationId: 'old', ref, seq: 1 }, { jobId: 'turn-old-1', timestamp: created });
    await producers.enqueue('turn', { conversationId: 'new', ref, seq: 1 }, { jobId: 'turn-new-1' });
    await producers.enqueue('turn', { conversationId: 'later', ref, seq: 1 }, { jobId: 'turn-later-1', delay: 600_000, timestamp: created - 600_000 });
    const text = await registry.metrics();
    const age = Number(/^sb_queue_oldest_waiting_seconds\{queue="turn"[^}]*\} ([\d.]+)$/m.exec(text)?.[1]);
    expect(age).toBeGreaterThanOrEqual(120);
    expect(age).toBeLessThan(600);
    expect(text).toMatch(/^sb_queue_oldest_waiting_seconds\{queue="inbound"[^}]*\} 0$/m);
  });

  it('reports queues above the threshold on /metrics and logs each crossing once', async () => {
    await producers.queue('turn').obliterate({ force: true });
    const registry = createMetricsRegistry({ service: 'test' });
    const lines: Array<{ level: string; msg: string; meta: Record<string, unknown> }> = [];
    const log = {
      warn: (msg: string, meta: Record<string, unknown> = {}) => lines.push({ level: 'warn', msg, meta }),
      info: (msg: string, meta: Record<string, unknown> = {}) => lines.push({ level: 'info', msg, meta }),
      error: () => undefined,
      debug: () => undefined,
    };
    const handle = exportQueueDepths(registry, producers, { alertThreshold: 3, log: log as never, checkEveryMs: 50 });
    const ref = { channel: 'whatsapp' as const, account: '1', userId: '2' };
    for (let i = 0; i < 5; i++) await producers.enqueue('turn', { conversationId: `c${i}`, ref, seq: 1 }, { jobId: `turn-c${i}-1`, delay: 60_000 });
    const text = await registry.metrics();
    expect(text).toMatch(/^sb_queue_backlog_threshold\{[^}]*\} 3$/m);
    expect(text).toMatch(/^sb_queue_backlog_over_threshold\{queue="turn"[^}]*\} 1$/m);
    expect(text).toMatch(/^sb_queue_backlog_over_threshold\{queue="inbound"[^}]*\} 0$/m);
    await new Promise((r) => setTimeout(r, 300));
    expect(lines.filter((l) => l.level === 'warn')).toEqual([expect.objectContaining({ meta: { queue: 'turn', backlog: 5, threshold: 3 } })]);
    await producers.queue('turn').obliterate({ force: true });
    await new Promise((r) => setTimeout(r, 300));
    expect(lines.filter((l) => l.level === 'info')).toEqual([expect.objectContaining({ meta: { queue: 'turn', backlog: 0, threshold: 3 } })]);
    handle.stop();
  });
});
