/**
 * Signatures over the exact bytes on the wire (Chatwoot): a gzip/deflate body is verified over the
 * bytes received and only then inflated, capped at CHATWOOT_MAX_BODY_BYTES. A signature over the
 * inflated JSON is refused, a bomb is 413 within bounded memory, br/zstd/stacked codings are 415.
 */
import { deflateSync, gzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { createMetricsRegistry, InboundEvent, silentLogger } from '@switchboard/core';
import { chatwootSettings, type ChatwootEnv } from '@switchboard/channel-chatwoot/inbound';
import { createRedis, Producers, waitReady } from '@switchboard/queue';
import { CHATWOOT_FIXTURE_TIMESTAMP, dropPrefix, fixtureBytes, gzipBomb, postBytes, serveInProcess, signChatwoot, testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { createChatwootIngressApp } from './app';

const SECRET = 'content_encoding_cw_secret_9a2e';
const TS = Number(CHATWOOT_FIXTURE_TIMESTAMP);
const NOW = TS * 1000 + 2000;
const INCOMING = fixtureBytes('chatwoot', 'message_created.incoming_contact_with_image.json');
const ENV: Partial<ChatwootEnv> = {
  CHATWOOT_URL: 'http://127.0.0.1:9',
  CHATWOOT_ACCOUNT_ID: 7,
  CHATWOOT_BOT_ID: 4,
  CHATWOOT_WEBHOOK_SECRET: [SECRET],
  CHATWOOT_SIGNATURE_WINDOW_SEC: 300,
  CHATWOOT_MAX_BODY_BYTES: 1_048_576,
};
const JSON_TYPE = { 'content-type': 'application/json' };

describe('chatwoot-ingress: content encodings and signatures', () => {
  const admin = new Redis(testRedisUrl());
  const cleanups: Array<() => Promise<void>> = [];

  /** A fresh app on its own prefix (the fixture's message id dedupes per prefix). */
  async function fresh() {
    const prefix = uniquePrefix('cw-enc');
    const redis = createRedis(testRedisUrl(), 'producer');
    redis.on('error', () => undefined);
    await waitReady(redis, 5000);
    const producers = new Producers(redis, prefix);
    const app = createChatwootIngressApp({ log: silentLogger(), registry: createMetricsRegistry({ service: 'test' }), producers, redis, prefix, settings: chatwootSettings(ENV), now: () => NOW });
    const server = await serveInProcess(app);
    cleanups.push(async () => {
      await server.close();
      await producers.close();
      redis.disconnect();
      await dropPrefix(admin, prefix);
    });
    const jobs = async () => (await producers.queue('inbound').getJobs(['waiting', 'delayed', 'prioritized', 'active'])).map((j) => InboundEvent.parse(j.data));
    return { url: `${server.url}/webhooks/chatwoot`, jobs };
  }

  afterAll(async () => {
    for (const c of cleanups) await c();
    admin.disconnect();
  });

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
  ] as const)('%s body signed over the encoded bytes → accepted and enqueued', async (coding, encode) => {
    const { url, jobs } = await fresh();
    const wire = encode(INCOMING);
    const res = await postBytes(url, wire, { ...JSON_TYPE, 'content-encoding': coding, ...signChatwoot(wire, SECRET, TS) });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ status: 'enqueued', enqueued: 1 });
    expect((await jobs()).map((e) => e.eventId)).toEqual(['cw-7-551207-message_created']);
  });

  it('gzip body signed over the inflated JSON → 401, nothing enqueued', async () => {
    const { url, jobs } = await fresh();
    const res = await postBytes(url, gzipSync(INCOMING), { ...JSON_TYPE, 'content-encoding': 'gzip', ...signChatwoot(INCOMING, SECRET, TS) });
    expect(res.status).toBe(401);
    expect(await jobs()).toHaveLength(0);
  });

  it('a gzip bomb (512 MiB inflated) → 413 within bounded memory, nothing enqueued', async () => {
    const { url, jobs } = await fresh();
    const bomb = await gzipBomb(512 * 1024 ** 2);
    expect(bomb.length).toBeLessThan(1_048_576);
    const mem0 = process.memoryUsage();
    const res = await postBytes(url, bomb, { ...JSON_TYPE, 'content-encoding': 'gzip', ...signChatwoot(bomb, SECRET, TS) });
    const mem1 = process.memoryUsage();
    expect(res.status).toBe(413);
    expect(mem1.arrayBuffers - mem0.arrayBuffers).toBeLessThan(64 * 1024 * 1024);
    expect(mem1.rss - mem0.rss).toBeLessThan(256 * 1024 * 1024);
    expect(await jobs()).toHaveLength(0);
  }, 60_000);

  it.each(['br', 'zstd', 'gzip, gzip', 'unknown-coding'])('Content-Encoding %s → 415, nothing enqueued', async (coding) => {
    const { url, jobs } = await fresh();
    const wire = gzipSync(INCOMING);
    const res = await postBytes(url, wire, { ...JSON_TYPE, 'content-encoding': coding, ...signChatwoot(wire, SECRET, TS) });
    expect(res.status).toBe(415);
    expect(await jobs()).toHaveLength(0);
  });
});
