import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import request from 'supertest';
import { createMetricsRegistry, createOpsApp, silentLogger } from '@switchboard/core';
import { chatwootSettings, type ChatwootEnv } from '@switchboard/channel-chatwoot/inbound';
import { systemResolver, type Resolver } from '@switchboard/fetch';
import { closeWorkers, createRedis, Producers, waitReady } from '@switchboard/queue';
import {
  dropPrefix,
  fixtureJson,
  PNG_1X1,
  signChatwoot,
  startFakeChatwoot,
  startFakeOpenAI,
  testRedisUrl,
  uniquePrefix,
  waitFor,
  type FakeChatwoot,
  type FakeOpenAI,
} from '@switchboard/testkit';
import { createChatwootIngressApp } from '@switchboard/chatwoot-ingress/app';
import { buildWorkerDeps, loadWorkerEnv, startRoles } from './compose.js';
import type { WorkerDeps } from './deps.js';
import { startPipeline, type Pipeline } from './testing/harness';

jest.setTimeout(90_000);

/**
 * Plays attacker against the in-process worker (real Redis, fakes on loopback): attachment and media
 * URLs that point at the worker's own /metrics, cloud metadata, loopback in every spelling, or a
 * host that redirects there. Each must be refused before any connection, the agent told the file is
 * not available, the customer still answered exactly once, and nothing internal may reach the reply.
 */

const SECRET = 'SECRET-INTERNAL-42';
const WEBHOOK_SECRET = 'ssrf-chatwoot-secret';
const BOT_INBOX = 5;

interface Counted {
  server: Server;
  port: number;
  hits: IncomingMessage[];
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Counted> {
  const hits: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    hits.push(req);
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, hits };
}

const stop = (c: Counted) =>
  new Promise<void>((r) => {
    c.server.closeAllConnections();
    c.server.close(() => r());
  });

type Payload = Record<string, unknown> & { conversation: Record<string, unknown> & { meta: Record<string, unknown> } };

describe('attacker-named URLs in Chatwoot attachments (in-process worker, real Redis)', () => {
  let cw: FakeChatwoot;
  let llm: FakeOpenAI;
  let deps: WorkerDeps;
  let workers: Worker[] = [];
  let ingress: ReturnType<typeof createChatwootIngressApp>;
  let secret: Counted;
  let metrics: Counted;
  let redirector: Counted;
  const prefix = uniquePrefix('ssrf');
  const redis = createRedis(testRedisUrl(), 'worker');
  const producerRedis = createRedis(testRedisUrl(), 'worker');
  const ingressRedis = createRedis(testRedisUrl(), 'producer');
  const ingressProducers = new Producers(ingressRedis, prefix);
  // DNS as an attacker controls it: their names answer loopback
  const resolver: Resolver = async (name) => (name.endsWith('.attacker.example') || name === 'files.partner.example' ? [{ address: '127.0.0.1', family: 4 }] : systemResolver(name));

  beforeAll(async () => {
    [cw, llm] = await Promise.all([startFakeChatwoot(), startFakeOpenAI()]);
    // the model repeats what it was given: anything fetched would come back in the reply
    llm.setReply((req) => {
      const last = [...req.messages].reverse().find((m) => m.role === 'user');
      return `Bot answer to: ${typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content ?? '')}`;
    });
    secret = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${SECRET} aws_secret_access_key=abc`);
    });
    redirector = await serve((_req, res) => {
      res.writeHead(302, { location: `http://127.0.0.1:${secret.port}/notes.txt` });
      res.end();
    });
    const env = loadWorkerEnv({
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'error',
      OPENAI_API_KEY: 'sk-fake',
      OPENAI_BASE_URL: llm.url,
      TURN_DEBOUNCE_MS: '100',
      TURN_MAX_WAIT_MS: '400',
      CHATWOOT_URL: cw.url,
      CHATWOOT_ACCOUNT_ID: String(cw.accountId),
      CHATWOOT_BOT_TOKEN: cw.botToken,
      CHATWOOT_API_TOKEN: cw.userToken,
      CHATWOOT_BOT_ID: '4',
      CHATWOOT_WEBHOOK_SECRET: WEBHOOK_SECRET,
      // an operator-listed partner host (that turns out to redirect inward)
      FETCH_ALLOWED_ORIGINS: `http://files.partner.example:${redirector.port}`,
    });
    deps = buildWorkerDeps(env, redis, producerRedis, silentLogger(), { resolver });
    // the worker's own ops endpoint (/metrics), as main.ts serves it
    const ops = createOpsApp({ registry: deps.registry, checks: {} });
    metrics = await serve((req, res) => ops(req as never, res as never));
    workers = startRoles(deps, ['inbound', 'agent', 'outbound']);
    await waitReady(ingressRedis);
    const settings = chatwootSettings({ CHATWOOT_URL: cw.url, CHATWOOT_ACCOUNT_ID: cw.accountId, CHATWOOT_BOT_ID: 4, CHATWOOT_WEBHOOK_SECRET: [WEBHOOK_SECRET] } satisfies Partial<ChatwootEnv>);
    ingress = createChatwootIngressApp({ log: silentLogger(), registry: createMetricsRegistry({ service: 'ssrf' }), producers: ingressProducers, redis: ingressRedis, prefix, settings });
  });

  afterAll(async () => {
    await closeWorkers(workers, 5000);
    await deps.producers.close();
    await deps.close();
    await ingressProducers.close();
    await Promise.all([cw.close(), llm.close(), stop(secret), stop(metrics), stop(redirector)]);
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
    for (const r of [redis, producerRedis, ingressRedis]) r.disconnect();
  });

  function withAttachment(conversationId: number, messageId: number, attachment: { file_type: string; data_url: string; content_type?: string }): Payload {
    const base = fixtureJson<Payload>('chatwoot', 'message_created.incoming_contact_with_image.json');
    return {
      ...base,
      id: messageId,
      content: 'Please read the attached file',
      inbox: { id: BOT_INBOX, name: 'Website' },
      conversation: { ...base.conversation, id: conversationId, inbox_id: BOT_INBOX },
      attachments: [{ id: messageId, message_id: messageId, account_id: cw.accountId, file_size: 100, ...attachment }],
    };
  }

  async function webhook(payload: unknown, deliveryId: string) {
    const body = JSON.stringify(payload);
    const res = await request(ingress).post('/webhooks/chatwoot').set('content-type', 'application/json').set('x-chatwoot-delivery', deliveryId).set(signChatwoot(body, WEBHOOK_SECRET)).send(body);
    expect(res.status).toBe(200);
  }

  const botReplies = (id: number) => cw.messagesIn(id).filter((m) => m.token === 'bot' && !m.private && m.message_type === 1);

  const attacks = () => [
    { name: 'cloud metadata 169.254.169.254', file_type: 'file', data_url: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/role.txt', reason: 'link_local' },
    { name: "the worker's own /metrics", file_type: 'file', data_url: `http://127.0.0.1:${metrics.port}/metrics`, reason: 'loopback' },
    { name: '[::1]', file_type: 'file', data_url: `http://[::1]:${secret.port}/notes.txt`, reason: 'loopback' },
    { name: '127.1', file_type: 'file', data_url: `http://127.1:${secret.port}/notes.txt`, reason: 'loopback' },
    { name: '2130706433', file_type: 'file', data_url: `http://2130706433:${secret.port}/notes.txt`, reason: 'loopback' },
    { name: '0.0.0.0', file_type: 'file', data_url: `http://0.0.0.0:${secret.port}/notes.txt`, reason: 'unspecified' },
    { name: '[::ffff:127.0.0.1]', file_type: 'image', data_url: `http://[::ffff:127.0.0.1]:${secret.port}/photo.png`, reason: 'loopback' },
    { name: 'a name that resolves to loopback', file_type: 'file', data_url: `http://internal.attacker.example:${secret.port}/notes.txt`, reason: 'loopback' },
    { name: 'an allowed host redirecting to loopback', file_type: 'file', data_url: `http://files.partner.example:${redirector.port}/notes.txt`, reason: 'loopback' },
    { name: 'a file: URL', file_type: 'file', data_url: 'file:///etc/passwd', reason: 'bad_url' },
  ];

  it('every attack is refused before connecting; the customer is answered once and told the file is not available', async () => {
    const list = attacks();
    for (const [i, a] of list.entries()) {
      const id = 900 + i;
      cw.addConversation({ id, inbox_id: BOT_INBOX, contact_id: 4411, status: 'pending' });
      await webhook(withAttachment(id, 9000 + i, { file_type: a.file_type, data_url: a.data_url, content_type: a.file_type === 'image' ? 'image/png' : 'text/plain' }), `ssrf-${i}`);
    }
    for (const [i, a] of list.entries()) await waitFor(() => botReplies(900 + i).length === 1, 30_000, `the reply to "${a.name}"`);
    await new Promise((r) => setTimeout(r, 500));

    for (const [i, a] of list.entries()) {
      const replies = botReplies(900 + i);
      expect({ attack: a.name, replies: replies.length }).toEqual({ attack: a.name, replies: 1 });
      expect(replies[0]?.content).toContain('not available');
      expect(replies[0]?.content).not.toContain(SECRET);
      expect(replies[0]?.content).not.toContain('sb_');
    }
    // nothing internal was ever contacted (the redirector is the allowed first hop only)
    expect(secret.hits).toHaveLength(0);
    expect(metrics.hits).toHaveLength(0);
    expect(redirector.hits).toHaveLength(1);
    for (const req of llm.requests) expect(JSON.stringify(req.messages)).not.toContain(SECRET);

    const text = await deps.registry.metrics();
    const refused = (reason: string) => Number(new RegExp(`sb_fetch_refused_total\\{reason="${reason}"[^}]*\\} (\\d+)`).exec(text)?.[1] ?? 0);
    for (const reason of new Set(list.map((a) => a.reason))) expect({ reason, counted: refused(reason) > 0 }).toEqual({ reason, counted: true });
    expect(refused('loopback')).toBe(list.filter((a) => a.reason === 'loopback').length);
    expect(text).toMatch(/sb_media_enrichments_total\{[^}]*outcome="not_available"[^}]*\} \d+/);
    // refusals are not retried: one refusal per attack, no retry storm
    const total = [...text.matchAll(/^sb_fetch_refused_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    expect(total).toBe(list.length);
  });
});

describe('the WhatsApp token goes only to Graph and Meta media hosts', () => {
  let p: Pipeline;
  let foreign: Counted;
  let evilGraph: Counted;

  beforeAll(async () => {
    foreign = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(PNG_1X1);
    });
    // a Graph media lookup that points at a host that is not Meta's
    evilGraph = await serve((req, res) => {
      const id = /\/v[\d.]+\/(\d+)/.exec(req.url ?? '')?.[1];
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ messaging_product: 'whatsapp', id, url: `http://127.0.0.1:${foreign.port}/file/${id}.png`, mime_type: 'image/png', file_size: PNG_1X1.length }));
    });
    // the foreign host is reachable (listed) but is no media origin: it must never see the token
    p = await startPipeline({ graphProxy: `http://127.0.0.1:${evilGraph.port}`, env: { FETCH_ALLOWED_ORIGINS: `http://127.0.0.1:${foreign.port}` } });
  });
  afterAll(async () => {
    await p.close();
    await stop(foreign);
    await stop(evilGraph);
  });

  function imageDelivery(waId: string, image: Record<string, unknown>) {
    const wamid = `wamid.SSRF${Date.now()}${Math.random().toString(36).slice(2, 8)}`;
    return {
      object: 'whatsapp_business_account',
      entry: [{ id: 'W', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { phone_number_id: '109876543210987' }, contacts: [{ wa_id: waId, profile: { name: 'M' } }], messages: [{ from: waId, id: wamid, timestamp: String(Math.floor(Date.now() / 1000)), type: 'image', image }] } }] }],
    };
  }

  it('a lookup answer on a foreign host is fetched without the token', async () => {
    expect(await p.postWhatsApp(imageDelivery('15551700001', { id: '4242424242', mime_type: 'image/png' }))).toBe(200);
    await waitFor(() => p.graph.textsTo('15551700001').length === 1, 30_000, 'reply to the image');
    expect(evilGraph.hits.length).toBeGreaterThan(0);
    expect(evilGraph.hits[0]?.headers.authorization).toBe('Bearer harness-access-token');
    expect(foreign.hits.length).toBeGreaterThan(0);
    for (const h of foreign.hits) expect(h.headers.authorization).toBeUndefined();
  });

  it('a webhook media url on a foreign host is ignored when there is a media id, and never gets the token', async () => {
    const before = foreign.hits.length;
    const lookups = evilGraph.hits.length;
    expect(await p.postWhatsApp(imageDelivery('15551700002', { id: '4343434343', mime_type: 'image/png', url: `http://127.0.0.1:${foreign.port}/planted.png` }))).toBe(200);
    await waitFor(() => p.graph.textsTo('15551700002').length === 1, 30_000, 'reply to the image');
    expect(evilGraph.hits.length).toBeGreaterThan(lookups);
    const mine = foreign.hits.slice(before);
    expect(mine.some((h) => h.url?.includes('planted'))).toBe(false);
    for (const h of mine) expect(h.headers.authorization).toBeUndefined();
  });
});
