/** The batcher: jobs grouped into one write, held (not failed) while the store is unreachable, a refused batch split per job. */
import type { RecordEntry } from '@switchboard/core';
import { RecordBatcher, RecordHeldError } from './record.batcher';
import { estimateCostUsd, parsePrices } from './record.prices';
import type { RecordWriteResult } from './record.writer';

const zero: RecordWriteResult = { conversations: 0, messages: 0, statuses: 0, events: 0, turns: 0, erased: 0 };
const entry = (id: string): RecordEntry => ({ kind: 'status', id, channel: 'whatsapp', providerMessageId: id, status: 'sent', at: 1 });
const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5999'), { code: 'ECONNREFUSED' });

test('jobs arriving together are written in one batch, up to maxEntries', async () => {
  const writes: string[][] = [];
  const b = new RecordBatcher({ write: async (e) => (writes.push(e.map((x) => x.id)), zero), probe: async () => undefined, maxEntries: 3, maxWaitMs: 20 });
  await Promise.all([b.add([entry('a')]), b.add([entry('b')]), b.add([entry('c'), entry('d')]), b.add([entry('e')])]);
  expect(writes.flat().sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  expect(writes.every((w) => w.length <= 3)).toBe(true);
  expect(writes.length).toBeLessThan(4);
});

test('while the store is unreachable jobs are held, then written once it answers', async () => {
  let up = false;
  let probes = 0;
  const written: string[] = [];
  const availability: boolean[] = [];
  const b = new RecordBatcher({
    write: async (e) => {
      if (!up) throw refused();
      written.push(...e.map((x) => x.id));
      return zero;
    },
    probe: async () => (++probes >= 3 ? ((up = true), undefined) : 'down'),
    maxEntries: 10,
    maxWaitMs: 1,
    maxProbeIntervalMs: 20,
    onAvailability: (a) => availability.push(a),
  });
  await Promise.all([b.add([entry('x')]), b.add([entry('y')])]);
  expect(written.sort()).toEqual(['x', 'y']);
  expect(availability).toEqual([false, true]);
});

test('closing while held rejects the held jobs with RecordHeldError (their attempts are kept)', async () => {
  const b = new RecordBatcher({ write: async () => Promise.reject(refused()), probe: async () => 'down', maxEntries: 10, maxWaitMs: 1, maxProbeIntervalMs: 10 });
  const held = b.add([entry('z')]);
  await new Promise((r) => setTimeout(r, 30));
  expect(b.holding).toBe(true);
  b.close();
  await expect(held).rejects.toBeInstanceOf(RecordHeldError);
});

test('a batch refused for its content is written job by job: only the bad job fails', async () => {
  const b = new RecordBatcher({
    write: async (e) => {
      if (e.some((x) => x.id === 'bad')) throw new Error('violates check constraint');
      return zero;
    },
    probe: async () => undefined,
    maxEntries: 10,
    maxWaitMs: 5,
  });
  const results = await Promise.allSettled([b.add([entry('ok1')]), b.add([entry('bad')]), b.add([entry('ok2')])]);
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
});

test('prices: defaults, overrides, dated snapshots, unknown models cost nothing', () => {
  const table = parsePrices('my-model=1/2, gpt-4o-mini=0.2/0.8');
  expect(estimateCostUsd(table, 'my-model', 1_000_000, 500_000)).toBe(2);
  expect(estimateCostUsd(table, 'gpt-4o-mini', 1000, 100)).toBe(0.00028);
  expect(estimateCostUsd(table, 'gpt-4o-2024-08-06', 1_000_000, 0)).toBe(2.5);
  expect(estimateCostUsd(table, 'unknown', 1000, 1000)).toBe(0);
  expect(() => parsePrices('gpt-4o=cheap')).toThrow(/LLM_PRICES/);
});

test('closing with the store up writes what is queued instead of dropping it', async () => {
  const written: string[] = [];
  const b = new RecordBatcher({ write: async (e) => (written.push(...e.map((x) => x.id)), zero), probe: async () => undefined, maxEntries: 100, maxWaitMs: 60_000 });
  const pending = b.add([entry('q1')]);
  b.close();
  await pending;
  expect(written).toEqual(['q1']);
});
