import request from 'supertest';
import { UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { conversationId, createMetricsRegistry, silentLogger } from '@switchboard/core';
import { createRedis, Producers, recordChannelEvent, setConversationOwner, waitReady, type RedisClient } from '@switchboard/queue';
import { dropPrefix, testRedisUrl, uniquePrefix, waitFor } from '@switchboard/testkit';
import { createAdminApp } from './app';
import type { Overview } from './overview';

const AUTH = { user: 'ops', password: 'correct horse battery staple' };
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('admin app (real Redis)', () => {
  const prefix = uniquePrefix('adm');
  let redis: RedisClient;
  let producers: Producers;
  let app: ReturnType<typeof createAdminApp>;

  beforeAll(async () => {
    redis = createRedis(testRedisUrl(), 'producer');
    redis.on('error', () => undefined);
    await waitReady(redis);
    producers = new Producers(redis, prefix);
    app = createAdminApp({ log: silentLogger(), registry: createMetricsRegistry({ service: 'admin-test' }), redis, producers, prefix, auth: AUTH });
  });

  afterAll(async () => {
    await producers.close();
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
    redis.disconnect();
  });

  it('refuses Bull Board, the overview and its JSON without (or with wrong) basic auth', async () => {
    for (const path of ['/admin/queues', '/admin', '/admin/overview.json', '/admin/queues/api/queues']) {
      const none = await request(app).get(path);
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toMatch(/^Basic realm=/);
      expect((await request(app).get(path).set('Authorization', basic(AUTH.user, 'wrong'))).status).toBe(401);
      expect((await request(app).get(path).set('Authorization', basic('root', AUTH.password))).status).toBe(401);
    }
  });

  it('serves Bull Board with every catalog queue behind auth', async () => {
    const page = await request(app).get('/admin/queues').set('Authorization', basic(AUTH.user, AUTH.password));
    expect(page.status).toBe(200);
    expect(page.text).toContain('<html');
    const api = await request(app).get('/admin/queues/api/queues').set('Authorization', basic(AUTH.user, AUTH.password));
    expect(api.status).toBe(200);
    const names = (api.body as { queues: Array<{ name: string }> }).queues.map((q) => q.name).sort();
    expect(names).toEqual(['inbound', 'knowledge', 'mirror', 'outbound-chatwoot', 'outbound-telegram', 'outbound-wechat-kf', 'outbound-whatsapp', 'turn', 'wechat-sync']);
  });

  it('lets a failed job be seen with its reason and retried from Bull Board', async () => {
    const q = producers.queue('mirror');
    await q.add('mirror', { ref: { channel: 'whatsapp', account: '1', userId: '2' }, direction: 'incoming', sourceId: 's1', text: 't', at: 1 }, { jobId: 'mir-board-test', attempts: 1 });
    // a real worker fails it for good, as the mirror role would on a non-retryable Chatwoot error
    const conn = createRedis(testRedisUrl(), 'worker');
    const worker = new Worker('mirror', async () => {
      throw new UnrecoverableError('Chatwoot 422: conversation not found');
    }, { connection: conn, prefix });
    await waitFor(async () => (await q.getJob('mir-board-test'))?.failedReason !== undefined && (await q.getJobState('mir-board-test')) === 'failed', 10_000, 'job failed');
    await worker.close();
    conn.disconnect();
    const auth = basic(AUTH.user, AUTH.password);
    const failed = await request(app).get('/admin/queues/api/queues?activeQueue=mirror&status=failed&page=1').set('Authorization', auth);
    expect(failed.status).toBe(200);
    const mirror = (failed.body as { queues: Array<{ name: string; jobs: Array<{ id: string; failedReason: string }> }> }).queues.find((x) => x.name === 'mirror');
    expect(mirror?.jobs.map((j) => [j.id, j.failedReason])).toContainEqual(['mir-board-test', 'Chatwoot 422: conversation not found']);
    const retry = await request(app).put('/admin/queues/api/queues/mirror/mir-board-test/retry').set('Authorization', auth);
    expect([200, 204]).toContain(retry.status);
    expect(await (await q.getJob('mir-board-test'))!.getState()).toBe('waiting');
  });

  it('answers the overview JSON: events per channel in the last hour, queue depths, failures, human-owned conversations', async () => {
    const now = Date.now();
    await recordChannelEvent(redis, prefix, 'whatsapp', 'in', 3, now);
    await recordChannelEvent(redis, prefix, 'whatsapp', 'in', 2, now - 30 * 60_000);
    await recordChannelEvent(redis, prefix, 'whatsapp', 'in', 7, now - 61 * 60_000); // older than an hour: not counted
    await recordChannelEvent(redis, prefix, 'whatsapp', 'out', 4, now);
    await recordChannelEvent(redis, prefix, 'wechat-kf', 'in', 1, now);
    await producers.enqueue('turn', { conversationId: 'whatsapp-abc', ref: { channel: 'whatsapp', account: '1', userId: '2' }, seq: 1 }, { jobId: 'turn-overview-1', delay: 60_000 });
    const conv = conversationId({ channel: 'wechat-kf', account: 'kf1', userId: 'u1' });
    await setConversationOwner(redis, prefix, conv, 'human', 'customer asked for a person');
    const gone = conversationId({ channel: 'whatsapp', account: '1', userId: 'gone' });
    await setConversationOwner(redis, prefix, gone, 'human', 'expired meanwhile');
    await redis.del(`${prefix}:sb:owner:${gone}`);

    const res = await request(app).get('/admin/overview.json').set('Authorization', basic(AUTH.user, AUTH.password));
    expect(res.status).toBe(200);
    const o = res.body as Overview;
    expect(o.channels).toEqual(
      expect.arrayContaining([
        { channel: 'whatsapp', inLastHour: 5, outLastHour: 4 },
        { channel: 'wechat-kf', inLastHour: 1, outLastHour: 0 },
        { channel: 'chatwoot', inLastHour: 0, outLastHour: 0 },
      ]),
    );
    expect(o.queues.find((q) => q.name === 'turn')).toMatchObject({ delayed: 1, depth: 1 });
    // the job retried from Bull Board above is waiting again
    expect(o.queues.find((q) => q.name === 'mirror')).toMatchObject({ failed: 0, waiting: 1, depth: 1 });
    expect(o.humanOwned).toEqual({ count: 1, conversations: [{ conversationId: conv, channel: 'wechat-kf', reason: 'customer asked for a person', since: expect.any(Number) }] });

    const html = await request(app).get('/admin').set('Authorization', basic(AUTH.user, AUTH.password));
    expect(html.status).toBe(200);
    expect(html.text).toContain('Conversations handed to humans (1)');
    expect(html.text).toContain(conv);
  });

  it('serves /healthz, /readyz and /metrics without auth, with queue gauges', async () => {
    expect((await request(app).get('/healthz')).body).toEqual({ status: 'ok' });
    const ready = await request(app).get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', checks: { redis: 'ok' } });
    const metrics = await request(app).get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/sb_queue_jobs\{.*queue="turn".*state="delayed".*\} 1/);
    expect(metrics.text).toContain('sb_conversations_human_owned');
  });

  it('with auth off, everything is open (ADMIN_AUTH=off)', async () => {
    const open = createAdminApp({ log: silentLogger(), registry: createMetricsRegistry({ service: 'admin-test-open' }), redis, producers, prefix, auth: undefined });
    expect((await request(open).get('/admin/overview.json')).status).toBe(200);
    expect((await request(open).get('/sandbox')).status).toBe(404);
  });
});
