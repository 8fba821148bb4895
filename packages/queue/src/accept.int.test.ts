import { Redis } from 'ioredis';
import { conversationId, type InboundMessage } from '@switchboard/core';
import { dropPrefix, testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { acceptCustomerMessage, acceptCustomerMessages, type AcceptContext } from './accept';
import { customerContact } from './contacts';
import { Mailbox } from './mailbox';
import { Producers } from './queues';
import { countAccountEvents, countChannelEvents } from './stats';

const NOW = Date.UTC(2026, 0, 10, 12);

function message(i: number, userId = '4915100000001', extra: Partial<InboundMessage> = {}): InboundMessage {
  return {
    kind: 'message',
    eventId: `wa-accept-${userId}-${i}`,
    providerMessageId: `wamid.A${i}`,
    conversation: { channel: 'whatsapp', account: 'pn1', userId, address: userId },
    sentAt: NOW + i,
    receivedAt: NOW + i,
    content: { type: 'text', text: `hello ${i}` },
    author: 'customer',
    ...extra,
  };
}

describe('acceptCustomerMessage: contact, claim, mailbox, count and turn in one script call (real Redis)', () => {
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const prefix = uniquePrefix('accept');
  const producers = new Producers(redis, prefix);
  const mailbox = new Mailbox(redis, prefix);
  const ctx: AcceptContext = { mailbox, producers, redis, prefix, debounceMs: 60_000, maxMessageAgeSec: 0 };
  afterAll(async () => {
    await producers.close();
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  it('accepts once: a redelivery is a duplicate, counted once, one turn job, the contact noted', async () => {
    const m = message(1);
    expect(await acceptCustomerMessage(ctx, m, NOW)).toBe('queued');
    expect(await acceptCustomerMessage(ctx, m, NOW + 5)).toBe('duplicate');
    const conv = conversationId(m.conversation);
    expect((await mailbox.peek(conv, 10)).map((raw) => (JSON.parse(raw) as InboundMessage).eventId)).toEqual([m.eventId]);
    expect(await countChannelEvents(redis, prefix, 'whatsapp', 'in', 60, NOW)).toBe(1);
    expect(await countAccountEvents(redis, prefix, 'whatsapp', 'default', 'in', 60, NOW)).toBe(1);
    expect((await customerContact(redis, prefix, 'whatsapp', 'default', m.conversation.userId))?.lastInboundAt).toBe(m.sentAt);
    const turns = await producers.queue('turn').getJobs(['delayed', 'waiting']);
    expect(turns.filter((j) => (j.data as { conversationId: string }).conversationId === conv)).toHaveLength(1);
  });

  it('keeps each conversation in delivery order and schedules one turn per conversation', async () => {
    const a = [2, 3, 4].map((i) => message(i, '4915100000002'));
    const b = [5, 6].map((i) => message(i, '4915100000003'));
    const rest = await acceptCustomerMessages(ctx, [a[0], b[0], a[1], b[1], a[2]] as InboundMessage[]);
    expect(rest).toEqual([]);
    const order = async (m: InboundMessage) => (await mailbox.peek(conversationId(m.conversation), 10)).map((raw) => (JSON.parse(raw) as InboundMessage).eventId);
    expect(await order(a[0] as InboundMessage)).toEqual(a.map((m) => m.eventId));
    expect(await order(b[0] as InboundMessage)).toEqual(b.map((m) => m.eventId));
    // accepted now (the default time): counted in the current minute
    expect(await countChannelEvents(redis, prefix, 'whatsapp', 'in', 1)).toBe(5);
  });

  it('an older message notes no contact over a newer one, and a referral opens the entry point', async () => {
    const userId = '4915100000004';
    await acceptCustomerMessage(ctx, message(20, userId), NOW);
    await acceptCustomerMessage(ctx, message(10, userId, { referral: { sourceType: 'ad', ctwaClid: 'c1' } }), NOW);
    const c = await customerContact(redis, prefix, 'whatsapp', 'default', userId);
    expect(c?.lastInboundAt).toBe(NOW + 20);
    expect(c?.entryPointAt).toBe(NOW + 10);
  });
});
