/**
 * The analytics console in a real headless Chromium over a real PostgreSQL: two weeks of a
 * deterministic record on four channels → the page shows the range's figures (the same numbers the
 * API computes) and draws every chart with Chart.js served from node_modules; the range picker and
 * the channel filter reload it; an empty range says so. Runs under the admin's CSP (a violation or a
 * script error fails the test) and saves reports/admin-analytics.png.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { Redis } from 'ioredis';
import { createMetricsRegistry, silentLogger } from '@switchboard/core';
import { createRedis, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import { RecordAnalytics, type AnalyticsReport } from '@switchboard/record';
import { openStore, sql, tsvectorLiteral, type Insertable, type RecEventTable, type RecMessageTable, type RecStatusTable, type RecTurnTable, type Store } from '@switchboard/store';
import { createTestDatabase, dropPrefix, testRedisUrl, uniquePrefix, type TestDatabase } from '@switchboard/testkit';
import { createAdminApp } from './app';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const REPORTS = resolve(__dirname, '..', '..', '..', 'reports');

if (!hasChromium) process.stderr.write(`admin analytics browser test skipped: ${CHROMIUM} not found (apt-get install -y chromium)\n`);
const describeBrowser = hasChromium ? describe : describe.skip;

jest.setTimeout(90_000);

const AUTH = { user: 'ops', password: 'analytics browser password' };
const CHANNELS = ['whatsapp', 'telegram', 'wechat-kf', 'chatwoot'];
const REASONS = ['customer_request', 'negative_sentiment', 'llm_error', 'keyword'];
const CODES: Record<string, Array<[number, string]>> = {
  whatsapp: [
    [131026, 'Message undeliverable'],
    [131047, 'Re-engagement message'],
  ],
  telegram: [[403, 'Forbidden: bot was blocked by the user']],
  'wechat-kf': [[95018, 'session closed']],
  chatwoot: [],
};
const FIRST_DAY = Date.UTC(2026, 10, 1);
const DAYS = 14;
const CHART_IDS = ['conversations', 'messages', 'rates', 'reasons', 'frt', 'failures', 'cost', 'tokens', 'models', 'outcomes'].map((c) => `chart-${c}`);

/**
 * Two weeks of traffic, a pure function of (day, channel, conversation): replies after 0.8–8.4 s,
 * every 6th conversation handed to a human (who answers), every 11th unanswered, every 9th
 * reply's delivery failed, turns on two models plus FAQ and cache answers.
 */
async function seed(store: Store): Promise<void> {
  const conversations: Array<{ id: string; channel: string; had_human: boolean }> = [];
  const messages: Insertable<RecMessageTable>[] = [];
  const turns: Insertable<RecTurnTable>[] = [];
  const events: Insertable<RecEventTable>[] = [];
  const statuses: Insertable<RecStatusTable>[] = [];
  let n = 0;
  const msg = (conversationId: string, direction: 'in' | 'out', author: 'customer' | 'bot' | 'human', at: number, providerMessageId: string | null = null) => {
    const text = `${author} message ${++n}`;
    messages.push({ id: `m${n}`, conversation_id: conversationId, direction, author, origin: null, content_type: 'text', text, terms: sql`${tsvectorLiteral(text)}::tsvector`, media: null, provider_message_id: providerMessageId, turn_id: null, at: new Date(at) });
  };
  for (let i = 0; i < DAYS; i++) {
    CHANNELS.forEach((channel, j) => {
      const count = 2 + ((i * 3 + j * 5 + (i > 9 ? 3 : 0)) % 6) + (channel === 'whatsapp' ? 3 : 0);
      for (let k = 0; k < count; k++) {
        const id = `${channel}-${i}-${k}`;
        const start = FIRST_DAY + i * 86_400_000 + (8 + ((k * 5 + j) % 12)) * 3_600_000 + k * 60_000;
        const handoff = (i + k + j) % 6 === 0;
        const unanswered = !handoff && (i * k + j) % 11 === 5;
        conversations.push({ id, channel, had_human: handoff });
        msg(id, 'in', 'customer', start);
        if (unanswered) continue;
        const delay = 800 + ((i * 7 + k * 13 + j * 3) % 20) * 400 + (handoff ? 60_000 : 0);
        const pmid = `${channel}:${id}:1`;
        msg(id, 'out', 'bot', start + delay, pmid);
        const kind = (i + k * 3 + j) % 10;
        const model = kind < 4 ? 'gpt-4o-mini' : kind < 7 ? 'gpt-4o' : null;
        const outcome = handoff ? 'handoff' : model ? (kind === 6 ? 'apology' : 'answered') : kind === 7 ? 'cache' : 'faq';
        const tokensIn = model ? 600 + ((i * 31 + k * 17) % 900) : 0;
        const tokensOut = model ? 80 + ((i * 13 + k * 7) % 220) : 0;
        const price = model === 'gpt-4o' ? [2.5, 10] : [0.15, 0.6];
        const cost = model ? ((tokensIn * price[0]! + tokensOut * price[1]!) / 1_000_000).toFixed(6) : '0';
        turns.push({ id: `t-${id}`, conversation_id: id, at: new Date(start + delay), outcome, model, variant: null, latency_ms: delay, tokens_in: tokensIn, tokens_out: tokensOut, cost_usd: cost });
        statuses.push({ id: `s-${id}-sent`, channel, provider_message_id: pmid, status: 'sent', error_code: null, error_title: null, at: new Date(start + delay + 500) });
        const codes = CODES[channel]!;
        if ((i + k * 2 + j) % 9 === 0 && codes.length > 0) {
          const [code, title] = codes[(i + k) % codes.length]!;
          statuses.push({ id: `s-${id}-failed`, channel, provider_message_id: pmid, status: 'failed', error_code: code, error_title: title, at: new Date(start + delay + 2000) });
        } else {
          statuses.push({ id: `s-${id}-delivered`, channel, provider_message_id: pmid, status: 'delivered', error_code: null, error_title: null, at: new Date(start + delay + 1500) });
        }
        if (handoff) {
          events.push({ id: `e-${id}`, conversation_id: id, kind: 'handoff', detail: JSON.stringify({ reason: REASONS[(i + k) % REASONS.length] }) as unknown as Record<string, unknown>, at: new Date(start + delay + 1000) });
          msg(id, 'out', 'human', start + delay + 180_000);
        } else if ((k + i) % 3 === 0) {
          msg(id, 'in', 'customer', start + delay + 30_000);
          msg(id, 'out', 'bot', start + delay + 33_000);
        }
      }
    });
  }
  await store.db
    .insertInto('rec_conversation')
    .values(conversations.map((c) => ({ id: c.id, channel: c.channel, provider_account: 'p', customer_id: `cust-${c.id}`, thread_id: null, customer_name: null, handoff_reason: null, had_human: c.had_human, first_message_at: new Date(FIRST_DAY), last_message_at: new Date(FIRST_DAY + DAYS * 86_400_000) })))
    .execute();
  for (let i = 0; i < messages.length; i += 500) await store.db.insertInto('rec_message').values(messages.slice(i, i + 500)).execute();
  await store.db.insertInto('rec_turn').values(turns).execute();
  await store.db.insertInto('rec_event').values(events).execute();
  await store.db.insertInto('rec_status').values(statuses).execute();
}

const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);
const int = (x: number) => x.toLocaleString('en-US');
/** The page's duration format. */
const one = (x: number) => x.toFixed(1).replace(/\.0$/, '');
const dur = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : ms < 60_000 ? `${one(ms / 1000)} s` : ms < 3_600_000 ? `${one(ms / 60_000)} min` : `${one(ms / 3_600_000)} h`);

describeBrowser('analytics console in a real headless browser', () => {
  const prefix = uniquePrefix('anbr');
  let db: TestDatabase;
  let store: Store;
  let analytics: RecordAnalytics;
  let redis: RedisClient;
  let producers: Producers;
  let server: Server;
  let url: string;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  const problems: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('analytics_browser');
    store = await openStore({ url: db.url, log: silentLogger(), poolMax: 3 });
    await seed(store);
    analytics = new RecordAnalytics(store.db);
    redis = createRedis(testRedisUrl(), 'producer');
    redis.on('error', () => undefined);
    await waitReady(redis);
    producers = new Producers(redis, prefix);
    const app = createAdminApp({ log: silentLogger(), registry: createMetricsRegistry({ service: 'analytics-browser-test' }), redis, producers, prefix, auth: AUTH, analytics });
    server = await new Promise<Server>((done) => {
      const s = app.listen(0, '127.0.0.1', () => done(s));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    profile = mkdtempSync(join(tmpdir(), 'sb-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1440, height: 1000 },
      httpCredentials: { username: AUTH.user, password: AUTH.password },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    // nothing but the app itself is fetched: the console works offline
    page.on('request', (r) => {
      if (!r.url().startsWith(url) && !r.url().startsWith('data:')) problems.push(`outside request: ${r.url()}`);
    });
    await page.exposeFunction('reportCspViolation', (v: string) => problems.push(`CSP: ${v}`));
    await page.addInitScript(`document.addEventListener('securitypolicyviolation', (e) => window.reportCspViolation(e.violatedDirective + ' ' + e.blockedURI));`);
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
    await store?.close();
    await db?.drop();
  });

  const ready = () => page.locator('body[data-state="ready"]').waitFor();
  const text = (id: string) => page.getByTestId(id).innerText();
  /** The datasets a chart draws: label and values (read from Chart.js in the page). */
  type Drawn = { labels: string[]; datasets: Array<{ label: string; data: Array<number | null> }> } | null;
  const chartData = (id: string) => page.evaluate<Drawn>(`(() => { const c = window.Chart.getChart(document.getElementById(${JSON.stringify(id)})); return c ? { labels: c.data.labels, datasets: c.data.datasets.map((d) => ({ label: d.label, data: d.data })) } : null; })()`);

  it('shows the range’s figures and draws every chart; the range picker and the channel filter reload it', async () => {
    const expected: AnalyticsReport = await analytics.report({ from: new Date(FIRST_DAY), to: new Date(FIRST_DAY + DAYS * 86_400_000) });
    // the seed has every kind of figure
    expect(expected.resolution.handedOff).toBeGreaterThan(0);
    expect(expected.firstResponse.unanswered).toBeGreaterThan(0);
    expect(expected.failedDeliveries.byCode.length).toBeGreaterThan(2);

    await page.goto(`${url}/admin/analytics?from=2026-11-01&to=2026-11-14`);
    await ready();
    expect(await text('range-label')).toBe('2026-11-01 – 2026-11-14 (UTC)');
    expect(await text('kpi-conversations')).toBe(int(expected.totals.conversations));
    expect(await text('kpi-messages')).toBe(`${int(expected.totals.messagesIn)} / ${int(expected.totals.messagesOut)}`);
    expect(await text('kpi-containment')).toBe(pct(expected.resolution.containmentRate));
    expect(await text('kpi-handoff')).toBe(pct(expected.resolution.handoffRate));
    expect(await text('kpi-failed')).toBe(int(expected.failedDeliveries.total));
    expect(await text('kpi-frt')).toBe(dur(expected.firstResponse.p50!));
    expect(await text('kpi-frt-p95')).toBe(dur(expected.firstResponse.p95!));
    expect(await text('kpi-cost')).toBe(`$${expected.llm.costUsd.toFixed(4)}`);
    expect(await text('kpi-tokens')).toBe(`${int(expected.llm.tokensIn)} tokens in · ${int(expected.llm.tokensOut)} out`);

    // every chart is drawn by Chart.js, with the API's numbers
    for (const id of CHART_IDS) {
      expect({ id, drawn: (await chartData(id)) !== null }).toEqual({ id, drawn: true });
      expect(await page.getByTestId(id).isVisible()).toBe(true);
    }
    const conv = (await chartData('chart-conversations'))!;
    expect(conv.labels).toHaveLength(DAYS);
    expect(conv.labels[0]).toBe('Nov 1');
    expect(conv.datasets.map((d) => d.label)).toEqual([...CHANNELS].sort());
    const wa = conv.datasets.find((d) => d.label === 'whatsapp')!;
    expect(wa.data).toEqual(expected.days.map((d) => d.byChannel.whatsapp?.conversations ?? 0));
    const reasons = (await chartData('chart-reasons'))!;
    expect(reasons.labels).toEqual(expected.handoffReasons.map((r) => r.reason));
    const failures = (await chartData('chart-failures'))!;
    expect(failures.labels).toHaveLength(expected.failedDeliveries.byCode.length);
    const outcomes = (await chartData('chart-outcomes'))!;
    expect(outcomes.datasets[0]!.data).toEqual(Object.values(expected.turns.byOutcome));

    mkdirSync(REPORTS, { recursive: true });
    await page.screenshot({ path: join(REPORTS, 'admin-analytics.png'), fullPage: true });

    // the last 7 days (the preset counts back from `to`)
    await page.getByRole('button', { name: '7 days' }).click();
    await ready();
    await page.getByTestId('range-label').getByText('2026-11-08 – 2026-11-14 (UTC)').waitFor();
    const week = await analytics.report({ from: new Date(FIRST_DAY + 7 * 86_400_000), to: new Date(FIRST_DAY + DAYS * 86_400_000) });
    expect(await text('kpi-conversations')).toBe(int(week.totals.conversations));
    expect((await chartData('chart-conversations'))!.labels).toHaveLength(7);
    expect(page.url()).toContain('from=2026-11-08');

    // one channel
    await page.getByTestId('channel').selectOption('telegram');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByTestId('status').getByText(/on telegram/).waitFor();
    const tg = await analytics.report({ from: new Date(FIRST_DAY + 7 * 86_400_000), to: new Date(FIRST_DAY + DAYS * 86_400_000), channel: 'telegram' });
    expect(await text('kpi-conversations')).toBe(int(tg.totals.conversations));
    expect((await chartData('chart-conversations'))!.datasets.map((d) => d.label)).toEqual(['telegram']);

    // a range without traffic says so instead of drawing empty axes
    await page.getByTestId('channel').selectOption('');
    await page.getByTestId('from').fill('2026-10-01');
    await page.getByTestId('to').fill('2026-10-07');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByTestId('range-label').getByText('2026-10-01 – 2026-10-07 (UTC)').waitFor();
    expect(await text('kpi-conversations')).toBe('0');
    expect(await text('kpi-containment')).toBe('–');
    expect(await page.getByText('No data in this range').count()).toBe(CHART_IDS.length);

    // a refused range is explained
    await page.getByTestId('from').fill('2026-10-09');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByTestId('status').getByText(/`from` must be before `to`/).waitFor();

    expect(problems).toEqual([]);
  });
});
