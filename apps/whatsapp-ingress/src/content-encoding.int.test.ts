/**
 * Signatures over the exact bytes on the wire: a gzip/deflate body is verified over the bytes
 * received (still compressed) and only then inflated, with the inflated size held to the body limit.
 * A signature over the inflated JSON is refused, a bomb is 413 without taking the memory it claims,
 * and codings other than gzip/deflate (br, zstd, stacked, unknown) are 415. Real Redis, real HTTP.
 */
import { deflateSync, gzipSync } from 'node:zlib';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createMetricsRegistry, silentLogger } from '@switchboard/core';
import { createWhatsAppInboundAdapter } from '@switchboard/channel-whatsapp/inbound';
import { createRedis, Producers, waitReady } from '@switchboard/queue';
import { dropPrefix, gzipBomb, postBytes, serveInProcess, signMeta, testRedisUrl, uniquePrefix, whatsappTextDelivery, type InProcessServer } from '@switchboard/testkit';
import { createWhatsAppIngressApp } from './app';

const SECRET = 'content_encoding_secret_4d1c';
const JSON_TYPE = { 'content-type': 'application/json' };

describe('whatsapp-ingress: content encodings and signatures', () => {
  const admin = new Redis(testRedisUrl());
  const prefix = uniquePrefix('wa-enc');
  const redis = createRedis(testRedisUrl(), 'producer');
  redis.on('error', () => undefined);
  const producers = new Producers(redis, prefix);
  const inbound = new Queue('inbound', { connection: admin, prefix });
  const app = createWhatsAppIngressApp({
    log: silentLogger(),
    registry: createMetricsRegistry({ service: 'test' }),
    producers,
    redis,
    adapter: createWhatsAppInboundAdapter({ appSecret: SECRET }),
    verifyToken: 'v',
  });
  let server: InProcessServer;
  const url = () => `${server.url}/webhooks/whatsapp`;

  beforeAll(async () => {
    await waitReady(redis, 5000);
    server = await serveInProcess(app);
  });
  afterAll(async () => {
    await server.close();
    await inbound.close();
    await producers.close();
    redis.disconnect();
    await dropPrefix(admin, prefix);
    admin.disconnect();
  });

  let lastWamid = '';
  const delivery = (text: string) => {
    const d = whatsappTextDelivery({ waId: '15551234567', text });
    lastWamid = d.wamid;
    return Buffer.from(JSON.stringify(d.payload));
  };
  const jobIds = async () => (await inbound.getJobs(['waiting', 'delayed', 'prioritized'])).map((j) => j.id);

  it.each([
    ['gzip', gzipSync],
    ['x-gzip', gzipSync],
    ['deflate', deflateSync],
  ] as const)('%s body signed over the encoded bytes → accepted and enqueued', async (coding, encode) => {
    const plain = delivery(`compressed ${coding}`);
    const wire = encode(plain);
    const res = await postBytes(url(), wire, { ...JSON_TYPE, 'content-encoding': coding, 'x-hub-signature-256': signMeta(wire, SECRET) });
    expect(res.status).toBe(200);
    const wamid = lastWamid;
    expect((await jobIds()).some((j) => j?.endsWith(wamid))).toBe(true);
  });

  it('gzip body signed over the inflated JSON → 401, nothing enqueued', async () => {
    const before = await inbound.count();
    const plain = delivery('signed over the inflated json');
    const res = await postBytes(url(), gzipSync(plain), { ...JSON_TYPE, 'content-encoding': 'gzip', 'x-hub-signature-256': signMeta(plain, SECRET) });
    expect(res.status).toBe(401);
    expect(await inbound.count()).toBe(before);
  });

  it('a gzip bomb (small on the wire, 1 GiB inflated) → 413, memory stays bounded, nothing enqueued', async () => {
    const bomb = await gzipBomb(1024 ** 3);
    expect(bomb.length).toBeLessThan(3 * 1024 * 1024);
    const before = await inbound.count();
    const mem0 = process.memoryUsage();
    const res = await postBytes(url(), bomb, { ...JSON_TYPE, 'content-encoding': 'gzip', 'x-hub-signature-256': signMeta(bomb, SECRET) });
    const mem1 = process.memoryUsage();
    expect(res.status).toBe(413);
    // the cap is 3 MB inflated; allow generous noise, far below the 1 GiB the bomb holds
    expect(mem1.arrayBuffers - mem0.arrayBuffers).toBeLessThan(64 * 1024 * 1024);
    expect(mem1.rss - mem0.rss).toBeLessThan(256 * 1024 * 1024);
    expect(await inbound.count()).toBe(before);
    // the same bomb unsigned is refused before any inflation
    const unsigned = await postBytes(url(), bomb, { ...JSON_TYPE, 'content-encoding': 'gzip', 'x-hub-signature-256': signMeta(bomb, 'wrong') });
    expect(unsigned.status).toBe(401);
  }, 60_000);

  it('corrupt gzip (correctly signed) → 400', async () => {
    const wire = Buffer.concat([gzipSync(delivery('x')).subarray(0, 20), Buffer.from('garbage')]);
    const res = await postBytes(url(), wire, { ...JSON_TYPE, 'content-encoding': 'gzip', 'x-hub-signature-256': signMeta(wire, SECRET) });
    expect(res.status).toBe(400);
  });

  it.each(['br', 'zstd', 'compress', 'gzip, gzip', 'deflate, gzip', 'snappy'])('Content-Encoding %s → 415, nothing enqueued', async (coding) => {
    const before = await inbound.count();
    const wire = gzipSync(delivery(`coding ${coding}`));
    const res = await postBytes(url(), wire, { ...JSON_TYPE, 'content-encoding': coding, 'x-hub-signature-256': signMeta(wire, SECRET) });
    expect(res.status).toBe(415);
    expect(await inbound.count()).toBe(before);
  });

  it('an identity body still works, and the app keeps serving after all of the above', async () => {
    const plain = delivery('plain again');
    const res = await postBytes(url(), plain, { ...JSON_TYPE, 'content-encoding': 'identity', 'x-hub-signature-256': signMeta(plain, SECRET) });
    expect(res.status).toBe(200);
  });
});
