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

    expect(await repairOrphanTurns(p.deps, now)).toEqual({ checked: 1, readded: 1, released: 0 });
    expect(await turns.getJobState(turnJobId(freshConv, 1))).toBe('unknown');
    // the turn runs and its reply goes out
    await waitFor(() => p.graph.textsTo('15553100001').length === 1, 30_000, 'reply to the orphaned turn');
    // nothing left to repair for it: a second sweep adds nothing and the customer gets one reply
    expect((await repairOrphanTurns(p.deps, Date.now())).readded).toBe(0);
    expect(p.graph.textsTo('15553100001')).toHaveLength(1);
  });

  it('releases a turn left running by a job that is gone, and answers its messages in the next turn', async () => {
    const now = Date.now();
    const first = message('15553100003', 1, now - 120_000);
    const conv = conversationId(first.conversation);
    expect(await p.deps.mailbox.accept(conv, first.eventId, JSON.stringify(first), now - 120_000)).toEqual({ claimed: true, scheduleSeq: 1 });
    // turn 1 started a minute and a half ago; its job failed for good and the release was lost with its process
    expect((await p.deps.mailbox.begin(conv, 1, now - 90_000)).state).toBe('run');
    // the customer wrote again while it was "running": turn 2 pending, its job refused by the running turn
    const second = message('15553100003', 2, now - 60_000);
    expect((await p.deps.mailbox.accept(conv, second.eventId, JSON.stringify(second), now - 60_000)).claimed).toBe(true);
    const turns = p.deps.producers.queue('turn');
    expect(await turns.getJobState(turnJobId(conv, 1))).toBe('unknown');

    const repaired = await repairOrphanTurns(p.deps, now);
    expect(repaired.released).toBe(1);
    // both messages are answered by the next turn, once
    await waitFor(() => p.graph.textsTo('15553100003').length === 1, 30_000, 'reply after the release');
    expect((await repairOrphanTurns(p.deps, Date.now())).released).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    expect(p.graph.textsTo('15553100003')).toHaveLength(1);
  });
});
