import { Redis } from 'ioredis';
import { dropPrefix, testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { gatewayKeys } from './keys';
import { holdSender, reserveSendSlot } from './send-rate';

describe('per-sender send rate (real Redis)', () => {
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const other = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const p of prefixes) await dropPrefix(redis, p);
    redis.disconnect();
    other.disconnect();
  });
  function fresh() {
    const prefix = uniquePrefix('rate');
    prefixes.push(prefix);
    return gatewayKeys(prefix);
  }
  const T0 = 1_800_000_000_000;
  const rate = { max: 3, durationMs: 1000 };
  const interval = 1000 / 3;

  it('a burst on one sender: the first `max` go at once, the rest wait one interval apart', async () => {
    const keys = fresh();
    const waits: number[] = [];
    for (let i = 0; i < 10; i++) {
      waits.push(await reserveSendSlot(redis, keys, { channel: 'whatsapp', sender: 'PN-A', outboundId: `o${i}`, part: 0, rate, now: T0 }));
    }
    expect(waits.slice(0, 3)).toEqual([0, 0, 0]);
    waits.slice(3).forEach((w, k) => expect(Math.abs(w - (k + 1) * interval)).toBeLessThanOrEqual(1));
    for (let i = 4; i < waits.length; i++) expect((waits[i] ?? 0) - (waits[i - 1] ?? 0)).toBeGreaterThan(interval - 2);
  });

  it('the same part asked again keeps its slot, gets 0 once due, and takes no second slot', async () => {
    const keys = fresh();
    const ask = (outboundId: string, part: number, now: number) => reserveSendSlot(redis, keys, { channel: 'whatsapp', sender: 'PN-A', outboundId, part, rate, now });
    for (let i = 0; i < 3; i++) await ask(`burst${i}`, 0, T0);
    const first = await ask('late', 1, T0);
    expect(first).toBeGreaterThan(300);
    expect(await ask('late', 1, T0 + 100)).toBe(first - 100);
    expect(await ask('late', 1, T0 + first - 1)).toBe(1);
    expect(await ask('late', 1, T0 + first)).toBe(0);
    // asking again did not move the line: the next part gets the slot right after `late`
    const next = await ask('next', 0, T0);
    expect(Math.abs(next - 2 * interval)).toBeLessThanOrEqual(1);
    // a part of the same reply with another index is a part of its own
    expect(await ask('late', 2, T0)).toBeGreaterThan(next);
  });

  it('another sender (and the same sender on another channel) is not affected by a burst', async () => {
    const keys = fresh();
    for (let i = 0; i < 20; i++) await reserveSendSlot(redis, keys, { channel: 'whatsapp', sender: 'PN-A', outboundId: `a${i}`, part: 0, rate, now: T0 });
    expect(await reserveSendSlot(redis, keys, { channel: 'whatsapp', sender: 'PN-A', outboundId: 'a-last', part: 0, rate, now: T0 })).toBeGreaterThan(5000);
    for (let i = 0; i < 3; i++) expect(await reserveSendSlot(redis, keys, { channel: 'whatsapp', sender: 'PN-B', outboundId: `b${i}`, part: 0, rate, now: T0 })).toBe(0);
    expect(await reserveSendSlot(redis, keys, { channel: 'telegram', sender: 'PN-A', outboundId: 't0', part: 0, rate, now: T0 })).toBe(0);
  });

  it('concurrent workers never share a slot', async () => {
    const keys = fresh();
    const now = Date.now();
    const waits = await Promise.all(
      Array.from({ length: 30 }, (_, i) => reserveSendSlot(i % 2 ? redis : other, keys, { channel: 'whatsapp', sender: 'PN-A', outboundId: `c${i}`, part: 0, rate: { max: 5, durationMs: 1000 }, now })),
    );
    const sorted = [...waits].sort((x, y) => x - y);
    expect(sorted.filter((w) => w === 0)).toHaveLength(5);
    for (let i = 6; i < sorted.length; i++) expect((sorted[i] ?? 0) - (sorted[i - 1] ?? 0)).toBeGreaterThanOrEqual(199);
  });

  it('holdSender pushes the sender back (reserved parts too) and never pulls it forward', async () => {
    const keys = fresh();
    const ask = (outboundId: string, now: number, sender = 'PN-A') => reserveSendSlot(redis, keys, { channel: 'whatsapp', sender, outboundId, part: 0, rate, now });
    for (let i = 0; i < 3; i++) await ask(`b${i}`, T0);
    const reserved = await ask('reserved', T0);
    expect(reserved).toBeLessThan(400);

    await holdSender(redis, keys, { channel: 'whatsapp', sender: 'PN-A', forMs: 5000, rate, now: T0 + 100 });
    // a new part waits for the hold to end
    const fresh1 = await ask('fresh1', T0 + 100);
    expect(fresh1).toBeGreaterThanOrEqual(5000);
    // a part that reserved a slot inside the hold is moved behind it, not sent during the hold
    const moved = await ask('reserved', T0 + reserved);
    expect(moved).toBeGreaterThanOrEqual(T0 + 5100 - (T0 + reserved));
    // a shorter hold later changes nothing
    await holdSender(redis, keys, { channel: 'whatsapp', sender: 'PN-A', forMs: 1000, rate, now: T0 + 200 });
    const fresh2 = await ask('fresh2', T0 + 200);
    expect(T0 + 200 + fresh2).toBeGreaterThan(T0 + 100 + fresh1);
    expect(await ask('fresh1', T0 + 300)).toBe(fresh1 - 200);
    // once the hold is over the parts go in their slots, spread by the rate
    expect(await ask('fresh1', T0 + 100 + fresh1)).toBe(0);
    // another sender is not held
    expect(await ask('other', T0 + 200, 'PN-B')).toBe(0);
  });

  it('a hold shorter than the backlog leaves the backlog as it is', async () => {
    const keys = fresh();
    const ask = (outboundId: string, now: number) => reserveSendSlot(redis, keys, { channel: 'whatsapp', sender: 'PN-A', outboundId, part: 0, rate, now });
    const waits: number[] = [];
    for (let i = 0; i < 12; i++) waits.push(await ask(`b${i}`, T0));
    await holdSender(redis, keys, { channel: 'whatsapp', sender: 'PN-A', forMs: 500, rate, now: T0 });
    // parts reserved after the hold's end keep their slot
    expect(await ask('b11', T0)).toBe(waits[11]);
    const after = await ask('after', T0);
    expect(Math.abs(after - ((waits[11] ?? 0) + interval))).toBeLessThanOrEqual(1);
  });

  it('a reservation outlives its wait, however long the backlog', async () => {
    const keys = fresh();
    const slow = { max: 1, durationMs: 120_000 };
    let wait = 0;
    for (let i = 0; i < 12; i++) wait = await reserveSendSlot(redis, keys, { channel: 'whatsapp', sender: 'PN-A', outboundId: `s${i}`, part: 0, rate: slow, now: Date.now() });
    expect(wait).toBeGreaterThan(20 * 60_000);
    expect(await redis.pttl(keys.sendSlot('s11', 0))).toBeGreaterThan(wait);
    expect(await redis.pttl(keys.sendRate('whatsapp', 'PN-A'))).toBeGreaterThan(wait);
  });

  it('no rate (or a broken one) never waits', async () => {
    const keys = fresh();
    for (const r of [{ max: 0, durationMs: 1000 }, { max: 3, durationMs: 0 }, { max: Number.NaN, durationMs: 1000 }]) {
      for (let i = 0; i < 5; i++) expect(await reserveSendSlot(redis, keys, { channel: 'whatsapp', sender: 'PN-A', outboundId: `n${i}`, part: 0, rate: r, now: T0 })).toBe(0);
    }
  });
});
