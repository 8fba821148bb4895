/**
 * Bad input, WhatsApp ingress: every malformed, truncated, oversized, unsigned or mis-signed
 * delivery gets the right 4xx, the process keeps serving, nothing reaches the inbound queue
 * (checked in a unique prefix) and neither the app secret nor payload text appear in the logs.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request as httpRequest } from 'node:http';
import { createLogger, createMetricsRegistry, type Logger } from '@switchboard/core';
import { createWhatsAppInboundAdapter } from '@switchboard/channel-whatsapp/inbound';
import { createRedis, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import { dropPrefix, signMeta, testRedisUrl, uniquePrefix, whatsappTextDelivery } from '@switchboard/testkit';
import { Redis } from 'ioredis';
import { createWhatsAppIngressApp } from './app';

const SECRET = 'fuzz_app_secret_6b1f0e';
const CANARY = 'CANARY-payload-text-7731';

/** A logger whose JSON lines are kept in memory (the console transport is replaced). */
function capturingLogger(): { log: Logger; lines: string[] } {
  const log = createLogger({ service: 'fuzz', level: 'debug' });
  const lines: string[] = [];
  for (const t of log.transports) {
    (t as unknown as { log: (info: Record<string | symbol, unknown>, next: () => void) => void }).log = (info, next) => {
      lines.push(String(info[Symbol.for('message')] ?? JSON.stringify(info)));
      next();
    };
  }
  return { log, lines };
}

/** Raw HTTP so bodies, lengths and headers go out exactly as given. */
function rawPost(url: string, body: Buffer, headers: Record<string, string | number>): Promise<{ status: number; text: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers, timeout: 10_000 }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

describe('whatsapp-ingress bad input (real Redis)', () => {
  const prefix = uniquePrefix('fuzzwa');
  const { log, lines } = capturingLogger();
  let redis: RedisClient;
  let producers: Producers;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    redis = createRedis(testRedisUrl(), 'producer');
    redis.on('error', () => undefined);
    await waitReady(redis);
    producers = new Producers(redis, prefix);
    const app = createWhatsAppIngressApp({
      log,
      registry: createMetricsRegistry({ service: 'fuzz' }),
      producers,
      redis,
      adapter: createWhatsAppInboundAdapter({ appSecret: SECRET }),
      verifyToken: 'fuzz_verify',
      bodyLimit: '256kb',
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/whatsapp`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await producers.close();
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
    redis.disconnect();
  });

  const inboundCount = async () => {
    const c = await producers.queue('inbound').getJobCounts('waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized');
    return Object.values(c).reduce((a, b) => a + b, 0);
  };

  const valid = () => Buffer.from(JSON.stringify(whatsappTextDelivery({ waId: '15552800001', text: CANARY }).payload));
  const json = { 'content-type': 'application/json' };
  const nested = (depth: number) => Buffer.from('{"object":"whatsapp_business_account","entry":' + '['.repeat(depth) + ']'.repeat(depth) + '}');
  const invalidUtf8 = () => {
    const body = valid();
    const at = body.indexOf(Buffer.from(CANARY));
    return Buffer.concat([body.subarray(0, at), Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80]), body.subarray(at)]);
  };

  const cases: Array<[string, () => { body: Buffer; headers: Record<string, string | number> }, number]> = [
    ['no signature', () => ({ body: valid(), headers: json }), 401],
    ['empty signature', () => ({ body: valid(), headers: { ...json, 'x-hub-signature-256': '' } }), 401],
    ['signature of another body', () => ({ body: valid(), headers: { ...json, 'x-hub-signature-256': signMeta(valid().toString().replace('15552800001', '15552800002'), SECRET) } }), 401],
    ['signature with another secret', () => ({ body: valid(), headers: { ...json, 'x-hub-signature-256': signMeta(valid(), 'not-the-secret') } }), 401],
    ['sha1 signature / wrong scheme', () => ({ body: valid(), headers: { ...json, 'x-hub-signature-256': 'sha1=' + 'a'.repeat(40) } }), 401],
    ['non-hex signature', () => ({ body: valid(), headers: { ...json, 'x-hub-signature-256': 'sha256=' + 'zz'.repeat(32) } }), 401],
    ['truncated body, signature of the whole', () => {
      const b = valid();
      return { body: b.subarray(0, Math.floor(b.length / 2)), headers: { ...json, 'x-hub-signature-256': signMeta(b, SECRET) } };
    }, 401],
    ['truncated body, signed as truncated (not JSON)', () => {
      const b = valid().subarray(0, 150);
      return { body: b, headers: { ...json, 'x-hub-signature-256': signMeta(b, SECRET) } };
    }, 400],
    ['wrong content type, unsigned', () => ({ body: Buffer.from(`text=${CANARY}`), headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 401],
    ['wrong content type, signed form body (not JSON)', () => {
      const b = Buffer.from(`text=${CANARY}&a=1`);
      return { body: b, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-hub-signature-256': signMeta(b, SECRET) } };
    }, 400],
    ['XML body, signed (not JSON)', () => {
      const b = Buffer.from(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "${CANARY}">]><x>&a;</x>`);
      return { body: b, headers: { 'content-type': 'application/xml', 'x-hub-signature-256': signMeta(b, SECRET) } };
    }, 400],
    ['deeply nested JSON, unsigned', () => ({ body: nested(100_000), headers: json }), 401],
    ['invalid UTF-8, unsigned', () => ({ body: invalidUtf8(), headers: json }), 401],
    ['body over the limit', () => ({ body: Buffer.alloc(300 * 1024, 0x61), headers: { ...json, 'x-hub-signature-256': 'sha256=' + '0'.repeat(64) } }), 413],
    ['huge header (60 KB)', () => ({ body: valid(), headers: { ...json, 'x-hub-signature-256': signMeta(valid(), SECRET), 'x-filler': 'h'.repeat(60 * 1024) } }), 431],
  ];

  it.each(cases.map(([name, make, expected]) => ({ name, make, expected })))('$name → $expected, nothing enqueued', async ({ make, expected }) => {
    const before = await inboundCount();
    const { body, headers } = make();
    const res = await rawPost(url, body, { ...headers, 'content-length': body.length }).catch((err: Error) => ({ status: -1, text: err.message }));
    expect(res.status).toBe(expected);
    expect(await inboundCount()).toBe(before);
  });

  // Only the provider can sign, so this is not an attack path; it is still a bad request (400), never
  // a 5xx that the provider would retry for days.
  it('deeply nested JSON that is correctly signed does not crash the ingress, nothing enqueued', async () => {
    const before = await inboundCount();
    const b = nested(50_000);
    const res = await rawPost(url, b, { ...json, 'content-length': b.length, 'x-hub-signature-256': signMeta(b, SECRET) });
    expect(res.status).toBe(400);
    expect(await inboundCount()).toBe(before);
  });

  it('still serves a valid delivery afterwards (the process did not crash), and enqueues exactly it', async () => {
    const before = await inboundCount();
    const b = valid();
    const res = await rawPost(url, b, { ...json, 'content-length': b.length, 'x-hub-signature-256': signMeta(b, SECRET) });
    expect(res.status).toBe(200);
    expect(await inboundCount()).toBe(before + 1);
  });

  it('the logs name the refusals but never contain the secret, a signature or the payload', () => {
    const all = lines.join('\n');
    expect(lines.some((l) => l.includes('webhook refused'))).toBe(true);
    expect(all).not.toContain(SECRET);
    expect(all).not.toContain(CANARY);
    expect(all).not.toContain('15552800001');
    expect(all).not.toMatch(/sha256=[0-9a-f]{64}/);
    expect(all).not.toContain('hhhhhhhh');
  });
});
