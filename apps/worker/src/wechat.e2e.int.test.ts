import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { conversationId, createMetricsRegistry, silentLogger } from '@switchboard/core';
import { CursorStore } from '@switchboard/channel-wechat-kf/outbound';
import { createRedis, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import { encryptWechatCallback, FakeWecom, fixtureJson, kfCallbackXml, waitFor, WECHAT_TEST_CONFIG } from '@switchboard/testkit';
import { createWechatIngressApp } from '@switchboard/wechat-ingress/app';
import { startPipeline, type Pipeline } from './testing/harness';
import { adapterFor } from './channels';

jest.setTimeout(60_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KF = 'wkE2Ekf000000000000000000000001';
const KEYS = WECHAT_TEST_CONFIG;
let userSeq = 0;
const newUser = () => `wmE2Euser${++userSeq}x${Date.now()}`;
const textOf = (m: { body: Record<string, unknown> }) => (m.body['text'] as { content: string }).content;

/**
 * The whole WeChat path in one process: wechat-ingress (encrypted callbacks) → wechat-sync role
 * (kf/sync_msg on the fake WeCom) → inbound → turn (fake OpenAI) → outbound (kf/send_msg).
 */
describe('WeChat Kefu end to end (real Redis, fake WeCom and OpenAI)', () => {
  let p: Pipeline;
  let fake: FakeWecom;
  let server: Server;
  let ingressUrl = '';
  let ingressRedis: RedisClient;
  let ingressProducers: Producers;

  beforeAll(async () => {
    fake = await FakeWecom.start({ corpId: KEYS.corpId });
    const wechatVars = {
      WECHAT_TOKEN: KEYS.token,
      WECHAT_AESKEY: KEYS.encodingAESKey,
      WECHAT_CORP_ID: KEYS.corpId,
      WECHAT_SECRET: fake.secret,
      WECHAT_API_URL: fake.url,
      WECHAT_WELCOME_TEXT: '您好，欢迎咨询！',
      WECHAT_MAX_PARTS_PER_REPLY: '5',
      WECHAT_SYNC_LOCK_MS: '1000',
    };
    p = await startPipeline({ env: wechatVars });
    // the worker composes the WeChat adapter and the sync role from WECHAT_* by itself
    expect(adapterFor(p.deps, { channel: 'wechat-kf' })).toBeDefined();
    expect(p.workers.some((w) => w.name === 'wechat-sync')).toBe(true);
    ingressRedis = createRedis(p.env.REDIS_URL, 'producer');
    ingressRedis.on('error', () => undefined);
    await waitReady(ingressRedis);
    ingressProducers = new Producers(ingressRedis, p.prefix);
    const app = createWechatIngressApp({
      log: silentLogger(),
      registry: createMetricsRegistry({ service: 'wechat-e2e' }),
      producers: ingressProducers,
      redis: ingressRedis,
      settings: { token: KEYS.token, aesKey: KEYS.encodingAESKey, corpId: KEYS.corpId, timestampWindowSec: 300, maxBodyBytes: 65536 },
    });
    server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    ingressUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
    await ingressProducers.close();
    ingressRedis.disconnect();
    await p.close();
    await fake.close();
  });

  /** What WeCom does when a customer writes: an encrypted kf_msg_or_event callback with a fresh sync token. */
  async function callback(token = fake.callbackToken(), copies = 1): Promise<number[]> {
    const cb = encryptWechatCallback(KEYS, kfCallbackXml({ corpId: KEYS.corpId, token, openKfId: KF }));
    return Promise.all(
      Array.from({ length: copies }, async () => {
        const res = await fetch(`${ingressUrl}/webhooks/wechat-kf${cb.search}`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: cb.body });
        expect(await res.text()).toBe(res.status === 200 ? 'success' : expect.any(String));
        return res.status;
      }),
    );
  }

  it('an encrypted callback → a reply to the right external_userid', async () => {
    const user = newUser();
    fake.customerText(KF, user, '我的订单 8842 到哪里了？');
    expect(await callback()).toEqual([200]);
    await waitFor(() => fake.sentTo(user).length === 1, 15_000, 'one reply');
    const [reply] = fake.sentTo(user);
    expect(reply).toMatchObject({ open_kfid: KF, msgtype: 'text', msgid: expect.stringMatching(/^gw[0-9a-f]{30}$/) });
    expect(textOf(reply!)).toContain('8842');
    // the other customers got nothing
    expect(fake.sent.filter((m) => m.touser !== user && m.at >= reply!.at)).toHaveLength(0);
  });

  it("a sync worker killed mid-pull: the account's waiting job takes over when its lock lapses, nothing is lost", async () => {
    const user = newUser();
    // what a worker killed while pulling leaves behind: its lock (lapsing in 1 s) and pending work
    await p.deps.redis.set(p.deps.keys.ns('wechat', 'sync-lock', KEYS.corpId, KF), 'killed-worker', 'PX', 1000);
    await p.deps.redis.hset(p.deps.keys.ns('wechat', 'sync-pending', KEYS.corpId, KF), 'v', '1');
    fake.customerText(KF, user, '订单 5521 还没到');
    expect(await callback()).toEqual([200]);
    await sleep(300);
    expect(fake.sentTo(user)).toHaveLength(0);
    await waitFor(() => fake.sentTo(user).length === 1, 15_000, 'the reply after the takeover');
    expect(textOf(fake.sentTo(user)[0]!)).toContain('5521');
  });

  it('three copies of one callback → one reply; three callbacks for one message → still one reply', async () => {
    const user = newUser();
    fake.customerText(KF, user, 'three copies question');
    expect(await callback(undefined, 3)).toEqual([200, 200, 200]);
    await waitFor(() => fake.sentTo(user).length >= 1, 15_000, 'a reply');
    // WeCom may also notify again with new tokens: msgid dedupe keeps it at one answer
    await callback();
    await callback();
    await sleep(1500);
    expect(fake.sentTo(user)).toHaveLength(1);
  });

  it('two pages → every message answered, the cursor persisted, and a restarted sync resumes from it', async () => {
    const a = newUser();
    const b = newUser();
    fake.setPageSize(1);
    try {
      fake.customerText(KF, a, 'page one question');
      fake.customerText(KF, b, 'page two question');
      await callback();
      await waitFor(() => fake.sentTo(a).length === 1 && fake.sentTo(b).length === 1, 15_000, 'both answered');
      const cursors = new CursorStore(p.deps.redis, p.deps.keys);
      const stored = await cursors.get(KEYS.corpId, KF);
      expect(stored).toEqual(expect.any(String));

      await p.restartWorkers();
      const c = newUser();
      fake.customerText(KF, c, 'after the restart');
      const before = fake.callsTo('kf/sync_msg').length;
      await callback();
      await waitFor(() => fake.sentTo(c).length === 1, 15_000, 'answer after restart');
      expect(fake.callsTo('kf/sync_msg')[before]!.body).toMatchObject({ cursor: stored, open_kfid: KF });
      expect(fake.sentTo(a)).toHaveLength(1);
      expect(fake.sentTo(b)).toHaveLength(1);
    } finally {
      fake.setPageSize(1000);
    }
  });

  it('origin 5 (a human servicer answered in WeCom) → the bot stays silent', async () => {
    const user = newUser();
    fake.customerText(KF, user, 'I need a person');
    fake.servicerText(KF, user, 'zhangsan', '您好，我是人工客服');
    fake.customerText(KF, user, 'thanks, here is more detail');
    await callback();
    const conv = conversationId({ channel: 'wechat-kf', account: KF, userId: user });
    await waitFor(async () => (await p.deps.redis.exists(p.deps.keys.owner(conv))) === 1, 15_000, 'human owner recorded');
    await sleep(2000);
    expect(fake.sentTo(user)).toHaveLength(0);
  });

  it('42001 → one token refresh, one send', async () => {
    const user = newUser();
    fake.customerText(KF, user, 'token expiry question');
    const issued = fake.tokensIssued;
    fake.expireTokens();
    await callback();
    await waitFor(() => fake.sentTo(user).length === 1, 15_000, 'reply after refresh');
    await sleep(500);
    expect(fake.tokensIssued - issued).toBe(1);
    expect(fake.sentTo(user)).toHaveLength(1);
  });

  it('95001 → the reply fails with the reason, no retry loop', async () => {
    const user = newUser();
    fake.customerText(KF, user, 'quota question');
    fake.fail('kf/send_msg', 95001, 1);
    await callback();
    const outbound = new Queue('outbound-wechat-kf', { connection: p.deps.redis, prefix: p.prefix });
    try {
      await waitFor(async () => (await outbound.getFailed()).some((j) => j.data.ref.userId === user), 15_000, 'failed outbound job');
      const job = (await outbound.getFailed()).find((j) => j.data.ref.userId === user)!;
      expect(job.failedReason).toContain('95001');
      expect(job.attemptsMade).toBe(1);
      const progress = await p.deps.ledger.progress(job.data.outboundId);
      expect(progress).toMatchObject({ finished: true, outcome: expect.stringContaining('95001') });
      await sleep(1000);
      expect(fake.callsTo('kf/send_msg').filter((c) => (c.body as { touser?: string }).touser === user)).toHaveLength(1);
    } finally {
      await outbound.close();
    }
  });

  it('a 6,000-byte answer → at most 5 messages, each at most 2048 bytes', async () => {
    const user = newUser();
    const long = '关于退换货政策，请您仔细阅读以下说明。'.repeat(120);
    expect(Buffer.byteLength(long)).toBeGreaterThan(6000);
    p.openai.setReply(() => long);
    try {
      fake.customerText(KF, user, 'tell me everything about returns');
      await callback();
      await waitFor(() => fake.sentTo(user).length >= 3, 15_000, 'the long answer');
      await sleep(1000);
      const sent = fake.sentTo(user);
      expect(sent.length).toBeLessThanOrEqual(5);
      for (const m of sent) expect(Buffer.byteLength(textOf(m))).toBeLessThanOrEqual(2048);
      expect(sent.map(textOf).join('')).toContain('关于退换货政策');
    } finally {
      p.openai.setReply((req) => {
        const last = [...req.messages].reverse().find((m) => m.role === 'user');
        return `fake reply to: ${typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content)}`;
      });
    }
  });

  it('enter_session with a welcome_code → welcome through send_msg_on_event', async () => {
    const user = newUser();
    const code = `WCe2e${Date.now()}`;
    fake.addMessages(KF, [{ msgid: `enter${Date.now()}`, send_time: Math.floor(Date.now() / 1000), origin: 4, msgtype: 'event', event: { event_type: 'enter_session', open_kfid: KF, external_userid: user, scene: 'qr', welcome_code: code } }]);
    await callback();
    await waitFor(() => fake.sentOnEvent.some((w) => w.code === code), 15_000, 'welcome');
    expect(fake.sentOnEvent.find((w) => w.code === code)).toMatchObject({ msgtype: 'text', body: { text: { content: '您好，欢迎咨询！' } } });
  });

  it('msg_send_fail marks the sent message failed in the delivery ledger', async () => {
    const user = newUser();
    fake.customerText(KF, user, 'will fail later');
    await callback();
    await waitFor(() => fake.sentTo(user).length === 1, 15_000, 'reply');
    const msgid = fake.sentTo(user)[0]!.msgid;
    await waitFor(async () => (await p.deps.ledger.get('wechat-kf', msgid)) !== undefined, 5000, 'ledger record');
    fake.addMessages(KF, [{ msgid: `fail${Date.now()}`, send_time: Math.floor(Date.now() / 1000), origin: 4, msgtype: 'event', event: { event_type: 'msg_send_fail', open_kfid: KF, external_userid: user, fail_msgid: msgid, fail_type: 10 } }]);
    await callback();
    await waitFor(async () => (await p.deps.ledger.get('wechat-kf', msgid))?.status === 'failed', 15_000, 'failed status');
    expect((await p.deps.ledger.get('wechat-kf', msgid))?.error).toContain('user rejected');
  });
  it('a msgmenu item in sync_msg reaches the LLM as its text (head, items, tail); a menu click still works', async () => {
    const user = newUser();
    const page = fixtureJson<{ msg_list: Array<Record<string, unknown>> }>('wechat-kf', 'sync-msg-msgmenu.json');
    const item = { ...page.msg_list[0]!, msgid: `menu${Date.now()}`, open_kfid: KF, external_userid: user, send_time: Math.floor(Date.now() / 1000) };
    fake.addMessages(KF, [item]);
    expect(await callback()).toEqual([200]);
    await waitFor(() => fake.sentTo(user).length >= 1, 15_000, 'reply to the menu');
    const prompt = p.openai.requests
      .map((r) => r.messages.filter((m) => m.role === 'user').map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n'))
      .find((t) => t.includes('您对本次服务是否满意呢？'));
    expect(prompt).toContain('- 不满意');
    expect(prompt).toContain('欢迎再次光临');
    expect(prompt).not.toContain('unsupported message');
    fake.customerText(KF, user, '满意', { menuId: '101' });
    expect(await callback()).toEqual([200]);
    await waitFor(() => fake.sentTo(user).length >= 2, 15_000, 'reply to the click');
  });
});
