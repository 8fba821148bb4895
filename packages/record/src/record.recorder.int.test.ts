/**
 * The recorder's group commit on a real Redis (BullMQ `record` queue) and PostgreSQL: calls made
 * while an enqueue is in flight become one job; each call resolves only once its entries are in
 * Redis; a failing or slow enqueue rejects nobody and is counted for every call it covered; a job
 * mixing conversations and kinds is written whole by the record's consumer.
 */
import { conversationId, createLogger, type ConversationRef, type RecordEntry, type RecordJob } from '@switchboard/core';
import { createRedis, createWorker, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import { openStore, type Store } from '@switchboard/store';
import { createTestDatabase, dropPrefix, testRedisUrl, uniquePrefix, type TestDatabase } from '@switchboard/testkit';
import { RecordBatcher } from './record.batcher';
import { QueueRecorder, RECORD_JOB_MAX_ENTRIES, recordJobId } from './record.recorder';
import { RecordWriter } from './record.writer';

const log = createLogger({ service: 'recorder-test', silent: true });
const T0 = Date.UTC(2026, 0, 10, 9, 0, 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ref = (userId: string): ConversationRef => ({ channel: 'whatsapp', account: '1065', userId });
const msg = (id: string, r: ConversationRef, at = T0): RecordEntry => ({ kind: 'message', id, ref: r, direction: 'in', author: 'customer', contentType: 'text', text: `hello ${id}`, at });

let redis: RedisClient;
let prefix: string;
let producers: Producers;

beforeEach(() => {
  prefix = uniquePrefix('rec');
  producers = new Producers(redis, prefix);
});
afterEach(async () => {
  await producers.close();
  await dropPrefix(redis as never, prefix);
});
beforeAll(async () => {
  redis = createRedis(testRedisUrl(), 'producer');
  await waitReady(redis);
});
afterAll(async () => {
  await redis.quit();
});

/** The real enqueue of the worker (compose.ts), with a hook after each add. */
function realEnqueue(after?: (job: RecordJob, jobId: string) => void | Promise<void>) {
  return async (job: RecordJob, jobId: string) => {
    await producers.enqueue('record', job, { jobId });
    await after?.(job, jobId);
  };
}

/** The entries of every `record` job waiting in Redis, by job. */
async function jobsInRedis(): Promise<RecordJob[]> {
  const jobs = await producers.queue('record').getWaiting(0, -1);
  return jobs.map((j) => j.data as RecordJob);
}

describe('group commit', () => {
  test('calls made together become one job; calls made while it is in flight become the next one', async () => {
    const added: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let first = true;
    const rec = new QueueRecorder({
      log,
      enqueue: realEnqueue(async (job) => {
        added.push(job.entries.map((e) => e.id));
        // the first job stays "in flight" until the later calls have been made
        if (first) {
          first = false;
          await gate;
        }
      }),
    });
    const a = Array.from({ length: 30 }, (_, i) => rec.record(msg(`in:a${i}`, ref(`a${i}`))));
    for (let i = 0; added.length === 0 && i < 500; i++) await sleep(2);
    const b = Array.from({ length: 40 }, (_, i) => rec.record([msg(`in:b${i}`, ref(`b${i}`)), msg(`out:b${i}:0`, ref(`b${i}`))]));
    await sleep(20);
    expect(added).toHaveLength(1); // the second round waits for the first
    release();
    await Promise.all([...a, ...b]);
    expect(added).toHaveLength(2);
    expect(added[0]).toHaveLength(30);
    expect(added[1]).toHaveLength(80);
    const inRedis = await jobsInRedis();
    expect(inRedis).toHaveLength(2);
    expect(inRedis.flatMap((j) => j.entries.map((e) => e.id)).sort()).toEqual([...added[0]!, ...added[1]!].sort());
  });

  test('calls one after the other each get their job at once (no waiting for company)', async () => {
    const rec = new QueueRecorder({ log, enqueue: realEnqueue() });
    const started = Date.now();
    for (let i = 0; i < 5; i++) await rec.record(msg(`in:s${i}`, ref('s')));
    expect(Date.now() - started).toBeLessThan(1500);
    expect(await jobsInRedis()).toHaveLength(5);
  });

  test(`more than ${RECORD_JOB_MAX_ENTRIES} entries make several jobs of at most ${RECORD_JOB_MAX_ENTRIES}, every entry once`, async () => {
    const rec = new QueueRecorder({ log, enqueue: realEnqueue() });
    const calls = Array.from({ length: 7 }, (_, c) => Array.from({ length: 180 }, (_, i) => msg(`in:m${c}-${i}`, ref(`m${c}`))));
    await Promise.all(calls.map((entries) => rec.record(entries)));
    const jobs = await jobsInRedis();
    expect(jobs).toHaveLength(Math.ceil((7 * 180) / RECORD_JOB_MAX_ENTRIES));
    expect(jobs.every((j) => j.entries.length <= RECORD_JOB_MAX_ENTRIES)).toBe(true);
    const ids = jobs.flatMap((j) => j.entries.map((e) => e.id));
    expect(new Set(ids).size).toBe(7 * 180);
    expect(ids).toHaveLength(7 * 180);
  });

  test('the job id is the deterministic id of its entries', async () => {
    const rec = new QueueRecorder({ log, enqueue: realEnqueue() });
    await Promise.all([rec.record(msg('in:i1', ref('i'))), rec.record(msg('in:i2', ref('i')))]);
    const [job] = await producers.queue('record').getWaiting(0, -1);
    expect(job?.id).toBe(recordJobId([msg('in:i1', ref('i')), msg('in:i2', ref('i'))]));
  });
});

describe('durability: a call resolves only after its entries are in Redis', () => {
  test('each call, when it resolves, finds its entries in a job in Redis (slow adds)', async () => {
    const enqueued = new Set<string>();
    const rec = new QueueRecorder({
      log,
      enqueue: realEnqueue(async (job) => {
        // a slow producer: the add is in Redis, the call has not been answered yet
        await sleep(15);
        for (const e of job.entries) enqueued.add(e.id);
      }),
    });
    const checks: Array<Promise<void>> = [];
    for (let wave = 0; wave < 4; wave++) {
      for (let i = 0; i < 10; i++) {
        const id = `in:d${wave}-${i}`;
        checks.push(
          rec.record(msg(id, ref(`d${i}`))).then(async () => {
            // synchronously at resolution: the job holding it had been added
            expect(enqueued.has(id)).toBe(true);
            const jobs = await jobsInRedis();
            expect(jobs.some((j) => j.entries.some((e) => e.id === id))).toBe(true);
          }),
        );
      }
      await sleep(5);
    }
    await Promise.all(checks);
    expect((await jobsInRedis()).length).toBeLessThan(40);
  });

  test('a call whose entries span two jobs resolves after both', async () => {
    const enqueued = new Set<string>();
    let n = 0;
    const rec = new QueueRecorder({
      log,
      enqueue: realEnqueue(async (job) => {
        await sleep(n++ === 0 ? 5 : 40); // the second job is the slower one
        for (const e of job.entries) enqueued.add(e.id);
      }),
    });
    const small = Array.from({ length: 300 }, (_, i) => msg(`in:x${i}`, ref('x')));
    const big = Array.from({ length: 400 }, (_, i) => msg(`in:y${i}`, ref('y')));
    await Promise.all([rec.record(small), rec.record(big).then(() => expect(big.every((e) => enqueued.has(e.id))).toBe(true))]);
    expect(await jobsInRedis()).toHaveLength(2);
  });
});

describe('failures reject nobody and are counted per call', () => {
  test('a failing enqueue: every call resolves, each counted once', async () => {
    let failures = 0;
    let attempts = 0;
    const rec = new QueueRecorder({
      log,
      onFailure: () => failures++,
      enqueue: async () => {
        attempts++;
        throw new Error('Connection is closed.');
      },
    });
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => rec.record(msg(`in:f${i}`, ref(`f${i}`)))));
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(failures).toBe(12);
    // the combined job, then each call alone
    expect(attempts).toBe(1 + 12);
  });

  test('an entry the queue refuses costs only its own call: the others are enqueued', async () => {
    let failures = 0;
    const rec = new QueueRecorder({ log, onFailure: () => failures++, enqueue: realEnqueue() });
    const bad = { kind: 'message', id: 'in:bad', text: 'no conversation' } as unknown as RecordEntry;
    const good = Array.from({ length: 6 }, (_, i) => msg(`in:g${i}`, ref(`g${i}`)));
    const results = await Promise.allSettled([...good.slice(0, 3).map((e) => rec.record(e)), rec.record([bad, msg('in:gbad', ref('gbad'))]), ...good.slice(3).map((e) => rec.record(e))]);
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(failures).toBe(1);
    const ids = (await jobsInRedis()).flatMap((j) => j.entries.map((e) => e.id));
    expect(ids.sort()).toEqual(good.map((e) => e.id).sort());
  });

  test('a hung enqueue: every call resolves within its own timeout, counted once each, and the next round goes on', async () => {
    let failures = 0;
    let hang = true;
    const rec = new QueueRecorder({
      log,
      timeoutMs: 150,
      onFailure: () => failures++,
      enqueue: (job, jobId) => (hang ? new Promise<never>(() => undefined) : producers.enqueue('record', job, { jobId })),
    });
    const t0 = Date.now();
    const first = Array.from({ length: 5 }, (_, i) => rec.record(msg(`in:h${i}`, ref(`h${i}`))).then(() => Date.now() - t0));
    await sleep(50);
    const t1 = Date.now();
    // made while the first round hangs: they wait for it, but never longer than their own 150 ms
    const second = Array.from({ length: 5 }, (_, i) => rec.record(msg(`in:k${i}`, ref(`k${i}`))).then(() => Date.now() - t1));
    const waited = await Promise.all([...first, ...second]);
    expect(failures).toBe(10);
    for (const ms of waited) expect(ms).toBeLessThan(150 + 60);
    hang = false;
    await rec.record(msg('in:after', ref('after')));
    expect(failures).toBe(10);
    expect((await jobsInRedis()).flatMap((j) => j.entries.map((e) => e.id))).toEqual(['in:after']);
  });

  test('an unreachable Redis: calls resolve, each counted', async () => {
    const down = createRedis('redis://127.0.0.1:1', 'producer');
    down.on('error', () => undefined);
    const downProducers = new Producers(down, prefix);
    let failures = 0;
    const rec = new QueueRecorder({ log, timeoutMs: 300, onFailure: () => failures++, enqueue: (job, jobId) => downProducers.enqueue('record', job, { jobId }) });
    try {
      const results = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => rec.record(msg(`in:u${i}`, ref(`u${i}`)))));
      expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
      expect(failures).toBe(4);
    } finally {
      down.disconnect();
      await downProducers.close().catch(() => undefined);
    }
  });
});

describe('the consumer writes a combined job whole', () => {
  let db: TestDatabase;
  let store: Store;
  let worker: ReturnType<typeof createWorker> | undefined;
  let batcher: RecordBatcher | undefined;
  let workerRedis: RedisClient;

  beforeAll(async () => {
    db = await createTestDatabase('sb_rec_recorder');
    store = await openStore({ url: db.url, log, poolMax: 2 });
    workerRedis = createRedis(testRedisUrl(), 'worker');
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
    workerRedis?.disconnect();
  });
  afterEach(async () => {
    batcher?.close();
    await worker?.close();
  });

  test('one job of several conversations and every kind: all rows written, once, counts exact', async () => {
    const rec = new QueueRecorder({ log, enqueue: realEnqueue() });
    const people = ['p1', 'p2', 'p3'].map((u) => ({ ...ref(u), displayName: `Person ${u}` }));
    const calls: RecordEntry[][] = people.map((r, i) => [
      msg(`in:c${i}`, r, T0 + i),
      { kind: 'turn', id: `turn:${conversationId(r)}:1`, ref: r, outcome: 'answered', tokensIn: 10, tokensOut: 5, costUsd: 0, tools: [], sources: [], at: T0 + 500 },
      { kind: 'message', id: `out:o${i}:0`, ref: r, direction: 'out', author: 'bot', origin: 'agent', contentType: 'text', text: `reply ${i}`, providerMessageId: `wamid.${i}`, at: T0 + 1000 },
      { kind: 'event', id: `event:h${i}`, ref: r, event: 'handoff', detail: { reason: 'asked' }, at: T0 + 2000 },
    ]);
    calls.push([{ kind: 'status', id: 'status:whatsapp:s1', channel: 'whatsapp', providerMessageId: 'wamid.1', status: 'delivered', at: T0 + 1500 }]);
    await Promise.all(calls.map((c) => rec.record(c)));
    // the same facts again (a retried turn and send): another combination, written once
    await Promise.all([rec.record(calls[0]!), rec.record(calls[2]!.slice(0, 2))]);
    const jobs = await jobsInRedis();
    expect(jobs.length).toBe(2);
    expect(jobs.some((j) => j.entries.length === 13)).toBe(true);

    const writer = new RecordWriter(store.db);
    const b = (batcher = new RecordBatcher({ write: (e) => writer.write(e), probe: async () => undefined, maxEntries: 500, maxWaitMs: 10 }));
    let done = 0;
    worker = createWorker(
      'record',
      async (job) => {
        await b.add(job.entries);
        done++;
        return { entries: job.entries.length };
      },
      { connection: workerRedis, prefix, log },
    );
    const end = Date.now() + 10_000;
    while (done < jobs.length && Date.now() < end) await sleep(20);
    expect(done).toBe(jobs.length);

    for (const [i, r] of people.entries()) {
      const conv = await store.db.selectFrom('rec_conversation').selectAll().where('id', '=', conversationId(r)).executeTakeFirstOrThrow();
      expect(conv).toMatchObject({ message_count: 2, owner: 'human', customer_name: `Person p${i + 1}` });
      const msgs = await store.db.selectFrom('rec_message').select('id').where('conversation_id', '=', conversationId(r)).orderBy('id').execute();
      expect(msgs.map((m) => m.id)).toEqual([`in:c${i}`, `out:o${i}:0`]);
      expect(await store.db.selectFrom('rec_turn').select('id').where('conversation_id', '=', conversationId(r)).execute()).toHaveLength(1);
      expect(await store.db.selectFrom('rec_event').select('id').where('conversation_id', '=', conversationId(r)).execute()).toHaveLength(1);
    }
    expect(await store.db.selectFrom('rec_status').select('id').execute()).toEqual([{ id: 'status:whatsapp:s1' }]);
  });
});
