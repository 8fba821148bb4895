import { silentLogger, type InboundMessage } from '@switchboard/core';
import { createRedis, type RedisClient } from '@switchboard/queue';
import { dropPrefix, PNG_1X1, startFakeMediaHost, testRedisUrl, uniquePrefix, type FakeMediaHost } from '@switchboard/testkit';
import type { Redis } from 'ioredis';
import { buildWorkerDeps, loadWorkerEnv } from './compose';

describe('media step (worker wiring)', () => {
  let host: FakeMediaHost;
  let redis: RedisClient;
  let producer: RedisClient;
  const prefix = uniquePrefix('mhook');

  beforeAll(async () => {
    host = await startFakeMediaHost({ whatsappToken: 'hook-token' });
    redis = createRedis(testRedisUrl(), 'worker');
    producer = createRedis(testRedisUrl(), 'worker');
  });
  afterAll(async () => {
    for (const d of built) await d.close();
    await dropPrefix(redis as Redis, prefix);
    await host.close();
    redis.disconnect();
    producer.disconnect();
  });

  const built: Array<{ close(): Promise<void> }> = [];
  const deps = (extra: Record<string, string> = {}) => {
    const d = buildWorkerDeps(
      loadWorkerEnv({ REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix, WHATSAPP_ACCESS_TOKEN: 'hook-token', WHATSAPP_GRAPH_URL: host.graphUrl, ...extra }),
      redis,
      producer,
      silentLogger(),
    );
    built.push(d);
    return d;
  };

  it('builds a step from the worker env that downloads with the configured WhatsApp token and counts the outcome', async () => {
    const d = deps();
    const step = d.mediaStep;
    expect(step).toBeDefined();
    const mediaId = host.whatsapp.add({ bytes: PNG_1X1, mimeType: 'image/png' });
    const ref = { channel: 'whatsapp' as const, account: '123', userId: '4915550001' };
    const msg: InboundMessage = {
      kind: 'message', eventId: 'e1', providerMessageId: 'wamid.1', conversation: ref, sentAt: 1, receivedAt: 1,
      content: { type: 'image', media: { mediaId, caption: 'is this broken?' } }, author: 'customer',
    };
    const [out] = await step!([msg], ref);
    expect(out?.enrichment?.imageDataUrl).toBe(`data:image/png;base64,${PNG_1X1.toString('base64')}`);
    expect(await d.registry.metrics()).toMatch(/sb_media_enrichments_total\{[^}]*channel="whatsapp",kind="image",outcome="ok"[^}]*\} 1/);
    // voice without OPENAI_API_KEY: kept, with the reason
    const [voice] = await step!([{ ...msg, eventId: 'e2', content: { type: 'audio', voice: true, media: { mediaId } } }], ref);
    expect(voice?.enrichment?.error).toMatch(/speech-to-text is not configured/);
  });

  it('with MEDIA_ENABLED=false media reaches the agent unread (only links are read)', async () => {
    const step = deps({ MEDIA_ENABLED: 'false' }).mediaStep;
    const ref = { channel: 'whatsapp' as const, account: '123', userId: '4915550001' };
    const msg: InboundMessage = {
      kind: 'message', eventId: 'e3', providerMessageId: 'wamid.3', conversation: ref, sentAt: 1, receivedAt: 1,
      content: { type: 'image', media: { mediaId: host.whatsapp.add({ bytes: PNG_1X1, mimeType: 'image/png' }) } }, author: 'customer',
    };
    const [out] = await step!([msg], ref);
    expect(out?.enrichment).toBeUndefined();
  });
});
