import { Redis } from 'ioredis';
import { dropPrefix, testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { gatewayKeys } from './keys';
import { Producers } from './queues';
import { enqueueReply } from './replies';

describe('enqueueReply (real Redis)', () => {
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const prefix = uniquePrefix('reply');
  const producers = new Producers(redis, prefix);
  const ctx = { redis, producers, keys: gatewayKeys(prefix) };
  afterAll(async () => {
    await producers.close();
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  it('replies enqueued concurrently by several producers form one chain: each waits for exactly one other', async () => {
    const ref = { channel: 'whatsapp' as const, account: 'pn1', userId: 'u1', address: 'u1' };
    const ids = Array.from({ length: 20 }, (_, i) => `r${i}`);
    const jobs = await Promise.all(ids.map((outboundId, i) => enqueueReply(ctx, ref, { outboundId, reply: { text: `reply ${i}` }, origin: i % 2 ? 'human' : 'agent' })));
    const firsts = jobs.filter((j) => !j.after);
    expect(firsts).toHaveLength(1);
    const next = new Map(jobs.filter((j) => j.after).map((j) => [j.after as string, j.outboundId]));
    expect(next.size).toBe(ids.length - 1);
    const chain = [firsts[0]?.outboundId as string];
    while (next.has(chain.at(-1) as string)) chain.push(next.get(chain.at(-1) as string) as string);
    expect(chain.sort()).toEqual([...ids].sort());
    const queued = await producers.queue('outbound-whatsapp').getJobs(['waiting', 'prioritized', 'delayed']);
    expect(queued.map((j) => j.id).sort()).toEqual([...ids].sort());
  });

  it('conversations are ordered apart', async () => {
    const a = await enqueueReply(ctx, { channel: 'telegram', account: 'bot', userId: '1' }, { outboundId: 'tg-a', reply: { text: 'a' }, origin: 'agent' });
    const b = await enqueueReply(ctx, { channel: 'telegram', account: 'bot', userId: '2' }, { outboundId: 'tg-b', reply: { text: 'b' }, origin: 'agent' });
    expect([a.after, b.after]).toEqual([undefined, undefined]);
  });
});
