import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { ChannelId } from '@switchboard/core';
import { loadAgentConfig } from '@switchboard/agent';
import { CHANNELS } from '@switchboard/channels';
import { loadAccountsFile } from './compose';

const ROOT = join(__dirname, '..', '..', '..');
const EXAMPLE = join(ROOT, 'config', 'accounts.example.yaml');

/** Dummy values of every `${NAME}` of the example, each in its key's format. */
const ENV = {
  SHOP_DE_APP_SECRET: 'de-app-secret',
  SHOP_DE_ACCESS_TOKEN: 'EAAGde',
  SHOP_DE_VERIFY_TOKEN: 'de-verify',
  SHOP_FR_APP_SECRET: 'fr-app-secret',
  SHOP_FR_ACCESS_TOKEN: 'EAAGfr',
  SHOP_FR_VERIFY_TOKEN: 'fr-verify',
  CN_KF_SECRET: 'kf-secret',
  CN_KF_TOKEN: 'CallbackToken1',
  CN_KF_AESKEY: 'abcdefghijABCDEFGHIJ0123456789abcdefghijKLM',
  HELPDESK_BOT_TOKEN: 'bot-token',
  HELPDESK_API_TOKEN: 'api-token',
  HELPDESK_BOT_WEBHOOK_SECRET: 'bot-hook',
  HELPDESK_INBOX_WEBHOOK_SECRET: 'inbox-hook',
  TG_SHOP_BOT_TOKEN: '123456789:AAexampleTelegramBotTokenXYZ',
  TG_SHOP_WEBHOOK_SECRET: 'tg-hook-secret',
};

describe('config/accounts.example.yaml', () => {
  const text = readFileSync(EXAMPLE, 'utf8');

  it("parses with every channel's schema (as the worker checks it at start)", () => {
    const file = loadAccountsFile({ ACCOUNTS_FILE: EXAMPLE }, ENV);
    expect(file?.entries.map((e) => [e.channel, e.id])).toEqual([
      ['whatsapp', 'shop-de'],
      ['whatsapp', 'shop-fr'],
      ['wechat-kf', 'cn-kf'],
      ['chatwoot', 'helpdesk'],
      ['telegram', 'tg-shop'],
    ]);
    // every channel is in the example, and its agent file is a valid AGENT_CONFIG
    expect(new Set(file?.entries.map((e) => e.channel))).toEqual(new Set(ChannelId.options));
    const agent = file?.entries.find((e) => e.id === 'shop-de')?.agent;
    expect(agent).toBe(join(ROOT, 'config', 'agents', 'shop-de.example.yaml'));
    expect(loadAgentConfig(agent, {}).access).toMatchObject({ disallowedPolicy: 'refuse', allowedUsers: ['4915112345678', '4917698765432'] });
  });

  it('shows every key of every channel (a key added to a channel schema must be documented here)', () => {
    const file = loadAccountsFile({ ACCOUNTS_FILE: EXAMPLE }, ENV)!;
    for (const channel of ChannelId.options) {
      const shape = (CHANNELS[channel].accountFileSchema as z.ZodObject).shape;
      const used = new Set(file.entries.filter((e) => e.channel === channel).flatMap((e) => Object.keys(e.fields)));
      expect({ channel, keys: [...used].sort() }).toEqual({ channel, keys: Object.keys(shape).sort() });
    }
  });

  it('takes every secret from the environment: it references exactly the variables given here', () => {
    const names = [...text.slice(text.indexOf('accounts:\n')).matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((m) => m[1]);
    expect(new Set(names)).toEqual(new Set(Object.keys(ENV)));
    expect(() => loadAccountsFile({ ACCOUNTS_FILE: EXAMPLE }, {})).toThrow(/SHOP_DE_APP_SECRET is not set/);
  });

  it('is the example shown in docs/accounts.md', () => {
    const docs = readFileSync(join(ROOT, 'docs', 'accounts.md'), 'utf8');
    const block = /```yaml\n(accounts:\n[\s\S]*?)```/.exec(docs)?.[1];
    expect(block).toBe(text.slice(text.indexOf('accounts:\n')));
  });
});
