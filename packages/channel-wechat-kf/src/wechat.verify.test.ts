import { fixtureBytes, fixtureJson } from '@switchboard/testkit';
import { wechatMsgid } from './wechat.send.js';
import { parseRawQuery, syncJobFor, verifyCallback, verifyEcho } from './wechat.verify.js';

const ex = fixtureJson<{
  config: { token: string; encodingAESKey: string; corpId: string };
  post: { search: string; body: string };
  get: { search: string; expectedResponse: string };
}>('wechat-kf', 'encrypted-callback-example.json');
const v = { token: ex.config.token, aesKey: ex.config.encodingAESKey, corpId: ex.config.corpId, timestampWindowSec: 0 };

describe('wechat request verification', () => {
  it('parseRawQuery decodes %2B and keeps a literal +', () => {
    expect(parseRawQuery('?a=x%2By&b=x+y&c=%E4%BD%A0&d&e=%zz')).toEqual({ a: 'x+y', b: 'x+y', c: '你', d: '', e: '%zz' });
  });

  it('verifies the fixture GET, also when + arrives unencoded', () => {
    expect(verifyEcho(v, parseRawQuery(ex.get.search), Date.now())).toEqual({ ok: true, payload: ex.get.expectedResponse });
  });

  it('verifies the fixture POST into a kf_msg_or_event callback', () => {
    const r = verifyCallback(v, { rawBody: Buffer.from(ex.post.body), headers: {}, query: parseRawQuery(ex.post.search), now: Date.now() });
    expect(r).toMatchObject({ ok: true, payload: { kind: 'kf_msg_or_event', openKfId: 'wkq8ZmDgAA7XbR2sVtLp0e1YcN4uKw9H' } });
  });

  it('maps failures to 400 / 401 / 403', () => {
    const q = parseRawQuery(ex.post.search);
    const body = Buffer.from(ex.post.body);
    expect(verifyCallback(v, { rawBody: Buffer.from('<xml>'), headers: {}, query: q, now: 0 })).toMatchObject({ ok: false, status: 400 });
    expect(verifyCallback(v, { rawBody: body, headers: {}, query: { ...q, nonce: '1' }, now: 0 })).toMatchObject({ ok: false, status: 401 });
    expect(verifyCallback({ ...v, corpId: 'wwother' }, { rawBody: body, headers: {}, query: q, now: 0 })).toMatchObject({ ok: false, status: 403, reason: 'receiveid_mismatch' });
    expect(verifyCallback({ ...v, timestampWindowSec: 60 }, { rawBody: body, headers: {}, query: q, now: Date.now() })).toMatchObject({ ok: false, status: 403, reason: 'stale_timestamp' });
  });

  it('WeCom retries of one notice map to one wechat-sync job id', () => {
    const cb = { kind: 'kf_msg_or_event' as const, toUserName: 'ww', createTime: 1, token: 'ENCtok', openKfId: 'wk1' };
    const a = syncJobFor(cb, 'ww', 1000, Buffer.from('a'));
    const b = syncJobFor(cb, 'ww', 2000, Buffer.from('b'));
    expect(a.jobId).toBe(b.jobId);
    expect(a.jobId).not.toContain(':');
    expect(a.data).toEqual({ corpId: 'ww', openKfId: 'wk1', token: 'ENCtok', receivedAt: 1000 });
    expect(syncJobFor({ ...cb, token: 'other' }, 'ww', 1, Buffer.from('a')).jobId).not.toBe(a.jobId);
    const noToken = { kind: 'kf_msg_or_event' as const, toUserName: 'ww', createTime: 1 };
    expect(syncJobFor(noToken, 'ww', 1, fixtureBytes('wechat-kf', 'kf-callback-decrypted.xml')).data).toEqual({ corpId: 'ww', receivedAt: 1 });
  });
});

describe('wechat send msgid', () => {
  it('is ≤ 32 chars of [0-9a-zA-Z_-], deterministic per part and distinct across parts', () => {
    const a0 = wechatMsgid('out-wechat-kf-abc:1', 0);
    expect(a0).toMatch(/^[0-9a-zA-Z_-]{1,32}$/);
    expect(a0).toHaveLength(32);
    expect(wechatMsgid('out-wechat-kf-abc:1', 0)).toBe(a0);
    expect(wechatMsgid('out-wechat-kf-abc:1', 1)).not.toBe(a0);
    expect(wechatMsgid('out-wechat-kf-abd:1', 0)).not.toBe(a0);
  });
});
