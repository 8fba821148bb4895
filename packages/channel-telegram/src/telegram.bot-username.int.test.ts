import { startFakeTelegram, TELEGRAM_FIXTURE_BOT, type FakeTelegram } from '@switchboard/testkit';
import { askBotUsername } from './inbound.js';

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

describe('askBotUsername (getMe of the inbound half) against the fake Bot API', () => {
  let fake: FakeTelegram;
  beforeAll(async () => {
    fake = await startFakeTelegram({ token: TELEGRAM_FIXTURE_BOT.token, botUsername: TELEGRAM_FIXTURE_BOT.username });
  });
  afterAll(() => fake.close());

  it("returns the bot's @username from <url>/bot<token>/getMe", async () => {
    await expect(askBotUsername(fake.apiUrl, TELEGRAM_FIXTURE_BOT.token)).resolves.toBe(TELEGRAM_FIXTURE_BOT.username);
    expect(fake.requests.map((r) => r.path)).toContain('/bot<token>/getMe');
  });

  it('fails on a wrong token or an unreachable API, naming neither the token nor its URL', async () => {
    const wrong = '7012345678:AAwrongwrongwrongwrongwrong';
    const refused = await failure(askBotUsername(fake.apiUrl, wrong));
    expect(refused).toBeInstanceOf(Error);
    expect(refused.message).toMatch(/HTTP 401/);
    expect(refused.message).not.toContain('AAwrong');
    const down = await failure(askBotUsername('http://127.0.0.1:9', TELEGRAM_FIXTURE_BOT.token, 2000));
    expect(down).toBeInstanceOf(Error);
    expect(JSON.stringify({ message: down.message, cause: String(down.cause) })).not.toContain(TELEGRAM_FIXTURE_BOT.token.split(':')[1]!);
  });
});
