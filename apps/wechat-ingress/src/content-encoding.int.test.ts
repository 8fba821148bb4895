/**
 * Content encodings on the 微信客服 callback. WeCom's signature is not over the body (msg_signature
 * in the query covers the <Encrypt> element inside it), so a gzip/deflate body is decoded first,
 * capped at WECHAT_MAX_BODY_BYTES, and verified after; br/zstd/stacked codings are 415.
 */
import { deflateSync, gzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { createMetricsRegistry, silentLogger } from '@switchboard/core';
import type { WechatCallbackSettings } from '@switchboard/channel-wechat-kf/inbound';
import { createRedis, Producers, waitReady } from '@switchboard/queue';
import { dropPrefix, encryptWechatCallback, gzipBomb, kfCallbackXml, postBytes, serveInProcess, testRedisUrl, uniquePrefix, WECHAT_TEST_CONFIG, type InProcessServer } from '@switchboard/testkit';
import { createWechatIngressApp } from './app';

const KEYS = WECHAT_TEST_CONFIG;
const SETTINGS: WechatCallbackSettings = { token: KEYS.token, aesKey: KEYS.encodingAESKey, corpId: KEYS.corpId, timestampWindowSec: 300, maxBodyBytes: 64 * 1024 };
const XML = { 'content-type': 'text/xml' };

describe('wechat-ingress: content encodings', () => {
  const admin = new Redis(testRedisUrl());
  const prefix = uniquePrefix('wx-enc');
  const redis = createRedis(testRedisUrl(), 'producer');
  redis.on('error', () => undefined);
  const producers = new Producers(redis, prefix);
  const app = createWechatIngressApp({ log: silentLogger(), registry: createMetricsRegistry({ service: 'test' }), producers, redis, settings: SETTINGS });
  let server: InProcessServer;
  const tokens = async () => (await producers.queue('wechat-sync').getJobs(['waiting', 'delayed', 'prioritized', 'active'])).map((j) => (j.data as { token?: string }).token);

  beforeAll(async () => {
    await waitReady(redis, 5000);
    server = await serveInProcess(app);
  });
  afterAll(async () => {
    await server.close();
    await producers.close();
    redis.disconnect();
    await dropPrefix(admin, prefix);
    admin.disconnect();
  });

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
  ] as const)('a %s callback is decoded, verified and enqueued', async (coding, encode) => {
    const token = `ENCgz${coding}`;
    const cb = encryptWechatCallback(KEYS, kfCallbackXml({ corpId: KEYS.corpId, token, openKfId: 'wkEnc1' }));
    const res = await postBytes(`${server.url}/webhooks/wechat-kf${cb.search}`, encode(Buffer.from(cb.body)), { ...XML, 'content-encoding': coding });
    expect(res.status).toBe(200);
    expect(res.text).toBe('success');
    expect(await tokens()).toContain(token);
  });

  it('a gzip callback with a bad msg_signature → 401 after decoding, nothing enqueued', async () => {
    const cb = encryptWechatCallback(KEYS, kfCallbackXml({ corpId: KEYS.corpId, token: 'ENCbadsig', openKfId: 'wkEnc1' }), { signWith: 'not-the-token' });
    const res = await postBytes(`${server.url}/webhooks/wechat-kf${cb.search}`, gzipSync(Buffer.from(cb.body)), { ...XML, 'content-encoding': 'gzip' });
    expect(res.status).toBe(401);
    expect(await tokens()).not.toContain('ENCbadsig');
  });

  it('a gzip bomb (48 MiB inflated, under 64 KiB on the wire) → 413, corrupt gzip → 400', async () => {
    const bomb = await gzipBomb(48 * 1024 ** 2, '<xml><Encrypt><![CDATA[');
    expect(bomb.length).toBeLessThan(64 * 1024);
    const cb = encryptWechatCallback(KEYS, kfCallbackXml({ corpId: KEYS.corpId, token: 'ENCbomb' }));
    const mem0 = process.memoryUsage();
    const res = await postBytes(`${server.url}/webhooks/wechat-kf${cb.search}`, bomb, { ...XML, 'content-encoding': 'gzip' });
    const mem1 = process.memoryUsage();
    expect(res.status).toBe(413);
    expect(mem1.arrayBuffers - mem0.arrayBuffers).toBeLessThan(64 * 1024 * 1024);
    const corrupt = await postBytes(`${server.url}/webhooks/wechat-kf${cb.search}`, Buffer.from('\x1f\x8b\x08\x00garbage'), { ...XML, 'content-encoding': 'gzip' });
    expect(corrupt.status).toBe(400);
  }, 60_000);

  it.each(['br', 'zstd', 'gzip, gzip'])('Content-Encoding %s → 415', async (coding) => {
    const cb = encryptWechatCallback(KEYS, kfCallbackXml({ corpId: KEYS.corpId, token: `ENC415${coding.length}` }));
    const res = await postBytes(`${server.url}/webhooks/wechat-kf${cb.search}`, gzipSync(Buffer.from(cb.body)), { ...XML, 'content-encoding': coding });
    expect(res.status).toBe(415);
  });
});
