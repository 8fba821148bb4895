import { startFakeTelegram, TELEGRAM_FIXTURE_BOT, type FakeTelegram } from '@switchboard/testkit';
import { ALLOWED_UPDATES, registerWebhook, webhookUrl } from './webhook';

describe('telegram webhook registration', () => {
  let fake: FakeTelegram;
  beforeAll(async () => {
    fake = await startFakeTelegram({ token: TELEGRAM_FIXTURE_BOT.token });
  });
  afterAll(() => fake.close());

  it('derives the webhook URL and insists on https for the real Bot API', () => {
    expect(webhookUrl('https://gw.example.com', 'https://api.telegram.org')).toBe('https://gw.example.com/webhooks/telegram');
    expect(webhookUrl('https://gw.example.com/custom/path', 'https://api.telegram.org')).toBe('https://gw.example.com/custom/path');
    expect(() => webhookUrl('http://gw.example.com', 'https://api.telegram.org')).toThrow(/https/);
    expect(() => webhookUrl('nope', 'https://api.telegram.org')).toThrow(/not a URL/);
  });

  it('calls setWebhook with the secret token and the update kinds the gateway reads', async () => {
    const cfg = { TELEGRAM_BOT_TOKEN: TELEGRAM_FIXTURE_BOT.token, TELEGRAM_WEBHOOK_SECRET: TELEGRAM_FIXTURE_BOT.webhookSecret, TELEGRAM_API_URL: fake.apiUrl };
    await expect(registerWebhook(cfg, 'https://gw.example.com')).resolves.toEqual({ url: 'https://gw.example.com/webhooks/telegram', pendingUpdates: 0 });
    expect(fake.webhook).toEqual({ url: 'https://gw.example.com/webhooks/telegram', secretToken: TELEGRAM_FIXTURE_BOT.webhookSecret });
    const call = fake.requests.find((r) => r.path === '/bot<token>/setWebhook');
    expect((call?.body as { allowed_updates: string[] }).allowed_updates).toEqual([...ALLOWED_UPDATES]);
  });

  it('refuses to run without a token or a secret', async () => {
    await expect(registerWebhook({ TELEGRAM_API_URL: fake.apiUrl }, 'https://x.y')).rejects.toThrow(/TELEGRAM_BOT_TOKEN/);
    await expect(registerWebhook({ TELEGRAM_BOT_TOKEN: TELEGRAM_FIXTURE_BOT.token, TELEGRAM_API_URL: fake.apiUrl }, 'https://x.y')).rejects.toThrow(/TELEGRAM_WEBHOOK_SECRET/);
  });
});
