/**
 * Bad input, Chatwoot ingress: malformed, truncated, oversized, unsigned, mis-signed or replayed
 * agent-bot webhooks get the right 4xx, the process keeps serving, nothing reaches the inbound queue
 * (unique prefix) and neither the webhook secret nor payload text appear in the logs.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request as httpRequest } from 'node:http';
import { Redis } from 'ioredis';
import { createLogger, createMetricsRegistry, type Logger } from '@switchboard/core';
import { chatwootSettings, type ChatwootEnv } from '@switchboard/channel-chatwoot/inbound';
import { createRedis, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import { CHATWOOT_FIXTURE_TIMESTAMP, dropPrefix, fixtureJson, signChatwoot, testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { createChatwootIngressApp } from './app';

const SECRET = 'fuzz_chatwoot_secret_91ac';
const CANARY = 'CANARY-chatwoot-text-5521';
const NOW = Number(CHATWOOT_FIXTURE_TIMESTAMP) * 1000 + 2000;
const NOW_SEC = Math.floor(NOW / 1000);
const ENV: Partial<ChatwootEnv> = {
  CHATWOOT_URL: 'http://127.0.0.1:9',
  CHATWOOT_ACCOUNT_ID: 7,
  CHATWOOT_BOT_ID: 4,
  CHATWOOT_WEBHOOK_SECRET: [SECRET],
  CHATWOOT_SIGNATURE_WINDOW_SEC: 300,
  CHATWOOT_MAX_BODY_BYTES: 64 * 1024,
};

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

describe('chatwoot-ingress bad input (real Redis)', () => {
  const prefix = uniquePrefix('fuzzcw');
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
    const app = createChatwootIngressApp({ log, registry: createMetricsRegistry({ service: 'fuzz' }), producers, redis, prefix, settings: chatwootSettings(ENV), now: () => NOW });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/chatwoot`;
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

  let n = 0;
  /** A real-shaped incoming contact message (fixture) with a fresh id and the canary text. */
  const valid = () => {
    const payload = fixtureJson<Record<string, unknown>>('chatwoot', 'message_created.incoming_contact_with_image.json');
    n += 1;
    payload.id = 900_000 + n;
    payload.content = `${CANARY} ${n}`;
    payload.attachments = [];
    return Buffer.from(JSON.stringify(payload));
  };
  const json = { 'content-type': 'application/json' };
  const signed = (b: Buffer, ts = NOW_SEC, secret = SECRET) => ({ ...json, ...signChatwoot(b, secret, ts) });
  const nested = (depth: number) => Buffer.from('{"event":"message_created","x":' + '['.repeat(depth) + ']'.repeat(depth) + '}');
  const invalidUtf8 = (b: Buffer) => {
    const at = b.indexOf(Buffer.from(CANARY));
    return Buffer.concat([b.subarray(0, at), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), b.subarray(at)]);
  };

  const cases: Array<{ name: string; make: () => { body: Buffer; headers: Record<string, string | number> }; expected: number }> = [
    { name: 'no signature headers', make: () => ({ body: valid(), headers: json }), expected: 401 },
    { name: 'signature of another body', make: () => ({ body: valid(), headers: signed(valid()) }), expected: 401 },
    { name: 'signature with another secret', make: () => { const b = valid(); return { body: b, headers: signed(b, NOW_SEC, 'wrong-secret') }; }, expected: 401 },
    { name: 'replayed old timestamp (1 h)', make: () => { const b = valid(); return { body: b, headers: signed(b, NOW_SEC - 3600) }; }, expected: 401 },
    { name: 'timestamp from the future (1 h)', make: () => { const b = valid(); return { body: b, headers: signed(b, NOW_SEC + 3600) }; }, expected: 401 },
    { name: 'malformed timestamp', make: () => { const b = valid(); return { body: b, headers: { ...signed(b), 'x-chatwoot-timestamp': '12ab' } }; }, expected: 401 },
    { name: 'non-hex signature', make: () => ({ body: valid(), headers: { ...json, 'x-chatwoot-timestamp': String(NOW_SEC), 'x-chatwoot-signature': 'sha256=' + 'zz'.repeat(32) } }), expected: 401 },
    { name: 'truncated body, signature of the whole', make: () => { const b = valid(); return { body: b.subarray(0, 100), headers: signed(b) }; }, expected: 401 },
    { name: 'truncated body, signed as truncated (not JSON)', make: () => { const b = valid().subarray(0, 100); return { body: b, headers: signed(b) }; }, expected: 400 },
    { name: 'wrong content type, signed form body', make: () => { const b = Buffer.from(`content=${CANARY}`); return { body: b, headers: { ...signed(b), 'content-type': 'application/x-www-form-urlencoded' } }; }, expected: 400 },
    { name: 'XML with entity declarations, signed', make: () => { const b = Buffer.from(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "${CANARY}"><!ENTITY b "&a;&a;&a;&a;">]><x>&b;</x>`); return { body: b, headers: { ...signed(b), 'content-type': 'application/xml' } }; }, expected: 400 },
    { name: 'JSON without an event name, signed', make: () => { const b = Buffer.from(JSON.stringify({ content: CANARY })); return { body: b, headers: signed(b) }; }, expected: 400 },
    { name: 'deeply nested JSON, unsigned', make: () => ({ body: nested(20_000), headers: json }), expected: 401 },
    { name: 'invalid UTF-8, unsigned', make: () => ({ body: invalidUtf8(valid()), headers: json }), expected: 401 },
    { name: 'body over the limit (64 KB)', make: () => { const b = Buffer.alloc(80 * 1024, 0x61); return { body: b, headers: signed(b) }; }, expected: 413 },
    { name: 'huge header (60 KB)', make: () => { const b = valid(); return { body: b, headers: { ...signed(b), 'x-filler': 'h'.repeat(60 * 1024) } }; }, expected: 431 },
  ];

  it.each(cases)('$name → $expected, nothing enqueued', async ({ make, expected }) => {
    const before = await inboundCount();
    const { body, headers } = make();
    const res = await rawPost(url, body, { ...headers, 'content-length': body.length }).catch((err: Error) => ({ status: -1, text: err.message }));
    expect(res.status).toBe(expected);
    expect(await inboundCount()).toBe(before);
  });

  // Needs the webhook secret, so not an attack path; today normalizing it throws and the ingress
  // answers 503 (see the report of issue 8: 400 would stop the redeliveries).
  it('deeply nested JSON that is correctly signed does not crash the ingress, nothing enqueued', async () => {
    const before = await inboundCount();
    const b = nested(20_000);
    const res = await rawPost(url, b, { ...signed(b), 'content-length': b.length });
    expect(res.status).toBe(400);
    expect(await inboundCount()).toBe(before);
  });

  it('still serves a valid webhook afterwards and enqueues exactly it', async () => {
    const before = await inboundCount();
    const b = valid();
    const res = await rawPost(url, b, { ...signed(b), 'content-length': b.length });
    expect(res.status).toBe(200);
    expect(await inboundCount()).toBe(before + 1);
  });

  it('the logs name the refusals but never contain the secret, a signature or the payload', () => {
    const all = lines.join('\n');
    expect(lines.some((l) => l.includes('chatwoot webhook refused'))).toBe(true);
    expect(all).not.toContain(SECRET);
    expect(all).not.toContain(CANARY);
    expect(all).not.toMatch(/sha256=[0-9a-f]{64}/);
    expect(all).not.toContain('hhhhhhhh');
  });
});
