import { createHmac } from 'node:crypto';
import { fixtureBytes, WHATSAPP_FIXTURE_SECRET, WHATSAPP_FIXTURE_SIGNATURES } from '@switchboard/testkit';
import { verifyMetaSignature, verifySubscription } from './whatsapp.verify';

describe('verifyMetaSignature', () => {
  it.each(Object.entries(WHATSAPP_FIXTURE_SIGNATURES))('accepts the published signature of %s over the exact bytes', (name, sig) => {
    expect(verifyMetaSignature(fixtureBytes('whatsapp', name), sig, WHATSAPP_FIXTURE_SECRET)).toBe(true);
  });

  it('verifies escaped unicode (\\u00e9, surrogate pairs, \\/ and \\u0040) over raw bytes, not a re-serialised body', () => {
    const raw = fixtureBytes('whatsapp', '07-wire-format-escaped-unicode.raw.json');
    expect(raw.toString()).toContain('\\u00e9');
    expect(raw.toString()).toContain('\\/');
    const sig = WHATSAPP_FIXTURE_SIGNATURES['07-wire-format-escaped-unicode.raw.json'];
    expect(verifyMetaSignature(raw, sig, WHATSAPP_FIXTURE_SECRET)).toBe(true);
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(raw.toString())));
    expect(verifyMetaSignature(reserialised, sig, WHATSAPP_FIXTURE_SECRET)).toBe(false);
  });

  it('refuses a wrong secret, a missing header, a malformed header and a tampered body', () => {
    const raw = fixtureBytes('whatsapp', '01-text.json');
    const sig = WHATSAPP_FIXTURE_SIGNATURES['01-text.json'];
    expect(verifyMetaSignature(raw, sig, 'another_secret')).toBe(false);
    expect(verifyMetaSignature(raw, undefined, WHATSAPP_FIXTURE_SECRET)).toBe(false);
    expect(verifyMetaSignature(raw, 'sha1=abc', WHATSAPP_FIXTURE_SECRET)).toBe(false);
    expect(verifyMetaSignature(raw, 'sha256=zz', WHATSAPP_FIXTURE_SECRET)).toBe(false);
    const tampered = Buffer.concat([raw, Buffer.from(' ')]);
    expect(verifyMetaSignature(tampered, sig, WHATSAPP_FIXTURE_SECRET)).toBe(false);
  });

  it('accepts upper-case hex digits', () => {
    const raw = Buffer.from('{"a":1}');
    const hex = createHmac('sha256', 's').update(raw).digest('hex').toUpperCase();
    expect(verifyMetaSignature(raw, `sha256=${hex}`, 's')).toBe(true);
  });
});

describe('verifySubscription', () => {
  it('echoes the challenge verbatim for subscribe + matching token', () => {
    expect(verifySubscription({ 'hub.mode': 'subscribe', 'hub.verify_token': 'tok', 'hub.challenge': '1158201444' }, 'tok')).toBe('1158201444');
  });
  it('refuses a wrong token, a wrong mode and missing fields', () => {
    expect(verifySubscription({ 'hub.mode': 'subscribe', 'hub.verify_token': 'nope', 'hub.challenge': 'x' }, 'tok')).toBeUndefined();
    expect(verifySubscription({ 'hub.mode': 'unsubscribe', 'hub.verify_token': 'tok', 'hub.challenge': 'x' }, 'tok')).toBeUndefined();
    expect(verifySubscription({ 'hub.mode': 'subscribe', 'hub.verify_token': 'tok' }, 'tok')).toBeUndefined();
  });
});
