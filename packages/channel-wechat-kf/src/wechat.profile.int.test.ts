import { silentLogger } from '@switchboard/core';
import { createRedis, gatewayKeys, type RedisClient } from '@switchboard/queue';
import { dropPrefix, FakeWecom, testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import type { Redis } from 'ioredis';
import { WechatApiClient } from './wechat.client.js';
import { WechatProfiles } from './wechat.profile.js';

const USER = 'wmProfileUser1';

describe('WeChat customer profiles (kf/customer/batchget on the fake WeCom, real Redis)', () => {
  let fake: FakeWecom;
  let redis: RedisClient;
  const prefixes: string[] = [];

  beforeAll(async () => {
    fake = await FakeWecom.start();
    redis = createRedis(testRedisUrl(), 'worker');
  });
  afterAll(async () => {
    for (const p of prefixes) await dropPrefix(redis as Redis, p);
    await fake.close();
    redis.disconnect();
  });

  function profiles(opts: { ttlSec?: number; retrySec?: number; prefix?: string } = {}) {
    const prefix = opts.prefix ?? uniquePrefix('wxp');
    prefixes.push(prefix);
    const keys = gatewayKeys(prefix);
    const client = new WechatApiClient({ settings: { corpId: fake.corpId, secret: fake.secret, apiUrl: fake.url, timeoutMs: 2000 }, redis, keys, log: silentLogger() });
    return new WechatProfiles({ client, redis, keys, log: silentLogger(), ttlSec: opts.ttlSec ?? 86_400, retrySec: opts.retrySec ?? 0 });
  }
  const lookups = () => fake.callsTo('kf/customer/batchget').length;

  it('names the customer with nickname, avatar and unionid, asked once per corp and customer (cached in Redis)', async () => {
    fake.setCustomer(USER, { nickname: '小王', avatar: 'https://wework.qpic.cn/wwhead/abc/0', gender: 1, unionid: 'oUnion1' });
    const prefix = uniquePrefix('wxp');
    const before = lookups();
    const first = await profiles({ prefix }).profileOf({ userId: USER });
    expect(first).toEqual({ name: '小王', avatarUrl: 'https://wework.qpic.cn/wwhead/abc/0', identifiers: { unionid: 'oUnion1' } });
    // another worker of the same gateway reads the cache
    expect(await profiles({ prefix }).profileOf({ userId: USER })).toEqual(first);
    expect(lookups() - before).toBe(1);
    expect(fake.callsTo('kf/customer/batchget').at(-1)?.body).toEqual({ external_userid_list: [USER], need_enter_session_context: 0 });
  });

  it('a customer WeCom does not resolve (inactive for 48 h) gets no name, remembered for the TTL', async () => {
    fake.setCustomer('wmOldUser', { nickname: 'old' }, Date.now() - 49 * 3600_000);
    const p = profiles();
    const before = lookups();
    expect(await p.profileOf({ userId: 'wmOldUser' })).toEqual({});
    expect(await p.profileOf({ userId: 'wmOldUser' })).toEqual({});
    expect(lookups() - before).toBe(1);
    expect(fake.callsTo('kf/customer/batchget').at(-1)?.errcode).toBe(0);
  });

  it('a failed look-up (errcode, HTTP error) never throws and is asked again once the retry wait is over', async () => {
    fake.setCustomer(USER, { nickname: '小王' });
    const p = profiles({ retrySec: 0 });
    fake.fail('kf/customer/batchget', 45009);
    expect(await p.profileOf({ userId: USER })).toEqual({});
    fake.failHttp('kf/customer/batchget', 502);
    expect(await p.profileOf({ userId: USER })).toEqual({});
    expect(await p.profileOf({ userId: USER })).toEqual({ name: '小王' });
  });

  it('while the retry wait runs, a failed look-up is not repeated', async () => {
    fake.setCustomer(USER, { nickname: '小王' });
    const p = profiles({ retrySec: 300 });
    fake.fail('kf/customer/batchget', -1);
    const before = lookups();
    expect(await p.profileOf({ userId: USER })).toEqual({});
    expect(await p.profileOf({ userId: USER })).toEqual({});
    expect(lookups() - before).toBe(1);
  });

  it('the fake refuses an empty or oversized id list like WeCom', async () => {
    const client = new WechatApiClient({ settings: { corpId: fake.corpId, secret: fake.secret, apiUrl: fake.url, timeoutMs: 2000 }, redis, keys: gatewayKeys(uniquePrefix('wxp')), log: silentLogger() });
    await expect(client.batchGetCustomers([])).rejects.toThrow(/40058/);
    await expect(client.batchGetCustomers(Array.from({ length: 101 }, (_, i) => `u${i}`))).rejects.toThrow(/40058/);
    expect(await client.batchGetCustomers(['nobody'])).toEqual({ customers: [], invalidIds: ['nobody'] });
  });
});
