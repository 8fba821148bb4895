import { Redis } from 'ioredis';
import {
  dropPrefix,
  graphError,
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
  type SentMessage,
} from '@switchboard/testkit';
import { DeliveryLedger } from '@switchboard/queue';
import { startPipeline, type Pipeline } from './testing/harness';

jest.setTimeout(90_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PNID = '109876543210987';

/** The `sent` status webhook Meta posts for an accepted message, echoing `biz_opaque_callback_data`. */
function sentStatus(msg: SentMessage) {
  const to = String(msg.to ?? msg.recipient).replace(/^\+/, '');
  const status = { id: msg.wamid, status: 'sent', timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: to, biz_opaque_callback_data: msg.body.biz_opaque_callback_data };
  return { object: 'whatsapp_business_account', entry: [{ id: 'W', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { phone_number_id: PNID }, statuses: [status] } }] }] };
}

describe('WhatsApp: a send whose response is lost is reconciled through its status webhook', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ env: { WHATSAPP_RECONCILE_WAIT_MS: '3000' } });
  });
  afterAll(async () => {
    await p.close();
  });
  beforeEach(() => p.graph.reset());

  it('the status webhook arrives: the part is recorded as sent and not sent again', async () => {
    const attemptsBefore = p.graph.attempts();
    p.graph.loseResponses(1);
    const { payload } = whatsappTextDelivery({ waId: '15551700001', text: 'lost response question' });
    expect(await p.postWhatsApp(payload)).toBe(200);
    await waitFor(() => p.graph.sent.length === 1, 10_000, 'the send the gateway did not hear back from');
    // Meta posts the status a moment later; the worker retries meanwhile and must wait for it
    await sleep(300);
    expect(await p.postWhatsApp(sentStatus(p.graph.sent[0]!))).toBe(200);
    const outboundId = String(p.graph.sent[0]!.body.biz_opaque_callback_data).split('#')[0]!;
    await waitFor(async () => (await p.deps.ledger.progress(outboundId)).finished, 15_000, 'reply finished');
    await sleep(500);
    expect(p.graph.textsTo('15551700001')).toHaveLength(1);
    expect(p.graph.attempts() - attemptsBefore).toBe(1);
    const progress = await p.deps.ledger.progress(outboundId);
    expect(progress).toMatchObject({ sent: 1, finished: true, outcome: 'sent' });
    expect((await p.deps.ledger.get('whatsapp', p.graph.sent[0]!.wamid))?.outboundId).toBe(outboundId);
    expect(await p.deps.registry.metrics()).toMatch(/sb_outbound_sends_total\{channel="whatsapp",result="reconciled",code="acknowledged"[^}]*\} 1/);
  });

  it('no status webhook within WHATSAPP_RECONCILE_WAIT_MS: the part is sent again (at-least-once), not earlier', async () => {
    p.graph.loseResponses(1);
    const { payload } = whatsappTextDelivery({ waId: '15551700002', text: 'lost response, no status' });
    expect(await p.postWhatsApp(payload)).toBe(200);
    await waitFor(() => p.graph.sent.length === 1, 10_000, 'first send');
    const firstAt = Date.now();
    await waitFor(() => p.graph.textsTo('15551700002').length === 2, 20_000, 'the resend after the wait');
    expect(Date.now() - firstAt).toBeGreaterThanOrEqual(3000);
    await sleep(500);
    expect(p.graph.textsTo('15551700002')).toHaveLength(2);
  });

  it('an error the provider answered (Graph error body) is not reconciled: the retry sends at once', async () => {
    const resent = async () => Number(/result="resent"[^}]*\} (\d+)/.exec(await p.deps.registry.metrics())?.[1] ?? 0);
    const before = await resent();
    const attemptsBefore = p.graph.attempts();
    p.graph.failNext(1, graphError(2, 'Service temporarily unavailable', 503));
    const { payload } = whatsappTextDelivery({ waId: '15551700003', text: 'provider said 503 with its error body' });
    expect(await p.postWhatsApp(payload)).toBe(200);
    await waitFor(() => p.graph.textsTo('15551700003').length === 1, 10_000, 'reply after the retry');
    expect(p.graph.attempts() - attemptsBefore).toBe(2);
    expect(await resent()).toBe(before);
  });
});

describe('kill -9 between the provider accepting a part and the worker recording it (real processes)', () => {
  const prefix = uniquePrefix('reconcile');
  const SECRET = 'reconcile_secret';
  let graph: FakeGraph;
  let openai: FakeOpenAI;
  let ingress: AppProcess;
  let worker: AppProcess;
  let ingressUrl: string;
  let env: Record<string, string>;

  async function post(payload: unknown): Promise<number> {
    const raw = JSON.stringify(payload);
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${ingressUrl}/webhooks/whatsapp`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMeta(raw, SECRET) }, body: raw }).catch(() => undefined);
      if (res?.status === 200) return 200;
      await sleep(200);
    }
    return 0;
  }

  beforeAll(async () => {
    // like Meta: every accepted message is followed by its `sent` status webhook
    graph = await startFakeGraph({ onSent: (msg) => void sleep(100).then(() => post(sentStatus(msg))) });
    openai = await startFakeOpenAI();
    const [ip, wp] = [await freePort(), await freePort()];
    ingressUrl = `http://127.0.0.1:${ip}`;
    env = {
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'warn',
      WHATSAPP_APP_SECRET: SECRET,
      WHATSAPP_VERIFY_TOKEN: 'v',
      WHATSAPP_ACCESS_TOKEN: 'reconcile-token',
      WHATSAPP_GRAPH_URL: graph.url,
      OPENAI_API_KEY: 'sk-reconcile',
      OPENAI_BASE_URL: openai.url,
      TURN_DEBOUNCE_MS: '100',
      WORKER_LOCK_MS: '2000',
      WHATSAPP_PORT: String(ip),
      WORKER_METRICS_PORT: String(wp),
    };
    ingress = startApp('whatsapp-ingress', env);
    worker = startApp('worker', env);
    await waitForHttp(`${ingressUrl}/readyz`);
    await waitForHttp(`http://127.0.0.1:${wp}/readyz`);
  });

  afterAll(async () => {
    for (const c of [ingress, worker]) if (c && c.child.exitCode === null) c.child.kill('SIGKILL');
    await graph.close();
    await openai.close();
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
  });

  it('the recovered job finds the part acknowledged and the customer gets it once', async () => {
    // the send takes 1.5 s at the provider; the worker is killed while it is in flight
    graph.setDelay(1500);
    const sendRequests = () => graph.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/messages') && !(r.body as { status?: string })?.status).length;
    const { payload } = whatsappTextDelivery({ waId: '15551710001', text: 'kill me mid-send' });
    expect(await post(payload)).toBe(200);
    await waitFor(() => sendRequests() === 1, 20_000, 'the send reached the provider');
    worker.child.kill('SIGKILL');
    await worker.exited;
    await waitFor(() => graph.sent.length === 1, 5000, 'the provider performed the send');
    graph.setDelay(0);
    worker = startApp('worker', env);
    const outboundId = String(graph.sent[0]!.body.biz_opaque_callback_data).split('#')[0]!;
    const redis = new Redis(testRedisUrl());
    try {
      const ledger = new DeliveryLedger(redis, prefix);
      await waitFor(async () => (await ledger.progress(outboundId)).finished, 30_000, 'the recovered reply finished');
      await sleep(1000);
      expect(graph.textsTo('15551710001')).toHaveLength(1);
      expect(await ledger.progress(outboundId)).toMatchObject({ sent: 1, outcome: 'sent' });
    } finally {
      redis.disconnect();
    }
  });
});
