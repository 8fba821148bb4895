import { CHATWOOT_FIXTURE_SECRET, CHATWOOT_FIXTURE_SIGNATURES, CHATWOOT_FIXTURE_TIMESTAMP, fixtureBytes, signChatwoot } from '@switchboard/testkit';
import { verifyChatwootSignature } from './chatwoot.verify.js';

const NOW = Number(CHATWOOT_FIXTURE_TIMESTAMP) * 1000 + 5_000;

function headers(sig: string | undefined, ts: string | undefined = CHATWOOT_FIXTURE_TIMESTAMP) {
  return { 'x-chatwoot-signature': sig, 'x-chatwoot-timestamp': ts };
}

describe('verifyChatwootSignature', () => {
  it.each(Object.entries(CHATWOOT_FIXTURE_SIGNATURES))('accepts the published signature of %s over the exact file bytes', (name, sig) => {
    const rawBody = fixtureBytes('chatwoot', name);
    expect(verifyChatwootSignature({ rawBody, headers: headers(sig), secrets: [CHATWOOT_FIXTURE_SECRET], now: NOW, windowSec: 300 })).toEqual({ ok: true, signed: true });
  });

  it('accepts when any of several secrets matches (agent bot and API inbox share the route)', () => {
    const rawBody = fixtureBytes('chatwoot', 'message_created.incoming_contact_with_image.json');
    const sig = CHATWOOT_FIXTURE_SIGNATURES['message_created.incoming_contact_with_image.json'];
    const r = verifyChatwootSignature({ rawBody, headers: headers(sig), secrets: ['bot-secret', CHATWOOT_FIXTURE_SECRET], now: NOW, windowSec: 300 });
    expect(r.ok).toBe(true);
  });

  it('rejects a wrong secret', () => {
    const rawBody = fixtureBytes('chatwoot', 'message_created.incoming_contact_with_image.json');
    const sig = CHATWOOT_FIXTURE_SIGNATURES['message_created.incoming_contact_with_image.json'];
    expect(verifyChatwootSignature({ rawBody, headers: headers(sig), secrets: ['not-the-secret'], now: NOW, windowSec: 300 })).toEqual({ ok: false, reason: 'signature mismatch' });
  });

  it('rejects a stale timestamp even with a correct signature', () => {
    const rawBody = fixtureBytes('chatwoot', 'message_created.incoming_contact_with_image.json');
    const sig = CHATWOOT_FIXTURE_SIGNATURES['message_created.incoming_contact_with_image.json'];
    const late = Number(CHATWOOT_FIXTURE_TIMESTAMP) * 1000 + 301_000;
    expect(verifyChatwootSignature({ rawBody, headers: headers(sig), secrets: [CHATWOOT_FIXTURE_SECRET], now: late, windowSec: 300 })).toEqual({ ok: false, reason: 'timestamp outside window' });
  });

  it('rejects a body signed without the timestamp (the #13809 mistake)', () => {
    const rawBody = Buffer.from('{"event":"message_created"}');
    const { createHmac } = jest.requireActual<typeof import('node:crypto')>('node:crypto');
    const bodyOnly = `sha256=${createHmac('sha256', 's').update(rawBody).digest('hex')}`;
    expect(verifyChatwootSignature({ rawBody, headers: headers(bodyOnly, '1000'), secrets: ['s'], now: 1_000_000, windowSec: 300 }).ok).toBe(false);
  });

  it('rejects a tampered body', () => {
    const rawBody = Buffer.from('{"event":"message_created","id":1}');
    const h = signChatwoot(rawBody, 's', 1000);
    const tampered = Buffer.from('{"event":"message_created","id":2}');
    expect(verifyChatwootSignature({ rawBody: tampered, headers: h, secrets: ['s'], now: 1_000_000, windowSec: 300 }).ok).toBe(false);
  });

  it.each([
    ['missing signature', headers(undefined), 'missing signature headers'],
    ['missing timestamp', { 'x-chatwoot-signature': `sha256=${'a'.repeat(64)}` }, 'missing signature headers'],
    ['non-numeric timestamp', headers(`sha256=${'a'.repeat(64)}`, 'yesterday'), 'malformed timestamp'],
    ['not hex', headers('sha256=zz', CHATWOOT_FIXTURE_TIMESTAMP), 'malformed signature'],
  ])('fails closed on %s', (_label, h, reason) => {
    const r = verifyChatwootSignature({ rawBody: Buffer.from('{}'), headers: h, secrets: ['s'], now: NOW, windowSec: 300 });
    expect(r).toEqual({ ok: false, reason });
  });

  it('accepts unsigned requests when no secret is configured (Chatwoot < 4.13)', () => {
    expect(verifyChatwootSignature({ rawBody: Buffer.from('{}'), headers: {}, secrets: [], now: NOW, windowSec: 300 })).toEqual({ ok: true, signed: false });
  });
});
