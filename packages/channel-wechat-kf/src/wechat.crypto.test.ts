import { encrypt, getSignature } from '@wecom/crypto';
import { fixtureBytes, fixtureJson } from '@switchboard/testkit';
import { repairBase64, signatureMatches, verifyAndDecrypt } from './wechat.crypto.js';

const example = fixtureJson<{
  config: { token: string; encodingAESKey: string; corpId: string };
  post: { query: { msg_signature: string; timestamp: string; nonce: string }; encrypt: string };
  get: { query: { msg_signature: string; timestamp: string; nonce: string; echostr: string }; expectedResponse: string };
}>('wechat-kf', 'encrypted-callback-example.json');

/** Official vector A (doc 90968 举例说明, Tencent WXBizMsgCrypt samples). */
const A = { token: 'QDG6eK', aesKey: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C', corpId: 'wx5823bf96d3bd56c7' };
const A_POST = {
  msgSignature: '477715d11cdb4164915debcba66cb864d751f3e6',
  timestamp: '1409659813',
  nonce: '1372623149',
  encrypted:
    'RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==',
};
const A_GET = {
  msgSignature: '5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3',
  timestamp: '1409659589',
  nonce: '263014780',
  encrypted: decodeURIComponent('P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D'),
};
/** Official vector B (sbzhu/weworkapi_python callback/Sample.py). */
const B = { token: 'hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo', aesKey: '6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt', corpId: 'ww1436e0e65a779aee' };
const B_VERIFY = {
  msgSignature: '012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb',
  timestamp: '1476416373',
  nonce: '47744683',
  encrypted: 'fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==',
};
const B_DECRYPT = {
  msgSignature: '0c3914025cb4b4d68103f6bfc8db550f79dcf48e',
  timestamp: '1476422779',
  nonce: '1597212914',
  encrypted:
    'Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+',
};

const NO_WINDOW = 0;
const now = Date.now();

describe('wechat callback crypto (official vectors)', () => {
  it('vector A POST (QDG6eK, pad byte 22) verifies and decrypts to the hello text message', () => {
    const r = verifyAndDecrypt(A, A_POST, now, NO_WINDOW);
    expect(r.ok && r.plaintext).toContain('<Content><![CDATA[hello]]></Content>');
  });

  it('vector A GET echostr verifies and decrypts to 1616140317555161061', () => {
    expect(verifyAndDecrypt(A, A_GET, now, NO_WINDOW)).toEqual({ ok: true, plaintext: '1616140317555161061' });
  });

  it('vector B VerifyURL answers 1288432023552776189', () => {
    expect(verifyAndDecrypt(B, B_VERIFY, now, NO_WINDOW)).toEqual({ ok: true, plaintext: '1288432023552776189' });
  });

  it('vector B DecryptMsg decrypts to 你好', () => {
    const r = verifyAndDecrypt(B, B_DECRYPT, now, NO_WINDOW);
    expect(r.ok && r.plaintext).toContain('<Content>你好</Content>');
  });

  it('the fixture POST and GET (gwTestToken2026) verify', () => {
    const keys = { token: example.config.token, aesKey: example.config.encodingAESKey, corpId: example.config.corpId };
    const post = verifyAndDecrypt(keys, { msgSignature: example.post.query.msg_signature, timestamp: example.post.query.timestamp, nonce: example.post.query.nonce, encrypted: example.post.encrypt }, now, NO_WINDOW);
    expect(post.ok && post.plaintext).toBe(fixtureBytes('wechat-kf', 'kf-callback-decrypted.xml').toString('utf8'));
    const get = verifyAndDecrypt(keys, { msgSignature: example.get.query.msg_signature, timestamp: example.get.query.timestamp, nonce: example.get.query.nonce, encrypted: example.get.query.echostr }, now, NO_WINDOW);
    expect(get).toEqual({ ok: true, plaintext: example.get.expectedResponse });
  });
});

describe('wechat callback crypto (refusals)', () => {
  it('a wrong corp id is rejected even though decryption succeeds', () => {
    expect(verifyAndDecrypt({ ...A, corpId: 'wwSomebodyElse' }, A_POST, now, NO_WINDOW)).toEqual({ ok: false, status: 403, reason: 'receiveid_mismatch' });
  });

  it('the sample-code trap: vector A echostr under vector B keys "decrypts" to garbage and is refused', () => {
    // signed correctly with B's token, so only the receive id check can catch the wrong key
    const sig = getSignature(B.token, A_GET.timestamp, A_GET.nonce, A_GET.encrypted);
    const r = verifyAndDecrypt(B, { ...A_GET, msgSignature: sig }, now, NO_WINDOW);
    expect(r.ok).toBe(false);
    expect(r.ok ? 0 : r.status).toBe(403);
  });

  it('a tampered signature is 401', () => {
    expect(verifyAndDecrypt(A, { ...A_POST, msgSignature: A_POST.msgSignature.replace(/^4/, '5') }, now, NO_WINDOW)).toEqual({ ok: false, status: 401, reason: 'bad_signature' });
    expect(verifyAndDecrypt(A, { ...A_POST, msgSignature: 'short' }, now, NO_WINDOW)).toMatchObject({ ok: false, status: 401 });
  });

  it('an upper-case signature still verifies (hex is case-insensitive)', () => {
    expect(verifyAndDecrypt(A, { ...A_POST, msgSignature: A_POST.msgSignature.toUpperCase() }, now, NO_WINDOW).ok).toBe(true);
  });

  it('missing parameters are 400', () => {
    expect(verifyAndDecrypt(A, { ...A_POST, nonce: undefined }, now, NO_WINDOW)).toEqual({ ok: false, status: 400, reason: 'missing_params' });
    expect(verifyAndDecrypt(A, { ...A_POST, encrypted: '' }, now, NO_WINDOW)).toMatchObject({ ok: false, status: 400 });
  });

  it('a correctly signed but non-WeCom ciphertext is 400, never an exception', () => {
    for (const bad of ['AAAA', 'QUJD', 'not base64!!', Buffer.alloc(16).toString('base64'), Buffer.alloc(33).toString('base64')]) {
      const sig = getSignature(A.token, '1', '2', bad);
      const r = verifyAndDecrypt(A, { msgSignature: sig, timestamp: '1', nonce: '2', encrypted: bad }, now, NO_WINDOW);
      expect(r.ok).toBe(false);
    }
  });

  it('stale timestamps beyond the window are 403; inside the window pass', () => {
    const ts = 1409659813_000;
    expect(verifyAndDecrypt(A, A_POST, ts + 301_000, 300)).toEqual({ ok: false, status: 403, reason: 'stale_timestamp' });
    expect(verifyAndDecrypt(A, A_POST, ts + 299_000, 300).ok).toBe(true);
    expect(verifyAndDecrypt(A, A_POST, ts - 299_000, 300).ok).toBe(true);
  });
});

describe('wechat + / space handling', () => {
  it('repairBase64 puts back a + that query parsing turned into a space', () => {
    expect(repairBase64('ab c+d e==')).toBe('ab+c+d+e==');
  });

  it('an echostr with its + turned into spaces still verifies', () => {
    expect(A_GET.encrypted).toContain('+');
    const spaced = A_GET.encrypted.replace(/\+/g, ' ');
    expect(verifyAndDecrypt(A, { ...A_GET, encrypted: spaced }, now, NO_WINDOW)).toEqual({ ok: true, plaintext: '1616140317555161061' });
  });

  it('round-trips a freshly encrypted message containing + and / in its base64', () => {
    let enc = '';
    for (let i = 0; !(enc.includes('+') && enc.includes('/')); i++) enc = encrypt(A.aesKey, `message ${i} 中文 😀`, A.corpId);
    const sig = getSignature(A.token, '1700000000', 'n1', enc);
    const r = verifyAndDecrypt(A, { msgSignature: sig, timestamp: '1700000000', nonce: 'n1', encrypted: enc.replace(/\+/g, ' ') }, now, NO_WINDOW);
    expect(r.ok && r.plaintext).toMatch(/^message \d+ 中文 😀$/);
  });

  it('a ciphertext that starts or ends with + still verifies once the query parser made it a space', () => {
    for (const edge of ['start', 'end'] as const) {
      let enc = '';
      for (let i = 0; !(edge === 'start' ? enc.startsWith('+') : enc.endsWith('+')); i++) enc = encrypt(A.aesKey, `edge ${i}${'x'.repeat(i % 97)}`, A.corpId);
      const sig = getSignature(A.token, '1700000000', 'n1', enc);
      const r = verifyAndDecrypt(A, { msgSignature: sig, timestamp: '1700000000', nonce: 'n1', encrypted: enc.replace(/\+/g, ' ') }, now, NO_WINDOW);
      expect(r.ok && r.plaintext).toMatch(/^edge \d+x*$/);
    }
  });

  it('signatureMatches is constant-time safe on different lengths', () => {
    expect(signatureMatches('abc', 'abcd')).toBe(false);
    expect(signatureMatches('ABC', 'abc')).toBe(true);
  });
});
