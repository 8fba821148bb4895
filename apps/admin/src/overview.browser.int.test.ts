import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { Redis } from 'ioredis';
import { conversationId, createMetricsRegistry, silentLogger } from '@switchboard/core';
import { createRedis, Producers, recordChannelEvent, setConversationOwner, waitReady, type RedisClient } from '@switchboard/queue';
import { dropPrefix, testRedisUrl, uniquePrefix } from '@switchboard/testkit';
import { createAdminApp } from './app';
import { readAccountsForConsole } from './env';

/** Debian's chromium (`apt-get install chromium`); the test skips when it is absent. */
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const REPORTS = resolve(__dirname, '..', '..', '..', 'reports');

if (!hasChromium) process.stderr.write(`admin overview browser test skipped: ${CHROMIUM} not found (apt-get install -y chromium)\n`);
const describeBrowser = hasChromium ? describe : describe.skip;

jest.setTimeout(60_000);

const AUTH = { user: 'ops', password: 'overview browser password' };
const SECRETS = ['wa-browser-app-secret-1', 'EAAGbrowserTokenShopDe2', 'tg-browser-webhook-3', '987654321:AAbrowserTelegramToken4xyz'];

describeBrowser('admin overview in a real headless browser', () => {
  const prefix = uniquePrefix('admbr');
  let redis: RedisClient;
  let producers: Producers;
  let server: Server;
  let url: string;
  let dir: string;
  let context: BrowserContext;
  let page: Page;
  let profile: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-admin-browser-'));
    mkdirSync(join(dir, 'agents'));
    writeFileSync(join(dir, 'agents', 'shop-de.yaml'), 'persona: Shop DE\n');
    writeFileSync(
      join(dir, 'accounts.yaml'),
      `accounts:
  - id: shop-de
    channel: whatsapp
    title: Shop Germany
    agent: agents/shop-de.yaml
    appSecret: ${SECRETS[0]}
    accessToken: \${SHOP_DE_TOKEN}
    verifyToken: v
    phoneNumberIds: ["106540352242922"]
  - id: tg-shop
    channel: telegram
    title: Shop bot
    botToken: "${SECRETS[3]}"
    webhookSecret: ${SECRETS[2]}
`,
    );
    const accountsFile = readAccountsForConsole(join(dir, 'accounts.yaml'), { SHOP_DE_TOKEN: SECRETS[1] });
    redis = createRedis(testRedisUrl(), 'producer');
    redis.on('error', () => undefined);
    await waitReady(redis);
    producers = new Producers(redis, prefix);
    const now = Date.now();
    await recordChannelEvent(redis, prefix, { channel: 'whatsapp' }, 'in', 4, now);
    await recordChannelEvent(redis, prefix, { channel: 'whatsapp', accountId: 'shop-de' }, 'in', 12, now);
    await recordChannelEvent(redis, prefix, { channel: 'whatsapp', accountId: 'shop-de' }, 'out', 15, now);
    await recordChannelEvent(redis, prefix, { channel: 'telegram', accountId: 'tg-shop' }, 'in', 3, now);
    await setConversationOwner(redis, prefix, conversationId({ channel: 'telegram', accountId: 'tg-shop', account: '987654321', userId: '42' }), 'human', 'customer asked for a person', now, 'tg-shop');
    const app = createAdminApp({ log: silentLogger(), registry: createMetricsRegistry({ service: 'admin-browser-test' }), redis, producers, prefix, auth: AUTH, ...(accountsFile ? { accountsFile } : {}) });
    server = await new Promise<Server>((done) => {
      const s = app.listen(0, '127.0.0.1', () => done(s));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    profile = mkdtempSync(join(tmpdir(), 'sb-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
      httpCredentials: { username: AUTH.user, password: AUTH.password },
    });
    page = context.pages()[0] ?? (await context.newPage());
  });

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await new Promise((done) => server?.close(done));
    await producers?.close();
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
    redis?.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the accounts with their traffic and the human-owned conversation with its account, and no secret', async () => {
    await page.goto(`${url}/admin`);
    const accounts = page.getByTestId('accounts');
    await accounts.waitFor();
    const rowText = async (id: string) => (await accounts.locator('tr', { has: page.locator('code', { hasText: new RegExp(`^${id}$`) }) }).innerText()).split('\t').map((c) => c.trim());
    expect(await rowText('shop-de')).toEqual(['whatsapp', 'shop-de', 'Shop Germany', 'ACCOUNTS_FILE', join(dir, 'agents', 'shop-de.yaml'), '12', '15']);
    expect(await rowText('default')).toEqual(['whatsapp', 'default', '', 'environment', 'AGENT_CONFIG', '4', '0']);
    expect(await rowText('tg-shop')).toEqual(['telegram', 'tg-shop', 'Shop bot', 'ACCOUNTS_FILE', 'AGENT_CONFIG', '3', '0']);
    const owned = await page.getByTestId('human-owned').locator('tr').nth(1).innerText();
    expect(owned).toContain('tg-shop');
    expect(owned).toContain('customer asked for a person');
    const visible = await page.locator('body').innerText();
    for (const secret of SECRETS) expect(visible).not.toContain(secret);

    mkdirSync(REPORTS, { recursive: true });
    await page.screenshot({ path: join(REPORTS, 'admin-overview.png'), fullPage: true });
  });
});
