import type { ChannelSentMessage } from '@switchboard/channel-runtime';
import { silentLogger, type InboundEvent } from '@switchboard/core';
import { createRedis, gatewayKeys, Producers, type RedisClient } from '@switchboard/queue';
import { dropPrefix, FakeWecom, testRedisUrl, uniquePrefix, waitFor } from '@switchboard/testkit';
import type { Redis } from 'ioredis';
import { WechatApiClient } from './wechat.client.js';
import { SendAllowance } from './wechat.state.js';
import { WechatSyncer, type WechatSyncerOptions } from './wechat.sync.js';

const log = silentLogger();
let seq = 0;

describe('wechat sync_msg pull (fake WeCom, real Redis + BullMQ)', () => {
  let fake: FakeWecom;
  let redis: RedisClient;
  let producerRedis: RedisClient;
  const opened: Producers[] = [];
  const prefixes: string[] = [];

  beforeAll(async () => {
    fake = await FakeWecom.start();
    redis = createRedis(testRedisUrl(), 'worker');
    producerRedis = createRedis(testRedisUrl(), 'worker');
  });
  afterAll(async () => {
    for (const p of opened) await p.close();
    for (const p of prefixes) await dropPrefix(redis as Redis, p);
    await fake.close();
    redis.disconnect();
    producerRedis.disconnect();
  });

  /** A fresh account + queue prefix, as a new deployment would have. */
  function setup(over: Partial<WechatSyncerOptions> = {}) {
    seq += 1;
    const kf = `wkSync${seq}x${Date.now()}`;
    const prefix = uniquePrefix('wxy');
    prefixes.push(prefix);
    const keys = gatewayKeys(prefix);
    const producers = new Producers(producerRedis, prefix);
    opened.push(producers);
    const make = (o: Partial<WechatSyncerOptions> = {}) =>
      new WechatSyncer({
        client: new WechatApiClient({ settings: { corpId: fake.corpId, secret: fake.secret, apiUrl: fake.url, timeoutMs: 2000 }, redis, keys, log }),
        redis,
        keys,
        producers,
        log,
        replayHistoryOnFirstSync: false,
        firstSyncGraceSec: 300,
        ...over,
        ...o,
      });
    const inbound = async (): Promise<InboundEvent[]> => (await producers.queue('inbound').getJobs(['waiting', 'delayed', 'prioritized', 'active'])).map((j) => j.data as InboundEvent);
    const job = (token = fake.callbackToken()) => ({ corpId: fake.corpId, openKfId: kf, token, receivedAt: Date.now() });
    return { kf, keys, producers, make, inbound, job };
  }

  /** How long a held pull stays open: long enough that a loaded machine's timer delays cannot end it before the next run starts. */
  const HOLD_MS = 600;
  /** Waits until the first run holds the account's pull lock, instead of a fixed sleep. */
  const untilPulling = (keys: ReturnType<typeof gatewayKeys>, kf: string) =>
    waitFor(async () => (await redis.exists(keys.wechat.syncLock(fake.corpId, kf))) === 1, 5000, 'the first run holding the pull lock');

  const syncCalls = (kf: string) => fake.callsTo('kf/sync_msg').filter((c) => (c.body as { open_kfid?: string }).open_kfid === kf);

  it('two pages → every message enqueued with its event id, cursor persisted after the pages', async () => {
    const { kf, make, inbound, job } = setup({ replayHistoryOnFirstSync: true });
    fake.setPageSize(2);
    try {
      const items = [1, 2, 3].map((i) => fake.customerText(kf, `wmUserA`, `message ${i}`));
      const syncer = make();
      const out = await syncer.run(job());
      expect(out).toMatchObject({ status: 'done', pages: 2, dispatched: 3 });
      const events = await inbound();
      expect(events.map((e) => e.eventId).sort()).toEqual(items.map((i) => `wx-${kf}-${i.msgid}`).sort());
      const calls = syncCalls(kf);
      expect(calls).toHaveLength(2);
      expect(calls[1]!.body).toMatchObject({ cursor: expect.any(String), limit: 1000, open_kfid: kf });
      const cursor = await syncer.cursor(fake.corpId, kf);
      expect(cursor).toEqual(expect.any(String));
      expect(cursor).not.toBe((calls[1]!.body as { cursor: string }).cursor);
      // the stored cursor is the end: pulling again enqueues nothing
      expect(await make().run(job())).toMatchObject({ status: 'done', dispatched: 0 });
      expect(syncCalls(kf).at(-1)!.body).toMatchObject({ cursor });
    } finally {
      fake.setPageSize(1000);
    }
  });

  it('a restart resumes from the stored cursor and only new messages are enqueued', async () => {
    const { kf, make, inbound, job } = setup();
    fake.customerText(kf, 'wmUserB', 'first');
    await make().run(job());
    const cursor = await make().cursor(fake.corpId, kf);
    expect(cursor).toBeDefined();
    const later = fake.customerText(kf, 'wmUserB', 'second');
    const restarted = make(); // a new process: nothing in memory
    await restarted.run(job());
    expect(syncCalls(kf).at(-1)!.body).toMatchObject({ cursor });
    const ids = (await inbound()).map((e) => e.eventId);
    expect(ids).toHaveLength(2);
    expect(ids).toContain(`wx-${kf}-${later.msgid}`);
  });

  it('an empty page with has_more=1 is followed, not taken as the end', async () => {
    const { kf, make, inbound, job } = setup();
    const m = fake.customerText(kf, 'wmUserC', 'after empty page');
    fake.emptyPagesNext(kf, 2);
    const out = await make().run(job());
    expect(out).toMatchObject({ status: 'done', pages: 3, dispatched: 1 });
    expect((await inbound()).map((e) => e.eventId)).toEqual([`wx-${kf}-${m.msgid}`]);
  });

  it('first sync without a cursor drains old history silently but answers the fresh message', async () => {
    const { kf, make, inbound, job } = setup();
    const dayAgo = Math.floor(Date.now() / 1000) - 86_400;
    for (let i = 0; i < 5; i++) fake.customerText(kf, 'wmOld', `old ${i}`, { sendTime: dayAgo + i });
    const fresh = fake.customerText(kf, 'wmNew', 'just now');
    const out = await make().run(job());
    expect(out).toMatchObject({ status: 'done', firstSync: true, dispatched: 1, skipped: 5 });
    expect((await inbound()).map((e) => e.eventId)).toEqual([`wx-${kf}-${fresh.msgid}`]);
    // with replay configured, the history is dispatched
    const other = setup({ replayHistoryOnFirstSync: true });
    for (let i = 0; i < 3; i++) fake.customerText(other.kf, 'wmOld', `old ${i}`, { sendTime: dayAgo + i });
    await other.make().run(other.job());
    expect(await other.inbound()).toHaveLength(3);
  });

  it('the cursor does not move when the page could not be made durable', async () => {
    const { kf, keys, make, job } = setup();
    fake.customerText(kf, 'wmUserD', 'one');
    await make().run(job());
    const before = await make().cursor(fake.corpId, kf);
    fake.customerText(kf, 'wmUserD', 'two');
    const deadRedis = createRedis('redis://127.0.0.1:1', 'producer');
    deadRedis.on('error', () => undefined);
    const deadProducers = new Producers(deadRedis, 'deadprefix');
    const broken = new WechatSyncer({
      client: new WechatApiClient({ settings: { corpId: fake.corpId, secret: fake.secret, apiUrl: fake.url, timeoutMs: 2000 }, redis, keys, log }),
      redis,
      keys,
      producers: deadProducers,
      log,
      replayHistoryOnFirstSync: false,
      firstSyncGraceSec: 300,
    });
    await expect(broken.run(job())).rejects.toThrow();
    expect(await make().cursor(fake.corpId, kf)).toBe(before);
    await deadProducers.close().catch(() => undefined);
    deadRedis.disconnect();
  });

  it('at most one pull per open_kfid at a time; a concurrent job is covered by one more round and watches the holder', async () => {
    const { kf, make, inbound, job } = setup();
    fake.customerText(kf, 'wmUserE', 'x');
    const a = make();
    const b = make();
    const [ra, rb] = await Promise.all([a.run(job(), 'job-a'), b.run(job(), 'job-b')]);
    const outcomes = [ra, rb];
    expect(outcomes.map((o) => o.status).sort()).toEqual(['done', 'watching']);
    // the holder pulled once more for the other job before letting go
    expect(outcomes.find((o) => o.status === 'done')).toMatchObject({ rounds: 2 });
    expect(await inbound()).toHaveLength(1);
    // the watcher looks again: nothing is pending any more
    const watcherKey = ra.status === 'watching' ? 'job-a' : 'job-b';
    expect(await make().run({ ...job(), watching: true }, watcherKey)).toEqual({ status: 'coalesced' });
    // the lock is released afterwards
    expect(await b.run(job())).toMatchObject({ status: 'done', rounds: 1 });
  });

  it('a third concurrent job leaves the watching to the first watcher', async () => {
    const { kf, keys, make, job } = setup();
    fake.customerText(kf, 'wmUserE3', 'x');
    fake.setLatency('kf/sync_msg', HOLD_MS);
    const holder = make().run(job(), 'h');
    await untilPulling(keys, kf);
    expect(await make().run(job(), 'w1')).toMatchObject({ status: 'watching' });
    expect(await make().run(job(), 'w2')).toEqual({ status: 'coalesced' });
    expect(await holder).toMatchObject({ status: 'done', rounds: 2 });
    fake.setLatency('kf/sync_msg', 0);
  });

  it('a holder that died mid-pull: the watcher takes over when its lock lapses and pulls what is pending', async () => {
    const { kf, keys, make, inbound, job } = setup({ lockMs: 400 });
    const m = fake.customerText(kf, 'wmUserDead', 'sent while the holder was dying');
    // what a holder killed after taking the lock leaves behind: its lock (lapsing) and the pending work
    await redis.set(keys.wechat.syncLock(fake.corpId, kf), 'dead-owner', 'PX', 400);
    await redis.hset(keys.wechat.syncPending(fake.corpId, kf), 'v', '1');
    const first = await make().run(job(), 'watcher');
    expect(first).toMatchObject({ status: 'watching' });
    expect(await inbound()).toHaveLength(0);
    await new Promise((r) => setTimeout(r, Math.max(0, (first as { recheckAt: number }).recheckAt - Date.now())));
    const again = await make().run({ ...job(), watching: true }, 'watcher');
    expect(again).toMatchObject({ status: 'done', dispatched: 1 });
    expect((await inbound()).map((e) => e.eventId)).toEqual([`wx-${kf}-${m.msgid}`]);
    expect(await redis.exists(keys.wechat.syncPending(fake.corpId, kf))).toBe(0);
  });

  it("the send allowance is renewed before the page's messages are accepted (a reply never counts against an older message)", async () => {
    const { kf, keys, make, job } = setup({ replayHistoryOnFirstSync: true });
    const allowance = new SendAllowance(redis, keys);
    const old = fake.customerText(kf, 'wmUserAllow', 'older question');
    await make().run(job());
    for (let i = 0; i < 5; i++) await allowance.sent(kf, 'wmUserAllow', `gw-old-${i}`);
    expect(await allowance.check(kf, 'wmUserAllow', 'gw-new-0', Date.now())).toMatchObject({ code: 95001 });
    const newer = fake.customerText(kf, 'wmUserAllow', 'newer question');
    let seenByAccept: unknown = 'not called';
    await make({ acceptMessages: async (events) => {
      seenByAccept = await allowance.check(kf, 'wmUserAllow', 'gw-new-0', Date.now());
      return events;
    } }).run(job());
    expect(seenByAccept).toBeUndefined();
    // the same message pulled again (a re-run page) does not renew the allowance a second time
    for (let i = 0; i < 5; i++) await allowance.sent(kf, 'wmUserAllow', `gw-new-${i}`);
    await allowance.customerWrote(kf, 'wmUserAllow', Number(newer['send_time']) * 1000, newer.msgid);
    expect(await allowance.check(kf, 'wmUserAllow', 'gw-new-5', Date.now())).toMatchObject({ code: 95001 });
    expect(old.msgid).not.toBe(newer.msgid);
  });

  it('at the round cap the pending round is handed back as a follow-up job (with the newest token)', async () => {
    const { kf, keys, make, job } = setup({ maxRounds: 1 });
    fake.customerText(kf, 'wmUserCap', 'x');
    fake.setLatency('kf/sync_msg', HOLD_MS);
    const holder = make().run(job());
    await untilPulling(keys, kf);
    const second = job();
    expect(await make().run(second)).toMatchObject({ status: 'watching' });
    const out = await holder;
    fake.setLatency('kf/sync_msg', 0);
    expect(out).toMatchObject({ status: 'done', rounds: 1, followUp: { corpId: fake.corpId, openKfId: kf, token: second.token } });
  });

  it('a message that arrives while another worker is pulling is not lost', async () => {
    const { kf, keys, make, inbound, job } = setup();
    fake.customerText(kf, 'wmUserE2', 'first');
    fake.setLatency('kf/sync_msg', HOLD_MS); // keep the first pull open
    const holder = make().run(job());
    await untilPulling(keys, kf);
    const late = fake.customerText(kf, 'wmUserE2', 'arrived during the pull');
    const second = await make().run(job());
    await holder;
    fake.setLatency('kf/sync_msg', 0);
    expect(second.status).toBe('watching');
    expect((await inbound()).map((e) => e.eventId)).toContain(`wx-${kf}-${late.msgid}`);
  });

  it('an expired callback token (95007) → pulls again without it', async () => {
    const { kf, make, inbound, job } = setup();
    const m = fake.customerText(kf, 'wmUserF', 'hello');
    const out = await make().run({ ...job(), token: 'ENCunknownToken' });
    expect(out).toMatchObject({ status: 'done', dispatched: 1 });
    expect(syncCalls(kf).map((c) => [c.errcode, Boolean((c.body as { token?: string }).token)])).toEqual([
      [95007, true],
      [0, false],
    ]);
    expect((await inbound()).map((e) => e.eventId)).toEqual([`wx-${kf}-${m.msgid}`]);
  });

  it('enter_session with welcome_code → welcome via send_msg_on_event, once, and recorded as the bot speaking', async () => {
    const recorded: ChannelSentMessage[] = [];
    const { kf, make, inbound, job } = setup({
      welcomeText: '您好，欢迎咨询！',
      recordSent: async (m) => {
        recorded.push(m);
      },
    });
    const now = Math.floor(Date.now() / 1000);
    fake.addMessages(kf, [{ msgid: `enter${seq}`, send_time: now, origin: 4, msgtype: 'event', event: { event_type: 'enter_session', open_kfid: kf, external_userid: 'wmUserG', scene: 'qr', welcome_code: `WC${seq}x${now}` } }]);
    await make().run(job());
    await make().run(job());
    const welcomes = fake.sentOnEvent.filter((w) => w.code === `WC${seq}x${now}`);
    expect(welcomes).toHaveLength(1);
    expect(welcomes[0]).toMatchObject({ msgtype: 'text', body: { text: { content: '您好，欢迎咨询！' } }, msgid: expect.stringMatching(/^gww[0-9a-f]{29}$/) });
    expect((await inbound()).map((e) => (e.kind === 'signal' ? e.signal : e.kind))).toEqual(['session_started']);
    // the welcome bypasses the outbound queue: the syncer hands it to the record itself, once
    expect(recorded).toEqual([
      {
        sourceId: `welcome-${welcomes[0]!.msgid}`,
        ref: { channel: 'wechat-kf', account: kf, userId: 'wmUserG' },
        origin: 'welcome',
        text: '您好，欢迎咨询！',
        providerMessageId: welcomes[0]!.msgid,
        at: expect.any(Number),
      },
    ]);
  });

  it('origin 5 is enqueued as a human_agent message (the inbound role silences the bot)', async () => {
    const { kf, make, inbound, job } = setup();
    fake.servicerText(kf, 'wmUserH', 'zhangsan', '人工客服为您服务');
    await make().run(job());
    expect(await inbound()).toEqual([expect.objectContaining({ kind: 'message', author: 'human_agent' })]);
  });
});
