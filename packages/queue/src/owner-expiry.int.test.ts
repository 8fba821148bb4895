import { Redis } from 'ioredis';
import { dropPrefix, testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { gatewayKeys } from './keys';
import { createRedis, waitReady, type RedisClient } from './redis';
import { getConversationOwner, listHumanOwned, resumeDueConversations, setConversationOwner } from './stats';

describe('human ownership with an expiry (real Redis, the ownerHuman/ownerResume scripts)', () => {
  const prefix = uniquePrefix('ownexp');
  const due = gatewayKeys(prefix).resumeDue();
  const ref = { channel: 'whatsapp' as const, account: '1', userId: '4917000' };
  let redis: RedisClient;

  beforeAll(async () => {
    redis = createRedis(testRedisUrl(), 'producer');
    redis.on('error', () => undefined);
    await waitReady(redis);
  });
  afterAll(async () => {
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
    redis.disconnect();
  });

  it('activity extends an expiry, never shortens it; no expiry leaves the due set', async () => {
    expect(await setConversationOwner(redis, prefix, 'c1', 'human', 'paused', 1000, undefined, { untilMs: 60_000, ref })).toBe(60_000);
    expect(await setConversationOwner(redis, prefix, 'c1', 'human', 'business_reply', 2000, undefined, { untilMs: 30_000, ref })).toBe(60_000);
    expect(await setConversationOwner(redis, prefix, 'c1', 'human', 'business_reply', 3000, undefined, { untilMs: 90_000, ref })).toBe(90_000);
    expect(await redis.zscore(due, 'c1')).toBe('90000');
    expect((await getConversationOwner(redis, prefix, 'c1')).record).toMatchObject({ reason: 'business_reply', until: 90_000, ref });
    expect(await setConversationOwner(redis, prefix, 'c1', 'human', 'agent_decision', 4000)).toBeUndefined();
    expect(await redis.zscore(due, 'c1')).toBeNull();
    await setConversationOwner(redis, prefix, 'c1', 'bot', 'bot_resumed');
  });

  it('resumes only conversations whose record still has a past expiry; a renewed one is re-scheduled; once across sweepers', async () => {
    await setConversationOwner(redis, prefix, 'c2', 'human', 'paused', 1000, 'shop', { untilMs: 5000, ref });
    await setConversationOwner(redis, prefix, 'c3', 'human', 'paused', 1000, undefined, { untilMs: 5000, ref });
    // c3 is renewed behind the due set's back (its score still says 5000)
    const raw = JSON.parse((await redis.get(gatewayKeys(prefix).owner('c3')))!) as Record<string, unknown>;
    await redis.set(gatewayKeys(prefix).owner('c3'), JSON.stringify({ ...raw, until: 50_000 }));
    expect(await resumeDueConversations(redis, prefix, 4999)).toEqual([]);
    const [a, b] = await Promise.all([resumeDueConversations(redis, prefix, 6000), resumeDueConversations(redis, prefix, 6000)]);
    const resumed = [...a, ...b];
    expect(resumed.map((r) => r.conversationId)).toEqual(['c2']);
    expect(resumed[0]!.record).toMatchObject({ reason: 'paused', accountId: 'shop', until: 5000, ref });
    expect((await getConversationOwner(redis, prefix, 'c2')).owner).toBe('bot');
    expect((await listHumanOwned(redis, prefix)).map((o) => o.conversationId)).toEqual(['c3']);
    expect((await getConversationOwner(redis, prefix, 'c3')).owner).toBe('human');
    expect(await redis.zscore(due, 'c3')).toBe('50000');
    expect((await resumeDueConversations(redis, prefix, 50_000)).map((r) => r.conversationId)).toEqual(['c3']);
    expect(await redis.zcard(due)).toBe(0);
  });
});
