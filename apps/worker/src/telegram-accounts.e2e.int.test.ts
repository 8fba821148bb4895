/**
 * Two Telegram bots in one deployment (issue 14): the `default` bot from the TELEGRAM_* variables and
 * `tg-shop` from ACCOUNTS_FILE (`${ENV}` references, its own send rate and agent with an access list),
 * plus `tg-broken`, a bot the Bot API does not know (its getMe fails). The real telegram-ingress
 * process (dist/main.js) serves the routes; the worker roles run in this process, built like
 * main.ts with the same file; one fake Bot API serves every bot and records which token sent what.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { silentLogger } from '@switchboard/core';
import { closeWorkers, createRedis, type RedisClient } from '@switchboard/queue';
import {
  deliverTelegramUpdate,
  dropPrefix,
  freePort,
  nextTelegramUpdateId,
  startApp,
  startFakeTelegram,
  TELEGRAM_FIXTURE_BOT,
  telegramTextUpdate,
  testRedisUrl,
  uniquePrefix,
  waitFor,
  waitForHttp,
  type AppProcess,
  type FakeTelegram,
} from '@switchboard/testkit';
import { buildWorkerDeps, loadAccountsFile, loadWorkerEnv, startRoles } from './compose';
import type { WorkerDeps } from './deps';

jest.setTimeout(90_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const DEFAULT = { token: TELEGRAM_FIXTURE_BOT.token, secret: TELEGRAM_FIXTURE_BOT.webhookSecret, username: TELEGRAM_FIXTURE_BOT.username };
const SHOP = { token: '7023456789:AAShopBotTokenForTests_abcdefghijklmn', secret: 'tg-shop-secret_4567', username: 'tailspin_shop_bot' };
/** A bot whose token the Bot API refuses (revoked): getMe fails at start. */
const BROKEN = { token: '7034567890:AABrokenBotTokenForTests_opqrstuvwx', secret: 'tg-broken-secret_8901' };
const SECRETS = [DEFAULT.token, DEFAULT.secret, SHOP.token, SHOP.secret, BROKEN.token, BROKEN.secret];

const DEFAULT_HOURS = 'Northwind is open from 9:00 to 18:00.';
const SHOP_HOURS = 'Tailspin Shop is open from 10:00 to 20:00.';
const REFUSAL = 'Sorry, this shop assistant is for members only.';
const SHOP_GROUP = -1001234567890;
const SHOP_RATE = 1;

const agentYaml = (business: string, answer: string, access = '') => `businessName: ${business}
faq:
  - id: hours
    match:
      en: { keywords: ["opening hours"] }
    answer: "${answer}"
${access}`;

/** A group message that mentions `@username` (a `mention` entity, as Telegram sends it). */
function groupMention(chatId: number, fromId: number, username: string, rest: string) {
  const text = `@${username} ${rest}`;
  return {
    update_id: nextTelegramUpdateId(),
    message: {
      message_id: Math.floor(Math.random() * 1e6),
      from: { id: fromId, is_bot: false, first_name: 'Dana' },
      chat: { id: chatId, title: 'Tailspin members', type: 'supergroup' },
      date: Math.floor(Date.now() / 1000),
      text,
      entities: [{ type: 'mention', offset: 0, length: username.length + 1 }],
    },
  };
}

describe('two Telegram bots side by side (ACCOUNTS_FILE, real telegram-ingress process, worker roles)', () => {
  const prefix = uniquePrefix('tgacc');
  const dir = mkdtempSync(join(tmpdir(), 'sb-tg-accounts-'));
  const fileEnv = { TG_SHOP_TOKEN: SHOP.token, TG_SHOP_SECRET: SHOP.secret };
  let tg: FakeTelegram;
  let ingress: AppProcess;
  let ingressUrl: string;
  let deps: WorkerDeps;
  let workers: Worker[];
  let redis: RedisClient;
  let producerRedis: RedisClient;

  const post = async (path: string, update: unknown, secret: string | undefined): Promise<number> => {
    const res = await deliverTelegramUpdate(`${ingressUrl}${path}`, update, secret);
    await res.arrayBuffer();
    return res.status;
  };
  const toDefault = (update: unknown) => post('/webhooks/telegram', update, DEFAULT.secret);
  const toShop = (update: unknown) => post('/webhooks/telegram/tg-shop', update, SHOP.secret);
  const ask = (chatId: number, text: string) => telegramTextUpdate({ chatId, text });

  beforeAll(async () => {
    tg = await startFakeTelegram({ token: DEFAULT.token, botUsername: DEFAULT.username, bots: [{ token: SHOP.token, botUsername: SHOP.username }] });
    writeFileSync(join(dir, 'default-agent.yaml'), agentYaml('Northwind', DEFAULT_HOURS));
    writeFileSync(
      join(dir, 'shop-agent.yaml'),
      agentYaml('Tailspin Shop', SHOP_HOURS, `access:\n  allowedUsers: ["7001", "7002", "7003", "7004", "${SHOP_GROUP}"]\n  disallowedPolicy: refuse\n  refusalText: "${REFUSAL}"\n`),
    );
    // no botUsername for either file bot: the ingress asks getMe (tg-broken's fails)
    writeFileSync(
      join(dir, 'accounts.yaml'),
      `accounts:
  - id: tg-shop
    channel: telegram
    title: Tailspin Shop
    botToken: \${TG_SHOP_TOKEN}
    webhookSecret: \${TG_SHOP_SECRET}
    sendRate: ${SHOP_RATE}
    agent: shop-agent.yaml
  - id: tg-broken
    channel: telegram
    botToken: "${BROKEN.token}"
    webhookSecret: ${BROKEN.secret}
`,
    );
    const port = await freePort();
    ingressUrl = `http://127.0.0.1:${port}`;
    const common = {
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      TELEGRAM_BOT_TOKEN: DEFAULT.token,
      TELEGRAM_WEBHOOK_SECRET: DEFAULT.secret,
      TELEGRAM_API_URL: tg.apiUrl,
      TELEGRAM_SEND_RATE: '25',
      ACCOUNTS_FILE: join(dir, 'accounts.yaml'),
      TURN_DEBOUNCE_MS: '150',
      TURN_MAX_WAIT_MS: '1000',
    };
    // debug: the most the ingress ever logs, for the secrets check below
    ingress = startApp('telegram-ingress', { ...common, ...fileEnv, TELEGRAM_PORT: String(port), LOG_LEVEL: 'debug' });
    const env = loadWorkerEnv({ ...common, AGENT_CONFIG: join(dir, 'default-agent.yaml') });
    redis = createRedis(env.REDIS_URL, 'worker');
    producerRedis = createRedis(env.REDIS_URL, 'worker');
    deps = buildWorkerDeps(env, redis, producerRedis, silentLogger(), { accountsFile: loadAccountsFile(env, fileEnv) });
    workers = startRoles(deps, ['inbound', 'agent', 'outbound']);
    await waitForHttp(`${ingressUrl}/readyz`);
  });

  afterAll(async () => {
    if (ingress && ingress.child.exitCode === null) ingress.child.kill('SIGTERM');
    await closeWorkers(workers, 10_000);
    await deps.producers.close();
    await deps.close();
    await tg.close();
    const admin = new Redis(testRedisUrl());
    await dropPrefix(admin, prefix);
    admin.disconnect();
    redis.disconnect();
    producerRedis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the worker opened both bots from the file; the ingress serves every route, each with its own secret only', async () => {
    expect([...deps.channels.telegram.accounts.keys()].sort()).toEqual(['default', 'tg-broken', 'tg-shop']);
    const update = () => ask(7100, 'hello');
    // bot A's secret on B's route, B's on A's, B's on the third bot's, none: refused before anything is read
    expect(await post('/webhooks/telegram/tg-shop', update(), DEFAULT.secret)).toBe(401);
    expect(await post('/webhooks/telegram', update(), SHOP.secret)).toBe(401);
    expect(await post('/webhooks/telegram/tg-broken', update(), SHOP.secret)).toBe(401);
    expect(await post('/webhooks/telegram/tg-shop', update(), undefined)).toBe(401);
    expect(await post('/webhooks/telegram/tg-nope', update(), SHOP.secret)).toBe(404);
    expect(await post('/webhooks/telegram/tg-nope', update(), DEFAULT.secret)).toBe(404);
    // its own secret is accepted (a group message not addressed to it: nothing to answer)
    expect(await post('/webhooks/telegram/tg-broken', groupMention(-1009, 7101, 'someone_else_bot', 'hi'), BROKEN.secret)).toBe(200);
    await sleep(800);
    expect(tg.sent.filter((s) => s.chatId === '7100')).toEqual([]);
  });

  it('a customer writing to both bots is answered by each bot with its own agent, never by the other', async () => {
    const chat = 7001; // on the shop's access list, so both bots answer it
    expect(await toDefault(ask(chat, 'What are your opening hours?'))).toBe(200);
    expect(await toShop(ask(chat, 'What are your opening hours?'))).toBe(200);
    await waitFor(() => tg.textsTo(String(chat)).length >= 2, 15_000, 'both replies');
    await sleep(800);
    expect(tg.textsTo(String(chat), DEFAULT.token)).toEqual([DEFAULT_HOURS]);
    expect(tg.textsTo(String(chat), SHOP.token)).toEqual([SHOP_HOURS]);
    expect(tg.textsTo(String(chat))).toHaveLength(2);
  });

  it("the shop agent's access list refuses an unlisted chat once and answers a listed one; the default bot answers everyone", async () => {
    const stranger = '7999';
    expect(await toShop(ask(Number(stranger), 'What are your opening hours?'))).toBe(200);
    await waitFor(() => tg.textsTo(stranger, SHOP.token).length === 1, 15_000, 'refusal');
    expect(tg.textsTo(stranger, SHOP.token)).toEqual([REFUSAL]);
    // the notice is given once: the next message is not answered at all
    expect(await toShop(ask(Number(stranger), 'opening hours please?'))).toBe(200);
    expect(await toShop(ask(7002, 'opening hours?'))).toBe(200);
    await waitFor(() => tg.textsTo('7002', SHOP.token).length === 1, 15_000, 'listed reply');
    expect(tg.textsTo('7002', SHOP.token)).toEqual([SHOP_HOURS]);
    // the access list is the shop's: the same stranger is answered by the default bot
    expect(await toDefault(ask(Number(stranger), 'What are your opening hours?'))).toBe(200);
    await waitFor(() => tg.textsTo(stranger, DEFAULT.token).length === 1, 15_000, 'default reply');
    await sleep(1500);
    expect(tg.textsTo(stranger, SHOP.token)).toEqual([REFUSAL]);
    expect(tg.textsTo(stranger, DEFAULT.token)).toEqual([DEFAULT_HOURS]);
  });

  it("group mentions of the file bot are recognised by the @username its getMe gave (no botUsername in the file)", async () => {
    const group = String(SHOP_GROUP);
    expect(await toShop(groupMention(SHOP_GROUP, 7003, 'someone_else_bot', 'opening hours?'))).toBe(200);
    expect(await toShop(groupMention(SHOP_GROUP, 7003, SHOP.username, 'opening hours?'))).toBe(200);
    await waitFor(() => tg.textsTo(group, SHOP.token).length === 1, 15_000, 'group reply');
    await sleep(1000);
    expect(tg.textsTo(group)).toEqual([SHOP_HOURS]);
  });

  it("each bot sends at its own rate: a burst on the shop (sendRate 1/s) is spread, the default bot's burst is not slowed", async () => {
    await sleep(1200); // the shop's earlier replies leave no slot taken
    const chats = [7002, 7003, 7004];
    const shopBefore = tg.sent.length;
    const sentAt = (token: string) => tg.sent.slice(shopBefore).filter((s) => s.token === token && s.method === 'sendMessage').map((s) => s.at);
    const codes = await Promise.all(chats.flatMap((c) => [toShop(ask(c, 'opening hours, please')), toDefault(ask(c + 100, 'opening hours, please'))]));
    expect(codes.every((c) => c === 200)).toBe(true);
    await waitFor(() => sentAt(SHOP.token).length === 3 && sentAt(DEFAULT.token).length === 3, 20_000, 'six replies');
    const span = (at: number[]) => Math.max(...at) - Math.min(...at);
    const shop = sentAt(SHOP.token);
    const dflt = sentAt(DEFAULT.token);
    // one send per second: three replies take two intervals
    expect(span(shop)).toBeGreaterThanOrEqual(1900);
    // not held to one per second (that would take two full intervals): the turns themselves may
    // finish a few hundred ms apart on a loaded machine, so no tighter absolute bound
    expect(span(dflt)).toBeLessThan(1900);
    // the default bot's replies went out while the shop's burst was still being spread
    expect(Math.max(...dflt)).toBeLessThan(Math.max(...shop));
    for (const c of chats) expect(tg.textsTo(String(c), SHOP.token).at(-1)).toBe(SHOP_HOURS);
  });

  it("the ingress process asked getMe per bot, warned about tg-broken by id, and its logs never hold a token or webhook secret", async () => {
    const getMes = tg.requests.filter((r) => r.path === '/bot<token>/getMe');
    // default, tg-shop and tg-broken (refused with 401), once each at start
    expect(getMes).toHaveLength(3);
    const lines = ingress
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const warned = lines.find((l) => String(l['message']).startsWith('getMe failed'));
    expect(warned).toMatchObject({ account: 'tg-broken', setting: 'accounts[1] (tg-broken).botUsername' });
    expect(lines.filter((l) => String(l['message']).startsWith('getMe failed'))).toHaveLength(1);
    expect(lines.find((l) => l['message'] === 'telegram-ingress listening')).toMatchObject({ accounts: ['default', 'tg-shop', 'tg-broken'] });
    const all = ingress.output();
    for (const secret of SECRETS) expect({ secret, logged: all.includes(secret) }).toEqual({ secret, logged: false });
    // nor the secret half of a token on its own
    for (const token of [DEFAULT.token, SHOP.token, BROKEN.token]) expect(all).not.toContain(token.split(':')[1]!);
  });
});
