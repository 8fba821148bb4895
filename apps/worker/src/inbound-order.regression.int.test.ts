/**
 * Regression (found by `pnpm soak`, "order violations"): the inbound role runs with concurrency, so
 * two messages of one conversation that the ingress accepted one after the other (the second was
 * only sent after the first got its 200) can reach the mailbox in the opposite order. The turn then
 * gives them to the agent in mailbox order, i.e. reversed: in the soak a reply acknowledged
 * `[0,2,1,3]`. The turn should order its messages by when the gateway received them
 * (`receivedAt`, then the provider's `sentAt`), not by mailbox position.
 */
import type { InboundMessage } from '@switchboard/core';
import { waitFor } from '@switchboard/testkit';
import { handleInbound } from './roles/inbound';
import { startPipeline, type Pipeline } from './testing/harness';

jest.setTimeout(30_000);

describe('message order inside a turn (regression)', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ roles: ['agent', 'outbound'], env: { TURN_DEBOUNCE_MS: '300', TURN_MAX_WAIT_MS: '2000' } });
  });
  afterAll(async () => {
    await p?.close();
  });

  it('two messages accepted in order but consumed in reverse reach the agent in the order they were received', async () => {
    const ref = { channel: 'whatsapp' as const, account: '109876543210987', userId: '15552900001', address: '15552900001' };
    const t0 = Date.now();
    const msg = (n: number, text: string): InboundMessage => ({
      kind: 'message',
      eventId: `wa-109876543210987-wamid.ORDER${t0}x${n}`,
      providerMessageId: `wamid.ORDER${t0}x${n}`,
      conversation: ref,
      sentAt: Math.floor(t0 / 1000) * 1000,
      receivedAt: t0 + n * 40,
      content: { type: 'text', text },
      author: 'customer',
    });
    // the inbound consumer happened to process the second message first
    await handleInbound(p.deps, msg(2, 'second message'));
    await handleInbound(p.deps, msg(1, 'first message'));
    await waitFor(() => p.openai.requests.length >= 1, 15_000, 'LLM call');
    const last = [...(p.openai.requests[0]?.messages ?? [])].reverse().find((m) => m.role === 'user');
    const text = typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content);
    expect(text.indexOf('first message')).toBeGreaterThanOrEqual(0);
    expect(text.indexOf('second message')).toBeGreaterThan(text.indexOf('first message'));
  });
});
