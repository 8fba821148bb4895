import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import {
  dropPrefix,
  freePort,
  signMeta,
  startApp,
  startFakeGraph,
  startFakeOpenAI,
  testRedisUrl,
  uniquePrefix,
  waitFor,
  waitForHttp,
  whatsappTextDelivery,
  type AppProcess,
  type FakeGraph,
  type FakeOpenAI,
} from '@switchboard/testkit';

jest.setTimeout(120_000);

/**
 * The attacker's suite against real processes (whatsapp-ingress and worker as `pnpm start` runs
 * them, real Redis, fakes on loopback): a Graph media lookup that names the worker's own /metrics,
 * cloud metadata, loopback in every spelling, a name that resolves to loopback, a listed host that
 * redirects inward, or a `file:` URL; a lookup that names a foreign host (the token must not follow);
 * a WHATSAPP_MEDIA_ORIGINS host (it must); and compressed webhooks signed over the wrong bytes. The
 * attacks are refused, counted on the worker's /metrics, nothing crashes and every customer is
 * answered exactly once.
 * (In-process variants with an injected resolver: ssrf.attack.int.test.ts; hostile media bytes
 * against the real worker: media-attack.process.int.test.ts.)
 */

const APP_SECRET = 'outside_attack_app_secret';
const TOKEN = 'outside-attack-access-token';
const PNID = '106540352242933';
const SECRET = 'SECRET-INTERNAL-7731';
const NOTE = 'delivery note 4711';

interface Counted {
  port: number;
  hits: IncomingMessage[];
  server: Server;
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Counted> {
  const self: Counted = { port: 0, hits: [], server: undefined as unknown as Server };
  self.server = createServer((req, res) => {
    self.hits.push(req);
    handler(req, res);
  });
  await new Promise<void>((r) => self.server.listen(0, '127.0.0.1', r));
  self.port = (self.server.address() as AddressInfo).port;
  return self;
}

async function stop(c: Counted | undefined): Promise<void> {
  if (!c) return;
  c.server.closeAllConnections();
  await new Promise<void>((r) => c.server.close(() => r()));
}

let seq = 0;
function documentDelivery(waId: string, mediaId: string) {
  seq += 1;
  const wamid = `wamid.OUTSIDE${Date.now()}${seq}`;
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: 'W',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { phone_number_id: PNID },
              contacts: [{ wa_id: waId, profile: { name: 'A' } }],
              messages: [{ from: waId, id: wamid, timestamp: String(Math.floor(Date.now() / 1000)), type: 'document', document: { id: mediaId, mime_type: 'text/plain', filename: 'notes.txt' } }],
            },
          },
        ],
      },
    ],
  };
}

describe('the outside as an attacker, against the real ingress and worker processes', () => {
  const prefix = uniquePrefix('outside');
  let dir: string;
  let graph: FakeGraph;
  let openai: FakeOpenAI;
  let ingress: AppProcess;
  let worker: AppProcess;
  let ingressUrl: string;
  let metricsUrl: string;
  let workerPort: number;
  /** A loopback service holding something internal. */
  let secret: Counted;
  /** An operator-listed file host (FETCH_ALLOWED_ORIGINS) that turns out to redirect inward. */
  let redirector: Counted;
  /** A listed, reachable host that is not Meta's: may be fetched, never with the token. */
  let foreign: Counted;
  /** Stands in for Meta's media CDN: listed in WHATSAPP_MEDIA_ORIGINS, so it does get the token. */
  let metaCdn: Counted;
  /** Graph's media lookups (behind the fake Graph): answer the URL the attacker chose for the id. */
  let lookups: Counted;
  const urls = new Map<string, string>();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sb-outside-'));
    secret = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${SECRET} aws_secret_access_key=abc`);
    });
    redirector = await serve((_req, res) => {
      res.writeHead(302, { location: `http://127.0.0.1:${secret.port}/notes.txt` });
      res.end();
    });
    foreign = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(NOTE);
    });
    metaCdn = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${NOTE} (from the CDN)`);
    });
    lookups = await serve((req, res) => {
      const id = /^\/v[\d.]+\/(\d+)/.exec(req.url ?? '')?.[1] ?? '';
      const url = urls.get(id);
      if (!url) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"error":{"code":100,"message":"Unknown media"}}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ messaging_product: 'whatsapp', id, url, mime_type: 'text/plain', file_size: 40 }));
    });
    graph = await startFakeGraph({ proxyUnknownTo: `http://127.0.0.1:${lookups.port}` });
    openai = await startFakeOpenAI();
    // the model repeats what it was given: anything fetched would come back in the reply
    openai.setReply((req) => {
      const last = [...req.messages].reverse().find((m) => m.role === 'user');
      return `Bot answer to: ${typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content ?? '')}`;
    });
    const [ip, wp] = [await freePort(), await freePort()];
    workerPort = wp;
    ingressUrl = `http://127.0.0.1:${ip}`;
    metricsUrl = `http://127.0.0.1:${wp}/metrics`;
    const env = {
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'info',
      WHATSAPP_APP_SECRET: APP_SECRET,
      WHATSAPP_VERIFY_TOKEN: 'v',
      WHATSAPP_ACCESS_TOKEN: TOKEN,
      WHATSAPP_GRAPH_URL: graph.url,
      OPENAI_API_KEY: 'sk-outside',
      OPENAI_BASE_URL: openai.url,
      TURN_DEBOUNCE_MS: '100',
      WHATSAPP_PORT: String(ip),
      WORKER_METRICS_PORT: String(wp),
      MEDIA_TMP_DIR: join(dir, 'media'),
      FETCH_ALLOWED_ORIGINS: `http://127.0.0.1:${redirector.port},http://127.0.0.1:${foreign.port},http://127.0.0.1:${metaCdn.port}`,
      WHATSAPP_MEDIA_ORIGINS: `http://127.0.0.1:${metaCdn.port}`,
    };
    ingress = startApp('whatsapp-ingress', env);
    worker = startApp('worker', env);
    await waitForHttp(`${ingressUrl}/readyz`);
    await waitForHttp(`http://127.0.0.1:${wp}/readyz`);
  });

  afterAll(async () => {
    for (const p of [ingress, worker]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
    await graph?.close();
    await openai?.close();
    await Promise.all([stop(secret), stop(redirector), stop(foreign), stop(metaCdn), stop(lookups)]);
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  async function post(body: Buffer | string, headers: Record<string, string>): Promise<number> {
    const res = await fetch(`${ingressUrl}/webhooks/whatsapp`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    return res.status;
  }
  const postSigned = (payload: unknown) => {
    const raw = JSON.stringify(payload);
    return post(raw, { 'x-hub-signature-256': signMeta(raw, APP_SECRET) });
  };

  async function refusedCounts(): Promise<{ text: string; by: (reason: string) => number; total: number }> {
    const text = await (await fetch(metricsUrl)).text();
    const by = (reason: string) => Number(new RegExp(`^sb_fetch_refused_total\\{reason="${reason}"[^}]*\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    const total = [...text.matchAll(/^sb_fetch_refused_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    return { text, by, total };
  }

  it('media URLs pointing inward in every spelling (and through a redirect) are refused, counted and logged; each customer is answered once', async () => {
    const attacks = [
      { name: 'cloud metadata', url: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/role', reason: 'link_local' },
      { name: "the worker's own /metrics", url: `http://127.0.0.1:${workerPort}/metrics`, reason: 'loopback' },
      { name: '[::1]', url: `http://[::1]:${secret.port}/notes.txt`, reason: 'loopback' },
      { name: '127.1', url: `http://127.1:${secret.port}/notes.txt`, reason: 'loopback' },
      { name: '2130706433', url: `http://2130706433:${secret.port}/notes.txt`, reason: 'loopback' },
      { name: '0x7f.1', url: `http://0x7f.1:${secret.port}/notes.txt`, reason: 'loopback' },
      { name: '0.0.0.0', url: `http://0.0.0.0:${secret.port}/notes.txt`, reason: 'unspecified' },
      { name: '[::ffff:127.0.0.1]', url: `http://[::ffff:127.0.0.1]:${secret.port}/notes.txt`, reason: 'loopback' },
      { name: 'a name that resolves to loopback', url: `http://localhost:${secret.port}/notes.txt`, reason: 'loopback' },
      { name: 'a listed host redirecting to loopback', url: `http://127.0.0.1:${redirector.port}/notes.txt`, reason: 'loopback' },
      { name: 'a file: URL', url: 'file:///etc/passwd', reason: 'bad_url' },
    ];
    const before = await refusedCounts();
    const customers = attacks.map((a, i) => {
      const mediaId = String(7_100_000_000 + i);
      urls.set(mediaId, a.url);
      return { ...a, mediaId, waId: `1555180${String(i).padStart(4, '0')}` };
    });
    for (const c of customers) expect(await postSigned(documentDelivery(c.waId, c.mediaId))).toBe(200);
    for (const c of customers) await waitFor(() => graph.textsTo(c.waId).length >= 1, 40_000, `the reply to "${c.name}"`);

    const after = await refusedCounts();
    for (const c of customers) {
      const replies = graph.textsTo(c.waId);
      expect({ attack: c.name, replies: replies.length }).toEqual({ attack: c.name, replies: 1 });
      expect(replies[0]).toContain('not available');
      expect(replies[0]).not.toContain(SECRET);
      expect(replies[0]).not.toContain('sb_');
    }
    // nothing internal was contacted: the listed redirector is the only first hop that connected
    expect(secret.hits).toHaveLength(0);
    expect(redirector.hits).toHaveLength(1);
    expect(JSON.stringify(openai.requests)).not.toContain(SECRET);
    // one refusal per attack (never retried), by reason, on the worker's own /metrics
    expect(after.total - before.total).toBe(attacks.length);
    for (const reason of new Set(attacks.map((a) => a.reason))) {
      expect({ reason, counted: after.by(reason) - before.by(reason) }).toEqual({ reason, counted: attacks.filter((a) => a.reason === reason).length });
    }
    expect(after.text).not.toMatch(/^sb_fetch_refused_total\{reason="(private|cgnat|too_many_redirects)"/m);
    // logged with reason and origin, never the URL's path or query
    const refusals = worker
      .output()
      .split('\n')
      .filter((l) => l.includes('"fetch refused"'));
    expect(refusals.length).toBeGreaterThanOrEqual(attacks.length);
    expect(refusals.join('\n')).not.toContain('security-credentials');
    expect(worker.child.exitCode).toBeNull();
    expect(ingress.child.exitCode).toBeNull();
  });

  it('a media lookup naming a WHATSAPP_MEDIA_ORIGINS host: the token goes along (the configured list reaches the worker)', async () => {
    const mediaId = '7200000002';
    urls.set(mediaId, `http://127.0.0.1:${metaCdn.port}/v/t62/notes.txt?oh=1`);
    expect(await postSigned(documentDelivery('15551819002', mediaId))).toBe(200);
    await waitFor(() => graph.textsTo('15551819002').length === 1, 40_000, 'the reply to the document');
    expect(graph.textsTo('15551819002')[0]).toContain(`${NOTE} (from the CDN)`);
    expect(metaCdn.hits.length).toBeGreaterThan(0);
    expect(metaCdn.hits.every((h) => h.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('a media lookup naming a foreign host: the file is fetched from it without the WhatsApp token', async () => {
    const mediaId = '7200000001';
    urls.set(mediaId, `http://127.0.0.1:${foreign.port}/cdn/notes.txt?sig=abc`);
    const lookupsBefore = lookups.hits.length;
    expect(await postSigned(documentDelivery('15551819001', mediaId))).toBe(200);
    await waitFor(() => graph.textsTo('15551819001').length === 1, 40_000, 'the reply to the document');
    expect(graph.textsTo('15551819001')[0]).toContain(NOTE);
    // the lookup went to Graph with the token (through the fake Graph), the file without it
    const mine = lookups.hits.slice(lookupsBefore);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((h) => h.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(foreign.hits.length).toBeGreaterThan(0);
    for (const h of foreign.hits) {
      expect(h.headers.authorization).toBeUndefined();
      expect(JSON.stringify(h.headers)).not.toContain(TOKEN);
      expect(h.url).not.toContain(TOKEN);
    }
  });

  it('compressed webhooks: signed over the bytes on the wire → accepted and answered; signed over the inflated JSON → 401; br → 415', async () => {
    const good = whatsappTextDelivery({ waId: '15551819101', text: 'hello from a gzip body', phoneNumberId: PNID });
    const goodRaw = Buffer.from(JSON.stringify(good.payload));
    const goodWire = gzipSync(goodRaw);
    expect(await post(goodWire, { 'content-encoding': 'gzip', 'x-hub-signature-256': signMeta(goodWire, APP_SECRET) })).toBe(200);

    const forged = whatsappTextDelivery({ waId: '15551819102', text: 'signed over the inflated JSON', phoneNumberId: PNID });
    const forgedRaw = Buffer.from(JSON.stringify(forged.payload));
    expect(await post(gzipSync(forgedRaw), { 'content-encoding': 'gzip', 'x-hub-signature-256': signMeta(forgedRaw, APP_SECRET) })).toBe(401);

    const brotli = whatsappTextDelivery({ waId: '15551819103', text: 'a brotli body', phoneNumberId: PNID });
    const brWire = brotliCompressSync(Buffer.from(JSON.stringify(brotli.payload)));
    expect(await post(brWire, { 'content-encoding': 'br', 'x-hub-signature-256': signMeta(brWire, APP_SECRET) })).toBe(415);

    await waitFor(() => graph.textsTo('15551819101').length === 1, 40_000, 'the reply to the gzip body');
    expect(graph.textsTo('15551819101')[0]).toContain('hello from a gzip body');
    // the refused ones never became messages (they were posted after the good one, which is answered)
    expect(graph.textsTo('15551819102')).toEqual([]);
    expect(graph.textsTo('15551819103')).toEqual([]);
    expect(ingress.child.exitCode).toBeNull();
  });
});
