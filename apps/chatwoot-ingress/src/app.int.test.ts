import { Redis } from 'ioredis';
import request from 'supertest';
import { createMetricsRegistry, InboundEvent, silentLogger } from '@switchboard/core';
import { chatwootSettings, MirrorStore, type ChatwootEnv } from '@switchboard/channel-chatwoot/inbound';
import { createRedis, Producers, waitReady } from '@switchboard/queue';
import {
  CHATWOOT_FIXTURE_SECRET,
  CHATWOOT_FIXTURE_SIGNATURES,
  CHATWOOT_FIXTURE_TIMESTAMP,
  dropPrefix,
  fixtureBytes,
  fixtureJson,
  signChatwoot,
  testRedisUrl,
  uniquePrefix,
} from '@switchboard/testkit';
import { createChatwootIngressApp } from './app';

const NOW = Number(CHATWOOT_FIXTURE_TIMESTAMP) * 1000 + 2000;
const INCOMING = 'message_created.incoming_contact_with_image.json';
const ENV: Partial<ChatwootEnv> = {
  CHATWOOT_URL: 'http://127.0.0.1:9',
  CHATWOOT_ACCOUNT_ID: 7,
  CHATWOOT_BOT_ID: 4,
  CHATWOOT_WEBHOOK_SECRET: ['other-source-secret', CHATWOOT_FIXTURE_SECRET],
  CHATWOOT_SIGNATURE_WINDOW_SEC: 300,
  CHATWOOT_MAX_BODY_BYTES: 64 * 1024,
};

function build(prefix: string, env: Partial<ChatwootEnv> = ENV) {
  const redis = createRedis(testRedisUrl(), 'producer');
  redis.on('error', () => undefined);
  const producers = new Producers(redis, prefix);
  const app = createChatwootIngressApp({
    log: silentLogger(),
    registry: createMetricsRegistry({ service: 'test' }),
    producers,
    redis,
    prefix,
    settings: chatwootSettings(env),
    now: () => NOW,
  });
  return {
    app,
    producers,
    ready: () => waitReady(redis),
    close: async () => {
      await producers.close();
      redis.disconnect();
    },
  };
}

async function inboundJobs(producers: Producers): Promise<InboundEvent[]> {
  const jobs = await producers.queue('inbound').getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
  return jobs.map((j) => InboundEvent.parse(j.data));
}

function post(app: Parameters<typeof request>[0], body: Buffer, headers: Record<string, string>) {
  let r = request(app).post('/webhooks/chatwoot').set('content-type', 'application/json');
  for (const [k, v] of Object.entries(headers)) r = r.set(k, v);
  // a string goes out byte for byte (superagent would JSON-encode a Buffer under application/json)
  return r.send(body.toString('utf8'));
}

const signed = (name: string) => ({ 'x-chatwoot-timestamp': CHATWOOT_FIXTURE_TIMESTAMP, 'x-chatwoot-signature': CHATWOOT_FIXTURE_SIGNATURES[name]! });

describe('chatwoot-ingress (real Redis)', () => {
  const admin = new Redis(testRedisUrl());
  const prefixes: string[] = [];
  const closers: Array<() => Promise<void>> = [];
  async function fresh(env?: Partial<ChatwootEnv>) {
    const prefix = uniquePrefix('cwi');
    prefixes.push(prefix);
    const built = build(prefix, env);
    closers.push(built.close);
    await built.ready();
    return { ...built, prefix };
  }

  afterAll(async () => {
    for (const c of closers) await c();
    for (const p of prefixes) await dropPrefix(admin, p);
    admin.disconnect();
  });

  it('enqueues a signed incoming customer message once and answers 200 fast', async () => {
    const { app, producers } = await fresh();
    const started = Date.now();
    const res = await post(app, fixtureBytes('chatwoot', INCOMING), { ...signed(INCOMING), 'x-chatwoot-delivery': 'd-1' });
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(res.body).toEqual({ status: 'enqueued', enqueued: 1 });
    const jobs = await inboundJobs(producers);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ kind: 'message', eventId: 'cw-7-551207-message_created', author: 'customer', conversation: { channel: 'chatwoot', threadId: '318' } });
  });

  it('the same delivery twice → one job (X-Chatwoot-Delivery dedupe)', async () => {
    const { app, producers } = await fresh();
    for (let i = 0; i < 2; i++) {
      const res = await post(app, fixtureBytes('chatwoot', INCOMING), { ...signed(INCOMING), 'x-chatwoot-delivery': 'same-delivery' });
      expect(res.status).toBe(200);
    }
    expect(await inboundJobs(producers)).toHaveLength(1);
  });

  it('the same message from two destinations (bot + API inbox, two delivery ids) → one job (message-id dedupe)', async () => {
    const { app, producers } = await fresh();
    const a = await post(app, fixtureBytes('chatwoot', INCOMING), { ...signed(INCOMING), 'x-chatwoot-delivery': 'to-bot' });
    const b = await post(app, fixtureBytes('chatwoot', INCOMING), { ...signed(INCOMING), 'x-chatwoot-delivery': 'to-api-inbox' });
    expect([a.body.status, b.body.status]).toEqual(['enqueued', 'duplicate_message']);
    expect(await inboundJobs(producers)).toHaveLength(1);
  });

  it('acknowledges the bot echo and unknown events without enqueueing', async () => {
    const { app, producers } = await fresh();
    const echo = 'message_created.outgoing_agent_bot_IGNORE.json';
    expect((await post(app, fixtureBytes('chatwoot', echo), signed(echo))).body).toEqual({ status: 'ignored', enqueued: 0 });
    const typing = Buffer.from(JSON.stringify({ event: 'conversation_typing_on', is_private: false }));
    const res = await post(app, typing, signChatwoot(typing, CHATWOOT_FIXTURE_SECRET, NOW / 1000));
    expect(res.status).toBe(200);
    expect(await inboundJobs(producers)).toHaveLength(0);
  });

  it('a private note never reaches the agent; customer messages of an open or human-assigned conversation only reach the record', async () => {
    const { app, producers } = await fresh();
    const base = fixtureJson<Record<string, unknown> & { conversation: Record<string, unknown> }>('chatwoot', INCOMING);
    const note = Buffer.from(JSON.stringify({ ...base, id: 1, private: true }));
    expect((await post(app, note, signChatwoot(note, CHATWOOT_FIXTURE_SECRET, NOW / 1000))).body.status).toBe('ignored');
    const variants = [
      { ...base, id: 2, conversation: { ...base.conversation, status: 'open' } },
      { ...base, id: 3, conversation: { ...base.conversation, meta: { assignee: { id: 17, type: 'user' }, assignee_type: 'User' } } },
    ];
    for (const v of variants) {
      const body = Buffer.from(JSON.stringify(v));
      expect((await post(app, body, signChatwoot(body, CHATWOOT_FIXTURE_SECRET, NOW / 1000))).body.status).toBe('enqueued');
    }
    // marked record-only: the worker records them and never starts a turn
    const jobs = await inboundJobs(producers);
    expect(jobs.length).toBeGreaterThanOrEqual(2);
    for (const j of jobs) expect(j).toMatchObject({ kind: 'message', author: 'customer', recordOnly: expect.any(String) });
  });

  it('status change to open becomes a human_took_over signal', async () => {
    const { app, producers } = await fresh();
    const name = 'conversation_status_changed.open.json';
    expect((await post(app, fixtureBytes('chatwoot', name), signed(name))).status).toBe(200);
    expect(await inboundJobs(producers)).toEqual([expect.objectContaining({ kind: 'signal', signal: 'human_took_over' })]);
  });

  it('401 for a wrong secret, a stale timestamp or a missing signature', async () => {
    const { app, producers } = await fresh();
    const body = fixtureBytes('chatwoot', INCOMING);
    expect((await post(app, body, signChatwoot(body, 'wrong-secret', NOW / 1000))).status).toBe(401);
    expect((await post(app, body, signChatwoot(body, CHATWOOT_FIXTURE_SECRET, NOW / 1000 - 3600))).status).toBe(401);
    expect((await post(app, body, {})).status).toBe(401);
    expect(await inboundJobs(producers)).toHaveLength(0);
    const metrics = await request(app).get('/metrics');
    expect(metrics.text).toMatch(/sb_chatwoot_signature_failures_total\{[^}]*\} 3/);
  });

  it('400 for a body that is not JSON or has no event, 413 above the size limit', async () => {
    const { app } = await fresh();
    const bad = Buffer.from('{not json');
    expect((await post(app, bad, signChatwoot(bad, CHATWOOT_FIXTURE_SECRET, NOW / 1000))).status).toBe(400);
    const noEvent = Buffer.from('{"id":1}');
    expect((await post(app, noEvent, signChatwoot(noEvent, CHATWOOT_FIXTURE_SECRET, NOW / 1000))).status).toBe(400);
    const big = Buffer.from(JSON.stringify({ event: 'message_created', content: 'x'.repeat(70 * 1024) }));
    expect((await post(app, big, signChatwoot(big, CHATWOOT_FIXTURE_SECRET, NOW / 1000))).status).toBe(413);
  });

  it('accepts unsigned webhooks when CHATWOOT_WEBHOOK_SECRET is unset', async () => {
    const { app, producers } = await fresh({ ...ENV, CHATWOOT_WEBHOOK_SECRET: [] });
    expect((await post(app, fixtureBytes('chatwoot', INCOMING), {})).status).toBe(200);
    expect(await inboundJobs(producers)).toHaveLength(1);
  });

  it('answers 503 while the channel is disabled', async () => {
    const { app } = await fresh({ CHATWOOT_WEBHOOK_SECRET: [] });
    expect((await post(app, fixtureBytes('chatwoot', INCOMING), {})).status).toBe(503);
    expect((await request(app).get('/healthz')).status).toBe(200);
  });

  it("maps a human's reply in the mirror inbox to the original WhatsApp conversation", async () => {
    const { app, producers, prefix } = await fresh({ ...ENV, CHATWOOT_MIRROR_INBOX_ID: 23 });
    const original = { channel: 'whatsapp' as const, account: '1234567', userId: '4915112345678', address: '4915112345678' };
    await new MirrorStore(admin, prefix).save({ accountId: 7, inboxId: 23, contactId: 4411, conversationId: 318, sourceId: 'sb:wa:1234567:4915112345678', ref: original });
    const name = 'message_created.outgoing_human_agent_api_inbox.json';
    const res = await post(app, fixtureBytes('chatwoot', name), { ...signed(name), 'x-chatwoot-delivery': 'mirror-1' });
    expect(res.body).toEqual({ status: 'enqueued', enqueued: 1 });
    const [job] = await inboundJobs(producers);
    expect(job).toMatchObject({ kind: 'message', author: 'human_agent', conversation: original, providerMessageId: 'chatwoot:318:551230' });
  });

  it('a private note in the mirror inbox is never enqueued', async () => {
    const { app, producers } = await fresh({ ...ENV, CHATWOOT_MIRROR_INBOX_ID: 23 });
    const note = { ...fixtureJson<Record<string, unknown>>('chatwoot', 'message_created.outgoing_human_agent_api_inbox.json'), private: true };
    const body = Buffer.from(JSON.stringify(note));
    expect((await post(app, body, signChatwoot(body, CHATWOOT_FIXTURE_SECRET, NOW / 1000))).body.status).toBe('ignored');
    expect(await inboundJobs(producers)).toHaveLength(0);
  });

  it('answers 503 when Redis is unreachable, so the delivery can be retried', async () => {
    const prefix = uniquePrefix('cwi');
    prefixes.push(prefix);
    const redis = createRedis(testRedisUrl(), 'producer');
    redis.on('error', () => undefined);
    await waitReady(redis);
    const producers = new Producers(redis, prefix);
    const app = createChatwootIngressApp({ log: silentLogger(), registry: createMetricsRegistry({ service: 'test' }), producers, redis, prefix, settings: chatwootSettings(ENV), now: () => NOW });
    redis.disconnect(); // Redis goes away: producer commands fail fast instead of queueing
    const res = await post(app, fixtureBytes('chatwoot', INCOMING), { ...signed(INCOMING), 'x-chatwoot-delivery': 'while-down' });
    expect(res.status).toBe(503);
    expect((await request(app).get('/readyz')).status).toBe(503);
    await producers.close();
  });

  it('serves /healthz, /readyz and /metrics', async () => {
    const { app } = await fresh();
    expect((await request(app).get('/healthz')).status).toBe(200);
    expect((await request(app).get('/readyz')).status).toBe(200);
    const m = await request(app).get('/metrics');
    expect(m.text).toContain('sb_chatwoot_webhooks_total');
    expect(m.text).toContain('sb_chatwoot_enqueue_seconds');
  });
});

