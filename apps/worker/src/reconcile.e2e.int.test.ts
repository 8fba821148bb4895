import { graphError, waitFor, whatsappStatusDelivery, whatsappTextDelivery } from '@switchboard/testkit';
import { startPipeline, type Pipeline } from './testing/harness';

// the kill -9 case (a worker killed while its send is at the provider) runs in process.int.test.ts

jest.setTimeout(60_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WhatsApp: a send whose response is lost is reconciled through its status webhook', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ env: { WHATSAPP_RECONCILE_WAIT_MS: '3000', WHATSAPP_SEND_TIMEOUT_MS: '1000' } });
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
    expect(await p.postWhatsApp(whatsappStatusDelivery(p.graph.sent[0]!))).toBe(200);
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
    // both times as Graph saw them (the test's polling would add up to its own interval to the first)
    const sendTimes = () => p.graph.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/messages') && String((r.body as { to?: string } | undefined)?.to).replace(/^\+/, '') === '15551700002').map((r) => r.at);
    await waitFor(() => p.graph.textsTo('15551700002').length === 2, 20_000, 'the resend after the wait');
    const [firstAt, resentAt] = sendTimes();
    expect(resentAt! - firstAt!).toBeGreaterThanOrEqual(3000);
    await sleep(500);
    expect(p.graph.textsTo('15551700002')).toHaveLength(2);
  });

  it('a send that outlasts WHATSAPP_SEND_TIMEOUT_MS but is performed by Graph is confirmed by its status webhook, not sent again', async () => {
    const reconciled = async () => Number(/result="reconciled",code="acknowledged"[^}]*\} (\d+)/.exec(await p.deps.registry.metrics())?.[1] ?? 0);
    const reconciledBefore = await reconciled();
    const attemptsBefore = p.graph.attempts();
    // Graph takes 2.5 s to answer: the gateway gives up after 1 s, Graph still performs the send
    p.graph.setDelay(2500);
    const { payload } = whatsappTextDelivery({ waId: '15551700004', text: 'slow graph question' });
    expect(await p.postWhatsApp(payload)).toBe(200);
    await waitFor(() => p.graph.sent.length === 1, 10_000, 'the slow send performed by Graph');
    p.graph.setDelay(0);
    expect(await p.postWhatsApp(whatsappStatusDelivery(p.graph.sent[0]!))).toBe(200);
    const outboundId = String(p.graph.sent[0]!.body.biz_opaque_callback_data).split('#')[0]!;
    await waitFor(async () => (await p.deps.ledger.progress(outboundId)).finished, 15_000, 'reply finished');
    await sleep(500);
    expect(p.graph.textsTo('15551700004')).toHaveLength(1);
    expect(p.graph.attempts() - attemptsBefore).toBe(1);
    expect(await p.deps.ledger.progress(outboundId)).toMatchObject({ sent: 1, finished: true, outcome: 'sent' });
    // it went through the reconciliation (the 1 s send timeout applied), not as a plain success
    expect(await reconciled()).toBe(reconciledBefore + 1);
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
