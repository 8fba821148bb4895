import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { Redis } from 'ioredis';
import { ConfigError, conversationId, createMetricsRegistry, silentLogger } from '@switchboard/core';
import { createRedis, Producers, recordChannelEvent, setConversationOwner, waitReady, type RedisClient } from '@switchboard/queue';
import { dropPrefix, testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { createAdminApp } from './app';
import { readAccountsForConsole } from './env';
import { renderOverviewHtml, type Overview } from './overview';

const AUTH = { user: 'ops', password: 'accounts console password' };
const basic = `Basic ${Buffer.from(`${AUTH.user}:${AUTH.password}`).toString('base64')}`;

/** Every secret of the file below, inline or from the environment: none may reach a page. */
const SECRETS = {
  waAppSecret: 'wa-inline-app-secret-7f3kq',
  waToken: 'EAAGenvTokenQ9zShopDe',
  waVerify: 'verify-inline-x81',
  wxSecret: 'wx-corp-secret-from-env-55',
  wxToken: 'WxCallbackTok3n',
  wxAesKey: 'abcdefghijABCDEFGHIJ0123456789abcdefghijKLM',
  cwBot: 'cw-bot-token-inline-aa1',
  cwApi: 'cw-api-token-from-env-bb2',
  cwHook: 'cw-webhook-secret-cc3',
  tgBot: '123456789:AAtelegramInlineTokenDD4xyz',
  tgHook: 'tg-webhook-secret-ee5',
};

/** What the overview shows per account: ids, channels, titles, the agent file, counts. */
const FILE = `accounts:
  - id: shop-de
    channel: whatsapp
    title: Shop Germany
    agent: agents/shop-de.yaml
    appSecret: ${SECRETS.waAppSecret}
    accessToken: \${SHOP_DE_TOKEN}
    verifyToken: ${SECRETS.waVerify}
    phoneNumberIds: ["106540352242922"]
  - id: cn-kf
    channel: wechat-kf
    corpId: ww1234567890abcdef
    secret: \${CN_KF_SECRET}
    token: ${SECRETS.wxToken}
    aesKey: ${SECRETS.wxAesKey}
  - id: helpdesk
    channel: chatwoot
    title: Helpdesk <EU>
    url: https://chat.example.com
    accountId: "1"
    botToken: ${SECRETS.cwBot}
    apiToken: \${HELPDESK_API_TOKEN}
    webhookSecret: [${SECRETS.cwHook}]
  - id: tg-shop
    channel: telegram
    botToken: "${SECRETS.tgBot}"
    webhookSecret: ${SECRETS.tgHook}
    groupMode: mention
`;

describe('admin overview of accounts (real Redis)', () => {
  const prefix = uniquePrefix('admacc');
  let redis: RedisClient;
  let producers: Producers;
  let app: ReturnType<typeof createAdminApp>;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-admin-accounts-'));
    mkdirSync(join(dir, 'agents'));
    writeFileSync(join(dir, 'agents', 'shop-de.yaml'), 'persona: Shop DE\n');
    writeFileSync(join(dir, 'accounts.yaml'), FILE);
    // the admin's environment lacks HELPDESK_API_TOKEN: the console does not need secrets
    const accountsFile = readAccountsForConsole(join(dir, 'accounts.yaml'), { SHOP_DE_TOKEN: SECRETS.waToken, CN_KF_SECRET: SECRETS.wxSecret });
    redis = createRedis(testRedisUrl(), 'producer');
    redis.on('error', () => undefined);
    await waitReady(redis);
    producers = new Producers(redis, prefix);
    app = createAdminApp({ log: silentLogger(), registry: createMetricsRegistry({ service: 'admin-accounts-test' }), redis, producers, prefix, auth: AUTH, ...(accountsFile ? { accountsFile } : {}) });
  });

  afterAll(async () => {
    await producers.close();
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows messages in/out per channel and account, the configured accounts, and human-owned conversations with their account', async () => {
    const now = Date.now();
    await recordChannelEvent(redis, prefix, { channel: 'whatsapp' }, 'in', 2, now);
    await recordChannelEvent(redis, prefix, { channel: 'whatsapp', accountId: 'shop-de' }, 'in', 3, now);
    await recordChannelEvent(redis, prefix, { channel: 'whatsapp', accountId: 'shop-de' }, 'out', 6, now - 20 * 60_000);
    await recordChannelEvent(redis, prefix, { channel: 'telegram', accountId: 'tg-shop' }, 'in', 1, now);
    await recordChannelEvent(redis, prefix, { channel: 'telegram', accountId: 'tg-old' }, 'in', 4, now); // removed from the file since
    const tgConv = conversationId({ channel: 'telegram', accountId: 'tg-shop', account: '123456789', userId: '42' });
    const waConv = conversationId({ channel: 'whatsapp', account: '1', userId: '2' });
    await setConversationOwner(redis, prefix, tgConv, 'human', 'customer asked for a person', now, 'tg-shop');
    await setConversationOwner(redis, prefix, waConv, 'human', 'handoff', now - 1000);

    const res = await request(app).get('/admin/overview.json').set('Authorization', basic);
    expect(res.status).toBe(200);
    const o = res.body as Overview;
    expect(o.channels).toEqual(expect.arrayContaining([{ channel: 'whatsapp', inLastHour: 5, outLastHour: 6 }, { channel: 'telegram', inLastHour: 5, outLastHour: 0 }]));
    expect(o.accountsFile).toBe(join(dir, 'accounts.yaml'));
    expect(o.accounts).toEqual([
      { channel: 'whatsapp', id: 'default', source: 'environment', inLastHour: 2, outLastHour: 0 },
      { channel: 'whatsapp', id: 'shop-de', title: 'Shop Germany', agent: join(dir, 'agents', 'shop-de.yaml'), source: 'file', inLastHour: 3, outLastHour: 6 },
      { channel: 'wechat-kf', id: 'cn-kf', source: 'file', inLastHour: 0, outLastHour: 0 },
      { channel: 'chatwoot', id: 'helpdesk', title: 'Helpdesk <EU>', source: 'file', inLastHour: 0, outLastHour: 0 },
      { channel: 'telegram', id: 'tg-old', source: 'unlisted', inLastHour: 4, outLastHour: 0 },
      { channel: 'telegram', id: 'tg-shop', source: 'file', inLastHour: 1, outLastHour: 0 },
    ]);
    expect(o.humanOwned).toEqual({
      count: 2,
      conversations: [
        { conversationId: tgConv, channel: 'telegram', accountId: 'tg-shop', reason: 'customer asked for a person', since: now },
        { conversationId: waConv, channel: 'whatsapp', reason: 'handoff', since: now - 1000 },
      ],
    });

    const html = await request(app).get('/admin').set('Authorization', basic);
    expect(html.status).toBe(200);
    const row = (cells: string[]) => new RegExp(cells.map((c) => `<td(?: class="bad")?>(?:<code>)?${c}(?:</code>)?</td>`).join(''));
    expect(html.text).toMatch(row(['whatsapp', 'shop-de', 'Shop Germany', 'ACCOUNTS_FILE', join(dir, 'agents', 'shop-de.yaml'), '3', '6']));
    expect(html.text).toMatch(row(['whatsapp', 'default', '', 'environment', 'AGENT_CONFIG', '2', '0']));
    expect(html.text).toContain('Helpdesk &lt;EU&gt;');
    expect(html.text).toContain('not in ACCOUNTS_FILE (removed?)');
    expect(html.text).toMatch(row([tgConv, 'telegram', 'tg-shop', 'customer asked for a person']));
    expect(html.text).toMatch(row([waConv, 'whatsapp', 'default', 'handoff']));
  });

  it('never shows a secret of ACCOUNTS_FILE, inline or from the environment, in the JSON or the HTML', async () => {
    const pages = await Promise.all(['/admin/overview.json', '/admin'].map((path) => request(app).get(path).set('Authorization', basic)));
    for (const page of pages) {
      expect(page.status).toBe(200);
      for (const [name, secret] of Object.entries(SECRETS)) {
        expect({ name, found: page.text.includes(secret) }).toEqual({ name, found: false });
      }
    }
    // the accounts are there, so the check above looked at a page that lists them
    expect(pages[0]!.text).toContain('tg-shop');
    expect(pages[1]!.text).toContain('cn-kf');
  });

  it('refuses a broken file at start, naming every problem and no value', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, `accounts:\n  - id: Shop_DE\n    channel: whatsapp\n    appSecret: ${SECRETS.waAppSecret}\n  - id: default\n    channel: telegram\n  - id: x\n    channel: line\n    token: ${SECRETS.tgHook}\n`);
    let err: unknown;
    try {
      readAccountsForConsole(bad, {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    expect(problems).toMatch(/accounts\[0\]\.id: must match/);
    expect(problems).toMatch(/accounts\[1\].*"default"/);
    expect(problems).toMatch(/accounts\[2\] \(x\)\.channel: must be one of/);
    for (const secret of Object.values(SECRETS)) expect(problems).not.toContain(secret);
    expect(readAccountsForConsole(undefined)).toBeUndefined();
  });
});

describe('accounts table', () => {
  it("shows the file's mirror key when an account names one, and no column otherwise", () => {
    const base = { generatedAt: 0, channels: [], queues: [], humanOwned: { count: 0, conversations: [] } };
    const row = { channel: 'whatsapp', source: 'file' as const, inLastHour: 1, outLastHour: 2 };
    const withMirror = renderOverviewHtml({ ...base, accounts: [{ ...row, id: 'shop-de', mirror: 'helpdesk' }, { ...row, id: 'shop-fr' }] }, { sandbox: false });
    expect(withMirror).toContain('<th>mirrored to</th>');
    expect(withMirror).toMatch(/<code>shop-de<\/code><\/td>.*<td>helpdesk<\/td><td>1<\/td><td>2<\/td>/);
    expect(renderOverviewHtml({ ...base, accounts: [{ ...row, id: 'shop-fr' }] }, { sandbox: false })).not.toContain('mirrored to');
  });
});
