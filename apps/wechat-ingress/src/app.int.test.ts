import { Redis } from 'ioredis';
import request from 'supertest';
import { createMetricsRegistry, silentLogger } from '@switchboard/core';
import type { WechatCallbackSettings } from '@switchboard/channel-wechat-kf/inbound';
import { createRedis, Producers, waitReady } from '@switchboard/queue';
import {
  buildWechatVerifyRequest,
  dropPrefix,
  encryptWechatCallback,
  fixtureBytes,
  fixtureJson,
  kfCallbackXml,
  testRedisUrl,
  uniquePrefix,
  WECHAT_TEST_CONFIG,
} from '@switchboard/testkit';
import { createWechatIngressApp } from './app';

const KEYS = WECHAT_TEST_CONFIG;
const SETTINGS: WechatCallbackSettings = { token: KEYS.token, aesKey: KEYS.encodingAESKey, corpId: KEYS.corpId, timestampWindowSec: 300, maxBodyBytes: 64 * 1024 };
const ROUTE = '/webhooks/wechat-kf';

function build(prefix: string, opts: { redisUrl?: string; settings?: WechatCallbackSettings | undefined } = {}) {
  const redis = createRedis(opts.redisUrl ?? testRedisUrl(), 'producer');
  redis.on('error', () => undefined);
  const producers = new Producers(redis, prefix);
  const registry = createMetricsRegistry({ service: 'test' });
  const app = createWechatIngressApp({ log: silentLogger(), registry, producers, redis, settings: 'settings' in opts ? opts.settings : SETTINGS });
  return {
    app,
    producers,
    /** A fresh producer connection refuses commands (→ 503) until it is connected. */
    ready: () => waitReady(redis),
    close: async () => {
      await producers.close();
      redis.disconnect();
    },
  };
}

describe('wechat-ingress (real Redis)', () => {
  const admin = new Redis(testRedisUrl());
  const prefix = uniquePrefix('wxi');
  const { app, producers, ready, close } = build(prefix);
  const jobs = async () => producers.queue('wechat-sync').getJobs(['waiting', 'delayed', 'prioritized', 'active']);

  beforeAll(() => ready());
  afterAll(async () => {
    await close();
    await dropPrefix(admin, prefix);
    admin.disconnect();
  });

  it('GET answers the decrypted echostr only (text/plain, no quotes, no newline)', async () => {
    const v = buildWechatVerifyRequest(KEYS, { echo: '5923170422911836208' });
    const res = await request(app).get(`${ROUTE}${v.search}`);
    expect(res.status).toBe(200);
    expect(res.text).toBe('5923170422911836208');
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
  });

  it('GET verifies the shared fixture (its fixed 2026 timestamp, window disabled)', async () => {
    const fixed = build(uniquePrefix('wxi'), { settings: { ...SETTINGS, timestampWindowSec: 0 } });
    const ex = fixtureJson<{ get: { search: string; expectedResponse: string } }>('wechat-kf', 'encrypted-callback-example.json');
    const res = await request(fixed.app).get(`${ROUTE}${ex.get.search}`);
    expect(res.status).toBe(200);
    expect(res.text).toBe(ex.get.expectedResponse);
    await fixed.close();
  });

  it('GET with a literal + in echostr (turned into a space by query parsers) still verifies', async () => {
    let v = buildWechatVerifyRequest(KEYS);
    while (!v.query.echostr.includes('+')) v = buildWechatVerifyRequest(KEYS);
    const res = await request(app).get(`${ROUTE}${v.rawPlusSearch}`);
    expect(res.status).toBe(200);
    expect(res.text).toBe(v.expectedResponse);
  });

  it('GET with a bad signature is 401, missing parameters 400', async () => {
    const v = buildWechatVerifyRequest(KEYS);
    const bad = await request(app).get(ROUTE).query({ ...v.query, msg_signature: '0'.repeat(40) });
    expect(bad.status).toBe(401);
    expect(bad.text).not.toContain(v.expectedResponse);
    expect((await request(app).get(ROUTE)).status).toBe(400);
  });

  it('POST kf_msg_or_event → one wechat-sync job with token and open_kfid, then `success`', async () => {
    const token = 'ENCtokenPost1';
    const cb = encryptWechatCallback(KEYS, kfCallbackXml({ corpId: KEYS.corpId, token, openKfId: 'wkIngress1' }));
    const res = await request(app).post(`${ROUTE}${cb.search}`).set('content-type', 'text/xml').send(cb.body);
    expect(res.status).toBe(200);
    expect(res.text).toBe('success');
    const found = (await jobs()).filter((j) => (j.data as { token?: string }).token === token);
    expect(found).toHaveLength(1);
    expect(found[0]!.data).toEqual({ corpId: KEYS.corpId, openKfId: 'wkIngress1', token, receivedAt: expect.any(Number) });
    expect(found[0]!.id).not.toContain(':');
  });

  it('reads the raw XML whatever the content type', async () => {
    for (const type of ['application/xml', 'application/json', 'application/x-www-form-urlencoded', 'application/octet-stream']) {
      const cb = encryptWechatCallback(KEYS, kfCallbackXml({ corpId: KEYS.corpId, token: `ENCct${type.length}${type[13]}`, openKfId: 'wkIngress2' }));
      const res = await request(app).post(`${ROUTE}${cb.search}`).set('content-type', type).send(cb.body);
      expect([type, res.status, res.text]).toEqual([type, 200, 'success']);
    }
  });

  it('three copies of one callback (WeCom retries) → one wechat-sync job', async () => {
    const token = 'ENCtokenDup3';
    const cb = encryptWechatCallback(KEYS, kfCallbackXml({ corpId: KEYS.corpId, token, openKfId: 'wkIngress3' }));
    const results = await Promise.all([1, 2, 3].map(() => request(app).post(`${ROUTE}${cb.search}`).set('content-type', 'text/xml').send(cb.body)));
    expect(results.map((r) => [r.status, r.text])).toEqual([[200, 'success'], [200, 'success'], [200, 'success']]);
    expect((await jobs()).filter((j) => (j.data as { token?: string }).token === token)).toHaveLength(1);
  });

  it('refuses: bad signature 401, wrong corp id 403, stale timestamp 403, malformed 400, oversized 413', async () => {
    const xml = kfCallbackXml({ corpId: KEYS.corpId, token: 'ENCrefused', openKfId: 'wkIngress4' });
    const bad = encryptWechatCallback(KEYS, xml, { signWith: 'someOtherToken' });
    expect((await request(app).post(`${ROUTE}${bad.search}`).send(bad.body)).status).toBe(401);
    const wrongCorp = encryptWechatCallback(KEYS, xml, { receiveId: 'wwSomebodyElse' });
    expect((await request(app).post(`${ROUTE}${wrongCorp.search}`).send(wrongCorp.body)).status).toBe(403);
    const stale = encryptWechatCallback(KEYS, xml, { timestamp: Math.floor(Date.now() / 1000) - 3600 });
    expect((await request(app).post(`${ROUTE}${stale.search}`).send(stale.body)).status).toBe(403);
    const ok = encryptWechatCallback(KEYS, xml);
    expect((await request(app).post(`${ROUTE}${ok.search}`).set('content-type', 'text/xml').send('<xml><Encrypt>')).status).toBe(400);
    expect((await request(app).post(`${ROUTE}${ok.search}`).set('content-type', 'text/xml').send('')).status).toBe(400);
    const bomb = '<!DOCTYPE x [<!ENTITY a "a">]><xml><Encrypt>&a;</Encrypt></xml>';
    expect((await request(app).post(`${ROUTE}${ok.search}`).set('content-type', 'text/xml').send(bomb)).status).toBe(400);
    const huge = `<xml><Encrypt>${'A'.repeat(70 * 1024)}</Encrypt></xml>`;
    expect((await request(app).post(`${ROUTE}${ok.search}`).set('content-type', 'text/xml').send(huge)).status).toBe(413);
    // a decrypted notice that is not XML: authenticated but malformed
    const garbage = encryptWechatCallback(KEYS, 'this is not xml');
    expect((await request(app).post(`${ROUTE}${garbage.search}`).send(garbage.body)).status).toBe(400);
    expect((await jobs()).filter((j) => (j.data as { token?: string }).token === 'ENCrefused')).toHaveLength(0);
  });

  it('non-kf callbacks are acknowledged with `success` and enqueue nothing', async () => {
    const before = (await jobs()).length;
    for (const xml of [
      '<xml><ToUserName><![CDATA[ww]]></ToUserName><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[enter_agent]]></Event><CreateTime>1</CreateTime></xml>',
      '<xml><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content></xml>',
      '<xml><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event></xml>',
    ]) {
      const cb = encryptWechatCallback(KEYS, xml);
      const res = await request(app).post(`${ROUTE}${cb.search}`).send(cb.body);
      expect([res.status, res.text]).toEqual([200, 'success']);
    }
    expect((await jobs()).length).toBe(before);
  });

  it('the shared fixture POST decrypts to the fixture notice (window disabled)', async () => {
    const p = uniquePrefix('wxi');
    const fixed = build(p, { settings: { ...SETTINGS, timestampWindowSec: 0 } });
    await fixed.ready();
    const ex = fixtureJson<{ post: { search: string; body: string } }>('wechat-kf', 'encrypted-callback-example.json');
    const res = await request(fixed.app).post(`${ROUTE}${ex.post.search}`).set('content-type', 'text/xml').send(ex.post.body);
    expect([res.status, res.text]).toEqual([200, 'success']);
    const [job] = await fixed.producers.queue('wechat-sync').getJobs(['waiting']);
    expect(job?.data).toMatchObject({ openKfId: 'wkq8ZmDgAA7XbR2sVtLp0e1YcN4uKw9H', token: 'ENCBq4Jt8WnYv2LrKc6XdPz9HsMe3TfGaU1oVbQ7iRkZyNx' });
    expect(fixtureBytes('wechat-kf', 'kf-callback-decrypted.xml').toString()).toContain(job?.data.token);
    await fixed.close();
    await dropPrefix(admin, p);
  });

  it('/healthz, /readyz and /metrics', async () => {
    expect((await request(app).get('/healthz')).status).toBe(200);
    const ready = await request(app).get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ redis: 'ok', wechat: 'ok' });
    const metrics = await request(app).get('/metrics');
    expect(metrics.text).toMatch(/sb_webhook_deliveries_total\{channel="wechat-kf",result="accepted"[^}]*\} \d+/);
    expect(metrics.text).toMatch(/sb_signature_failures_total\{channel="wechat-kf",reason="bad_signature"/);
    expect(metrics.text).toMatch(/sb_enqueue_seconds_count\{[^}]*channel="wechat-kf"[^}]*\} [1-9]/);
  });
});

describe('wechat-ingress when Redis is down', () => {
  it('answers 503 (so WeCom retries) instead of `success`, quickly', async () => {
    const { app, close } = build(uniquePrefix('wxi'), { redisUrl: 'redis://127.0.0.1:1' });
    const cb = encryptWechatCallback(KEYS, kfCallbackXml({ corpId: KEYS.corpId, token: 'ENCdown', openKfId: 'wkDown' }));
    const started = Date.now();
    const res = await request(app).post(`${ROUTE}${cb.search}`).send(cb.body);
    expect(res.status).toBe(503);
    expect(res.text).not.toBe('success');
    expect(Date.now() - started).toBeLessThan(4000);
    expect((await request(app).get('/readyz')).status).toBe(503);
    await close();
  });
});

describe('wechat-ingress without credentials', () => {
  it('starts, answers 503 on both routes and reports not ready', async () => {
    const { app, close } = build(uniquePrefix('wxi'), { settings: undefined });
    expect((await request(app).get(ROUTE).query({ echostr: 'x' })).status).toBe(503);
    expect((await request(app).post(ROUTE).send('<xml/>')).status).toBe(503);
    const ready = await request(app).get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.checks.wechat).toMatch(/disabled/);
    expect((await request(app).get('/healthz')).status).toBe(200);
    await close();
  });
});
