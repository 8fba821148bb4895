import { Queue } from 'bullmq';
import { graphError, waitFor, whatsappTextDelivery } from '@switchboard/testkit';
import { startPipeline, type Pipeline } from './testing/harness';

jest.setTimeout(60_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WhatsApp end to end (real Redis, fake Graph API and OpenAI)', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline();
  });
  afterAll(async () => {
    await p.close();
  });
  beforeEach(() => {
    p.graph.reset();
  });

  it('a signed webhook produces one reply, sent with the access token after a read receipt with typing', async () => {
    const { payload, wamid } = whatsappTextDelivery({ waId: '15551230001', text: 'Where is my parcel 42?' });
    expect(await p.postWhatsApp(payload)).toBe(200);
    await waitFor(() => p.graph.sent.length === 1, 10_000, 'one reply');
    const sent = p.graph.sent[0]!;
    expect(sent.to).toBe('+15551230001');
    expect(sent.authorization).toBe('Bearer harness-access-token');
    expect((sent.body as { text: { body: string } }).text.body).toContain('Where is my parcel 42?');
    expect(p.graph.reads).toEqual([{ phoneNumberId: '109876543210987', messageId: wamid, typing: true }]);
    expect(String(sent.body.biz_opaque_callback_data)).toMatch(/^out-/);
  });

  it('three concurrent copies of one delivery produce one reply', async () => {
    const { payload } = whatsappTextDelivery({ waId: '15551230002', text: 'Question about invoice 7' });
    const statuses = await Promise.all([1, 2, 3].map(() => p.postWhatsApp(payload)));
    expect(statuses).toEqual([200, 200, 200]);
    await waitFor(() => p.graph.sent.length >= 1, 10_000, 'a reply');
    await sleep(1500);
    expect(p.graph.textsTo('15551230002')).toHaveLength(1);
  });

  it('a redelivery after the first copy was fully processed is not answered again', async () => {
    const { payload } = whatsappTextDelivery({ waId: '15551230003', text: 'Is the shop open on Sunday afternoon?' });
    await p.postWhatsApp(payload);
    await waitFor(() => p.graph.textsTo('15551230003').length === 1, 10_000, 'first reply');
    // remove the finished jobs so only the durable dedupe claim can stop the copy
    const inbound = new Queue('inbound', { connection: p.deps.redis, prefix: p.prefix });
    await inbound.clean(0, 1000, 'completed');
    await inbound.close();
    expect(await p.postWhatsApp(payload)).toBe(200);
    await sleep(1500);
    expect(p.graph.textsTo('15551230003')).toHaveLength(1);
  });

  it('a batch of two entries and three users gives three replies, one per user', async () => {
    const msg = (from: string, id: string, body: string) => ({ from, id, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body } });
    const payload = {
      object: 'whatsapp_business_account',
      entry: [
        {
          id: 'WABA1',
          changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { phone_number_id: '109876543210987' }, contacts: [{ wa_id: '15551240001', profile: { name: 'A' } }, { wa_id: '15551240002', profile: { name: 'B' } }], messages: [msg('15551240001', `wamid.B1${Date.now()}`, 'alpha question'), msg('15551240002', `wamid.B2${Date.now()}`, 'beta question')] } }],
        },
        {
          id: 'WABA1',
          changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { phone_number_id: '109876543210987' }, contacts: [{ user_id: 'US.99887766', profile: { username: '@gamma' } }], messages: [{ from_user_id: 'US.99887766', id: `wamid.B3${Date.now()}`, type: 'text', text: { body: 'gamma question' } }] } }],
        },
      ],
    };
    expect(await p.postWhatsApp(payload)).toBe(200);
    await waitFor(() => p.graph.sent.length === 3, 10_000, 'three replies');
    expect(p.graph.textsTo('15551240001')[0]).toContain('alpha');
    expect(p.graph.textsTo('15551240002')[0]).toContain('beta');
    const gamma = p.graph.sent.find((m) => m.recipient === 'US.99887766');
    expect(gamma).toBeDefined();
  });

  it('a burst of three messages is answered as one turn that sees them in order', async () => {
    p.openai.setReply((req) => {
      const users = req.messages.filter((m) => m.role === 'user').map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content)));
      return `saw: ${users[users.length - 1]}`;
    });
    for (const text of ['first part', 'second part', 'third part']) {
      const { payload } = whatsappTextDelivery({ waId: '15551250001', text });
      expect(await p.postWhatsApp(payload)).toBe(200);
      await sleep(30);
    }
    await waitFor(() => p.graph.textsTo('15551250001').length >= 1, 10_000, 'burst reply');
    await sleep(1000);
    const replies = p.graph.textsTo('15551250001');
    expect(replies).toHaveLength(1);
    const reply = replies[0]!;
    expect(reply.indexOf('first part')).toBeGreaterThanOrEqual(0);
    expect(reply.indexOf('first part')).toBeLessThan(reply.indexOf('second part'));
    expect(reply.indexOf('second part')).toBeLessThan(reply.indexOf('third part'));
    p.openai.setReply((req) => `fake reply to: ${String([...req.messages].reverse().find((m) => m.role === 'user')?.content ?? '')}`);
  });

  it('130429 once → exactly one delivered reply', async () => {
    p.graph.failNext(1, graphError(130429, '(#130429) Rate limit hit'));
    const { payload } = whatsappTextDelivery({ waId: '15551260001', text: 'rate limited question' });
    await p.postWhatsApp(payload);
    await waitFor(() => p.graph.textsTo('15551260001').length === 1, 20_000, 'reply after rate limit');
    await sleep(1000);
    expect(p.graph.textsTo('15551260001')).toHaveLength(1);
  });

  it('a 9,000-character answer goes out as ordered parts ≤ 4096, resuming without duplicates after a failure mid-way', async () => {
    const sentences = Array.from({ length: 200 }, (_, i) => `Sentence ${String(i).padStart(3, '0')} of the long answer.`);
    const long = sentences.join(' ').repeat(2).slice(0, 9000);
    p.openai.setReply(() => long);
    // the second part fails once with a temporary error: the retry must resume at part 2, not resend part 1
    const attemptsBefore = p.graph.attempts();
    p.graph.failAttempt(2, graphError(131000, 'Something went wrong', 500));
    const { payload } = whatsappTextDelivery({ waId: '15551270001', text: 'tell me everything' });
    await p.postWhatsApp(payload);
    await waitFor(() => p.graph.textsTo('15551270001').join(' ').length >= 8900, 30_000, 'all parts');
    await sleep(500);
    const parts = p.graph.textsTo('15551270001');
    expect(parts.length).toBeGreaterThanOrEqual(3);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(4096);
    expect(new Set(parts).size).toBe(parts.length);
    expect(parts.join(' ').replace(/\s+/g, ' ')).toBe(long.trim().replace(/\s+/g, ' '));
    expect(p.graph.attempts() - attemptsBefore).toBe(parts.length + 1);
    p.openai.setReply((req) => `fake reply to: ${String([...req.messages].reverse().find((m) => m.role === 'user')?.content ?? '')}`);
  });

  it('131047 without a fallback template fails the reply with the reason and does not retry', async () => {
    p.graph.failNext(1, graphError(131047, '(#131047) Re-engagement message'));
    const { payload } = whatsappTextDelivery({ waId: '15551280001', text: 'late question after a day' });
    await p.postWhatsApp(payload);
    const q = new Queue('outbound-whatsapp', { connection: p.deps.redis, prefix: p.prefix });
    await waitFor(async () => (await q.getFailed()).some((j) => String(j.failedReason).includes('131047')), 10_000, 'failed job with reason');
    const failed = (await q.getFailed()).find((j) => String(j.failedReason).includes('131047'))!;
    expect(failed.attemptsMade).toBe(1);
    await q.close();
    expect(p.graph.textsTo('15551280001')).toHaveLength(0);
  });

  it('delivery statuses update the ledger monotonically', async () => {
    const { payload } = whatsappTextDelivery({ waId: '15551290001', text: 'status tracking question' });
    await p.postWhatsApp(payload);
    await waitFor(() => p.graph.sent.length === 1, 10_000, 'reply');
    const wamid = p.graph.sent[0]!.wamid;
    const status = (s: string) => ({
      object: 'whatsapp_business_account',
      entry: [{ id: 'W', changes: [{ field: 'messages', value: { metadata: { phone_number_id: '109876543210987' }, statuses: [{ id: wamid, status: s, timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: '15551290001' }] } }] }],
    });
    await p.postWhatsApp(status('read'));
    await p.postWhatsApp(status('delivered'));
    await waitFor(async () => (await p.deps.ledger.get('whatsapp', wamid))?.status === 'read', 10_000, 'read status');
    await sleep(300);
    expect((await p.deps.ledger.get('whatsapp', wamid))?.status).toBe('read');
  });
});

describe('WhatsApp fallback template and allowlist', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ env: { WHATSAPP_FALLBACK_TEMPLATE: 'hello_again:en_US', WHATSAPP_ALLOWED_USERS: '15551300001,15551300003', WHATSAPP_DISALLOWED_POLICY: 'refuse' } });
  });
  afterAll(async () => {
    await p.close();
  });

  it('131047 sends the configured template once', async () => {
    p.graph.failNext(1, graphError(131047, '(#131047) Re-engagement message'));
    const { payload } = whatsappTextDelivery({ waId: '15551300001', text: 'question outside the window' });
    await p.postWhatsApp(payload);
    await waitFor(() => p.graph.sent.some((m) => m.type === 'template'), 10_000, 'template');
    await sleep(800);
    const templates = p.graph.sent.filter((m) => m.type === 'template');
    expect(templates).toHaveLength(1);
    expect(templates[0]!.body.template).toEqual({ name: 'hello_again', language: { code: 'en_US' } });
  });

  it('users outside the allowlist get one polite refusal, never an agent reply', async () => {
    const before = p.openai.requests.length;
    for (const text of ['first try from stranger', 'second try from stranger']) {
      const { payload } = whatsappTextDelivery({ waId: '15551300002', text });
      await p.postWhatsApp(payload);
      await sleep(400);
    }
    await waitFor(() => p.graph.textsTo('15551300002').length === 1, 10_000, 'refusal');
    await sleep(800);
    expect(p.graph.textsTo('15551300002')).toEqual(['Sorry, this assistant is not available for your number.']);
    expect(p.openai.requests.length).toBe(before);
  });
});

describe('WhatsApp dead-letter replay', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline();
  });
  afterAll(async () => {
    await p.close();
  });

  it('a reply that failed for good can be replayed from the failed set and is then sent once', async () => {
    p.graph.failNext(1, graphError(131026, '(#131026) Message undeliverable'));
    const { payload } = whatsappTextDelivery({ waId: '15551310001', text: 'question that first fails' });
    await p.postWhatsApp(payload);
    const q = new Queue('outbound-whatsapp', { connection: p.deps.redis, prefix: p.prefix });
    await waitFor(async () => (await q.getFailed()).length === 1, 10_000, 'failed reply');
    const [failed] = await q.getFailed();
    expect(failed!.failedReason).toContain('131026');
    await failed!.retry('failed');
    await waitFor(() => p.graph.textsTo('15551310001').length === 1, 10_000, 'replayed reply');
    await sleep(500);
    expect(p.graph.textsTo('15551310001')).toHaveLength(1);
    await q.close();
  });
});
