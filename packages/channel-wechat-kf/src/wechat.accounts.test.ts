import { WechatSyncJob } from '@switchboard/core';
import { encryptWechatCallback, kfCallbackXml, WECHAT_TEST_CONFIG } from '@switchboard/testkit';
import { wechatAccountInbound } from './wechat.inbound.js';
import { syncJobFor } from './wechat.verify.js';

const K = WECHAT_TEST_CONFIG;
const settings = { token: K.token, aesKey: K.encodingAESKey, corpId: K.corpId, timestampWindowSec: 300, maxBodyBytes: 65536 };

describe('wechat-sync jobs of several corps', () => {
  const cb = { kind: 'kf_msg_or_event' as const, toUserName: 'ww', createTime: 1, token: 'ENCtok', openKfId: 'wk1' };

  it("a file account's job carries its account id; the account default's job stays as before", () => {
    expect(syncJobFor(cb, 'wwA', 5, Buffer.from('x'), 'shop-a').data).toEqual({ accountId: 'shop-a', corpId: 'wwA', openKfId: 'wk1', token: 'ENCtok', receivedAt: 5 });
    expect(syncJobFor(cb, 'wwA', 5, Buffer.from('x'), 'default').data).toEqual({ corpId: 'wwA', openKfId: 'wk1', token: 'ENCtok', receivedAt: 5 });
    expect(syncJobFor(cb, 'wwA', 5, Buffer.from('x')).data).not.toHaveProperty('accountId');
  });

  it('job ids are per corp and open_kfid: two corps never share one', () => {
    expect(syncJobFor(cb, 'wwA', 1, Buffer.from('x'), 'shop-a').jobId).not.toBe(syncJobFor(cb, 'wwB', 1, Buffer.from('x'), 'shop-b').jobId);
    expect(syncJobFor(cb, 'wwA', 1, Buffer.from('x'), 'shop-a').jobId).not.toBe(syncJobFor({ ...cb, openKfId: 'wk2' }, 'wwA', 1, Buffer.from('x'), 'shop-a').jobId);
  });

  it('a job queued before accounts existed (no accountId) still parses: it means the account default', () => {
    const legacy = WechatSyncJob.parse({ corpId: 'ww', openKfId: 'wk1', receivedAt: 1 });
    expect(legacy.accountId).toBeUndefined();
  });

  it("an account's inbound half stamps its id on the jobs of its callbacks", () => {
    const inbound = wechatAccountInbound(settings, 'shop-a');
    const enc = encryptWechatCallback(K, kfCallbackXml({ corpId: K.corpId, token: 'ENCabc', openKfId: 'wkX' }));
    const verified = inbound.adapter.verify({ rawBody: Buffer.from(enc.body), headers: {}, query: enc.query, rawQuery: enc.search, now: Date.now() });
    if (!verified.ok) throw new Error(`verify failed: ${verified.reason}`);
    const jobs = inbound.jobs!(verified.payload, { receivedAt: 7 });
    expect(jobs).toEqual([{ queue: 'wechat-sync', jobId: expect.any(String), data: { accountId: 'shop-a', corpId: K.corpId, openKfId: 'wkX', token: 'ENCabc', receivedAt: 7 } }]);
  });
});
