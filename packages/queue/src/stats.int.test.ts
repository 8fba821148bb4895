import { Redis } from 'ioredis';
import { dropPrefix, testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { createRedis, waitReady, type RedisClient } from './redis';
import { countAccountEvents, countChannelEvents, getConversationOwner, listCountedAccounts, listHumanOwned, recordChannelEvent, setConversationOwner } from './stats';

describe('event counts per channel and gateway account (real Redis)', () => {
  const prefix = uniquePrefix('stats');
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

  it('counts each account on its own and every account in its channel total; a bare channel is the default account', async () => {
    const now = Date.now();
    await recordChannelEvent(redis, prefix, 'whatsapp', 'in', 2, now);
    await recordChannelEvent(redis, prefix, { channel: 'whatsapp' }, 'in', 1, now);
    await recordChannelEvent(redis, prefix, { channel: 'whatsapp', accountId: 'shop-de' }, 'in', 5, now - 10 * 60_000);
    await recordChannelEvent(redis, prefix, { channel: 'whatsapp', accountId: 'shop-de' }, 'out', 4, now);
    await recordChannelEvent(redis, prefix, { channel: 'telegram', accountId: 'tg-shop' }, 'in', 7, now - 61 * 60_000); // older than the hour

    expect(await countChannelEvents(redis, prefix, 'whatsapp', 'in', 60, now)).toBe(8);
    expect(await countChannelEvents(redis, prefix, 'whatsapp', 'out', 60, now)).toBe(4);
    expect(await countAccountEvents(redis, prefix, 'whatsapp', 'default', 'in', 60, now)).toBe(3);
    expect(await countAccountEvents(redis, prefix, 'whatsapp', 'shop-de', 'in', 60, now)).toBe(5);
    expect(await countAccountEvents(redis, prefix, 'whatsapp', 'shop-de', 'out', 60, now)).toBe(4);
    expect(await countAccountEvents(redis, prefix, 'telegram', 'tg-shop', 'in', 60, now)).toBe(0);
    expect(await countAccountEvents(redis, prefix, 'telegram', 'tg-shop', 'in', 120, now)).toBe(7);
    expect(await listCountedAccounts(redis, prefix, now)).toEqual([
      { channel: 'telegram', accountId: 'tg-shop' },
      { channel: 'whatsapp', accountId: 'default' },
      { channel: 'whatsapp', accountId: 'shop-de' },
    ]);
    // accounts without events for two hours leave the index
    expect(await listCountedAccounts(redis, prefix, now + 2 * 3600_000 - 60 * 60_000 + 1)).toEqual([
      { channel: 'whatsapp', accountId: 'default' },
      { channel: 'whatsapp', accountId: 'shop-de' },
    ]);
  });

  it('keeps the account of a human-owned conversation (absent = default)', async () => {
    await setConversationOwner(redis, prefix, 'telegram-aaa', 'human', 'handoff', 1000, 'tg-shop');
    await setConversationOwner(redis, prefix, 'whatsapp-bbb', 'human', 'asked for a person', 2000);
    await setConversationOwner(redis, prefix, 'whatsapp-ccc', 'human', 'default named', 3000, 'default');
    expect(await listHumanOwned(redis, prefix)).toEqual([
      { conversationId: 'whatsapp-ccc', reason: 'default named', at: 3000, accountId: 'default' },
      { conversationId: 'whatsapp-bbb', reason: 'asked for a person', at: 2000, accountId: 'default' },
      { conversationId: 'telegram-aaa', reason: 'handoff', at: 1000, accountId: 'tg-shop' },
    ]);
    expect((await getConversationOwner(redis, prefix, 'telegram-aaa')).record).toEqual({ owner: 'human', reason: 'handoff', at: 1000, accountId: 'tg-shop' });
  });
});
