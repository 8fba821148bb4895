import { Redis } from 'ioredis';
import { dropPrefix, testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { DeliveryLedger } from './ledger';
import { Mailbox } from './mailbox';

describe('Mailbox (real Redis)', () => {
  const redis = new Redis(testRedisUrl());
  const prefix = uniquePrefix('mb');
  const opts = { dedupeTtlSec: 60, debounceMs: 100, maxWaitMs: 400, staleRunMs: 60_000 };
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  it('claims an event once, even under concurrent accepts, and schedules exactly one turn', async () => {
    const mb = new Mailbox(redis, prefix, opts);
    const results = await Promise.all(Array.from({ length: 10 }, () => mb.accept('c1', 'e1', '{"n":1}')));
    expect(results.filter((r) => r.claimed)).toHaveLength(1);
    expect(new Set(results.map((r) => r.scheduleSeq))).toEqual(new Set([1]));
    expect(await mb.peek('c1', 10)).toEqual(['{"n":1}']);
  });

  it('joins a burst into the pending turn and debounces it', async () => {
    const mb = new Mailbox(redis, prefix, opts);
    const t0 = 1_000_000;
    expect((await mb.accept('c2', 'c2-a', 'A', t0)).scheduleSeq).toBe(1);
    expect((await mb.accept('c2', 'c2-b', 'B', t0 + 50)).scheduleSeq).toBe(1);
    expect(await mb.begin('c2', 1, t0 + 100)).toEqual({ state: 'wait', dueAt: t0 + 150 });
    expect(await mb.begin('c2', 1, t0 + 150)).toEqual({ state: 'run', count: 2, messages: ['A', 'B'] });
  });

  it('caps the debounce at the maximum wait', async () => {
    const mb = new Mailbox(redis, prefix, opts);
    const t0 = 2_000_000;
    await mb.accept('c3', 'c3-a', 'A', t0);
    for (let i = 1; i <= 5; i++) await mb.accept('c3', `c3-m${i}`, 'M', t0 + i * 90);
    expect(await mb.begin('c3', 1, t0 + 450)).toMatchObject({ state: 'run', count: 6 });
  });

  it('messages arriving during a running turn form the next turn; only one turn runs', async () => {
    const mb = new Mailbox(redis, prefix, opts);
    const t0 = 3_000_000;
    await mb.accept('c4', 'c4-a', 'A', t0);
    expect((await mb.begin('c4', 1, t0 + 1000)).state).toBe('run');
    expect((await mb.accept('c4', 'c4-b', 'B', t0 + 1100)).scheduleSeq).toBe(0);
    // a resumed turn gets its own messages only, not the next turn's
    expect(await mb.begin('c4', 1, t0 + 1200)).toEqual({ state: 'resume', count: 1, messages: ['A'] });
    expect(await mb.finish('c4', 1)).toBe(2);
    expect(await mb.peek('c4', 5)).toEqual(['B']);
    expect(await mb.begin('c4', 1, t0 + 3000)).toEqual({ state: 'stale', pendingSeq: 2 });
    expect(await mb.begin('c4', 2, t0 + 3000)).toEqual({ state: 'run', count: 1, messages: ['B'] });
    expect(await mb.finish('c4', 2)).toBe(0);
    expect(await mb.finish('c4', 2)).toBe(-1);
  });

  it('recovers a conversation whose running turn died', async () => {
    const mb = new Mailbox(redis, prefix, { ...opts, staleRunMs: 1000 });
    const t0 = 4_000_000;
    await mb.accept('c5', 'c5-a', 'A', t0);
    await mb.begin('c5', 1, t0 + 500);
    expect((await mb.accept('c5', 'c5-b', 'B', t0 + 800)).scheduleSeq).toBe(0);
    const late = await mb.accept('c5', 'c5-c', 'C', t0 + 2000);
    expect(late.scheduleSeq).toBe(2);
    expect(await mb.begin('c5', 2, t0 + 5000)).toMatchObject({ state: 'run', count: 3 });
  });
});

describe('DeliveryLedger (real Redis)', () => {
  const redis = new Redis(testRedisUrl());
  const prefix = uniquePrefix('dl');
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  it('never downgrades a status, and failed is terminal', async () => {
    const ledger = new DeliveryLedger(redis, prefix);
    await ledger.recordSent('whatsapp', 'w1', { outboundId: 'o1', part: 0, conversationId: 'c' });
    expect(await ledger.applyStatus('whatsapp', 'w1', 'read', 3)).toBe(true);
    expect(await ledger.applyStatus('whatsapp', 'w1', 'delivered', 2)).toBe(false);
    expect(await ledger.applyStatus('whatsapp', 'w1', 'sent', 1)).toBe(false);
    expect((await ledger.get('whatsapp', 'w1'))?.status).toBe('read');
    expect(await ledger.applyStatus('whatsapp', 'w2', 'failed', 1, '131047 Re-engagement message')).toBe(true);
    expect(await ledger.applyStatus('whatsapp', 'w2', 'read', 2)).toBe(false);
    expect(await ledger.get('whatsapp', 'w2')).toMatchObject({ status: 'failed', error: '131047 Re-engagement message' });
  });

  it('records outbound progress for resumable sends', async () => {
    const ledger = new DeliveryLedger(redis, prefix);
    expect(await ledger.progress('out-x')).toEqual({ sent: 0, finished: false });
    await ledger.partSent('out-x', 0, 'w1');
    await ledger.partSent('out-x', 1, 'w2');
    expect(await ledger.progress('out-x')).toEqual({ sent: 2, finished: false });
    await ledger.finish('out-x', 'sent');
    expect(await ledger.progress('out-x')).toEqual({ sent: 2, finished: true, outcome: 'sent' });
  });

  it('keeps a write-ahead mark of the part in flight until it is recorded or refused', async () => {
    const ledger = new DeliveryLedger(redis, prefix);
    await ledger.partSent('out-y', 0, 'w1');
    await ledger.partAttempt('out-y', 1, 5000);
    expect((await ledger.progress('out-y')).unconfirmed).toEqual({ index: 1, attemptAt: 5000 });
    // the first retry that finds it unconfirmed starts the wait; later ones keep that start
    expect(await ledger.reconcileStarted('out-y', 1, 6000)).toBe(6000);
    expect(await ledger.reconcileStarted('out-y', 1, 9000)).toBe(6000);
    await ledger.partAcknowledged('out-y', 1, 'w2');
    await ledger.partAcknowledged('out-y', 1, 'w-other');
    expect((await ledger.progress('out-y')).unconfirmed).toEqual({ index: 1, attemptAt: 5000, reconcilingSince: 6000, acknowledgedAs: 'w2' });
    // a new attempt restarts the wait
    await ledger.partAttempt('out-y', 1, 7000);
    expect((await ledger.progress('out-y')).unconfirmed).toEqual({ index: 1, attemptAt: 7000, acknowledgedAs: 'w2' });
    await ledger.partNotSent('out-y', 1);
    expect((await ledger.progress('out-y')).unconfirmed).toBeUndefined();
    await ledger.partSent('out-y', 1, 'w2');
    expect(await ledger.progress('out-y')).toEqual({ sent: 2, finished: false });
  });

  it('takes the fenced write-ahead mark only while the run holds its job lock', async () => {
    const ledger = new DeliveryLedger(redis, prefix);
    const lockKey = `${prefix}:outbound-x:out-z:lock`;
    await redis.set(lockKey, 'run-a', 'PX', 10_000);
    expect(await ledger.partAttemptFenced('out-z', 0, { key: lockKey, token: 'run-a' }, 5000)).toBe(true);
    expect((await ledger.progress('out-z')).unconfirmed).toEqual({ index: 0, attemptAt: 5000 });
    // the request ended without an outcome: the acknowledgement wait runs from then
    await ledger.partOutcomeUnknown('out-z', 0, 5400);
    expect((await ledger.progress('out-z')).unconfirmed).toEqual({ index: 0, attemptAt: 5000, outcomeUnknownAt: 5400 });
    // the lock lapsed and a recovered run took it: the old run may not mark (nor send) any more
    await redis.set(lockKey, 'run-b', 'PX', 10_000);
    expect(await ledger.partAttemptFenced('out-z', 0, { key: lockKey, token: 'run-a' }, 6000)).toBe(false);
    expect((await ledger.progress('out-z')).unconfirmed).toEqual({ index: 0, attemptAt: 5000, outcomeUnknownAt: 5400 });
    await redis.del(lockKey);
    expect(await ledger.partAttemptFenced('out-z', 0, { key: lockKey, token: 'run-a' }, 6000)).toBe(false);
    // the owner's new attempt clears the end of the previous one
    await redis.set(lockKey, 'run-b', 'PX', 10_000);
    expect(await ledger.partAttemptFenced('out-z', 0, { key: lockKey, token: 'run-b' }, 7000)).toBe(true);
    expect((await ledger.progress('out-z')).unconfirmed).toEqual({ index: 0, attemptAt: 7000 });
  });

  it('replacePending: an edit replaces its original while the turn is pending, once; never inside a running turn', async () => {
    const mb = new Mailbox(redis, prefix, { dedupeTtlSec: 60, debounceMs: 100, maxWaitMs: 400, staleRunMs: 60_000 });
    const t0 = 3_000_000;
    const entry = (id: string, text: string) => JSON.stringify({ providerMessageId: id, text });
    const edit = (stored: string) => JSON.stringify({ ...(JSON.parse(stored) as object), text: 'edited' });
    await mb.accept('c-ed', 'e-a', entry('wamid.A', 'first'), t0);
    await mb.accept('c-ed', 'e-b', entry('wamid.B', 'second'), t0 + 10);
    expect(await mb.replacePending('c-ed', 'wamid.A', 'e-edit1', edit, t0 + 20)).toBe('replaced');
    // a redelivered edit is a duplicate, not a second replacement
    expect(await mb.replacePending('c-ed', 'wamid.A', 'e-edit1', edit, t0 + 30)).toBe('duplicate');
    expect(await mb.replacePending('c-ed', 'wamid.UNKNOWN', 'e-edit2', edit, t0 + 30)).toBe('not_pending');
    // the edit extended the debounce (last = t0 + 20)
    expect(await mb.begin('c-ed', 1, t0 + 110)).toEqual({ state: 'wait', dueAt: t0 + 120 });
    expect(await mb.begin('c-ed', 1, t0 + 120)).toMatchObject({ state: 'run', count: 2 });
    expect(await mb.peek('c-ed', 2)).toEqual([JSON.stringify({ providerMessageId: 'wamid.A', text: 'edited' }), entry('wamid.B', 'second')]);
    // the turn is running: its messages are no longer replaced, the caller delivers the edit as new
    expect(await mb.replacePending('c-ed', 'wamid.B', 'e-edit3', edit, t0 + 130)).toBe('not_pending');
    expect(await mb.peek('c-ed', 2)).toEqual([JSON.stringify({ providerMessageId: 'wamid.A', text: 'edited' }), entry('wamid.B', 'second')]);
    // a message that arrived during the running turn is pending again: replaceable
    await mb.accept('c-ed', 'e-c', entry('wamid.C', 'third'), t0 + 140);
    expect(await mb.replacePending('c-ed', 'wamid.C', 'e-edit4', edit, t0 + 150)).toBe('replaced');
    expect(await mb.finish('c-ed', 1)).toBe(2);
    expect(await mb.peek('c-ed', 5)).toEqual([JSON.stringify({ providerMessageId: 'wamid.C', text: 'edited' })]);
  });
});
