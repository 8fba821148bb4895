import { ConfigurationError, ProviderRateLimitedError, ProviderRejectedError, ProviderUnavailableError, silentLogger } from '@switchboard/core';
import { createRedis, gatewayKeys, type RedisClient } from '@switchboard/queue';
import { dropPrefix, FakeWecom, fixtureJson, testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import type { Redis } from 'ioredis';
import { WechatApiClient } from './wechat.client.js';

const KF = 'wkTESTkf0001';
const USER = 'wmTESTuser0001';
const log = silentLogger();

describe('WechatApiClient + token cache (fake WeCom, real Redis)', () => {
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

  function client(opts: { secret?: string; prefix?: string; apiUrl?: string } = {}) {
    const prefix = opts.prefix ?? uniquePrefix('wxc');
    prefixes.push(prefix);
    return new WechatApiClient({
      settings: { corpId: fake.corpId, secret: opts.secret ?? fake.secret, apiUrl: opts.apiUrl ?? fake.url, timeoutMs: 2000 },
      redis,
      keys: gatewayKeys(prefix),
      log,
    });
  }

  beforeEach(() => {
    fake.customerText(KF, USER, 'hello');
  });

  it('caches the token in Redis: two clients of one prefix share it', async () => {
    const prefix = uniquePrefix('wxc');
    const before = fake.tokensIssued;
    const a = client({ prefix });
    const b = client({ prefix });
    await a.getServiceState(KF, USER);
    await b.getServiceState(KF, USER);
    expect(fake.tokensIssued - before).toBe(1);
  });

  it('single flight: 10 concurrent calls from 3 processes-worth of clients fetch one token', async () => {
    const prefix = uniquePrefix('wxc');
    const before = fake.tokensIssued;
    const clients = [client({ prefix }), client({ prefix }), client({ prefix })];
    await Promise.all(Array.from({ length: 10 }, (_, i) => clients[i % 3]!.getServiceState(KF, USER)));
    expect(fake.tokensIssued - before).toBe(1);
  });

  it('42001 → one refresh, one retry, one message sent', async () => {
    const c = client();
    await c.getServiceState(KF, USER);
    const issued = fake.tokensIssued;
    const sends = fake.callsTo('kf/send_msg').length;
    fake.expireTokens();
    await expect(c.sendMsg({ openKfId: KF, userId: USER }, 'gw42001test', { msgtype: 'text', text: { content: 'after refresh' } })).resolves.toEqual({ msgid: 'gw42001test' });
    expect(fake.tokensIssued - issued).toBe(1);
    expect(fake.callsTo('kf/send_msg').slice(sends).map((x) => x.errcode)).toEqual([42001, 0]);
    expect(fake.sent.filter((m) => m.msgid === 'gw42001test')).toHaveLength(1);
  });

  it('40014 twice in a row → refreshed once, then surfaced (no loop)', async () => {
    const c = client();
    await c.getServiceState(KF, USER);
    const issued = fake.tokensIssued;
    fake.fail('kf/service_state/get', 40014, 2);
    await expect(c.getServiceState(KF, USER)).rejects.toBeInstanceOf(ProviderUnavailableError);
    expect(fake.tokensIssued - issued).toBe(1);
  });

  it('40001 (wrong secret) is a ConfigurationError and gettoken is not called again', async () => {
    const c = client({ secret: 'wrong-secret' });
    const calls = fake.callsTo('gettoken').length;
    await expect(c.getServiceState(KF, USER)).rejects.toBeInstanceOf(ConfigurationError);
    await expect(c.getServiceState(KF, USER)).rejects.toThrow(/configuration error/);
    await expect(c.sendMsg({ openKfId: KF, userId: USER }, 'gwx', { msgtype: 'text', text: { content: 'x' } })).rejects.toBeInstanceOf(ConfigurationError);
    expect(fake.callsTo('gettoken').length - calls).toBe(1);
  });

  it('maps errors: 95001 rejected, 45009 rate limited, -1 / HTTP 502 / network unavailable', async () => {
    const c = client();
    fake.fail('kf/send_msg', 95001);
    const e95001 = await c.sendMsg({ openKfId: KF, userId: USER }, 'gwe1', { msgtype: 'text', text: { content: 'x' } }).catch((e: unknown) => e);
    expect(e95001).toBeInstanceOf(ProviderRejectedError);
    expect((e95001 as ProviderRejectedError).providerCode).toBe('95001');
    fake.fail('kf/sync_msg', 45009);
    await expect(c.syncMsg({ limit: 1000, voice_format: 0, open_kfid: KF, token: fake.callbackToken() })).rejects.toBeInstanceOf(ProviderRateLimitedError);
    fake.fail('kf/send_msg', -1);
    await expect(c.sendMsg({ openKfId: KF, userId: USER }, 'gwe2', { msgtype: 'text', text: { content: 'x' } })).rejects.toBeInstanceOf(ProviderUnavailableError);
    fake.failHttp('kf/send_msg', 502);
    await expect(c.sendMsg({ openKfId: KF, userId: USER }, 'gwe3', { msgtype: 'text', text: { content: 'x' } })).rejects.toBeInstanceOf(ProviderUnavailableError);
    const dead = client({ apiUrl: 'http://127.0.0.1:1' });
    await expect(dead.getServiceState(KF, USER)).rejects.toBeInstanceOf(ProviderUnavailableError);
  });

  it('request bodies have the documented shape of the send_msg / sync_msg fixtures', async () => {
    const c = client();
    const sendFixture = fixtureJson<Record<string, unknown>>('wechat-kf', 'send-msg-request.json');
    await c.sendMsg({ openKfId: KF, userId: USER }, String(sendFixture['msgid']), { msgtype: 'text', text: { content: 'shape check' } });
    const sent = fake.callsTo('kf/send_msg').at(-1)!.body as Record<string, unknown>;
    expect(Object.keys(sent).sort()).toEqual(Object.keys(sendFixture).sort());
    expect(fake.sent.at(-1)?.msgid).toBe(sendFixture['msgid']);
    const syncFixture = fixtureJson<Record<string, unknown>>('wechat-kf', 'sync-msg-request.json');
    const first = await c.syncMsg({ token: fake.callbackToken(), limit: 1000, voice_format: 0, open_kfid: KF });
    await c.syncMsg({ cursor: first.next_cursor, token: fake.callbackToken(), limit: 1000, voice_format: 0, open_kfid: KF });
    const pulled = fake.callsTo('kf/sync_msg').at(-1)!.body as Record<string, unknown>;
    expect(Object.keys(pulled).sort()).toEqual(Object.keys(syncFixture).sort());
  });

  it('service state, trans, media upload and media/get (binary and JSON error)', async () => {
    const c = client();
    const user = `wmStateUser${Date.now()}`;
    fake.customerText(KF, user, 'hi');
    expect(await c.getServiceState(KF, user)).toEqual({ state: 0 });
    const t = await c.transServiceState(KF, user, 3, 'zhangsan');
    expect(t.msgCode).toMatch(/^MC/);
    expect(await c.getServiceState(KF, user)).toEqual({ state: 3, servicerUserId: 'zhangsan' });
    await expect(c.transServiceState(KF, user, 2)).rejects.toMatchObject({ providerCode: '95016' });
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47]), Buffer.alloc(100, 1)]);
    const mediaId = await c.uploadMedia('image', { bytes: png, contentType: 'image/png', filename: 'a.png' });
    expect(fake.uploads.find((u) => u.mediaId === mediaId)).toMatchObject({ type: 'image', filename: 'a.png', size: png.length });
    const got = await c.getMedia(mediaId);
    expect(got.bytes.equals(png)).toBe(true);
    expect(got.contentType).toBe('image/png');
    await expect(c.getMedia('nope')).rejects.toMatchObject({ providerCode: '40007' });
  });
});
