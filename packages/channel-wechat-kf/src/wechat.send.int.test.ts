import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { conversationId, ProviderRejectedError, silentLogger, type ConversationRef, type OutboundAdapter } from '@switchboard/core';
import { createRedis, gatewayKeys, type RedisClient } from '@switchboard/queue';
import { dropPrefix, FakeWecom, testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import type { Redis } from 'ioredis';
import { WechatApiClient } from './wechat.client.js';
import { GuardedFetcher } from '@switchboard/fetch';
import { createWechatOutboundAdapter, wechatMsgid } from './wechat.send.js';
import { SendAllowance, ServicerStatus } from './wechat.state.js';

const KF = 'wkSENDkf0001';
const log = silentLogger();
let userSeq = 0;

describe('wechat outbound adapter (fake WeCom, real Redis)', () => {
  let fake: FakeWecom;
  let redis: RedisClient;
  let media: Server;
  let mediaUrl = '';
  let hits = 0;
  const prefix = uniquePrefix('wxs');
  const keys = gatewayKeys(prefix);

  beforeAll(async () => {
    fake = await FakeWecom.start();
    redis = createRedis(testRedisUrl(), 'worker');
    media = createServer((req, res) => {
      hits += 1;
      if (req.url === '/pic.png') {
        res.writeHead(200, { 'content-type': 'image/png' });
        res.end(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47]), Buffer.alloc(64, 7)]));
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => media.listen(0, '127.0.0.1', r));
    mediaUrl = `http://127.0.0.1:${(media.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await dropPrefix(redis as Redis, prefix);
    await fake.close();
    await new Promise<void>((r) => media.close(() => r()));
    redis.disconnect();
  });

  function adapter(extra: { handoffServicer?: string; maxPartsPerReply?: number; fetcher?: GuardedFetcher } = {}): OutboundAdapter {
    const client = new WechatApiClient({ settings: { corpId: fake.corpId, secret: fake.secret, apiUrl: fake.url, timeoutMs: 2000 }, redis, keys, log });
    // the reply-media host is on loopback: listed as FETCH_ALLOWED_ORIGINS would list it
    const fetcher = new GuardedFetcher({ allowedOrigins: [mediaUrl], timeoutMs: 2000, maxBytes: 20 << 20 });
    return createWechatOutboundAdapter({ client, redis, keys, log, fetcher, ...extra });
  }

  /** A customer who just wrote (WeCom allows 5 replies per customer message, within 48 h). */
  async function customer(): Promise<ConversationRef> {
    userSeq += 1;
    const userId = `wmSendUser${userSeq}_${Date.now()}`;
    const item = fake.customerText(KF, userId, 'question');
    await new SendAllowance(redis, keys).customerWrote(KF, userId, Number(item['send_time']) * 1000, String(item['msgid']));
    return { channel: 'wechat-kf', account: KF, userId };
  }

  it('sends a text part to the right external_userid with the deterministic msgid', async () => {
    const a = adapter();
    const ref = await customer();
    const parts = a.render({ text: '**您好**！订单已发出。' }, ref);
    const res = await a.sendPart(ref, parts[0]!, { outboundId: 'out-1', partIndex: 0, partCount: 1 });
    expect(res).toEqual({ providerMessageId: wechatMsgid('out-1', 0) });
    expect(fake.sentTo(ref.userId)).toEqual([expect.objectContaining({ open_kfid: KF, msgtype: 'text', msgid: wechatMsgid('out-1', 0), body: { text: { content: '您好！订单已发出。' } } })]);
  });

  it('a retried part (same outboundId + partIndex) is not delivered twice', async () => {
    const a = adapter();
    const ref = await customer();
    const ctx = { outboundId: 'out-retry', partIndex: 0, partCount: 1 };
    await a.sendPart(ref, { kind: 'text', text: 'once' }, ctx);
    await a.sendPart(ref, { kind: 'text', text: 'once' }, ctx);
    expect(fake.sentTo(ref.userId)).toHaveLength(1);
    expect(fake.callsTo('kf/send_msg').filter((c) => (c.body as { touser?: string }).touser === ref.userId)).toHaveLength(2);
  });

  it('a 6,000-byte answer goes out as ≤ 5 messages of ≤ 2048 bytes', async () => {
    const a = adapter({ maxPartsPerReply: 5 });
    const ref = await customer();
    const text = '我们的物流政策如下，请仔细阅读。'.repeat(130);
    expect(Buffer.byteLength(text)).toBeGreaterThan(6000);
    const parts = a.render({ text }, ref);
    for (const [i, p] of parts.entries()) await a.sendPart(ref, p, { outboundId: 'out-long', partIndex: i, partCount: parts.length });
    const sent = fake.sentTo(ref.userId);
    expect(sent.length).toBeGreaterThan(1);
    expect(sent.length).toBeLessThanOrEqual(5);
    for (const m of sent) expect(Buffer.byteLength((m.body['text'] as { content: string }).content)).toBeLessThanOrEqual(2048);
  });

  it('95001 from WeCom → ProviderRejectedError with the reason; nothing sent', async () => {
    const a = adapter();
    const ref = await customer();
    fake.fail('kf/send_msg', 95001);
    const err = await a.sendPart(ref, { kind: 'text', text: 'x' }, { outboundId: 'out-95001', partIndex: 0, partCount: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderRejectedError);
    expect((err as ProviderRejectedError).providerCode).toBe('95001');
    expect((err as Error).message).toContain('5-message limit');
    expect(fake.sentTo(ref.userId)).toHaveLength(0);
  });

  it('the sixth message for one customer message is refused locally without an API call', async () => {
    const a = adapter();
    const ref = await customer();
    for (let i = 0; i < 5; i++) await a.sendPart(ref, { kind: 'text', text: `m${i}` }, { outboundId: 'out-quota', partIndex: i, partCount: 6 });
    const calls = fake.callsTo('kf/send_msg').length;
    await expect(a.sendPart(ref, { kind: 'text', text: 'm5' }, { outboundId: 'out-quota', partIndex: 5, partCount: 6 })).rejects.toMatchObject({ providerCode: '95001' });
    expect(fake.callsTo('kf/send_msg').length).toBe(calls);
    // re-sending an already counted part stays allowed (idempotent retry)
    await expect(a.sendPart(ref, { kind: 'text', text: 'm4' }, { outboundId: 'out-quota', partIndex: 4, partCount: 6 })).resolves.toBeDefined();
  });

  it('95018 (a human holds the session) → rejected and the conversation marked human-owned; maySend false while humans hold it', async () => {
    const a = adapter();
    const ref = await customer();
    expect(await a.maySend!(ref)).toBe(true);
    fake.setServiceState(KF, ref.userId, 3, 'zhangsan');
    expect(await a.maySend!(ref)).toBe(false);
    await expect(a.sendPart(ref, { kind: 'text', text: 'x' }, { outboundId: 'out-95018', partIndex: 0, partCount: 1 })).rejects.toMatchObject({ providerCode: '95018' });
    // the conversation is marked human-owned (the shared ownership key: existence = human)
    expect(await redis.exists(keys.owner(conversationId(ref)))).toBe(1);
  });

  it('handoff moves the session to the queue, or to a receiving servicer; repeated handoffs are no-ops', async () => {
    const ref = await customer();
    await adapter().handoff!(ref, { reason: 'customer asked', summary: 'wants a refund' });
    expect(fake.serviceState(KF, ref.userId)).toBe(2);
    await adapter().handoff!(ref, { reason: 'again', summary: '' });
    expect(fake.transitions.filter((t) => t.userId === ref.userId)).toEqual([{ openKfId: KF, userId: ref.userId, from: 0, to: 2 }]);

    const ref2 = await customer();
    await adapter({ handoffServicer: 'lisi' }).handoff!(ref2, { reason: 'agent', summary: '' });
    expect(fake.transitions.filter((t) => t.userId === ref2.userId)).toEqual([{ openKfId: KF, userId: ref2.userId, from: 0, to: 3, servicer: 'lisi' }]);

    // a servicer known to have stopped receiving is skipped
    await new ServicerStatus(redis, keys).set('wangwu', false);
    const ref3 = await customer();
    await adapter({ handoffServicer: 'wangwu' }).handoff!(ref3, { reason: 'agent', summary: '' });
    expect(fake.serviceState(KF, ref3.userId)).toBe(2);
  });

  it('options go out as a msgmenu; media are uploaded then sent by media_id', async () => {
    const a = adapter();
    const ref = await customer();
    const parts = a.render({ text: '请选择：', options: [{ id: 'track', title: '查物流' }, { id: 'human', title: '转人工' }], media: [{ kind: 'image', url: `${mediaUrl}/pic.png` }] }, ref);
    expect(parts.map((p) => p.kind)).toEqual(['media', 'options']);
    for (const [i, p] of parts.entries()) await a.sendPart(ref, p, { outboundId: 'out-rich', partIndex: i, partCount: parts.length });
    const [img, menu] = fake.sentTo(ref.userId);
    expect(img).toMatchObject({ msgtype: 'image', body: { image: { media_id: expect.stringMatching(/^mid_/) } } });
    expect(fake.uploads.some((u) => u.mediaId === (img!.body['image'] as { media_id: string }).media_id && u.type === 'image')).toBe(true);
    expect(menu).toMatchObject({ msgtype: 'msgmenu', body: { msgmenu: { head_content: '请选择：', list: [{ type: 'click', click: { id: 'track', content: '查物流' } }, { type: 'click', click: { id: 'human', content: '转人工' } }] } } });
    await expect(a.sendPart(ref, { kind: 'media', media: { kind: 'image', url: `${mediaUrl}/missing.png` } }, { outboundId: 'out-rich', partIndex: 2, partCount: 3 })).rejects.toBeInstanceOf(ProviderRejectedError);
  });

  it('reply media on a non-public address is refused for good (not retried), never fetched', async () => {
    const a = adapter({ fetcher: new GuardedFetcher({ timeoutMs: 2000, maxBytes: 20 << 20 }) });
    const ref = await customer();
    const before = hits;
    for (const url of [`${mediaUrl}/pic.png`, `http://[::1]:${mediaUrl.split(':').pop()}/pic.png`, 'http://169.254.169.254/latest/meta-data/']) {
      const err = await a.sendPart(ref, { kind: 'media', media: { kind: 'image', url } }, { outboundId: 'out-ssrf', partIndex: 0, partCount: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderRejectedError);
      expect((err as ProviderRejectedError).providerCode).toBe('media_refused');
    }
    expect(hits).toBe(before);
    expect(fake.sentTo(ref.userId)).toHaveLength(0);
  });
});
