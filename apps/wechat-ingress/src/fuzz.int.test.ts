/**
 * Bad input, WeChat Kefu ingress: malformed or hostile XML (entity declarations: billion laughs,
 * external entities), base64 garbage in `Encrypt`, a wrong AES key, a wrong receive id, replayed
 * timestamps, signatures of another body, wrong content types, truncated/oversized bodies and huge
 * headers get the right 4xx, the process keeps serving, no `wechat-sync` job is enqueued (unique
 * prefix) and neither the token, the AES key nor payload text appear in the logs.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request as httpRequest } from 'node:http';
import { Redis } from 'ioredis';
import { createLogger, createMetricsRegistry, type Logger } from '@switchboard/core';
import type { WechatCallbackSettings } from '@switchboard/channel-wechat-kf/inbound';
import { createRedis, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import { dropPrefix, encryptWechatCallback, kfCallbackXml, signWechatCallback, testRedisUrl, uniquePrefix, WECHAT_TEST_CONFIG } from '@switchboard/testkit';
import { createWechatIngressApp } from './app';

const KEYS = WECHAT_TEST_CONFIG;
const OTHER_AES_KEY = 'A'.repeat(43);
const CANARY = 'CANARYwechattoken4471';
const SETTINGS: WechatCallbackSettings = { token: KEYS.token, aesKey: KEYS.encodingAESKey, corpId: KEYS.corpId, timestampWindowSec: 300, maxBodyBytes: 64 * 1024 };
const ROUTE = '/webhooks/wechat-kf';

function capturingLogger(): { log: Logger; lines: string[] } {
  const log = createLogger({ service: 'fuzz', level: 'debug' });
  const lines: string[] = [];
  for (const t of log.transports) {
    (t as unknown as { log: (info: Record<string | symbol, unknown>, next: () => void) => void }).log = (info, next) => {
      lines.push(String(info[Symbol.for('message')] ?? JSON.stringify(info)));
      next();
    };
  }
  return { log, lines };
}

function rawPost(url: string, body: Buffer, headers: Record<string, string | number>): Promise<{ status: number; text: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: 'POST', headers, timeout: 10_000 }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/** A signed callback whose `Encrypt` is `enc` (any string) — valid signature over garbage. */
function signedEncrypt(enc: string, ts = String(Math.floor(Date.now() / 1000))) {
  const nonce = '1234567890';
  const search = `?${new URLSearchParams({ msg_signature: signWechatCallback(KEYS.token, ts, nonce, enc), timestamp: ts, nonce }).toString()}`;
  const body = `<xml><ToUserName><![CDATA[${KEYS.corpId}]]></ToUserName><Encrypt><![CDATA[${enc}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>`;
  return { search, body };
}

describe('wechat-ingress bad input (real Redis)', () => {
  const prefix = uniquePrefix('fuzzwx');
  const { log, lines } = capturingLogger();
  let redis: RedisClient;
  let producers: Producers;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    redis = createRedis(testRedisUrl(), 'producer');
    redis.on('error', () => undefined);
    await waitReady(redis);
    producers = new Producers(redis, prefix);
    const app = createWechatIngressApp({ log, registry: createMetricsRegistry({ service: 'fuzz' }), producers, redis, settings: SETTINGS });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}${ROUTE}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await producers.close();
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
    redis.disconnect();
  });

  const queued = async () => {
    let total = 0;
    for (const q of ['wechat-sync', 'inbound'] as const) {
      const c = await producers.queue(q).getJobCounts('waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized');
      total += Object.values(c).reduce((a, b) => a + b, 0);
    }
    return total;
  };

  const xml = { 'content-type': 'text/xml' };
  const plain = () => kfCallbackXml({ corpId: KEYS.corpId, token: CANARY, openKfId: 'wkFUZZ' });
  const now = () => Math.floor(Date.now() / 1000);
  const laughs = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]><xml><Encrypt>&lol4;</Encrypt></xml>';
  const xxe = '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><ToUserName>&xxe;</ToUserName><Encrypt><![CDATA[abc]]></Encrypt></xml>';

  const cases: Array<{ name: string; make: () => { search: string; body: Buffer; headers: Record<string, string | number> }; expected: number }> = [
    { name: 'no query signature', make: () => ({ search: '', body: Buffer.from(encryptWechatCallback(KEYS, plain()).body), headers: xml }), expected: 400 },
    { name: 'signature with another token', make: () => { const cb = encryptWechatCallback(KEYS, plain(), { signWith: 'not-the-token' }); return { search: cb.search, body: Buffer.from(cb.body), headers: xml }; }, expected: 401 },
    { name: 'signature of another body', make: () => { const a = encryptWechatCallback(KEYS, plain()); const b = encryptWechatCallback(KEYS, plain()); return { search: a.search, body: Buffer.from(b.body), headers: xml }; }, expected: 401 },
    { name: 'wrong AES key (signed with the right token)', make: () => { const cb = encryptWechatCallback({ ...KEYS, encodingAESKey: OTHER_AES_KEY }, plain()); return { search: cb.search, body: Buffer.from(cb.body), headers: xml }; }, expected: 403 },
    { name: 'wrong receive id', make: () => { const cb = encryptWechatCallback(KEYS, plain(), { receiveId: 'wwOTHERCORP' }); return { search: cb.search, body: Buffer.from(cb.body), headers: xml }; }, expected: 403 },
    { name: 'replayed old timestamp (1 h)', make: () => { const cb = encryptWechatCallback(KEYS, plain(), { timestamp: now() - 3600 }); return { search: cb.search, body: Buffer.from(cb.body), headers: xml }; }, expected: 403 },
    { name: 'base64 garbage in Encrypt (signed)', make: () => { const s = signedEncrypt('!!!not*base64$$$==='); return { search: s.search, body: Buffer.from(s.body), headers: xml }; }, expected: 400 },
    { name: 'valid base64, not a ciphertext (signed)', make: () => { const s = signedEncrypt(Buffer.from(`${CANARY}${CANARY}`).toString('base64')); return { search: s.search, body: Buffer.from(s.body), headers: xml }; }, expected: 400 },
    { name: 'truncated body', make: () => { const cb = encryptWechatCallback(KEYS, plain()); return { search: cb.search, body: Buffer.from(cb.body.slice(0, 60)), headers: xml }; }, expected: 400 },
    { name: 'empty body', make: () => { const cb = encryptWechatCallback(KEYS, plain()); return { search: cb.search, body: Buffer.alloc(0), headers: xml }; }, expected: 400 },
    { name: 'JSON body (wrong content type)', make: () => { const cb = encryptWechatCallback(KEYS, plain()); return { search: cb.search, body: Buffer.from(JSON.stringify({ Encrypt: cb.encrypt })), headers: { 'content-type': 'application/json' } }; }, expected: 400 },
    { name: 'billion laughs (entity declarations)', make: () => { const cb = encryptWechatCallback(KEYS, plain()); return { search: cb.search, body: Buffer.from(laughs), headers: xml }; }, expected: 400 },
    { name: 'external entity (XXE)', make: () => { const cb = encryptWechatCallback(KEYS, plain()); return { search: cb.search, body: Buffer.from(xxe), headers: xml }; }, expected: 400 },
    { name: 'invalid UTF-8 in the XML', make: () => { const cb = encryptWechatCallback(KEYS, plain()); const b = Buffer.from(cb.body); return { search: cb.search, body: Buffer.concat([b.subarray(0, 10), Buffer.from([0xc3, 0x28, 0xff]), b.subarray(10)]), headers: xml }; }, expected: 400 },
    { name: 'body over the limit (64 KB)', make: () => { const cb = encryptWechatCallback(KEYS, plain()); return { search: cb.search, body: Buffer.from(`<xml><Encrypt>${'A'.repeat(80 * 1024)}</Encrypt></xml>`), headers: xml }; }, expected: 413 },
    { name: 'huge header (60 KB)', make: () => { const cb = encryptWechatCallback(KEYS, plain()); return { search: cb.search, body: Buffer.from(cb.body), headers: { ...xml, 'x-filler': 'h'.repeat(60 * 1024) } }; }, expected: 431 },
  ];

  it.each(cases)('$name → $expected, nothing enqueued', async ({ make, expected }) => {
    const before = await queued();
    const { search, body, headers } = make();
    const res = await rawPost(`${base}${search}`, body, { ...headers, 'content-length': body.length }).catch((err: Error) => ({ status: -1, text: err.message }));
    expect(res.status).toBe(expected);
    expect(await queued()).toBe(before);
  });

  it('an entity declaration inside the decrypted plaintext is not expanded, nothing enqueued', async () => {
    const before = await queued();
    const inner = `<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "${CANARY}"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><ToUserName><![CDATA[${KEYS.corpId}]]></ToUserName><MsgType>event</MsgType><Event>kf_msg_or_event</Event><Token>&b;</Token></xml>`;
    const cb = encryptWechatCallback(KEYS, inner);
    const res = await rawPost(`${base}${cb.search}`, Buffer.from(cb.body), { ...xml, 'content-length': Buffer.byteLength(cb.body) });
    expect(res.status).toBe(400);
    expect(await queued()).toBe(before);
  });

  it('still serves a valid callback afterwards and enqueues exactly one sync job', async () => {
    const before = await queued();
    const cb = encryptWechatCallback(KEYS, kfCallbackXml({ corpId: KEYS.corpId, token: 'ENCvalid1', openKfId: 'wkFUZZ' }));
    const res = await rawPost(`${base}${cb.search}`, Buffer.from(cb.body), { ...xml, 'content-length': Buffer.byteLength(cb.body) });
    expect([res.status, res.text]).toEqual([200, 'success']);
    expect(await queued()).toBe(before + 1);
  });

  it('the logs never contain the token, the AES key, ciphertext or payload text', () => {
    const all = lines.join('\n');
    expect(lines.length).toBeGreaterThan(0);
    expect(all).not.toContain(KEYS.token);
    expect(all).not.toContain(KEYS.encodingAESKey);
    expect(all).not.toContain(CANARY);
    expect(all).not.toContain('/etc/passwd');
    expect(all).not.toContain('hhhhhhhh');
  });
});
