import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startApp, TELEGRAM_FIXTURE_BOT, testRedisUrl, uniquePrefix } from '@switchboard/testkit';

jest.setTimeout(30_000);

describe('telegram-ingress process with an invalid ACCOUNTS_FILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-tg-bad-accounts-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('does not start: one line names every problem of every bot, never a value', async () => {
    const badToken = 'not-a-token-but-a-secret-value';
    const badSecret = 'has spaces and !';
    writeFileSync(
      join(dir, 'accounts.yaml'),
      `accounts:
  - id: tg-one
    channel: telegram
    botToken: ${badToken}
    webhookSecret: "${badSecret}"
  - id: tg-two
    channel: telegram
    botToken: \${TG_TWO_TOKEN}
    webhookSecret: ok-secret
    botname: typo_bot
    sendRate: 0
`,
    );
    const app = startApp('telegram-ingress', {
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: uniquePrefix('tgbad'),
      TELEGRAM_BOT_TOKEN: TELEGRAM_FIXTURE_BOT.token,
      TELEGRAM_WEBHOOK_SECRET: TELEGRAM_FIXTURE_BOT.webhookSecret,
      TELEGRAM_BOT_USERNAME: TELEGRAM_FIXTURE_BOT.username,
      TELEGRAM_PORT: String(await freePort()),
      ACCOUNTS_FILE: join(dir, 'accounts.yaml'),
      TG_TWO_TOKEN: '7045678901:AATwoBotTokenForTests_abcdefghijklmnop',
    });
    expect(await app.exited).toBe(1);
    const out = app.output();
    for (const problem of ['accounts[0] (tg-one).botToken', 'accounts[0] (tg-one).webhookSecret', 'accounts[1] (tg-two)', 'botname', 'accounts[1] (tg-two).sendRate']) {
      expect({ problem, named: out.includes(problem) }).toEqual({ problem, named: true });
    }
    for (const value of [badToken, badSecret, 'AATwoBotTokenForTests', TELEGRAM_FIXTURE_BOT.token, TELEGRAM_FIXTURE_BOT.webhookSecret]) expect(out).not.toContain(value);
  });
});
