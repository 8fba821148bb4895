import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { accountFileProblems, accountsOfChannel, ConfigError, defineAccountFile, describeAccounts, readAccountsFile, withAccount, conversationId, type InboundEvent } from './index';

const dir = mkdtempSync(join(tmpdir(), 'sb-accounts-'));
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const problemsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

const telegramLike = defineAccountFile(z.strictObject({ botToken: z.string().regex(/^\d+:\w+$/), webhookSecret: z.string().min(1) }), (f, entry, env: { rate: number }) => ({ token: f.botToken, rate: env.rate, title: entry.title }));

describe('ACCOUNTS_FILE', () => {
  writeFileSync(join(dir, 'agent-de.yaml'), 'businessName: Shop DE\n');

  it('reads YAML with ${ENV} references and resolves agent paths from the file directory', () => {
    const path = write('accounts.yaml', ['accounts:', '  - id: tg-shop', '    channel: telegram', '    title: Shop bot', '    agent: agent-de.yaml', '    botToken: ${TG_TOKEN}', '    webhookSecret: s3cret'].join('\n'));
    const file = readAccountsFile(path, { TG_TOKEN: '123:abc' });
    expect(file.entries).toEqual([{ id: 'tg-shop', channel: 'telegram', title: 'Shop bot', agent: join(dir, 'agent-de.yaml'), fields: { botToken: '123:abc', webhookSecret: 's3cret' }, where: 'accounts[0] (tg-shop)' }]);
    expect(accountsOfChannel(file, 'telegram', telegramLike, { rate: 7 })).toEqual([{ id: 'tg-shop', settings: { token: '123:abc', rate: 7, title: 'Shop bot' }, entry: file.entries[0] }]);
    expect(accountsOfChannel(file, 'whatsapp', telegramLike, { rate: 7 })).toEqual([]);
    expect(describeAccounts(file)).toEqual([{ id: 'tg-shop', channel: 'telegram', title: 'Shop bot', agent: join(dir, 'agent-de.yaml') }]);
  });

  it('reads JSON', () => {
    const path = write('accounts.json', JSON.stringify({ accounts: [{ id: 'a1', channel: 'telegram', botToken: '1:x', webhookSecret: 'y' }] }));
    expect(readAccountsFile(path, {}).entries.map((e) => e.id)).toEqual(['a1']);
  });

  it("names shared and channel problems in one error (the channel's check runs on every entry with a valid id and channel)", () => {
    const path = write(
      'mixed.yaml',
      ['accounts:', '  - id: Bad_Id', '    channel: telegram', '  - id: tg-a', '    channel: telegram', '    botToken: ${UNSET_TG_TOKEN}', '    webhookSecret: ""', '  - id: tg-b', '    channel: telegram', '    botToken: leaky-value', '    webhookSecret: x', '    extra: 1'].join('\n'),
    );
    const problems = problemsOf(() => readAccountsFile(path, {}, (file) => accountFileProblems(file, 'telegram', telegramLike.schema)));
    expect(problems).toEqual([
      expect.stringMatching(/accounts\[0\]\.id: must match/),
      expect.stringMatching(/accounts\[1\] \(tg-a\)\.botToken: environment variable UNSET_TG_TOKEN is not set/),
      expect.stringMatching(/accounts\[1\] \(tg-a\)\.botToken: /),
      expect.stringMatching(/accounts\[1\] \(tg-a\)\.webhookSecret: /),
      expect.stringMatching(/accounts\[2\] \(tg-b\)\.botToken: /),
      expect.stringMatching(/accounts\[2\] \(tg-b\): Unrecognized key: "extra"/),
    ]);
    expect(problems.every((p) => p.startsWith(`ACCOUNTS_FILE ${path}: `))).toBe(true);
    expect(problems.join('\n')).not.toContain('leaky-value');
  });

  it('names every shared problem at once, never a value', () => {
    const path = write(
      'bad.yaml',
      [
        'accounts:',
        '  - id: Shop_DE',
        '    channel: whatsapp',
        '  - id: ok-1',
        '    channel: signal',
        '  - id: default',
        '    channel: telegram',
        '  - id: twice',
        '    channel: telegram',
        '    botToken: ${NOT_SET_ANYWHERE}',
        '  - id: twice',
        '    channel: telegram',
        '    agent: missing.yaml',
        '  - 42',
      ].join('\n'),
    );
    const problems = problemsOf(() => readAccountsFile(path, {}));
    expect(problems).toHaveLength(7);
    expect(problems.join('\n')).toContain('accounts[0].id: must match [a-z0-9-]{1,40}');
    expect(problems.join('\n')).toContain('accounts[1] (ok-1).channel: must be one of whatsapp, wechat-kf, chatwoot, telegram');
    expect(problems.join('\n')).toContain('accounts[2] (default).id: "default" is the account');
    expect(problems.join('\n')).toContain('accounts[3] (twice).botToken: environment variable NOT_SET_ANYWHERE is not set');
    expect(problems.join('\n')).toContain('accounts[4] (twice).id: telegram account "twice" is listed twice');
    expect(problems.join('\n')).toContain('accounts[4] (twice).agent: file');
    expect(problems.join('\n')).toContain('accounts[5]: expected an object');
  });

  it("names every problem of a channel's own keys, without the values", () => {
    const path = write('keys.yaml', ['accounts:', '  - id: a', '    channel: telegram', '    botToken: not-a-token-SECRETVALUE', '    extra: 1', '  - id: b', '    channel: telegram', '    botToken: "1:x"'].join('\n'));
    const file = readAccountsFile(path, {});
    const problems = problemsOf(() => accountsOfChannel(file, 'telegram', telegramLike, { rate: 1 }));
    expect(problems.some((p) => p.includes('accounts[0] (a).botToken'))).toBe(true);
    expect(problems.some((p) => p.includes('accounts[0] (a)') && p.includes('extra'))).toBe(true);
    expect(problems.some((p) => p.includes('accounts[1] (b).webhookSecret'))).toBe(true);
    expect(problems.join('\n')).not.toContain('SECRETVALUE');
  });

  it('refuses an unreadable file and a file without a list', () => {
    expect(problemsOf(() => readAccountsFile(join(dir, 'nope.yaml'), {}))[0]).toMatch(/cannot be read/);
    expect(problemsOf(() => readAccountsFile(write('empty.yaml', 'accounts: 3\n'), {}))[0]).toMatch(/expected a list under "accounts"/);
    expect(problemsOf(() => readAccountsFile(write('broken.json', '{"accounts": ['), {}))[0]).toMatch(/cannot be read/);
  });

  it('never quotes the text of a JSON file it cannot parse (Node quotes the text around the error)', () => {
    const problems = problemsOf(() => readAccountsFile(write('leaky.json', '{"accounts": [{"id": "a", "channel": "telegram", "botToken": hunter2-SECRETVALUE}]}'), {}));
    expect(problems).toEqual([expect.stringMatching(/leaky\.json: cannot be read \(not valid JSON\)$/)]);
  });

  it("with a check, one report names the shared problems and the channels' own key problems", () => {
    const path = write('both.yaml', ['accounts:', '  - id: Bad', '    channel: telegram', '  - id: a', '    channel: telegram', '    botToken: not-a-token-SECRETVALUE', '  - id: b', '    channel: telegram', '    botToken: "1:x"', '    webhookSecret: s'].join('\n'));
    const problems = problemsOf(() => readAccountsFile(path, {}, (file) => accountFileProblems(file, 'telegram', telegramLike.schema)));
    expect(problems).toHaveLength(3);
    expect(problems[0]).toContain('accounts[0].id: must match');
    expect(problems[1]).toContain('accounts[1] (a).botToken');
    expect(problems[2]).toContain('accounts[1] (a).webhookSecret');
    for (const p of problems) expect(p.startsWith(`ACCOUNTS_FILE ${path}: `)).toBe(true);
    expect(problems.join('\n')).not.toContain('SECRETVALUE');
    expect(readAccountsFile(write('none.yaml', 'accounts: []\n'), {}, () => []).entries).toEqual([]);
  });
});

describe('withAccount', () => {
  const message: InboundEvent = {
    kind: 'message',
    eventId: 'tg-1',
    providerMessageId: '1',
    conversation: { channel: 'telegram', account: '42', userId: '7' },
    sentAt: 1,
    receivedAt: 1,
    content: { type: 'text', text: 'hi' },
    author: 'customer',
  };

  it('leaves the default account untouched and keeps its conversation id', () => {
    expect(withAccount(message, 'default')).toBe(message);
  });

  it('stamps another account on the conversation and qualifies the event id; conversations never collide', () => {
    const stamped = withAccount(message, 'shop-de');
    expect(stamped).toMatchObject({ eventId: 'shop-de.tg-1', conversation: { accountId: 'shop-de' } });
    if (stamped.kind !== 'message' || message.kind !== 'message') throw new Error('kind');
    expect(conversationId(stamped.conversation)).not.toBe(conversationId(message.conversation));
    expect(conversationId({ ...message.conversation, accountId: 'default' })).toBe(conversationId(message.conversation));
    const status = withAccount({ kind: 'status', eventId: 's', channel: 'telegram', account: '42', providerMessageId: 'p', status: 'read', at: 1, errors: [] }, 'shop-de');
    expect(status).toMatchObject({ accountId: 'shop-de', eventId: 'shop-de.s' });
  });
});
