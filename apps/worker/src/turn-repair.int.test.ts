/**
 * A conversation whose turn is pending but whose turn job is gone (the job add was lost after the
 * message was answered 200) used to wait for the customer's next message, or forever: the soak once
 * ended with such a Chatwoot conversation. The agent role's sweep schedules it again.
 */
import { conversationId, type InboundMessage } from '@switchboard/core';
import { turnJobId } from '@switchboard/queue';
import { waitFor } from '@switchboard/testkit';
import { startPipeline, type Pipeline } from './testing/harness';
import { repairOrphanTurns } from './turn-repair';

jest.setTimeout(60_000);

describe('pending turns without a job', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ roles: ['agent', 'outbound'] });
  });
  afterAll(async () => {
    await p?.close();
  });

  const message = (user: string, n: number, at: number): InboundMessage => ({
    kind: 'message',
    eventId: `wa-109876543210987-wamid.REPAIR${user}x${n}`,
    providerMessageId: `wamid.REPAIR${user}x${n}`,
    conversation: { channel: 'whatsapp', account: '109876543210987', userId: user, address: user },
    sentAt: Math.floor(at / 1000) * 1000,
    receivedAt: at,
    content: { type: 'text', text: `question ${n}` },
    author: 'customer',
  });

  it('schedules a pending turn whose job was lost, once, and leaves a fresh pending turn alone', async () => {
    const now = Date.now();
    const orphan = message('15553100001', 1, now - 60_000);
    const orphanConv = conversationId(orphan.conversation);
    // accepted (claimed, in the mailbox, turn 1 pending) a minute ago, but its job add was lost
    const accepted = await p.deps.mailbox.accept(orphanConv, orphan.eventId, JSON.stringify(orphan), now - 60_000);
    expect(accepted).toEqual({ claimed: true, scheduleSeq: 1 });
    // a message accepted just now whose job add is still on its way: not the sweep's business yet
    const fresh = message('15553100002', 1, now);
    const freshConv = conversationId(fresh.conversation);
    await p.deps.mailbox.accept(freshConv, fresh.eventId, JSON.stringify(fresh), now);
    const turns = p.deps.producers.queue('turn');
    expect(await turns.getJobState(turnJobId(orphanConv, 1))).toBe('unknown');

    expect(await repairOrphanTurns(p.deps, now)).toEqual({ checked: 1, readded: 1 });
    expect(await turns.getJobState(turnJobId(freshConv, 1))).toBe('unknown');
    // the turn runs and its reply goes out
    await waitFor(() => p.graph.textsTo('15553100001').length === 1, 30_000, 'reply to the orphaned turn');
    // nothing left to repair for it: a second sweep adds nothing and the customer gets one reply
    expect((await repairOrphanTurns(p.deps, Date.now())).readded).toBe(0);
    expect(p.graph.textsTo('15553100001')).toHaveLength(1);
  });
});
