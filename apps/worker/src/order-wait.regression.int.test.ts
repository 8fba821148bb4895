/**
 * Regression (found by `pnpm soak`): a reply that waits for the previous reply of its conversation
 * (`after`) re-delays itself every 200 ms, and every re-delay counts as a started attempt in BullMQ.
 * `createWorker` caps started attempts at `attempts × 4` (48 for outbound), so after ~10–15 s of
 * waiting the job fails with "job started more than allowable limit" instead of waiting up to the
 * documented 2 minutes and then going: the reply is lost. In the soak this happens whenever the
 * previous reply is held up for more than a few seconds (its worker was kill -9ed and its job waits
 * for BullMQ's stalled-job recovery, or Graph answers 429/5xx for a while).
 */
import type { Job } from 'bullmq';
import { waitFor } from '@switchboard/testkit';
import { startPipeline, type Pipeline } from './testing/harness';

jest.setTimeout(60_000);

describe('outbound order wait (regression)', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ roles: ['outbound'] });
  });
  afterAll(async () => {
    await p?.close();
  });

  it('a reply waiting 20 s for a slow previous reply neither fails nor is dropped, and goes once that one finishes', async () => {
    const ref = { channel: 'whatsapp' as const, account: '109876543210987', userId: '15552700001', address: '15552700001' };
    const queue = p.deps.producers.queue('outbound-whatsapp');
    // the previous reply `out-prev` is still being sent (not finished in the ledger)
    await p.deps.producers.enqueue('outbound-whatsapp', { outboundId: 'out-next', ref, reply: { text: 'second answer' }, origin: 'agent', after: 'out-prev' }, { jobId: 'out-next' });
    // well inside the documented 2-minute order wait
    await new Promise((r) => setTimeout(r, 20_000));
    const job = (await queue.getJob('out-next')) as Job | undefined;
    const state = job ? await job.getState() : 'missing';
    expect({ state, failedReason: job?.failedReason }).toEqual({ state: expect.stringMatching(/^(delayed|waiting|active|prioritized)$/), failedReason: undefined });
    expect(p.graph.textsTo('15552700001')).toEqual([]);
    // the previous reply finishes: the waiting one goes, once
    await p.deps.ledger.finish('out-prev', 'sent');
    await waitFor(() => p.graph.textsTo('15552700001').length === 1, 20_000, 'second answer sent');
    expect(p.graph.textsTo('15552700001')).toEqual(['second answer']);
  });
});
