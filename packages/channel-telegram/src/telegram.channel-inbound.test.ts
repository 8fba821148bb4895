import { accountsOfChannel, type AccountEntry, type AccountsFile } from '@switchboard/core';
import { completeTelegramFileAccount, telegramInbound } from './telegram.channel-inbound';

const TOKEN = '7023456789:AAShopBotTokenForTests_abcdefghijklmn';

function fileAccount(fields: Record<string, unknown>) {
  const entry: AccountEntry = { id: 'tg-shop', channel: 'telegram', fields: { botToken: TOKEN, webhookSecret: 'shop-secret', ...fields }, where: 'accounts[0] (tg-shop)' };
  const file: AccountsFile = { path: 'accounts.yaml', entries: [entry] };
  const [account] = accountsOfChannel(file, 'telegram', telegramInbound.accountFile, {});
  return account!;
}

describe('Telegram bots of ACCOUNTS_FILE, inbound half', () => {
  it('keeps no token in the inbound settings: only the numeric bot id', () => {
    const a = fileAccount({ groupMode: 'all' });
    expect(a.settings).toEqual({ enabled: true, webhookSecret: 'shop-secret', botId: '7023456789', groupMode: 'all' });
    expect(JSON.stringify(a.settings)).not.toContain(TOKEN.split(':')[1]);
  });

  it('a bot without botUsername asks for it with its own token; the answer enables mention detection', async () => {
    const asked: string[] = [];
    const done = await completeTelegramFileAccount(fileAccount({}), async (token) => (asked.push(token), 'tailspin_shop_bot'));
    expect(asked).toEqual([TOKEN]);
    expect(done).toMatchObject({ id: 'tg-shop', settings: { botId: '7023456789', botUsername: 'tailspin_shop_bot', groupMode: 'mention' } });
  });

  it('a configured botUsername (with or without @) is kept and nothing is asked', async () => {
    const ask = jest.fn(async () => 'other_bot');
    const done = await completeTelegramFileAccount(fileAccount({ botUsername: '@tailspin_shop_bot' }), ask);
    expect(ask).not.toHaveBeenCalled();
    expect(done.settings).toMatchObject({ botUsername: 'tailspin_shop_bot' });
  });

  it('no answer (getMe failed) leaves the bot served without a username', async () => {
    const a = fileAccount({});
    const done = await completeTelegramFileAccount(a, async () => undefined);
    expect(done).toEqual(a);
    expect(done.settings).not.toHaveProperty('botUsername');
  });
});
