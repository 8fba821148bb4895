import { Redis } from 'ioredis';
import { insideWindow, type CustomerServiceWindow, type InboundMessage } from '@switchboard/core';
import { dropPrefix, testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { customerContact, noteCustomerContact } from './contacts';

const HOUR = 3600_000;
const WINDOW: CustomerServiceWindow = { afterLastMessageMs: 24 * HOUR, afterEntryPointMs: 72 * HOUR };
const NOW = Date.UTC(2026, 0, 10, 12);

function message(sentAt: number, extra: Partial<InboundMessage> = {}): InboundMessage {
  return {
    kind: 'message',
    eventId: `e-${sentAt}`,
    providerMessageId: `m-${sentAt}`,
    conversation: { channel: 'whatsapp', account: 'pn1', userId: '4915100000001', address: '4915100000001' },
    sentAt,
    receivedAt: sentAt,
    content: { type: 'text', text: 'hi' },
    author: 'customer',
    ...extra,
  };
}

describe('customer contacts and the service window (real Redis)', () => {
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const prefix = uniquePrefix('contact');
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });
  const read = () => customerContact(redis, prefix, 'whatsapp', 'default', '4915100000001');

  it('keeps the newest message: an older, replayed one does not move the window back', async () => {
    await noteCustomerContact(redis, prefix, message(NOW - 2 * HOUR));
    await noteCustomerContact(redis, prefix, message(NOW - 30 * HOUR));
    const c = await read();
    expect(c?.lastInboundAt).toBe(NOW - 2 * HOUR);
    expect(c?.ref.account).toBe('pn1');
    expect(insideWindow(WINDOW, c, NOW)).toBe(true);
    expect(insideWindow(WINDOW, c, NOW + 23 * HOUR)).toBe(false);
  });

  it('opens 72 hours after an ad or post entry (a referral)', async () => {
    const other = uniquePrefix('contact-ad');
    await noteCustomerContact(redis, other, message(NOW, { referral: { sourceType: 'ad', ctwaClid: 'c1' } }));
    const c = await customerContact(redis, other, 'whatsapp', 'default', '4915100000001');
    expect(c?.entryPointAt).toBe(NOW);
    expect(insideWindow(WINDOW, c, NOW + 48 * HOUR)).toBe(true);
    expect(insideWindow(WINDOW, c, NOW + 73 * HOUR)).toBe(false);
    await dropPrefix(redis, other);
  });

  it('no contact: closed where there is a window, open where there is none', () => {
    expect(insideWindow(WINDOW, undefined, NOW)).toBe(false);
    expect(insideWindow(undefined, undefined, NOW)).toBe(true);
  });
});
