/**
 * Regression (found while reviewing the chaos-soak crash windows): the Chatwoot ingress claims the
 * `X-Chatwoot-Delivery` id (`SET NX`, 24 h) *before* the event is durable in the inbound queue, and
 * forgets the claim only when the enqueue throws. If the first attempt is still in flight (slow
 * Redis) or its process dies (kill -9, OOM) between the claim and the enqueue, Chatwoot's retry of
 * the same delivery is answered 200 "duplicate" although nothing was enqueued: the message is lost.
 * The delivery claim must only be taken once the events are enqueued (or be dropped: the BullMQ job
 * id and the `cw:evt` keys already dedupe).
 */
import type { JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import request from 'supertest';
import { createMetricsRegistry, silentLogger, type QueueName, type QueuePayload } from '@switchboard/core';
import { chatwootSettings } from '@switchboard/channel-chatwoot/inbound';
import { createRedis, Producers, waitReady } from '@switchboard/queue';
import { CHATWOOT_FIXTURE_SECRET, CHATWOOT_FIXTURE_SIGNATURES, CHATWOOT_FIXTURE_TIMESTAMP, dropPrefix, fixtureBytes, testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { createChatwootIngressApp } from '@switchboard/chatwoot-ingress/app';

jest.setTimeout(30_000);

const INCOMING = 'message_created.incoming_contact_with_image.json';
const NOW = Number(CHATWOOT_FIXTURE_TIMESTAMP) * 1000 + 2000;

/** Producers whose first enqueue never completes (the request that died between claim and enqueue). */
class StuckFirstProducers extends Producers {
  private calls = 0;
  override async enqueueBulk<N extends QueueName>(name: N, jobs: Array<{ data: QueuePayload<N>; opts: JobsOptions & { jobId: string } }>): Promise<void> {
    this.calls += 1;
    if (this.calls === 1) return new Promise<void>(() => undefined);
    return super.enqueueBulk(name, jobs);
  }
}

describe('chatwoot ingress delivery claim (regression)', () => {
  const prefix = uniquePrefix('cwclaim');
  const redis = createRedis(testRedisUrl(), 'producer');
  redis.on('error', () => undefined);
  const producers = new StuckFirstProducers(redis, prefix);
  afterAll(async () => {
    await producers.close();
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
    redis.disconnect();
  });

  it('a retry of a delivery whose first attempt never made it durable is enqueued, not acknowledged as a duplicate', async () => {
    await waitReady(redis);
    const app = createChatwootIngressApp({
      log: silentLogger(),
      registry: createMetricsRegistry({ service: 'test' }),
      producers,
      redis,
      prefix,
      settings: chatwootSettings({ CHATWOOT_URL: 'http://127.0.0.1:9', CHATWOOT_ACCOUNT_ID: 7, CHATWOOT_BOT_ID: 4, CHATWOOT_WEBHOOK_SECRET: [CHATWOOT_FIXTURE_SECRET], CHATWOOT_SIGNATURE_WINDOW_SEC: 300, CHATWOOT_MAX_BODY_BYTES: 64 * 1024 }),
      now: () => NOW,
    });
    const headers = { 'content-type': 'application/json', 'x-chatwoot-timestamp': CHATWOOT_FIXTURE_TIMESTAMP, 'x-chatwoot-signature': CHATWOOT_FIXTURE_SIGNATURES[INCOMING]!, 'x-chatwoot-delivery': 'claim-1' };
    const body = fixtureBytes('chatwoot', INCOMING).toString('utf8');
    // the first attempt hangs (Chatwoot gives up after 5 s; here: 1 s) — or its process died
    const first = request(app).post('/webhooks/chatwoot').set(headers).timeout(1000).send(body).then(
      (r) => r.status,
      () => 'timeout',
    );
    expect(await first).toBe('timeout');
    // Chatwoot redelivers the same delivery
    const retry = await request(app).post('/webhooks/chatwoot').set(headers).send(body);
    const jobs = await producers.queue('inbound').getJobCounts('waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized');
    const queued = Object.values(jobs).reduce((a, b) => a + b, 0);
    expect({ status: retry.status, queued }).toEqual({ status: 200, queued: 1 });
  });
});
