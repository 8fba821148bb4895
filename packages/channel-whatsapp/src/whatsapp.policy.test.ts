import type { InboundStatus } from '@switchboard/core';
import { fallbackTemplateJob, whatsappAdmission } from './whatsapp.policy';

const failed = (extra: Partial<InboundStatus> = {}): InboundStatus => ({
  kind: 'status',
  eventId: 'st-1',
  channel: 'whatsapp',
  account: '106540352242922',
  providerMessageId: 'wamid.X',
  status: 'failed',
  at: 1,
  recipient: '4915100000001',
  errors: [{ code: 131047, title: 'Re-engagement message' }],
  ...extra,
});

describe('fallbackTemplateJob (131047 → the re-engagement template)', () => {
  const template = { name: 'reengage', language: 'en_US' };

  it('answers a failed 131047 once per message with the template, from the same number', () => {
    const job = fallbackTemplateJob(failed(), template);
    expect(job).toMatchObject({ ref: { channel: 'whatsapp', account: '106540352242922', userId: '4915100000001' }, reply: { template }, origin: 'fallback' });
    expect(job?.ref.accountId).toBeUndefined();
    expect(fallbackTemplateJob(failed(), template)?.outboundId).toBe(job?.outboundId);
  });

  it("goes out through the gateway account whose message failed (its own token)", () => {
    expect(fallbackTemplateJob(failed({ accountId: 'shop-de' }), template)?.ref.accountId).toBe('shop-de');
  });

  it('nothing without a template, for other errors or statuses', () => {
    expect(fallbackTemplateJob(failed(), undefined)).toBeUndefined();
    expect(fallbackTemplateJob(failed({ errors: [{ code: 131026 }] }), template)).toBeUndefined();
    expect(fallbackTemplateJob(failed({ status: 'delivered' }), template)).toBeUndefined();
  });
});

describe('whatsappAdmission (WHATSAPP_ALLOWED_USERS)', () => {
  const ref = { channel: 'whatsapp' as const, account: '1', userId: 'US.13491208655302741918', address: '4915100000001' };
  it('allows everyone with an empty list, a listed wa_id with or without +, and refuses others as configured', () => {
    expect(whatsappAdmission({ allowedUsers: [], disallowedPolicy: 'silent', refusalText: 'no' }, ref)).toEqual({ allowed: true });
    expect(whatsappAdmission({ allowedUsers: ['+4915100000001'], disallowedPolicy: 'silent', refusalText: 'no' }, ref)).toEqual({ allowed: true });
    expect(whatsappAdmission({ allowedUsers: ['49170'], disallowedPolicy: 'silent', refusalText: 'no' }, ref)).toMatchObject({ allowed: false });
    expect(whatsappAdmission({ allowedUsers: ['49170'], disallowedPolicy: 'refuse', refusalText: 'no' }, ref)).toMatchObject({ allowed: false, refusal: { text: 'no' } });
  });
});
