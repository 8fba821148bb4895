import { createHmac } from 'node:crypto';
import { QUEUES } from '@switchboard/core';
import { apiCallbackBody, signApiCallback, verifyApiCallback } from './api-callback-signature';

const SECRET = 'callback-secret-0123456789';

describe('API callback body and signature', () => {
  it('posts {id, status, at, error?} with an ISO 8601 time, keys in a fixed order', () => {
    const at = Date.UTC(2026, 11, 3, 15, 20, 1, 234);
    expect(apiCallbackBody({ id: 'api-abc', status: 'delivered', at })).toBe('{"id":"api-abc","status":"delivered","at":"2026-12-03T15:20:01.234Z"}');
    expect(JSON.parse(apiCallbackBody({ id: 'api-abc', status: 'failed', at, error: '131026 Message undeliverable' }))).toEqual({
      id: 'api-abc',
      status: 'failed',
      at: '2026-12-03T15:20:01.234Z',
      error: '131026 Message undeliverable',
    });
  });

  it('signs the raw body: sha256=<hex HMAC-SHA256 with the secret>', () => {
    const body = '{"id":"api-abc","status":"sent","at":"2026-12-03T15:20:01.234Z"}';
    const expected = `sha256=${createHmac('sha256', SECRET).update(body, 'utf8').digest('hex')}`;
    expect(signApiCallback(body, SECRET)).toBe(expected);
    expect(signApiCallback(Buffer.from(body), SECRET)).toBe(expected);
    expect(signApiCallback(body, SECRET)).toMatch(/^sha256=[0-9a-f]{64}$/);
  });

  it('verifies only the exact bytes with the right secret', () => {
    const body = apiCallbackBody({ id: 'api-abc', status: 'read', at: 0 });
    const sig = signApiCallback(body, SECRET);
    expect(verifyApiCallback(body, SECRET, sig)).toBe(true);
    expect(verifyApiCallback(Buffer.from(body), SECRET, sig)).toBe(true);
    // a re-serialized body (other spacing) is other bytes
    expect(verifyApiCallback(JSON.stringify(JSON.parse(body), null, 1), SECRET, sig)).toBe(false);
    expect(verifyApiCallback(body, 'another-secret-0123456789', sig)).toBe(false);
    expect(verifyApiCallback(body, SECRET, undefined)).toBe(false);
    expect(verifyApiCallback(body, SECRET, sig.replace('sha256=', ''))).toBe(false);
  });

  it('retries for at least 10 minutes, even with the largest jitter', () => {
    const spec = QUEUES['api-callbacks'];
    expect(spec.backoff.type).toBe('exponential');
    // BullMQ waits delay·2^(n-1) before retry n; jitter only shortens it, by up to `jitter`
    let shortest = 0;
    let longest = 0;
    for (let n = 1; n < spec.attempts; n++) {
      longest += spec.backoff.delay * 2 ** (n - 1);
      shortest += spec.backoff.delay * 2 ** (n - 1) * (1 - (spec.backoff.jitter ?? 0));
    }
    expect(shortest).toBeGreaterThanOrEqual(10 * 60_000);
    expect(longest).toBeLessThan(30 * 60_000);
  });
});
