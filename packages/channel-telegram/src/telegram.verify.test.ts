import { fixtureBytes, TELEGRAM_FIXTURE_BOT } from '@switchboard/testkit';
import { createTelegramInboundAdapter } from './telegram.inbound.js';
import { verifySecretToken } from './telegram.verify.js';

const secret = TELEGRAM_FIXTURE_BOT.webhookSecret;
const adapter = createTelegramInboundAdapter({ webhookSecret: secret, botId: TELEGRAM_FIXTURE_BOT.id, botUsername: TELEGRAM_FIXTURE_BOT.username });
const request = (rawBody: Buffer, headers: Record<string, string | undefined>) => ({ rawBody, headers, query: {}, now: Date.now() });

describe('verifySecretToken', () => {
  it('accepts the exact secret only', () => {
    expect(verifySecretToken(secret, secret)).toBe(true);
    expect(verifySecretToken(`${secret}x`, secret)).toBe(false);
    expect(verifySecretToken(secret.slice(0, -1), secret)).toBe(false);
    expect(verifySecretToken(secret.toUpperCase(), secret)).toBe(false);
    expect(verifySecretToken('', secret)).toBe(false);
    expect(verifySecretToken(undefined, secret)).toBe(false);
  });

  it('never accepts anything when no secret is configured', () => {
    expect(verifySecretToken('', '')).toBe(false);
  });

  it('compares values of any length without throwing', () => {
    expect(verifySecretToken('x'.repeat(10_000), secret)).toBe(false);
    expect(verifySecretToken('ü€😀', secret)).toBe(false);
  });
});

describe('Telegram inbound adapter: verify', () => {
  const body = fixtureBytes('telegram', 'update.01-private-text.json');

  it('accepts an update with the right secret header and returns the parsed JSON', () => {
    const result = adapter.verify(request(body, { 'x-telegram-bot-api-secret-token': secret }));
    expect(result.ok).toBe(true);
    if (result.ok) expect((result.payload as { update_id: number }).update_id).toBe(912000001);
  });

  it('refuses a missing header with 401', () => {
    expect(adapter.verify(request(body, {}))).toEqual({ ok: false, status: 401, reason: 'missing X-Telegram-Bot-Api-Secret-Token' });
  });

  it('refuses a wrong secret with 401', () => {
    expect(adapter.verify(request(body, { 'x-telegram-bot-api-secret-token': 'wrong' }))).toMatchObject({ ok: false, status: 401 });
  });

  it('checks the secret before looking at the body', () => {
    expect(adapter.verify(request(Buffer.from('not json'), { 'x-telegram-bot-api-secret-token': 'nope' }))).toMatchObject({ ok: false, status: 401 });
  });

  it('answers 400 for a body that is not JSON or nested too deeply', () => {
    const h = { 'x-telegram-bot-api-secret-token': secret };
    expect(adapter.verify(request(Buffer.from('{"update_id":'), h))).toMatchObject({ ok: false, status: 400 });
    expect(adapter.verify(request(Buffer.from('['.repeat(5000) + ']'.repeat(5000)), h))).toMatchObject({ ok: false, status: 400 });
  });
});
