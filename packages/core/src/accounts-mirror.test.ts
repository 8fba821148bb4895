import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, describeAccounts, readAccountsFile, withAccount, type InboundEvent } from './index';

/** The `mirror` key every ACCOUNTS_FILE entry may carry, and events that name another channel's conversation. */
const dir = mkdtempSync(join(tmpdir(), 'sb-accounts-mirror-'));
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('ACCOUNTS_FILE mirror key', () => {
  it('is a common key: read beside the channel keys, not among them', () => {
    const path = write('ok.yaml', ['accounts:', '  - id: wa-b', '    channel: whatsapp', '    mirror: cw-b', '    accessToken: t'].join('\n'));
    const [entry] = readAccountsFile(path, {}).entries;
    expect(entry).toMatchObject({ id: 'wa-b', mirror: 'cw-b', fields: { accessToken: 't' } });
    expect(entry?.fields).not.toHaveProperty('mirror');
    expect(describeAccounts(readAccountsFile(path, {}))).toEqual([{ id: 'wa-b', channel: 'whatsapp', mirror: 'cw-b' }]);
  });

  it('must be an account id', () => {
    const path = write('bad.yaml', ['accounts:', '  - id: wa-b', '    channel: whatsapp', '    mirror: [cw-b]', '  - id: wa-c', '    channel: whatsapp', '    mirror: CW B'].join('\n'));
    let problems: string[] = [];
    try {
      readAccountsFile(path, {});
    } catch (err) {
      if (err instanceof ConfigError) problems = err.problems;
    }
    expect(problems).toEqual([
      expect.stringContaining('accounts[0] (wa-b).mirror: must be the id of an account that mirrors conversations'),
      expect.stringContaining('accounts[1] (wa-c).mirror: must be the id of an account that mirrors conversations'),
    ]);
  });
});

describe('withAccount with the receiving channel', () => {
  const relayed = (accountId?: string): InboundEvent => ({
    kind: 'message',
    eventId: 'cw-7-1',
    providerMessageId: 'chatwoot:1000:1',
    conversation: { channel: 'whatsapp', ...(accountId ? { accountId } : {}), account: '1234567', userId: '49151' },
    sentAt: 1,
    receivedAt: 1,
    content: { type: 'text', text: 'hi' },
    author: 'human_agent',
  });

  it("keeps the account of another channel's conversation (a Chatwoot mirror relay) and still qualifies the event id", () => {
    expect(withAccount(relayed(), 'cw-b', 'chatwoot')).toMatchObject({ eventId: 'cw-b.cw-7-1', conversation: { channel: 'whatsapp' } });
    const stamped = withAccount(relayed(), 'cw-b', 'chatwoot');
    expect(stamped.kind === 'message' && stamped.conversation.accountId).toBeUndefined();
    expect(withAccount(relayed('wa-b'), 'cw-b', 'chatwoot')).toMatchObject({ conversation: { accountId: 'wa-b' } });
  });

  it("stamps the receiving channel's own conversations", () => {
    const own: InboundEvent = { ...relayed(), conversation: { channel: 'chatwoot', account: '7', userId: '4411' } } as InboundEvent;
    expect(withAccount(own, 'cw-b', 'chatwoot')).toMatchObject({ conversation: { channel: 'chatwoot', accountId: 'cw-b' } });
  });
});
