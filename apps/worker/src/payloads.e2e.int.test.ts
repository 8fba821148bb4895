import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conversationId } from '@switchboard/core';
import { setConversationOwner } from '@switchboard/queue';
import { waitFor, whatsappFixtureFor, whatsappTextDelivery, type FakeChatRequest } from '@switchboard/testkit';
import { startPipeline, type Pipeline } from './testing/harness';

jest.setTimeout(90_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let seq = 0;
const newWaId = () => `1555${String(Date.now()).slice(-6)}${String(++seq).padStart(2, '0')}`;

function userText(req: FakeChatRequest): string {
  return req.messages
    .filter((m) => m.role === 'user')
    .map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content)))
    .join('\n');
}

/** Every prompt the fake LLM got that mentions `marker` in a user message. */
function promptsWith(p: Pipeline, marker: string): string[] {
  return p.openai.requests.map(userText).filter((t) => t.includes(marker));
}

async function unsupportedCount(p: Pipeline): Promise<number> {
  const metric = await p.deps.registry.getSingleMetric('sb_unsupported_events_total')?.get();
  return (metric?.values ?? []).reduce((sum, v) => sum + v.value, 0);
}

/**
 * Issue 12 §6 through the real pipeline (WhatsApp ingress → accept → inbound/turn/outbound roles,
 * real Redis, fake Graph API and fake OpenAI), fed with payloads in the shapes Meta documents.
 */
describe('real WhatsApp payloads, default agent configuration', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline();
  });
  afterAll(async () => {
    await p.close();
  });

  it('unsupported, unknown, revoke and an interactive without body: acknowledged and counted, no LLM call, no reply', async () => {
    const users = ['10-unsupported-poll.json', '11-unknown-type.json', '12-revoke.json', '13-interactive-without-body.json'].map((name) => ({ name, waId: newWaId() }));
    const llmBefore = p.openai.calls.length;
    const countBefore = await unsupportedCount(p);
    for (const u of users) expect(await p.postWhatsApp(whatsappFixtureFor(u.name, { waId: u.waId, originalId: 'wamid.ORIGINAL' }).payload)).toBe(200);
    await waitFor(async () => (await unsupportedCount(p)) - countBefore === 4, 10_000, 'four unsupported events counted');
    await sleep(1000);
    for (const u of users) expect(p.graph.textsTo(u.waId)).toEqual([]);
    expect(p.openai.calls.length).toBe(llmBefore);
    // the notice is off by default: nothing was sent to anyone
    expect(p.graph.sent.filter((m) => users.some((u) => m.to === `+${u.waId}` || m.recipient === u.waId))).toEqual([]);
  });

  it('a 300 KB answer becomes at most 5 WhatsApp messages, the last one ending with the shortened note', async () => {
    const waId = newWaId();
    const huge = Array.from({ length: 6000 }, (_, i) => `Paragraph ${i}: here is a long and detailed explanation of everything.`).join('\n\n').slice(0, 300_000);
    p.openai.setReply(() => huge);
    try {
      await p.postWhatsApp(whatsappTextDelivery({ waId, text: 'Tell me absolutely everything about your catalogue' }).payload);
      await waitFor(() => p.graph.textsTo(waId).length === 5, 20_000, 'five parts');
      await sleep(1500);
      const texts = p.graph.textsTo(waId);
      expect(texts).toHaveLength(5);
      expect(texts[4]!.endsWith('(message shortened)')).toBe(true);
      for (const t of texts) expect(t.length).toBeLessThanOrEqual(4096);
    } finally {
      p.openai.setReply((req) => `fake reply to: ${String([...req.messages].reverse().find((m) => m.role === 'user')?.content ?? '')}`);
    }
  });
});

describe('real WhatsApp payloads, notice on and a short first-reply budget', () => {
  let p: Pipeline;
  const NOTICE = 'I cannot read that kind of message, please write it as text.';
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-payloads-'));
    const config = join(dir, 'agent.json');
    writeFileSync(config, JSON.stringify({ unsupportedContent: { notice: true }, messages: { unsupported: NOTICE, apology: 'Sorry, technical trouble. Please try again.' }, llm: { firstReplyBudgetMs: 1500, maxAttempts: 1 } }));
    p = await startPipeline({ env: { AGENT_CONFIG: config, TURN_DEBOUNCE_MS: '1200', TURN_MAX_WAIT_MS: '3000' } });
  });
  afterAll(async () => {
    await p.close();
  });

  it('genuine unsupported content gets the notice once per conversation; a deleted message never does', async () => {
    const waId = newWaId();
    const llmBefore = p.openai.calls.length;
    await p.postWhatsApp(whatsappFixtureFor('10-unsupported-poll.json', { waId }).payload);
    await waitFor(() => p.graph.textsTo(waId).length === 1, 10_000, 'the notice');
    await p.postWhatsApp(whatsappFixtureFor('11-unknown-type.json', { waId }).payload);
    await p.postWhatsApp(whatsappFixtureFor('10-unsupported-poll.json', { waId }).payload);
    const other = newWaId();
    await p.postWhatsApp(whatsappFixtureFor('12-revoke.json', { waId: other, originalId: 'wamid.GONE' }).payload);
    await sleep(2000);
    expect(p.graph.textsTo(waId)).toEqual([NOTICE]);
    expect(p.graph.textsTo(other)).toEqual([]);
    expect(p.openai.calls.length).toBe(llmBefore);
  });

  it('no notice while a human owns the conversation', async () => {
    const waId = newWaId();
    const convId = conversationId({ channel: 'whatsapp', account: '109876543210987', userId: waId });
    await setConversationOwner(p.deps.redis, p.prefix, convId, 'human', 'test');
    const before = await unsupportedCount(p);
    await p.postWhatsApp(whatsappFixtureFor('10-unsupported-poll.json', { waId }).payload);
    await waitFor(async () => (await unsupportedCount(p)) > before, 10_000, 'counted');
    await sleep(1000);
    expect(p.graph.textsTo(waId)).toEqual([]);
  });

  it('an edit of a message still in the pending turn replaces it: one answer, to the edited text', async () => {
    const waId = newWaId();
    const original = whatsappTextDelivery({ waId, text: 'Where is my parcel, order 7001?' });
    await p.postWhatsApp(original.payload);
    await p.postWhatsApp(whatsappFixtureFor('14-edit-text.json', { waId, originalId: original.wamid }).payload);
    await waitFor(() => p.graph.textsTo(waId).length === 1, 15_000, 'one reply');
    await sleep(1500);
    expect(p.graph.textsTo(waId)).toHaveLength(1);
    const prompts = promptsWith(p, 'Sorry, I meant order #4822');
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).not.toContain('order 7001');
    expect(promptsWith(p, 'order 7001')).toEqual([]);
  });

  it('an edit of a message that was already answered is a new message marked as edited', async () => {
    const waId = newWaId();
    const original = whatsappTextDelivery({ waId, text: 'Do you ship to Lisbon, order 7002?' });
    await p.postWhatsApp(original.payload);
    await waitFor(() => p.graph.textsTo(waId).length === 1, 15_000, 'first reply');
    await p.postWhatsApp(whatsappFixtureFor('14-edit-text.json', { waId, originalId: original.wamid }).payload);
    await waitFor(() => p.graph.textsTo(waId).length === 2, 15_000, 'reply to the edit');
    expect(promptsWith(p, '[edited an earlier message] Sorry, I meant order #4822').length).toBeGreaterThanOrEqual(1);
  });

  it('a WhatsApp Flow reply reaches the LLM as its submitted fields, without flow_token', async () => {
    const waId = newWaId();
    await p.postWhatsApp(whatsappFixtureFor('15-nfm-reply-flow.json', { waId }).payload);
    await waitFor(() => p.graph.textsTo(waId).length === 1, 15_000, 'reply');
    const [prompt] = promptsWith(p, 'appointment_date: 2026-12-05');
    expect(prompt).toContain('[submitted a form]');
    expect(prompt).toContain('notes: Window seat please');
    expect(prompt).not.toContain('ft_9f8e7d');
  });

  it('a Click-to-WhatsApp referral reaches the LLM as context', async () => {
    const waId = newWaId();
    await p.postWhatsApp(whatsappFixtureFor('16-referral-ctwa.json', { waId }).payload);
    await waitFor(() => p.graph.textsTo(waId).length === 1, 15_000, 'reply');
    const [prompt] = promptsWith(p, 'Winter sale: 30% off all boots');
    expect(prompt).toContain('The customer came from an ad');
    expect(prompt).toContain('https://fb.me/3xAmPlEaD');
    expect(prompt).toContain('Hi, is this still available?');
  });

  it('a hanging LLM: the apology arrives within the first-reply budget and the late answer is never sent', async () => {
    const waId = newWaId();
    p.openai.setDelay(6000);
    try {
      await p.postWhatsApp(whatsappTextDelivery({ waId, text: 'Hello, can you check order 7003 for me?' }).payload);
      // the first reply is the apology, not the model's answer: the turn gave up at its budget
      // (1.5 s) instead of waiting for the 6 s model (no wall-clock bound: a loaded CI machine is slow)
      await waitFor(() => p.graph.textsTo(waId).length === 1, 20_000, 'the apology');
      expect(p.graph.textsTo(waId)).toEqual(['Sorry, technical trouble. Please try again.']);
      await sleep(7000);
      expect(p.graph.textsTo(waId)).toHaveLength(1);
    } finally {
      p.openai.setDelay(0);
    }
  });
});
