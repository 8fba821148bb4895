import { ProviderRejectedError, type ConversationRef } from '@switchboard/core';
import { createWhatsAppHeldReplyPolicy, parseReengageParams, reengagementReply, reengageValues } from './whatsapp.reengage';
import { parseTemplate, type TemplateCatalogue } from './whatsapp.templates';

const ref: ConversationRef = { channel: 'whatsapp', account: '109876543210987', userId: '4915100000001', displayName: 'Ana  María\n' };
const settings = { template: { name: 'reengage', language: 'en_US' }, ttlMs: 72 * 3600_000, maxPerConversation: 20 };

describe('WHATSAPP_REENGAGE_PARAMS', () => {
  it('parses positional variables (in number order) with a fallback text', () => {
    expect(parseReengageParams('2=reason, 1=customer_name|friend')).toEqual({
      format: 'positional',
      variables: [
        { variable: '1', source: 'customer_name', fallback: 'friend' },
        { variable: '2', source: 'reason' },
      ],
    });
  });

  it('parses named variables; empty is none', () => {
    expect(parseReengageParams('first_name=customer_name,topic=reason')?.format).toBe('named');
    expect(parseReengageParams('  ')).toBeUndefined();
    expect(parseReengageParams(undefined)).toBeUndefined();
  });

  it.each([
    ['1=customer', /unknown source "customer"/],
    ['1=reason,3=customer_name', /1…n/],
    ['1=reason,name=customer_name', /all numbers .* or all lower-case names/],
    ['a=reason,a=customer_name', /named twice/],
    ['customer_name', /not <variable>=<source>/],
  ])('refuses %s', (spec, message) => {
    expect(() => parseReengageParams(spec)).toThrow(message);
  });

  it('fills the values from the conversation: profile name (flattened), the reason by origin, fallbacks', () => {
    expect(reengageValues(parseReengageParams('1=customer_name,2=reason')!, ref, { origin: 'agent' })).toEqual(['Ana María', 'an answer to your question']);
    expect(reengageValues(parseReengageParams('n=customer_name|friend,r=reason')!, { ...ref, displayName: undefined }, { origin: 'api' }, 'your order')).toEqual({ n: 'friend', r: 'your order' });
    expect(reengageValues(parseReengageParams('1=customer_name')!, { ...ref, displayName: ' ' }, { origin: 'human' })).toEqual(['there']);
  });
});

describe('the re-engagement reply', () => {
  const catalogue = (body: string, status = 'APPROVED'): TemplateCatalogue => ({
    accountId: 'default',
    wabaId: '1',
    syncedAt: new Date().toISOString(),
    templates: [parseTemplate({ name: 'reengage', language: 'en_US', status, category: 'UTILITY', components: [{ type: 'BODY', text: body }] })!],
  });

  it('without a catalogue: the configured body variables', async () => {
    const r = await reengagementReply({ ...settings, params: parseReengageParams('1=customer_name,2=reason')! }, ref, { origin: 'human' });
    expect(r).toEqual({ reply: { text: '', template: { name: 'reengage', language: 'en_US', components: [{ part: 'body', values: [{ text: 'Ana María' }, { text: 'a reply from our team' }] }] } } });
  });

  it('checked against the catalogue: resolved when it fits, a problem (never sent) when it does not', async () => {
    const params = parseReengageParams('1=customer_name,2=reason')!;
    const ok = await reengagementReply({ ...settings, params }, ref, { origin: 'agent' }, () => Promise.resolve(catalogue('Hi {{1}}, we have {{2}}. Reply to continue.')));
    expect(ok).toEqual({ reply: { text: '', template: { name: 'reengage', language: 'en_US', components: [{ part: 'body', values: [{ text: 'Ana María' }, { text: 'an answer to your question' }] }] } } });
    const mismatch = await reengagementReply({ ...settings, params }, ref, { origin: 'agent' }, () => Promise.resolve(catalogue('Hi {{1}}.')));
    expect(mismatch).toEqual({ problem: expect.stringContaining('parameter_mismatch') });
    const paused = await reengagementReply({ ...settings, params }, ref, { origin: 'agent' }, () => Promise.resolve(catalogue('Hi {{1}}, {{2}}', 'PAUSED')));
    expect(paused).toEqual({ problem: expect.stringContaining('not_approved') });
  });

  it('a template without variables has no components', async () => {
    expect(await reengagementReply(settings, ref, { origin: 'agent' })).toEqual({ reply: { text: '', template: { name: 'reengage', language: 'en_US' } } });
  });

  it('the policy recognises 131047 as a send error and as a failed status', () => {
    const policy = createWhatsAppHeldReplyPolicy(settings);
    expect(policy.windowClosedError(new ProviderRejectedError('(#131047) Re-engagement message', { providerCode: 131047 }))).toBe(true);
    expect(policy.windowClosedError(new ProviderRejectedError('(#131026) undeliverable', { providerCode: 131026 }))).toBe(false);
    const status = { kind: 'status', eventId: 'e', channel: 'whatsapp', account: '1', providerMessageId: 'w', status: 'failed', at: 1, errors: [{ code: 131047 }] } as const;
    expect(policy.windowClosedStatus(status as never)).toBe(true);
    expect(policy.windowClosedStatus({ ...status, errors: [{ code: 131026 }] })).toBe(false);
  });
});
