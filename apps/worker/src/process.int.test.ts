import { Redis } from 'ioredis';
import { DeliveryLedger } from '@switchboard/queue';
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
  whatsappStatusDelivery,
  whatsappTextDelivery,
  type AppProcess,
  type FakeGraph,
  type FakeOpenAI,
} from '@switchboard/testkit';

jest.setTimeout(90_000);

const SECRET = 'process_test_secret';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('real processes: whatsapp-ingress + worker', () => {
  const prefix = uniquePrefix('proc');
  let graph: FakeGraph;
  let openai: FakeOpenAI;
  let ingress: AppProcess;
  let worker: AppProcess;
  let ingressUrl: string;
  let workerUrl: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    // like Meta: every accepted message is followed by its `sent` status webhook
    graph = await startFakeGraph({ onSent: (msg) => void sleep(100).then(() => post(whatsappStatusDelivery(msg))) });
    openai = await startFakeOpenAI();
    const [ip, wp] = [await freePort(), await freePort()];
    ingressUrl = `http://127.0.0.1:${ip}`;
    workerUrl = `http://127.0.0.1:${wp}`;
    env = {
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'info',
      WHATSAPP_APP_SECRET: SECRET,
      WHATSAPP_VERIFY_TOKEN: 'v',
      WHATSAPP_ACCESS_TOKEN: 'process-token',
      WHATSAPP_GRAPH_URL: graph.url,
      OPENAI_API_KEY: 'sk-process',
      OPENAI_BASE_URL: openai.url,
      TURN_DEBOUNCE_MS: '100',
      // jobs of a killed worker are recovered within ~2 s
      WORKER_LOCK_MS: '2000',
      WHATSAPP_PORT: String(ip),
      WORKER_METRICS_PORT: String(wp),
    };
    ingress = startApp('whatsapp-ingress', env);
    worker = startApp('worker', env);
    await waitForHttp(`${ingressUrl}/readyz`);
    await waitForHttp(`${workerUrl}/readyz`);
  });

  afterAll(async () => {
    for (const p of [ingress, worker]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
    await graph.close();
    await openai.close();
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
  });

  async function post(payload: unknown): Promise<number> {
    const raw = JSON.stringify(payload);
    const res = await fetch(`${ingressUrl}/webhooks/whatsapp`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMeta(raw, SECRET) }, body: raw }).catch(() => undefined);
    return res?.status ?? 0;
  }

  it('answers a customer through the real processes and exposes worker metrics', async () => {
    const { payload } = whatsappTextDelivery({ waId: '15551500001', text: 'process level question' });
    expect(await post(payload)).toBe(200);
    await waitFor(() => graph.textsTo('15551500001').length === 1, 20_000, 'reply');
    const metrics = await (await fetch(`${workerUrl}/metrics`)).text();
    expect(metrics).toContain('sb_turns_total');
    expect(metrics).toContain('sb_outbound_sends_total');
  });

  it('the logs are JSON with service names and no message text or raw phone numbers', () => {
    const lines = (ingress.output() + worker.output()).split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    const all = ingress.output() + worker.output();
    expect(all).not.toContain('process level question');
    expect(all).not.toContain('15551500001');
    expect(all).not.toContain('process-token');
  });

  it('a channel without settings (Telegram: no TELEGRAM_BOT_TOKEN) is disabled with one warning naming what is missing', () => {
    const disabled = worker
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level?: string; message?: string; channel?: string; missing?: string[] })
      .filter((e) => e.level === 'warn' && /disabled: missing settings$/.test(e.message ?? ''));
    expect(disabled.filter((e) => e.channel === 'telegram')).toEqual([expect.objectContaining({ message: 'Telegram disabled: missing settings', missing: ['TELEGRAM_BOT_TOKEN'] })]);
    expect(disabled.filter((e) => e.channel === 'whatsapp')).toEqual([]);
  });

  it('kill -9 while a send is at the provider: the recovered job finds the part acknowledged by its status webhook and sends it once', async () => {
    // the send takes 1.5 s at the provider; the worker is killed while it is in flight
    graph.setDelay(1500);
    const sendRequests = () => graph.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/messages') && !(r.body as { status?: string } | undefined)?.status).length;
    const before = sendRequests();
    const sentBefore = graph.sent.length;
    const { payload } = whatsappTextDelivery({ waId: '15551500003', text: 'kill me mid-send' });
    expect(await post(payload)).toBe(200);
    await waitFor(() => sendRequests() > before, 20_000, 'the send reached the provider');
    worker.child.kill('SIGKILL');
    await worker.exited;
    await waitFor(() => graph.sent.length > sentBefore, 5000, 'the provider performed the send');
    graph.setDelay(0);
    worker = startApp('worker', env);
    const outboundId = String(graph.sent.at(-1)!.body.biz_opaque_callback_data).split('#')[0]!;
    const redis = new Redis(testRedisUrl());
    try {
      const ledger = new DeliveryLedger(redis, prefix);
      await waitFor(async () => (await ledger.progress(outboundId)).finished, 30_000, 'the recovered reply finished');
      await sleep(1000);
      expect(graph.textsTo('15551500003')).toHaveLength(1);
      expect(await ledger.progress(outboundId)).toMatchObject({ sent: 1, outcome: 'sent' });
    } finally {
      redis.disconnect();
    }
    await waitForHttp(`${workerUrl}/readyz`);
  });

  it('SIGTERM: the worker finishes the turn in flight and exits 0; the ingress exits 0', async () => {
    openai.setDelay(1500);
    const llmCalls = () => openai.calls.filter((c) => c.path.endsWith('/chat/completions')).length;
    const before = llmCalls();
    const { payload } = whatsappTextDelivery({ waId: '15551500002', text: 'slow question during shutdown' });
    expect(await post(payload)).toBe(200);
    await waitFor(() => llmCalls() > before, 20_000, 'LLM call started');
    worker.child.kill('SIGTERM');
    ingress.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(await ingress.exited).toBe(0);
    expect(graph.textsTo('15551500002')).toHaveLength(1);
  });
});
