/**
 * The knowledge console in a real headless Chromium over a real PostgreSQL and Redis: upload a
 * file, add a URL and a sitemap, see the list with statuses and chunk counts, ask a question and
 * see the retrieved chunks with their scores, delete — under the admin's CSP (no inline script or
 * style: a violation fails the test). The worker is stood in for by `KnowledgeRepo.replaceChunks`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { Redis } from 'ioredis';
import { createMetricsRegistry, silentLogger } from '@switchboard/core';
import { chunkDocument, KnowledgeBase, KnowledgeRepo } from '@switchboard/knowledge';
import { createRedis, Producers, waitReady, type RedisClient } from '@switchboard/queue';
import { openStore, type Store } from '@switchboard/store';
import { agentKeys, UnansweredQuestions } from '@switchboard/agent';
import { createTestDatabase, dropPrefix, startFakeOpenAI, testRedisUrl, uniquePrefix, waitFor, type FakeOpenAI, type TestDatabase } from '@switchboard/testkit';
import { createPreviewAgents } from './api/preview-agents';
import { createAdminApp } from './app';

/** Debian's chromium (`apt-get install chromium`); the test skips when it is absent. */
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const REPORTS = resolve(__dirname, '..', '..', '..', 'reports');

if (!hasChromium) process.stderr.write(`admin knowledge browser test skipped: ${CHROMIUM} not found (apt-get install -y chromium)\n`);
const describeBrowser = hasChromium ? describe : describe.skip;

jest.setTimeout(90_000);

const AUTH = { user: 'ops', password: 'knowledge browser password' };
const hash = (s: string) => createHash('sha256').update(s).digest('hex');
const RETURNS = '# Returns policy\n\nYou can return any unworn item within 30 days of delivery for a full refund.\n\n# Gift cards\n\nGift cards cannot be refunded or exchanged for cash.';

describeBrowser('knowledge console in a real headless browser', () => {
  const prefix = uniquePrefix('kbbr');
  let db: TestDatabase;
  let store: Store;
  let repo: KnowledgeRepo;
  let redis: RedisClient;
  let producers: Producers;
  let server: Server;
  let url: string;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  let openai: FakeOpenAI;
  let agentDir: string;
  const problems: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('kb_browser');
    store = await openStore({ url: db.url, log: silentLogger(), poolMax: 3 });
    repo = new KnowledgeRepo(store.db, store.vector.mode);
    redis = createRedis(testRedisUrl(), 'producer');
    redis.on('error', () => undefined);
    await waitReady(redis);
    producers = new Producers(redis, prefix);
    openai = await startFakeOpenAI();
    agentDir = mkdtempSync(join(tmpdir(), 'sb-agent-'));
    writeFileSync(join(agentDir, 'agent.yaml'), 'knowledge:\n  grounding: open\n');
    const knowledge = new KnowledgeBase(repo, undefined);
    const previewAgents = createPreviewAgents({
      env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url, LLM_MODEL: 'gpt-4o-mini', LLM_TIMEOUT_MS: 10_000, AGENT_CONFIG: join(agentDir, 'agent.yaml'), VISION_MODEL: undefined },
      redis,
      prefix,
      log: silentLogger(),
      knowledge,
      configEnv: {},
    });
    const app = createAdminApp({ log: silentLogger(), registry: createMetricsRegistry({ service: 'kb-browser-test' }), redis, producers, prefix, auth: AUTH, knowledge, previewAgents });
    server = await new Promise<Server>((done) => {
      const s = app.listen(0, '127.0.0.1', () => done(s));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    profile = mkdtempSync(join(tmpdir(), 'sb-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 1000 },
      httpCredentials: { username: AUTH.user, password: AUTH.password },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      // refused requests (the ftp URL's 400, the absent favicon's 404) are answers, not page faults
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.exposeFunction('reportCspViolation', (v: string) => problems.push(`CSP: ${v}`));
    // runs in the page (a string: the test's own TypeScript has no DOM types)
    await page.addInitScript(`document.addEventListener('securitypolicyviolation', (e) => window.reportCspViolation(e.violatedDirective + ' ' + e.blockedURI));`);
  });

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    if (agentDir) rmSync(agentDir, { recursive: true, force: true });
    await openai?.close();
    await new Promise((done) => server?.close(done));
    await producers?.close();
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
    redis?.disconnect();
    await store?.close();
    await db?.drop();
  });

  it('uploads, adds a URL and a sitemap, lists with status and chunks, answers a test question with scores and the agent\'s answer, deletes', async () => {
    await page.goto(`${url}/admin/knowledge`);
    await page.getByRole('heading', { name: 'Knowledge', level: 1 }).waitFor();
    await page.getByTestId('documents').getByText('No documents yet.').waitFor();

    // upload a file for one account
    await page.getByTestId('account').fill('shop-de');
    await page.getByTestId('file').setInputFiles({ name: 'returns.md', mimeType: 'text/markdown', buffer: Buffer.from(RETURNS) });
    await page.getByTestId('upload-form').getByRole('button', { name: 'Upload' }).click();
    await page.getByTestId('status').getByText(/"returns.md" added/).waitFor();
    const row = page.getByTestId('doc').filter({ hasText: 'returns' });
    await row.waitFor();
    expect(await row.getByTestId('doc-status').innerText()).toBe('pending');

    // a page and a sitemap for every account
    await page.getByTestId('account').fill('');
    await page.getByTestId('url').fill('https://shop.example/shipping');
    await page.getByTestId('url-form').getByRole('button', { name: 'Add' }).click();
    await page.getByTestId('status').getByText(/Page added/).waitFor();
    await page.getByTestId('url').fill('https://shop.example/sitemap.xml');
    await page.getByTestId('sitemap').check();
    await page.getByTestId('url-form').getByRole('button', { name: 'Add' }).click();
    await page.getByTestId('status').getByText(/Sitemap added/).waitFor();
    await waitFor(async () => (await page.getByTestId('doc').count()) === 3);

    // a refused URL is explained, not swallowed
    await page.getByTestId('sitemap').uncheck();
    await page.getByTestId('url').fill('ftp://shop.example/x');
    await page.getByTestId('url').evaluate((e) => e.setAttribute('type', 'text'));
    await page.getByTestId('url-form').getByRole('button', { name: 'Add' }).click();
    await page.getByTestId('status').getByText(/http\(s\) URL/).waitFor();

    const docs = await repo.listDocuments();
    expect(docs.map((d) => d.sourceKind).sort()).toEqual(['file', 'sitemap', 'url']);
    expect((await producers.queue('knowledge').getJobCounts('waiting')).waiting).toBe(3);

    // the worker's part for the upload: chunks in, ready
    const uploaded = docs.find((d) => d.sourceKind === 'file')!;
    await repo.replaceChunks(uploaded.id, hash(RETURNS), chunkDocument(RETURNS).map((c) => ({ heading: c.heading, text: c.text, contentHash: hash(c.text) })));
    await repo.failDocument(docs.find((d) => d.sourceKind === 'sitemap')!.id, 'the sitemap could not be fetched: 404');
    await page.getByRole('button', { name: 'refresh', exact: true }).click();
    await waitFor(async () => (await row.getByTestId('doc-status').innerText()) === 'ready');
    expect(await row.getByTestId('doc-chunks').innerText()).toBe('2');
    await page.getByTestId('doc').filter({ hasText: 'sitemap.xml' }).getByText('the sitemap could not be fetched: 404').waitFor();

    // test a question: the retrieved chunks and the answer the account's agent would give (the fake model cites [1])
    openai.setReply(() => 'You can return any unworn item within 30 days of delivery [1].');
    const before = openai.requests.length;
    await page.getByTestId('account').fill('shop-de');
    await page.getByTestId('question').fill('How many days do I have to return an item?');
    await page.getByTestId('ask-form').getByRole('button', { name: 'Ask' }).click();
    const hit = page.getByTestId('hit').first();
    await hit.waitFor();
    expect(await hit.getByTestId('hit-text').innerText()).toContain('30 days');
    expect(await hit.getByTestId('hit-score').innerText()).toMatch(/^score 0\.\d{4}/);
    expect(await page.getByTestId('mode').innerText()).toMatch(/full-text/);
    await page.getByTestId('answer-text').getByText(/within 30 days of delivery \[1\]/).waitFor();
    expect(await page.getByTestId('answer-text').innerText()).toBe('You can return any unworn item within 30 days of delivery [1].\n\nSources:\n[1] returns');
    expect(await page.getByTestId('citation').allInnerTexts()).toEqual(['returns › Returns policy']);
    expect(await page.getByTestId('answer-meta').innerText()).toMatch(/answered by the model · account shop-de/);
    // the model request held the retrieved chunk as numbered source [1], as in a conversation
    const modelRequest = openai.requests.slice(before).find((r) => String(r.messages[0]?.content).includes('Sources from the knowledge base'));
    expect(String(modelRequest?.messages[0]?.content)).toContain('[1] returns › Returns policy\nYou can return any unworn item within 30 days');

    mkdirSync(REPORTS, { recursive: true });
    await page.screenshot({ path: join(REPORTS, 'admin-knowledge.png'), fullPage: true });

    // delete the upload: gone from the list and from search
    page.once('dialog', (d) => void d.accept());
    await row.getByTestId('delete').click();
    await page.getByTestId('status').getByText(/Deleted "returns"/).waitFor();
    await waitFor(async () => (await page.getByTestId('doc').count()) === 2);
    expect(await repo.getDocument(uploaded.id)).toBeUndefined();
    await page.getByTestId('ask-form').getByRole('button', { name: 'Ask' }).click();
    await page.getByTestId('no-hits').waitFor();

    // no CSP violation, no script error
    expect(problems).toEqual([]);
  });
  it('lists unanswered questions; "add an answer" pre-fills the text form with the question as title, and adding it takes the question off the list; dismiss', async () => {
    const recorder = new UnansweredQuestions(redis, agentKeys(prefix));
    const now = Date.now();
    await recorder.record('shop-de', { question: 'Do you ship to Iceland?', channel: 'telegram', turnId: 'u1', at: now - 60_000 });
    await recorder.record('shop-de', { question: 'do you ship to iceland', channel: 'whatsapp', turnId: 'u2', at: now - 30_000 });
    await recorder.record('shop-de', { question: 'Can I pay in bitcoin?', channel: 'whatsapp', turnId: 'u3', at: now });
    await page.goto(`${url}/admin/knowledge`);
    await page.getByTestId('account').fill('shop-de');
    await page.getByTestId('account').dispatchEvent('change');
    const rows = page.getByTestId('unanswered-question');
    await waitFor(async () => (await rows.count()) === 2);
    expect(await rows.getByTestId('question-text').allInnerTexts()).toEqual(['Can I pay in bitcoin?', 'Do you ship to Iceland?']);
    expect(await rows.getByTestId('question-count').allInnerTexts()).toEqual(['once', '2 times']);

    const iceland = rows.filter({ hasText: 'Iceland' });
    await iceland.getByTestId('add-answer').click();
    expect(await page.getByTestId('text-title').inputValue()).toBe('Do you ship to Iceland?');
    expect(await page.getByTestId('account').inputValue()).toBe('shop-de');
    await page.getByTestId('answering').getByText(/Answering the question "Do you ship to Iceland\?"/).waitFor();
    await page.getByTestId('text-body').fill('Yes: parcels to Iceland take 6 working days and cost 19 EUR.');
    mkdirSync(REPORTS, { recursive: true });
    await page.screenshot({ path: join(REPORTS, 'admin-knowledge-unanswered.png'), fullPage: true });
    await page.getByTestId('text-form').getByRole('button', { name: 'Add' }).click();
    await page.getByTestId('status').getByText(/"Do you ship to Iceland\?" added/).waitFor();
    await waitFor(async () => (await rows.count()) === 1);
    expect((await repo.listDocuments({ account: 'shop-de' })).find((d) => d.title === 'Do you ship to Iceland?')).toMatchObject({ account: 'shop-de', sourceKind: 'text' });
    expect(await repo.readSource((await repo.listDocuments()).find((d) => d.title === 'Do you ship to Iceland?')!.id)).toMatchObject({ text: 'Yes: parcels to Iceland take 6 working days and cost 19 EUR.' });

    await rows.filter({ hasText: 'bitcoin' }).getByTestId('dismiss').click();
    await page.getByTestId('no-unanswered').waitFor();
    expect(await recorder.list('shop-de')).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('pages through a long document list ("more documents") and filters by status', async () => {
    const ids: string[] = [];
    for (let i = 1; i <= 30; i++) ids.push(await repo.createDocument({ title: `Paged document ${String(i).padStart(2, '0')}`, sourceKind: 'text', account: 'shop-pg' }));
    await repo.failDocument(ids[0]!, 'the text could not be read');
    await page.goto(`${url}/admin/knowledge`);
    await page.getByTestId('account').fill('shop-pg');
    await page.getByTestId('account').dispatchEvent('change');
    const docs = page.getByTestId('doc');
    const shared = (await repo.listDocuments({ account: 'shop-pg' })).length;
    expect(shared).toBeGreaterThan(25);
    await waitFor(async () => (await page.getByTestId('doc-title').first().innerText()) === 'Paged document 30');
    expect(await docs.count()).toBe(25);
    expect(await page.getByTestId('shown').innerText()).toBe('25 shown, more to load');
    await page.getByTestId('more').click();
    await waitFor(async () => (await docs.count()) === shared);
    expect(await page.getByTestId('more').isHidden()).toBe(true);
    const titles = await page.getByTestId('doc-title').allInnerTexts();
    expect(new Set(titles).size).toBe(titles.length);
    expect(titles.filter((t) => t.startsWith('Paged document')).slice(0, 3)).toEqual(['Paged document 30', 'Paged document 29', 'Paged document 28']);
    mkdirSync(REPORTS, { recursive: true });
    await page.screenshot({ path: join(REPORTS, 'admin-knowledge-paged.png'), fullPage: true });

    await page.getByTestId('status-filter').selectOption('failed');
    await waitFor(async () => (await docs.count()) >= 1 && (await page.getByTestId('doc-status').allInnerTexts()).every((t) => t.startsWith('failed')));
    expect(await page.getByTestId('doc-title').allInnerTexts()).toContain('Paged document 01');
    expect(await page.getByTestId('more').isHidden()).toBe(true);
    expect(problems).toEqual([]);
  });
});
