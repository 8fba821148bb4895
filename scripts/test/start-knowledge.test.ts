/**
 * Knowledge from `pnpm start` on a fresh machine: no DATABASE_URL, so the start script runs the
 * embedded store (PGlite, data in its own folder here). A document added through the HTTP API of the
 * admin app (`POST /api/v1/knowledge/documents`, API_KEYS) is read by the worker's `knowledge` role
 * until the API lists it `ready`; a WhatsApp webhook question then gets a reply at the fake Graph
 * API that cites it. Real processes (start.mjs, admin, whatsapp-ingress, worker from dist/), real
 * Redis, fake Graph and OpenAI (chat and embeddings) on loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { dropPrefix, freePort, signMeta, startFakeGraph, startFakeOpenAI, testRedisUrl, uniquePrefix, waitFor, whatsappTextDelivery, type FakeChatRequest, type FakeGraph, type FakeOpenAI } from '@switchboard/testkit';

const root = resolve(__dirname, '..', '..');
for (const app of ['admin', 'whatsapp-ingress', 'worker']) {
  if (!existsSync(join(root, 'apps', app, 'dist', 'main.js'))) throw new Error(`build first: pnpm exec turbo run build (this test starts apps/${app}/dist/main.js)`);
}
if (!existsSync(join(root, 'packages/store/dist/embedded/main.js'))) throw new Error('build first: pnpm exec turbo run build (this test starts the embedded store)');

jest.setTimeout(180_000);

const API_KEY = 'kb-start-test-secret-0123456789';
const APP_SECRET = 'kb-start-app-secret';
const CUSTOMER = '4915170009001';

const systemOf = (req: FakeChatRequest): string => {
  const m = req.messages.find((x) => x.role === 'system')?.content;
  return typeof m === 'string' ? m : '';
};

describe('pnpm start without DATABASE_URL: knowledge through the API, cited on WhatsApp', () => {
  const storeDir = mkdtempSync(join(tmpdir(), 'sb-start-kb-'));
  const prefix = uniquePrefix('startkb');
  let graph: FakeGraph;
  let openai: FakeOpenAI;
  let child: ChildProcess;
  let exited: Promise<number | null>;
  let out = '';
  let adminUrl = '';
  let ingressUrl = '';

  beforeAll(async () => {
    graph = await startFakeGraph();
    openai = await startFakeOpenAI();
    // the fake model cites source [1] when it was given numbered sources
    openai.setReply((req) => (/\n\[1\] /.test(systemOf(req)) ? 'Yes, within 30 days [1].' : 'I do not know.'));
    const [adminPort, waPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
    adminUrl = `http://127.0.0.1:${adminPort}`;
    ingressUrl = `http://127.0.0.1:${waPort}`;
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      LOG_LEVEL: 'warn',
      SANDBOX: 'off',
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      ADMIN_PORT: String(adminPort),
      ADMIN_AUTH: 'off',
      WHATSAPP_PORT: String(waPort),
      WORKER_METRICS_PORT: String(metricsPort),
      API_KEYS: `ci:${API_KEY}`,
      WHATSAPP_APP_SECRET: APP_SECRET,
      WHATSAPP_VERIFY_TOKEN: 'kb-start-verify',
      WHATSAPP_ACCESS_TOKEN: 'kb-start-access-token',
      WHATSAPP_GRAPH_URL: graph.url,
      OPENAI_API_KEY: 'sk-start-kb',
      OPENAI_BASE_URL: openai.url,
      EMBEDDING_DIMENSIONS: '64',
      TURN_DEBOUNCE_MS: '100',
    };
    const started = Date.now();
    child = spawn(process.execPath, ['scripts/start.mjs', '--no-build', '--apps=admin,whatsapp-ingress,worker', `--store-dir=${storeDir}`], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: false });
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    exited = new Promise((done) => child.on('exit', (code) => done(code)));
    try {
      await waitFor(() => {
        if (child.exitCode !== null) throw new Error(`pnpm start exited (${child.exitCode})`);
        return /\[start\] ready: /.test(out);
      }, 150_000, 'pnpm start ready');
    } catch (err) {
      throw new Error(`${err instanceof Error ? err.message : String(err)}:\n${out}`, { cause: err });
    }
    process.stdout.write(`[start-knowledge] pnpm start ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await graph?.close();
    await openai?.close();
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
    rmSync(storeDir, { recursive: true, force: true });
  });

  const api = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${adminUrl}/api/v1/knowledge${path}`, { ...init, headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  test('a document added through the API becomes ready and a WhatsApp question gets a reply citing it', async () => {
    const t0 = Date.now();
    expect(out).toMatch(/\[start\] store: postgres:\/\/\S+ \(embedded, started in [\d.]+ s/);
    const created = await api('/documents', {
      method: 'POST',
      body: JSON.stringify({ title: 'Return policy', text: '# Returns\n\nUnworn shoes can be returned within 30 days of delivery for a full refund.' }),
    });
    expect(created.status).toBe(202);
    const id = String(created.body.id);
    expect(created.body).toEqual({ id: expect.stringMatching(/^doc_/), status: 'pending' });
    let doc: Record<string, unknown> = {};
    await waitFor(async () => {
      doc = (await api(`/documents/${id}`)).body;
      if (doc.status === 'failed') throw new Error(`the document failed: ${JSON.stringify(doc)}`);
      return doc.status === 'ready';
    }, 60_000, 'the document ready');
    expect(doc).toMatchObject({ id, title: 'Return policy', status: 'ready', chunks: 1, source: 'text' });

    const raw = JSON.stringify(whatsappTextDelivery({ waId: CUSTOMER, text: 'Can unworn shoes be returned?' }).payload);
    const res = await fetch(`${ingressUrl}/webhooks/whatsapp`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMeta(raw, APP_SECRET) }, body: raw });
    expect(res.status).toBe(200);
    await waitFor(() => graph.textsTo(CUSTOMER).length >= 1, 60_000, 'the WhatsApp reply');
    const reply = graph.textsTo(CUSTOMER).join('\n');
    expect(reply).toContain('within 30 days [1]');
    expect(reply).toMatch(/Sources:\n\[1\] Return policy/);
    // the model was given the document's chunk as source [1]; the question and the chunk were embedded (hybrid)
    expect(openai.requests.map(systemOf).join('\n')).toMatch(/\[1\] Return policy[^\n]*\nUnworn shoes can be returned within 30 days/);
    expect(openai.embeddingInputs.some((t) => t.includes('Unworn shoes'))).toBe(true);
    process.stdout.write(`[start-knowledge] document ready and question answered in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
