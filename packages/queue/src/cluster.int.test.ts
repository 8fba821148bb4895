/**
 * Redis Cluster: a private 3-master cluster on loopback (redis-server --cluster-enabled yes ×3 +
 * redis-cli --cluster create), REDIS_URL naming the three seeds and a hash-tagged QUEUE_PREFIX.
 * Runs the mailbox and ledger Lua scripts and a BullMQ queue/worker round trip on it.
 */
import type { Worker } from 'bullmq';
import { Cluster } from 'ioredis';
import { silentLogger, type InboundMessage } from '@switchboard/core';
import { contactNote } from './contacts';
import { DeliveryLedger } from './ledger';
import { Mailbox } from './mailbox';
import { closeWorkers, createWorker, Producers } from './queues';
import { createRedis, waitReady, type RedisClient } from './redis';
import { channelEventKeys, countChannelEvents } from './stats';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { clusterToolsAvailable, startCluster } = require('../../../scripts/redis-cluster.cjs') as {
  clusterToolsAvailable(): boolean;
  startCluster(opts?: { log?: (s: string) => void }): Promise<{ ports: number[]; url: string; stop(): Promise<void> }>;
};

jest.setTimeout(60_000);

const available = clusterToolsAvailable();
if (!available) process.stderr.write('cluster.int.test: SKIPPED — redis-server and redis-cli must be on PATH to start a local Redis Cluster\n');
const describeCluster = available ? describe : describe.skip;

describeCluster('Redis Cluster (3 local masters)', () => {
  let cluster: { ports: number[]; url: string; stop(): Promise<void> };
  let redis: RedisClient;
  const prefix = '{gw}';
  const opts = { dedupeTtlSec: 60, debounceMs: 100, maxWaitMs: 400, staleRunMs: 60_000 };

  beforeAll(async () => {
    cluster = await startCluster();
    redis = createRedis(cluster.url, 'worker');
    await waitReady(redis, 10_000);
  });

  afterAll(async () => {
    redis?.disconnect();
    await cluster?.stop();
  });

  it('REDIS_URL with several seeds selects the Cluster client', () => {
    expect(redis).toBeInstanceOf(Cluster);
    expect(createRedis(`redis+cluster://127.0.0.1:${cluster.ports[0]}`, 'producer')).toBeInstanceOf(Cluster);
  });

  it('the hash-tagged prefix puts every gateway key of a conversation in one slot', async () => {
    const mb = new Mailbox(redis, prefix, opts);
    const slots = await Promise.all(
      [mb.keys.seen('e1'), mb.keys.mailbox('c1'), mb.keys.turn('c1'), mb.keys.reply('c1', 1), mb.keys.outbound('o1'), `${prefix}:inbound:wait`].map((k) =>
        (redis as Cluster).cluster('KEYSLOT', k),
      ),
    );
    expect(new Set(slots).size).toBe(1);
  });

  it('mailbox: concurrent copies of one event are claimed once and schedule one turn', async () => {
    const mb = new Mailbox(redis, prefix, opts);
    const results = await Promise.all(Array.from({ length: 10 }, () => mb.accept('c1', 'e1', '{"n":1}')));
    expect(results.filter((r) => r.claimed)).toHaveLength(1);
    expect(new Set(results.map((r) => r.scheduleSeq))).toEqual(new Set([1]));
    expect(await mb.peek('c1', 10)).toEqual(['{"n":1}']);
  });

  it('customer accept: contact, claim, mailbox, counters and turn in one script call on one slot', async () => {
    const mb = new Mailbox(redis, prefix, opts);
    const ref = { channel: 'whatsapp', account: '1098', userId: '15550000009' };
    const event = { kind: 'message', eventId: 'wa-ca-1', conversation: ref, sentAt: 1_000_000, referral: undefined } as unknown as InboundMessage;
    const args = [contactNote(prefix, event), channelEventKeys(prefix, ref, 'in', 1_000_000)] as const;
    expect(await mb.acceptCustomer('c3', 'wa-ca-1', '{"n":3}', ...args, 1_000_000)).toEqual({ claimed: true, scheduleSeq: 1 });
    expect(await mb.acceptCustomer('c3', 'wa-ca-1', '{"n":3}', ...args, 1_000_001)).toEqual({ claimed: false, scheduleSeq: 1 });
    expect(await countChannelEvents(redis, prefix, 'whatsapp', 'in', 1, 1_000_000)).toBe(1);
  });

  it('mailbox: a burst is one debounced turn, later messages form the next turn in order', async () => {
    const mb = new Mailbox(redis, prefix, opts);
    const t0 = 1_000_000;
    expect((await mb.accept('c2', 'c2-a', 'A', t0)).scheduleSeq).toBe(1);
    expect((await mb.accept('c2', 'c2-b', 'B', t0 + 50)).scheduleSeq).toBe(1);
    expect(await mb.begin('c2', 1, t0 + 100)).toEqual({ state: 'wait', dueAt: t0 + 150 });
    expect(await mb.begin('c2', 1, t0 + 150)).toMatchObject({ state: 'run', count: 2 });
    expect((await mb.accept('c2', 'c2-c', 'C', t0 + 200)).scheduleSeq).toBe(0);
    expect(await mb.finish('c2', 1)).toBe(2);
    expect(await mb.peek('c2', 5)).toEqual(['C']);
    expect(await mb.begin('c2', 2, t0 + 1000)).toMatchObject({ state: 'run', count: 1 });
    expect(await mb.finish('c2', 2)).toBe(0);
    expect(await mb.ensureScheduled('c2', t0 + 2000)).toBe(0);
  });

  it('ledger: statuses never downgrade, reply progress resumes', async () => {
    const ledger = new DeliveryLedger(redis, prefix);
    await ledger.recordSent('whatsapp', 'wamid.X', { outboundId: 'o1', part: 0, conversationId: 'c1' });
    expect(await ledger.applyStatus('whatsapp', 'wamid.X', 'read', 3)).toBe(true);
    expect(await ledger.applyStatus('whatsapp', 'wamid.X', 'delivered', 2)).toBe(false);
    expect((await ledger.get('whatsapp', 'wamid.X'))?.status).toBe('read');
    await ledger.partSent('o1', 0, 'wamid.X');
    expect(await ledger.progress('o1')).toEqual({ sent: 1, finished: false });
    await ledger.finish('o1', 'sent');
    expect(await ledger.progress('o1')).toEqual({ sent: 1, finished: true, outcome: 'sent' });
  });

  it('BullMQ producers and workers run on the cluster with the {gw} prefix; duplicate job ids add once', async () => {
    const producerConn = createRedis(cluster.url, 'producer');
    await waitReady(producerConn, 10_000);
    const producers = new Producers(producerConn, prefix);
    const seen: string[] = [];
    const workers: Worker[] = [
      createWorker(
        'inbound',
        async (event) => {
          if (event.kind === 'message') seen.push(event.eventId);
        },
        { connection: redis, prefix, log: silentLogger(), concurrency: 4 },
      ),
    ];
    try {
      const event = (i: number): InboundMessage => ({
        kind: 'message',
        eventId: `wa-cluster-${i}`,
        providerMessageId: `wamid.C${i}`,
        conversation: { channel: 'whatsapp', account: '1098', userId: '15550000001' },
        content: { type: 'text', text: `hello ${i}` },
        author: 'customer',
        sentAt: Date.now(),
        receivedAt: Date.now(),
      });
      const jobs = [1, 2, 3, 1, 2].map((i) => ({ data: event(i), opts: { jobId: `wa-cluster-${i}` } }));
      await producers.enqueueBulk('inbound', jobs);
      await producers.enqueue('inbound', event(3), { jobId: 'wa-cluster-3' });
      const deadline = Date.now() + 20_000;
      while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300));
      expect([...seen].sort()).toEqual(['wa-cluster-1', 'wa-cluster-2', 'wa-cluster-3']);
      const counts = await producers.queue('inbound').getJobCounts('completed', 'failed');
      expect(counts).toEqual({ completed: 3, failed: 0 });
    } finally {
      await closeWorkers(workers, 10_000);
      await producers.close();
      producerConn.disconnect();
    }
  });
});
