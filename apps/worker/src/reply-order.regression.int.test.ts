/**
 * Regression (issue 13, "Reply ordering in one atomic place"): the Chatwoot human-reply relay
 * enqueued its reply without a place in the conversation's order, so a human reply relayed while a
 * bot reply was still pending (here the handoff notice, waiting for a retry after a 503) went out
 * first. Every reply now goes through `enqueueReply`, which orders it after the conversation's
 * newest reply.
 */
import { conversationId, type InboundMessage } from '@switchboard/core';
import { enqueueReply } from '@switchboard/queue';
import { graphError, waitFor } from '@switchboard/testkit';
import { renderContent } from '@switchboard/agent';
import { chatwootRelayHook } from '@switchboard/channel-chatwoot/outbound';
import { setOwner } from './schedule';
import { startPipeline, type Pipeline } from './testing/harness';

jest.setTimeout(60_000);

describe('reply order across producers (regression)', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ roles: ['outbound'] });
  });
  afterAll(async () => {
    await p?.close();
  });

  it('a human reply relayed while a bot reply is pending is sent after it', async () => {
    const user = '15552800001';
    const ref = { channel: 'whatsapp' as const, account: '109876543210987', userId: user, address: user };
    // the bot's handoff notice: its first send attempt fails (503), its retry comes about a second later
    p.graph.failNext(1, graphError(2, 'Service temporarily unavailable', 503));
    const attemptsBefore = p.graph.attempts();
    await enqueueReply(p.deps, ref, { outboundId: 'bot-notice-1', reply: { text: 'A colleague will take over.' }, origin: 'notice' });
    await waitFor(() => p.graph.attempts() > attemptsBefore, 10_000, 'first attempt of the bot reply');

    // meanwhile a human agent answers in the Chatwoot mirror inbox
    const now = Date.now();
    const human: InboundMessage = {
      kind: 'message',
      eventId: 'cw-human-9001',
      providerMessageId: 'chatwoot:77:9001',
      conversation: ref,
      sentAt: now,
      receivedAt: now,
      content: { type: 'text', text: 'Hi, Maria here.' },
      author: 'human_agent',
    };
    const relay = chatwootRelayHook({ ...p.deps, setOwner: (c, owner, reason) => setOwner(p.deps, c, owner, reason), renderText: renderContent });
    expect(await relay(human)).toBe(true);

    await waitFor(() => p.graph.textsTo(user).length === 2, 20_000, 'both replies sent');
    expect(p.graph.textsTo(user)).toEqual(['A colleague will take over.', 'Hi, Maria here.']);
    // the relayed reply was placed after the pending one, atomically
    const job = await p.deps.producers.queue('outbound-whatsapp').getJob('human-cw-human-9001');
    expect(job?.data.after).toBe('bot-notice-1');
    expect(await p.deps.redis.get(p.deps.keys.lastReply(conversationId(ref)))).toBe(job?.id);
  });

  it('enqueueReply is idempotent per reply: a retried producer keeps its place', async () => {
    const ref = { channel: 'whatsapp' as const, account: '109876543210987', userId: '15552800002', address: '15552800002' };
    const a = await enqueueReply(p.deps, ref, { outboundId: 'order-a', reply: { text: 'a' }, origin: 'agent' });
    const b = await enqueueReply(p.deps, ref, { outboundId: 'order-b', reply: { text: 'b' }, origin: 'agent' });
    const aAgain = await enqueueReply(p.deps, ref, { outboundId: 'order-a', reply: { text: 'a' }, origin: 'agent' });
    const c = await enqueueReply(p.deps, ref, { outboundId: 'order-c', reply: { text: 'c' }, origin: 'agent' });
    expect([a.after, b.after, aAgain.after, c.after]).toEqual([undefined, 'order-a', undefined, 'order-b']);
    await waitFor(() => p.graph.textsTo('15552800002').length === 3, 20_000, 'three replies');
    expect(p.graph.textsTo('15552800002')).toEqual(['a', 'b', 'c']);
  });
});
