import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import {
  dropPrefix,
  freePort,
  signMeta,
  startApp,
  startFakeGraph,
  startFakeOpenAI,
  testRedisUrl,
  uniquePrefix,
  waitFor,
  waitForHttp,
  whatsappTextDelivery,
  type AppProcess,
  type FakeGraph,
  type FakeOpenAI,
} from '@switchboard/testkit';

jest.setTimeout(120_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The account `default` (WHATSAPP_* variables) and its number. */
const DEFAULT = { secret: 'default-app-secret', verify: 'default-verify', token: 'default-access-token', pnid: '109876543210987' };
/** The file account `shop-de`: its own Meta app, token, verify token and number. */
const SHOP = { id: 'shop-de', secret: 'shop-de-app-secret', verify: 'shop-de-verify', token: 'shop-de-access-token', pnid: '106540352242922' };
/** shop-de's send rate (per second per phone number). */
const SHOP_RATE = 2;
const BURST = 20;
const burstCustomer = (i: number) => `49153000000${String(i).padStart(2, '0')}`;
const SHOP_CUSTOMER = '4915300000100';
const SHOP_STRANGER = '4915399999999';
const DEFAULT_CUSTOMER = '4915200000001';
const DEFAULT_FAQ = 'DEFAULT: we open at 9 every weekday.';
const SHOP_FAQ = 'SHOP-DE: Wir öffnen um 10 Uhr.';
const SHOP_REFUSAL = 'SHOP-DE: this assistant is only for registered customers.';

/**
 * Two WhatsApp accounts side by side in one deployment, as real processes (whatsapp-ingress and
 * worker from dist/) reading one ACCOUNTS_FILE: the default account from the WHATSAPP_* variables
 * and `shop-de` from the file (its own Meta app secret, token, verify token, phone number, send
 * rate and agent with an access list). Fake Graph API and OpenAI on loopback.
 */
describe('real processes: two WhatsApp accounts in one deployment', () => {
  const prefix = uniquePrefix('waacc');
  const dir = mkdtempSync(join(tmpdir(), 'sb-wa-accounts-'));
  /** When the fake Graph accepted each send (ms). */
  const sentAt = new Map<string, number>();
  let graph: FakeGraph;
  let openai: FakeOpenAI;
  let ingress: AppProcess;
  let worker: AppProcess;
  let ingressUrl: string;

  beforeAll(async () => {
    graph = await startFakeGraph({ onSent: (m) => sentAt.set(m.wamid, Date.now()) });
    openai = await startFakeOpenAI();
    mkdirSync(join(dir, 'agents'));
    const faq = (answer: string) => ['faq:', '  - id: opening-hours', '    match:', '      en: { keywords: ["opening hours"] }', `    answer: "${answer}"`];
    writeFileSync(join(dir, 'default-agent.yaml'), ['businessName: Default Shop', ...faq(DEFAULT_FAQ)].join('\n'));
    writeFileSync(
      join(dir, 'agents', 'shop-de.yaml'),
      [
        'businessName: Shop DE',
        ...faq(SHOP_FAQ),
        'access:',
        `  allowedUsers: [${[SHOP_CUSTOMER, ...Array.from({ length: BURST }, (_, i) => burstCustomer(i))].map((u) => `"${u}"`).join(', ')}]`,
        '  disallowedPolicy: refuse',
        `  refusalText: "${SHOP_REFUSAL}"`,
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'accounts.yaml'),
      [
        'accounts:',
        `  - id: ${SHOP.id}`,
        '    channel: whatsapp',
        '    title: Shop Germany',
        '    appSecret: ${SHOP_DE_APP_SECRET}',
        '    accessToken: ${SHOP_DE_TOKEN}',
        `    verifyToken: ${SHOP.verify}`,
        `    phoneNumberIds: ["${SHOP.pnid}"]`,
        `    sendRate: ${SHOP_RATE}`,
        '    agent: agents/shop-de.yaml',
      ].join('\n'),
    );
    const [ip, wp] = [await freePort(), await freePort()];
    ingressUrl = `http://127.0.0.1:${ip}`;
    const env = {
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'info',
      ACCOUNTS_FILE: join(dir, 'accounts.yaml'),
      SHOP_DE_APP_SECRET: SHOP.secret,
      SHOP_DE_TOKEN: SHOP.token,
      AGENT_CONFIG: join(dir, 'default-agent.yaml'),
      WHATSAPP_APP_SECRET: DEFAULT.secret,
      WHATSAPP_VERIFY_TOKEN: DEFAULT.verify,
      WHATSAPP_ACCESS_TOKEN: DEFAULT.token,
      WHATSAPP_GRAPH_URL: graph.url,
      OPENAI_API_KEY: 'sk-process',
      OPENAI_BASE_URL: openai.url,
      TURN_DEBOUNCE_MS: '100',
      WHATSAPP_PORT: String(ip),
      WORKER_METRICS_PORT: String(wp),
    };
    ingress = startApp('whatsapp-ingress', env);
    worker = startApp('worker', env);
    await waitForHttp(`${ingressUrl}/readyz`, 60_000);
    await waitForHttp(`http://127.0.0.1:${wp}/readyz`, 60_000);
  });

  afterAll(async () => {
    for (const p of [ingress, worker]) {
      if (!p || p.child.exitCode !== null) continue;
      p.child.kill('SIGKILL');
      await p.exited;
    }
    await graph?.close();
    await openai?.close();
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
  });

  async function post(path: string, payload: unknown, secret: string): Promise<number> {
    const raw = JSON.stringify(payload);
    const res = await fetch(`${ingressUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMeta(raw, secret) }, body: raw });
    await res.arrayBuffer();
    return res.status;
  }
  const toShop = (waId: string, text: string) => post(`/webhooks/whatsapp/${SHOP.id}`, whatsappTextDelivery({ waId, text, phoneNumberId: SHOP.pnid }).payload, SHOP.secret);
  const toDefault = (waId: string, text: string) => post('/webhooks/whatsapp', whatsappTextDelivery({ waId, text, phoneNumberId: DEFAULT.pnid }).payload, DEFAULT.secret);
  const sendsTo = (waId: string) => graph.sent.filter((m) => m.to === `+${waId}` || m.recipient === waId);

  it("(a) each route verifies with its own secret only; unknown account 404; hub.challenge per account", async () => {
    const forDefault = whatsappTextDelivery({ waId: '4915200000099', text: 'hi', phoneNumberId: DEFAULT.pnid }).payload;
    const forShop = whatsappTextDelivery({ waId: SHOP_CUSTOMER, text: 'hi', phoneNumberId: SHOP.pnid }).payload;
    expect(await post(`/webhooks/whatsapp/${SHOP.id}`, forDefault, DEFAULT.secret)).toBe(401);
    expect(await post('/webhooks/whatsapp', forShop, SHOP.secret)).toBe(401);
    expect(await post('/webhooks/whatsapp/default', forShop, SHOP.secret)).toBe(401);
    expect(await post('/webhooks/whatsapp/shop-fr', forShop, SHOP.secret)).toBe(404);
    const challenge = async (path: string, token: string) => {
      const res = await fetch(`${ingressUrl}${path}?hub.mode=subscribe&hub.verify_token=${token}&hub.challenge=4711`);
      return `${res.status} ${await res.text()}`;
    };
    expect(await challenge(`/webhooks/whatsapp/${SHOP.id}`, SHOP.verify)).toBe('200 4711');
    expect(await challenge(`/webhooks/whatsapp/${SHOP.id}`, DEFAULT.verify)).toMatch(/^403 /);
    expect(await challenge('/webhooks/whatsapp', DEFAULT.verify)).toBe('200 4711');
    expect(await challenge('/webhooks/whatsapp', SHOP.verify)).toMatch(/^403 /);
    expect(await challenge('/webhooks/whatsapp/shop-fr', SHOP.verify)).toMatch(/^404 /);
    await sleep(500);
    expect(graph.sent).toHaveLength(0);
  });

  it("(b, d) each customer is answered from its account's number, with its token and its agent", async () => {
    expect(await toDefault(DEFAULT_CUSTOMER, 'What are your opening hours?')).toBe(200);
    expect(await toShop(SHOP_CUSTOMER, 'What are your opening hours?')).toBe(200);
    await waitFor(() => sendsTo(DEFAULT_CUSTOMER).length === 1 && sendsTo(SHOP_CUSTOMER).length === 1, 30_000, 'both replies');
    const [d] = sendsTo(DEFAULT_CUSTOMER);
    const [s] = sendsTo(SHOP_CUSTOMER);
    expect(d).toMatchObject({ phoneNumberId: DEFAULT.pnid, authorization: `Bearer ${DEFAULT.token}` });
    expect(s).toMatchObject({ phoneNumberId: SHOP.pnid, authorization: `Bearer ${SHOP.token}` });
    expect(graph.textsTo(DEFAULT_CUSTOMER)).toEqual([DEFAULT_FAQ]);
    expect(graph.textsTo(SHOP_CUSTOMER)).toEqual([SHOP_FAQ]);
    // every call to the Graph API (sends, read receipts) uses the token of the number it names
    const calls = graph.requests.filter((r) => r.method === 'POST');
    expect(calls.length).toBeGreaterThanOrEqual(2);
    for (const r of calls) {
      if (r.path.includes(`/${SHOP.pnid}/`)) expect(r.headers.authorization).toBe(`Bearer ${SHOP.token}`);
      else if (r.path.includes(`/${DEFAULT.pnid}/`)) expect(r.headers.authorization).toBe(`Bearer ${DEFAULT.token}`);
      else throw new Error(`unexpected Graph call ${r.path}`);
    }
  });

  it("(e) shop-de's access list: an unknown number is refused once, never answered", async () => {
    expect(await toShop(SHOP_STRANGER, 'What are your opening hours?')).toBe(200);
    await waitFor(() => sendsTo(SHOP_STRANGER).length === 1, 30_000, 'the refusal');
    await sleep(800);
    expect(await toShop(SHOP_STRANGER, 'hello? anybody there about my order?')).toBe(200);
    await sleep(2500);
    expect(graph.textsTo(SHOP_STRANGER)).toEqual([SHOP_REFUSAL]);
    expect(sendsTo(SHOP_STRANGER)[0]).toMatchObject({ phoneNumberId: SHOP.pnid, authorization: `Bearer ${SHOP.token}` });
  });

  it('shop-de route: an event of a number the account does not serve is acknowledged and never answered', async () => {
    const before = graph.sent.length;
    const other = whatsappTextDelivery({ waId: '4915300000777', text: 'What are your opening hours?', phoneNumberId: DEFAULT.pnid }).payload;
    expect(await post(`/webhooks/whatsapp/${SHOP.id}`, other, SHOP.secret)).toBe(200);
    await sleep(2000);
    expect(graph.sent.length).toBe(before);
    expect(ingress.output()).toContain('other_phone_number');
  });

  it("(c) a burst on shop-de's number is spread by its rate and does not slow the default number", async () => {
    const started = Date.now();
    const statuses = await Promise.all(Array.from({ length: BURST }, (_, i) => toShop(burstCustomer(i), `burst question number ${i}`)));
    expect(statuses.every((s) => s === 200)).toBe(true);
    // the burst is accepted; wait until its first replies go out, then one message to the other number
    await waitFor(() => Array.from({ length: BURST }, (_, i) => sendsTo(burstCustomer(i)).length).reduce((a, b) => a + b, 0) >= 2, 30_000, 'first burst replies');
    const askedB = Date.now();
    expect(await toDefault('4915200000002', 'quick question for the other number')).toBe(200);
    await waitFor(() => sendsTo('4915200000002').length === 1, 30_000, 'reply on the default number');
    const answeredB = sentAt.get(sendsTo('4915200000002')[0]!.wamid)!;

    await waitFor(() => Array.from({ length: BURST }, (_, i) => sendsTo(burstCustomer(i)).length).every((n) => n >= 1), 60_000, 'every burst reply');
    await sleep(1500);
    const burst = Array.from({ length: BURST }, (_, i) => sendsTo(burstCustomer(i)));
    // none lost, none twice, all from shop-de's number with shop-de's token
    expect(burst.map((b) => b.length)).toEqual(Array.from({ length: BURST }, () => 1));
    for (const [m] of burst) expect(m).toMatchObject({ phoneNumberId: SHOP.pnid, authorization: `Bearer ${SHOP.token}` });
    const times = burst.map(([m]) => sentAt.get(m!.wamid)!).sort((x, y) => x - y);
    const interval = 1000 / SHOP_RATE;
    // GCRA: the first `rate` at once, then one slot per interval; a part only ever goes at or after
    // its slot, so only the first send's own lateness (ledger write, HTTP on a loaded machine) is tolerated
    const late = 400;
    times.forEach((t, k) => expect(t - times[0]!).toBeGreaterThanOrEqual(Math.max(0, k - (SHOP_RATE - 1)) * interval - late));
    const clearedA = times[times.length - 1]!;
    expect(clearedA - times[0]!).toBeGreaterThanOrEqual((BURST - SHOP_RATE) * interval - late);
    // the default number's reply went out while shop-de's backlog was still draining, with a wide margin
    expect(answeredB).toBeLessThan(clearedA - 3000);
    expect(answeredB - askedB).toBeLessThan(clearedA - askedB - 3000);
    expect(sendsTo('4915200000002')[0]).toMatchObject({ phoneNumberId: DEFAULT.pnid, authorization: `Bearer ${DEFAULT.token}` });
    expect(started).toBeLessThan(askedB);
  });

  it('the logs name the accounts and carry no secret, token or customer number', () => {
    const all = ingress.output() + worker.output();
    expect(all).toContain(SHOP.id);
    for (const secret of [SHOP.secret, SHOP.token, DEFAULT.secret, DEFAULT.token, SHOP_CUSTOMER, DEFAULT_CUSTOMER, SHOP_STRANGER]) expect(all).not.toContain(secret);
  });
});

describe('real processes: a broken ACCOUNTS_FILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-wa-broken-'));
  const file = join(dir, 'accounts.yaml');
  const problems = [
    /accounts\[0\]\.id: must match/,
    /accounts\[1\] \(shop-at\)\.accessToken: environment variable UNSET_SHOP_AT_TOKEN is not set/,
    /accounts\[1\] \(shop-at\)\.phoneNumberIds\.0: must be a numeric Meta id/,
    /accounts\[2\] \(shop-ch\)\.channel: must be one of/,
    /accounts\[3\] \(shop-fr\)\.accessToken: /,
    /accounts\[3\] \(shop-fr\)\.verifyToken: /,
    /accounts\[3\] \(shop-fr\)\.phoneNumberIds: /,
    /accounts\[3\] \(shop-fr\)\.sendRate: /,
    /accounts\[3\] \(shop-fr\)\.fallbackTemplate: must be name:language/,
    /accounts\[3\] \(shop-fr\): Unrecognized key: "accesToken"/,
  ];
  const values = ['leaky-app-secret-4711', 'leaky-app-secret-4712', 'leaky-app-secret-4713', 'leaky-token-4713', 'env-app-secret-0815'];
  const run = async (app: string, env: Record<string, string>) => {
    const p = startApp(app, { REDIS_URL: testRedisUrl(), ACCOUNTS_FILE: file, WHATSAPP_APP_SECRET: 'env-app-secret-0815', WHATSAPP_VERIFY_TOKEN: 'v', WHATSAPP_ACCESS_TOKEN: 't', ...env });
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([p.exited, new Promise<string>((done) => (timer = setTimeout(() => done('timeout'), 60_000)))]);
    clearTimeout(timer);
    if (code === 'timeout') p.child.kill('SIGKILL');
    return { code, out: p.output() };
  };

  beforeAll(() => {
    writeFileSync(
      file,
      [
        'accounts:',
        '  - id: Shop_DE',
        '    channel: whatsapp',
        '    appSecret: leaky-app-secret-4711',
        '  - id: shop-at',
        '    channel: whatsapp',
        '    appSecret: leaky-app-secret-4712',
        '    accessToken: ${UNSET_SHOP_AT_TOKEN}',
        '    verifyToken: v',
        '    phoneNumberIds: ["12ab"]',
        '  - id: shop-ch',
        '    channel: whatsap',
        '  - id: shop-fr',
        '    channel: whatsapp',
        '    appSecret: leaky-app-secret-4713',
        '    accesToken: leaky-token-4713',
        '    phoneNumberIds: []',
        '    sendRate: 0',
        '    fallbackTemplate: "Bad Template"',
      ].join('\n'),
    );
  });

  it('whatsapp-ingress exits non-zero with one message naming every problem and no value', async () => {
    const { code, out } = await run('whatsapp-ingress', { WHATSAPP_PORT: String(await freePort()) });
    expect(code).not.toBe(0);
    expect(code).not.toBe('timeout');
    for (const problem of problems) expect(out).toMatch(problem);
    // one message: the process line, then the list
    expect(out.match(/whatsapp-ingress: invalid configuration/g)).toHaveLength(1);
    for (const value of values) expect(out).not.toContain(value);
  });

  it('the worker refuses the same file the same way', async () => {
    const { code, out } = await run('worker', { OPENAI_API_KEY: 'sk-x', WORKER_METRICS_PORT: String(await freePort()) });
    expect(code).not.toBe(0);
    expect(code).not.toBe('timeout');
    for (const problem of problems) expect(out).toMatch(problem);
    for (const value of values) expect(out).not.toContain(value);
  });
});
