/**
 * The link reader's limits come from LINK_* settings (checked by zod, safe defaults): page size,
 * fetch time, text given to the model, cache lifetime, links per message and per turn. Built
 * through the worker's own wiring (buildWorkerDeps) with a real Redis and the real guarded fetcher
 * against a fake site on loopback (allowed by FETCH_ALLOWED_ORIGINS).
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig, silentLogger, type InboundMessage } from '@switchboard/core';
import { linkEnv } from '@switchboard/knowledge';
import { createRedis, type RedisClient } from '@switchboard/queue';
import { dropPrefix, testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import type { Redis } from 'ioredis';
import { buildWorkerDeps, loadWorkerEnv } from './compose';
import { DEFAULT_LINK_LIMITS, linkLimitsFrom, linksOf } from './link-reader';

const page = (title: string, body: string) => `<!doctype html><html><head><title>${title}</title></head><body><article><h1>${title}</h1><p>${body}</p></article></body></html>`;
const words = (n: number, word: string) => Array.from({ length: n }, (_, i) => `${word}${i}`).join(' ');

let site: Server;
let origin: string;
let redis: RedisClient;
let producer: RedisClient;
const prefix = uniquePrefix('links');
const hits = new Map<string, number>();
const stalled: ServerResponse[] = [];
const built: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  site = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path === '/slow') {
      stalled.push(res); // never answers: the reader's time limit ends it
      return;
    }
    if (path === '/big') return void res.writeHead(200, { 'content-type': 'text/html' }).end(page('Big', words(2000, 'filler')));
    const m = /^\/p(\d+)$/.exec(path);
    if (m) return void res.writeHead(200, { 'content-type': 'text/html' }).end(page(`Product ${m[1]}`, `The product number ${m[1]} is a blue lamp with a steel foot and a linen shade.`.repeat(4)));
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  redis = createRedis(testRedisUrl(), 'worker');
  producer = createRedis(testRedisUrl(), 'worker');
});
afterAll(async () => {
  for (const d of built) await d.close();
  for (const res of stalled) res.destroy();
  await new Promise((r) => site.close(r));
  await dropPrefix(redis as Redis, prefix);
  redis.disconnect();
  producer.disconnect();
});

let seq = 0;
const text = (body: string): InboundMessage => ({
  kind: 'message',
  eventId: `e${++seq}`,
  providerMessageId: `wamid.link${seq}`,
  conversation: { channel: 'whatsapp', account: '123', userId: '4915550002' },
  sentAt: 1,
  receivedAt: 1,
  content: { type: 'text', text: body },
  author: 'customer',
});

/** The worker's media step (links only) built from these LINK_* settings, on a prefix of its own. */
function reader(extra: Record<string, string>) {
  const d = buildWorkerDeps(
    loadWorkerEnv({ REDIS_URL: testRedisUrl(), QUEUE_PREFIX: `${prefix}:${++seq}`, MEDIA_ENABLED: 'false', FETCH_ALLOWED_ORIGINS: origin, ...extra }),
    redis,
    producer,
    silentLogger(),
  );
  built.push(d);
  const ref = { channel: 'whatsapp' as const, account: '123', userId: '4915550002' };
  return { deps: d, read: (messages: InboundMessage[]) => d.mediaStep!(messages, ref) };
}

describe('LINK_* settings', () => {
  it('have safe defaults and are checked: names of bad values are reported', () => {
    expect(DEFAULT_LINK_LIMITS).toEqual({ maxBytes: 2_000_000, timeoutMs: 8000, maxChars: 6000, ttlSeconds: 900, perMessage: 1, perTurn: 2 });
    expect(linkLimitsFrom(loadWorkerEnv({}))).toEqual(DEFAULT_LINK_LIMITS);
    expect(linkLimitsFrom(loadConfig(linkEnv, { LINK_MAX_BYTES: '4096', LINK_TIMEOUT_MS: '1500', LINK_MAX_CHARS: '300', LINK_CACHE_TTL_SECONDS: '0', LINK_MAX_PER_MESSAGE: '3', LINK_MAX_PER_TURN: '5' }))).toEqual({
      maxBytes: 4096,
      timeoutMs: 1500,
      maxChars: 300,
      ttlSeconds: 0,
      perMessage: 3,
      perTurn: 5,
    });
    const problems = (source: Record<string, string>) => {
      try {
        loadConfig(linkEnv, source);
        return [];
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).problems.map((p) => p.split(':')[0]);
      }
    };
    expect(problems({ LINK_MAX_BYTES: '10', LINK_TIMEOUT_MS: 'soon', LINK_MAX_PER_MESSAGE: '0', LINK_MAX_PER_TURN: '-1', LINK_CACHE_TTL_SECONDS: '99999999', LINK_MAX_CHARS: '1.5' }).sort()).toEqual(
      ['LINK_CACHE_TTL_SECONDS', 'LINK_MAX_BYTES', 'LINK_MAX_CHARS', 'LINK_MAX_PER_MESSAGE', 'LINK_MAX_PER_TURN', 'LINK_TIMEOUT_MS'],
    );
    expect(() => loadWorkerEnv({ LINK_MAX_PER_TURN: 'many' })).toThrow(/LINK_MAX_PER_TURN/);
  });

  it('linksOf: every distinct URL of a text in order, trailing punctuation dropped', () => {
    expect(linksOf(text(`see ${origin}/p1, and ${origin}/p2. also ${origin}/p1`))).toEqual([`${origin}/p1`, `${origin}/p2`]);
  });
});

describe('the link reader under LINK_* limits', () => {
  it('LINK_MAX_BYTES: a larger page is not read and the model is told why', async () => {
    const { read } = reader({ LINK_MAX_BYTES: '4096' });
    const [out] = await read([text(`what is on ${origin}/big ?`)]);
    expect(out?.enrichment).toEqual({ error: expect.stringMatching(/larger than 4096 bytes/), note: `link the customer sent: ${origin}/big` });
    const [p1] = await read([text(`and ${origin}/p1`)]);
    expect(p1?.enrichment?.text).toMatch(/blue lamp/);
  });

  it('LINK_TIMEOUT_MS: a page that never answers ends at the limit, not cached', async () => {
    const { read, deps } = reader({ LINK_TIMEOUT_MS: '600' });
    const [out] = await read([text(`${origin}/slow`)]);
    expect(out?.enrichment?.error).toMatch(/time|abort/i);
    expect(await deps.redis.exists(deps.keys.media.linkPage(`${origin}/slow`))).toBe(0);
  });

  it('LINK_MAX_CHARS: the text given to the model is cut and says so', async () => {
    const [out] = await reader({ LINK_MAX_CHARS: '300' }).read([text(`${origin}/big`)]);
    expect(out?.enrichment?.text).toMatch(/\(document shortened\)$/);
    expect(out!.enrichment!.text!.length).toBeLessThan(400);
  });

  it('LINK_CACHE_TTL_SECONDS: the page is cached that long per URL; 0 = read every time', async () => {
    const cached = reader({ LINK_CACHE_TTL_SECONDS: '120' });
    hits.delete('/p7');
    await cached.read([text(`${origin}/p7`)]);
    await cached.read([text(`${origin}/p7`)]);
    expect(hits.get('/p7')).toBe(1);
    const ttl = await cached.deps.redis.ttl(cached.deps.keys.media.linkPage(`${origin}/p7`));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(120);

    const uncached = reader({ LINK_CACHE_TTL_SECONDS: '0' });
    hits.delete('/p8');
    await uncached.read([text(`${origin}/p8`)]);
    const [again] = await uncached.read([text(`${origin}/p8`)]);
    expect(hits.get('/p8')).toBe(2);
    expect(again?.enrichment?.text).toMatch(/product number 8/);
    expect(await uncached.deps.redis.exists(uncached.deps.keys.media.linkPage(`${origin}/p8`))).toBe(0);
  });

  it('LINK_MAX_PER_MESSAGE and LINK_MAX_PER_TURN: the first URLs of a message, and a budget across the turn', async () => {
    for (const p of ['/p11', '/p12', '/p13', '/p21', '/p22']) hits.delete(p);
    const { read } = reader({ LINK_MAX_PER_MESSAGE: '2', LINK_MAX_PER_TURN: '3' });
    const [first, second, third] = await read([text(`compare ${origin}/p11 ${origin}/p12 ${origin}/p13`), text(`and ${origin}/p21 or ${origin}/p22`), text(`last ${origin}/p1`)]);
    expect(first?.enrichment?.note).toBe(`pages the customer sent: ${origin}/p11, ${origin}/p12`);
    expect(first?.enrichment?.text).toMatch(/^Page 1 \(.*\/p11\):\n[\s\S]*product number 11[\s\S]*Page 2 \(.*\/p12\):\n[\s\S]*product number 12/);
    expect(second?.enrichment?.note).toBe(`page the customer sent: ${origin}/p21`);
    expect(third?.enrichment).toBeUndefined();
    expect([...hits.keys()].filter((p) => /^\/p(1[123]|2[12])$/.test(p)).sort()).toEqual(['/p11', '/p12', '/p21']);

    // the default: one link per message, two per turn
    const [a, b, c] = await reader({}).read([text(`${origin}/p31 ${origin}/p32`), text(`${origin}/p33`), text(`${origin}/p34`)]);
    expect(a?.enrichment?.note).toBe(`page the customer sent: ${origin}/p31`);
    expect(b?.enrichment?.note).toBe(`page the customer sent: ${origin}/p33`);
    expect(c?.enrichment).toBeUndefined();
    expect(hits.get('/p33')).toBe(1);
    expect(hits.has('/p32')).toBe(false);
  });

  it('LINK_MAX_PER_TURN=0: links are not read at all', async () => {
    hits.delete('/p40');
    const [out] = await reader({ LINK_MAX_PER_TURN: '0' }).read([text(`${origin}/p40`)]);
    expect(out?.enrichment).toBeUndefined();
    expect(hits.has('/p40')).toBe(false);
  });
});
