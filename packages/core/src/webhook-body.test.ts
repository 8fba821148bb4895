import { deflateSync, gzipSync } from 'node:zlib';
import { bodyLimitBytes, contentCoding, decodeWebhookBody, webhookPayloadBytes } from './webhook-body';

describe('contentCoding', () => {
  it.each([
    [undefined, 'identity'],
    ['', 'identity'],
    ['identity', 'identity'],
    [' GZIP ', 'gzip'],
    ['x-gzip', 'gzip'],
    ['deflate', 'deflate'],
    ['identity, gzip', 'gzip'],
  ])('%p → %s', (header, coding) => {
    expect(contentCoding(header)).toEqual({ ok: true, coding });
  });

  it.each(['br', 'zstd', 'compress', 'gzip, gzip', 'gzip, br', 'x-unknown'])('%s → 415', (header) => {
    expect(contentCoding(header)).toMatchObject({ ok: false, status: 415 });
  });
});

describe('decodeWebhookBody', () => {
  const json = Buffer.from(JSON.stringify({ hello: 'world'.repeat(100) }));

  it('inflates gzip and deflate, returns identity bodies as they are', () => {
    expect(decodeWebhookBody(gzipSync(json), 'gzip', { maxBytes: 10_000 })).toEqual({ ok: true, body: json, coding: 'gzip' });
    expect(decodeWebhookBody(deflateSync(json), 'deflate', { maxBytes: 10_000 })).toEqual({ ok: true, body: json, coding: 'deflate' });
    const same = decodeWebhookBody(json, undefined, { maxBytes: 10_000 });
    expect(same.ok && same.body).toBe(json);
  });

  it('stops at the cap (413), refuses corrupt data (400) and other codings (415)', () => {
    expect(decodeWebhookBody(gzipSync(Buffer.alloc(100_000)), 'gzip', { maxBytes: 1000 })).toMatchObject({ ok: false, status: 413 });
    expect(decodeWebhookBody(Buffer.alloc(2000), undefined, { maxBytes: 1000 })).toMatchObject({ ok: false, status: 413 });
    expect(decodeWebhookBody(Buffer.from('not gzip at all'), 'gzip', { maxBytes: 1000 })).toMatchObject({ ok: false, status: 400 });
    expect(decodeWebhookBody(gzipSync(json), 'deflate', { maxBytes: 10_000 })).toMatchObject({ ok: false, status: 400 });
    expect(decodeWebhookBody(json, 'br', { maxBytes: 10_000 })).toMatchObject({ ok: false, status: 415 });
  });

  it('webhookPayloadBytes reads the request header and cap', () => {
    const req = { rawBody: gzipSync(json), headers: { 'content-encoding': 'gzip' }, query: {}, now: 0, maxBodyBytes: 100 };
    expect(webhookPayloadBytes(req)).toMatchObject({ ok: false, status: 413 });
    expect(webhookPayloadBytes({ ...req, maxBodyBytes: 10_000 })).toEqual({ ok: true, body: json });
  });
});

describe('bodyLimitBytes', () => {
  it('reads numbers and express-style strings', () => {
    expect(bodyLimitBytes(1234)).toBe(1234);
    expect(bodyLimitBytes('3mb')).toBe(3 * 1024 * 1024);
    expect(bodyLimitBytes('64kb')).toBe(65536);
    expect(bodyLimitBytes('100')).toBe(100);
    expect(() => bodyLimitBytes('lots')).toThrow();
  });
});
