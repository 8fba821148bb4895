/**
 * The conversation console in a real headless Chromium over a real PostgreSQL, Redis and the worker
 * pipeline (fake Graph API): the list with filters, Chinese search and paging; one conversation's
 * timeline with statuses (a failed delivery's error code), handoffs and per-turn model, latency,
 * tokens, cost, tools and sources; then take over, reply as a person (it reaches the customer
 * through the worker's outbound role) and hand back — under the admin's CSP (a violation fails).
 * The record's rows are seeded: the writer is not what is tested here.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { conversationId, createMetricsRegistry, silentLogger, type ConversationRef } from '@switchboard/core';
import { createRedis, getConversationOwner, OptOutStore, optOutRefOf, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import { RecordReader } from '@switchboard/record';
import { openStore, type Store } from '@switchboard/store';
import { createTestDatabase, seedRecord, waitFor, type SeedConversation, type SeedMessage, type TestDatabase } from '@switchboard/testkit';
import { startPipeline, type Pipeline } from '@switchboard/worker/testing';
import { createAdminApp } from './app';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const REPORTS = resolve(__dirname, '..', '..', '..', 'reports');

if (!hasChromium) process.stderr.write(`admin conversations browser test skipped: ${CHROMIUM} not found (apt-get install -y chromium)\n`);
const describeBrowser = hasChromium ? describe : describe.skip;

jest.setTimeout(120_000);

const AUTH = { user: 'ops', password: 'conversations browser password' };
const NOW = Date.now();
const ago = (minutes: number) => new Date(NOW - minutes * 60_000);

const ADA: ConversationRef = { channel: 'whatsapp', account: '106540352242922', userId: '4915112345678', displayName: 'Ada Lovelace' };
const ADA_ID = conversationId(ADA);
const WANG: ConversationRef = { channel: 'wechat-kf', accountId: 'cn-kf', account: 'wkShop01', userId: 'wmWang01' };
const WANG_ID = conversationId(WANG);

function seed(): Parameters<typeof seedRecord>[1] {
  const conversations: SeedConversation[] = [
    { id: ADA_ID, channel: 'whatsapp', providerAccount: ADA.account, customerId: ADA.userId, customerName: 'Ada Lovelace', hadHuman: true },
    { id: WANG_ID, channel: 'wechat-kf', account: 'cn-kf', providerAccount: WANG.account, customerId: WANG.userId, customerName: '王小明' },
  ];
  const messages: SeedMessage[] = [
    { id: 'in:ada:1', conversationId: ADA_ID, direction: 'in', author: 'customer', text: 'Hi! Do you ship to Austria, and how long does it take?', at: ago(50) },
    { id: 'out:ada:1:0', conversationId: ADA_ID, direction: 'out', author: 'bot', origin: 'agent', text: 'Yes, we ship to Austria. Delivery takes 2–4 working days.', at: ago(49.6), providerMessageId: 'wamid.ada1', turnId: 'turn:ada:1' },
    { id: 'out:ada:1:1', conversationId: ADA_ID, direction: 'out', author: 'bot', origin: 'agent', text: 'Anything else I can help with?', at: ago(49.5), providerMessageId: 'wamid.ada2', turnId: 'turn:ada:1' },
    { id: 'in:ada:2', conversationId: ADA_ID, direction: 'in', author: 'customer', text: 'My last parcel arrived broken. I want to talk to a person.', at: ago(40) },
    { id: 'out:ada:2:0', conversationId: ADA_ID, direction: 'out', author: 'bot', origin: 'agent', text: 'I am sorry to hear that. A colleague will take over shortly.', at: ago(39.7), providerMessageId: 'wamid.ada3', turnId: 'turn:ada:2' },
    { id: 'in:ada:3', conversationId: ADA_ID, direction: 'in', author: 'customer', text: '', contentType: 'image', media: { kind: 'image', mimeType: 'image/jpeg', sizeBytes: 184_320 }, at: ago(39) },
    { id: 'out:ada:h1', conversationId: ADA_ID, direction: 'out', author: 'human', origin: 'human', text: 'Hello Ada, Carla here. I have sent you a replacement.', at: ago(20), providerMessageId: 'wamid.ada4' },
    { id: 'in:wang:1', conversationId: WANG_ID, direction: 'in', author: 'customer', text: '你好，退货期限是多久？', at: ago(30) },
    { id: 'out:wang:1:0', conversationId: WANG_ID, direction: 'out', author: 'bot', origin: 'agent', text: '您好！收到商品后30天内可以退货。', at: ago(29.8), providerMessageId: 'wx-msg-1', turnId: 'turn:wang:1' },
  ];
  // 28 more conversations on every channel: more than one page
  const channels = ['telegram', 'chatwoot', 'whatsapp', 'wechat-kf'];
  for (let i = 0; i < 28; i++) {
    const id = `seed-${String(i).padStart(2, '0')}`;
    const channel = channels[i % 4]!;
    conversations.push({ id, channel, providerAccount: `${channel}-main`, customerId: `customer-${1000 + i}`, ...(i % 3 === 0 ? { customerName: `Customer ${i}` } : {}), ...(i % 7 === 3 ? { owner: 'human' as const, handoffReason: 'asked for a person' } : {}) });
    messages.push({ id: `in:${id}`, conversationId: id, direction: 'in', author: 'customer', text: `Question number ${i} about an order`, at: ago(60 + i * 37) });
    messages.push({ id: `out:${id}`, conversationId: id, direction: 'out', author: 'bot', origin: 'agent', text: `Answer ${i}`, at: ago(59.5 + i * 37), providerMessageId: `pm-${id}` });
  }
  return {
    conversations,
    messages,
    statuses: [
      { id: 'st1', channel: 'whatsapp', providerMessageId: 'wamid.ada1', status: 'sent', at: ago(49.5) },
      { id: 'st2', channel: 'whatsapp', providerMessageId: 'wamid.ada1', status: 'read', at: ago(45) },
      { id: 'st3', channel: 'whatsapp', providerMessageId: 'wamid.ada2', status: 'delivered', at: ago(49) },
      { id: 'st4', channel: 'whatsapp', providerMessageId: 'wamid.ada3', status: 'delivered', at: ago(39.5) },
      { id: 'st5', channel: 'whatsapp', providerMessageId: 'wamid.ada4', status: 'failed', errorCode: 131047, errorTitle: 'Re-engagement message', at: ago(19.9) },
      { id: 'st6', channel: 'wechat-kf', providerMessageId: 'wx-msg-1', status: 'sent', at: ago(29.8) },
    ],
    events: [
      { id: 'ev1', conversationId: ADA_ID, kind: 'handoff', at: ago(39.8), detail: { reason: 'customer asked for a person' } },
      { id: 'ev2', conversationId: ADA_ID, kind: 'resume', at: ago(10), detail: { reason: 'handed back in Chatwoot' } },
    ],
    turns: [
      { id: 'turn:ada:1', conversationId: ADA_ID, at: ago(49.8), outcome: 'answered', model: 'gpt-4o-mini', variant: 'b', latencyMs: 1840, tokensIn: 1210, tokensOut: 46, costUsd: 0.000209, tools: ['search_knowledge'], sources: [{ documentId: 'doc-ship', title: 'Shipping countries', url: 'https://shop.example/shipping' }] },
      { id: 'turn:ada:2', conversationId: ADA_ID, at: ago(39.9), outcome: 'handoff', model: 'gpt-4o-mini', latencyMs: 950, tokensIn: 1402, tokensOut: 18, costUsd: 0.000221, tools: ['handoff_to_human'] },
      { id: 'turn:wang:1', conversationId: WANG_ID, at: ago(29.9), outcome: 'faq', latencyMs: 12 },
    ],
  };
}

describeBrowser('conversation console in a real headless browser', () => {
  let pipeline: Pipeline;
  let db: TestDatabase;
  let store: Store;
  let redis: RedisClient;
  let producers: Producers;
  let server: Server;
  let url: string;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  const problems: string[] = [];

  beforeAll(async () => {
    pipeline = await startPipeline({ roles: ['inbound', 'outbound'] });
    db = await createTestDatabase('rec_browser');
    store = await openStore({ url: db.url, log: silentLogger(), poolMax: 3 });
    await seedRecord(store.db, seed());
    redis = createRedis(pipeline.env.REDIS_URL, 'producer');
    redis.on('error', () => undefined);
    await waitReady(redis);
    producers = new Producers(redis, pipeline.prefix);
    const app = createAdminApp({ log: silentLogger(), registry: createMetricsRegistry({ service: 'rec-browser-test' }), redis, producers, prefix: pipeline.prefix, auth: AUTH, record: new RecordReader(store.db) });
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
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.exposeFunction('reportCspViolation', (v: string) => problems.push(`CSP: ${v}`));
    await page.addInitScript(`document.addEventListener('securitypolicyviolation', (e) => window.reportCspViolation(e.violatedDirective + ' ' + e.blockedURI));`);
  });

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await new Promise((done) => server?.close(done));
    await producers?.close();
    redis?.disconnect();
    await pipeline?.close();
    await store?.close();
    await db?.drop();
  });

  const rows = () => page.getByTestId('conversation');

  it('lists, filters, searches (Chinese too) and pages', async () => {
    await page.goto(`${url}/admin/conversations`);
    await page.getByRole('heading', { name: 'Conversations', level: 1 }).waitFor();
    await waitFor(async () => (await rows().count()) === 25);
    expect(await rows().first().getByTestId('row-link').innerText()).toBe('Ada Lovelace');
    expect(await page.getByTestId('page-note').innerText()).toBe('page 1');
    mkdirSync(REPORTS, { recursive: true });
    await page.screenshot({ path: join(REPORTS, 'admin-conversations.png'), fullPage: true });

    await page.getByTestId('next-page').click();
    await waitFor(async () => (await page.getByTestId('page-note').innerText()) === 'page 2 (last)');
    expect(await rows().count()).toBe(5);
    await page.getByTestId('first-page').click();
    await waitFor(async () => (await rows().count()) === 25);

    await page.getByTestId('q').fill('退货');
    await page.getByTestId('apply').click();
    await waitFor(async () => (await rows().count()) === 1);
    expect(await rows().first().getByTestId('row-link').innerText()).toBe('王小明');
    expect(page.url()).toContain(`q=${encodeURIComponent('退货')}`);

    await page.getByTestId('q').fill('order');
    await page.getByTestId('channel').selectOption('telegram');
    await waitFor(async () => (await rows().count()) === 7);
    expect(new Set(await rows().getByTestId('row-channel').allInnerTexts())).toEqual(new Set(['telegram']));
    await page.getByTestId('owner').selectOption('human');
    await waitFor(async () => (await rows().count()) === 1);
    expect(await rows().first().getByTestId('row-link').innerText()).toBe('Customer 24');
    expect(await rows().first().getByTestId('row-owner').innerText()).toBe('human');

    // the address keeps the filters
    await page.reload();
    await waitFor(async () => (await rows().count()) === 1);
    expect(await page.getByTestId('channel').inputValue()).toBe('telegram');
    expect(await page.getByTestId('owner').inputValue()).toBe('human');
    await page.getByTestId('q').fill('quantum');
    await page.getByTestId('apply').click();
    await page.getByTestId('no-conversations').waitFor();
    await page.getByTestId('clear').click();
    await waitFor(async () => (await rows().count()) === 25);
    expect(await page.getByTestId('export').getAttribute('href')).toBe('/admin/conversations/api/export?format=jsonl');
  });

  it('shows a timeline with statuses, handoffs and bot turns, and takes over, replies and hands back through the pipeline', async () => {
    await rows().filter({ hasText: 'Ada Lovelace' }).getByTestId('row-link').click();
    await page.waitForURL(`${url}/admin/conversations/${ADA_ID}`);
    await waitFor(async () => (await page.getByTestId('message').count()) === 7);
    const texts = await page.getByTestId('message').allInnerTexts();
    expect(texts[0]).toContain('Do you ship to Austria');
    expect(await page.getByTestId('msg-status').allInnerTexts()).toEqual(['read', 'delivered', 'delivered', 'failed · error 131047 Re-engagement message']);
    expect(await page.getByTestId('event').allInnerTexts()).toEqual([expect.stringMatching(/^Handed to a person: customer asked for a person/), expect.stringMatching(/^Back to the bot: handed back in Chatwoot/)]);
    const turn = page.getByTestId('turn').first();
    expect(await turn.getByTestId('turn-model').innerText()).toBe('gpt-4o-mini (variant b)');
    expect(await turn.getByTestId('turn-latency').innerText()).toBe('1.84 s');
    expect(await turn.getByTestId('turn-tokens').innerText()).toBe('1210 → 46 tokens');
    expect(await turn.getByTestId('turn-cost').innerText()).toBe('$0.000209');
    expect(await turn.getByTestId('turn-tools').innerText()).toBe('tools: search_knowledge');
    expect(await turn.getByTestId('turn-sources').getByRole('link', { name: 'Shipping countries' }).getAttribute('href')).toBe('https://shop.example/shipping');
    expect(await page.getByTestId('fact-messages').innerText()).toBe('7');
    expect(await page.getByTestId('owner').innerText()).toBe('the bot answers');
    expect(await page.getByTestId('handback').isDisabled()).toBe(true);
    await page.screenshot({ path: join(REPORTS, 'admin-conversation.png'), fullPage: true });

    // take over: a signal on the inbound queue; the inbound role makes the conversation human-owned
    await page.getByTestId('takeover').click();
    await page.getByTestId('status').getByText('You own the conversation').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('owner').innerText()).toBe('a person owns it (paused)');
    expect((await getConversationOwner(redis, pipeline.prefix, ADA_ID)).owner).toBe('human');

    // a reply as a person: the outbound role sends it on the customer's channel
    await page.getByTestId('reply').fill('Hello Ada, your replacement ships today.');
    await page.getByTestId('send').click();
    await page.getByTestId('status').getByText('Reply queued for the customer').waitFor({ timeout: 20_000 });
    await waitFor(() => pipeline.graph.textsTo(ADA.userId).includes('Hello Ada, your replacement ships today.'), 20_000, 'the reply at the fake Graph API');
    expect(pipeline.graph.sent.filter((m) => m.phoneNumberId === ADA.account)).toHaveLength(1);
    expect(await page.getByTestId('reply').inputValue()).toBe('');

    // hand back
    await page.getByTestId('handback').click();
    await page.getByTestId('status').getByText('Handed back').waitFor({ timeout: 20_000 });
    expect((await getConversationOwner(redis, pipeline.prefix, ADA_ID)).owner).toBe('bot');
    expect(await page.getByTestId('owner').innerText()).toBe('the bot answers');

    // take over for 15 minutes: the owner record carries its expiry, the bot answers again by itself
    await page.getByTestId('takeover-minutes').selectOption('15');
    await page.getByTestId('takeover').click();
    await page.getByTestId('status').getByText('for 15 minutes').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('owner').innerText()).toMatch(/^a person owns it \(paused\) until /);
    const until = (await getConversationOwner(redis, pipeline.prefix, ADA_ID)).record?.until ?? 0;
    expect(until - Date.now()).toBeGreaterThan(14 * 60_000);
    expect(until - Date.now()).toBeLessThanOrEqual(15 * 60_000);
    await page.screenshot({ path: join(REPORTS, 'admin-conversation-paused.png') });
    await page.getByTestId('handback').click();
    await page.getByTestId('status').getByText('Handed back').waitFor({ timeout: 20_000 });
    expect((await getConversationOwner(redis, pipeline.prefix, ADA_ID)).owner).toBe('bot');

    // an opted-out customer (STOP, or WhatsApp's marketing preferences) is shown as such
    expect(await page.getByTestId('opt-out').isVisible()).toBe(false);
    await new OptOutStore(redis, pipeline.prefix).optOut(optOutRefOf(ADA), 'keyword', { at: Date.parse('2026-05-04T10:00:00Z') });
    await page.reload();
    await page.getByTestId('opt-out').getByText('opted out').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('opt-out').innerText()).toBe('opted out since 2026-05-04');
    expect(await page.getByTestId('owner').innerText()).toBe('the bot answers');
    await page.screenshot({ path: join(REPORTS, 'admin-conversation-opted-out.png') });

    await page.goto(`${url}/admin/conversations/whatsapp-unknown`);
    await page.getByTestId('status').getByText('No such conversation').waitFor();

    expect(problems).toEqual([]);
  });
});
